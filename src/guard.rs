//! Machine or human? Decided before topics, from headers and structure
//! first (RFC 3834 Auto-Submitted, Precedence, List-*, multipart/report,
//! null and daemon senders, vendor auto-reply headers, our own addresses and
//! Message-IDs), then from out-of-office and bounce phrases in the 13
//! languages (rules/machine.toml) for the senders that set no header.
//! Upstream verdicts count: a spam flag makes mail machine mail; a person
//! our own receiving server did not verify (its Authentication-Results
//! under `[trust] authserv_id`) is untrusted and never
//! auto-answered.

use crate::config::trust::{Trust, Unauthenticated};
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
    /// Mail that says its writer is away and nothing about the mail ("ich
    /// bin im Urlaub bis ..."): an out-of-office notice, or a participant
    /// saying where they are. A person reads it; never answered
    /// automatically, since an answer to an absence notice starts a loop.
    Away { reason: String },
}

/// How the reason of a notification from an automated sender ends.
const NOTIFYING_SENDER: &str = "an automated address that sends notifications";

impl Verdict {
    pub fn is_machine(&self) -> bool {
        matches!(self, Verdict::Machine { .. })
    }

    /// Machine mail known only by how it was sent (a noreply sender, an
    /// auto-reply marker), not by what it is: spam tools send that way
    /// too, so content that adds up to spam may say better what it is. A
    /// list's own headers are not weak: a newsletter that threads into a
    /// conversation would otherwise go to a person as a quoted reply.
    pub fn is_weak_machine(&self) -> bool {
        matches!(self, Verdict::Machine { kind, reason }
            if kind == "autoreply" || (kind == "list" && reason.ends_with(NOTIFYING_SENDER)))
    }

    /// An [`Verdict::Away`] mail whose own text asks nothing (no topic
    /// word in it: the subject of an out-of-office notice is ours, "Re:
    /// payment") is an out-of-office notice; one that asks something stays
    /// a person's mail.
    pub fn settle_away(&mut self, asks_something: bool) {
        if let Verdict::Away { reason } = self {
            if !asks_something {
                let reason = format!("{reason}, and its text asks nothing");
                *self = Verdict::machine("autoreply", reason);
            }
        }
    }

    fn machine(kind: &str, reason: impl Into<String>) -> Verdict {
        Verdict::Machine {
            kind: kind.to_string(),
            reason: reason.into(),
        }
    }
}

/// Classify the sender with the default `[trust]` policy. Pure; never fails.
pub fn check(email: &ParsedEmail, rules: &RuleSet) -> Verdict {
    check_with(email, rules, &Trust::default())
}

