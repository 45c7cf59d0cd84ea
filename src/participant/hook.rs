//! The pipeline's one call per message for issue 13, in two halves around
//! the ticket row: [`before_ticket`] finds the IDs and asks the tracker,
//! which may turn a rejection dispute into an answer (or explain why a
//! person must look); [`after_message`] stores the IDs, attaches the
//! tracker rows to the ticket, and merges or suggests merging concurrent
//! tickets of the same participant.

use crate::decide::{Action, Decision};
use crate::guard::Verdict;
use crate::parse::ParsedEmail;
use crate::participant::ids::{FoundIds, MergePolicy};
use crate::participant::link;
use crate::reply::templates::Templates;
use crate::rules::RuleSet;
use crate::store::{events, StoreResult};
use crate::ticket::{MessageId, TicketId, TicketState};
use crate::tracker::dispute::{self, Asked, Facts, Finding};
use crate::tracker::{Registry, Row};
use chrono::{DateTime, Utc};
use rusqlite::Connection;

/// The topic whose disputes the tracker may answer.
pub const REJECTION_TOPIC: &str = "rejection_dispute";
/// The topic whose questions upload counts answer.
pub const UPLOAD_TOPIC: &str = "upload_confirmation";
/// Template names (templates/<lang>/<name>.txt).
pub const REJECTION_TEMPLATE: &str = "rejection_answer";
pub const UPLOAD_TEMPLATE: &str = "upload_status";

/// What [`before_ticket`] found, for [`after_message`] and the reply.
#[derive(Debug, Default)]
pub struct Found {
    pub ids: FoundIds,
    /// What the reply lists and counts.
    pub facts: Option<Facts>,
    /// Why a person looks, with the rows to show them.
    pub for_person: Option<(String, Vec<Row>)>,
    /// The rows an automatic answer was built from.
    pub answered_from: Vec<Row>,
}

/// Everything [`before_ticket`] reads.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub rules: &'a RuleSet,
    pub templates: &'a Templates,
    pub trackers: &'a Registry,
    pub project: &'a str,
    pub email: &'a ParsedEmail,
    pub verdict: &'a Verdict,
    pub topic: Option<&'a str>,
    pub language: Option<&'a str>,
    pub follow_up: bool,
    /// The participant's address (Reply-To of a person, else From).
    pub sender: Option<&'a str>,
}

/// IDs, and the tracker's word on a rejection dispute or upload question;
/// may change `decision` (never for machine mail, sensitive topics or
/// follow-ups, which keep their person).
pub fn before_ticket(c: &Context<'_>, decision: &mut Decision) -> Found {
    let mut found = Found::default();
    let Some(project) = c.rules.project(c.project) else {
        return found;
    };
    if c.verdict.is_machine() {
        return found;
    }
    let names = c.email.attachments.iter().filter_map(|a| a.name.as_deref());
    found.ids = project.ids.extract(
        [c.email.subject.as_str(), c.email.body.new_text.as_str()]
            .into_iter()
            .chain(names),
    );
    let Some(topic) = c.topic else { return found };
    let answerable = matches!(
        (topic, decision.action),
        (REJECTION_TOPIC, Action::Human) | (UPLOAD_TOPIC, Action::AutoReply)
    );
    if !answerable || c.rules.is_sensitive_topic(c.project, topic) {
        return found;
    }
    let Some(tracker) = c.trackers.get(project) else {
        return found;
    };
    let asked = Asked {
        participants: &found.ids.participants,
        tasks: &found.ids.tasks,
        sender: c.sender,
    };
    if topic == UPLOAD_TOPIC {
        if let Some(facts) = dispute::uploads(&tracker, &asked) {
            if c.templates
                .resolve(UPLOAD_TEMPLATE, c.language, project)
                .is_some()
            {
                decision.template = Some(UPLOAD_TEMPLATE.to_string());
                decision.reason = format!(
                    "{}; upload counts from the tracker ({} received, {} pending)",
                    decision.reason, facts.received, facts.pending
                );
                found.facts = Some(facts);
            }
        }
        return found;
    }
    let known = |code: &str| {
        c.templates
            .reason_text(REJECTION_TEMPLATE, c.language, project, code)
            .is_some()
    };
    match dispute::rejection(&tracker, &asked, &known) {
        Finding::Answer(facts) if !c.follow_up => {
            let n = facts.recordings.len();
            found.answered_from = facts
                .recordings
                .iter()
                .flat_map(|r| tracker.task(&r.id).cloned().collect::<Vec<_>>())
                .filter(|r| Some(&*r.participant) == found.ids.participant())
                .collect();
            *decision = Decision {
                action: Action::AutoReply,
                queue: decision.queue.take(),
                template: Some(REJECTION_TEMPLATE.to_string()),
                reason: format!(
                    "rejection dispute: {n} recording(s) found rejected in the tracker with known reasons"
                ),
            };
            found.facts = Some(facts);
        }
        Finding::Answer(facts) => {
            found.for_person = Some((
                "follow-up: the tracker would explain it, a person answers".into(),
                facts
                    .recordings
                    .iter()
                    .flat_map(|r| tracker.task(&r.id).cloned().collect::<Vec<_>>())
                    .collect(),
            ));
        }
        Finding::Person { why, rows } => {
            decision.reason = format!("{}; {why}", decision.reason);
            found.for_person = Some((why, rows));
        }
    }
    found
}

