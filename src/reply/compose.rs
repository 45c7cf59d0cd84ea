//! Outgoing mail, composed with lettre: threaded into the participant's
//! conversation, marked as automatic when it is, and byte-for-byte
//! reproducible for a given clock (golden tests below).

use super::echo;
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;
use sha2::{Digest, Sha256};

/// How many Message-IDs of the conversation we repeat in References.
pub const MAX_REFERENCES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid address {address:?}")]
    Address {
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("cannot build the message")]
    Build(#[from] lettre::error::Error),
    /// lettre panicked on a value we did not clean well enough: the reply is
    /// not sent, the message goes to a human, the process lives on.
    #[error("cannot build the message: the mail library gave up ({0})")]
    Panicked(String),
}

/// Everything one reply needs.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    pub ticket: TicketId,
    /// `[tickets] tag`: the subject carries `[tag #N]` instead of `[#N]`.
    pub site_tag: Option<&'a str>,
    /// Our support address and display name.
    pub from_address: &'a str,
    pub from_name: &'a str,
    pub to_address: &'a str,
    pub to_name: Option<&'a str>,
    /// The participant's subject; empty when they sent none.
    pub original_subject: &'a str,
    /// Used when `original_subject` is empty.
    pub fallback_subject: &'a str,
    /// The Message-ID we answer (no angle brackets).
    pub in_reply_to: Option<&'a str>,
    /// The conversation so far, oldest first (no angle brackets).
    pub references: &'a [String],
    pub body: &'a str,
    pub language: &'a str,
    /// Sent by helpgate on its own (not typed by a specialist).
    pub automatic: bool,
    pub date: DateTime<Utc>,
}

/// A composed mail, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Without angle brackets.
    pub message_id: String,
    pub recipient: String,
    pub raw: Vec<u8>,
}

/// `Re: <original> [#N]`, without doubling either part. One line, the
/// original bounded to [`echo::MAX_SUBJECT_CHARS`].
pub fn reply_subject(original: &str, tag: &str, fallback: &str) -> String {
    let original = echo::truncate(&echo::one_line(original), echo::MAX_SUBJECT_CHARS);
    let fallback = echo::one_line(fallback);
    let base = if original.is_empty() {
        fallback.as_str()
    } else {
        original.as_str()
    };
    let mut s = if original.is_empty() || has_re_prefix(base) {
        base.to_string()
    } else {
        format!("Re: {base}")
    };
    if !s.contains(tag) {
        s.push(' ');
        s.push_str(tag);
    }
    s
}

fn has_re_prefix(s: &str) -> bool {
    s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:"))
}

/// Our Message-ID for a reply: names the ticket, lives in our own domain,
/// and is unique per (ticket, cause, time, body).
pub fn message_id(r: &Reply<'_>) -> String {
    let domain = r
        .from_address
        .rsplit_once('@')
        .map_or("helpgate.invalid", |(_, d)| d);
    let mut h = Sha256::new();
    h.update(r.ticket.0.to_be_bytes());
    h.update(r.in_reply_to.unwrap_or("").as_bytes());
    h.update(r.date.timestamp_millis().to_be_bytes());
    h.update(r.body.as_bytes());
    let digest = hex::encode(h.finalize());
    format!(
        "helpgate.t{}.{}.{}@{domain}",
        r.ticket.0,
        r.date.format("%Y%m%d%H%M%S"),
        &digest[..12]
    )
}

/// The ticket a Message-ID of ours names, if it is one.
pub fn ticket_of_message_id(id: &str) -> Option<TicketId> {
    let rest = id.trim_matches(['<', '>']).strip_prefix("helpgate.t")?;
    rest.split('.').next()?.parse().ok().map(TicketId)
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, ComposeError> {
    let email = address.parse().map_err(|source| ComposeError::Address {
        address: address.to_string(),
        source,
    })?;
    Ok(Mailbox::new(
        name.map(|n| echo::truncate(&echo::one_line(n), echo::MAX_NAME_CHARS))
            .filter(|n| !n.is_empty()),
        email,
    ))
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string())
}

/// Compose a reply. Never panics: header values are cleaned first, and a
/// panic inside lettre all the same becomes [`ComposeError::Panicked`].
pub fn compose(r: &Reply<'_>) -> Result<Composed, ComposeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compose_inner(r)))
        .unwrap_or_else(|payload| Err(ComposeError::Panicked(crate::fault::panic_text(&*payload))))
}

