//! Machine or human? Decided before topics, from headers and structure
//! first (RFC 3834 Auto-Submitted, Precedence, List-*, multipart/report,
//! null and daemon senders, vendor auto-reply headers, our own addresses and
//! Message-IDs), then from out-of-office and bounce phrases in the 13
//! languages (rules/machine.toml) for the senders that set no header.
//! Upstream verdicts count: a spam flag makes mail machine mail; an
//! SPF/DKIM/DMARC failure makes a person untrusted (never auto-answered).

use crate::parse::ParsedEmail;
use crate::rules::matcher::Target;
use crate::rules::normalize::normalize;
use crate::rules::RuleSet;
use serde::Serialize;

/// Characters of body scanned for out-of-office and bounce phrases: they
/// stand in the first lines.
const BODY_SCAN_CHARS: usize = 800;

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

    fn machine(kind: &str, reason: impl Into<String>) -> Verdict {
        Verdict::Machine {
            kind: kind.to_string(),
            reason: reason.into(),
        }
    }
}

/// Classify the sender. Pure; never fails.
pub fn check(email: &ParsedEmail, rules: &RuleSet) -> Verdict {
    if let Some(v) = by_headers(email, rules) {
        return v;
    }
    if let Some(v) = by_phrases(email, rules) {
        return v;
    }
    match untrusted(email) {
        Some(reason) => Verdict::Untrusted { reason },
        None => Verdict::Human,
    }
}

fn by_headers(email: &ParsedEmail, rules: &RuleSet) -> Option<Verdict> {
    let from = email.from.as_ref().map(|a| a.email.to_ascii_lowercase());
    if let Some(f) = from.as_deref().filter(|f| rules.is_own_address(f)) {
        return Some(Verdict::machine(
            "autoreply",
            format!("sent from our own address {f}: a mail loop"),
        ));
    }
    let mid_domain = email
        .message_id
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase());
    if let Some(d) = mid_domain.filter(|d| rules.machine.own_message_id_domains.contains(d)) {
        return Some(Verdict::machine(
            "autoreply",
            format!("its Message-ID is in our own domain {d}: our mail came back"),
        ));
    }
    let h = |name: &str| email.header(name).map(|v| v.trim().to_ascii_lowercase());
    if h("x-spam-flag").is_some_and(|v| v.starts_with("yes")) {
        return Some(Verdict::machine(
            "spam",
            "X-Spam-Flag: YES from the upstream filter",
        ));
    }
    if h("x-spam-status").is_some_and(|v| v.starts_with("yes")) {
        return Some(Verdict::machine(
            "spam",
            "X-Spam-Status: Yes from the upstream filter",
        ));
    }
    let ctype = h("content-type").unwrap_or_else(|| email.content_type.to_ascii_lowercase());
    if ctype.contains("multipart/report")
        || email.content_type.eq_ignore_ascii_case("multipart/report")
    {
        if ctype.contains("disposition-notification") {
            return Some(Verdict::machine(
                "autoreply",
                "a read receipt (multipart/report, disposition-notification)",
            ));
        }
        return Some(Verdict::machine(
            "bounce",
            "a delivery report (multipart/report)",
        ));
    }
    if ctype.starts_with("message/delivery-status") {
        return Some(Verdict::machine(
            "bounce",
            "a delivery status notification (message/delivery-status)",
        ));
    }
    if ctype.starts_with("message/disposition-notification") {
        return Some(Verdict::machine(
            "autoreply",
            "a read receipt (message/disposition-notification)",
        ));
    }
    if email.delivery_report.is_some() {
        return Some(Verdict::machine("bounce", "a delivery status notification"));
    }
    let local = from.as_deref().map(|f| f.split('@').next().unwrap_or(""));
    if let Some(l) = local.filter(|l| rules.machine.bounce_senders.iter().any(|s| s == l)) {
        return Some(Verdict::machine(
            "bounce",
            format!("sent by {l}, a mail system address"),
        ));
    }
    if let Some(l) = local.filter(|l| rules.machine.noreply_senders.iter().any(|s| s == l)) {
        return Some(Verdict::machine(
            "autoreply",
            format!("sent from {l}, an automated address"),
        ));
    }
    let subject = email.subject.trim_start().to_lowercase();
    if let Some(p) = rules
        .machine
        .spam_prefixes
        .iter()
        .find(|p| subject.starts_with(p.as_str()))
    {
        return Some(Verdict::machine(
            "spam",
            format!("spam mark {p} in the subject"),
        ));
    }
    let null_sender = h("return-path").is_some_and(|v| v.trim() == "<>");
    if null_sender && from.as_deref().is_none_or(str::is_empty) {
        return Some(Verdict::machine(
            "bounce",
            "null sender (Return-Path: <>) and no From",
        ));
    }
    if let Some(v) = h("auto-submitted").filter(|v| !v.starts_with("no")) {
        let kind = if null_sender || subject_hit(email, rules, Target::BounceSubject) {
            "bounce"
        } else {
            "autoreply"
        };
        return Some(Verdict::machine(
            kind,
            format!("Auto-Submitted: {v} (RFC 3834)"),
        ));
    }
    for name in [
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-auto-response",
        "x-ms-exchange-generated-message-source",
        "x-ms-exchange-inbox-rules-loop",
    ] {
        if email.header(name).is_some() {
            return Some(Verdict::machine(
                "autoreply",
                format!("auto-reply header {name}"),
            ));
        }
    }
    if let Some(p) = h("precedence") {
        if p.starts_with("auto_reply") {
            return Some(Verdict::machine("autoreply", "Precedence: auto_reply"));
        }
        if ["bulk", "junk", "list"].iter().any(|k| p.starts_with(k)) {
            return Some(Verdict::machine("list", format!("Precedence: {p}")));
        }
    }
    for name in ["list-id", "list-unsubscribe", "list-post"] {
        if email.header(name).is_some() {
            return Some(Verdict::machine(
                "list",
                format!("mailing-list header {name}"),
            ));
        }
    }
    None
}

