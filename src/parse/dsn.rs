//! Delivery reports: RFC 3464 `message/delivery-status` parts, and the
//! common bounces that are not standard DSNs (qmail, old Exim, Exchange and
//! Outlook NDRs in several languages, Postfix without a DSN part).
//!
//! What we need from a bounce is which of *our* messages failed (the
//! original Message-ID) and why; the guard uses the mere presence of a
//! report to stay silent.

use super::mime::mime_type;
use super::DeliveryReport;
use aho_corasick::AhoCorasick;
use mail_parser::{Message, MimeHeaders, PartType};
use regex::Regex;
use std::sync::LazyLock;

static STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([245]\.\d{1,3}\.\d{1,3})\b").expect("valid regex"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+").expect("valid regex")
});
static SMTP_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^.*\b[45]\d\d[ -][^\n]*$").expect("valid regex"));
static MESSAGE_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*message-id:\s*<?([^\s<>]+@[^\s<>]+)>?").expect("valid regex")
});

/// Body phrases that only bounces contain.
const BOUNCE_PHRASES: &[&str] = &[
    "this is the qmail-send program",
    "this message was created automatically by mail delivery software",
    "this is the mail system at host",
    "the original message was received at",
    "i'm sorry to have to inform you that your message could not",
    "i'm afraid i wasn't able to deliver your message",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "delivery has failed to these recipients or groups",
    "your message did not reach some or all of the intended recipients",
    "your message couldn't be delivered",
    "your message wasn't delivered",
    "the following addresses had permanent fatal errors",
    "the following recipient(s) could not be reached",
    "message could not be delivered",
    "could not be delivered to one or more recipients",
    "your mail to the following recipients could not be delivered",
    "unable to deliver your message",
    "delivery status notification",
    "undeliverable message",
    "a message that you sent could not be delivered",
    "message delivery to the following recipients",
    "permanent error. the following",
    "ihre nachricht konnte nicht",
    "die nachricht konnte nicht",
    "übermittlung an folgende empfänger oder gruppen fehlgeschlagen",
    "unzustellbar",
    "la remise du message aux destinataires ou groupes suivants a échoué",
    "impossible de remettre",
    "votre message n'a pas pu être remis",
    "error al entregar a estos destinatarios o grupos",
    "no se pudo entregar",
    "não foi possível entregar",
    "falha na entrega",
    "impossibile recapitare",
    "consegna non riuscita",
    "bezorging is mislukt",
    "kan niet worden bezorgd",
    "toimitus epäonnistui",
    "teslim edilemedi",
    "αποτυχία παράδοσης",
    "退信",
    "无法投递",
    "전송 실패",
    "không thể gửi",
];

/// Words after which bounces list the failed recipients.
const RECIPIENT_MARKERS: &[&str] = &[
    "address(es) failed",
    "addresses failed",
    "following address",
    "following recipient",
    "permanent fatal errors",
    "could not be delivered to",
    "couldn't be delivered to",
    "wasn't delivered to",
    "delivery to the following",
    "failed recipient",
    "folgende empfänger",
    "destinataires suivants",
    "destinatarios",
    "destinatários",
];

const DAEMON_LOCALS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "delivery status notification",
    "mail delivery failed",
    "delivery failure",
    "failure notice",
    "returned mail",
    "mail system error",
    "delivery notification",
    "could not send message",
    "nondeliverable",
    "non remis",
    "no se puede entregar",
    "unzustellbar",
    "onbestelbaar",
    "non recapitabile",
    "não entregue",
    "warning: message",
    "delayed mail",
    "mail delivery problem",
];

/// Weaker phrases, enough when the mail came from the null sender (`<>`).
const NULL_SENDER_PHRASES: &[&str] = &[
    "not a valid user",
    "user unknown",
    "no such user",
    "mailbox unavailable",
    "does not exist",
    "could not be delivered",
    "undeliverable",
    "delivery failed",
    "mailbox is full",
    "over quota",
];

