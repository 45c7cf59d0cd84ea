//! Specialists' corrections, kept as labelled cases: which message was
//! judged wrong, what it was (topic, language, action) and what it should
//! have been, who said so and when. `rules test --corrections` replays them
//! against a candidate rule set; `corrections export` writes them as a
//! labelled set.
//!
//! [`reclassify`] is the one way to correct a ticket, for the CLI and the
//! web console alike: the ticket update, its history event and the labelled
//! case are written together, in the caller's transaction.

use super::{events, parse_ts, ts, StoreError, StoreResult};
use crate::ticket::{MessageId, TicketId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// A specialist's correction of a ticket, not yet stored. `None` leaves a
/// field as it is.
#[derive(Debug, Clone)]
pub struct Reclassification<'a> {
    pub ticket: TicketId,
    pub topic: Option<&'a str>,
    pub language: Option<&'a str>,
    /// The action the message should have had (`auto_reply`, `human`,
    /// `escalate`, `ignore`), when the specialist says so.
    pub action: Option<&'a str>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// One stored correction. `new_*` is the label after the correction
/// (unchanged fields keep their old value), except `new_action`, which is
/// only set when the specialist gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    pub id: i64,
    pub message: MessageId,
    pub ticket: TicketId,
    pub old_topic: Option<String>,
    pub new_topic: Option<String>,
    pub old_language: Option<String>,
    pub new_language: Option<String>,
    pub old_action: Option<String>,
    pub new_action: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl Correction {
    /// "topic payment -> privacy, language pt -> pt": the ticket event's text.
    pub fn detail(&self) -> String {
        let d = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        let mut s = format!(
            "topic {} -> {}, language {} -> {}",
            d(&self.old_topic),
            d(&self.new_topic),
            d(&self.old_language),
            d(&self.new_language)
        );
        if self.new_action.is_some() {
            s.push_str(&format!(
                ", action {} -> {}",
                d(&self.old_action),
                d(&self.new_action)
            ));
        }
        s
    }
}

/// Correct a ticket: set its topic and language, add a `reclassify` event,
/// and keep the corrected message as a labelled case. Run it inside one
/// transaction (`Store::transaction`) so the three stay together.
pub fn reclassify(conn: &Connection, r: &Reclassification<'_>) -> StoreResult<Correction> {
    let not_found = || StoreError::NotFound {
        what: "ticket",
        id: r.ticket.0,
    };
    let (old_topic, old_language): (Option<String>, Option<String>) = conn
        .prepare_cached("SELECT topic, language FROM tickets WHERE id = ?1")?
        .query_row([r.ticket.0], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .ok_or_else(not_found)?;
    let (message, old_action) =
        deciding_message(conn, r.ticket, old_topic.as_deref())?.ok_or(StoreError::NotFound {
            what: "message of ticket",
            id: r.ticket.0,
        })?;
    let new_topic = r.topic.map(str::to_string).or_else(|| old_topic.clone());
    let new_language = r
        .language
        .map(str::to_string)
        .or_else(|| old_language.clone());
    conn.prepare_cached(
        "UPDATE tickets SET topic = ?2, language = ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![r.ticket.0, new_topic, new_language, ts(r.at)])?;
    conn.prepare_cached(
        "INSERT INTO corrections (message_id, ticket_id, old_topic, new_topic, old_language,
         new_language, old_action, new_action, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        message.0,
        r.ticket.0,
        old_topic,
        new_topic,
        old_language,
        new_language,
        old_action,
        r.action,
        r.actor,
        ts(r.at)
    ])?;
    let c = Correction {
        id: conn.last_insert_rowid(),
        message,
        ticket: r.ticket,
        old_topic,
        new_topic,
        old_language,
        new_language,
        old_action,
        new_action: r.action.map(str::to_string),
        actor: r.actor.to_string(),
        at: r.at,
    };
    events::add(conn, r.ticket, r.at, r.actor, "reclassify", &c.detail())?;
    Ok(c)
}

/// The message whose classification the ticket carries: the latest
/// participant message (not machine mail) with the ticket's topic, else
/// the first participant message, else the first message.
fn deciding_message(
    conn: &Connection,
    ticket: TicketId,
    topic: Option<&str>,
) -> StoreResult<Option<(MessageId, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, action FROM messages WHERE ticket_id = ?1
             ORDER BY (action != 'ignore') DESC, (topic IS ?2 AND action != 'ignore') DESC,
                      CASE WHEN topic IS ?2 AND action != 'ignore' THEN -id ELSE id END
             LIMIT 1",
        )?
        .query_row(params![ticket.0, topic], |r| {
            Ok((MessageId(r.get(0)?), r.get(1)?))
        })
        .optional()?)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Correction> {
    let at: String = r.get(10)?;
    Ok(Correction {
        id: r.get(0)?,
        message: MessageId(r.get(1)?),
        ticket: TicketId(r.get(2)?),
        old_topic: r.get(3)?,
        new_topic: r.get(4)?,
        old_language: r.get(5)?,
        new_language: r.get(6)?,
        old_action: r.get(7)?,
        new_action: r.get(8)?,
        actor: r.get(9)?,
        at: parse_ts(&at).unwrap_or_default(),
    })
}

/// Every correction, oldest first.
pub fn list(conn: &Connection) -> StoreResult<Vec<Correction>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message_id, ticket_id, old_topic, new_topic, old_language, new_language,
         old_action, new_action, actor, at FROM corrections ORDER BY id",
    )?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The latest correction of each message, oldest message first: what a
