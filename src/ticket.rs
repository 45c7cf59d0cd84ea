//! Ticket identity, token and lifecycle.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A stored ticket's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

impl TicketId {
    /// The exact tag helpgate puts in subjects, e.g. `[#12]`.
    pub fn token(self) -> String {
        format!("[#{}]", self.0)
    }

    /// The token with the site tag, as Request Tracker's `[rtname #12]`, so
    /// that two installs (or one reset) never take each other's numbers;
    /// `[#12]` without one.
    pub fn token_tagged(self, site_tag: Option<&str>) -> String {
        match site_tag {
            Some(tag) => format!("[{tag} #{}]", self.0),
            None => self.token(),
        }
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A stored message's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a ticket stands. Transitions are methods so that callers cannot
/// invent states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Waiting for a specialist.
    Open,
    /// Answered (automatically or by a specialist); waiting for the participant.
    Answered,
    /// Machine mail or otherwise needs nobody: recorded only.
    Recorded,
    /// Done. A follow-up reopens it.
    Closed,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Answered => "answered",
            TicketState::Recorded => "recorded",
            TicketState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => TicketState::Open,
            "answered" => TicketState::Answered,
            "recorded" => TicketState::Recorded,
            "closed" => TicketState::Closed,
            _ => return None,
        })
    }

    /// The state after a participant's follow-up arrives: any follow-up
    /// needs attention again, a closed ticket is reopened.
    pub fn on_follow_up(self, needs_human: bool) -> Self {
        match (self, needs_human) {
            (_, true) => TicketState::Open,
            (TicketState::Closed, false) => TicketState::Open,
            (s, false) => s,
        }
    }
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