/// What of the bounce itself tells whose address failed.
pub(super) struct Envelope<'a> {
    /// The mail came from the null sender (`<>`).
    pub(super) null_sender: bool,
    pub(super) from: Option<&'a str>,
    pub(super) subject: &'a str,
    /// The bounce's own header fields (lower-case names).
    pub(super) headers: &'a [(String, String)],
}

/// A report for `msg`, when it is one.
pub(super) fn detect(msg: &Message<'_>, env: &Envelope<'_>, body: &str) -> Option<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let mut standard = false;
    for part in &msg.parts {
        let ct = mime_type(part, "");
        match ct.as_str() {
            // Also the non-standard "message/xdelivery-status" some
            // gateways send beside (or instead of) the real one.
            t if t.starts_with("message/") && t.ends_with("delivery-status") => {
                standard = true;
                let text = String::from_utf8_lossy(part.contents());
                fill_from_status(&mut report, &text);
            }
            "message/rfc822"
            | "message/global"
            | "text/rfc822-headers"
            | "message/rfc822-headers"
                if report.original_message_id.is_none() =>
            {
                report.original_message_id = match &part.body {
                    PartType::Message(m) => m.message_id().map(clean_id),
                    _ => find_message_id(&String::from_utf8_lossy(part.contents())),
                };
            }
            _ => {}
        }
    }
    let is_report = msg.parts.first().is_some_and(|p| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case("multipart")
                && c.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
                && c.attribute("report-type")
                    .is_some_and(|r| r.to_ascii_lowercase().contains("delivery-status"))
        })
    });
    if standard || is_report {
        if report.action.is_none() {
            report.action = Some("failed".into());
        }
        if report.status.is_none() {
            report.status = STATUS.captures(body).map(|c| c[1].to_string());
        }
        if report.final_recipient.is_none() {
            report.final_recipient = Recipients::new(env, body).find(body);
        }
        return Some(report);
    }
    heuristic(env, body, report.original_message_id)
}

fn fill_from_status(report: &mut DeliveryReport, text: &str) {
    // Unfold, then read "Field: value" lines; the first recipient wins.
    let unfolded = text
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    for line in unfolded.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let typed = || {
            value
                .split_once(';')
                .map_or(value, |(_, v)| v)
                .trim()
                .to_string()
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "action" if report.action.is_none() => report.action = Some(value.to_ascii_lowercase()),
            "status" if report.status.is_none() => {
                report.status = Some(value.split_whitespace().next().unwrap_or("").to_string())
            }
            "final-recipient" if report.final_recipient.is_none() => {
                report.final_recipient = Some(clean_id(&typed()))
            }
            "original-recipient" if report.final_recipient.is_none() => {
                report.final_recipient = Some(clean_id(&typed()))
            }
            "diagnostic-code" if report.diagnostic.is_none() => report.diagnostic = Some(typed()),
            _ => {}
        }
    }
}

/// Where the first of [`BOUNCE_PHRASES`] (in list order) that occurs in
/// `lower` first occurs: what `find_map(|p| lower.find(p))` gives, in one
/// pass instead of one per phrase (over bounces quoting whole messages,
/// those scans took 2.9 % of realistic ingest's CPU).
fn first_bounce_phrase(lower: &str) -> Option<usize> {
    static PHRASES: LazyLock<AhoCorasick> =
        LazyLock::new(|| AhoCorasick::new(BOUNCE_PHRASES).expect("valid phrases"));
    let mut first: Option<(usize, usize)> = None;
    for m in PHRASES.find_overlapping_iter(lower) {
        // Matches come by end; one phrase's first match is its earliest.
        let p = m.pattern().as_usize();
        if first.is_none_or(|(q, _)| p < q) {
            first = Some((p, m.start()));
        }
    }
    first.map(|(_, at)| at)
}

