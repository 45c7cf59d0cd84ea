//! Participant IDs on messages and tickets, and what links tickets: the
//! same participant ID. A ticket takes the first participant ID its mail
//! names; a specialist's `tickets link` overrides it.

use crate::participant::ids::FoundIds;
use crate::store::{events, parse_ts, ts, StoreError, StoreResult};
use crate::ticket::{MessageId, TicketId, TicketState};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Store what a message names.
pub fn record_message(conn: &Connection, message: MessageId, found: &FoundIds) -> StoreResult<()> {
    if found.is_empty() {
        return Ok(());
    }
    let tasks = (!found.tasks.is_empty())
        .then(|| serde_json::to_string(&found.tasks))
        .transpose()?;
    conn.prepare_cached("UPDATE messages SET participant_id = ?1, task_ids = ?2 WHERE id = ?3")?
        .execute(params![found.participant(), tasks, message.0])?;
    Ok(())
}

/// Give a ticket its participant ID unless it has one.
pub fn adopt(conn: &Connection, ticket: TicketId, participant_id: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE tickets SET participant_id = ?1 WHERE id = ?2 AND participant_id IS NULL",
    )?
    .execute(params![participant_id, ticket.0])?;
    Ok(())
}

/// A specialist links a ticket to a participant ID (upper case, as stored).
pub fn link(
    conn: &Connection,
    ticket: TicketId,
    participant_id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let id = participant_id.trim().to_uppercase();
    let n = conn.execute(
        "UPDATE tickets SET participant_id = ?1 WHERE id = ?2",
        params![id, ticket.0],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: "ticket",
            id: ticket.0,
        });
    }
    events::add(
        conn,
        ticket,
        now,
        actor,
        "link",
        &format!("linked to participant {id}"),
    )?;
    Ok(())
}

/// Another ticket of the same participant.
#[derive(Debug, Clone, Serialize)]
pub struct Linked {
    pub id: TicketId,
    pub token: String,
    pub state: String,
    pub topic: Option<String>,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub merged_into: Option<TicketId>,
}

/// What `tickets show` adds about who writes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Links {
    pub participant_id: Option<String>,
    /// Task/recording IDs named anywhere in the thread, first seen first.
    pub task_ids: Vec<String>,
    pub merged_into: Option<TicketId>,
    /// The participant's other tickets, oldest first.
    pub linked: Vec<Linked>,
}

pub fn links(conn: &Connection, ticket: TicketId) -> StoreResult<Links> {
    let Some((participant_id, merged_into)) = conn
        .query_row(
            "SELECT participant_id, merged_into FROM tickets WHERE id = ?1",
            [ticket.0],
            |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .optional()?
    else {
        return Ok(Links::default());
    };
    let mut task_ids: Vec<String> = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT task_ids FROM messages WHERE ticket_id = ?1 AND task_ids IS NOT NULL ORDER BY id",
    )?;
    for json in stmt.query_map([ticket.0], |r| r.get::<_, String>(0))? {
        for t in serde_json::from_str::<Vec<String>>(&json?)? {
            if !task_ids.contains(&t) {
                task_ids.push(t);
            }
        }
    }
    let linked = match &participant_id {
        None => Vec::new(),
        Some(p) => others(conn, p, ticket)?,
    };
    Ok(Links {
        participant_id,
        task_ids,
        merged_into: merged_into.map(TicketId),
        linked,
    })
}

fn others(conn: &Connection, participant_id: &str, except: TicketId) -> StoreResult<Vec<Linked>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, state, topic, subject, created_at, merged_into FROM tickets
         WHERE participant_id = ?1 AND id <> ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![participant_id, except.0], |r| {
        let id = TicketId(r.get(0)?);
        Ok(Linked {
            id,
            token: id.token(),
            state: r.get(1)?,
            topic: r.get(2)?,
            subject: r.get(3)?,
            created_at: parse_ts(&r.get::<_, String>(4)?).unwrap_or_default(),
            merged_into: r.get::<_, Option<i64>>(5)?.map(TicketId),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The `limit` oldest open or answered tickets of `participant_id` on
/// `topic` in `project`, not merged away, with their participant address.
pub fn concurrent(
    conn: &Connection,
    project: &str,
    participant_id: &str,
    topic: &str,
    limit: usize,
) -> StoreResult<Vec<(TicketId, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, participant FROM tickets
         WHERE participant_id = ?1 AND topic = ?2 AND project = ?3
           AND state IN ('open', 'answered') AND merged_into IS NULL ORDER BY id LIMIT ?4",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![participant_id, topic, project, limit], |r| {
        Ok((TicketId(r.get(0)?), r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Merge `from` into `into`: its messages and replies move, it is closed
/// and points to `into`; both tickets record it.
pub fn merge(
    conn: &Connection,
    from: TicketId,
    into: TicketId,
    actor: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for t in [from, into] {
        if !crate::store::tickets::exists(conn, t)? {
            return Err(StoreError::NotFound {
                what: "ticket",
                id: t.0,
            });
        }
    }
    conn.execute(
        "UPDATE messages SET ticket_id = ?1 WHERE ticket_id = ?2",
        params![into.0, from.0],
    )?;
    conn.execute(
        "UPDATE outbox SET ticket_id = ?1 WHERE ticket_id = ?2",
        params![into.0, from.0],
    )?;
    conn.execute(
        "UPDATE tickets SET merged_into = ?1, state = ?2, updated_at = ?3 WHERE id = ?4",
        params![into.0, TicketState::Closed.as_str(), ts(now), from.0],
    )?;
    conn.execute(
        "UPDATE tickets SET updated_at = ?1 WHERE id = ?2",
        params![ts(now), into.0],
    )?;
    events::add(
        conn,
        from,
        now,
        actor,
        "merge",
        &format!("merged into {}", into.token()),
    )?;
    events::add(
        conn,
        into,
        now,
        actor,
        "merge",
        &format!("{} merged in", from.token()),
    )?;
    Ok(())
}

/// The ticket's participant ID, if it has one.
pub fn participant_id(conn: &Connection, ticket: TicketId) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT participant_id FROM tickets WHERE id = ?1",
            [ticket.0],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}
