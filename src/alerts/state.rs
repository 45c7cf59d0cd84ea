//! Alerts kept in the store (`alerts` table): raised when a condition
//! appears, cleared when it ends, mailed at most once per `remail_after`
//! per alert, so a condition that flaps cannot flood anyone.

use super::detect::Condition;
use crate::store::{parse_ts, ts, StoreResult};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::HashMap;

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub key: String,
    pub kind: String,
    pub detail: String,
    pub since: DateTime<Utc>,
    pub last_mailed_at: Option<DateTime<Utc>>,
    pub cleared_at: Option<DateTime<Utc>>,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.cleared_at.is_none()
    }
}

/// What a pass changed: the alerts to mail about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub raised: Vec<Alert>,
    pub cleared: Vec<Alert>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.cleared.is_empty()
    }
}

pub fn all(conn: &Connection) -> StoreResult<Vec<Alert>> {
    let mut stmt = conn.prepare(
        "SELECT key, kind, detail, since, last_mailed_at, cleared_at FROM alerts ORDER BY since, key",
    )?;
    let rows = stmt.query_map([], |r| {
        let t = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
            Ok(r.get::<_, Option<String>>(i)?.as_deref().and_then(parse_ts))
        };
        Ok(Alert {
            key: r.get(0)?,
            kind: r.get(1)?,
            detail: r.get(2)?,
            since: t(3)?.unwrap_or_default(),
            last_mailed_at: t(4)?,
            cleared_at: t(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Active alerts, oldest first.
pub fn active(conn: &Connection) -> StoreResult<Vec<Alert>> {
    Ok(all(conn)?.into_iter().filter(Alert::is_active).collect())
}

/// Bring the table in line with `now_holding`, and say what to mail:
/// raised alerts not mailed within `remail_after`, and cleared alerts
/// whose raising was mailed. Marks the raised ones as mailed.
pub fn reconcile(
    conn: &Connection,
    now_holding: &[Condition],
    now: DateTime<Utc>,
    remail_after: TimeDelta,
) -> StoreResult<Changes> {
    let mut known: HashMap<String, Alert> =
        all(conn)?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let mut changes = Changes::default();
    for c in now_holding {
        let key = c.key();
        let detail = c.detail();
        match known.remove(&key) {
            Some(a) if a.is_active() => {
                conn.execute(
                    "UPDATE alerts SET detail = ?2 WHERE key = ?1",
                    params![key, detail],
                )?;
            }
            previous => {
                let last_mailed_at = previous.and_then(|a| a.last_mailed_at);
                let mail = last_mailed_at.is_none_or(|m| now - m >= remail_after);
                let mailed = if mail { Some(now) } else { last_mailed_at };
                conn.execute(
                    "INSERT INTO alerts (key, kind, detail, since, last_mailed_at, cleared_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL)
                     ON CONFLICT (key) DO UPDATE SET kind = ?2, detail = ?3, since = ?4,
                        last_mailed_at = ?5, cleared_at = NULL",
                    params![key, c.kind(), detail, ts(now), mailed.map(ts)],
                )?;
                let alert = Alert {
                    key,
                    kind: c.kind().to_string(),
                    detail,
                    since: now,
                    last_mailed_at: mailed,
                    cleared_at: None,
                };
                if mail {
                    changes.raised.push(alert);
                }
            }
        }
    }
    for (key, mut a) in known {
        if !a.is_active() {
            continue;
        }
        conn.execute(
            "UPDATE alerts SET cleared_at = ?2 WHERE key = ?1",
            params![key, ts(now)],
        )?;
        // Tell of the end only when its start was told.
        let told = a.last_mailed_at.is_some_and(|m| m >= a.since);
        a.cleared_at = Some(now);
        if told {
            changes.cleared.push(a);
        }
    }
    changes.cleared.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(changes)
}