/// Where the pipeline stored the message.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub ticket: Option<TicketId>,
    pub message: MessageId,
    /// The message started its ticket.
    pub new_ticket: bool,
    /// The decision hands the ticket to a person.
    pub needs_human: bool,
}

/// After the message row exists: store IDs, attach tracker rows, merge.
pub fn after_message(
    conn: &Connection,
    rules: &RuleSet,
    found: &Found,
    stored: Stored,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Stored {
        ticket,
        message,
        new_ticket,
        needs_human,
    } = stored;
    link::record_message(conn, message, &found.ids)?;
    let Some(ticket) = ticket else { return Ok(()) };
    let rows = |why: &str, rows: &[Row]| {
        let mut s = why.to_string();
        for r in rows {
            s.push('\n');
            s.push_str(&r.describe());
        }
        s
    };
    if let Some((why, r)) = &found.for_person {
        events::add(conn, ticket, now, "helpgate", "tracker", &rows(why, r))?;
    }
    if !found.answered_from.is_empty() {
        events::add(
            conn,
            ticket,
            now,
            "helpgate",
            "tracker",
            &rows("answered from the tracker", &found.answered_from),
        )?;
    }
    let Some(pid) = found.ids.participant() else {
        return Ok(());
    };
    link::adopt(conn, ticket, pid)?;
    if !new_ticket {
        return Ok(());
    }
    merge_concurrent(conn, rules, ticket, pid, needs_human, now)
}

/// Tickets a merge suggestion names at most (the oldest).
const MAX_LISTED: usize = 10;

/// A new ticket of a participant who already has one open on its topic.
fn merge_concurrent(
    conn: &Connection,
    rules: &RuleSet,
    ticket: TicketId,
    pid: &str,
    needs_human: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(t) = crate::store::tickets::get(conn, ticket)? else {
        return Ok(());
    };
    let (Some(topic), Some(project)) = (t.topic.as_deref(), rules.project(&t.project)) else {
        return Ok(());
    };
    // A stranger may name one ID in any number of mails: each suggestion
    // lists a few tickets, not all of them (the list grew with every mail,
    // and the events with the square of their number).
    let mut others: Vec<_> = link::concurrent(conn, &t.project, pid, topic, MAX_LISTED + 2)?
        .into_iter()
        .filter(|(id, _)| *id != ticket)
        .collect();
    let more = others.len() > MAX_LISTED;
    others.truncate(MAX_LISTED);
    let Some((older, older_addr)) = others.first() else {
        return Ok(());
    };
    let same_sender = match (&t.participant, older_addr) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    // An automatic answer already went out under this ticket's token:
    // merging it away would leave the participant a token that points
    // to a closed ticket.
    match project.ids.merge {
        MergePolicy::Auto if same_sender && needs_human => {
            link::merge(conn, ticket, *older, "helpgate", now)?;
            crate::store::tickets::set_state(conn, *older, TicketState::Open, now)
        }
        MergePolicy::Off => Ok(()),
        _ => {
            let mut list: Vec<String> = others.iter().map(|(id, _)| id.token()).collect();
            if more {
                list.push("and more".into());
            }
            events::add(
                conn,
                ticket,
                now,
                "helpgate",
                "merge_suggested",
                &format!(
                    "participant {pid} has open ticket(s) on {topic}: {} (tickets merge {} INTO)",
                    list.join(", "),
                    ticket.0
                ),
            )?;
            Ok(())
        }
    }
}
