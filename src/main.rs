//! The `helpgate` binary: parse the command line, set up logging, run a
//! command, map the result to an exit code.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    helpgate::telemetry::init(cli::log_json(&args), args.verbose);
    match cli::run(&args) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`helpgate messages list | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("helpgate: {e:#}");
            cli::exit_code_for(&e)
        }
    }
}
