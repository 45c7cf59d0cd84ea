//! A ticket's two clocks as a pure fold over what happened to it.
//!
//! The clocks are derived from the ticket's history (its messages, the
//! replies queued for it, close and reopen events) rather than nudged by
//! each writer, so every path that changes a ticket (intake, the CLI, the
//! web console) is covered by one piece of code, and recomputing is always
//! safe.

use super::hours::Hours;
use super::policy::Policy;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// One thing that happened to a ticket, in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// The ticket's first message.
    Created(DateTime<Utc>),
    /// A participant's later message that needs an answer.
    FollowUp(DateTime<Utc>),
    /// A reply queued to the participant.
    Reply {
        at: DateTime<Utc>,
        automatic: bool,
        /// A receipt that promises a person will answer; never a response.
        ack: bool,
    },
    Closed(DateTime<Utc>),
    Reopened(DateTime<Utc>),
}

impl Happening {
    pub fn at(&self) -> DateTime<Utc> {
        match *self {
            Happening::Created(t)
            | Happening::FollowUp(t)
            | Happening::Closed(t)
            | Happening::Reopened(t)
            | Happening::Reply { at: t, .. } => t,
        }
    }
}

/// The stored clock columns of one ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Clocks {
    pub first_response_due: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Set while the ticket waits for the participant: the resolution
    /// clock stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// Running time spent paused, summed over the ticket's life.
    pub paused_secs: i64,
    pub reopen_count: i64,
}

/// Fold a ticket's history into its clocks. Without a policy only the
/// facts (first response, resolution, reopens) are kept, with no due
/// times, so reports can still measure response times.
pub fn fold(history: &[Happening], policy: Option<&Policy>, hours: Hours<'_>) -> Clocks {
    let mut c = Clocks::default();
    let due = |from: DateTime<Utc>, target: fn(&Policy) -> TimeDelta| {
        policy.map(|p| hours.add(from, target(p)))
    };
    let counts_auto = policy.is_none_or(|p| p.auto_reply_counts);
    for h in history {
        match *h {
            Happening::Created(t) => {
                c.first_response_due = due(t, |p| p.first_response);
                c.resolution_due = due(t, |p| p.resolution);
            }
            Happening::Reply { at, automatic, ack } => {
                // An acknowledgement leaves the ticket waiting for a person.
                if ack || c.resolved_at.is_some() {
                    continue;
                }
                if !automatic || counts_auto {
                    c.first_response_at.get_or_insert(at);
                }
                // Any answer leaves the ticket waiting for the participant.
                c.paused_at.get_or_insert(at);
            }
            Happening::FollowUp(t) if c.resolved_at.is_some() => reopen(&mut c, t, &due),
            Happening::FollowUp(t) => {
                if let Some(p) = c.paused_at.take() {
                    let waited = hours.between(p, t);
                    c.paused_secs += waited.num_seconds();
                    c.resolution_due = c.resolution_due.map(|d| hours.add(d, waited));
                }
            }
            Happening::Closed(t) => {
                if c.resolved_at.is_none() {
                    c.resolved_at = Some(t);
                    c.paused_at = None;
                }
            }
            Happening::Reopened(t) if c.resolved_at.is_some() => reopen(&mut c, t, &due),
            Happening::Reopened(_) => {}
        }
    }
    c
}

/// A closed ticket that comes back gets a fresh resolution clock; its
/// first response stays answered.
fn reopen(
    c: &mut Clocks,
    t: DateTime<Utc>,
    due: &impl Fn(DateTime<Utc>, fn(&Policy) -> TimeDelta) -> Option<DateTime<Utc>>,
) {
    c.reopen_count += 1;
    c.resolved_at = None;
    c.paused_at = None;
    c.resolution_due = due(t, |p| p.resolution);
}

