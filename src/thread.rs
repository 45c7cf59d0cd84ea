//! Which ticket does a message belong to? Our subject token first, then
//! In-Reply-To / References (including replies we sent). Subject similarity
//! alone never merges two conversations.

use crate::parse::{ParseNote, ParsedEmail};
use crate::store::{messages, tickets, StoreResult};
use crate::ticket::TicketId;
use regex::Regex;
use rusqlite::Connection;
use std::sync::LazyLock;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRef {
    /// Continues this ticket; `via` says what linked it.
    Existing { ticket: TicketId, via: Via },
    /// Starts a new conversation.
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    SubjectToken,
    InReplyTo,
    References,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::SubjectToken => "subject token",
            Via::InReplyTo => "In-Reply-To",
            Via::References => "References",
        }
    }
}

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[#(\d{1,18})\]").expect("static regex compiles"));

/// Every ticket number tagged in a subject, in order of appearance.
pub fn subject_tokens(subject: &str) -> Vec<TicketId> {
    TOKEN
        .captures_iter(subject)
        .filter_map(|c| c[1].parse().ok())
        .map(TicketId)
        .collect()
}

/// Find the ticket `email` belongs to. Returns notes for tokens that name no
/// ticket (they are ignored, not trusted).
pub fn locate(conn: &Connection, email: &ParsedEmail) -> StoreResult<(TicketRef, Vec<ParseNote>)> {
    let mut notes = Vec::new();
    for id in subject_tokens(&email.subject) {
        if tickets::exists(conn, id)? {
            return Ok((
                TicketRef::Existing {
                    ticket: id,
                    via: Via::SubjectToken,
                },
                notes,
            ));
        }
        notes.push(ParseNote::with(
            "unknown_ticket_token",
            format!("subject names {} but no such ticket exists", id.token()),
        ));
    }
    for id in &email.in_reply_to {
        if let Some(ticket) = messages::ticket_of(conn, id)? {
            return Ok((
                TicketRef::Existing {
                    ticket,
                    via: Via::InReplyTo,
                },
                notes,
            ));
        }
    }
    // Newest reference first: the closest ancestor we know decides.
    for id in email.references.iter().rev() {
        if let Some(ticket) = messages::ticket_of(conn, id)? {
            return Ok((
                TicketRef::Existing {
                    ticket,
                    via: Via::References,
                },
                notes,
            ));
        }
    }
    Ok((TicketRef::New, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_behind_any_reply_prefix() {
        for s in [
            "Re: payment [#12]",
            "AW: Zahlung [#12]",
            "Ynt: ödeme [#12]",
            "Απ: πληρωμή [#12]",
            "回复：付款 [#12]",
            "답장: 결제 [#12]",
            "RE: Fwd: [#12] upload",
        ] {
            assert_eq!(subject_tokens(s), vec![TicketId(12)], "{s}");
        }
    }

    #[test]
    fn ignores_lookalikes() {
        assert!(subject_tokens("Order #12 [12] [# 12]").is_empty());
    }
}
