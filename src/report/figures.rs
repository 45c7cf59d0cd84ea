//! The report's figures, read from the store. Messages are counted in SQL
//! per day (the covering index `messages_report` answers without touching
//! the mail itself); tickets are read one row each and grouped here.

use super::period::{week_of_date, Period};
use super::{Backlog, Durations, Outcome, Rates, Replies, Report, SlaBreaches, Times, VolumeRow};
use crate::store::{parse_ts, ts, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// Messages of one day, topic, language and action.
pub(super) type DayCount = (String, Option<String>, Option<String>, String, u64);

/// Per group: first-response seconds, resolution seconds, tickets.
type Group = (Vec<i64>, Vec<i64>, u64);

/// One ticket of the period, as the figures need it.
#[derive(Debug, Clone)]
pub(super) struct TicketRow {
    pub id: i64,
    pub state: String,
    pub queue: Option<String>,
    pub topic: Option<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
}

pub(super) fn tickets(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Vec<TicketRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, state, queue, topic, language, created_at, first_response_due,
                first_response_at, resolution_due, resolved_at, paused_at, reopen_count
         FROM tickets WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR project = ?3)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![ts(p.since), ts(p.until), project], |r| {
        let t = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
            Ok(r.get::<_, Option<String>>(i)?.as_deref().and_then(parse_ts))
        };
        Ok(TicketRow {
            id: r.get(0)?,
            state: r.get(1)?,
            queue: r.get(2)?,
            topic: r.get(3)?,
            language: r.get(4)?,
            created_at: t(5)?.unwrap_or_default(),
            first_response_due: t(6)?,
            first_response_at: t(7)?,
            resolution_due: t(8)?,
            resolved_at: t(9)?,
            paused_at: t(10)?,
            reopen_count: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Messages per day, topic, language and action. With a project, only
/// messages on that project's tickets (machine mail without a ticket has
/// no project).
pub(super) fn message_counts(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Vec<DayCount>> {
    let sql = match project {
        None => {
            "SELECT substr(received_at, 1, 10), topic, language, action, COUNT(*) FROM messages
             WHERE received_at >= ?1 AND received_at < ?2 GROUP BY 1, 2, 3, 4"
        }
        Some(_) => {
            "SELECT substr(m.received_at, 1, 10), m.topic, m.language, m.action, COUNT(*)
             FROM messages m JOIN tickets t ON t.id = m.ticket_id
             WHERE m.received_at >= ?1 AND m.received_at < ?2 AND t.project = ?3
             GROUP BY 1, 2, 3, 4"
        }
    };
    let mut stmt = conn.prepare(sql)?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get::<_, i64>(4)? as u64,
        ))
    };
    let rows = match project {
        None => stmt.query_map(params![ts(p.since), ts(p.until)], map)?,
        Some(pr) => stmt.query_map(params![ts(p.since), ts(p.until), pr], map)?,
    };
    Ok(rows.collect::<Result<_, _>>()?)
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

pub(super) fn volume(tickets: &[TicketRow], messages: &[DayCount]) -> Vec<VolumeRow> {
    let mut rows: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for t in tickets {
        let week = super::period::week_label(chrono::Datelike::iso_week(&t.created_at));
        rows.entry((week, or_dash(&t.topic), or_dash(&t.language)))
            .or_default()
            .0 += 1;
    }
    for (day, topic, language, _, n) in messages {
        let Some(week) = week_of_date(day) else {
            continue;
        };
        rows.entry((week, or_dash(topic), or_dash(language)))
            .or_default()
            .1 += n;
    }
    rows.into_iter()
        .map(|((week, topic, language), (tickets, messages))| VolumeRow {
            week,
            topic,
            language,
            tickets,
            messages,
        })
        .collect()
}

/// Shares of what happened to the period's messages; `ignore` split into
/// spam and other machine mail (the guard stores the machine kind as the
/// topic).
pub(super) fn outcomes(messages: &[DayCount]) -> Vec<Outcome> {
    let names = [
        "auto_reply",
        "human",
        "escalate",
        "ignored_machine",
        "ignored_spam",
    ];
    let mut n = [0u64; 5];
    for (_, topic, _, action, count) in messages {
        let i = match action.as_str() {
            "auto_reply" => 0,
            "human" => 1,
            "escalate" => 2,
            _ if topic.as_deref() == Some("spam") => 4,
            _ => 3,
        };
        n[i] += count;
    }
    let total: u64 = n.iter().sum();
    names
        .iter()
        .zip(n)
        .map(|(name, messages)| Outcome {
            outcome: (*name).to_string(),
            messages,
            share: share(messages, total),
        })
        .collect()
}

pub(super) fn share(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        // Four decimals: stable in JSON and CSV.
        (part as f64 / total as f64 * 10_000.0).round() / 10_000.0
    }
}

/// Nearest-rank percentile of sorted seconds.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn durations(mut secs: Vec<i64>) -> Durations {
    secs.sort_unstable();
    Durations {
        count: secs.len() as u64,
        median_secs: percentile(&secs, 0.5),
        p90_secs: percentile(&secs, 0.9),
    }
}

fn needs_people(t: &TicketRow) -> bool {
    t.state != "recorded"
}

