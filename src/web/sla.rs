//! The SLA clocks as the console shows them: a badge per ticket in lists,
//! both clocks on the ticket page, breached and near-breach counts per
//! queue on the overview. The clocks are the stored ones
//! ([`crate::sla::sync`] keeps them current); only the reading is here.

use crate::access::Viewer;
use crate::sla::due::{clocks_of, human};
use crate::sla::{ClockState, ClockView};
use crate::store::StoreResult;
use crate::ticket::TicketId;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;
use std::collections::BTreeMap;

/// One clock (or a ticket's worst clock) as text with a style class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Badge {
    /// `breached`, `near`, `paused`, `running`, `met` or `none`.
    pub(super) class: &'static str,
    pub(super) text: String,
}

fn when(t: DateTime<Utc>) -> String {
    super::views::when(t)
}

/// How one clock reads.
pub(super) fn badge(s: &ClockState) -> Badge {
    let (class, text) = match *s {
        ClockState::None => ("none", "no target".to_string()),
        ClockState::Met { at, late: false } => ("met", format!("met {}", when(at))),
        ClockState::Met { at, late: true } => ("breached", format!("met late {}", when(at))),
        ClockState::Running {
            due,
            left_secs,
            near: true,
        } => (
            "near",
            format!("near breach: due in {} ({})", human(left_secs), when(due)),
        ),
        ClockState::Running { due, .. } => ("running", format!("due {}", when(due))),
        ClockState::Paused { left_secs, .. } => (
            "paused",
            format!(
                "paused, waiting for the participant ({} left)",
                human(left_secs)
            ),
        ),
        ClockState::Breached { due, over_secs } => (
            "breached",
            format!("breached {} ago (due {})", human(over_secs), when(due)),
        ),
    };
    Badge { class, text }
}

/// A ticket's two clocks, for its page; none when no policy applies.
pub(super) fn clocks(v: &ClockView) -> Vec<(&'static str, Badge)> {
    if v.first_response == ClockState::None && v.resolution == ClockState::None {
        return Vec::new();
    }
    vec![
        ("First response", badge(&v.first_response)),
        ("Resolution", badge(&v.resolution)),
    ]
}

/// The clock that needs attention first, for a list row: a breach, then a
/// near breach, then the running or paused one; `-` without a policy.
pub(super) fn worst(v: &ClockView) -> Badge {
    let rank = |s: &ClockState| match s {
        ClockState::Breached { .. } => 0,
        ClockState::Running { near: true, .. } => 1,
        ClockState::Running { .. } => 2,
        ClockState::Paused { .. } => 3,
        ClockState::Met { late: true, .. } => 4,
        ClockState::Met { .. } => 5,
        ClockState::None => 6,
    };
    let (name, s) = [
        ("first response", &v.first_response),
        ("resolution", &v.resolution),
    ]
    .into_iter()
    .min_by_key(|(_, s)| rank(s))
    .expect("two clocks");
    if matches!(s, ClockState::None) {
        return Badge {
            class: "none",
            text: "-".into(),
        };
    }
    let b = badge(s);
    Badge {
        class: b.class,
        text: format!("{name} {}", b.text),
    }
}

/// Each ticket's clocks at `now` (a page is at most a few hundred rows).
pub(super) fn views(
    conn: &Connection,
    ids: impl Iterator<Item = TicketId>,
    now: DateTime<Utc>,
    near: TimeDelta,
) -> StoreResult<Vec<ClockView>> {
    ids.map(|id| Ok(clocks_of(conn, id)?.unwrap_or_default().view(now, near)))
        .collect()
}

/// Per visible queue: tickets with a breached clock, and tickets near a
/// breach (and none breached). The same list `status` counts.
pub(super) fn by_queue(
    conn: &Connection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    near: TimeDelta,
) -> StoreResult<BTreeMap<String, (usize, usize)>> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for d in crate::sla::due(conn, now, near)? {
        if !viewer.can_see(d.queue.as_deref()) {
            continue;
        }
        let e = out
            .entry(d.queue.clone().unwrap_or_else(|| "-".into()))
            .or_default();
        if d.is_breached() {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::store::parse_ts(s).unwrap()
    }

    #[test]
    fn the_worst_clock_is_shown_and_a_breach_says_so() {
        let v = ClockView {
            first_response: ClockState::Met {
                at: at("2026-11-23T10:00:00Z"),
                late: false,
            },
            resolution: ClockState::Breached {
                due: at("2026-11-23T12:00:00Z"),
                over_secs: 3 * 3600 + 5 * 60,
            },
        };
        let w = worst(&v);
        assert_eq!(w.class, "breached");
        assert_eq!(
            w.text,
            "resolution breached 3h05m ago (due 2026-11-23 12:00 UTC)"
        );
        let none = ClockView {
            first_response: ClockState::None,
            resolution: ClockState::None,
        };
        assert_eq!(worst(&none).text, "-");
        let paused = ClockView {
            first_response: ClockState::None,
            resolution: ClockState::Paused {
                due: at("2026-11-25T12:00:00Z"),
                left_secs: 7200,
            },
        };
        assert_eq!(worst(&paused).class, "paused");
    }
}
