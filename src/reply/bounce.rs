//! Bounces of, and automatic answers to, our own replies. They belong to
//! the ticket the reply was for (a note on it), never open a ticket, and a
//! hard bounce stops automatic replies to that address for a while.

use crate::parse::ParsedEmail;
use crate::store::messages::BounceFacts;
use crate::store::{events, outbox, suppression, StoreResult};
use crate::thread::{TicketRef, Via};
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

/// Our outbox row this message answers or reports on: the DSN's original
/// Message-ID first, then In-Reply-To and References.
pub fn our_reply(conn: &Connection, email: &ParsedEmail) -> StoreResult<Option<outbox::Outgoing>> {
    let dsn = email
        .delivery_report
        .as_ref()
        .and_then(|d| d.original_message_id.clone());
    let candidates = dsn
        .into_iter()
        .chain(email.in_reply_to.iter().cloned())
        .chain(email.references.iter().rev().cloned());
    for id in candidates {
        if let Some(row) = outbox::find_by_message_id(conn, &id)? {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// When threading found nothing but the message is a bounce of one of our
/// replies (References missing, the DSN names the original), attach it to
/// that reply's ticket.
pub fn relocate(
    conn: &Connection,
    email: &ParsedEmail,
    located: TicketRef,
) -> StoreResult<TicketRef> {
    if located != TicketRef::New || email.delivery_report.is_none() {
        return Ok(located);
    }
    Ok(match our_reply(conn, email)?.and_then(|r| r.ticket) {
        Some(ticket) => TicketRef::Existing {
            ticket,
            via: Via::References,
        },
        None => located,
    })
}

/// Whether a DSN says the failure is permanent.
pub fn is_hard(report: &crate::parse::DeliveryReport) -> bool {
    match report.status.as_deref() {
        Some(s) => s.trim().starts_with('5'),
        None => report
            .action
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("failed")),
    }
}

/// Record a bounce of, or automatic answer to, one of our replies on the
/// ticket. Returns whether the message was one.
pub fn record(
    conn: &Connection,
    email: &ParsedEmail,
    ticket: TicketId,
    now: DateTime<Utc>,
    suppress_for: std::time::Duration,
) -> StoreResult<bool> {
    let Some(row) = our_reply(conn, email)? else {
        return Ok(false);
    };
    if row.ticket != Some(ticket) {
        return Ok(false);
    }
    if let Some(report) = &email.delivery_report {
        let action = report.action.as_deref().unwrap_or("");
        if action.eq_ignore_ascii_case("delayed") || action.eq_ignore_ascii_case("delivered") {
            events::add(
                conn,
                ticket,
                now,
                "mailer",
                "reply_delayed",
                &format!("reply {action}: {}", summary(report)),
            )?;
            return Ok(true);
        }
        let detail = format!("reply bounced: {}", summary(report));
        events::add(conn, ticket, now, "mailer", "reply_bounced", &detail)?;
        outbox::mark_bounced(conn, row.id, &detail)?;
        if is_hard(report) {
            // Whatever address the report names (Final-Recipient is the
            // bounce's sender's word: a forged DSN quoting one of our
            // Message-IDs named a victim), only the address we wrote to is
            // suppressed.
            let address = row.recipient.clone();
            let until = now
                + chrono::Duration::from_std(suppress_for)
                    .expect("suppression is at most ten years");
            suppression::add(conn, &address, &detail, now, until)?;
            tracing::info!(ticket = ticket.0, "hard bounce: address suppressed");
        }
        outbox::to_human(conn, ticket, now)?;
        return Ok(true);
    }
    if crate::reply::limits::machine_headers(email).is_some() {
        events::add(
            conn,
            ticket,
            now,
            "mailer",
            "auto_answer",
            "automatic answer (e.g. out of office) to our reply; not answered",
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// What a bounce says, for its message row (`messages list`, `tickets
/// show`): the failed address, the status code, and the ticket it hits:
/// the one whose reply bounced, else the one it was threaded into.
pub fn facts(
    conn: &Connection,
    email: &ParsedEmail,
    threaded: Option<TicketId>,
) -> StoreResult<Option<BounceFacts>> {
    let Some(report) = &email.delivery_report else {
        return Ok(None);
    };
    let ticket = match our_reply(conn, email)?.and_then(|r| r.ticket) {
        Some(t) => Some(t),
        None => threaded,
    };
    let address = report.final_recipient.as_deref().and_then(|r| {
        // "rfc822; <ana@example.org>" and other address types.
        let bare = r.rsplit(';').next().unwrap_or(r);
        let bare = bare.trim().trim_matches(['<', '>']).trim();
        bare.contains('@').then(|| bare.to_string())
    });
    Ok(Some(BounceFacts {
        address,
        status: report.status.clone().filter(|s| !s.is_empty()),
        ticket,
    }))
}

/// "5.1.1 user unknown" from a report.
fn summary(r: &crate::parse::DeliveryReport) -> String {
    let status = r.status.as_deref().unwrap_or("?");
    let diag = r
        .diagnostic
        .as_deref()
        .map(|d| d.rsplit(';').next().unwrap_or(d).trim())
        .unwrap_or("");
    let diag: String = diag.chars().take(200).collect();
    let diag = diag.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '.');
    if diag.is_empty() {
        status.to_string()
    } else {
        format!("{status} {diag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::DeliveryReport;

    #[test]
    fn summary_and_hardness() {
        let r = DeliveryReport {
            action: Some("failed".into()),
            status: Some("5.1.1".into()),
            final_recipient: Some("rfc822; ana@example.org".into()),
            original_message_id: None,
            diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
        };
        assert_eq!(summary(&r), "5.1.1 user unknown");
        assert!(is_hard(&r));
        let soft = DeliveryReport {
            status: Some("4.2.2".into()),
            ..r
        };
        assert!(!is_hard(&soft));
    }
}
