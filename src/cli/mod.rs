//! Command-line interface: clap definitions and dispatch. `anyhow` lives
//! here and in main.rs only.

mod corrections;
mod desk;
mod ingest;
pub(crate) mod outbox;
mod participants;
mod quarantine;
mod rules;
mod run;
mod serve;
mod show;
mod status;
mod tickets;
mod train;
mod users;

use anyhow::Context;
use clap::{Parser, Subcommand};
use helpgate::config::Config;
use helpgate::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// EX_TEMPFAIL: an MTA pipe retries later.
pub(crate) const EX_TEMPFAIL: u8 = 75;

#[derive(Debug, Parser)]
#[command(name = "helpgate", version, about = "Support mail in, tickets out.")]
pub(crate) struct Cli {
    /// Config file (TOML). Without one, built-in defaults apply.
    #[arg(long, global = true, env = "HELPGATE_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// State directory (database, file outbox); overrides the config.
    #[arg(long, global = true)]
    pub(crate) state_dir: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    pub(crate) log_json: bool,
    /// Debug logging.
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import mail: .eml files, Maildirs, folders of .eml files, or - for stdin.
    Ingest {
        #[arg(required = true)]
        paths: Vec<String>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Tickets.
    #[command(subcommand)]
    Tickets(TicketsCmd),
    /// Stored messages.
    #[command(subcommand)]
    Messages(MessagesCmd),
    /// Validate the config file; errors name the key. A secret that cannot
    /// be read here is a warning (the service's user may read it) unless
    /// --secrets.
    CheckConfig {
        /// Also require every secret (password file, env variable) to be readable.
        #[arg(long)]
        secrets: bool,
    },
    /// Print the commented example config.
    PrintConfig,
    /// Outgoing mail.
    #[command(subcommand)]
    Outbox(outbox::OutboxCmd),
    /// Reply templates.
    #[command(subcommand)]
    Templates(outbox::TemplatesCmd),
    /// The automatic-reply circuit breaker.
    #[command(subcommand)]
    Breaker(outbox::BreakerCmd),
    /// Run the daemon: watch the configured IMAP mailboxes until SIGTERM.
    Run,
    /// Per mailbox: last fetch, cursor, lag, last error; outbox depth.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Mail that could not be stored: list, show, replay.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCmd),
    /// Check rule files, dry-run mail through them, diff decisions between rule sets.
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// Specialists' corrections: list them, export them as a labelled set.
    #[command(subcommand)]
    Corrections(corrections::CorrectionsCmd),
    /// The specialists' web console (loopback by default; see [web] and deploy/).
    Serve {
        /// Address and port; overrides web.listen.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Console accounts: add, passwd, disable, enable, list.
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Volume, outcomes, response times, SLA breaches and suggestions for a period.
    Report(desk::ReportArgs),
    /// Erase everything held about a person (address or participant ID); counts stay.
    Forget {
        who: String,
        /// List what would be erased, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who asks for the erasure (recorded), default $USER.
        #[arg(long = "as")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write everything held about a person: export.json and the raw mails.
    Export {
        who: String,
        /// A new (or empty) folder.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The projects' QA trackers.
    #[command(subcommand)]
    Tracker(participants::TrackerCmd),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TicketsCmd {
    /// List tickets, oldest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        #[arg(long)]
        language: Option<String>,
        /// Participant address.
        #[arg(long)]
        participant: Option<String>,
        /// Only tickets nobody claimed or was assigned.
        #[arg(long, conflicts_with = "mine")]
        unassigned: bool,
        /// Only tickets claimed by or assigned to this person.
        #[arg(long)]
        mine: Option<String>,
        /// Only tickets not updated for at least this long: 90m, 36h, 3d.
        #[arg(long, value_parser = age)]
        older_than: Option<chrono::Duration>,
        /// id (default), oldest (least recently updated first) or newest.
        #[arg(long, default_value = "id")]
        sort: String,
        /// At most this many tickets.
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        json: bool,
        /// Only tickets whose SLA clock has run out or is about to.
        #[arg(long, conflicts_with_all = ["state", "queue"])]
        due: bool,
    },
    /// A ticket with its thread.
    Show {
        /// 8, #8 or [#8] (the token as printed).
        #[arg(value_parser = ticket_id)]
        id: i64,
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Act(tickets::TicketAction),
    /// Link a ticket to a participant ID (when its mail named none).
    Link {
        id: i64,
        participant: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Merge ticket ID into ticket INTO (messages move; ID is closed).
    Merge {
        id: i64,
        into: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MessagesCmd {
    /// Every stored message in arrival order.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The original bytes of a message, exactly as received.
    Raw { id: i64 },
}

/// An age as typed: a whole number of minutes, hours or days (`90m`, `36h`, `3d`).
pub(crate) fn age(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let expected = || format!("expected an age like 90m, 36h or 3d, found {s:?}");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().ok().filter(|n| *n >= 0).ok_or_else(expected)?;
    match unit {
        "m" => Ok(chrono::Duration::minutes(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        _ => Err(expected()),
    }
}

/// A ticket id as typed: `8`, `#8` or the token `[#8]`.
pub(crate) fn ticket_id(s: &str) -> Result<i64, String> {
    let n = s
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_start_matches('#');
    n.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("expected a ticket number like 8 or [#8], found {s:?}"))
}

/// JSON logs: `--log-json`, or `log.format = "json"` in the config (read
/// leniently here: a broken config is reported by the command itself).
pub(crate) fn log_json(cli: &Cli) -> bool {
    cli.log_json
        || cli
            .config
            .as_ref()
            .and_then(|p| Config::load(p).ok())
            .is_some_and(|c| c.log_format == helpgate::config::LogFormat::Json)
}

/// Config from `--config`, or the defaults; `--state-dir` wins.
pub(crate) fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &cli.state_dir {
        config.state_dir = dir.clone();
    }
    Ok(config)
}

/// The store of a state dir that must exist already: read commands say so
/// instead of creating an empty one and printing nothing.
pub(crate) fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    if !config.state_dir.join("helpgate.db").exists() {
        anyhow::bail!(
            "no helpgate state in {}: nothing was ingested there yet (check --state-dir or state_dir in the config)",
            config.state_dir.display()
        );
    }
    open_store(config)
}

pub(crate) fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open_in(&config.state_dir)
        .with_context(|| format!("cannot open the store in {}", config.state_dir.display()))
}

pub(crate) fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::PrintConfig => {
            print!("{}", helpgate::config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { secrets } => {
            let path = cli.config.as_ref().context(
                "no config file given: pass --config PATH (helpgate print-config shows an example)",
            )?;
            let config = Config::load(path)?;
            // What `run` would refuse at start: rules and templates, and each
            // mailbox's project in those rules.
            if let Err(errors) = helpgate::daemon::rules::load_all(&config) {
                for e in &errors {
                    eprintln!("helpgate: {}: {e}", path.display());
                }
                return Ok(ExitCode::from(1));
            }
            if let Err(errors) = config.check_secrets() {
                let level = if *secrets { "error" } else { "warning" };
                for e in &errors {
                    eprintln!(
                        "helpgate: {}: {level}: {}",
                        path.display(),
                        helpgate::pipeline::error_chain(e)
                    );
                }
                if *secrets {
                    return Ok(ExitCode::from(1));
                }
            }
            println!("{}: ok", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest { paths, json } => ingest::run(cli, paths, *json),
        Command::Tickets(TicketsCmd::Act(a)) => tickets::run(cli, a),
        Command::Tickets(TicketsCmd::List {
            due: true, json, ..
        }) => desk::list_due(cli, *json),
        Command::Tickets(TicketsCmd::Link {
            id,
            participant,
            actor,
        }) => participants::link_cmd(cli, *id, participant, actor),
        Command::Tickets(TicketsCmd::Merge { id, into, actor }) => {
            participants::merge_cmd(cli, *id, *into, actor)
        }
        Command::Forget {
            who,
            dry_run,
            actor,
            json,
        } => participants::forget_cmd(cli, who, *dry_run, actor, *json),
        Command::Export { who, out, json } => participants::export_cmd(cli, who, out, *json),
        Command::Tracker(cmd) => participants::tracker_cmd(cli, cmd),
        Command::Tickets(cmd) => show::tickets(cli, cmd),
        Command::Outbox(cmd) => outbox::run(cli, cmd),
        Command::Templates(cmd) => outbox::templates_cmd(cli, cmd),
        Command::Breaker(cmd) => outbox::breaker(cli, cmd),
        Command::Messages(cmd) => show::messages(cli, cmd),
        Command::Run => run::run(cli),
        Command::Status { json } => status::run(cli, *json),
        Command::Quarantine(cmd) => quarantine::run(cli, cmd),
        Command::Rules(cmd) => rules::run(cli, cmd),
        Command::Corrections(cmd) => corrections::run(cli, cmd),
        Command::Serve { listen } => serve::run(cli, *listen),
        Command::Users(cmd) => users::run(cli, cmd),
        Command::Report(a) => desk::report(cli, a),
    }
}

/// Transient store failures exit 75 so an MTA pipe retries; the rest 1.
pub(crate) fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    let transient = e.chain().any(|c| {
        c.downcast_ref::<helpgate::store::StoreError>()
            .is_some_and(|s| s.is_transient())
            || c.downcast_ref::<helpgate::pipeline::PipelineError>()
                .is_some_and(|p| p.is_transient())
    });
    ExitCode::from(if transient { EX_TEMPFAIL } else { 1 })
}
