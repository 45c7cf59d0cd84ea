//! What to do with a message, and why. Pure: verdict + classification +
//! ticket context + rules -> [`Decision`]. The order of the checks is the
//! policy: machine mail is only recorded; sensitive conversations stay
//! sensitive; follow-ups go to people; unsure classifications go to people
//! with the candidates; untrusted senders never get an automatic answer.

use crate::classify::{self, Classification};
use crate::guard::Verdict;
use crate::rules::RuleSet;
use serde::Serialize;

/// The four things helpgate can do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AutoReply,
    Human,
    Escalate,
    Ignore,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AutoReply => "auto_reply",
            Action::Human => "human",
            Action::Escalate => "escalate",
            Action::Ignore => "ignore",
        }
    }

    /// The action named `s` in rule files.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "auto_reply" => Action::AutoReply,
            "human" => Action::Human,
            "escalate" => Action::Escalate,
            "ignore" => Action::Ignore,
            _ => return None,
        })
    }
}

/// The decision for one message.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub action: Action,
    /// The human queue, for `human` and `escalate`.
    pub queue: Option<String>,
    /// The template to answer with, for `auto_reply`.
    pub template: Option<String>,
    pub reason: String,
}

/// What the store knows about the conversation a message belongs to.
#[derive(Debug, Clone, Default)]
pub struct TicketContext {
    /// The message continues an existing ticket.
    pub follow_up: bool,
    pub project: String,
    pub ticket_language: Option<String>,
    pub ticket_topic: Option<String>,
    /// The ticket's current queue.
    pub ticket_queue: Option<String>,
}

/// Decide. Also settles the language through [`classify::refine`] (the
/// ticket's earlier language, the project's default); the refined
/// classification is returned so the caller stores what decided.
pub fn decide(
    verdict: &Verdict,
    class: &Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    let mut refined = class.clone();
    classify::refine(&mut refined, ctx, rules);
    decide_refined(verdict, &refined, ctx, rules)
}

fn decide_refined(
    verdict: &Verdict,
    class: &Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    if let Verdict::Machine { kind, reason } = verdict {
        return Decision {
            action: Action::Ignore,
            queue: None,
            template: None,
            reason: format!("Machine mail ({kind}): {reason}; recorded, never answered or queued."),
        };
    }
    let topic = class.topic.as_deref().unwrap_or("other");
    let route = rules.route(&ctx.project, topic);
    let human = |reason: String, queue: Option<&str>| Decision {
        action: Action::Human,
        queue: Some(queue.unwrap_or(&rules.default_queue).to_string()),
        template: None,
        reason,
    };
    let sensitive_ticket = ctx
        .ticket_topic
        .as_deref()
        .is_some_and(|t| rules.is_sensitive_topic(&ctx.project, t))
        || ctx
            .ticket_queue
            .as_deref()
            .is_some_and(|q| rules.is_restricted_queue(q));
    let sensitive_topic = route.is_some_and(|r| r.sensitive);
    if sensitive_topic || (ctx.follow_up && sensitive_ticket) {
        let queue = route
            .filter(|r| r.sensitive)
            .and_then(|r| r.queue.clone())
            .or_else(|| {
                ctx.ticket_queue
                    .clone()
                    .filter(|q| rules.is_restricted_queue(q))
            })
            .unwrap_or_else(|| rules.sensitive_queue.clone());
        let reason = if sensitive_topic {
            format!("Topic {topic} is sensitive: escalated to the restricted queue {queue}, no canned answer.")
        } else {
            let earlier = ctx.ticket_topic.as_deref().unwrap_or("sensitive");
            format!("Follow-up in a sensitive conversation ({earlier}): escalated to the restricted queue {queue}.")
        };
        return Decision {
            action: Action::Escalate,
            queue: Some(queue),
            template: None,
            reason,
        };
    }
    let route_queue = route.and_then(|r| r.queue.as_deref());
    if ctx.follow_up {
        let queue = ctx.ticket_queue.as_deref().or(route_queue);
        return human(
            format!("Follow-up in an existing conversation (topic {topic}): a person answers."),
            queue,
        );
    }
    if class.topic_uncertain || (topic == "other" && !class.candidates.is_empty()) {
        let cands = candidates(class);
        let why = if class.topic_score < rules.thresholds.min_score {
            format!("below the threshold {}", rules.thresholds.min_score)
        } else {
            "too close to the runner-up".to_string()
        };
        return human(
            format!("Topic unsure ({why}); candidates: {cands}. A person decides."),
            route_queue,
        );
    }
    let Some(route) = route else {
        return human(
            format!("No route for topic {topic}: a person decides."),
            None,
        );
    };
    match route.action {
        Action::AutoReply => {
            if let Verdict::Untrusted { reason } = verdict {
                return human(
                    format!("Topic {topic} would get an automatic answer, but {reason}: a person decides."),
                    route_queue,
                );
            }
            let template = route.template.clone();
            let lang = class.language.as_deref().unwrap_or("?");
            Decision {
                action: Action::AutoReply,
                queue: None,
                reason: format!(
                    "First message about {topic} (score {}), language {lang}: answered with the {} template.",
                    class.topic_score,
                    template.as_deref().unwrap_or(topic)
                ),
                template,
            }
        }
        Action::Ignore => Decision {
            action: Action::Ignore,
            queue: None,
            template: None,
            reason: format!("Topic {topic} is routed to ignore: recorded only."),
        },
        Action::Escalate => {
            let queue = route
                .queue
                .clone()
                .unwrap_or_else(|| rules.sensitive_queue.clone());
            Decision {
                action: Action::Escalate,
                reason: format!("Topic {topic} is routed to escalate: queue {queue}."),
                queue: Some(queue),
                template: None,
            }
        }
        Action::Human => {
            let what = if topic == "other" {
                "No known topic".to_string()
            } else {
                format!("Topic {topic}")
            };
            human(format!("{what}: a person answers."), route_queue)
        }
    }
}

fn candidates(class: &Classification) -> String {
    if class.candidates.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = class
        .candidates
        .iter()
        .map(|c| format!("{} {}", c.topic, c.score))
        .collect();
    list.join(", ")
}