/// message's label is now, when a specialist corrected it more than once.
pub fn latest_per_message(conn: &Connection) -> StoreResult<Vec<Correction>> {
    let mut latest: Vec<Correction> = Vec::new();
    for c in list(conn)? {
        match latest.iter_mut().find(|l| l.message == c.message) {
            Some(l) => *l = c,
            None => latest.push(c),
        }
    }
    latest.sort_by_key(|c| c.message.0);
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store_with_ticket() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let c = store.conn();
        c.execute_batch(
            "INSERT INTO tickets (id, project, state, queue, language, topic, participant, subject, created_at, updated_at)
             VALUES (1, 'p', 'open', 'general', 'pt', 'payment', 'a@b.c', 's', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');",
        )
        .unwrap();
        for (id, topic, action) in [
            (1, "payment", "auto_reply"),
            (2, "autoreply", "ignore"),
            (3, "other", "human"),
        ] {
            c.execute(
                "INSERT INTO messages (id, message_id, content_hash, ticket_id, source, received_at, subject, topic, action, reason, notes, parsed, size, raw)
                 VALUES (?1, ?2, 'h', 1, 'test', '2026-01-01T00:00:00.000Z', 's', ?3, ?4, 'r', '[]', '{}', 1, x'41')",
                params![id, format!("m{id}@x"), topic, action],
            )
            .unwrap();
        }
        (dir, store)
    }

    #[test]
    fn reclassify_updates_the_ticket_and_keeps_the_labelled_case() {
        let (_dir, mut store) = store_with_ticket();
        let at = parse_ts("2026-02-03T04:05:06Z").unwrap();
        let c = store
            .transaction(|tx| {
                reclassify(
                    tx,
                    &Reclassification {
                        ticket: TicketId(1),
                        topic: Some("privacy"),
                        language: None,
                        action: Some("escalate"),
                        actor: "ana",
                        at,
                    },
                )
            })
            .unwrap();
        // The message that gave the ticket its topic, not the auto-reply.
        assert_eq!(c.message, MessageId(1));
        assert_eq!(c.old_action.as_deref(), Some("auto_reply"));
        assert_eq!(
            c.detail(),
            "topic payment -> privacy, language pt -> pt, action auto_reply -> escalate"
        );
        let t = crate::store::tickets::get(store.conn(), TicketId(1))
            .unwrap()
            .unwrap();
        assert_eq!(t.topic.as_deref(), Some("privacy"));
        assert_eq!(list(store.conn()).unwrap(), vec![c.clone()]);
        let ev = events::for_ticket(store.conn(), TicketId(1)).unwrap();
        assert_eq!(ev.last().unwrap().detail, c.detail());
        // A second correction of the same message replaces it as its label.
        store
            .transaction(|tx| {
                reclassify(
                    tx,
                    &Reclassification {
                        ticket: TicketId(1),
                        topic: Some("appeal"),
                        language: Some("es"),
                        action: None,
                        actor: "bo",
                        at,
                    },
                )
            })
            .unwrap();
        let latest = latest_per_message(store.conn()).unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].new_topic.as_deref(), Some("appeal"));
        assert_eq!(latest[0].old_topic.as_deref(), Some("privacy"));
    }

    #[test]
    fn unknown_ticket_is_an_error_and_writes_nothing() {
        let (_dir, mut store) = store_with_ticket();
        let r = store.transaction(|tx| {
            reclassify(
                tx,
                &Reclassification {
                    ticket: TicketId(9),
                    topic: Some("x"),
                    language: None,
                    action: None,
                    actor: "ana",
                    at: parse_ts("2026-02-03T04:05:06Z").unwrap(),
                },
            )
        });
        assert!(matches!(r, Err(StoreError::NotFound { id: 9, .. })));
        assert!(list(store.conn()).unwrap().is_empty());
    }
}
