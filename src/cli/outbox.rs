//! `outbox list|retry`, `templates check`, `breaker reset`, and the
//! outbox/breaker part of `status`; also how the CLI builds the reply
//! planner and the transport from the config.

use super::{load_config, open_store, Cli};
use anyhow::Context;
use clap::Subcommand;
use helpgate::clock::Clock;
use helpgate::config::Config;
use helpgate::reply::templates::Templates;
use helpgate::reply::Planner;
use helpgate::rules::RuleSet;
use helpgate::store::{limits, outbox, ts};
use helpgate::transport::Transport;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCmd {
    /// Outgoing mail, oldest first.
    List {
        /// pending, sending, sent, parked or bounced.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Queue a parked or bounced reply again (a fresh retry window).
    Retry { id: i64 },
    /// Deliver what is due now, then exit.
    Flush,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCmd {
    /// Every auto-reply topic x project language has a template; exit 1 on a gap.
    Check,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BreakerCmd {
    /// Close the circuit breaker: automatic replies resume.
    Reset,
}

/// The templates the config names (a directory) or the built-in ones.
pub(crate) fn templates(config: &Config) -> anyhow::Result<Templates> {
    Ok((*planner(config)?.templates).clone())
}

/// The rules the config names (the daemon's loader, so every command sees
/// the same projects).
pub(crate) fn load_rules(config: &Config) -> anyhow::Result<RuleSet> {
    helpgate::daemon::rules::load(config)
        .map_err(|errs| anyhow::anyhow!("the rules do not compile:\n{}", errs.join("\n")))
}

pub(crate) fn planner(config: &Config) -> anyhow::Result<Planner> {
    Planner::from_config(config).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid templates:\n{}", lines.join("\n"))
    })
}

/// Deliver what is due now; `None`: another process (the daemon) holds
/// the outbox and delivers it.
pub(crate) fn flush(config: &Config) -> anyhow::Result<Option<helpgate::outbox::Stats>> {
    let (_, closed) = std::sync::mpsc::channel();
    flush_on_wake(config, &closed)
}

/// Deliver what is due each time `wake` signals, and when it closes.
pub(crate) fn flush_on_wake(
    config: &Config,
    wake: &std::sync::mpsc::Receiver<()>,
) -> anyhow::Result<Option<helpgate::outbox::Stats>> {
    helpgate::outbox::deliver_on_wake(
        config.state_dir.join("helpgate.db"),
        Transport::from_config(config),
        Clock::system(),
        helpgate::outbox::Policy::from_config(config),
        std::time::Duration::from_secs(60),
        wake,
    )
    .context("cannot deliver the outbox")
}

pub(crate) fn run(cli: &Cli, cmd: &OutboxCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        OutboxCmd::List { state, json } => {
            for o in outbox::list(store.conn(), state.as_deref())? {
                if *json {
                    writeln!(out, "{}", serde_json::to_string(&o)?)?;
                } else {
                    writeln!(
                        out,
                        "{:>6}  {:<7} {:<8} {:<5} {:>2}x  {:<30} {}",
                        o.id,
                        o.ticket.map(|t| t.token()).unwrap_or_else(|| "-".into()),
                        o.state,
                        o.kind,
                        o.attempts,
                        o.template.as_deref().unwrap_or("-"),
                        o.last_error.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        OutboxCmd::Retry { id } => {
            let now = Clock::system().now();
            if !store.transaction(|tx| outbox::retry(tx, *id, now))? {
                anyhow::bail!("no parked, bounced or pending outbox row with id {id}");
            }
            writeln!(out, "outbox {id}: queued again")?;
        }
        OutboxCmd::Flush => {
            drop(store);
            match flush(&config)? {
                Some(s) => writeln!(
                    out,
                    "{} sent, {} to retry later, {} parked",
                    s.sent, s.retried, s.parked
                )?,
                None => writeln!(
                    out,
                    "another helpgate process (the daemon?) is delivering this outbox"
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn templates_cmd(cli: &Cli, cmd: &TemplatesCmd) -> anyhow::Result<ExitCode> {
    let TemplatesCmd::Check = cmd;
    let config = load_config(cli)?;
    let t = templates(&config)?;
    let rules = load_rules(&config)?;
    let gaps = t.check(&rules.projects);
    for g in &gaps {
        println!("{g}");
    }
    if gaps.is_empty() {
        println!(
            "{} templates, {} projects: ok",
            t.len(),
            rules.projects.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} gaps", gaps.len());
        Ok(ExitCode::from(1))
    }
}

pub(crate) fn breaker(cli: &Cli, cmd: &BreakerCmd) -> anyhow::Result<ExitCode> {
    let BreakerCmd::Reset = cmd;
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    let was_open = store.transaction(|tx| limits::reset_breaker(tx, now))?;
    println!(
        "{}",
        if was_open {
            "circuit breaker reset: automatic replies resume"
        } else {
            "circuit breaker was not open"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The replies part of `helpgate status`: breaker and outbox. The daemon
/// adds mailbox lines around it.
pub(crate) fn status_lines(
    store: &helpgate::store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    match limits::breaker(store.conn())? {
        Some(b) if b.is_open(now) => lines.push(format!(
            "circuit breaker: OPEN since {} until {} ({}); automatic replies stopped, everything goes to humans; `helpgate breaker reset` to resume",
            ts(b.tripped_at),
            ts(b.until),
            b.reason
        )),
        _ => lines.push("circuit breaker: closed (automatic replies on)".into()),
    }
    let counts = outbox::counts(store.conn())?;
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    lines.push(format!(
        "outbox: {}",
        if parts.is_empty() {
            "empty".to_string()
        } else {
            parts.join(", ")
        }
    ));
    Ok(lines)
}
