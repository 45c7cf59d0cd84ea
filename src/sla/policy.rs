//! SLA policies: which targets apply to a ticket. The most specific policy
//! wins (each of project, queue and topic that a policy names counts one);
//! among equals, the first in the config.

use super::hours::{BusinessHours, Hours};
use chrono::TimeDelta;
use std::collections::HashMap;

/// What happens when a clock runs out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Escalation {
    /// Move the ticket to this queue.
    pub queue: Option<String>,
    /// Tell these addresses (through the outbox).
    pub mail: Vec<String>,
}

/// Targets for the tickets a policy matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub project: Option<String>,
    pub queue: Option<String>,
    pub topic: Option<String>,
    pub first_response: TimeDelta,
    pub resolution: TimeDelta,
    /// Whether an automatic answer stops the first-response clock.
    /// Acknowledgements (a sensitive or oversize ack) never do.
    pub auto_reply_counts: bool,
    pub escalation: Option<Escalation>,
}

impl Policy {
    fn matches(&self, project: &str, queue: Option<&str>, topic: Option<&str>) -> bool {
        let ok = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        ok(&self.project, Some(project)) && ok(&self.queue, queue) && ok(&self.topic, topic)
    }

    fn specificity(&self) -> usize {
        [&self.project, &self.queue, &self.topic]
            .iter()
            .filter(|f| f.is_some())
            .count()
    }
}

/// The `[sla]` section, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaConfig {
    /// A running clock with less than this left is a near breach.
    pub near_breach: TimeDelta,
    pub policies: Vec<Policy>,
    /// Business hours per project; projects not named run around the clock.
    pub hours: HashMap<String, BusinessHours>,
    /// From address of escalation mail; required when a policy mails.
    pub mail_from: Option<String>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            near_breach: TimeDelta::hours(1),
            policies: Vec::new(),
            hours: HashMap::new(),
            mail_from: None,
        }
    }
}

impl SlaConfig {
    pub fn policy_for(
        &self,
        project: &str,
        queue: Option<&str>,
        topic: Option<&str>,
    ) -> Option<&Policy> {
        let mut best: Option<&Policy> = None;
        for p in self
            .policies
            .iter()
            .filter(|p| p.matches(project, queue, topic))
        {
            if best.is_none_or(|b| p.specificity() > b.specificity()) {
                best = Some(p);
            }
        }
        best
    }

    pub fn hours_for(&self, project: &str) -> Hours<'_> {
        self.hours
            .get(project)
            .map_or(Hours::Always, Hours::Business)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(project: Option<&str>, queue: Option<&str>, topic: Option<&str>, h: i64) -> Policy {
        Policy {
            project: project.map(String::from),
            queue: queue.map(String::from),
            topic: topic.map(String::from),
            first_response: TimeDelta::hours(h),
            resolution: TimeDelta::hours(h * 10),
            auto_reply_counts: false,
            escalation: None,
        }
    }

    #[test]
    fn most_specific_policy_wins_and_ties_go_to_the_first() {
        let c = SlaConfig {
            policies: vec![
                policy(None, Some("general"), None, 24),
                policy(Some("demo"), Some("sensitive"), Some("appeal"), 2),
                policy(None, Some("sensitive"), None, 8),
                policy(None, Some("sensitive"), None, 9),
            ],
            ..SlaConfig::default()
        };
        let fr = |p: &str, q: &str, t: &str| {
            c.policy_for(p, Some(q), Some(t))
                .map(|p| p.first_response.num_hours())
        };
        assert_eq!(fr("demo", "sensitive", "appeal"), Some(2));
        assert_eq!(fr("other", "sensitive", "appeal"), Some(8));
        assert_eq!(fr("demo", "general", "payment"), Some(24));
        assert_eq!(fr("demo", "payouts", "payment"), None);
    }
}