/// Classify the sender; `trust` says whose Authentication-Results count.
/// Pure; never fails.
pub fn check_with(email: &ParsedEmail, rules: &RuleSet, trust: &Trust) -> Verdict {
    if let Some(v) = by_headers(email, rules) {
        return v;
    }
    let absence = match by_phrases(email, rules) {
        Phrases::Machine(v) => return v,
        Phrases::Absence(reason) => Some(reason),
        Phrases::None => None,
    };
    if let Some(reason) = untrusted(email, trust) {
        return Verdict::Untrusted { reason };
    }
    match absence {
        Some(reason) => Verdict::Away { reason },
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
    if let Some(v) = by_structure(email) {
        return Some(v);
    }
    let sender = sender_local(email);
    let local = sender.as_deref();
    if let Some(l) = local.filter(|l| rules.machine.bounce_senders.iter().any(|s| s == l)) {
        return Some(Verdict::machine(
            "bounce",
            format!("sent by {l}, a mail system address"),
        ));
    }
    if let Some(d) = notifier_domain(email, &rules.machine.notifier_domains) {
        return Some(list_headers(email).unwrap_or_else(|| {
            Verdict::machine(
                "list",
                format!("sent from {d}, which only sends notifications"),
            )
        }));
    }
    if let Some(l) = local
        .filter(|l| is_noreply(l, &rules.machine.noreply_senders))
        .filter(|_| form_relay(email).is_none())
    {
        // A forum digest or tracker notification comes from noreply too:
        // its list headers say better what it is. Without them, an
        // automated sender that answers nothing of ours is a notification
        // (receipts, alerts, platform news): over 25 independently written
        // sets, all 87 such mails were labelled so, and the 3 auto-replies
        // from noreply answered a message (In-Reply-To).
        return Some(list_headers(email).unwrap_or_else(|| {
            if !email.in_reply_to.is_empty() || says_auto_reply(email, rules) {
                Verdict::machine("autoreply", format!("sent from {l}, an automated address"))
            } else {
                Verdict::machine("list", format!("sent from {l}, {NOTIFYING_SENDER}"))
            }
        }));
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
        } else if v.starts_with("auto-generated")
            && list_headers(email).is_some()
            && !(list_ids(email).is_none() && says_auto_reply(email, rules))
        {
            "list"
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
    if h("precedence").is_some_and(|p| p.starts_with("auto_reply")) {
        return Some(Verdict::machine("autoreply", "Precedence: auto_reply"));
    }
    // Helpdesks mark their acknowledgements "Precedence: bulk" like lists;
    // without a list's own headers, their words say what they are.
    match list_headers(email) {
        Some(Verdict::Machine { reason, .. })
            if list_ids(email).is_none() && says_auto_reply(email, rules) =>
        {
            Some(Verdict::machine(
                "autoreply",
                format!("{reason}, but worded as an auto-reply"),
            ))
        }
        other => other,
    }
}

/// The auto-reply wording of machine.toml in subject or text.
fn says_auto_reply(email: &ParsedEmail, rules: &RuleSet) -> bool {
    matches!(by_phrases(email, rules), Phrases::Machine(Verdict::Machine { kind, .. }) if kind == "autoreply")
}

/// The person a web contact form relays: a project's website sends what a
/// visitor typed from its own (often noreply) address, with Reply-To the
/// visitor and the address they gave echoed in the text ("Email: ...").
/// A notification may carry a Reply-To too, but never one the text
/// repeats as a form field, nor one it sends as an answer (In-Reply-To) or
/// to a list. Whoever writes such a mail could as well have sent it from
/// that address: it gives a sender no say it did not have.
pub fn form_relay(email: &ParsedEmail) -> Option<&crate::parse::Address> {
    let to = email.reply_to.as_ref()?;
    let from = email.from.as_ref()?;
    let person = to.email.trim();
    if person.is_empty()
        || !person.contains('@')
        || person.eq_ignore_ascii_case(from.email.trim())
        || !email.in_reply_to.is_empty()
        || list_headers(email).is_some()
    {
        return None;
    }
    let text = if email.body.new_text.is_empty() {
        &email.body.full
    } else {
        &email.body.new_text
    };
    let echoed = text.lines().take(FORM_FIELD_LINES).any(|line| {
        let line = line.trim();
        line.len() <= person.len() + 40
            && line
                .to_ascii_lowercase()
                .contains(&person.to_ascii_lowercase())
            && line.contains(':')
    });
    echoed.then_some(to)
}

/// How far into a relayed form's text its fields are looked for.
const FORM_FIELD_LINES: usize = 12;

/// A sender's local part is an automated one when it is one of `names`
/// or carries one as a part of its own (`googlealerts-noreply`,
/// `noreply-play-console`, `no-reply.accounts`): services name their
/// senders that way, people do not.
fn is_noreply(local: &str, names: &[String]) -> bool {
    names.iter().any(|n| {
        local == n
            || local
                .split(['-', '_', '.', '+'])
                .any(|part| part == n.as_str())
            || local
                .strip_prefix(n.as_str())
                .is_some_and(|rest| rest.starts_with(['-', '_', '.', '+']))
            || local
                .strip_suffix(n.as_str())
                .is_some_and(|rest| rest.ends_with(['-', '_', '.', '+']))
    })
}

/// `Precedence: bulk|junk|list` or a `List-*` header: list or bulk mail.
fn list_headers(email: &ParsedEmail) -> Option<Verdict> {
    if let Some(p) = email
        .header("precedence")
        .map(|p| p.trim().to_ascii_lowercase())
    {
        if ["bulk", "junk", "list"].iter().any(|k| p.starts_with(k)) {
            return Some(Verdict::machine("list", format!("Precedence: {p}")));
        }
    }
    list_ids(email).map(|name| Verdict::machine("list", format!("mailing-list header {name}")))
}

/// The first header only a mailing list sends.
fn list_ids(email: &ParsedEmail) -> Option<&'static str> {
    ["list-id", "list-unsubscribe", "list-post"]
        .into_iter()
        .find(|name| email.header(name).is_some())
}

/// Reports that are machine mail whatever their top-level type: an abuse
/// complaint (ARF, RFC 5965) sent as multipart/mixed instead of
/// multipart/report, and Exim's bounce header.
fn by_structure(email: &ParsedEmail) -> Option<Verdict> {
    if email
        .attachments
        .iter()
        .any(|a| a.content_type == "message/feedback-report")
    {
        return Some(Verdict::machine(
            "bounce",
            "an abuse complaint (ARF feedback report, message/feedback-report)",
        ));
    }
    if email.header("x-failed-recipients").is_some() {
        return Some(Verdict::machine(
            "bounce",
            "X-Failed-Recipients: a mail system's bounce",
        ));
    }
    if let Some(name) = email
        .attachments
        .iter()
        .filter_map(|a| a.name.as_deref())
        .find(|n| is_dmarc_report_name(n))
    {
        return Some(Verdict::machine(
            "list",
            format!("a DMARC aggregate report ({name})"),
        ));
    }
    if email.attachments.iter().any(|a| {
        let t = a.content_type.to_ascii_lowercase();
        t == "text/calendar" || t == "application/ics"
    }) {
        // Calendar systems write invitations, updates and cancellations; a
        // participant's question does not come as one.
        return Some(Verdict::machine(
            "list",
            "a calendar invitation (text/calendar)",
        ));
    }
    None
}

/// RFC 7489 7.2.1.1 names an aggregate report
/// `receiver!policy-domain!begin!end[!unique].xml` (zipped or gzipped):
/// four `!`-separated fields, the two last ones Unix times.
fn is_dmarc_report_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let Some(stem) = [".xml.gz", ".xml.zip", ".zip", ".gz", ".xml"]
        .iter()
        .find_map(|ext| lower.strip_suffix(ext))
    else {
        return false;
    };
    let fields: Vec<&str> = stem.split('!').collect();
    let unix = |f: &str| f.len() >= 9 && f.bytes().all(|b| b.is_ascii_digit());
    (4..=5).contains(&fields.len())
        && fields[..2].iter().all(|f| f.contains('.'))
        && unix(fields[2])
        && unix(fields[3])
}

