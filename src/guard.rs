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
    if h("x-spam").is_some_and(|v| v.starts_with("yes")) {
        return Some(Verdict::machine(
            "spam",
            "X-Spam: Yes from the upstream filter",
        ));
    }
    for name in ["x-spam-action", "x-rspamd-action"] {
        if let Some(v) = h(name).filter(|v| {
            ["add header", "rewrite subject", "reject"]
                .iter()
                .any(|a| v.starts_with(a))
        }) {
            return Some(Verdict::machine(
                "spam",
                format!("{name}: {v} from the upstream filter"),
            ));
        }
    }
    let scl = h("x-ms-exchange-organization-scl").and_then(|v| v.parse::<i32>().ok());
    if scl.is_some_and(|n| n >= 5)
        || h("x-forefront-antispam-report").is_some_and(|v| v.contains("sfv:spm"))
    {
        return Some(Verdict::machine(
            "spam",
            "Exchange Online Protection marked it as spam",
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
pub(crate) fn untrusted(email: &ParsedEmail) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Address, Body};

    fn mail(from: &str, subject: &str, body: &str, headers: &[(&str, &str)]) -> ParsedEmail {
        ParsedEmail {
            message_id: "m1@example.org".into(),
            from: Some(Address {
                name: None,
                email: from.into(),
            }),
            subject: subject.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
                .collect(),
            body: Body {
                full: body.into(),
                new_text: body.into(),
                ..Body::default()
            },
            ..ParsedEmail::default()
        }
    }

    fn kind(v: &Verdict) -> &str {
        match v {
            Verdict::Machine { kind, .. } => kind,
            Verdict::Human => "human",
            Verdict::Untrusted { .. } => "untrusted",
        }
    }

    #[test]
    fn rfc3834_auto_submitted_but_not_no() {
        let r = RuleSet::builtin();
        let p = "p@example.org";
        let v = check(
            &mail(p, "Re: x", "thanks", &[("Auto-Submitted", "auto-replied")]),
            &r,
        );
        assert_eq!(kind(&v), "autoreply");
        let v = check(
            &mail(
                p,
                "payment",
                "when do I get paid?",
                &[("Auto-Submitted", "no")],
            ),
            &r,
        );
        assert_eq!(v, Verdict::Human);
    }

    #[test]
    fn lists_precedence_and_vendor_headers() {
        let r = RuleSet::builtin();
        let p = "p@example.org";
        for (h, v, want) in [
            ("List-Id", "<x.lists.example>", "list"),
            ("List-Unsubscribe", "<mailto:u@x>", "list"),
            ("Precedence", "bulk", "list"),
            ("Precedence", "auto_reply", "autoreply"),
            ("X-Autoreply", "yes", "autoreply"),
            (
                "X-MS-Exchange-Inbox-Rules-Loop",
                "p@example.org",
                "autoreply",
            ),
            ("X-Spam-Flag", "YES", "spam"),
            ("X-Spam", "Yes", "spam"),
            ("X-Rspamd-Action", "add header", "spam"),
            ("X-MS-Exchange-Organization-SCL", "9", "spam"),
            (
                "X-Forefront-Antispam-Report",
                "CIP:1.2.3.4;SFV:SPM;",
                "spam",
            ),
            (
                "Content-Type",
                "multipart/report; report-type=delivery-status",
                "bounce",
            ),
            (
                "Content-Type",
                "multipart/report; report-type=disposition-notification",
                "autoreply",
            ),
        ] {
            assert_eq!(
                kind(&check(&mail(p, "hello", "hi", &[(h, v)]), &r)),
                want,
                "{h}: {v}"
            );
        }
    }

    #[test]
    fn senders_loops_and_own_message_ids() {
        let r = RuleSet::builtin();
        assert_eq!(
            kind(&check(&mail("MAILER-DAEMON@mx.example", "x", "y", &[]), &r)),
            "bounce"
        );
        assert_eq!(
            kind(&check(&mail("noreply@shop.example", "x", "y", &[]), &r)),
            "autoreply"
        );
        let v = check(&mail("support@helpgate.example", "Re: x", "y", &[]), &r);
        assert!(
            matches!(&v, Verdict::Machine { reason, .. } if reason.contains("loop")),
            "{v:?}"
        );
        let mut m = mail("p@example.org", "Re: x", "y", &[]);
        m.message_id = "ticket-3.abc@helpgate.example".into();
        assert_eq!(kind(&check(&m, &r)), "autoreply");
    }

    #[test]
    fn out_of_office_and_bounce_phrases_without_headers() {
        let r = RuleSet::builtin();
        let p = "p@example.org";
        for (subject, body, want) in [
            ("Abwesenheitsnotiz", "", "autoreply"),
            (
                "Re: pagamento",
                "Estou de férias até dia 20, com acesso limitado ao e-mail.",
                "autoreply",
            ),
            (
                "hello",
                "Hi. This is the qmail-send program at mx.example.",
                "bounce",
            ),
            ("Onbestelbaar: betaling", "", "bounce"),
            ("자동 응답: 문의", "", "autoreply"),
        ] {
            assert_eq!(
                kind(&check(&mail(p, subject, body, &[]), &r)),
                want,
                "{subject} / {body}"
            );
        }
        // A person who mentions being away is still a person.
        let v = check(
            &mail(
                p,
                "payment",
                "I was on vacation last week, did my payment arrive?",
                &[],
            ),
            &r,
        );
        assert_eq!(v, Verdict::Human);
    }

    #[test]
    fn authentication_failures_make_the_sender_untrusted() {
        let r = RuleSet::builtin();
        let ar = "mx.example; spf=pass; dkim=fail header.d=x.org; dmarc=fail header.from=x.org";
        let v = check(
            &mail(
                "p@x.org",
                "payment",
                "when?",
                &[("Authentication-Results", ar)],
            ),
            &r,
        );
        assert_eq!(
            v,
            Verdict::Untrusted {
                reason: "the sender failed DMARC, DKIM in Authentication-Results".into()
            }
        );
        let ok = "mx.example; spf=softfail; dkim=pass; dmarc=pass";
        assert_eq!(
            check(
                &mail(
                    "p@x.org",
                    "payment",
                    "when?",
                    &[("Authentication-Results", ok)]
                ),
                &r
            ),
            Verdict::Human
        );
    }
}
