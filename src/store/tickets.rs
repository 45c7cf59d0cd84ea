//! Ticket rows <-> [`Ticket`].

use super::{parse_ts, ts, StoreError, StoreResult};
use crate::ticket::{TicketId, TicketState};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// A ticket not yet stored.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub project: String,
    pub state: TicketState,
    pub queue: Option<String>,
    pub language: Option<String>,
    pub topic: Option<String>,
    pub participant: Option<String>,
    pub subject: String,
    pub at: DateTime<Utc>,
}

/// A stored ticket, with its message count.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub token: String,
    pub project: String,
    pub state: TicketState,
    pub queue: Option<String>,
    pub language: Option<String>,
    pub topic: Option<String>,
    pub participant: Option<String>,
    pub subject: String,
    pub claimed_by: Option<String>,
    pub messages: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a new message changes on its ticket.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    pub state: TicketState,
    pub queue: Option<String>,
    pub language: Option<String>,
    pub topic: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn insert(conn: &Connection, t: &NewTicket) -> StoreResult<TicketId> {
    conn.prepare_cached(
        "INSERT INTO tickets (project, state, queue, language, topic, participant, subject, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        t.project,
        t.state.as_str(),
        t.queue,
        t.language,
        t.topic,
        t.participant,
        t.subject,
        ts(t.at)
    ])?;
    let id = TicketId(conn.last_insert_rowid());
    // The desk's counters (migrations 13 and 14): a new ticket is unmerged
    // and unassigned. '' stands for "none", as in the recount.
    conn.prepare_cached(
        "INSERT INTO desk_counts VALUES (COALESCE(?1, ''), ?2, COALESCE(?3, ''), COALESCE(?4, ''), 1, 1)
         ON CONFLICT DO UPDATE SET n = n + 1",
    )?
    .execute(params![t.queue, t.state.as_str(), t.topic, t.language])?;
    Ok(id)
}

pub fn update(conn: &Connection, id: TicketId, u: &TicketUpdate) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE tickets SET state = ?2, queue = ?3, language = COALESCE(?4, language),
         topic = COALESCE(?5, topic), updated_at = ?6 WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        u.state.as_str(),
        u.queue,
        u.language,
        u.topic,
        ts(u.at)
    ])?;
    Ok(())
}

pub fn set_state(
    conn: &Connection,
    id: TicketId,
    state: TicketState,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    // Only a change writes: a new ticket answered automatically is inserted
    // answered, and an update of `tickets` runs the desk-count trigger,
    // with a statement journal copying every 16 KB page it touches.
    let n = conn
        .prepare_cached(
            "UPDATE tickets SET state = ?2, updated_at = ?3
             WHERE id = ?1 AND (state IS NOT ?2 OR updated_at IS NOT ?3)",
        )?
        .execute(params![id.0, state.as_str(), ts(at)])?;
    if n == 0 && !exists(conn, id)? {
        return Err(StoreError::NotFound {
            what: "ticket",
            id: id.0,
        });
    }
    Ok(())
}

/// The columns [`from_row`] reads, in order, as a literal the desk's
/// queries extend with `concat!`.
macro_rules! ticket_columns {
    () => {
        "t.id, t.project, t.state, t.queue, t.language, t.topic, t.participant,
    t.subject, t.claimed_by, t.created_at, t.updated_at,
    (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id)"
    };
}
pub(super) use ticket_columns;
const COLUMNS: &str = ticket_columns!();

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let id = TicketId(r.get(0)?);
    let state: String = r.get(2)?;
    let created: String = r.get(9)?;
    let updated: String = r.get(10)?;
    Ok(Ticket {
        id,
        token: id.token(),
        project: r.get(1)?,
        state: TicketState::parse(&state).unwrap_or(TicketState::Open),
        queue: r.get(3)?,
        language: r.get(4)?,
        topic: r.get(5)?,
        participant: r.get(6)?,
        subject: r.get(7)?,
        claimed_by: r.get(8)?,
        created_at: parse_ts(&created).unwrap_or_default(),
        updated_at: parse_ts(&updated).unwrap_or_default(),
        messages: r.get(11)?,
    })
}

pub fn get(conn: &Connection, id: TicketId) -> StoreResult<Option<Ticket>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tickets t WHERE t.id = ?1"))?
        .query_row([id.0], from_row)
        .optional()?)
}

pub fn exists(conn: &Connection, id: TicketId) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tickets WHERE id = ?1")?
        .query_row([id.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether `address` (case-insensitive) is the ticket's participant or sent
/// one of its messages.
pub fn has_sender(conn: &Connection, id: TicketId, address: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM tickets WHERE id = ?1 AND lower(participant) = lower(?2)
             UNION ALL
             SELECT 1 FROM messages WHERE ticket_id = ?1 AND lower(from_addr) = lower(?2)
             LIMIT 1",
        )?
        .query_row(params![id.0, address], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Tickets filtered by state and queue, oldest first.
pub fn list(
    conn: &Connection,
    state: Option<TicketState>,
    queue: Option<&str>,
) -> StoreResult<Vec<Ticket>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM tickets t WHERE (?1 IS NULL OR t.state = ?1) AND (?2 IS NULL OR t.queue = ?2) ORDER BY t.id"
    ))?;
    let rows = stmt.query_map(params![state.map(|s| s.as_str()), queue], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
