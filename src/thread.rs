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

static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:([A-Za-z0-9._-]{1,32}) +)?#(\d{1,18})\]").expect("static regex compiles")
});

/// Tokens of one subject looked at, at most: a subject of 3.5 M tokens
/// took 12.8 s and 1.8 GB before this bound.
pub const MAX_TOKENS: usize = 8;
/// Message-IDs of In-Reply-To and References looked up, at most (the
/// newest ones): every look-up is a query.
pub const MAX_REFERENCES: usize = 50;

/// A ticket token found in a subject: `[#12]` or `[tag #12]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tag: Option<String>,
    pub ticket: TicketId,
}

/// The ticket tokens of a subject, in order of appearance, at most [`MAX_TOKENS`].
pub fn tokens(subject: &str) -> Vec<Token> {
    TOKEN
        .captures_iter(subject)
        .take(MAX_TOKENS)
        .filter_map(|c| {
            Some(Token {
                tag: c.get(1).map(|m| m.as_str().to_string()),
                ticket: TicketId(c[2].parse().ok()?),
            })
        })
        .collect()
}

/// Every ticket number tagged `[#N]` in a subject, in order of appearance.
pub fn subject_tokens(subject: &str) -> Vec<TicketId> {
    tokens(subject)
        .into_iter()
        .filter(|t| t.tag.is_none())
        .map(|t| t.ticket)
        .collect()
}

/// [`locate_tagged`] for an install without a site tag.
pub fn locate(conn: &Connection, email: &ParsedEmail) -> StoreResult<(TicketRef, Vec<ParseNote>)> {
    locate_tagged(conn, email, None)
}

/// Find the ticket `email` belongs to. A subject token is only a claim,
/// since anyone can write `[#1]`: it joins the ticket when the sender is the
/// ticket's participant (or wrote in it before), or when the mail answers a
/// message of that ticket; a token with our site tag or none counts, one
/// with another install's tag does not. Tokens that join nothing leave a
/// note, and the mail starts its own ticket.
pub fn locate_tagged(
    conn: &Connection,
    email: &ParsedEmail,
    site_tag: Option<&str>,
) -> StoreResult<(TicketRef, Vec<ParseNote>)> {
    let mut notes = Vec::new();
    let sender = email.from.as_ref().map(|a| a.email.as_str());
    let answered: Vec<&String> = email
        .in_reply_to
        .iter()
        .chain(email.references.iter().rev())
        .take(MAX_REFERENCES)
        .collect();
    for tok in tokens(&email.subject) {
        let id = tok.ticket;
        let ours_tagged = match (&tok.tag, site_tag) {
            (None, _) => false,
            (Some(t), Some(site)) if t.eq_ignore_ascii_case(site) => true,
            // Another install's ticket, or a bracketed word that is not ours.
            (Some(_), _) => continue,
        };
        if !tickets::exists(conn, id)? {
            notes.push(ParseNote::with(
                "unknown_ticket_token",
                format!(
                    "subject names {} but no such ticket exists",
                    id.token_tagged(tok.tag.as_deref())
                ),
            ));
            continue;
        }
        let is_participant = match sender {
            Some(s) => tickets::has_sender(conn, id, s)?,
            None => false,
        };
        // Old-style tokens once a site tag is set: the participant's own only.
        let answers_it = (ours_tagged || site_tag.is_none())
            && answered
                .iter()
                .map(|m| messages::ticket_of(conn, m))
                .collect::<StoreResult<Vec<_>>>()?
                .contains(&Some(id));
        if is_participant || answers_it {
            return Ok((
                TicketRef::Existing {
                    ticket: id,
                    via: Via::SubjectToken,
                },
                notes,
            ));
        }
        notes.push(ParseNote::with(
            "ticket_token_refused",
            format!(
                "subject names {} but the sender is not its participant and the mail answers none of its messages: a new ticket",
                id.token_tagged(tok.tag.as_deref())
            ),
        ));
    }
    for id in email.in_reply_to.iter().take(MAX_REFERENCES) {
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
    for id in email.references.iter().rev().take(MAX_REFERENCES) {
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

    #[test]
    fn issue_10_site_tags_and_a_bounded_number_of_tokens() {
        assert_eq!(
            tokens("Re: x [voices #7] [#8] [other.desk #9]"),
            vec![
                Token {
                    tag: Some("voices".into()),
                    ticket: TicketId(7)
                },
                Token {
                    tag: None,
                    ticket: TicketId(8)
                },
                Token {
                    tag: Some("other.desk".into()),
                    ticket: TicketId(9)
                },
            ]
        );
        let huge = "[#1] ".repeat(3_500_000);
        let started = std::time::Instant::now();
        assert_eq!(tokens(&huge).len(), MAX_TOKENS);
        assert!(
            started.elapsed().as_millis() < 500,
            "{:?}",
            started.elapsed()
        );
    }
}