/// Where one clock stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClockState {
    /// No policy applies.
    None,
    Met {
        at: DateTime<Utc>,
        late: bool,
    },
    Running {
        due: DateTime<Utc>,
        left_secs: i64,
        near: bool,
    },
    /// Waiting for the participant; `left_secs` is frozen.
    Paused {
        due: DateTime<Utc>,
        left_secs: i64,
    },
    Breached {
        due: DateTime<Utc>,
        over_secs: i64,
    },
}

impl ClockState {
    pub fn is_breached(&self) -> bool {
        matches!(
            self,
            ClockState::Breached { .. } | ClockState::Met { late: true, .. }
        )
    }

    pub fn is_near(&self) -> bool {
        matches!(self, ClockState::Running { near: true, .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            ClockState::None => "none",
            ClockState::Met { late: false, .. } => "met",
            ClockState::Met { late: true, .. } => "met late",
            ClockState::Running { near: true, .. } => "near breach",
            ClockState::Running { .. } => "running",
            ClockState::Paused { .. } => "paused",
            ClockState::Breached { .. } => "breached",
        }
    }
}

/// Both clocks of a ticket at `now`: what the console and `status` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub first_response: ClockState,
    pub resolution: ClockState,
}

impl Clocks {
    pub fn view(&self, now: DateTime<Utc>, near: TimeDelta) -> ClockView {
        let first_response = match (self.first_response_due, self.first_response_at) {
            (None, _) => ClockState::None,
            (Some(due), Some(at)) => ClockState::Met { at, late: at > due },
            (Some(due), None) => running(due, now, near),
        };
        let resolution = match (self.resolution_due, self.resolved_at, self.paused_at) {
            (None, _, _) => ClockState::None,
            (Some(due), Some(at), _) => ClockState::Met { at, late: at > due },
            (Some(due), None, Some(p)) if p > due => ClockState::Breached {
                due,
                over_secs: (p - due).num_seconds(),
            },
            (Some(due), None, Some(p)) => ClockState::Paused {
                due,
                left_secs: (due - p).num_seconds(),
            },
            (Some(due), None, None) => running(due, now, near),
        };
        ClockView {
            first_response,
            resolution,
        }
    }
}

