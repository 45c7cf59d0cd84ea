//! The conditions worth an alert, as pure functions of counts and facts
//! (gathered from the store by [`super::gather`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Tickets of one project and topic: the last window, and the same hours
/// in each of the previous weeks (most recent first).
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub project: String,
    pub topic: String,
    pub observed: u32,
    pub baseline: Vec<u32>,
}

impl Volume {
    pub fn expected(&self) -> f64 {
        if self.baseline.is_empty() {
            return 0.0;
        }
        f64::from(self.baseline.iter().sum::<u32>()) / self.baseline.len() as f64
    }
}

/// One condition that holds now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// Mail of a topic that usually comes did not ("payment tickets stopped").
    Stopped {
        project: String,
        topic: String,
        expected: f64,
    },
    Spike {
        project: String,
        topic: String,
        observed: u32,
        expected: f64,
    },
    MailboxSilent {
        mailbox: String,
        last: DateTime<Utc>,
    },
    BreakerTripped {
        until: DateTime<Utc>,
    },
    RepliesParked {
        count: u32,
    },
}

impl Condition {
    /// Stable identity across passes: the same condition keeps its key
    /// while its figures change.
    pub fn key(&self) -> String {
        match self {
            Condition::Stopped { project, topic, .. } => format!("stopped:{project}:{topic}"),
            Condition::Spike { project, topic, .. } => format!("spike:{project}:{topic}"),
            Condition::MailboxSilent { mailbox, .. } => format!("mailbox_silent:{mailbox}"),
            Condition::BreakerTripped { .. } => "breaker_tripped".into(),
            Condition::RepliesParked { .. } => "replies_parked".into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Condition::Stopped { .. } => "stopped",
            Condition::Spike { .. } => "spike",
            Condition::MailboxSilent { .. } => "mailbox_silent",
            Condition::BreakerTripped { .. } => "breaker_tripped",
            Condition::RepliesParked { .. } => "replies_parked",
        }
    }

    /// One line for people; no personal data (projects, topics, counts).
    pub fn detail(&self) -> String {
        match self {
            Condition::Stopped {
                project,
                topic,
                expected,
            } => {
                format!("{project}: no {topic} tickets in the last window (usually {expected:.1})")
            }
            Condition::Spike {
                project,
                topic,
                observed,
                expected,
            } => format!(
                "{project}: {observed} {topic} tickets in the last window (usually {expected:.1})"
            ),
            Condition::MailboxSilent { mailbox, last } => format!(
                "mailbox {mailbox}: no mail since {}",
                last.format("%Y-%m-%d %H:%M UTC")
            ),
            Condition::BreakerTripped { until } => format!(
                "automatic replies stopped by the circuit breaker until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
            Condition::RepliesParked { count } => {
                format!("{count} replies parked (not delivered; see `helpgate outbox list --state parked`)")
            }
        }
    }
}

/// Stopped and spiking topics. A topic stops when at least `min_expected`
/// tickets came in the same hours on average and none came now; it spikes
/// when at least `spike_min` came and more than `factor` times the usual.
pub fn volume(v: &[Volume], min_expected: f64, factor: f64, spike_min: u32) -> Vec<Condition> {
    let mut out = Vec::new();
    for x in v {
        let expected = x.expected();
        if x.observed == 0 && expected >= min_expected {
            out.push(Condition::Stopped {
                project: x.project.clone(),
                topic: x.topic.clone(),
                expected,
            });
        } else if x.observed >= spike_min && f64::from(x.observed) > factor * expected {
            out.push(Condition::Spike {
                project: x.project.clone(),
                topic: x.topic.clone(),
                observed: x.observed,
                expected,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(observed: u32, baseline: &[u32]) -> Volume {
        Volume {
            project: "p".into(),
            topic: "payment".into(),
            observed,
            baseline: baseline.to_vec(),
        }
    }

    #[test]
    fn stops_and_spikes_against_the_baseline() {
        let kinds = |x: Volume| -> Vec<&'static str> {
            volume(&[x], 3.0, 3.0, 10)
                .iter()
                .map(|c| c.kind())
                .collect()
        };
        assert_eq!(kinds(v(0, &[5, 4, 6, 5])), ["stopped"]);
        assert!(kinds(v(0, &[1, 0, 2, 1])).is_empty(), "too few usually");
        assert!(kinds(v(1, &[5, 4, 6, 5])).is_empty());
        assert_eq!(kinds(v(40, &[5, 4, 6, 5])), ["spike"]);
        assert!(kinds(v(9, &[0, 0, 0, 0])).is_empty(), "below spike_min");
        assert!(kinds(v(15, &[5, 4, 6, 5])).is_empty(), "3x is not over 3x");
    }
}
