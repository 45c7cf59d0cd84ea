//! Outbox rows: every outgoing mail, written in the same transaction as the
//! decision that causes it, then delivered by [`crate::outbox`].

use super::{ts, StoreResult};
use crate::ticket::{MessageId, TicketId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

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
    pub recipient: String,
    /// The complete message, ready for the wire.
    pub raw: Vec<u8>,
    pub at: DateTime<Utc>,
}

pub fn insert(conn: &Connection, o: &NewOutgoing) -> StoreResult<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, cause_message, message_id, kind, template, recipient, raw,
         state, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
    )?
    .execute(params![
        o.ticket.map(|t| t.0),
        o.cause.map(|m| m.0),
        o.message_id,
        o.kind,
        o.template,
        o.recipient,
        o.raw,
        ts(o.at)
    ])?;
    Ok(conn.last_insert_rowid())
}