fn heuristic(env: &Envelope<'_>, body: &str, original: Option<String>) -> Option<DeliveryReport> {
    let (null_sender, from, subject) = (env.null_sender, env.from, env.subject);
    let daemon = from.is_none_or(|f| {
        let local = f.split('@').next().unwrap_or("").to_ascii_lowercase();
        DAEMON_LOCALS.contains(&local.as_str())
    });
    let subj = subject.to_lowercase();
    // "Fwd: Delivery Status Notification (Failure)" is a person passing a
    // bounce on, with their own words on top; no mail system forwards.
    let bounce_subject = !super::quote::is_forward_subject(subject)
        && BOUNCE_SUBJECTS.iter().any(|s| subj.contains(s));
    // Bounces come from a mail system, the null sender or carry a bounce
    // subject; other mail skips the (costly) body scan.
    if !(daemon || bounce_subject || null_sender) {
        return None;
    }
    let lower = body.to_lowercase();
    let phrase = first_bounce_phrase(&lower);
    let is_bounce = match phrase {
        Some(_) => {
            daemon || bounce_subject || lower.contains("qmail-send") || STATUS.is_match(body)
        }
        None => {
            daemon && from.is_some() && bounce_subject
                || null_sender && NULL_SENDER_PHRASES.iter().any(|p| lower.contains(p))
        }
    };
    if !is_bounce {
        return None;
    }
    let after = &body[phrase.map_or(0, |p| floor_char(body, p))..];
    // The failed address follows words like "the following address(es)
    // failed:"; before them there may be the sender's own address.
    let lower_after = after.to_lowercase();
    let recipients_at = RECIPIENT_MARKERS
        .iter()
        .filter_map(|m| lower_after.find(m).map(|i| i + m.len()))
        .min()
        .map_or(0, |i| floor_char(after, i));
    let recipients = &after[recipients_at..];
    let status = STATUS.captures(after).map(|c| c[1].to_string());
    let delayed = status.as_deref().is_some_and(|s| s.starts_with('4'))
        || [
            "delayed",
            "will retry",
            "still trying",
            "not yet been delivered",
            "warning:",
        ]
        .iter()
        .any(|w| lower.contains(w) || subj.contains(w));
    Some(DeliveryReport {
        action: Some(if delayed { "delayed" } else { "failed" }.into()),
        status,
        final_recipient: Recipients::new(env, body).find_after(recipients, after),
        original_message_id: original.or_else(|| find_message_id(body)),
        diagnostic: SMTP_LINE
            .find(after)
            .map(|m| m.as_str().trim().chars().take(300).collect()),
    })
}

/// Header lines of the returned copy (and of the bounce) whose addresses
/// are never the failed recipient: the sender, lists, envelope senders.
static SENDER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>]*(?:=20)?(?:from|sender|reply-to|return-path|errors-to|list-[a-z]+|resent-from|x-original-sender)[ \t]*:.*$|envelope-from[ =]<?[^\s>;]+",
    )
    .expect("valid regex")
});
/// A `Final-Recipient:` / `Original-Recipient:` line in the text (a report
/// quoted as text, or a part the walk did not type as delivery-status).
static RECIPIENT_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t]*(?:original|final)-recipient[ \t]*:[ \t]*(?:[a-z0-9-]+[ \t]*;)?[ \t]*(?:rfc822[ \t]*;)?[ \t]*<?([^\s<>;]+@[^\s<>;]+)")
        .expect("valid regex")
});
/// AOL names only the local part ("...could not be delivered because
/// ...:\n\tmykewlaolacct"); the domain is the reporting system's.
static BARE_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)recipients[^\n]*:[ \t]*\r?\n[ \t]+([a-z0-9._-]{1,64})[ \t]*(?:\r?\n|$)")
        .expect("valid regex")
});

