//! Specialists' actions on a ticket: reply, note, claim, assign, move,
//! close, reopen, reclassify. Each is one transaction and leaves an event with who and when.

use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::clock::Clock;
use helpgate::desk;
use helpgate::reply::SpecialistBody;
use helpgate::store::tickets;
use helpgate::ticket::{TicketId, TicketState};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum TicketAction {
    /// Answer the participant (through the outbox, threaded).
    Reply {
        #[arg(value_parser = super::ticket_id)]
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
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        text: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Take the ticket. Someone else's claim stands unless --force.
    Claim {
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        #[arg(long = "as")]
        actor: String,
        /// Take over a claim someone else holds (recorded in the history).
        #[arg(long)]
        force: bool,
    },
    Close {
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    Reopen {
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Assign to a person or a team (`--clear` removes the assignment).
    Assign {
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        /// A person's login or a team's name.
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        to: Option<String>,
        #[arg(long)]
        clear: bool,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Move to another queue (one the rules name).
    Move {
        #[arg(value_parser = super::ticket_id)]
        id: i64,
        queue: String,
        #[arg(long = "as")]
        actor: Option<String>,
    },
    /// Correct the topic or language (kept as a correction with who and when).
    Reclassify {
        #[arg(value_parser = super::ticket_id)]
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
            let req = helpgate::desk::ReplyRequest {
                body,
                confirm_sensitive: true,
                once_key: None,
                site_tag: config.site_tag.clone(),
            };
            let outbox = store.transaction(|tx| {
                desk::reply(tx, &rules, &templates, TicketId(*id), &req, &actor, now)
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
            store.transaction(|tx| desk::note(tx, TicketId(*id), text, &who(actor), now))?;
            println!("note added to [#{id}]");
        }
        TicketAction::Claim { id, actor, force } => {
            let outcome =
                store.transaction(|tx| desk::claim(tx, TicketId(*id), actor, *force, now))?;
            match outcome {
                desk::Claimed::TakenOver { from } => {
                    println!("[#{id}] taken over from {from} by {actor}")
                }
                _ => println!("[#{id}] claimed by {actor}"),
            }
        }
        TicketAction::Close { id, actor } | TicketAction::Reopen { id, actor } => {
            let state = match cmd {
                TicketAction::Close { .. } => TicketState::Closed,
                _ => TicketState::Open,
            };
            store.transaction(|tx| desk::set_state(tx, TicketId(*id), state, &who(actor), now))?;
            println!("[#{id}] {state}");
        }
        TicketAction::Assign { id, to, actor, .. } => {
            let to = to.as_deref();
            store.transaction(|tx| desk::assign(tx, TicketId(*id), to, &who(actor), now))?;
            match to {
                Some(to) => println!("[#{id}] assigned to {to}"),
                None => println!("[#{id}] assignment cleared"),
            }
        }
        TicketAction::Move { id, queue, actor } => {
            let rules = super::outbox::load_rules(&config)?;
            store.transaction(|tx| {
                desk::move_queue(tx, &rules, TicketId(*id), queue, &who(actor), now)
            })?;
            println!("[#{id}] moved to {queue}");
        }
        TicketAction::Reclassify {
            id,
            topic,
            language,
            actor,
        } => {
            let rules = super::outbox::load_rules(&config)?;
            let detail = store.transaction(|tx| {
                desk::reclassify(
                    tx,
                    &rules,
                    TicketId(*id),
                    topic.as_deref(),
                    language.as_deref(),
                    &who(actor),
                    now,
                )
            })?;
            println!("[#{id}] {detail}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
