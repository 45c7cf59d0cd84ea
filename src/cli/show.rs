//! Read-only views: `tickets list|show`, `messages list|raw`. The `--json`
//! shapes are an interface documented in the README: change them only by
//! adding fields.

use super::{load_config, open_existing_store, Cli, MessagesCmd, TicketsCmd};
use anyhow::{bail, Context};
use helpgate::store::messages::{self, MessageDetail, MessageSummary};
use helpgate::store::{desk, events, tickets};
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
        "bounce": m.bounce.as_ref().map(|b| json!({
            "address": b.address,
            "status": b.status,
            "ticket": b.ticket,
        })),
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
    // Tokens as subjects carry them: with the site tag when one is set.
    let tag = config.site_tag.as_deref();
    let store = open_existing_store(&config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        MessagesCmd::List { json } => {
            for m in messages::list(store.conn())? {
                if *json {
                    let mut v = message_json(&m);
                    v["ticket_token"] = json!(m.ticket.map(|t| t.token_tagged(tag)));
                    writeln!(out, "{v}")?;
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
    // Tokens as subjects carry them: with the site tag when one is set.
    let tag = config.site_tag.as_deref();
    let store = open_existing_store(&config)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TicketsCmd::List {
            state,
            queue,
            topic,
            language,
            participant,
            unassigned,
            mine,
            older_than,
            sort,
            limit,
            json,
            due: _,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => match TicketState::parse(s) {
                    Some(st) => Some(st),
                    None => {
                        bail!("--state: expected open, answered, recorded or closed, found {s:?}")
                    }
                },
            };
            let rules = super::outbox::load_rules(&config)?;
            if let Some(q) = queue {
                helpgate::desk::check_queue(&rules, q).context("--queue")?;
            }
            if let Some(l) = language {
                helpgate::desk::check_language(&rules, l).context("--language")?;
            }
            let filter = desk::Filter {
                queue: queue.clone(),
                state,
                topic: topic.clone(),
                language: language.clone(),
                participant: participant.clone(),
                unassigned: *unassigned,
                mine: mine.clone(),
                older_than: older_than.map(|age| helpgate::clock::Clock::system().now() - age),
                sort: desk::Sort::parse(sort).with_context(|| {
                    format!("--sort: expected id, oldest or newest, found {sort:?}")
                })?,
                per_page: limit.unwrap_or(u32::MAX),
                ..desk::Filter::default()
            };
            // The CLI is the operator's tool: no queue is hidden from it.
            let page = desk::list(store.conn(), "[]", &filter)?;
            for d in page.tickets {
                let (mut t, assigned_to) = (d.ticket, d.assigned_to);
                t.token = t.id.token_tagged(tag);
                if *json {
                    let mut v = ticket_json(&t);
                    v["claimed_by"] = json!(t.claimed_by);
                    v["assigned_to"] = json!(assigned_to);
                    writeln!(out, "{v}")?;
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
            let mut ticket = tickets::get(store.conn(), TicketId(*id))?
                .with_context(|| format!("no ticket with id {id}"))?;
            ticket.token = ticket.id.token_tagged(tag);
            let thread = messages::for_ticket(store.conn(), ticket.id)?;
            let history = events::for_ticket(store.conn(), ticket.id)?;
            let replies = desk::replies(store.conn(), ticket.id)?;
            let links = helpgate::participant::link::links(store.conn(), ticket.id)?;
            // The operator's view: no queue is hidden.
            let assigned_to =
                desk::ticket(store.conn(), "[]", ticket.id)?.and_then(|d| d.assigned_to);
            if *json {
                let mut v = ticket_json(&ticket);
                v["subject"] = json!(ticket.subject);
                v["project"] = json!(ticket.project);
                v["claimed_by"] = json!(ticket.claimed_by);
                v["assigned_to"] = json!(assigned_to);
                v["thread"] = thread
                    .iter()
                    .map(|m| {
                        let mut d = detail_json(m);
                        d["ticket_token"] = json!(m.summary.ticket.map(|t| t.token_tagged(tag)));
                        d
                    })
                    .collect();
                v["events"] = serde_json::to_value(&history)?;
                v["replies"] = replies.iter().map(reply_json).collect();
                v["participant_id"] = json!(links.participant_id);
                v["task_ids"] = json!(links.task_ids);
                v["merged_into"] = json!(links.merged_into);
                v["linked"] = serde_json::to_value(&links.linked)?;
                writeln!(out, "{v}")?;
            } else {
                print_ticket(&mut out, &ticket, assigned_to.as_deref(), &thread, &history)?;
                print_replies(&mut out, &replies)?;
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
    v["date"] = json!(m.body.date.map(helpgate::store::ts));
    v["new_text"] = json!(m.body.new_text);
    v["quoted"] = json!(m.body.quoted);
    v["signature"] = json!(m.body.signature);
    v["forwarded"] = json!(m.body.forwarded);
    v["html_only"] = json!(m.body.html_only);
    v["attachments"] = json!(m.body.attachments);
    v
}

fn print_ticket(
    out: &mut impl Write,
    t: &tickets::Ticket,
    assigned_to: Option<&str>,
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
    if let Some(to) = assigned_to {
        writeln!(out, "assigned to {to}")?;
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
        if let Some(d) = m.body.date {
            writeln!(out, "Date: {}", helpgate::store::ts(d))?;
        }
        writeln!(out, "Decision: {} ({})", s.action, s.reason)?;
        if let Some(b) = &s.bounce {
            writeln!(
                out,
                "Bounce: {} could not be delivered to, status {}, ticket {}",
                b.address.as_deref().unwrap_or("(address not given)"),
                b.status.as_deref().unwrap_or("-"),
                b.ticket.map(TicketId::token).unwrap_or_else(|| "-".into())
            )?;
        }
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
        if let Some(f) = &m.body.forwarded {
            writeln!(out, "  [forwarded message: {} lines]", f.lines().count())?;
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

fn reply_text(r: &desk::SentReply) -> String {
    helpgate::parse::parse(&r.raw).body.full
}

fn reply_json(r: &desk::SentReply) -> serde_json::Value {
    json!({
        "outbox": r.id,
        "kind": r.kind,
        "template": r.template,
        "recipient": r.recipient,
        "state": r.state,
        "last_error": r.last_error,
        "queued_at": helpgate::store::ts(r.created_at),
        "sent_at": r.sent_at.map(helpgate::store::ts),
        "text": reply_text(r),
    })
}

/// Our replies: what we wrote and where its delivery stands.
fn print_replies(out: &mut impl Write, replies: &[desk::SentReply]) -> std::io::Result<()> {
    for r in replies {
        writeln!(out)?;
        writeln!(
            out,
            "--- our reply (outbox {}, {}{}) to {} queued {}: {}{}",
            r.id,
            r.kind,
            r.template
                .as_deref()
                .map(|t| format!(", template {t}"))
                .unwrap_or_default(),
            r.recipient,
            helpgate::store::ts(r.created_at),
            r.state,
            r.sent_at
                .map(|t| format!(" at {}", helpgate::store::ts(t)))
                .unwrap_or_default()
        )?;
        for line in reply_text(r).lines() {
            writeln!(out, "  {line}")?;
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
