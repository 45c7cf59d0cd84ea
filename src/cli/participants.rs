//! Issue 13's commands: `forget`, `export`, `tracker check`, and the
//! `tickets link|merge` actions. Library calls in `helpgate::participant`
//! and `helpgate::tracker` do the work (the web console calls the same).

use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::clock::Clock;
use helpgate::participant::{export, forget, link};
use helpgate::ticket::TicketId;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum TrackerCmd {
    /// Load every project's tracker: rows per project, or each error as file:row:column.
    Check,
}

fn actor(a: &Option<String>) -> String {
    a.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "admin".into())
}

/// `helpgate forget WHO [--dry-run] [--json]`.
pub(crate) fn forget_cmd(
    cli: &Cli,
    who: &str,
    dry_run: bool,
    as_: &Option<String>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    if who.trim().is_empty() {
        bail!("give an address or a participant ID");
    }
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let person = forget::find(store.conn(), who)?;
    if person.tickets.is_empty() && person.messages.is_empty() && person.quarantine.is_empty() {
        if json_out {
            println!("{}", json!({"dry_run": dry_run, "found": false}));
        } else {
            println!("nothing held about {who}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if dry_run {
        if json_out {
            println!(
                "{}",
                json!({"dry_run": true, "found": true, "person": person})
            );
        } else {
            let tokens: Vec<String> = person
                .tickets
                .iter()
                .map(|t| TicketId(*t).token())
                .collect();
            println!(
                "would erase, for {} address(es) and {} participant ID(s):",
                person.addresses.len(),
                person.participant_ids.len()
            );
            for a in &person.addresses {
                println!("  address {a}");
            }
            for p in &person.participant_ids {
                println!("  participant {p}");
            }
            println!("  tickets {} ({})", tokens.len(), tokens.join(" "));
            println!(
                "  messages {} (raw mail, subject, text, attachment names)",
                person.messages.len()
            );
            println!("  outbox rows {}", person.outbox.len());
            println!("  quarantined mails {}", person.quarantine.len());
            println!("  suppression and rate-limit rows of the addresses");
            println!("kept: topic, language, action, state and dates of each ticket and message");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let outbox_dir = config.outbox_dir();
    let erased = forget::forget(
        &mut store,
        &person,
        Some(&outbox_dir),
        &actor(as_),
        Clock::system().now(),
    )?;
    if json_out {
        println!(
            "{}",
            json!({"dry_run": false, "found": true, "erased": erased})
        );
    } else {
        let c = &erased.counts;
        println!(
            "erasure {}: {} tickets, {} messages, {} outbox rows ({} reply files), {} events, {} suppression rows, {} quarantined mails",
            erased.erasure, c.tickets, c.messages, c.outbox, erased.outbox_files, c.events, c.suppression, c.quarantine
        );
        if erased.wal_left > 0 {
            println!("warning: the write-ahead log still holds {} bytes (another process was reading): run forget again when it is idle", erased.wal_left);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `helpgate export WHO --out DIR`.
pub(crate) fn export_cmd(
    cli: &Cli,
    who: &str,
    out: &PathBuf,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty: choose a new folder",
            out.display()
        );
    }
    let config = load_config(cli)?;
    let store = open_store(&config)?;
    let person = forget::find(store.conn(), who)?;
    let written = export::export(store.conn(), &person, out)?;
    if json_out {
        println!("{}", json!({"dir": out, "written": written}));
    } else {
        let ids: Vec<&str> = person
            .addresses
            .iter()
            .chain(&person.participant_ids)
            .map(String::as_str)
            .collect();
        // The staff member checks this list: an ID is text a sender typed.
        println!("found through: {}", ids.join(", "));
        println!(
            "{}: export.json, {} tickets, {} messages (messages/*.eml), {} replies (outbox/*.eml)",
            out.display(),
            written.tickets,
            written.messages,
            written.outbox
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn tracker_cmd(cli: &Cli, cmd: &TrackerCmd) -> anyhow::Result<ExitCode> {
    let TrackerCmd::Check = cmd;
    let config = load_config(cli)?;
    let rules = super::outbox::load_rules(&config)?;
    let mut failed = false;
    for p in &rules.projects {
        let Some(t) = &p.tracker else { continue };
        match helpgate::tracker::load::load(t) {
            Ok(tr) => println!("project {}: {} rows from {}", p.id, tr.len(), tr.origin),
            Err(errors) => {
                failed = true;
                for e in errors {
                    eprintln!("{e}");
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `tickets link ID PARTICIPANT` and `tickets merge ID INTO`.
pub(crate) fn link_cmd(
    cli: &Cli,
    id: i64,
    participant: &str,
    as_: &Option<String>,
) -> anyhow::Result<ExitCode> {
    if participant.trim().is_empty() {
        bail!("give a participant ID");
    }
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    store
        .transaction(|tx| link::link(tx, TicketId(id), participant, &actor(as_), now))
        .with_context(|| format!("cannot link ticket {id}"))?;
    println!(
        "[#{id}] linked to participant {}",
        participant.trim().to_uppercase()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn merge_cmd(
    cli: &Cli,
    id: i64,
    into: i64,
    as_: &Option<String>,
) -> anyhow::Result<ExitCode> {
    if id == into {
        bail!("a ticket cannot be merged into itself");
    }
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    store
        .transaction(|tx| link::merge(tx, TicketId(id), TicketId(into), &actor(as_), now))
        .with_context(|| format!("cannot merge ticket {id} into {into}"))?;
    println!("[#{id}] merged into [#{into}]");
    Ok(ExitCode::SUCCESS)
}
