//! Logging setup. Bodies, subjects and addresses are never logged at info.

use tracing_subscriber::{fmt, EnvFilter};

/// Install the global subscriber: `RUST_LOG`-style filter (default `info`
/// for helpgate, `warn` for the rest), text or JSON lines on stderr.
pub fn init(json: bool, verbose: bool) {
    let default = if verbose {
        "helpgate=debug,warn"
    } else {
        "helpgate=info,warn"
    };
    let filter =
        EnvFilter::try_from_env("HELPGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // No colour codes in journald or log files, only on a terminal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        // A closed stderr (journald restarted, `| head`) must not panic the
        // task that logs: tracing-subscriber would eprint! the write error,
        // and eprint! panics on a broken pipe.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
