//! What to do with a message, and why. Pure: verdict + classification +
//! ticket context + rules -> [`Decision`].

use crate::classify::Classification;
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
}

pub fn decide(
    _verdict: &Verdict,
    _class: &Classification,
    _ctx: &TicketContext,
    _rules: &RuleSet,
) -> Decision {
    Decision {
        action: Action::Human,
        queue: Some("general".to_string()),
        template: None,
        reason: "classification is not available yet: every message goes to a human".to_string(),
    }
}
