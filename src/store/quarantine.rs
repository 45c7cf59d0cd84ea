//! Quarantined mail: raw bytes that could not be stored as a message, with
//! the reason. Nothing is ever deleted here; `replay` marks a row once the
//! pipeline has accepted it.

use super::{parse_ts, ts, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Quarantined {
    pub id: i64,
    pub source: String,
    pub reason: String,
    pub size: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub replayed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, source, reason, length(raw), created_at, replayed_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Quarantined> {
    let created: String = r.get(4)?;
    let replayed: Option<String> = r.get(5)?;
    Ok(Quarantined {
        id: r.get(0)?,
        source: r.get(1)?,
        reason: r.get(2)?,
        size: r.get(3)?,
        created_at: parse_ts(&created),
        replayed_at: replayed.as_deref().and_then(parse_ts),
    })
}

/// Every quarantined message, oldest first.
pub fn list(conn: &Connection) -> StoreResult<Vec<Quarantined>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM quarantine ORDER BY id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One entry with its raw bytes.
pub fn get(conn: &Connection, id: i64) -> StoreResult<Option<(Quarantined, Vec<u8>)>> {
    Ok(conn
        .prepare(&format!(
            "SELECT {COLUMNS}, raw FROM quarantine WHERE id = ?1"
        ))?
        .query_row([id], |r| Ok((row(r)?, r.get(6)?)))
        .optional()?)
}

pub fn mark_replayed(conn: &Connection, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    conn.execute(
        "UPDATE quarantine SET replayed_at = ?2 WHERE id = ?1",
        params![id, ts(at)],
    )?;
    Ok(())
}
