//! `helpgate quarantine list|show|replay`: mail that could not be stored as
//! a message is kept raw with its reason; replay runs it through the
//! pipeline again (after a fix) and marks it replayed when it goes through.

use super::{load_config, open_store, Cli};
use anyhow::Context;
use helpgate::clock::Clock;
use helpgate::intake::RawMessage;
use helpgate::pipeline::{Outcome, Pipeline};
use helpgate::store::quarantine;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum QuarantineCmd {
    /// Quarantined messages, oldest first.
    List {
        /// Include replayed entries.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One entry: its reason, then the raw message.
    Show { id: i64 },
    /// Run entries through the pipeline again.
    Replay {
        /// Entry ids; none: every entry not replayed yet.
        ids: Vec<i64>,
    },
}

pub(crate) fn run(cli: &Cli, cmd: &QuarantineCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    match cmd {
        QuarantineCmd::List { all, json } => {
            let rows: Vec<_> = quarantine::list(store.conn())?
                .into_iter()
                .filter(|q| *all || q.replayed_at.is_none())
                .collect();
            if *json {
                for q in &rows {
                    println!("{}", serde_json::to_string(q)?);
                }
            } else {
                for q in &rows {
                    println!(
                        "{}\t{}\t{} bytes\t{}{}",
                        q.id,
                        q.source,
                        q.size,
                        q.reason,
                        if q.replayed_at.is_some() {
                            "\t(replayed)"
                        } else {
                            ""
                        }
                    );
                }
                println!("{} quarantined", rows.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCmd::Show { id } => {
            let (q, raw) = quarantine::get(store.conn(), *id)?
                .with_context(|| format!("no quarantine entry {id}"))?;
            eprintln!("source: {}\nreason: {}\n", q.source, q.reason);
            std::io::stdout().write_all(&raw)?;
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCmd::Replay { ids } => {
            let replies = std::sync::Arc::new(super::outbox::planner(&config)?);
            let rules = helpgate::daemon::rules::load(&config).map_err(|errs| {
                anyhow::anyhow!("the rules do not compile:\n{}", errs.join("\n"))
            })?;
            let rules = Arc::new(rules);
            let ids: Vec<i64> = if ids.is_empty() {
                quarantine::list(store.conn())?
                    .into_iter()
                    .filter(|q| q.replayed_at.is_none())
                    .map(|q| q.id)
                    .collect()
            } else {
                ids.clone()
            };
            let clock = Clock::system();
            let mut failed = 0;
            for id in ids {
                let (q, raw) = quarantine::get(store.conn(), id)?
                    .with_context(|| format!("no quarantine entry {id}"))?;
                // `imap:NAME/...`: route it as its mailbox's project.
                let mailbox = q
                    .source
                    .strip_prefix("imap:")
                    .and_then(|s| s.split('/').next())
                    .map(str::to_string);
                let project = mailbox
                    .as_ref()
                    .and_then(|m| config.mailboxes.iter().find(|c| &c.name == m))
                    .map(|c| c.project.clone());
                let pipeline = Pipeline {
                    rules: rules.clone(),
                    clock: clock.clone(),
                    bound_project: project,
                    max_message_bytes: config.max_message_bytes,
                    replies: replies.clone(),
                };
                let prepared = pipeline.prepare(RawMessage {
                    source: q.source.clone(),
                    mailbox,
                    bytes: raw,
                });
                let now = clock.now();
                let outcome = store.transaction(|tx| {
                    let o = pipeline.commit(tx, &prepared)?;
                    if !matches!(o, Outcome::Quarantined { .. }) {
                        quarantine::mark_replayed(tx, id, now)?;
                    }
                    Ok::<_, helpgate::pipeline::PipelineError>(o)
                })?;
                match outcome {
                    Outcome::Quarantined { reason, .. } => {
                        failed += 1;
                        println!("{id}: still failing: {reason}");
                    }
                    o => println!("{id}: {}", serde_json::to_string(&o)?),
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
