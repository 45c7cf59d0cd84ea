//! A queue's team can hear of each new ticket routed to it (`[notices]`,
//! optional per queue): one outbox row per configured address, written in
//! the transaction that stores the ticket, so a notice exists exactly when
//! the ticket does.
//!
//! The notice says which ticket, queue, topic and language, and links to
//! the console. It never carries what the participant wrote, their
//! subject or their address: a notice travels through ordinary mail to a
//! team list, and the ticket may be an appeal, a privacy or abuse case.

use crate::notify::{self, Notice, NotifyError};
use crate::store::StoreResult;
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;

/// `[notices]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueNotices {
    pub from: String,
    /// The console's address as its users reach it (`https://desk.example.org`).
    pub console_url: Option<String>,
    /// Queue -> addresses told of each new ticket there.
    pub queues: BTreeMap<String, Vec<String>>,
}

/// The outbox kind of a notice (`outbox list` shows it).
pub const KIND: &str = "queue_notice";

/// Queue the notices for ticket `id` when it is new, waits for a person
/// (open) and its queue has addresses. Returns the outbox rows written.
/// A notice that cannot be built is logged and skipped: the participant's
/// mail must land whatever happens to the notice.
pub fn on_new_ticket(
    conn: &Connection,
    n: &QueueNotices,
    site_tag: Option<&str>,
    id: TicketId,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    if n.queues.is_empty() {
        return Ok(0);
    }
    type Row = (Option<String>, String, Option<String>, Option<String>);
    let row: Option<Row> = conn
        .prepare_cached("SELECT queue, state, topic, language FROM tickets WHERE id = ?1")?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((Some(queue), state, topic, language)) = row else {
        return Ok(0);
    };
    let Some(to) = n.queues.get(&queue).filter(|_| state == "open") else {
        return Ok(0);
    };
    let token = id.token_tagged(site_tag);
    let topic = topic.as_deref().unwrap_or("-");
    let language = language.as_deref().unwrap_or("-");
    let link = match &n.console_url {
        Some(base) => format!("{}/tickets/{}", base.trim_end_matches('/'), id.0),
        None => format!("helpgate tickets show {}", id.0),
    };
    let subject = format!("New ticket {token} in queue {queue}: {topic} ({language})");
    let text = format!(
        "A new ticket waits in the queue {queue}.\n\n\
         Ticket:   {token}\nQueue:    {queue}\nTopic:    {topic}\nLanguage: {language}\n\n\
         Open it: {link}\n\n\
         The participant's message is in the console only; this notice never carries it.\n"
    );
    let notice = Notice {
        from: &n.from,
        to,
        subject: &subject,
        text: &text,
        html: None,
        kind: KIND,
        at: now,
    };
    match notify::queue(conn, &notice) {
        Ok(ids) => Ok(ids.len()),
        Err(NotifyError::Store(e)) => Err(e),
        Err(e) => {
            tracing::warn!(ticket = id.0, queue = %queue, error = %crate::pipeline::error_chain(&e), "queue notice not queued");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tickets::{insert, NewTicket};
    use crate::store::Store;
    use crate::ticket::TicketState;

    #[test]
    fn only_open_tickets_of_a_noticed_queue_and_never_the_participants_words() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let at = crate::store::parse_ts("2026-11-23T09:00:00Z").unwrap();
        let n = QueueNotices {
            from: "helpgate@desk.example".into(),
            console_url: Some("https://desk.example/".into()),
            queues: BTreeMap::from([(
                "sensitive".into(),
                vec!["privacy-team@desk.example".into()],
            )]),
        };
        let new = |s: &mut Store, queue: &str, state: TicketState| {
            s.transaction(|tx| {
                insert(
                    tx,
                    &NewTicket {
                        project: "default".into(),
                        state,
                        queue: Some(queue.into()),
                        language: Some("de".into()),
                        topic: Some("privacy".into()),
                        participant: Some("noor@example.org".into()),
                        subject: "Delete my data, I am Noor".into(),
                        at,
                    },
                )
            })
            .unwrap()
        };
        let a = new(&mut s, "sensitive", TicketState::Open);
        let b = new(&mut s, "general", TicketState::Open);
        let c = new(&mut s, "sensitive", TicketState::Answered);
        let count = |s: &mut Store, id| {
            s.transaction(|tx| on_new_ticket(tx, &n, None, id, at))
                .unwrap()
        };
        assert_eq!(count(&mut s, a), 1);
        assert_eq!(count(&mut s, b), 0);
        assert_eq!(count(&mut s, c), 0);
        let (n, to, raw): (i64, String, Vec<u8>) = s
            .conn()
            .query_row(
                "SELECT COUNT(*), MAX(recipient), MAX(raw) FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(to, "privacy-team@desk.example");
        let raw = String::from_utf8_lossy(&raw).to_string();
        for fact in [
            "[#1]",
            "sensitive",
            "privacy",
            "(de)",
            "https://desk.example/tickets/1",
        ] {
            assert!(raw.contains(fact), "{fact}: {raw}");
        }
        for secret in ["noor@example.org", "Noor", "Delete my data"] {
            assert!(!raw.contains(secret), "{secret}: {raw}");
        }
    }
}