fn subject_hit(email: &ParsedEmail, rules: &RuleSet, target: Target) -> bool {
    let mut hits = Vec::new();
    rules
        .machine
        .matcher
        .find(&normalize(&email.subject, 300), &mut hits);
    hits.iter()
        .any(|&i| rules.machine.matcher.patterns[i as usize].target == target)
}

fn by_phrases(email: &ParsedEmail, rules: &RuleSet) -> Option<Verdict> {
    let m = &rules.machine.matcher;
    let first = |hits: &[u32], t: Target| {
        hits.iter()
            .map(|&i| &m.patterns[i as usize])
            .find(|p| p.target == t)
    };
    let mut hits = Vec::new();
    m.find(&normalize(&email.subject, 300), &mut hits);
    if let Some(p) = first(&hits, Target::BounceSubject) {
        return Some(Verdict::machine(
            "bounce",
            format!("bounce subject \"{}\" ({})", p.text, p.origin),
        ));
    }
    if let Some(p) = first(&hits, Target::AutoreplySubject) {
        return Some(Verdict::machine(
            "autoreply",
            format!("out-of-office subject \"{}\" ({})", p.text, p.origin),
        ));
    }
    let body = if email.body.new_text.is_empty() {
        &email.body.full
    } else {
        &email.body.new_text
    };
    let mut hits = Vec::new();
    m.find(&normalize(body, BODY_SCAN_CHARS), &mut hits);
    if let Some(p) = first(&hits, Target::BounceBody) {
        return Some(Verdict::machine(
            "bounce",
            format!("bounce text \"{}\" ({})", p.text, p.origin),
        ));
    }
    if let Some(p) = first(&hits, Target::AutoreplyBody) {
        return Some(Verdict::machine(
            "autoreply",
            format!("out-of-office text \"{}\" ({})", p.text, p.origin),
        ));
    }
    None
}

/// The reason a sender is untrusted, from Authentication-Results.
fn untrusted(email: &ParsedEmail) -> Option<String> {
    let mut failed = Vec::new();
    for v in email.headers_named("authentication-results") {
        let v = v.to_ascii_lowercase();
        for check in ["dmarc", "spf", "dkim"] {
            let needle = format!("{check}=fail");
            if v.contains(&needle) && !failed.contains(&check) {
                failed.push(check);
            }
        }
    }
    if failed.is_empty() {
        return None;
    }
    let list: Vec<String> = failed.iter().map(|c| c.to_uppercase()).collect();
    Some(format!(
        "the sender failed {} in Authentication-Results",
        list.join(", ")
    ))
}
