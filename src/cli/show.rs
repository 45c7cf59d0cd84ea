//! Read-only views: `tickets list|show`, `messages list|raw`. The `--json`
//! shapes are an interface documented in the README: change them only by
//! adding fields.

use super::{load_config, open_store, Cli, MessagesCmd, TicketsCmd};
use anyhow::{bail, Context};
use helpgate::store::messages::{self, MessageDetail, MessageSummary};
use helpgate::store::{events, tickets};
use helpgate::ticket::{MessageId, TicketId, TicketState};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

fn message_json(m: &MessageSummary) -> serde_json::Value {
    json!({
        "id": m.id,
        "message_id": m.message_id,
        "ticket": m.ticket,
        "ticket_token": m.ticket.map(TicketId::token),
        "from": m.from,
        "subject": m.subject,
        "language": m.language,
        "topic": m.topic,
        "action": m.action,
        "reason": m.reason,
        "notes": m.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn ticket_json(t: &tickets::Ticket) -> serde_json::Value {
    json!({
        "id": t.id,
        "token": t.token,
        "state": t.state,
        "queue": t.queue,
        "language": t.language,
        "topic": t.topic,
        "participant": t.participant,
        "messages": t.messages,
        "created_at": helpgate::store::ts(t.created_at),
        "updated_at": helpgate::store::ts(t.updated_at),
    })
}

pub(crate) fn messages(cli: &Cli, cmd: &MessagesCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let store = open_store(&config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        MessagesCmd::List { json } => {
            for m in messages::list(store.conn())? {
                if *json {
                    writeln!(out, "{}", message_json(&m))?;
                } else {
                    writeln!(
                        out,
                        "{:>6}  {:<7} {:<10} {:<4} {:<20} {}",
                        m.id,
                        m.ticket.map(TicketId::token).unwrap_or_else(|| "-".into()),
                        m.action,
                        m.language.as_deref().unwrap_or("-"),
                        m.topic.as_deref().unwrap_or("-"),
                        one_line(&m.subject, 60)
                    )?;
                }
            }
        }
        MessagesCmd::Raw { id } => {
            let raw = messages::raw(store.conn(), MessageId(*id))?
                .with_context(|| format!("no message with id {id}"))?;
            out.write_all(&raw)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn tickets(cli: &Cli, cmd: &TicketsCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let store = open_store(&config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TicketsCmd::List { state, queue, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => match TicketState::parse(s) {
                    Some(st) => Some(st),
                    None => {
                        bail!("--state: expected open, answered, recorded or closed, found {s:?}")
                    }
                },
            };
            for t in tickets::list(store.conn(), state, queue.as_deref())? {
                if *json {
                    writeln!(out, "{}", ticket_json(&t))?;
                } else {
                    writeln!(
                        out,
                        "{:<7} {:<9} {:<10} {:<4} {:<20} {:>3} msg  {}",
                        t.token,
                        t.state.as_str(),
                        t.queue.as_deref().unwrap_or("-"),
                        t.language.as_deref().unwrap_or("-"),
                        t.topic.as_deref().unwrap_or("-"),
                        t.messages,
                        one_line(&t.subject, 50)
                    )?;
                }
            }
        }
        TicketsCmd::Show { id, json } => {
            let ticket = tickets::get(store.conn(), TicketId(*id))?
                .with_context(|| format!("no ticket with id {id}"))?;
            let thread = messages::for_ticket(store.conn(), ticket.id)?;
            let history = events::for_ticket(store.conn(), ticket.id)?;
            let links = helpgate::participant::link::links(store.conn(), ticket.id)?;
            if *json {
                let mut v = ticket_json(&ticket);
                v["subject"] = json!(ticket.subject);
                v["project"] = json!(ticket.project);
                v["claimed_by"] = json!(ticket.claimed_by);
                v["thread"] = thread.iter().map(detail_json).collect();
                v["events"] = serde_json::to_value(&history)?;
                v["participant_id"] = json!(links.participant_id);
                v["task_ids"] = json!(links.task_ids);
                v["merged_into"] = json!(links.merged_into);
                v["linked"] = serde_json::to_value(&links.linked)?;
                writeln!(out, "{v}")?;
            } else {
                print_ticket(&mut out, &ticket, &thread, &history)?;
                print_links(&mut out, &links)?;
            }
        }
        TicketsCmd::Act(_) | TicketsCmd::Link { .. } | TicketsCmd::Merge { .. } => {
            unreachable!("dispatched to cli::tickets and cli::participants")
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn detail_json(m: &MessageDetail) -> serde_json::Value {
    let mut v = message_json(&m.summary);
    v["received_at"] = json!(helpgate::store::ts(m.summary.received_at));
    v["new_text"] = json!(m.body.new_text);
    v["quoted"] = json!(m.body.quoted);
    v["signature"] = json!(m.body.signature);
    v["html_only"] = json!(m.body.html_only);
    v["attachments"] = json!(m.body.attachments);
    v
}

fn print_ticket(
    out: &mut impl Write,
    t: &tickets::Ticket,
    thread: &[MessageDetail],
    history: &[events::Event],
) -> std::io::Result<()> {
    writeln!(out, "Ticket {}  {}", t.token, t.subject)?;
    writeln!(
        out,
        "state {}  queue {}  language {}  topic {}  participant {}  project {}",
        t.state,
        t.queue.as_deref().unwrap_or("-"),
        t.language.as_deref().unwrap_or("-"),
        t.topic.as_deref().unwrap_or("-"),
        t.participant.as_deref().unwrap_or("-"),
        t.project
    )?;
    if let Some(who) = &t.claimed_by {
        writeln!(out, "claimed by {who}")?;
    }
    for m in thread {
        let s = &m.summary;
        writeln!(out)?;
        writeln!(
            out,
            "--- message {} from {} at {}",
            s.id,
            s.from.as_deref().unwrap_or("(no sender)"),
            helpgate::store::ts(s.received_at)
        )?;
        writeln!(out, "Subject: {}", s.subject)?;
        writeln!(out, "Decision: {} ({})", s.action, s.reason)?;
        for n in &s.notes {
            writeln!(out, "Note: {n}")?;
        }
        writeln!(out)?;
        for line in m.body.new_text.lines() {
            writeln!(out, "  {line}")?;
        }
        if let Some(q) = &m.body.quoted {
            writeln!(
                out,
                "  [quoted history: {} lines folded]",
                q.lines().count()
            )?;
        }
        if let Some(sig) = &m.body.signature {
            writeln!(out, "  [signature: {}]", one_line(sig, 60))?;
        }
        for a in &m.body.attachments {
            writeln!(
                out,
                "  attachment: {} ({}, {} bytes)",
                a.name.as_deref().unwrap_or("(unnamed)"),
                a.content_type,
                a.size
            )?;
        }
    }
    if !history.is_empty() {
        writeln!(out)?;
        for e in history {
            writeln!(
                out,
                "{} {} {}: {}",
                helpgate::store::ts(e.at),
                e.actor,
                e.kind,
                e.detail
            )?;
        }
    }
    Ok(())
}

/// Who writes: the participant ID and the participant's other tickets.
fn print_links(
    out: &mut impl Write,
    l: &helpgate::participant::link::Links,
) -> std::io::Result<()> {
    if l.participant_id.is_none() && l.task_ids.is_empty() && l.merged_into.is_none() {
        return Ok(());
    }
    writeln!(out)?;
    if let Some(p) = &l.participant_id {
        writeln!(out, "participant ID {p}")?;
    }
    if !l.task_ids.is_empty() {
        writeln!(out, "tasks {}", l.task_ids.join(" "))?;
    }
    if let Some(m) = l.merged_into {
        writeln!(out, "merged into {}", m.token())?;
    }
    for t in &l.linked {
        writeln!(
            out,
            "same participant: {} {} {} {}",
            t.token,
            t.state,
            t.topic.as_deref().unwrap_or("-"),
            one_line(&t.subject, 50)
        )?;
    }
    Ok(())
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
