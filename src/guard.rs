//! Machine or human? Decided before topics, from headers and structure.
//! (Placeholder until the rules issue lands.)

use crate::parse::ParsedEmail;
use crate::rules::RuleSet;
use serde::Serialize;

/// What kind of sender wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A person.
    Human,
    /// Automatic mail: never answered. `kind` is `bounce`, `autoreply`,
    /// `list` or `spam`.
    Machine { kind: String, reason: String },
    /// A person's mail whose sender could not be verified (SPF/DKIM/DMARC
    /// failure): never answered automatically.
    Untrusted { reason: String },
}

impl Verdict {
    pub fn is_machine(&self) -> bool {
        matches!(self, Verdict::Machine { .. })
    }
}

pub fn check(_email: &ParsedEmail, _rules: &RuleSet) -> Verdict {
    Verdict::Human
}
