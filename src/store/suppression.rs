//! Addresses that hard-bounced our replies: no automatic reply goes to them
//! until the entry expires (default 60 days).

use super::{parse_ts, ts, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suppressed {
    pub address: String,
    pub reason: String,
    pub until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Add or extend an entry.
pub fn add(
    conn: &Connection,
    address: &str,
    reason: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO suppression (address, reason, until, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(address) DO UPDATE SET reason = ?2, until = ?3",
    )?
    .execute(params![address.to_lowercase(), reason, ts(until), ts(at)])?;
    Ok(())
}

/// The live entry for an address, if any.
pub fn get(
    conn: &Connection,
    address: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Suppressed>> {
    Ok(conn
        .prepare_cached(
            "SELECT address, reason, until, created_at FROM suppression WHERE address = ?1 AND until > ?2",
        )?
        .query_row(params![address.to_lowercase(), ts(now)], |r| {
            let u: String = r.get(2)?;
            let c: String = r.get(3)?;
            Ok(Suppressed {
                address: r.get(0)?,
                reason: r.get(1)?,
                until: parse_ts(&u).unwrap_or_default(),
                created_at: parse_ts(&c).unwrap_or_default(),
            })
        })
        .optional()?)
}
