//! The ticket's history besides messages: notes, claims, corrections,
//! bounces of our replies.

use super::{parse_ts, ts, StoreResult};
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

pub fn add(
    conn: &Connection,
    ticket: TicketId,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    detail: &str,
) -> StoreResult<i64> {
    conn.prepare_cached("INSERT INTO ticket_events (ticket_id, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![ticket.0, ts(at), actor, kind, detail])?;
    Ok(conn.last_insert_rowid())
}

pub fn for_ticket(conn: &Connection, ticket: TicketId) -> StoreResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, kind, detail FROM ticket_events WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([ticket.0], |r| {
        let at: String = r.get(1)?;
        Ok(Event {
            id: r.get(0)?,
            at: parse_ts(&at).unwrap_or_default(),
            actor: r.get(2)?,
            kind: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
