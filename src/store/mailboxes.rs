//! Per-mailbox intake state: the cursor (UIDVALIDITY + last committed UID)
//! and what `helpgate status` shows. The cursor is written inside the same
//! transaction as the messages it covers, so after any crash the store and
//! the cursor agree: a message is either stored and behind the cursor, or
//! neither (and fetched again).

use super::{parse_ts, ts, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Where intake stands in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// `None` before the first successful SELECT.
    pub uidvalidity: Option<u32>,
    /// Highest UID whose outcome is committed (0: none).
    pub last_uid: u32,
}

/// One row of `helpgate status`.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxStatus {
    pub mailbox: String,
    pub uidvalidity: Option<u32>,
    pub last_uid: u32,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Since when unprocessed mail has been waiting (None: caught up).
    pub pending_since: Option<DateTime<Utc>>,
}

pub fn cursor(conn: &Connection, mailbox: &str) -> StoreResult<Cursor> {
    Ok(conn
        .prepare_cached("SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1")?
        .query_row([mailbox], |r| {
            Ok(Cursor {
                uidvalidity: r.get::<_, Option<i64>>(0)?.map(|v| v as u32),
                last_uid: r.get::<_, i64>(1)? as u32,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Move the cursor; call inside the transaction that stores the messages.
pub fn set_cursor(conn: &Connection, mailbox: &str, cursor: Cursor) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES (?1, ?2, ?3)
         ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,
         last_uid = excluded.last_uid",
    )?
    .execute(params![
        mailbox,
        cursor.uidvalidity.map(i64::from),
        i64::from(cursor.last_uid)
    ])?;
    Ok(())
}

/// Highest UID acknowledged on the server (flagged, moved or deleted), or
/// that needs no acknowledgement. Between it and the cursor lie messages
/// committed whose acknowledgement was cut off (a dropped connection).
pub fn acked(conn: &Connection, mailbox: &str) -> StoreResult<u32> {
    Ok(conn
        .prepare_cached("SELECT acked_uid FROM mailbox_state WHERE mailbox = ?1")?
        .query_row([mailbox], |r| r.get::<_, i64>(0))
        .optional()?
        .map_or(0, |v| v as u32))
}

/// Record the acknowledgement point (the row exists: the cursor made it).
pub fn set_acked(conn: &Connection, mailbox: &str, uid: u32) -> StoreResult<()> {
    conn.prepare_cached("UPDATE mailbox_state SET acked_uid = ?2 WHERE mailbox = ?1")?
        .execute(params![mailbox, i64::from(uid)])?;
    Ok(())
}

/// A fetch round went through: clear the error; `pending` says whether
/// unprocessed mail is still waiting (keeps the oldest `pending_since`).
pub fn record_fetch(
    conn: &Connection,
    mailbox: &str,
    at: DateTime<Utc>,
    pending: bool,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO mailbox_state (mailbox, last_fetch_at, pending_since) VALUES (?1, ?2, CASE WHEN ?3 THEN ?2 END)
         ON CONFLICT(mailbox) DO UPDATE SET last_fetch_at = excluded.last_fetch_at,
         last_error = NULL, last_error_at = NULL,
         pending_since = CASE WHEN ?3 THEN coalesce(pending_since, excluded.last_fetch_at) END",
    )?
    .execute(params![mailbox, ts(at), pending])?;
    Ok(())
}

/// The mailbox failed (login, network, missing folder...): kept for status.
pub fn record_error(
    conn: &Connection,
    mailbox: &str,
    error: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO mailbox_state (mailbox, last_error, last_error_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(mailbox) DO UPDATE SET last_error = excluded.last_error,
         last_error_at = excluded.last_error_at",
    )?
    .execute(params![mailbox, error, ts(at)])?;
    Ok(())
}

/// Every mailbox the store knows, by name.
pub fn list(conn: &Connection) -> StoreResult<Vec<MailboxStatus>> {
    let mut stmt = conn.prepare(
        "SELECT mailbox, uidvalidity, last_uid, last_fetch_at, last_error, last_error_at,
         pending_since FROM mailbox_state ORDER BY mailbox",
    )?;
    let time = |s: Option<String>| s.as_deref().and_then(parse_ts);
    let rows = stmt.query_map([], |r| {
        Ok(MailboxStatus {
            mailbox: r.get(0)?,
            uidvalidity: r.get::<_, Option<i64>>(1)?.map(|v| v as u32),
            last_uid: r.get::<_, i64>(2)? as u32,
            last_fetch_at: time(r.get(3)?),
            last_error: r.get(4)?,
            last_error_at: time(r.get(5)?),
            pending_since: time(r.get(6)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Outbox rows still to send, and quarantined messages not yet replayed:
/// the two other numbers `helpgate status` shows.
pub fn counts(conn: &Connection) -> StoreResult<(i64, i64)> {
    let outbox = conn.query_row(
        "SELECT count(*) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?;
    let quarantine = conn.query_row(
        "SELECT count(*) FROM quarantine WHERE replayed_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok((outbox, quarantine))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn cursor_round_trips_and_status_keeps_errors_until_a_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        assert_eq!(cursor(store.conn(), "m").unwrap(), Cursor::default());
        let c = Cursor {
            uidvalidity: Some(7),
            last_uid: 42,
        };
        store.transaction(|tx| set_cursor(tx, "m", c)).unwrap();
        assert_eq!(cursor(store.conn(), "m").unwrap(), c);
        let t0 = parse_ts("2026-11-25T10:00:00Z").unwrap();
        let t1 = parse_ts("2026-11-25T10:01:00Z").unwrap();
        store
            .transaction(|tx| record_error(tx, "m", "login refused", t0))
            .unwrap();
        let s = &list(store.conn()).unwrap()[0];
        assert_eq!(s.last_error.as_deref(), Some("login refused"));
        assert_eq!(s.last_uid, 42);
        store
            .transaction(|tx| record_fetch(tx, "m", t0, true))
            .unwrap();
        store
            .transaction(|tx| record_fetch(tx, "m", t1, true))
            .unwrap();
        let s = &list(store.conn()).unwrap()[0];
        assert_eq!(s.last_error, None);
        assert_eq!(s.pending_since, Some(t0), "oldest pending time is kept");
        store
            .transaction(|tx| record_fetch(tx, "m", t1, false))
            .unwrap();
        assert_eq!(list(store.conn()).unwrap()[0].pending_since, None);
    }
}
