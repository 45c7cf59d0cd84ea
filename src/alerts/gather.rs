//! Facts for the detector, read from the store.

use super::detect::{Condition, Volume};
use super::AlertConfig;
use crate::store::{parse_ts, ts, StoreResult};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;

fn counts(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<(String, String, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT project, topic, COUNT(*) FROM tickets
         WHERE created_at >= ?1 AND created_at < ?2 AND topic IS NOT NULL AND state != 'recorded'
         GROUP BY project, topic",
    )?;
    let rows = stmt.query_map([ts(from), ts(until)], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// New tickets per project and topic in the window before `now` and in
/// the same hours of each of the `weeks` previous weeks.
pub fn volumes(conn: &Connection, now: DateTime<Utc>, c: &AlertConfig) -> StoreResult<Vec<Volume>> {
    let weeks = c.baseline_weeks as usize;
    let mut by_key: BTreeMap<(String, String), Volume> = BTreeMap::new();
    for w in 0..=weeks {
        let until = now - TimeDelta::weeks(w as i64);
        for (project, topic, n) in counts(conn, until - c.window, until)? {
            let v = by_key
                .entry((project.clone(), topic.clone()))
                .or_insert_with(|| Volume {
                    project,
                    topic,
                    observed: 0,
                    baseline: vec![0; weeks],
                });
            if w == 0 {
                v.observed = n;
            } else {
                v.baseline[w - 1] = n;
            }
        }
    }
    Ok(by_key.into_values().collect())
}

/// Mailboxes whose last mail is older than `silence`. A mailbox that never
/// brought mail has nothing to compare with and is left alone.
pub fn silent_mailboxes(
    conn: &Connection,
    names: &[String],
    now: DateTime<Utc>,
    silence: TimeDelta,
) -> StoreResult<Vec<Condition>> {
    let mut out = Vec::new();
    for name in names {
        // Newest first by id: stops at the mailbox's latest message
        // instead of scanning every message for a maximum.
        let last: Option<String> = conn
            .query_row(
                "SELECT received_at FROM messages WHERE source >= ?1 AND source < ?2
                 ORDER BY id DESC LIMIT 1",
                [format!("imap:{name}/"), format!("imap:{name}0")],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(last) = last.as_deref().and_then(parse_ts) {
            if now - last > silence {
                out.push(Condition::MailboxSilent {
                    mailbox: name.clone(),
                    last,
                });
            }
        }
    }
    Ok(out)
}

pub fn breaker(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Option<Condition>> {
    let until: Option<String> = conn
        .query_row("SELECT until FROM breaker WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    Ok(until
        .as_deref()
        .and_then(parse_ts)
        .filter(|u| *u > now)
        .map(|until| Condition::BreakerTripped { until }))
}

/// Replies to participants only: a parked alert mail must not raise an
/// alert that mails again.
pub fn parked(conn: &Connection) -> StoreResult<Option<Condition>> {
    let n: u32 = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state = 'parked' AND kind IN ('auto', 'human')",
        [],
        |r| r.get(0),
    )?;
    Ok((n > 0).then_some(Condition::RepliesParked { count: n }))
}