/// The sender's domain when it is one of `domains` or a subdomain of one
/// (`mail.paypal.de` for `paypal.de`), or when an entry without a dot is
/// one of its labels before the top level (`paypal` for `paypal.fr`,
/// `e.paypal.co.uk`); a lookalike (`paypal-security.example`) is not.
fn notifier_domain<'a>(email: &'a ParsedEmail, domains: &[String]) -> Option<&'a str> {
    let address = &email.from.as_ref()?.email;
    let domain = address.rsplit_once('@')?.1;
    let lower = domain.to_ascii_lowercase();
    let labels: Vec<&str> = lower.split('.').collect();
    let named = |d: &str| labels[..labels.len().saturating_sub(1)].contains(&d);
    let listed = |d: &String| {
        if d.contains('.') {
            lower == *d
                || lower
                    .strip_suffix(d.as_str())
                    .is_some_and(|p| p.ends_with('.'))
        } else {
            named(d)
        }
    };
    domains.iter().any(listed).then_some(domain)
}

/// The sender's local part, lower case: from the parsed From address, or,
/// when there is none, from the header as written (`From: MAILER-DAEMON`
/// names no domain, and no address is parsed from it).
fn sender_local(email: &ParsedEmail) -> Option<String> {
    if let Some(a) = &email.from {
        return Some(a.email.split('@').next().unwrap_or("").to_ascii_lowercase());
    }
    let raw = email.header("from")?;
    let inner = match (raw.find('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ => raw.split(['(', '"']).next().unwrap_or(raw),
    };
    let word = inner.trim().split('@').next().unwrap_or("").trim();
    (!word.is_empty() && !word.contains(char::is_whitespace)).then(|| word.to_ascii_lowercase())
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

/// What machine.toml's phrases say of a mail.
enum Phrases {
    Machine(Verdict),
    /// Why it may be an absence notice: an `[absence]` phrase in its
    /// subject (not a forward's) or the start of its text.
    Absence(String),
    None,
}

/// One scan of the subject and one of the start of the text against
/// machine.toml's phrases: bounce and out-of-office first, `[absence]`
/// only where neither is found.
fn by_phrases(email: &ParsedEmail, rules: &RuleSet) -> Phrases {
    let m = &rules.machine.matcher;
    let first = |hits: &[u32], t: Target| {
        hits.iter()
            .map(|&i| &m.patterns[i as usize])
            .find(|p| p.target == t)
    };
    let mut hits = Vec::new();
    // A forward's subject is the forwarded message's: "Fwd: Undeliverable"
    // or "WG: Abwesenheitsnotiz" is a person passing one on.
    if !crate::parse::is_forward_subject(&email.subject) {
        m.find(&normalize(&email.subject, 300), &mut hits);
    }
    if let Some(p) = first(&hits, Target::BounceSubject) {
        return Phrases::Machine(Verdict::machine(
            "bounce",
            format!("bounce subject \"{}\" ({})", p.text, p.origin),
        ));
    }
    if let Some(p) = first(&hits, Target::AutoreplySubject) {
        return Phrases::Machine(Verdict::machine(
            "autoreply",
            format!("out-of-office subject \"{}\" ({})", p.text, p.origin),
        ));
    }
    let subject_absence = first(&hits, Target::AbsenceSubject);
    let body = if email.body.new_text.is_empty() {
        &email.body.full
    } else {
        &email.body.new_text
    };
    let mut body_hits = Vec::new();
    m.find(&normalize(body, BODY_SCAN_CHARS), &mut body_hits);
    if let Some(p) = first(&body_hits, Target::BounceBody) {
        return Phrases::Machine(Verdict::machine(
            "bounce",
            format!("bounce text \"{}\" ({})", p.text, p.origin),
        ));
    }
    if let Some(p) = first(&body_hits, Target::AutoreplyBody) {
        return Phrases::Machine(Verdict::machine(
            "autoreply",
            format!("out-of-office text \"{}\" ({})", p.text, p.origin),
        ));
    }
    match subject_absence.or_else(|| first(&body_hits, Target::AbsenceBody)) {
        Some(p) => Phrases::Absence(format!(
            "it may be an out-of-office notice (\"{}\", {})",
            p.text, p.origin
        )),
        None => Phrases::None,
    }
}

/// Why a person's mail may not be answered automatically, if it may not:
/// two From or Reply-To headers (which one is meant is the attacker's
/// choice), or a sender our own receiving server did not verify. Only the
/// topmost Authentication-Results written under one of our authserv-ids
/// counts (RFC 8601 §5: any hop, the sender included, can add one); it
/// verifies the sender when DMARC passed, or, without a DMARC verdict, when
/// SPF or DKIM passed for a domain aligned with the From domain.
fn untrusted(email: &ParsedEmail, trust: &Trust) -> Option<String> {
    for name in ["from", "reply-to"] {
        let n = email.headers_named(name).count();
        if n > 1 {
            return Some(format!(
                "the mail has {n} {} headers: which sender is meant is unclear",
                if name == "from" { "From" } else { "Reply-To" }
            ));
        }
    }
    let ours = email
        .headers_named("authentication-results")
        .filter_map(crate::auth_results::parse)
        .find(|ar| trust.authserv_ids.contains(&ar.authserv_id));
    let Some(ar) = ours else {
        let origin = if trust.authserv_ids.is_empty() {
            "no trust.authserv_id is configured".to_string()
        } else {
            format!(
                "no Authentication-Results from {}",
                trust.authserv_ids.join(" or ")
            )
        };
        return match trust.unauthenticated {
            Unauthenticated::Answer => None,
            Unauthenticated::UnlessFailed => {
                nearest_failure(email).map(|why| format!("{why}; {origin}"))
            }
            Unauthenticated::LocalOnly if email.header("received").is_none() => None,
            Unauthenticated::LocalOnly => Some(format!(
                "the sender is not verified ({origin}, and the mail came through a mail server)"
            )),
            Unauthenticated::Hold => Some(format!("the sender is not verified ({origin})")),
        };
    };
    let from_domain = email
        .from
        .as_ref()
        .map(|a| a.domain().to_ascii_lowercase())
        .unwrap_or_default();
    let of = |m: &'static str| ar.results.iter().filter(move |r| r.method == m);
    if let Some(d) = of("dmarc").next() {
        match d.result.as_str() {
            "pass" => return None,
            // No policy published, or it could not be read: the aligned
            // SPF/DKIM check below decides.
            "none" | "temperror" | "permerror" => {}
            other => {
                return Some(format!(
                    "the sender failed DMARC ({other}) in Authentication-Results of {}",
                    ar.authserv_id
                ))
            }
        }
    }
    let aligned_pass = of("dkim").any(|r| {
        r.result == "pass"
            && r.prop("header.d")
                .or_else(|| r.prop("header.i"))
                .is_some_and(|d| aligned(d, &from_domain))
    }) || of("spf").any(|r| {
        r.result == "pass"
            && r.prop("smtp.mailfrom")
                .is_some_and(|d| aligned(d, &from_domain))
    });
    if aligned_pass {
        return None;
    }
    let seen: Vec<String> = ar
        .results
        .iter()
        .filter(|r| ["spf", "dkim", "dmarc"].contains(&r.method.as_str()))
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    Some(format!(
        "the sender is not verified: no aligned pass in Authentication-Results of {} ({})",
        ar.authserv_id,
        if seen.is_empty() {
            "no SPF, DKIM or DMARC result".to_string()
        } else {
            seen.join(", ")
        }
    ))
}

/// The failure the nearest (topmost) Authentication-Results reports, if
/// any: DMARC fail, SPF fail or softfail, or a DKIM failure with no DKIM
/// pass beside it. Whoever wrote it, a reported failure only keeps the
/// sender from an automatic answer, so it is believed without a configured
/// authserv-id (the trust default then, and a spam signal).
pub(crate) fn nearest_failure(email: &ParsedEmail) -> Option<String> {
    let ar = email
        .headers_named("authentication-results")
        .find_map(crate::auth_results::parse)?;
    let failed: Vec<String> = ar
        .results
        .iter()
        .filter(|r| match r.method.as_str() {
            "dmarc" => matches!(r.result.as_str(), "fail" | "quarantine" | "reject"),
            "spf" => matches!(r.result.as_str(), "fail" | "softfail"),
            "dkim" => {
                r.result == "fail"
                    && !ar
                        .results
                        .iter()
                        .any(|o| o.method == "dkim" && o.result == "pass")
            }
            _ => false,
        })
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "the sender failed {} in the nearest Authentication-Results ({})",
            failed.join(", "),
            ar.authserv_id
        )
    })
}