pub(super) fn times(tickets: &[TicketRow]) -> Vec<Times> {
    let mut groups: BTreeMap<(&'static str, String), Group> = BTreeMap::new();
    for t in tickets.iter().filter(|t| needs_people(t)) {
        for key in [("queue", or_dash(&t.queue)), ("topic", or_dash(&t.topic))] {
            let g = groups.entry(key).or_default();
            g.2 += 1;
            if let Some(at) = t.first_response_at {
                g.0.push((at - t.created_at).num_seconds());
            }
            if let Some(at) = t.resolved_at {
                g.1.push((at - t.created_at).num_seconds());
            }
        }
    }
    groups
        .into_iter()
        .map(|((by, name), (fr, res, n))| Times {
            by: by.to_string(),
            name,
            tickets: n,
            first_response: durations(fr),
            resolution: durations(res),
        })
        .collect()
}

pub(super) fn rates(tickets: &[TicketRow]) -> Rates {
    let people: Vec<&TicketRow> = tickets.iter().filter(|t| needs_people(t)).collect();
    let resolved = people.iter().filter(|t| t.resolved_at.is_some()).count() as u64;
    let ever_resolved = people
        .iter()
        .filter(|t| t.resolved_at.is_some() || t.reopen_count > 0)
        .count() as u64;
    let reopened = people.iter().filter(|t| t.reopen_count > 0).count() as u64;
    Rates {
        tickets: people.len() as u64,
        resolved,
        resolution_rate: share(resolved, people.len() as u64),
        reopened,
        reopen_rate: share(reopened, ever_resolved),
    }
}

pub(super) const AGES: [(&str, i64); 5] = [
    ("<1d", 1),
    ("1-3d", 3),
    ("3-7d", 7),
    ("7-30d", 30),
    (">30d", i64::MAX),
];

/// Tickets waiting for a specialist at the end of the period, by age.
pub(super) fn backlog(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Vec<Backlog>> {
    let mut stmt = conn.prepare(
        "SELECT created_at FROM tickets WHERE state = 'open' AND created_at < ?1
         AND (?2 IS NULL OR project = ?2)",
    )?;
    let mut n = [0u64; 5];
    let mut rows = stmt.query(params![ts(p.until), project])?;
    while let Some(r) = rows.next()? {
        let at: String = r.get(0)?;
        let Some(at) = parse_ts(&at) else { continue };
        let days = (p.until - at).num_days();
        let i = AGES.iter().position(|(_, max)| days < *max).unwrap_or(4);
        n[i] += 1;
    }
    Ok(AGES
        .iter()
        .zip(n)
        .map(|((age, _), tickets)| Backlog {
            age: (*age).to_string(),
            tickets,
        })
        .collect())
}

pub(super) fn replies(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Replies> {
    let mut stmt = conn.prepare(
        "SELECT o.state, o.ticket_id FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id
         WHERE o.created_at >= ?1 AND o.created_at < ?2 AND o.state IN ('parked', 'bounced')
           AND o.kind IN ('auto', 'human') AND (?3 IS NULL OR t.project = ?3) ORDER BY o.id",
    )?;
    let mut out = Replies::default();
    let mut rows = stmt.query(params![ts(p.since), ts(p.until), project])?;
    while let Some(r) = rows.next()? {
        let state: String = r.get(0)?;
        let ticket: Option<i64> = r.get(1)?;
        let (n, list) = if state == "parked" {
            (&mut out.parked, &mut out.parked_tickets)
        } else {
            (&mut out.bounced, &mut out.bounced_tickets)
        };
        *n += 1;
        if let Some(t) = ticket.filter(|t| !list.contains(t)) {
            list.push(t);
        }
    }
    Ok(out)
}

pub(super) fn breaches(tickets: &[TicketRow], until: DateTime<Utc>) -> SlaBreaches {
    let late =
        |due: Option<DateTime<Utc>>, done: Option<DateTime<Utc>>, paused: Option<DateTime<Utc>>| {
            match (due, done) {
                (None, _) => false,
                (Some(due), Some(done)) => done > due,
                (Some(due), None) => paused.map_or(until, |p| p.min(until)) > due,
            }
        };
    let mut b = SlaBreaches::default();
    for t in tickets {
        if late(t.first_response_due, t.first_response_at, None) {
            b.first_response.push(t.id);
        }
        if late(t.resolution_due, t.resolved_at, t.paused_at) {
            b.resolution.push(t.id);
        }
        if t.first_response_due.is_some() {
            b.with_policy += 1;
        }
    }
    b
}

/// Report skeleton with every figure but the suggestions.
pub(super) fn build(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
    now: DateTime<Utc>,
    tickets: &[TicketRow],
    messages: &[DayCount],
) -> StoreResult<Report> {
    Ok(Report {
        project: project.map(String::from),
        period: p.label(),
        since: p.since,
        until: p.until,
        generated_at: now,
        messages: messages.iter().map(|m| m.4).sum(),
        volume: volume(tickets, messages),
        outcomes: outcomes(messages),
        times: times(tickets),
        rates: rates(tickets),
        backlog: backlog(conn, p, project)?,
        replies: replies(conn, p, project)?,
        sla: breaches(tickets, p.until.min(now)),
        suggestions: Vec::new(),
    })
}
