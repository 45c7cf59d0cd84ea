//! Bring the stored clocks up to date: every ticket changed since the last
//! pass (its `updated_at` moves with each message, reply, close and reopen)
//! is folded again from its history. A change of policies refolds all.
//! Set-based queries, not three per ticket: a bulk import of 20,000 new
//! tickets is one pass of a few statements.

use super::clock::{fold, Clocks, Happening};
use super::policy::SlaConfig;
use crate::store::{parse_ts, ts, StoreResult};
use crate::ticket::TicketState;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Templates that only acknowledge receipt: never a response.
fn is_ack(template: Option<&str>) -> bool {
    template
        .map(|t| t.rsplit('/').next().unwrap_or(t))
        .is_some_and(|name| crate::reply::templates::ACKS.contains(&name))
}

fn fingerprint(config: &SlaConfig) -> String {
    hex::encode(Sha256::digest(format!("{config:?}").as_bytes()))
}

struct Row {
    id: i64,
    project: String,
    state: String,
    queue: Option<String>,
    topic: Option<String>,
    created_at: String,
    updated_at: String,
}

/// Refold the clocks of tickets changed since the last pass. Returns how
/// many tickets were refolded. Call inside a transaction.
pub fn sync(conn: &Connection, config: &SlaConfig) -> StoreResult<usize> {
    let print = fingerprint(config);
    let last: Option<(String, String)> = conn
        .query_row(
            "SELECT synced_until, policies FROM sla_sync WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let since = match last {
        Some((until, p)) if p == print => until,
        _ => String::new(),
    };
    let changed = "SELECT id FROM tickets WHERE updated_at >= ?1";
    let mut tickets = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, project, state, queue, topic, created_at, updated_at FROM tickets
         WHERE updated_at >= ?1",
    )?;
    for r in stmt.query_map([&since], |r| {
        Ok(Row {
            id: r.get(0)?,
            project: r.get(1)?,
            state: r.get(2)?,
            queue: r.get(3)?,
            topic: r.get(4)?,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
        })
    })? {
        tickets.push(r?);
    }
    if tickets.is_empty() {
        return Ok(0);
    }
    let mut history: HashMap<i64, Vec<(u8, Happening)>> = HashMap::new();
    let mut push = |id: i64, rank: u8, h: Option<Happening>| {
        if let Some(h) = h {
            history.entry(id).or_default().push((rank, h));
        }
    };
    // Messages after the first: follow-ups (machine mail on a ticket is
    // recorded as `ignore` and wakes nobody).
    let mut stmt = conn.prepare(&format!(
        "SELECT m.ticket_id, m.received_at, m.id = (SELECT MIN(id) FROM messages f WHERE f.ticket_id = m.ticket_id)
         FROM messages m WHERE m.ticket_id IN ({changed}) AND m.action != 'ignore'"
    ))?;
    let mut rows = stmt.query([&since])?;
    while let Some(r) = rows.next()? {
        let first: bool = r.get(2)?;
        if !first {
            let at: String = r.get(1)?;
            push(r.get(0)?, 0, parse_ts(&at).map(Happening::FollowUp));
        }
    }
    // Replies that left or may still leave; a parked or bounced one never
    // reached the participant.
    let mut stmt = conn.prepare(&format!(
        "SELECT ticket_id, created_at, kind, template FROM outbox
         WHERE ticket_id IN ({changed}) AND kind IN ('auto', 'human')
           AND state NOT IN ('parked', 'bounced')"
    ))?;
    let mut rows = stmt.query([&since])?;
    while let Some(r) = rows.next()? {
        let at: String = r.get(1)?;
        let kind: String = r.get(2)?;
        let template: Option<String> = r.get(3)?;
        let h = parse_ts(&at).map(|at| Happening::Reply {
            at,
            automatic: kind == "auto",
            ack: is_ack(template.as_deref()),
        });
        push(r.get(0)?, 1, h);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT ticket_id, at, kind FROM ticket_events
         WHERE ticket_id IN ({changed}) AND kind IN ('close', 'reopen')"
    ))?;
    let mut rows = stmt.query([&since])?;
    while let Some(r) = rows.next()? {
        let at: String = r.get(1)?;
        let kind: String = r.get(2)?;
        let h = parse_ts(&at).map(|t| match kind.as_str() {
            "close" => Happening::Closed(t),
            _ => Happening::Reopened(t),
        });
        push(r.get(0)?, 2, h);
    }
    drop(rows);
    // An escalated ticket keeps the policy of the queue it breached in: the
    // queue it was moved to may have none.
    let mut stmt = conn.prepare(&format!(
        "SELECT ticket_id, from_queue FROM sla_escalations WHERE ticket_id IN ({changed}) ORDER BY at"
    ))?;
    let escalated: HashMap<i64, Option<String>> = stmt
        .query_map([&since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;

    let mut update = conn.prepare_cached(
        "UPDATE tickets SET first_response_due = ?2, first_response_at = ?3, resolution_due = ?4,
         resolved_at = ?5, paused_at = ?6, paused_secs = ?7, reopen_count = ?8 WHERE id = ?1",
    )?;
    let mut until = since;
    for t in &tickets {
        let Some(created) = parse_ts(&t.created_at) else {
            continue;
        };
        let mut events = history.remove(&t.id).unwrap_or_default();
        // Same instant: the participant's message first, then our reply,
        // then a close (a reply and its close often share a second).
        events.sort_by_key(|(rank, h)| (h.at(), *rank));
        let mut all = Vec::with_capacity(events.len() + 1);
        all.push(Happening::Created(created));
        all.extend(events.into_iter().map(|(_, h)| h));
        // Recorded tickets (machine mail) wait for nobody: no clock.
        let policy = if t.state == TicketState::Recorded.as_str() {
            None
        } else {
            let queue = match escalated.get(&t.id) {
                Some(from) => from.as_deref(),
                None => t.queue.as_deref(),
            };
            config.policy_for(&t.project, queue, t.topic.as_deref())
        };
        let c = fold(&all, policy, config.hours_for(&t.project));
        write(&mut update, t.id, &c)?;
        if t.updated_at > until {
            until.clone_from(&t.updated_at);
        }
    }
    conn.execute(
        "INSERT INTO sla_sync (id, synced_until, policies) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET synced_until = ?1, policies = ?2",
        params![until, print],
    )?;
    Ok(tickets.len())
}

fn write(stmt: &mut rusqlite::CachedStatement<'_>, id: i64, c: &Clocks) -> StoreResult<()> {
    let t = |v: Option<DateTime<Utc>>| v.map(ts);
    stmt.execute(params![
        id,
        t(c.first_response_due),
        t(c.first_response_at),
        t(c.resolution_due),
        t(c.resolved_at),
        t(c.paused_at),
        c.paused_secs,
        c.reopen_count
    ])?;
    Ok(())
}