fn compose_inner(r: &Reply<'_>) -> Result<Composed, ComposeError> {
    let id = message_id(r);
    let in_reply_to = r.in_reply_to.and_then(echo::safe_id);
    let mut b = Message::builder()
        .from(mailbox(Some(r.from_name), r.from_address)?)
        .to(mailbox(r.to_name, r.to_address)?)
        .subject(reply_subject(
            r.original_subject,
            &r.ticket.token_tagged(r.site_tag),
            r.fallback_subject,
        ))
        .date(std::time::SystemTime::from(r.date))
        .message_id(Some(format!("<{id}>")));
    if let Some(parent) = in_reply_to {
        b = b.in_reply_to(format!("<{parent}>"));
    }
    let mut chain: Vec<&str> = r
        .references
        .iter()
        .filter_map(|x| echo::safe_id(x))
        .collect();
    if let Some(parent) = in_reply_to {
        if chain.last() != Some(&parent) {
            chain.retain(|x| *x != parent);
            chain.push(parent);
        }
    }
    if chain.len() > MAX_REFERENCES {
        // Keep the root (first) and the most recent ones.
        let tail = chain.split_off(chain.len() - (MAX_REFERENCES - 1));
        chain.truncate(1);
        chain.extend(tail);
    }
    if !chain.is_empty() {
        let refs: Vec<String> = chain.iter().map(|x| format!("<{x}>")).collect();
        b = b.references(refs.join(" "));
    }
    b = b
        .header(ContentType::TEXT_PLAIN)
        .raw_header(raw_header("Content-Language", &echo::one_line(r.language)));
    if r.automatic {
        b = b
            .raw_header(raw_header("Auto-Submitted", "auto-replied"))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All"));
    }
    let body = r.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let msg = b.body(body)?;
    Ok(Composed {
        message_id: id,
        recipient: r.to_address.to_string(),
        raw: msg.formatted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn reply<'a>(body: &'a str, refs: &'a [String], automatic: bool) -> Reply<'a> {
        Reply {
            ticket: TicketId(42),
            site_tag: None,
            from_address: "support@voices.example",
            from_name: "Voices",
            to_address: "ana@example.org",
            to_name: Some("Ana Souza"),
            original_subject: "Pagamento atrasado",
            fallback_subject: "Seu pagamento",
            in_reply_to: Some("abc@mail.example.org"),
            references: refs,
            body,
            language: "pt",
            automatic,
            date: Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap(),
        }
    }

    #[test]
    fn golden_automatic_reply_utf8() {
        let c = compose(&reply("Olá Ana,\nobrigado.\n", &[], true)).unwrap();
        let got = String::from_utf8(c.raw).unwrap();
        let want = "From: Voices <support@voices.example>\r\n\
To: \"Ana Souza\" <ana@example.org>\r\n\
Subject: Re: Pagamento atrasado [#42]\r\n\
Date: Sun, 01 Mar 2026 09:30:00 +0000\r\n\
Message-ID: <helpgate.t42.20260301093000.1b4a0a5d811e@voices.example>\r\n\
In-Reply-To: <abc@mail.example.org>\r\n\
References: <abc@mail.example.org>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Language: pt\r\n\
Auto-Submitted: auto-replied\r\n\
X-Auto-Response-Suppress: All\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Ol=C3=A1 Ana,\r\n\
obrigado.\r\n";
        assert_eq!(got, want);
        assert_eq!(c.recipient, "ana@example.org");
        assert_eq!(ticket_of_message_id(&c.message_id), Some(TicketId(42)));
    }

    #[test]
    fn golden_human_reply_ascii_has_no_auto_headers_and_capped_references() {
        let refs: Vec<String> = (1..=14).map(|i| format!("m{i}@x")).collect();
        let c = compose(&reply("Hello Ana,\nsee you.\n", &refs, false)).unwrap();
        let got = String::from_utf8(c.raw).unwrap();
        assert!(!got.contains("Auto-Submitted"));
        assert!(!got.contains("X-Auto-Response-Suppress"));
        assert!(got.contains("Content-Transfer-Encoding: 7bit\r\n\r\nHello Ana,\r\nsee you.\r\n"));
        let refs_line: String = got
            .split("\r\n")
            .skip_while(|l| !l.starts_with("References:"))
            .take_while(|l| l.starts_with("References:") || l.starts_with(' '))
            .collect();
        let ids: Vec<&str> = refs_line.split_whitespace().skip(1).collect();
        assert_eq!(ids.len(), MAX_REFERENCES, "{refs_line}");
        assert_eq!(ids[0], "<m1@x>");
        assert_eq!(ids[MAX_REFERENCES - 1], "<abc@mail.example.org>");
    }

    #[test]
    fn subject_is_not_doubled() {
        let t = &TicketId(5).token();
        assert_eq!(reply_subject("Payment", t, "x"), "Re: Payment [#5]");
        assert_eq!(
            reply_subject("Payment", &TicketId(5).token_tagged(Some("voices")), "x"),
            "Re: Payment [voices #5]"
        );
        assert_eq!(reply_subject("RE: Payment", t, "x"), "RE: Payment [#5]");
        assert_eq!(
            reply_subject("Re: Payment [#5]", t, "x"),
            "Re: Payment [#5]"
        );
        assert_eq!(reply_subject("  ", t, "Your payment"), "Your payment [#5]");
    }

    #[test]
    fn issue_10_hostile_names_subjects_and_ids_compose_within_998_per_line() {
        let long_id = format!("{}@x.example", "a".repeat(240));
        let refs: Vec<String> = (0..40).map(|i| format!("{i}{long_id}")).collect();
        let subject = "Zahlung ".repeat(100_000);
        let name = format!("Ana\nSmith\r\nBcc: victim@x.example {}", "é".repeat(5000));
        let mut r = reply("hi\n", &refs, true);
        r.to_name = Some(&name);
        r.original_subject = &subject;
        r.in_reply_to = Some(&long_id);
        let c = compose(&r).unwrap();
        let text = String::from_utf8(c.raw).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "{} chars: {}", line.len(), &line[..80]);
        }
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(!head.contains("\nBcc:"), "{head}");
        assert!(!head.lines().any(|l| l.starts_with("Bcc:")), "{head}");
    }

    #[test]
    fn issue_10_a_line_feed_in_a_display_name_does_not_panic() {
        let mut r = reply("hi\n", &[], true);
        r.to_name = Some("Ana\nSmith");
        let c = compose(&r).unwrap();
        let text = String::from_utf8(c.raw).unwrap();
        assert!(
            text.contains("To: \"Ana Smith\" <ana@example.org>\r\n"),
            "{text}"
        );
    }

    #[test]
    fn same_input_same_bytes() {
        let a = compose(&reply("x\n", &[], true)).unwrap();
        let b = compose(&reply("x\n", &[], true)).unwrap();
        assert_eq!(a.raw, b.raw);
    }
}