/// Relaxed alignment (RFC 7489 §3.1) without a public-suffix list: the same
/// domain, or one a subdomain of the other. `d` may be an address.
pub fn aligned(d: &str, from_domain: &str) -> bool {
    let d = d
        .rsplit('@')
        .next()
        .unwrap_or(d)
        .trim()
        .to_ascii_lowercase();
    let d = d.trim_end_matches('.');
    !d.is_empty()
        && !from_domain.is_empty()
        && (d == from_domain
            || from_domain.ends_with(&format!(".{d}")) && d.contains('.')
            || d.ends_with(&format!(".{from_domain}")))
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

    fn parsed(raw: &str) -> ParsedEmail {
        crate::parse::parse(raw.as_bytes())
    }

    #[test]
    fn a_calendar_invitation_and_a_dmarc_report_are_notifications() {
        let rules = RuleSet::builtin();
        let invite = parsed(concat!(
            "From: Secretaria <cei@univ.example>\r\nTo: support@crowd.example\r\n",
            "Subject: Invitacion: reunion informativa\r\nMessage-ID: <c1@univ.example>\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLe ha invitado a una reunion.\r\n",
            "--b\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n",
            "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Reunion\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "--b--\r\n"
        ));
        assert_eq!(kind(&check(&invite, &rules)), "list");
        let dmarc = parsed(concat!(
            "From: DMARC Aggregate Report <dmarcreport@microsoft.com>\r\nTo: support@crowd.example\r\n",
            "Subject: Report Domain: crowd.example Submitter: protection.outlook.com\r\n",
            "Message-ID: <d1@microsoft.com>\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nThis is a DMARC aggregate report.\r\n",
            "--b\r\nContent-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n",
            "Content-Disposition: attachment; filename=\"protection.outlook.com!crowd.example!1804464000!1804550400.xml.gz\"\r\n\r\n",
            "H4sIAAAAAAAAAwMAAAAAAAAAAAA=\r\n--b--\r\n"
        ));
        assert_eq!(kind(&check(&dmarc, &rules)), "list");
        // A participant's zipped recordings are not a report.
        assert!(!is_dmarc_report_name("recordings!week2.zip"));
        assert!(!is_dmarc_report_name("take1.xml.gz"));
        let upload = parsed(concat!(
            "From: Ana <ana@example.org>\r\nTo: support@crowd.example\r\n",
            "Subject: my files\r\nMessage-ID: <u1@example.org>\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nDid you get these?\r\n",
            "--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n",
            "Content-Disposition: attachment; filename=\"recordings!week2.zip\"\r\n\r\n",
            "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n--b--\r\n"
        ));
        assert_eq!(kind(&check(&upload, &rules)), "human");
    }

    fn kind(v: &Verdict) -> &str {
        match v {
            Verdict::Machine { kind, .. } => kind,
            Verdict::Human => "human",
            Verdict::Untrusted { .. } => "untrusted",
            Verdict::Away { .. } => "away",
        }
    }

    #[test]
    fn services_name_their_automated_senders_in_many_ways() {
        let r = RuleSet::builtin();
        let body = "You appeared in 14 searches this week.";
        for from in [
            "googlealerts-noreply@google.example",
            "noreply-play-console@google.example",
            "notifications-noreply@linkedin.example",
            "no-reply.accounts@service.example",
        ] {
            assert_eq!(
                kind(&check(&mail(from, "News", body, &[]), &r)),
                "list",
                "{from}"
            );
        }
        // People whose names merely contain such letters are people.
        for from in [
            "noreen@inbox.example",
            "bounce.jones@inbox.example",
            "anotificationsfan@x.example",
        ] {
            assert_eq!(
                kind(&check(
                    &mail(from, "my payment", "When do you pay?", &[]),
                    &r
                )),
                "human",
                "{from}"
            );
        }
    }

    #[test]
    fn a_business_closed_for_holidays_is_an_out_of_office() {
        let r = RuleSet::builtin();
        let v = check(
            &mail(
                "hola@estudio.example",
                "Re: Colaboracion",
                "Hola! Estamos cerrados por vacaciones del 8 al 15 de febrero. Responderemos a tu mensaje en cuanto volvamos.",
                &[],
            ),
            &r,
        );
        assert_eq!(kind(&v), "autoreply");
        // A participant back from holidays is not one.
        let v = check(
            &mail(
                "ana@inbox.example",
                "grabaciones",
                "Hola, al volver de vacaciones grabe 20 frases. Les llegaron?",
                &[],
            ),
            &r,
        );
        assert_eq!(kind(&v), "human");
    }

    #[test]
    fn out_of_office_about_the_mail_itself_in_many_languages_but_not_a_participant_away() {
        let r = RuleSet::builtin();
        // What an absence notice says about the mail: not forwarded, no
        // regular access, an answer on return (no header, a "RE:" subject).
        for (subject, body) in [
            ("RE: Projekt", "Guten Tag, ich bin bis Freitag unterwegs. Ihre Nachricht wird nicht weitergeleitet."),
            ("RE : Projet", "Bonjour, je suis en déplacement. Votre message ne sera pas transféré."),
            ("RES: Projeto", "Olá, estou fora até segunda, sem acesso frequente ao e-mail."),
            ("R: Progetto", "Buongiorno, l'ufficio resterà chiusa fino al 3 maggio, risponderemo alla vostra richiesta dopo."),
            ("RE: Proyecto", "Hola, estoy de viaje y no tendré acceso al correo hasta el lunes."),
            ("RE: 프로젝트", "안녕하세요. 이번 주는 출장이라 메일 확인이 늦어질 수 있습니다."),
            ("ΑΠ: Έργο", "Καλημέρα, είμαι εκτός γραφείου μέχρι την Τρίτη."),
            ("Vs: Projekti", "Hei, olen matkoilla ja minulla on rajoitettu pääsy sähköpostiin."),
        ] {
            let v = check(&mail("someone@inbox.example", subject, body, &[]), &r);
            assert_eq!(kind(&v), "autoreply", "{body}");
        }
        // A participant away says so in their own words, about their work.
        for (subject, body) in [
            ("Aufnahmen", "Hallo, ich bin bis zum 10. im Urlaub, danach lade ich die restlichen Aufnahmen hoch. Ist das ok?"),
            ("gravações", "Olá, vou viajar até dia 6 e sem internet, depois envio o resto das gravações. Tudo bem?"),
            ("녹음", "안녕하세요, 지금 휴가 중이라 녹음을 못 했어요. 다음 주에 올려도 될까요?"),
            ("enregistrements", "Bonjour, je suis en congé jusqu'au 9, je ferai les enregistrements après. Merci!"),
            ("视频", "你好，我休假中在家录了三个视频，你们收到了吗？"),
        ] {
            let v = check(&mail("p@inbox.example", subject, body, &[]), &r);
            assert_eq!(kind(&v), "human", "{body}");
        }
    }

    #[test]
    fn a_person_passing_on_or_mentioning_machine_mail_is_a_person() {
        let r = RuleSet::builtin();
        // A forward's subject is the forwarded bounce's or absence notice's;
        // the text above it (the forwarded part is not new text) is someone
        // asking us something.
        for (subject, body) in [
            ("Fwd: Delivery Status Notification (Failure)", "Hi, my earlier mail bounced, see below. Please delete all my data and videos."),
            ("WG: Automatische Antwort: Ihre Anfrage", "Guten Tag, ich bekomme nur diese automatische Antwort. Mein Konto ist gesperrt, bitte prüfen Sie das noch einmal."),
        ] {
            let v = check(&mail("jan@acme.example", subject, body, &[]), &r);
            assert_eq!(kind(&v), "human", "{subject}");
        }
        // Complaining about a desk's receipt is not being one, nor is
        // saying where one is.
        for body in [
            "Guten Tag, ich habe nur eine automatische Eingangsbestätigung bekommen. Mein Konto ist immer noch gesperrt.",
            "Geachte heer/mevrouw, wij hebben uw bericht in goede orde ontvangen, maar het account van mijn moeder is nog steeds geblokkeerd.",
            "Bonjour, je n'ai reçu qu'un accusé de réception automatique. Mon compte est toujours suspendu.",
            "안녕하세요. 문의가 정상적으로 접수되었습니다 라는 메일만 받고 답이 없습니다. 계정 정지를 다시 검토해 주세요.",
            "Buongiorno, la mia richiesta, a cui è stato assegnato il numero 4471, non ha avuto risposta. Il mio account è ancora sospeso.",
            "Hallo, ich bin zur Kur und erst ab Montag zurück, aber mein Konto wurde gesperrt und ich möchte Einspruch einlegen.",
        ] {
            let v = check(&mail("p@inbox.example", "account", body, &[]), &r);
            assert_eq!(kind(&v), "human", "{body}");
        }
    }

    #[test]
    fn saying_one_is_away_only_withholds_an_answer() {
        let r = RuleSet::builtin();
        // A participant says it, and so does a short out-of-office notice:
        // neither is ignored, neither is answered automatically.
        for body in [
            "Hallo, ich bin im Urlaub bis zum 20. und kann erst danach wieder aufnehmen. Wurde meine Zahlung schon überwiesen?",
            "Hi, I am on vacation until March 3rd.",
            "Bonjour, je suis en vacances jusqu'au 12. Mon paiement est-il parti ?",
        ] {
            let v = check(&mail("p@inbox.example", "Re: payment", body, &[]), &r);
            assert_eq!(kind(&v), "away", "{body}");
            assert!(!v.is_machine());
        }
        // Once classified: asking something keeps it a person's mail,
        // asking nothing makes it an out-of-office notice.
        for (body, asks) in [
            (
                "Hallo, ich bin im Urlaub bis zum 20. Wurde meine Zahlung schon überwiesen?",
                true,
            ),
            ("Hi, I am on vacation until March 3rd.", false),
        ] {
            let m = mail("p@inbox.example", "Re: payment", body, &[]);
            let mut v = check(&m, &r);
            let mut c = crate::classify::classify(&m, &r);
            crate::classify::ask_second_opinion(&m, &mut v, &r, &mut c);
            assert_eq!(kind(&v), if asks { "away" } else { "autoreply" }, "{body}");
        }
        // Saying what happens to the mail is an out-of-office notice.
        let v = check(
            &mail(
                "p@inbox.example",
                "Re: payment",
                "I am on vacation and will not be reading email until Monday.",
                &[],
            ),
            &r,
        );
        assert_eq!(kind(&v), "autoreply");
        // A forwarded notice's subject is not the forwarder's absence.
        let v = check(
            &mail(
                "p@inbox.example",
                "Fwd: Abwesend",
                "Warum bekomme ich das?",
                &[],
            ),
            &r,
        );
        assert_eq!(kind(&v), "human");
    }

    #[test]
    fn newsletter_and_notifier_role_addresses_are_machine_mail() {
        let r = RuleSet::builtin();
        let body = "Three new posts this month.";
        for from in [
            "newsletter@shop.example",
            "nieuwsbrief@platform.example",
            "notification@social.example",
            "digest@forum.example",
            "team-alerts@tracker.example",
        ] {
            assert!(
                check(&mail(from, "Update", body, &[]), &r).is_machine(),
                "{from}"
            );
        }
        for from in ["alertson@inbox.example", "digester.maria@inbox.example"] {
            assert_eq!(
                kind(&check(&mail(from, "payment", "When do you pay?", &[]), &r)),
                "human",
                "{from}"
            );
        }
    }

    #[test]
    fn payout_and_platform_notifications_are_lists_their_lookalikes_are_not() {
        let r = RuleSet::builtin();
        let body = "You've received a payment of EUR 42.00 from Crowd Project. Payment received.";
        for from in [
            "service@paypal.de",
            "service@intl.paypal.com",
            "noreply@mail.wise.com",
        ] {
            assert_eq!(
                kind(&check(&mail(from, "Payment received", body, &[]), &r)),
                "list",
                "{from}"
            );
        }
        // Not the provider: a person, or a lookalike left to the spam rules.
        for from in [
            "ana@paypal-security.example",
            "ana.paypal.com@gmail.com",
            "ana@mypaypal.com",
        ] {
            assert_eq!(
                kind(&check(&mail(from, "Payment received", body, &[]), &r)),
                "human",
                "{from}"
            );
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
        // A forum digest from noreply, auto-generated: a list, not an
        // auto-reply; a noreply sender alone stays an automated message.
        let digest = [
            ("List-Id", "<forum.example>"),
            ("Auto-Submitted", "auto-generated"),
        ];
        assert_eq!(
            kind(&check(
                &mail("noreply@forum.example", "Summary", "12 new topics", &digest),
                &r
            )),
            "list"
        );
        assert_eq!(
            kind(&check(
                &mail("forum@forum.example", "Summary", "12 new topics", &digest),
                &r
            )),
            "list"
        );
        assert_eq!(
            kind(&check(
                &mail("noreply@shop.example", "Your order", "shipped", &[]),
                &r
            )),
            "list"
        );
    }

    #[test]
    fn a_noreply_sender_is_a_notification_unless_it_answers_or_says_it_is_away() {
        let r = RuleSet::builtin();
        let receipt = mail(
            "noreply@shop.example",
            "Your receipt",
            "Thanks for your order #4411.",
            &[],
        );
        assert_eq!(kind(&check(&receipt, &r)), "list");
        // An acknowledgement of our reply answers it: an auto-reply.
        let mut ack = mail(
            "no-reply@dpc.example",
            "[DPC-2027-00391] Correspondence received",
            "Your correspondence has been logged.",
            &[],
        );
        ack.in_reply_to = vec!["reply-1@helpgate.example".into()];
        assert_eq!(kind(&check(&ack, &r)), "autoreply");
        let away = mail(
            "noreply@school.example",
            "Out of office",
            "I am out of the office until Monday and will reply when I am back.",
            &[],
        );
        assert_eq!(kind(&check(&away, &r)), "autoreply");
        // Content may overrule how a mail was sent, not a list's headers.
        assert!(check(&receipt, &r).is_weak_machine());
        let newsletter = mail(
            "news@shop.example",
            "Weekly deals",
            "Thanks for your order #4411.",
            &[("List-Id", "<deals.shop.example>")],
        );
        assert_eq!(kind(&check(&newsletter, &r)), "list");
        assert!(!check(&newsletter, &r).is_weak_machine());
    }

    #[test]
    fn a_contact_form_relay_is_the_visitor_writing_a_notification_is_not() {
        let r = RuleSet::builtin();
        let form = |reply_to: &str, text: &str| {
            let mut m = mail("noreply@shop.example", "Contact form", text, &[]);
            m.reply_to = Some(Address {
                name: Some("Ana Lima".into()),
                email: reply_to.into(),
            });
            m
        };
        let relayed = form(
            "ana.lima@mail.example",
            "Name: Ana Lima\nEmail: Ana.Lima@mail.example\nMessage:\nI have not been paid for May.",
        );
        assert_eq!(check(&relayed, &r), Verdict::Human);
        assert_eq!(
            form_relay(&relayed).map(|a| a.email.as_str()),
            Some("ana.lima@mail.example")
        );
        // The spam screen does not count the visitor's domain against it.
        let c = crate::classify::classify(&relayed, &r);
        assert!(
            !c.spam.signals.iter().any(|s| s.starts_with("Reply-To")),
            "{:?}",
            c.spam.signals
        );
        // A Reply-To the text never gives as a field, or one at the end of
        // a long text, is a notification's.
        let receipt = form(
            "ana.lima@mail.example",
            "Thanks for your order #4411. Questions? Write to us.",
        );
        assert_eq!(kind(&check(&receipt, &r)), "list");
        let late = form(
            "ana.lima@mail.example",
            &format!(
                "{}Contact: ana.lima@mail.example",
                "Your order has shipped.\n".repeat(FORM_FIELD_LINES)
            ),
        );
        assert_eq!(kind(&check(&late, &r)), "list");
        let mut answer = relayed.clone();
        answer.in_reply_to = vec!["reply-1@helpgate.example".into()];
        assert_eq!(kind(&check(&answer, &r)), "autoreply");
        let mut listed = relayed.clone();
        listed
            .headers
            .push(("list-id".into(), "<forms.shop.example>".into()));
        assert_eq!(kind(&check(&listed, &r)), "list");
    }

    #[test]
    fn a_helpdesk_acknowledgement_marked_bulk_is_an_auto_reply_a_list_stays_a_list() {
        let r = RuleSet::builtin();
        let ack = "Thank you for contacting us. This is an automatic confirmation that your message has been received and assigned ticket number 5521.";
        for headers in [
            vec![("Precedence", "bulk")],
            vec![("Auto-Submitted", "auto-generated"), ("Precedence", "bulk")],
        ] {
            let m = mail(
                "help@other-org.example",
                "[Ticket 5521] Re: question",
                ack,
                &headers,
            );
            assert_eq!(kind(&check(&m, &r)), "autoreply", "{headers:?}");
        }
        // A real list (List-Id) stays a list whatever it says; bulk mail
        // without auto-reply words stays a list.
        let m = mail(
            "news@other-org.example",
            "Digest",
            ack,
            &[
                ("Precedence", "bulk"),
                ("List-Id", "<news.other-org.example>"),
            ],
        );
        assert_eq!(kind(&check(&m, &r)), "list");
        let m = mail(
            "news@other-org.example",
            "Digest",
            "12 new posts this week",
            &[("Precedence", "bulk")],
        );
        assert_eq!(kind(&check(&m, &r)), "list");
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
            "list"
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

    fn ours(unauthenticated: Unauthenticated) -> Trust {
        Trust {
            authserv_ids: vec!["mx.helpgate.example".into()],
            unauthenticated,
        }
    }

    fn verdict(trust: &Trust, headers: &[(&str, &str)]) -> Verdict {
        check_with(
            &mail("p@x.org", "payment", "when?", headers),
            &RuleSet::builtin(),
            trust,
        )
    }

    /// Issue 10, point 17: machine mail that came as a person's before.
    #[test]
    fn issue_10_reports_loop_alerts_and_vendor_bounces_are_machine_mail() {
        let r = RuleSet::builtin();
        let parsed = |headers: &str, body: &str| {
            crate::parse::parse(
                format!("{headers}\nMessage-ID: <m@x.example>\n\n{body}")
                    .replace('\n', "\r\n")
                    .as_bytes(),
            )
        };
        for (what, mail) in [
            (
                "ARF complaint as multipart/mixed",
                parsed(
                    "From: abuse@isp.example\nSubject: Complaint about message from 192.0.2.1\n\
                     Content-Type: multipart/mixed; boundary=a",
                    "--a\nContent-Type: text/plain\n\nThis is an email abuse report for an email message.\n\
                     --a\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n\
                     --a\nContent-Type: message/rfc822\n\nFrom: support@helpgate.example\nSubject: Re: payment\n\nhello\n--a--",
                ),
            ),
            (
                "bare MAILER-DAEMON",
                parsed(
                    "From: MAILER-DAEMON\nSubject: Notice",
                    "The message you sent could not be delivered\nto the recipient ana@example.org.",
                ),
            ),
            (
                "a list's loop alert",
                parsed(
                    "From: volunteers-admin@lists.example\nSubject: Loop Alert: dup'ed message-id",
                    "A message seems to have looped back to the list.",
                ),
            ),
            (
                "Apache James",
                parsed(
                    "From: james@mail.james.example\nSubject: [BOUNCE]",
                    "Hi. This is the James mail server at james.example.\nThe message could not be handled.",
                ),
            ),
            (
                "Verizon",
                parsed(
                    "From: sysadmin@vzwpix.example\nSubject: Re: payment",
                    "Error: No valid recipients for this MM",
                ),
            ),
            (
                "Exim X-Failed-Recipients",
                parsed(
                    "From: ops@mx.example\nX-Failed-Recipients: ana@example.org\nSubject: Re: payment",
                    "See below.",
                ),
            ),
            (
                "Spanish out-of-office without headers",
                parsed(
                    "From: r.ortega@faro.example\nSubject: RE: Re: [#4935] Pago de octubre",
                    "Gracias por su mensaje.\n\nMe encuentro fuera de la oficina hasta el lunes 23 de noviembre, \
                     sin acceso al correo electronico. Para asuntos urgentes, comuniquese con contabilidad.",
                ),
            ),
        ] {
            let v = check(&mail, &r);
            assert!(v.is_machine(), "{what}: {v:?}");
        }
        // A person who writes about a bounced mail is still a person.
        let person = parsed(
            "From: ana@example.org\nSubject: my mail bounced",
            "My message to my team could not be delivered, and I got an error message below. Help?",
        );
        assert_eq!(check(&person, &r), Verdict::Human);
    }

    #[test]
    fn issue_10_only_an_aligned_pass_from_our_own_server_verifies() {
        let t = ours(Unauthenticated::Hold);
        let ar = |v: &str| {
            vec![(
                "Authentication-Results",
                format!("mx.helpgate.example; {v}"),
            )]
        };
        let h = |v: &[(&str, String)]| -> Vec<(String, String)> {
            v.iter().map(|(a, b)| (a.to_string(), b.clone())).collect()
        };
        let run = |hs: Vec<(String, String)>| {
            let refs: Vec<(&str, &str)> =
                hs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            verdict(&t, &refs)
        };
        for pass in [
            "dmarc=pass header.from=x.org",
            "spf=pass smtp.mailfrom=x.org",
            "spf=pass smtp.mailfrom=bounce@mail.x.org; dmarc=none",
            "dkim=pass header.d=x.org; spf=softfail smtp.mailfrom=x.org",
        ] {
            assert_eq!(run(h(&ar(pass))), Verdict::Human, "{pass}");
        }
        for fail in [
            "spf = fail smtp.mailfrom=x.org",
            "dmarc=(p=reject; sp=none) fail header.from=x.org",
            "spf=none smtp.mailfrom=x.org",
            "spf=softfail smtp.mailfrom=x.org",
            "spf=permerror smtp.mailfrom=x.org",
            "spf=temperror smtp.mailfrom=x.org",
            "spf=pass smtp.mailfrom=attacker.test",
            "dkim=pass header.d=attacker.test",
            "dkim=pass header.d=org",
            "none",
        ] {
            assert!(
                matches!(run(h(&ar(fail))), Verdict::Untrusted { .. }),
                "{fail} must not verify"
            );
        }
        // Another hop's header (or the sender's own) is not believed.
        let foreign = vec![(
            "Authentication-Results".to_string(),
            "mx.attacker.test; dmarc=pass header.from=x.org".to_string(),
        )];
        assert!(matches!(run(foreign), Verdict::Untrusted { .. }));
        // The topmost of ours decides; a forged one of ours below it does not.
        let two = vec![
            (
                "Authentication-Results".to_string(),
                "mx.helpgate.example; dmarc=fail".to_string(),
            ),
            (
                "Authentication-Results".to_string(),
                "mx.helpgate.example; dmarc=pass".to_string(),
            ),
        ];
        assert!(matches!(run(two), Verdict::Untrusted { .. }));
    }

    #[test]
    fn issue_10_mail_without_our_header_follows_the_configured_policy() {
        let received = [(
            "Received",
            "from x by mx.helpgate.example; Mon, 23 Nov 2026 09:00:00 +0000",
        )];
        // Default: local files (no Received) are answered, server mail is not.
        assert_eq!(verdict(&Trust::default(), &[]), Verdict::Human);
        // Nothing configured: answered unless the nearest header reports a
        // failure (a forged failure only stops the forger's own answer).
        assert_eq!(verdict(&Trust::default(), &received), Verdict::Human);
        let failing = [(
            "Authentication-Results",
            "mx1.projects.example; spf=softfail; dkim=none; dmarc=fail",
        )];
        let v = verdict(&Trust::default(), &failing);
        assert!(
            matches!(&v, Verdict::Untrusted { reason } if reason.contains("spf=softfail, dmarc=fail")),
            "{v:?}"
        );
        let passing = [(
            "Authentication-Results",
            "mx1.projects.example; spf=pass; dkim=none; dmarc=none",
        )];
        assert_eq!(verdict(&Trust::default(), &passing), Verdict::Human);
        assert!(matches!(
            verdict(&ours(Unauthenticated::LocalOnly), &received),
            Verdict::Untrusted { .. }
        ));
        assert!(matches!(
            verdict(&ours(Unauthenticated::Hold), &[]),
            Verdict::Untrusted { .. }
        ));
        assert_eq!(
            verdict(&ours(Unauthenticated::Answer), &received),
            Verdict::Human
        );
    }

    #[test]
    fn issue_10_two_from_or_two_reply_to_headers_are_never_answered() {
        let t = ours(Unauthenticated::Answer);
        for name in ["From", "Reply-To"] {
            let v = verdict(&t, &[(name, "a@x.org"), (name, "b@victim.test")]);
            assert!(
                matches!(&v, Verdict::Untrusted { reason } if reason.contains("2 ")),
                "{name}: {v:?}"
            );
        }
    }
}
