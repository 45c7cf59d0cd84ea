//! `helpgate status [--json]`: what the daemon recorded, read from the
//! store (works while the daemon runs: SQLite WAL readers do not block it).

use super::{load_config, open_store, Cli};
use chrono::{DateTime, Utc};
use helpgate::clock::Clock;
use helpgate::store::mailboxes::{self, MailboxStatus};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Serialize)]
struct Status {
    mailboxes: Vec<MailboxRow>,
    outbox_pending: i64,
    quarantined: i64,
    /// The automatic-reply circuit breaker: open means replies are stopped.
    breaker_open: bool,
    breaker_reason: Option<String>,
    breaker_until: Option<String>,
    #[serde(flatten)]
    desk: super::desk::DeskStatus,
}

#[derive(Debug, Serialize)]
struct MailboxRow {
    #[serde(flatten)]
    state: MailboxStatus,
    /// Whether the config still lists it.
    configured: bool,
    /// Seconds the oldest unprocessed mail has waited (0: caught up).
    lag_seconds: i64,
}

pub(crate) fn run(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    let desk = super::desk::status(&mut store, &config, now)?;
    let mut rows: Vec<MailboxRow> = mailboxes::list(store.conn())?
        .into_iter()
        .map(|state| MailboxRow {
            configured: config.mailboxes.iter().any(|m| m.name == state.mailbox),
            lag_seconds: state
                .pending_since
                .map_or(0, |t| (now - t).num_seconds().max(0)),
            state,
        })
        .collect();
    for m in &config.mailboxes {
        if !rows.iter().any(|r| r.state.mailbox == m.name) {
            rows.push(MailboxRow {
                state: MailboxStatus {
                    mailbox: m.name.clone(),
                    uidvalidity: None,
                    last_uid: 0,
                    last_fetch_at: None,
                    last_error: None,
                    last_error_at: None,
                    pending_since: None,
                },
                configured: true,
                lag_seconds: 0,
            });
        }
    }
    let (outbox_pending, quarantined) = mailboxes::counts(store.conn())?;
    let breaker = helpgate::store::limits::breaker(store.conn())?.filter(|b| b.is_open(now));
    let status = Status {
        mailboxes: rows,
        outbox_pending,
        quarantined,
        breaker_open: breaker.is_some(),
        breaker_reason: breaker.as_ref().map(|b| b.reason.clone()),
        breaker_until: breaker.as_ref().map(|b| helpgate::store::ts(b.until)),
        desk,
    };
    if json {
        println!("{}", serde_json::to_string(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    for r in &status.mailboxes {
        let s = &r.state;
        println!(
            "mailbox {}{}",
            s.mailbox,
            if r.configured {
                ""
            } else {
                " (no longer configured)"
            }
        );
        println!("  last successful fetch: {}", when(s.last_fetch_at));
        println!(
            "  cursor: uidvalidity {} last uid {}",
            s.uidvalidity
                .map_or_else(|| "-".to_string(), |v| v.to_string()),
            s.last_uid
        );
        println!("  lag: {} s", r.lag_seconds);
        match &s.last_error {
            Some(e) if s.last_error_at >= s.last_fetch_at => {
                println!("  last error ({}): {e}", when(s.last_error_at));
            }
            _ => println!("  last error: none"),
        }
    }
    for line in super::outbox::status_lines(&store, now)? {
        println!("{line}");
    }
    println!("quarantine: {} messages", status.quarantined);
    for line in super::desk::status_lines(&status.desk) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