/// Which addresses in a bounce can be the failed recipient. Bounces go
/// back to the sender, quote the sender's headers and often a list's: the
/// first address in the text is as often the sender's as the recipient's.
struct Recipients<'a> {
    env: &'a Envelope<'a>,
    /// Lower-cased addresses that belong to the sender side.
    excluded: Vec<String>,
}

impl<'a> Recipients<'a> {
    fn new(env: &'a Envelope<'a>, body: &str) -> Self {
        let mut excluded: Vec<String> = Vec::new();
        let mut add = |text: &str| {
            for m in EMAIL.find_iter(text) {
                excluded.push(m.as_str().trim_end_matches('.').to_ascii_lowercase());
            }
        };
        for (name, value) in env.headers {
            if matches!(
                name.as_str(),
                "to" | "cc" | "delivered-to" | "x-original-to" | "envelope-to" | "return-path"
            ) {
                add(value);
            }
        }
        for m in SENDER_LINE.find_iter(body) {
            add(m.as_str());
        }
        Recipients { env, excluded }
    }

    fn allowed(&self, address: &str) -> bool {
        let lower = address.to_ascii_lowercase();
        let local = lower.split('@').next().unwrap_or("");
        !DAEMON_LOCALS.contains(&local) && !self.excluded.contains(&lower)
    }

    /// The failed recipient anywhere in `text`.
    fn find(&self, text: &str) -> Option<String> {
        self.find_after(text, text)
    }

    /// The failed recipient: what the bounce names as failed (X-Failed-
    /// Recipients, a recipient field), else the first allowed address in
    /// `recipients` (the text after "the following addresses failed"),
    /// else in `after` (the text after the bounce phrase), else a bare
    /// local part at the reporting system's domain.
    fn find_after(&self, recipients: &str, after: &str) -> Option<String> {
        let named = self
            .env
            .headers
            .iter()
            .filter(|(n, _)| n == "x-failed-recipients")
            .flat_map(|(_, v)| EMAIL.find_iter(v).map(|m| m.as_str().to_string()))
            .chain(
                RECIPIENT_FIELD
                    .captures_iter(after)
                    .map(|c| c[1].trim_end_matches('.').to_string()),
            )
            .find(|a| EMAIL.is_match(a));
        named
            .or_else(|| self.first_allowed(recipients))
            .or_else(|| self.first_allowed(after))
            .or_else(|| self.bare_local(after))
    }

    fn first_allowed(&self, text: &str) -> Option<String> {
        EMAIL
            .find_iter(text)
            .map(|m| m.as_str().trim_end_matches('.'))
            .find(|e| self.allowed(e))
            .map(str::to_string)
    }

    fn bare_local(&self, text: &str) -> Option<String> {
        let domain = self.env.from?.rsplit_once('@')?.1;
        let local = BARE_LOCAL.captures(text)?.get(1)?.as_str();
        Some(format!("{local}@{}", domain.to_ascii_lowercase()))
    }
}

fn find_message_id(text: &str) -> Option<String> {
    MESSAGE_ID.captures(text).map(|c| clean_id(&c[1]))
}

fn clean_id(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn floor_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_finds_the_phrase_the_scan_per_phrase_found() {
        let naive = |lower: &str| BOUNCE_PHRASES.iter().find_map(|p| lower.find(p));
        let (a, b) = (BOUNCE_PHRASES[0], BOUNCE_PHRASES[BOUNCE_PHRASES.len() - 1]);
        for text in [
            String::new(),
            "nothing of the kind here".to_string(),
            format!("intro {b} then {a} and {a} again"),
            format!("{a} first, {b} later"),
            format!("only the last: xx {b} yy {b}"),
        ] {
            assert_eq!(first_bounce_phrase(&text), naive(&text), "{text}");
        }
        for (i, p) in BOUNCE_PHRASES.iter().enumerate() {
            let text = format!("{} {p} {}", "x".repeat(i), BOUNCE_PHRASES[0]);
            assert_eq!(first_bounce_phrase(&text), naive(&text), "{text}");
        }
    }
}
