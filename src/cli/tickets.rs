//! Specialists' actions on a ticket: reply, note, claim, close, reopen,
//! reclassify. Each is one transaction and leaves an event with who and when.

use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::clock::Clock;
use helpgate::reply::{queue_specialist_reply, SpecialistBody};
use helpgate::store::corrections::{self, Reclassification};
use helpgate::store::{events, tickets, ts};
use helpgate::ticket::{TicketId, TicketState};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum TicketAction {
    /// Answer the participant (through the outbox, threaded).
    Reply {
        id: i64,
        /// A template name, e.g. payment.
        #[arg(
            long,
            conflicts_with = "body_file",
            required_unless_present = "body_file"
        )]
        template: Option<String>,
        /// Language of the template (default: the ticket's).
        #[arg(long, requires = "template")]
        lang: Option<String>,
        /// The reply text (UTF-8), or - for stdin.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Who answers (default: $USER).
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Add an internal note.
    Note {
        id: i64,
        text: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Take the ticket.
    Claim {
        id: i64,
        #[arg(long = "as")]
        actor: String,
    },
    Close {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    Reopen {
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Correct the topic or language (kept as a correction with who and when).
    Reclassify {
        id: i64,
        #[arg(long)]
        topic: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long = "as")]
        actor: Option<String>,
    },
}

fn who(actor: &Option<String>) -> String {
    actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "specialist".into())
}

pub(crate) fn run(cli: &Cli, cmd: &TicketAction) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    let exists = |store: &helpgate::store::Store, id: i64| -> anyhow::Result<tickets::Ticket> {
        tickets::get(store.conn(), TicketId(id))?.with_context(|| format!("no ticket with id {id}"))
    };
    match cmd {
        TicketAction::Reply {
            id,
            template,
            lang,
            body_file,
            actor,
        } => {
            exists(&store, *id)?;
            let body = match (template, body_file) {
                (Some(name), _) => SpecialistBody::Template {
                    name: name.clone(),
                    language: lang.clone(),
                },
                (None, Some(p)) => {
                    let text = if p.as_os_str() == "-" {
                        std::io::read_to_string(std::io::stdin())?
                    } else {
                        std::fs::read_to_string(p)
                            .with_context(|| format!("cannot read {}", p.display()))?
                    };
                    if text.trim().is_empty() {
                        bail!("the reply body is empty");
                    }
                    SpecialistBody::Text(text)
                }
                (None, None) => bail!("give --template NAME or --body-file FILE"),
            };
            let templates = super::outbox::templates(&config)?;
            let rules = super::outbox::load_rules(&config)?;
            let actor = who(actor);
            let outbox = store.transaction(|tx| {
                queue_specialist_reply(tx, &rules, &templates, TicketId(*id), &body, &actor, now)
                    .map_err(anyhow::Error::from)
            })?;
            drop(store);
            match super::outbox::flush(&config)? {
                Some(s) => println!(
                    "reply queued as outbox {outbox}; {} sent, {} to retry later, {} parked",
                    s.sent, s.retried, s.parked
                ),
                None => println!(
                    "reply queued as outbox {outbox}; the helpgate process that delivers this outbox sends it"
                ),
            }
        }
        TicketAction::Note { id, text, actor } => {
            exists(&store, *id)?;
            store
                .transaction(|tx| events::add(tx, TicketId(*id), now, &who(actor), "note", text))?;
            println!("note added to [#{id}]");
        }
        TicketAction::Claim { id, actor } => {
            exists(&store, *id)?;
            store.transaction(|tx| -> anyhow::Result<()> {
                tx.execute(
                    "UPDATE tickets SET claimed_by = ?2, updated_at = ?3 WHERE id = ?1",
                    rusqlite::params![id, actor, ts(now)],
                )?;
                events::add(
                    tx,
                    TicketId(*id),
                    now,
                    actor,
                    "claim",
                    &format!("claimed by {actor}"),
                )?;
                Ok(())
            })?;
            println!("[#{id}] claimed by {actor}");
        }
        TicketAction::Close { id, actor } | TicketAction::Reopen { id, actor } => {
            exists(&store, *id)?;
            let (state, kind) = match cmd {
                TicketAction::Close { .. } => (TicketState::Closed, "close"),
                _ => (TicketState::Open, "reopen"),
            };
            store.transaction(|tx| -> anyhow::Result<()> {
                tickets::set_state(tx, TicketId(*id), state, now)?;
                events::add(
                    tx,
                    TicketId(*id),
                    now,
                    &who(actor),
                    kind,
                    &format!("state {state}"),
                )?;
                Ok(())
            })?;
            println!("[#{id}] {state}");
        }
        TicketAction::Reclassify {
            id,
            topic,
            language,
            actor,
        } => {
            let t = exists(&store, *id)?;
            if topic.is_none() && language.is_none() {
                bail!("give --topic and/or --language");
            }
            let correction = Reclassification {
                ticket: t.id,
                topic: topic.as_deref(),
                language: language.as_deref(),
                action: None,
                actor: &who(actor),
                at: now,
            };
            let c = store.transaction(|tx| corrections::reclassify(tx, &correction))?;
            println!("[#{id}] {}", c.detail());
        }
    }
    Ok(ExitCode::SUCCESS)
}
