//! Reading the clocks: one ticket's state, and the tickets whose clocks
//! have run out or are about to (`status`, `tickets list --due`, the
//! console, metrics).

use super::clock::{ClockState, ClockView, Clocks};
use crate::store::{parse_ts, ts, StoreResult};
use crate::ticket::TicketId;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

const COLS: &str = "id, project, queue, topic, subject, first_response_due, first_response_at,
    resolution_due, resolved_at, paused_at, paused_secs, reopen_count";

/// A ticket whose clock has run out or is about to.
#[derive(Debug, Clone, Serialize)]
pub struct DueTicket {
    pub id: TicketId,
    pub project: String,
    pub queue: Option<String>,
    pub topic: Option<String>,
    pub subject: String,
    pub clocks: ClockView,
}

impl DueTicket {
    pub fn is_breached(&self) -> bool {
        self.clocks.first_response.is_breached() || self.clocks.resolution.is_breached()
    }
}

fn clocks(r: &Row<'_>) -> rusqlite::Result<Clocks> {
    let t = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<String>>(i)?.as_deref().and_then(parse_ts))
    };
    Ok(Clocks {
        first_response_due: t(5)?,
        first_response_at: t(6)?,
        resolution_due: t(7)?,
        resolved_at: t(8)?,
        paused_at: t(9)?,
        paused_secs: r.get(10)?,
        reopen_count: r.get(11)?,
    })
}

/// The stored clocks of one ticket (as of the last [`super::sync`]).
pub fn clocks_of(conn: &Connection, id: TicketId) -> StoreResult<Option<Clocks>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM tickets WHERE id = ?1"),
            [id.0],
            clocks,
        )
        .optional()?)
}

/// One ticket's clocks at `now`.
pub fn view(
    conn: &Connection,
    id: TicketId,
    now: DateTime<Utc>,
    near: TimeDelta,
) -> StoreResult<Option<ClockView>> {
    Ok(clocks_of(conn, id)?.map(|c| c.view(now, near)))
}

/// Open clocks that run out before `now + near` (breached first, then by
/// due time). Answered and paused clocks are not listed.
pub fn due(conn: &Connection, now: DateTime<Utc>, near: TimeDelta) -> StoreResult<Vec<DueTicket>> {
    let horizon = ts(now + near);
    // One arm per clock, each read from its partial index (migration 7):
    // the three conditions OR-ed in one WHERE scanned every ticket.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM tickets WHERE id IN (
            SELECT id FROM tickets
            WHERE first_response_at IS NULL AND first_response_due <= ?1
            UNION ALL SELECT id FROM tickets
            WHERE resolved_at IS NULL AND paused_at IS NULL AND resolution_due <= ?1
            UNION ALL SELECT id FROM tickets
            WHERE resolved_at IS NULL AND paused_at > resolution_due)"
    ))?;
    let rows = stmt.query_map([horizon], |r| {
        Ok(DueTicket {
            id: TicketId(r.get(0)?),
            project: r.get(1)?,
            queue: r.get(2)?,
            topic: r.get(3)?,
            subject: r.get(4)?,
            clocks: clocks(r)?.view(now, near),
        })
    })?;
    let mut out: Vec<DueTicket> = rows.collect::<Result<_, _>>()?;
    out.sort_by_key(|d| (!d.is_breached(), earliest_due(&d.clocks), d.id));
    Ok(out)
}

fn earliest_due(v: &ClockView) -> Option<DateTime<Utc>> {
    let due = |s: &ClockState| match *s {
        ClockState::Running { due, .. }
        | ClockState::Breached { due, .. }
        | ClockState::Paused { due, .. } => Some(due),
        _ => None,
    };
    [due(&v.first_response), due(&v.resolution)]
        .into_iter()
        .flatten()
        .min()
}

/// Counts for `status` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DueCounts {
    pub breached: usize,
    pub near: usize,
}

pub fn counts(list: &[DueTicket]) -> DueCounts {
    let breached = list.iter().filter(|d| d.is_breached()).count();
    DueCounts {
        breached,
        near: list.len() - breached,
    }
}

/// One line per ticket, for the terminal.
pub fn line(d: &DueTicket) -> String {
    let part = |name: &str, s: &ClockState| match *s {
        ClockState::Breached { over_secs, .. } => {
            Some(format!("{name} breached {} ago", human(over_secs)))
        }
        ClockState::Running {
            left_secs,
            near: true,
            ..
        } => Some(format!("{name} due in {}", human(left_secs))),
        _ => None,
    };
    let parts: Vec<String> = [
        part("first response", &d.clocks.first_response),
        part("resolution", &d.clocks.resolution),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "[#{}] {} queue {}: {}",
        d.id,
        d.project,
        d.queue.as_deref().unwrap_or("-"),
        parts.join(", ")
    )
}

/// `3h05m`, `2d04h`, `12m`.
pub fn human(secs: i64) -> String {
    let m = secs.max(0) / 60;
    let (d, h, m) = (m / 1440, (m / 60) % 24, m % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}