fn running(due: DateTime<Utc>, now: DateTime<Utc>, near: TimeDelta) -> ClockState {
    if now > due {
        ClockState::Breached {
            due,
            over_secs: (now - due).num_seconds(),
        }
    } else {
        ClockState::Running {
            due,
            left_secs: (due - now).num_seconds(),
            near: due - now <= near,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::hours::BusinessHours;
    use chrono::NaiveTime;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn policy(auto_reply_counts: bool) -> Policy {
        Policy {
            project: None,
            queue: None,
            topic: None,
            first_response: TimeDelta::hours(4),
            resolution: TimeDelta::hours(24),
            auto_reply_counts,
            escalation: None,
        }
    }

    fn human(t: &str) -> Happening {
        Happening::Reply {
            at: at(t),
            automatic: false,
            ack: false,
        }
    }

    #[test]
    fn waiting_for_the_participant_pauses_and_a_follow_up_resumes() {
        let p = policy(false);
        let history = [
            Happening::Created(at("2026-12-01T08:00:00Z")),
            human("2026-12-01T10:00:00Z"),
            // 30 hours waiting for the participant: the clock stands still.
            Happening::FollowUp(at("2026-12-02T16:00:00Z")),
        ];
        let paused = fold(&history[..2], Some(&p), Hours::Always);
        assert_eq!(paused.paused_at, Some(at("2026-12-01T10:00:00Z")));
        let v = paused.view(at("2026-12-05T00:00:00Z"), TimeDelta::hours(1));
        assert_eq!(
            v.resolution,
            ClockState::Paused {
                due: at("2026-12-02T08:00:00Z"),
                left_secs: 22 * 3600
            }
        );
        assert_eq!(v.first_response.label(), "met");

        let resumed = fold(&history, Some(&p), Hours::Always);
        assert_eq!(resumed.paused_at, None);
        assert_eq!(resumed.paused_secs, 30 * 3600);
        assert_eq!(resumed.resolution_due, Some(at("2026-12-03T14:00:00Z")));
        let v = resumed.view(at("2026-12-03T13:30:00Z"), TimeDelta::hours(1));
        assert!(v.resolution.is_near(), "{v:?}");
        let v = resumed.view(at("2026-12-03T15:00:00Z"), TimeDelta::hours(1));
        assert!(v.resolution.is_breached());
    }

    #[test]
    fn an_automatic_reply_counts_only_where_the_policy_says_so() {
        let history = [
            Happening::Created(at("2026-12-01T08:00:00Z")),
            Happening::Reply {
                at: at("2026-12-01T08:00:01Z"),
                automatic: true,
                ack: false,
            },
        ];
        let later = at("2026-12-01T13:00:00Z");
        let counted = fold(&history, Some(&policy(true)), Hours::Always);
        assert_eq!(counted.first_response_at, Some(at("2026-12-01T08:00:01Z")));
        let not = fold(&history, Some(&policy(false)), Hours::Always);
        assert_eq!(not.first_response_at, None);
        // The participant has an answer either way: resolution waits.
        assert_eq!(not.paused_at, Some(at("2026-12-01T08:00:01Z")));
        assert!(not
            .view(later, TimeDelta::zero())
            .first_response
            .is_breached());
        // An acknowledgement never counts.
        let ack = [
            history[0],
            Happening::Reply {
                at: at("2026-12-01T08:00:01Z"),
                automatic: true,
                ack: true,
            },
        ];
        let acked = fold(&ack, Some(&policy(true)), Hours::Always);
        assert_eq!(acked.first_response_at, None);
    }

    #[test]
    fn a_reopened_ticket_gets_a_fresh_resolution_clock() {
        let p = policy(false);
        let history = [
            Happening::Created(at("2026-12-01T08:00:00Z")),
            human("2026-12-01T09:00:00Z"),
            Happening::Closed(at("2026-12-01T12:00:00Z")),
            Happening::FollowUp(at("2026-12-04T08:00:00Z")),
        ];
        let c = fold(&history, Some(&p), Hours::Always);
        assert_eq!(c.reopen_count, 1);
        assert_eq!(c.resolved_at, None);
        assert_eq!(c.first_response_at, Some(at("2026-12-01T09:00:00Z")));
        assert_eq!(c.resolution_due, Some(at("2026-12-05T08:00:00Z")));
        // Reopened by hand, closed again: two reopens, resolved.
        let mut more = history.to_vec();
        more.push(Happening::Closed(at("2026-12-04T10:00:00Z")));
        more.push(Happening::Reopened(at("2026-12-04T11:00:00Z")));
        more.push(Happening::Closed(at("2026-12-04T12:00:00Z")));
        let c = fold(&more, Some(&p), Hours::Always);
        assert_eq!(c.reopen_count, 2);
        assert_eq!(c.resolved_at, Some(at("2026-12-04T12:00:00Z")));
    }

    #[test]
    fn business_hours_stop_the_clock_over_the_weekend() {
        let office = BusinessHours {
            time_zone: "Europe/Berlin".parse().unwrap(),
            days: [true, true, true, true, true, false, false],
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        };
        let h = Hours::Business(&office);
        // Friday 16:00 Berlin; reply Friday 16:30; participant answers on
        // Saturday; the week-end costs nothing.
        let history = [
            Happening::Created(at("2026-11-27T15:00:00Z")),
            human("2026-11-27T15:30:00Z"),
            Happening::FollowUp(at("2026-11-28T10:00:00Z")),
        ];
        let c = fold(&history, Some(&policy(false)), h);
        assert_eq!(c.first_response_due, Some(at("2026-11-30T11:00:00Z")));
        // 24 business hours from Friday 16:00 = three working days; half an
        // hour of Friday was paused, but the follow-up came in the weekend,
        // so the pause is 30 minutes of business time.
        assert_eq!(c.paused_secs, 30 * 60);
        assert_eq!(c.resolution_due, Some(at("2026-12-02T15:30:00Z")));
    }
}
