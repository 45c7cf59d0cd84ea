//! State behind the rate limits and the circuit breaker: which automatic
//! replies went out when, recent content fingerprints, and the breaker row.
//! Kept in SQLite so that limits hold across restarts and processes.

use super::{parse_ts, ts, StoreResult};
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// The key a recipient's allowance is counted under: lower case, without a
/// `+tag` (`victim+a@` and `victim+b@` reach one mailbox and share one
/// allowance).
pub fn recipient_key(address: &str) -> String {
    let a = address.trim().to_lowercase();
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => a,
    }
}

/// Record one automatic reply (queued).
pub fn record_auto_reply(
    conn: &Connection,
    at: DateTime<Utc>,
    recipient: &str,
    ticket: Option<TicketId>,
) -> StoreResult<()> {
    let recipient = recipient_key(recipient);
    let domain = recipient
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_string();
    conn.prepare_cached(
        "INSERT INTO auto_replies (at, recipient, domain, ticket_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![ts(at), recipient, domain, ticket.map(|t| t.0)])?;
    Ok(())
}

/// Automatic replies since `since`: to this recipient, this domain, this
/// ticket, and in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub recipient: u32,
    pub domain: u32,
    pub ticket: u32,
}

pub fn count_recipient(
    conn: &Connection,
    recipient: &str,
    since: DateTime<Utc>,
) -> StoreResult<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM auto_replies WHERE recipient = ?1 AND at > ?2")?
        .query_row(params![recipient_key(recipient), ts(since)], |r| r.get(0))?)
}

pub fn count_domain(conn: &Connection, domain: &str, since: DateTime<Utc>) -> StoreResult<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM auto_replies WHERE domain = ?1 AND at > ?2")?
        .query_row(params![domain.to_lowercase(), ts(since)], |r| r.get(0))?)
}

pub fn count_ticket(conn: &Connection, ticket: TicketId, since: DateTime<Utc>) -> StoreResult<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM auto_replies WHERE ticket_id = ?1 AND at > ?2")?
        .query_row(params![ticket.0, ts(since)], |r| r.get(0))?)
}

pub fn count_all(conn: &Connection, since: DateTime<Utc>) -> StoreResult<u32> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM auto_replies WHERE at > ?1")?
        .query_row(params![ts(since)], |r| r.get(0))?)
}

/// Record a content fingerprint and return how many times it was seen
/// since `since`, this one included. Old fingerprints are pruned.
pub fn see_content(
    conn: &Connection,
    key: &str,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> StoreResult<u32> {
    conn.prepare_cached("DELETE FROM content_bursts WHERE at <= ?1")?
        .execute(params![ts(since)])?;
    conn.prepare_cached("INSERT INTO content_bursts (key, at) VALUES (?1, ?2)")?
        .execute(params![key, ts(at)])?;
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM content_bursts WHERE key = ?1 AND at > ?2")?
        .query_row(params![key, ts(since)], |r| r.get(0))?)
}

/// The circuit breaker when it is (or was last) tripped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Breaker {
    pub tripped_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
}

impl Breaker {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }
}

pub fn breaker(conn: &Connection) -> StoreResult<Option<Breaker>> {
    Ok(conn
        .prepare_cached("SELECT tripped_at, until, reason FROM breaker WHERE id = 1")?
        .query_row([], |r| {
            let a: String = r.get(0)?;
            let u: String = r.get(1)?;
            Ok(Breaker {
                tripped_at: parse_ts(&a).unwrap_or_default(),
                until: parse_ts(&u).unwrap_or_default(),
                reason: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn trip_breaker(conn: &Connection, b: &Breaker) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO breaker (id, tripped_at, until, reason) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET tripped_at = ?1, until = ?2, reason = ?3",
    )?
    .execute(params![ts(b.tripped_at), ts(b.until), b.reason])?;
    Ok(())
}

/// `helpgate breaker reset`: true when it was open.
pub fn reset_breaker(conn: &Connection, now: DateTime<Utc>) -> StoreResult<bool> {
    let open = breaker(conn)?.is_some_and(|b| b.is_open(now));
    conn.execute("DELETE FROM breaker", [])?;
    // Forget the burst that tripped it, or it would trip again at once.
    conn.execute(
        "DELETE FROM auto_replies WHERE at > ?1",
        params![ts(now - chrono::Duration::minutes(1))],
    )?;
    Ok(open)
}
