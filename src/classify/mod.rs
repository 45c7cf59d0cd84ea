//! Language and topic of a message. Pure and context-free, so it can run in
//! parallel before the store is touched. (Placeholder until the rules issue
//! lands.)

use crate::parse::ParsedEmail;
use crate::rules::RuleSet;
use serde::Serialize;

/// What a message is about and in which language.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Classification {
    /// ISO 639-1 code, when known.
    pub language: Option<String>,
    pub topic: Option<String>,
}

pub fn classify(_email: &ParsedEmail, _rules: &RuleSet) -> Classification {
    Classification::default()
}
