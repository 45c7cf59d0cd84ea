//! Outbox rows: every outgoing mail, written in the same transaction as the
//! decision that causes it, then delivered by [`crate::outbox`].
//!
//! States: `pending` (waiting for its next attempt) -> `sending` (marked
//! just before the SMTP transaction) -> `sent` (after the server's 250), or
//! `parked` (permanent failure or too old; its ticket goes to a human), and
//! `bounced` (sent, then a bounce came back).

use super::{events, parse_ts, ts, StoreResult};
use crate::ticket::{MessageId, TicketId, TicketState};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// An outgoing mail not yet stored.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub ticket: Option<TicketId>,
    pub cause: Option<MessageId>,
    /// Our Message-ID, without angle brackets.
    pub message_id: String,
    /// `auto` or `human`.
    pub kind: &'static str,
    pub template: Option<String>,
    /// Envelope sender (our support address; bounces come back to it).
    pub sender: String,
    pub recipient: String,
    /// The complete message, ready for the wire.
    pub raw: Vec<u8>,
    pub at: DateTime<Utc>,
}

pub fn insert(conn: &Connection, o: &NewOutgoing) -> StoreResult<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, cause_message, message_id, kind, template, recipient, raw,
         state, next_attempt_at, created_at, sender, queued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?9, ?8)",
    )?
    .execute(params![
        o.ticket.map(|t| t.0),
        o.cause.map(|m| m.0),
        o.message_id,
        o.kind,
        o.template,
        o.recipient,
        o.raw,
        ts(o.at),
        o.sender
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A stored outbox row (without its bytes unless asked).
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    pub id: i64,
    pub ticket: Option<TicketId>,
    pub message_id: String,
    pub kind: String,
    pub template: Option<String>,
    pub sender: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Start of the retry window (creation, or the last manual retry).
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

const COLS: &str = "id, ticket_id, message_id, kind, template, sender, recipient, state, attempts,
    next_attempt_at, last_error, created_at, COALESCE(queued_at, created_at), sent_at";

fn row(r: &Row<'_>, with_raw: bool) -> rusqlite::Result<Outgoing> {
    let t = |i: usize| -> rusqlite::Result<DateTime<Utc>> {
        let s: String = r.get(i)?;
        Ok(parse_ts(&s).unwrap_or_default())
    };
    let sent: Option<String> = r.get(13)?;
    Ok(Outgoing {
        id: r.get(0)?,
        ticket: r.get::<_, Option<i64>>(1)?.map(TicketId),
        message_id: r.get(2)?,
        kind: r.get(3)?,
        template: r.get(4)?,
        sender: r.get(5)?,
        recipient: r.get(6)?,
        state: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at: t(9)?,
        last_error: r.get(10)?,
        created_at: t(11)?,
        queued_at: t(12)?,
        sent_at: sent.as_deref().and_then(parse_ts),
        raw: if with_raw { r.get(14)? } else { Vec::new() },
    })
}

/// Link a reply to the message that caused it (written after the reply).
pub fn set_cause(conn: &Connection, id: i64, cause: MessageId) -> StoreResult<()> {
    conn.prepare_cached("UPDATE outbox SET cause_message = ?2 WHERE id = ?1")?
        .execute(params![id, cause.0])?;
    Ok(())
}

pub fn get(conn: &Connection, id: i64) -> StoreResult<Option<Outgoing>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLS}, raw FROM outbox WHERE id = ?1"))?
        .query_row([id], |r| row(r, true))
        .optional()?)
}

pub fn find_by_message_id(conn: &Connection, message_id: &str) -> StoreResult<Option<Outgoing>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLS} FROM outbox WHERE message_id = ?1"))?
        .query_row([message_id.trim_matches(['<', '>'])], |r| row(r, false))
        .optional()?)
}

/// Pending rows whose next attempt is due, oldest first, with their bytes.
pub fn due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Outgoing>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS}, raw FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![ts(now), limit as i64], |r| row(r, true))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next pending row is due, if any.
pub fn next_due(conn: &Connection) -> StoreResult<Option<DateTime<Utc>>> {
    let s: Option<String> = conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| r.get(0))?;
    Ok(s.as_deref().and_then(parse_ts))
}

pub fn list(conn: &Connection, state: Option<&str>) -> StoreResult<Vec<Outgoing>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![state], |r| row(r, false))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Rows per state, for `status`.
pub fn counts(conn: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Just before the SMTP transaction.
pub fn mark_sending(conn: &Connection, id: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

/// After the server's 250.
pub fn mark_sent(conn: &Connection, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
    )?
    .execute(params![id, ts(at)])?;
    Ok(())
}

/// A transient failure: try again at `next`.
pub fn reschedule(conn: &Connection, id: i64, next: DateTime<Utc>, error: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
    )?
    .execute(params![id, ts(next), error])?;
    Ok(())
}

/// Give up on a reply: the row is parked, the ticket shows why and goes to
/// a human.
pub fn park(conn: &Connection, id: i64, error: &str, at: DateTime<Utc>) -> StoreResult<()> {
    conn.prepare_cached("UPDATE outbox SET state = 'parked', last_error = ?2 WHERE id = ?1")?
        .execute(params![id, error])?;
    if let Some(ticket) = ticket_of(conn, id)? {
        events::add(
            conn,
            ticket,
            at,
            "helpgate",
            "reply_parked",
            &format!("reply not delivered: {error}"),
        )?;
        to_human(conn, ticket, at)?;
    }
    Ok(())
}

/// A bounce came back for a sent reply.
pub fn mark_bounced(conn: &Connection, id: i64, detail: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE outbox SET state = 'bounced', last_error = ?2 WHERE id = ?1")?
        .execute(params![id, detail])?;
    Ok(())
}

/// `outbox retry ID`: a parked (or bounced) row gets a fresh retry window.
pub fn retry(conn: &Connection, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, queued_at = ?2, attempts = 0
             WHERE id = ?1 AND state IN ('parked', 'bounced', 'pending')",
        )?
        .execute(params![id, ts(now)])?;
    Ok(n > 0)
}

/// At start-up: rows left `sending` by a crash go back to `pending`. Their
/// mail may have been accepted already (crash after the 250): it is sent
/// once more, never more than once per crash.
pub fn recover_sending(conn: &Connection) -> StoreResult<usize> {
    Ok(conn.execute(
        "UPDATE outbox SET state = 'pending' WHERE state = 'sending'",
        [],
    )?)
}

fn ticket_of(conn: &Connection, id: i64) -> StoreResult<Option<TicketId>> {
    let t: Option<Option<i64>> = conn
        .prepare_cached("SELECT ticket_id FROM outbox WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(t.flatten().map(TicketId))
}

/// A ticket whose reply failed needs a person: open, in `general` unless
/// it already has a queue.
pub fn to_human(conn: &Connection, ticket: TicketId, at: DateTime<Utc>) -> StoreResult<()> {
    // Only a change writes (see `tickets::set_state`): a new ticket whose
    // reply the open circuit breaker holds back is inserted like this.
    conn.prepare_cached(
        "UPDATE tickets SET state = ?2, queue = COALESCE(queue, ?4), updated_at = ?3
         WHERE id = ?1 AND (state IS NOT ?2 OR queue IS NULL OR updated_at IS NOT ?3)",
    )?
    .execute(params![
        ticket.0,
        TicketState::Open.as_str(),
        ts(at),
        HELD_BACK_QUEUE
    ])?;
    Ok(())
}

/// The queue of a ticket whose reply failed or was held back, when it has
/// none.
pub const HELD_BACK_QUEUE: &str = "general";
