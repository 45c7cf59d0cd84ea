//! Language and topic of a message. Pure and context-free, so it can run in
//! parallel before the store is touched; what depends on the ticket (its
//! earlier language, the project's default) is applied by [`refine`],
//! which `decide` calls.
//!
//! One scan: subject and new text are normalized (see
//! [`crate::rules::normalize`]) and run once through the rule set's
//! combined matcher; the same hits score topics and count as language
//! evidence, so a one-line "wanneer word ik betaald?" is Dutch even where
//! a statistical detector has too little text.

mod language;
pub mod linear;
pub mod quote;
pub mod second_opinion;
pub mod spam;
mod topic;

pub use language::whatlang_code;

use crate::decide::TicketContext;
use crate::parse::ParsedEmail;
use crate::rules::normalize::normalize;
use crate::rules::RuleSet;
use serde::Serialize;

/// Characters of new text scanned for topics: long mails cost no more.
const MAX_BODY_CHARS: usize = 4000;
/// Bytes of new text looked at at all (quote cutting included).
const MAX_BODY_BYTES: usize = 16 * 1024;
/// A subjectless mail this short is its own subject.
const ONE_LINER_CHARS: usize = 80;
/// Matched patterns kept for display.
const MAX_SHOWN_MATCHES: usize = 24;

/// What decided the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// Hangul, Han or Greek script.
    Script,
    /// Statistical detector and keyword evidence agreed enough.
    Detector,
    ContentLanguage,
    /// The ticket's earlier language (follow-ups).
    Ticket,
    Charset,
    /// A weak detector guess, better than nothing.
    WeakGuess,
    ProjectDefault,
}

impl LanguageSource {
    /// Sources that a ticket's earlier language should override.
    pub fn is_weak(self) -> bool {
        matches!(
            self,
            LanguageSource::Charset | LanguageSource::WeakGuess | LanguageSource::ProjectDefault
        )
    }
}

/// One rule that matched, for admins.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The topic, or `language` for a language hint.
    pub target: String,
    /// The languages whose lists hold the pattern.
    pub languages: Vec<String>,
    pub kind: crate::rules::matcher::PatternKind,
    pub pattern: String,
    /// `file:line`.
    pub origin: String,
    /// `subject` or `body`.
    pub field: &'static str,
    pub score: f64,
}

/// A topic and its score.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub topic: String,
    pub score: f64,
}

/// What a message is about and in which language.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Classification {
    /// ISO 639-1 code, when known.
    pub language: Option<String>,
    pub language_confidence: f64,
    pub language_runner_up: Option<String>,
    pub language_source: Option<LanguageSource>,
    /// The winning topic (`other` when nothing scored enough).
    pub topic: Option<String>,
    pub topic_score: f64,
    /// The best topic was below the threshold or too close to the runner-up.
    pub topic_uncertain: bool,
    /// Why, when [`Classification::topic_uncertain`], for the reason text.
    #[serde(skip)]
    pub unsure: Unsure,
    /// Best topics first (at most 3, score > 0).
    pub candidates: Vec<Candidate>,
    /// Matched pattern ids: (pattern, in the subject). Turned into
    /// [`Match`]es only on demand ([`Classification::matches`]), so the
    /// pipeline does not pay for strings nobody reads.
    #[serde(skip)]
    pub hits: Vec<(u32, bool)>,
    /// The best sensitive topic with any evidence at all, however weak: an
    /// automatic answer needs none.
    pub sensitive_hint: Option<Candidate>,
    /// Spam and scam evidence (rules/spam.toml).
    pub spam: spam::Assessment,
    /// Whether the topic is what this message's own words say, or (a
    /// follow-up whose new text names no clear topic) its conversation's.
    pub topic_source: TopicSource,
    /// A one-liner or subject-only mail, where one word is all the evidence
    /// there can be (kept to score a follow-up's new text again).
    #[serde(skip)]
    pub short: bool,
    /// The statistical model's vote, asked only where the rules alone
    /// would leave a first message to a person (see [`second_opinion`]).
    pub second_opinion: Option<second_opinion::Vote>,
    /// Its vote on the new text alone, for a person's mail that may
    /// continue a conversation (reply headers or a ticket token): a
    /// follow-up's subject is its conversation's, so only what the new text
    /// says may escalate it ([`crate::decide::decide_with_second_opinion`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_opinion_new_text: Option<second_opinion::Vote>,
    /// The linear model's vote on a person's mail (rules/linear_model.tsv,
    /// [`linear`]): it may only escalate a first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear: Option<second_opinion::Vote>,
    /// Its vote on the new text alone, beside [`Self::second_opinion_new_text`]:
    /// where both name the same ordinary topic, a follow-up that the rules
    /// leave with its conversation's topic takes that one (it goes to a
    /// person either way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_new_text: Option<second_opinion::Vote>,
    /// The new text [`classify`] read ([`own_words`]), kept for
    /// [`ask_second_opinion`] of the same mail, which reads the same words
    /// and takes it: cutting quotes twice cost as much as the vote's look-ups.
    #[serde(skip)]
    pub own_text: Option<String>,
}

/// Why the rules' topic is unsure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unsure {
    /// The runner-up scored too close to the best.
    #[default]
    TooClose,
    /// The best scored below the threshold.
    BelowThreshold,
    /// One keyword in the body of a longer mail.
    LoneKeyword,
    /// Weak words of a sensitive topic (one keyword, or under the score an
    /// automatic answer would need).
    WeakSensitive,
}

/// Where a message's topic comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicSource {
    /// Subject and new text of the message itself.
    #[default]
    Text,
    /// A follow-up's new text alone (the subject is the conversation's).
    NewText,
    /// The conversation: a nudge ("any news?"), a detail ("the originals
    /// are attached") continues what the ticket is about.
    Ticket,
    /// The second opinion's vote, where the rules found no clear topic or
    /// one that goes to a person anyway: never answered automatically.
    SecondOpinion,
    /// The linear model's clear vote for a sensitive topic: escalated.
    LinearModel,
    /// A follow-up whose new text the rules leave to its conversation's
    /// topic, while both models read it as another ordinary topic (the
    /// payment question in an upload thread): a person answers either way.
    ModelsAgree,
}

impl Classification {
    /// The rules that matched, for admins (at most 24).
    pub fn matches(&self, rules: &RuleSet) -> Vec<Match> {
        collect_matches(rules, self)
    }
}

/// Classify a message: context-free, CPU-bound, never fails.
pub fn classify(email: &ParsedEmail, rules: &RuleSet) -> Classification {
    let (subject, new_text) = own_words(email);
    let mut subj_norm = normalize(subject, 400);
    // A subject-only mail: the subject is the message, so it also counts
    // as the body.
    let body_norm = if new_text.trim().is_empty() {
        subj_norm.clone()
    } else {
        normalize(&new_text, MAX_BODY_CHARS)
    };
    let one_liner = body_norm.chars().count() <= ONE_LINER_CHARS;
    // A one-liner without subject ("Pagamento??"): its line is the subject
    // too, so one strong word weighs as it would in a subject-only mail.
    if subj_norm.trim().is_empty() && one_liner {
        subj_norm.clone_from(&body_norm);
    }
    // Topic and spam cues in one scan of each text; a subject-only mail or
    // a one-liner without subject is one text twice, scanned once.
    let (mut subj_hits, mut subj_spam) = (Vec::new(), Vec::new());
    let spam_cues = &rules.spam.matcher;
    rules
        .text
        .find_pair(spam_cues, &subj_norm, &mut subj_hits, &mut subj_spam);
    let (body_hits, body_spam) = if body_norm == subj_norm {
        (subj_hits.clone(), subj_spam.clone())
    } else {
        let (mut hits, mut spam) = (Vec::new(), Vec::new());
        rules
            .text
            .find_pair(spam_cues, &body_norm, &mut hits, &mut spam);
        (hits, spam)
    };
    // The same for a one-liner under a subject that says nothing ("hi",
    // "urgent"): "when is payout for november??" is as clear as its subject
    // would be.
    if one_liner && !subj_norm.is_empty() && !has_topic_hit(rules, &subj_hits) {
        subj_hits.extend(
            body_hits
                .iter()
                .copied()
                .filter(|&i| is_topic_hit(rules, i)),
        );
    }

    let mut out = Classification::default();
    language::detect(
        rules, email, subject, &new_text, &subj_hits, &body_hits, &mut out,
    );
    let short = one_liner || new_text.trim().is_empty();
    out.short = short;
    topic::score(rules, &subj_hits, &body_hits, short, &mut out);
    // A forward's subject is the forwarded message's ("Fwd: Your account
    // will be closed"): when the forwarder wrote words of their own ("is
    // this really from you?"), those are what spam cues read.
    let forwarder_wrote = email.body.forwarded.is_some() && !new_text.trim().is_empty();
    let spam_hits = if forwarder_wrote {
        body_spam
    } else {
        subj_spam.into_iter().chain(body_spam).collect()
    };
    let participant_topic = out
        .candidates
        .iter()
        .any(|c| c.topic != "other" && c.score >= rules.thresholds.auto_reply_min_score);
    out.spam = spam::assess(email, rules, spam_hits, participant_topic);
    out.hits = subj_hits
        .iter()
        .map(|&i| (i, true))
        .chain(body_hits.iter().map(|&i| (i, false)))
        .collect();
    out.own_text = Some(new_text);
    out
}

/// What classification reads of a message: its subject without "Re:" and
/// the like, and its new text without quoted history or a mobile signature
/// (also what the second opinion is trained on).
pub fn own_words(email: &ParsedEmail) -> (&str, String) {
    let mut new_text = quote::strip(prefix(&email.body.new_text, MAX_BODY_BYTES));
    quote::drop_mobile_signature(&mut new_text);
    (strip_subject_prefixes(&email.subject), new_text)
}

/// Ask the second opinion (when the rules ship a model) about a person's
/// mail, after the guard and the spam screen. Machine mail is never asked,
/// nor mail the rules already escalate with a clear sensitive topic: the
/// vote can only move a decision toward a person or toward escalation, so
/// there the n-gram scan (about 15 us) would change nothing. Mail that may
/// continue a conversation is also voted on by its new text alone (only a
/// sensitive vote counts there).
///
/// Spam by wording alone (no upstream verdict, none of the structural
/// signs: HTML only, fake reply, Reply-To elsewhere, lookalike domain,
/// failed authentication, risky attachment) is given back to a person when
/// the second opinion does not vote spam and the rules find a sensitive
/// topic clearly or the vote is one (without a model: when the rules do): a
/// participant appealing a suspension quotes the notice ("my account says:
/// your account has been suspended") in the words phishing uses, and a lost
/// appeal is worse than a specialist seeing a phish. It stays spam enough
/// that nothing answers it automatically.
pub fn ask_second_opinion(
    email: &ParsedEmail,
    verdict: &mut crate::guard::Verdict,
    rules: &RuleSet,
    class: &mut Classification,
) {
    let own_text = class.own_text.take();
    verdict.settle_away(asks_something(rules, class));
    let wording_only = spam::by_wording_only(verdict, &class.spam);
    if verdict.is_machine() && !wording_only {
        return;
    }
    let subject = strip_subject_prefixes(&email.subject);
    let new_text = own_text.unwrap_or_else(|| own_words(email).1);
    let model = rules.second_opinion.as_ref().and_then(|f| f.model().ok());
    let Some(model) = model else {
        if wording_only && clear_sensitive_topic(rules, class) {
            *verdict = crate::guard::Verdict::Human;
        }
        ask_linear(verdict, rules, class, subject, &new_text, false);
        return;
    };
    // Both votes read the new text's n-grams: they are looked up once, and
    // only when a vote is asked for.
    let features = std::cell::OnceCell::new();
    let features = || features.get_or_init(|| model.features(subject, &new_text));
    if wording_only || may_need_second_opinion(rules, class) {
        let vote = features().vote();
        if wording_only {
            // A phish says "your account has been suspended" too, and the
            // rules then see an appeal: the model, which has read both, must
            // not call it spam.
            let sensitive_vote = rules.routes.get(&vote.topic).is_some_and(|r| r.sensitive);
            if vote.topic == "spam" || !(sensitive_vote || clear_sensitive_topic(rules, class)) {
                return;
            }
            *verdict = crate::guard::Verdict::Human;
        }
        class.second_opinion = Some(vote);
    }
    // Threading needs the store, so here it is only known that the mail
    // may be a follow-up; the scan costs about 10 us on the parallel side
    // rather than on the store thread.
    let may_follow_up =
        !verdict.is_machine() && may_continue_a_conversation(email) && !new_text.trim().is_empty();
    if may_follow_up {
        class.second_opinion_new_text = Some(features().vote_new_text());
    }
    ask_linear(verdict, rules, class, subject, &new_text, may_follow_up);
}

/// The linear model's vote, where it could still escalate: a person's
/// mail that the rules do not already give a clear sensitive topic; and,
/// with `new_text_too` (mail that may continue a conversation), its vote
/// on the new text alone.
fn ask_linear(
    verdict: &crate::guard::Verdict,
    rules: &RuleSet,
    class: &mut Classification,
    subject: &str,
    new_text: &str,
    new_text_too: bool,
) {
    let Some(model) = rules.linear.as_ref().and_then(|f| f.model().ok()) else {
        return;
    };
    if !verdict.is_machine() && !clear_sensitive_topic(rules, class) {
        class.linear = Some(model.vote(subject, new_text));
    }
    if new_text_too {
        class.linear_new_text = Some(model.vote("", new_text));
    }
}

/// Whether threading could join the mail to a ticket: it answers a message
/// or names a ticket in its subject.
fn may_continue_a_conversation(email: &ParsedEmail) -> bool {
    !email.in_reply_to.is_empty()
        || !email.references.is_empty()
        || !crate::thread::tokens(&email.subject).is_empty()
}

fn clear_sensitive_topic(rules: &RuleSet, class: &Classification) -> bool {
    let clear =
        !class.topic_uncertain && class.topic_score >= rules.thresholds.auto_reply_min_score;
    clear
        && class
            .topic
            .as_deref()
            .and_then(|t| rules.routes.get(t))
            .is_some_and(|r| r.sensitive)
}

fn may_need_second_opinion(rules: &RuleSet, class: &Classification) -> bool {
    !class.spam.is_spam(rules) && !clear_sensitive_topic(rules, class)
}

fn is_topic_hit(rules: &RuleSet, id: u32) -> bool {
    rules
        .text
        .patterns
        .get(id as usize)
        .is_some_and(|p| matches!(p.target, crate::rules::matcher::Target::Topic(_)))
}

/// A word of some topic (any, `other` too) in the new text, not only in
/// the subject.
fn asks_something(rules: &RuleSet, class: &Classification) -> bool {
    class.hits.iter().any(|&(id, in_subject)| {
        !in_subject
            && is_topic_hit(rules, id)
            && rules.text.patterns[id as usize].kind != crate::rules::matcher::PatternKind::Negative
    })
}

fn has_topic_hit(rules: &RuleSet, hits: &[u32]) -> bool {
    hits.iter().any(|&i| is_topic_hit(rules, i))
}

/// Apply what the ticket knows: a follow-up keeps the ticket's language
/// when this message alone is too weak to tell, and the project's default
/// replaces the rule set's default.
pub fn refine(class: &mut Classification, ctx: &TicketContext, rules: &RuleSet) {
    refine_language(class, ctx, rules);
    if ctx.follow_up {
        follow_up_topic(class, ctx, rules);
    }
}

fn refine_language(class: &mut Classification, ctx: &TicketContext, rules: &RuleSet) {
    let weak = class.language_source.is_none_or(LanguageSource::is_weak);
    if weak {
        if let Some(lang) = &ctx.ticket_language {
            class.language = Some(lang.clone());
            class.language_source = Some(LanguageSource::Ticket);
            return;
        }
    }
    if class.language_source == Some(LanguageSource::ProjectDefault) || class.language.is_none() {
        if let Some(p) = rules.project(&ctx.project) {
            class.language = Some(p.default_language.clone());
            class.language_source = Some(LanguageSource::ProjectDefault);
        }
    }
}

/// A follow-up's subject is its conversation's ("Re: payout still
/// pending"), so what the message itself is about is, in this order: a
/// topic its new text alone makes clear (at the score an automatic answer
/// needs); a sensitive signal anywhere in it (a deletion request in a
/// payment conversation); otherwise (a nudge, a detail, "thanks", an
/// account number in passing) the ticket's topic. In a sensitive
/// conversation only another sensitive topic takes over: "attached the
/// originals, please reactivate my account" continues an appeal.
fn follow_up_topic(class: &mut Classification, ctx: &TicketContext, rules: &RuleSet) {
    if class.topic_source != TopicSource::Text {
        return;
    }
    let earlier = ctx.ticket_topic.as_deref().filter(|t| *t != "other");
    let strong = rules
        .thresholds
        .auto_reply_min_score
        .max(rules.thresholds.min_score);
    let sensitive = |t: &str| rules.is_sensitive_topic(&ctx.project, t);
    let body: Vec<u32> = class
        .hits
        .iter()
        .filter(|(_, in_subject)| !in_subject)
        .map(|&(id, _)| id)
        .collect();
    let mut own = Classification {
        language: class.language.clone(),
        language_source: class.language_source,
        ..Classification::default()
    };
    topic::score(rules, &[], &body, class.short, &mut own);
    let own_clear = own.topic.as_deref().is_some_and(|t| {
        !own.topic_uncertain
            && t != "other"
            && own.topic_score >= strong
            && (earlier.is_none_or(|e| !sensitive(e)) || sensitive(t))
            && !yields(rules, t, earlier, &body)
    });
    if own_clear {
        class.topic = own.topic;
        class.topic_score = own.topic_score;
        class.topic_uncertain = false;
        class.candidates = own.candidates;
        class.topic_source = TopicSource::NewText;
        return;
    }
    let sensitive_already = class
        .topic
        .as_deref()
        .is_some_and(|t| sensitive(t) && !(class.topic_uncertain && class.topic_score < strong));
    if sensitive_already {
        return;
    }
    let signal = class.candidates.iter().find(|c| {
        c.score >= strong && sensitive(&c.topic) && !yields(rules, &c.topic, earlier, &body)
    });
    if let Some(c) = signal {
        class.topic = Some(c.topic.clone());
        class.topic_score = c.score;
        class.topic_uncertain = false;
        class.topic_source = TopicSource::NewText;
    } else if let Some(e) = earlier {
        class.topic = Some(e.to_string());
        class.topic_uncertain = false;
        class.topic_source = TopicSource::Ticket;
    }
}

/// `topic` does not take over from `other` (rules: `yields_to`): an
/// "Einspruch" in a rejection-dispute thread disputes, it appeals nothing,
/// unless the new text (`hits`) also gives evidence of a `yields_unless`
/// topic ("... and now my account is blocked").
fn yields(rules: &RuleSet, topic: &str, other: Option<&str>, hits: &[u32]) -> bool {
    let Some(other) = other else { return false };
    let Some(t) = rules.topics.iter().position(|t| t.id == topic) else {
        return false;
    };
    topic::yields_to(rules, t, other, |u| topic_evidence(rules, hits, u))
}

/// Whether any pattern of topic `id` with a positive weight is among `hits`.
fn topic_evidence(rules: &RuleSet, hits: &[u32], id: &str) -> bool {
    use crate::rules::matcher::Target;
    hits.iter().any(|&i| {
        rules.text.patterns.get(i as usize).is_some_and(|p| {
            p.weight > 0.0 && matches!(p.target, Target::Topic(t) if rules.topics[t].id == id)
        })
    })
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// "Re: Fwd: AW: SV: subject" -> "subject".
fn strip_subject_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower: String = s.chars().take(6).flat_map(char::to_lowercase).collect();
        let cut = [
            "re:",
            "fw:",
            "fwd:",
            "aw:",
            "sv:",
            "vs:",
            "wg:",
            "tr:",
            "rv:",
            "res:",
            "enc:",
            "antw:",
            "ynt:",
            "απ:",
            "σχετ:",
            "답장:",
            "回复:",
            "转发:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p));
        match cut {
            Some(p) => {
                let n = p.chars().count();
                s = s
                    .char_indices()
                    .nth(n)
                    .map_or("", |(i, _)| &s[i..])
                    .trim_start();
            }
            None => return s,
        }
    }
}

fn collect_matches(rules: &RuleSet, class: &Classification) -> Vec<Match> {
    use crate::rules::matcher::Target;
    let lang = topic::confident_language(rules, class);
    let mut out = Vec::new();
    for &(id, in_subject) in class.hits.iter().take(MAX_SHOWN_MATCHES) {
        let Some(p) = rules.text.patterns.get(id as usize) else {
            continue;
        };
        let field = if in_subject { "subject" } else { "body" };
        let (target, score) = match p.target {
            Target::Topic(t) => {
                let topic = &rules.topics[t];
                let w = if in_subject {
                    topic.subject_weight
                } else {
                    topic.body_weight
                };
                let f = topic::language_factor(rules, p, lang);
                (topic.id.clone(), p.weight * w * f)
            }
            _ => ("language".to_string(), p.weight),
        };
        out.push(Match {
            target,
            languages: p
                .langs
                .iter()
                .map(|&l| rules.languages[l].code.clone())
                .collect(),
            kind: p.kind,
            pattern: p.text.clone(),
            origin: p.origin.to_string(),
            field,
            score,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str, body: &str) -> ParsedEmail {
        ParsedEmail {
            subject: subject.into(),
            body: crate::parse::Body {
                full: body.into(),
                new_text: body.into(),
                ..crate::parse::Body::default()
            },
            ..ParsedEmail::default()
        }
    }

    /// Guard, spam screen and second opinion over a raw mail, as ingest
    /// runs them.
    fn screened(raw: &str) -> (crate::guard::Verdict, Classification) {
        let r = RuleSet::builtin();
        let email = crate::parse::parse(raw.as_bytes());
        let mut class = classify(&email, &r);
        let mut verdict = spam::screen(crate::guard::check(&email, &r), &class.spam, &r);
        ask_second_opinion(&email, &mut verdict, &r, &mut class);
        (verdict, class)
    }

    #[test]
    fn an_appeal_quoting_the_suspension_notice_is_not_spam_a_phish_is() {
        let appeal = "From: Ana Lima <ana.lima@gmail.com>\nTo: support@helpgate.example\nSubject: my account says suspended???\n\nWhy?? Since yesterday only a red banner: \"Your account has been suspended for breaking our terms\". I did all my recordings myself, please review it and give me my account back.\n";
        let (verdict, class) = screened(appeal);
        // Spam by its words alone (score 4 >= 3).
        assert!(class.spam.is_spam(&RuleSet::builtin()), "{:?}", class.spam);
        assert_eq!(verdict, crate::guard::Verdict::Human);
        assert_eq!(class.topic.as_deref(), Some("appeal"));
        // Still too spam-like for an automatic answer.
        assert!(class.spam.is_doubtful(&RuleSet::builtin()));
        // The same words with a structural sign of phishing stay spam.
        let phish = appeal
            .replace("ana.lima@gmail.com", "security@helpgate-example.example")
            .replace(
                "Subject: my account",
                "Reply-To: x@elsewhere.example\nSubject: my account",
            );
        let (verdict, _) = screened(&phish);
        assert!(verdict.is_machine(), "{verdict:?}");
    }

    #[test]
    fn a_forwarded_phish_with_the_participant_s_question_is_not_spam() {
        let fwd = "From: Marta Rossi <marta.rossi@libero.it>\nTo: support@helpgate.example\nSubject: Fwd: Your account has been suspended\n\nHi, I got this today, is it really from you? The sender looks strange.\n\n---------- Forwarded message ---------\nFrom: Security <alert@secure-login.example>\nSubject: Your account has been suspended\n\nYour account has been suspended. Verify your identity within 24 hours or your account will be closed.\n";
        let (verdict, _) = screened(fwd);
        assert_eq!(verdict, crate::guard::Verdict::Human);
        // The same notice sent as it is stays spam.
        let direct = "From: Security <alert@secure-login.example>\nTo: support@helpgate.example\nSubject: Your account has been suspended\n\nYour account has been suspended. Verify your identity within 24 hours or your account will be closed.\n";
        let (verdict, _) = screened(direct);
        assert!(verdict.is_machine(), "{verdict:?}");
    }

    #[test]
    fn scams_the_cues_half_know_are_never_answered_and_participants_asking_about_them_are_people() {
        let r = RuleSet::builtin();
        let decided = |raw: &str| {
            let (verdict, mut class) = screened(raw);
            let ctx = crate::decide::TicketContext {
                project: "default".into(),
                ..Default::default()
            };
            let d = crate::decide::decide_with_second_opinion(&verdict, &mut class, &ctx, &r);
            (verdict, d.action, class.second_opinion)
        };
        // Loan and domain offers: spam by the rules, or to a person (the
        // spam vote's own effect is tested in decide).
        for raw in [
            "From: Kredi Merkezi <info@hizli-kredi.example>\nTo: support@helpgate.example\nSubject: Kredi teklifiniz onaylandı\n\nSayın müşterimiz, kefilsiz 30.000 TL kredi başvurunuz onaylandı. Hemen tıklayın, para bugün hesabınızda.\n",
            "From: Domain Services <renew@domain-registry-notice.example>\nTo: support@helpgate.example\nSubject: Final notice: your domain expiration\n\nYour domain will expire and be released to the public. Renew now for $79 to keep your search listing.\n",
        ] {
            let (verdict, action, vote) = decided(raw);
            assert!(
                verdict.is_machine() || action != crate::decide::Action::AutoReply,
                "{verdict:?} {action:?} {vote:?}"
            );
        }
        // Participants asking about such mail, or about their payout, are
        // people.
        for raw in [
            "From: Elif Kaya <elif.kaya@gmail.com>\nTo: support@helpgate.example\nSubject: kredi mesajı sizden mi?\n\nMerhaba, bana sizin adınıza bir kredi teklifi geldi, link var. Bu sizden mi? Hesabımla ilgili bir sorun mu var? Kayıtlarımı yüklemeye devam ediyorum.\n",
            "From: Tom Baker <tom.baker@gmail.com>\nTo: support@helpgate.example\nSubject: strange final notice email\n\nHi, I received a 'final notice' email saying your domain expires and asking me to pay. Is that a scam? I just want to know my payout for last week is safe.\n",
        ] {
            let (verdict, _, vote) = decided(raw);
            assert_eq!(verdict, crate::guard::Verdict::Human, "{vote:?}");
        }
    }

    fn lang(c: &Classification) -> (&str, LanguageSource) {
        (
            c.language.as_deref().unwrap_or(""),
            c.language_source.expect("always set"),
        )
    }

    #[test]
    fn scripts_decide_korean_chinese_greek_but_not_japanese() {
        let r = RuleSet::builtin();
        let s = LanguageSource::Script;
        assert_eq!(
            lang(&classify(
                &mail("", "결제 언제 돼요? PayPal 계정이에요"),
                &r
            )),
            ("ko", s)
        );
        assert_eq!(
            lang(&classify(&mail("", "我的PayPal什么时候到账"), &r)),
            ("zh", s)
        );
        assert_eq!(
            lang(&classify(&mail("", "Πότε θα πληρωθώ;"), &r)),
            ("el", s)
        );
        let ja = classify(&mail("", "支払いはいつですか"), &r);
        assert_ne!(ja.language.as_deref(), Some("zh"));
    }

    #[test]
    fn an_appeal_of_rejected_recordings_is_a_rejection_dispute() {
        let r = RuleSet::builtin();
        let t = |s: &str, b: &str| classify(&mail(s, b), &r).topic.unwrap_or_default();
        let rec = "I'd like to appeal the decision, 15 of my recordings were declined for noise.";
        assert_eq!(t("appeal", rec), "rejection_dispute");
        // An appeal that also speaks of the account is about the account,
        // however many rejection words come with it.
        let blocked = "I appeal: my account is blocked. 20 of my recordings were rejected unfairly, please re-check the rejected recordings.";
        assert_eq!(t("appeal", blocked), "appeal");
        let acc = "My account was suspended, I'd like to appeal the decision and be reinstated.";
        assert_eq!(t("appeal", acc), "appeal");
        assert_eq!(
            t(
                "recurso",
                "Quero recorrer: minha conta foi suspensa sem motivo."
            ),
            "appeal"
        );
    }

    #[test]
    fn yields_unless_holds_when_the_sensitive_topic_is_picked() {
        let r = RuleSet::builtin();
        let dispute = "Most of my recordings were rejected and I disagree with the rejection, the quality was fine, please review the rejected ones.";
        // Rejection words dominate, but the account is blocked too: the
        // appeal does not yield to the rejection dispute (yields_unless =
        // account), however much stronger the dispute scores. Without
        // account words the same dispute stays a dispute.
        for (tail, want) in [
            ("Also my account is now blocked.", "appeal"),
            ("I want to appeal.", "rejection_dispute"),
        ] {
            let c = classify(&mail("rejections", &format!("{dispute} {tail}")), &r);
            assert_eq!(c.topic.as_deref(), Some(want), "{tail}: {:?}", c.candidates);
        }
    }

    #[test]
    fn one_liners_and_phone_signatures_weigh_as_subjects() {
        let r = RuleSet::builtin();
        // One strong word under a subject that says nothing is as clear as
        // the same word in the subject.
        let alone = classify(&mail("when is payout for november??", ""), &r);
        let under_hi = classify(&mail("hi", "when is payout for november??"), &r);
        assert_eq!(under_hi.topic.as_deref(), Some("payment"));
        assert_eq!(under_hi.topic_score, alone.topic_score);
        // A long body does not get that boost.
        let long = format!("when is payout for november?? {}", "blah ".repeat(30));
        assert!(classify(&mail("hi", &long), &r).topic_score < alone.topic_score);
        // "Sent from my iPhone" alone leaves a subject-only mail.
        let phone = classify(&mail("Pago de octubre", "Enviado desde mi iPhone"), &r);
        let bare = classify(&mail("Pago de octubre", ""), &r);
        assert_eq!(phone.topic_score, bare.topic_score);
    }

    #[test]
    fn short_mails_without_accents_or_in_latin_greek() {
        let r = RuleSet::builtin();
        for (text, want) in [
            ("wanneer word ik betaald?", "nl"),
            ("Khi nao toi duoc thanh toan?", "vi"),
            ("odeme ne zaman yapilacak", "tr"),
            ("pote tha plirwthw?", "el"),
            ("milloin saan rahat?", "fi"),
            ("quando verro pagato?", "it"),
            ("cuando me pagan?", "es"),
        ] {
            assert_eq!(
                classify(&mail("", text), &r).language.as_deref(),
                Some(want),
                "{text}"
            );
        }
    }

    #[test]
    fn english_tech_words_and_quoted_english_do_not_make_english() {
        let r = RuleSet::builtin();
        let c = classify(
            &mail(
                "upload",
                "fiz o upload dos files pelo app mas o status ta pending, vcs receberam?",
            ),
            &r,
        );
        assert_eq!(c.language.as_deref(), Some("pt"));
        let body = "Obrigada!\n\nOn Mon, 3 Jun 2024 at 10:00, Support <s@x.example> wrote:\n> Hi, we have received all your recordings and the payment will follow. Thank you for your patience with the review.\n";
        assert_eq!(
            classify(&mail("Re: recordings", body), &r)
                .language
                .as_deref(),
            Some("pt")
        );
    }

    #[test]
    fn fallbacks_content_language_then_charset_then_default() {
        let r = RuleSet::builtin();
        let mut m = mail("", "ok 👍");
        m.headers.push(("content-language".into(), "fr-FR".into()));
        assert_eq!(
            lang(&classify(&m, &r)),
            ("fr", LanguageSource::ContentLanguage)
        );
        let mut m = mail("", "ok");
        m.charset = Some("ISO-8859-9".into());
        assert_eq!(lang(&classify(&m, &r)), ("tr", LanguageSource::Charset));
        assert_eq!(
            lang(&classify(&mail("", "ok"), &r)),
            ("en", LanguageSource::ProjectDefault)
        );
    }

    fn decided(subject: &str, body: &str) -> (crate::decide::Action, String) {
        let r = RuleSet::builtin();
        let c = classify(&mail(subject, body), &r);
        let ctx = crate::decide::TicketContext {
            project: r.projects[r.default_project].id.clone(),
            ..Default::default()
        };
        let d = crate::decide::decide(&crate::guard::Verdict::Human, &c, &ctx, &r);
        (d.action, c.topic.unwrap_or_default())
    }

    #[test]
    fn mild_sensitive_wording_escalates_in_every_language() {
        use crate::decide::Action;
        for body in [
            "Another participant keeps sending me messages on the forum and it's getting scary.",
            "My batch was rejected again. Honestly I feel like giving up on everything lately.",
            "Please remove everything you have stored about me, I'm done with this project.",
            "Bitte löschen Sie alle meine Aufnahmen und mein Konto.",
            "Ein Prüfer hat mir private Nachrichten geschickt, das ist mir unangenehm.",
            "Ik wil dat jullie al mijn gegevens wissen.",
            "Iemand doet zich voor als medewerker en vraagt om mijn wachtwoord.",
            "Mon compte a été suspendu sans raison, je conteste cette décision.",
            "Je n'ai plus la force de continuer, tout me semble inutile.",
            "Me han cerrado la cuenta y no entiendo por qué.",
            "Un usuario me está amenazando por mensajes privados.",
            "Quero que apaguem todos os meus dados, por favor.",
            "Il mio account è stato chiuso senza motivo.",
            "Non ce la faccio più, a volte penso di farla finita.",
            "Haluan, että poistatte kaikki tietoni.",
            "Joku lähettää minulle uhkaavia viestejä.",
            "Tüm verilerimin silinmesini istiyorum.",
            "Biri bana sürekli tehdit mesajları gönderiyor.",
            "Θέλω να διαγράψετε όλα τα προσωπικά μου δεδομένα.",
            "제 계정이 왜 정지되었는지 알고 싶습니다.",
            "다른 참여자가 저에게 협박 메시지를 보내요.",
            "Tài khoản của tôi bị đình chỉ mà không rõ lý do.",
            "Có người liên tục gửi tin nhắn đe dọa tôi.",
            "请删除我所有的个人信息和录音。",
            "我最近觉得活着很累，不想再继续了。",
            // A sensitive signal inside another topic wins.
            "When will I be paid for October? Also please delete my data afterwards.",
            // Deletion in the passive or indirectly, abuse without its words,
            // a restricted account.
            "Vorrei che le mie foto venissero cancellate, grazie.",
            "Je voudrais que mes enregistrements soient supprimés.",
            "Please get all my recordings off your servers, I am stopping.",
            "A man on Telegram says he is a coordinator and wants a photo of my passport via WhatsApp.",
            "Ein Prüfer gibt meine Aufnahmen nur frei, wenn ich ihm ein Foto von mir schicke.",
            "Mijn foto's staan op een andere website, hoe kan dat?",
            "My account says it is restricted and I can't record anymore.",
            "Ik wil graag dat jullie alles wat ik heb ingestuurd weghalen.",
            "Un revisore mi scrive di continuo e mi ha chiesto delle foto.",
        ] {
            let (action, topic) = decided("question", body);
            assert_eq!(action, Action::Escalate, "{body} -> {topic}");
        }
    }

    #[test]
    fn impersonation_threats_leaks_stop_using_and_revoked_levels_escalate() {
        use crate::decide::Action;
        for (subject, body) in [
            // Someone else passing as the participant or as staff.
            (
                "weird",
                "Someone made an account with my name and is asking people for money.",
            ),
            (
                "Frage",
                "Jemand verwendet meine Fotos auf einer Seite, die so aussieht wie eure.",
            ),
            (
                "bizarre",
                "Un profil avec mon nom circule, ce n'est pas moi qui l'ai créé.",
            ),
            (
                "soru",
                "Birisi adımı ve fotoğrafımı kullanarak profil açmış.",
            ),
            (
                "help",
                "A guy messaged me on Telegram saying he is a moderator and wants my ID.",
            ),
            // A threat of violence inside a complaint.
            (
                "payment",
                "This is your final warning. Pay me by Friday or you'll regret it.",
            ),
            (
                "Zahlung",
                "Letzte Warnung. Ich komme persönlich vorbei, wenn das Geld nicht kommt.",
            ),
            // The participant's own recording put online.
            (
                "vraag",
                "Mijn stemopname staat nu op Instagram met gemene reacties erbij.",
            ),
            (
                "pergunta",
                "Minha gravação apareceu no TikTok com comentários me zoando.",
            ),
            // Stop using / take it out, without a delete word.
            (
                "richiesta",
                "Toglietemi dai vostri sistemi, non voglio più saperne.",
            ),
            (
                "grabaciones",
                "Ya no quiero que mis grabaciones se usen para nada.",
            ),
            (
                "photos",
                "I'd rather you didn't use any of my photos from now on.",
            ),
            (
                "mijn zoon",
                "Ik heb nooit toestemming gegeven, mijn zoon heeft zich zelf aangemeld.",
            ),
            ("照片", "请把我上传的身份证照片删掉。"),
            (
                "payment",
                "im 14 and i signed up with my own email, can you still pay me?",
            ),
            // A level or access revoked, asked back.
            (
                "livello",
                "Mi hanno tolto il livello 2 senza spiegazione, chiedo una revisione.",
            ),
            (
                "tier",
                "My tier was revoked overnight, please look at it again.",
            ),
        ] {
            let (action, topic) = decided(subject, body);
            assert_eq!(action, Action::Escalate, "{body} -> {topic}");
        }
    }

    #[test]
    fn near_misses_of_round_8_kinds_do_not_escalate() {
        use crate::decide::Action;
        for (subject, body) in [
            // A profile update, an age question, an upload question.
            (
                "profile",
                "How do I update my profile with my new name after the wedding?",
            ),
            ("edad", "Tengo 16 años, ¿puedo registrarme?"),
            ("question", "I'm 17, can I sign up or do I have to wait?"),
            (
                "upload",
                "Hoe lang duurt het voordat mijn opname op de website staat?",
            ),
            (
                "aanmelding",
                "Ik heb toestemming van mijn ouders, mag ik meedoen?",
            ),
            (
                "tasks",
                "Which recordings should I do first, the warning ones or the address ones?",
            ),
        ] {
            let (action, topic) = decided(subject, body);
            assert_ne!(action, Action::Escalate, "{body} -> {topic}");
        }
    }

    #[test]
    fn taxes_go_to_a_person_and_how_a_recording_looks_is_an_instruction() {
        use crate::decide::Action;
        for (subject, body) in [
            (
                "Tax question",
                "Do I have to declare what you paid me as income? My accountant asks.",
            ),
            (
                "Steuer",
                "Muss ich die Auszahlungen beim Finanzamt angeben?",
            ),
            (
                "세금 문의",
                "작업비에 원천징수가 되나요? 소득세 신고는 어떻게 하나요?",
            ),
            (
                "impuestos",
                "¿Tengo que declarar en Hacienda lo que me pagáis?",
            ),
        ] {
            let (action, topic) = decided(subject, body);
            assert_eq!((action, topic.as_str()), (Action::Human, "other"), "{body}");
        }
        for (subject, body) in [
            (
                "video question",
                "Which resolution do you want for the videos, 720p or 1080p?",
            ),
            (
                "fotos",
                "Puedo hacer las fotos con luz artificial o tiene que ser luz natural? Y el fondo?",
            ),
            (
                "foto",
                "Lo sfondo deve essere bianco? E l'illuminazione va bene di sera?",
            ),
        ] {
            let (action, topic) = decided(subject, body);
            assert_eq!(
                (action, topic.as_str()),
                (Action::AutoReply, "instructions"),
                "{body}"
            );
        }
        // A payout question stays a payout question.
        let (action, topic) = decided("payout", "When will I get paid for the March tasks?");
        assert_eq!((action, topic.as_str()), (Action::AutoReply, "payment"));
    }

    #[test]
    fn weak_or_lockout_wording_goes_to_a_person_without_escalation() {
        use crate::decide::Action;
        for (subject, body, want) in [
            // A login lockout is an account matter.
            (
                "en pääse kirjautumaan",
                "Tilini on lukittu enkä pääse kirjautumaan. Salasanan nollaus ei toimi.",
                "account",
            ),
            // One keyword ("Daten"), even in subject and body, is no privacy
            // request: a person, no restricted queue, no answer.
            (
                "Nutzung der Daten",
                "Ich schreibe eine Masterarbeit. Kann ich einen Teil der Daten bekommen, oder an wen wende ich mich?",
                "other",
            ),
            // Fear of a ban is no appeal.
            (
                "due account",
                "Ho due account per errore, si possono unire? Non voglio essere bannato.",
                "account",
            ),
            // Privacy words in passing do not take a press request to the
            // restricted queue.
            (
                "Interview request",
                "I am a journalist preparing a radio documentary on regional languages. Could we interview someone from the team? We would also like to understand consent and privacy in the project.",
                "other",
            ),
        ] {
            let (a, t) = decided(subject, body);
            assert_eq!((a, t.as_str()), (Action::Human, want), "{body}");
        }
        // "of your platform" is no request to remove anything from it.
        let (a, t) = decided(
            "Vraag van een leraar",
            "Ik ben leraar. Mag ik de opdrachten van jullie platform in de les gebruiken?",
        );
        assert_ne!(a, Action::Escalate, "{t}");
    }

    #[test]
    fn delete_and_redo_is_a_task_question_a_deletion_names_what_goes() {
        use crate::decide::Action;
        // "Delete everything" alone, or a deletion to record or upload
        // again, is no privacy request, in any of the 13 languages.
        let redo = [
            (
                "batch 3",
                "I made a mistake in batch 3. Should I delete everything and re-upload?",
            ),
            (
                "question",
                "Can I delete the recording and record it again?",
            ),
            (
                "lote 3",
                "Errei no lote 3. Devo apagar tudo e enviar de novo?",
            ),
            ("duvida", "Posso apagar a gravação e gravar de novo?"),
            (
                "Frage",
                "Ich habe mich vertan. Soll ich alles löschen und neu hochladen?",
            ),
            ("Frage", "Kann ich die Aufnahme löschen und neu aufnehmen?"),
            ("vraag", "Moet ik alles verwijderen en opnieuw uploaden?"),
            ("vraag", "Kan ik de opname wissen en opnieuw inspreken?"),
            ("question", "Dois-je tout supprimer et tout renvoyer ?"),
            (
                "question",
                "Puis-je effacer l'enregistrement et le refaire ?",
            ),
            ("domanda", "Devo cancellare tutto e ricaricare?"),
            ("domanda", "Posso cancellare la registrazione e rifarla?"),
            ("pregunta", "¿Tengo que borrar todo y volver a subirlo?"),
            (
                "pregunta",
                "¿Puedo borrar la grabación y grabarla otra vez?",
            ),
            ("soru", "Hepsini silip yeniden yüklemeli miyim?"),
            ("soru", "Kaydı silip tekrar kaydedebilir miyim?"),
            ("ερώτηση", "Να τα σβήσω όλα και να τα ανεβάσω ξανά;"),
            (
                "ερώτηση",
                "Μπορώ να διαγράψω την ηχογράφηση και να την ξαναγράψω;",
            ),
            (
                "kysymys",
                "Pitääkö minun poistaa kaikki ja ladata uudelleen?",
            ),
            (
                "kysymys",
                "Voinko poistaa äänitteen ja äänittää sen uudelleen?",
            ),
            ("cau hoi", "Tôi có nên xóa hết và tải lên lại không?"),
            ("cau hoi", "Tôi có thể xóa bản ghi và ghi lại không?"),
            ("cau hoi", "toi co nen xoa het roi tai len lai khong?"),
            ("问题", "我要不要全部删掉重新上传？"),
            ("问题", "我可以删掉录音重新录吗？"),
            ("问题", "录错了，都删掉再传一次可以吗？"),
            ("질문", "모두 지우고 다시 업로드해야 하나요?"),
            ("질문", "녹음을 삭제하고 다시 녹음해도 되나요?"),
            ("질문", "잘못 녹음했는데 다 지우고 다시 올려도 돼요?"),
            (
                "question",
                "I messed up, can I delete my files and upload them again?",
            ),
            ("问题", "能删掉我的录音重新录吗？"),
        ];
        // A deletion that names the person's data, account or recordings
        // (or "everything about me") still escalates.
        let requests = [
            ("request", "Please delete everything you have about me."),
            ("request", "Delete my account and all my recordings."),
            ("request", "I want you to delete all my data."),
            ("pedido", "Quero que apaguem todos os meus dados."),
            ("pedido", "Apaguem tudo que vocês têm sobre mim."),
            ("Anfrage", "Bitte löschen Sie alle meine Daten."),
            ("Anfrage", "Löscht bitte alles von mir, ich höre auf."),
            ("verzoek", "Verwijder alstublieft al mijn gegevens."),
            ("demande", "Supprimez toutes mes données, s'il vous plaît."),
            ("richiesta", "Cancellate tutti i miei dati, per favore."),
            ("solicitud", "Borren todos mis datos, por favor."),
            ("talep", "Lütfen tüm verilerimi silin."),
            ("αίτημα", "Διαγράψτε όλα τα δεδομένα μου."),
            ("pyyntö", "Poistakaa kaikki tietoni."),
            ("yeu cau", "Xin hãy xóa toàn bộ dữ liệu của tôi."),
            ("yeu cau", "Xoa het moi thu ve toi, toi khong tham gia nua."),
            ("yeu cau", "Làm ơn xóa tài khoản của tôi."),
            ("请求", "请把我的数据都删掉。"),
            ("请求", "把我的录音都删掉，我不想参加了。"),
            ("요청", "제 개인정보를 모두 지워 주세요."),
            ("요청", "제 녹음 다 지워 주세요. 더 이상 참여 안 할게요."),
            ("quit", "I'm quitting. Delete all my stuff please."),
            ("请求", "请删掉我的录音，我不做了。"),
            ("", "탈퇴"),
        ];
        for (cases, escalates) in [(&redo[..], false), (&requests[..], true)] {
            for (subject, body) in cases {
                let (action, topic) = decided(subject, body);
                assert_eq!(action == Action::Escalate, escalates, "{body} -> {topic}");
            }
        }
    }

    #[test]
    fn subject_prefixes_are_removed() {
        assert_eq!(
            strip_subject_prefixes("Re: AW: Fwd: pagamento"),
            "pagamento"
        );
        assert_eq!(strip_subject_prefixes("답장: 결제"), "결제");
        assert_eq!(strip_subject_prefixes("Return of funds"), "Return of funds");
    }
}

#[cfg(test)]
mod follow_up_tests {
    use super::*;

    fn follow_up(subject: &str, body: &str, ticket_topic: &str) -> Classification {
        let rules = RuleSet::builtin();
        let raw = format!(
            "From: p@example.org\r\nTo: support@example.com\r\nSubject: {subject}\r\n\
             Message-ID: <f@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        );
        let mut class = classify(&crate::parse::parse(raw.as_bytes()), &rules);
        let ctx = TicketContext {
            follow_up: true,
            project: "default".into(),
            ticket_topic: Some(ticket_topic.into()),
            ..TicketContext::default()
        };
        refine(&mut class, &ctx, &rules);
        class
    }

    #[test]
    fn a_nudge_continues_the_conversation_and_a_clear_new_matter_takes_over() {
        // The thread's subject says "pending", an upload word; the nudge
        // itself names nothing: it is still the payment conversation.
        let c = follow_up(
            "Re: payout still says pending??",
            "Any news on this? Still pending here, five days since I wrote.",
            "payment",
        );
        assert_eq!(
            (c.topic.as_deref(), c.topic_source),
            (Some("payment"), TopicSource::Ticket)
        );
        let c = follow_up(
            "Re: payout still says pending??",
            "Also: please delete my account and all my personal data, I withdraw my consent.",
            "payment",
        );
        assert_eq!(c.topic.as_deref(), Some("privacy"), "{c:?}");
        assert_ne!(c.topic_source, TopicSource::Ticket);
    }

    #[test]
    fn a_changed_name_or_n_of_m_rejected_moves_a_follow_up() {
        // A changed name is an account matter of its own, in any language.
        for body in [
            "Thanks! One more thing: I changed my surname, how do I update it?",
            "Grazie! Ho cambiato il cognome, come lo aggiorno nel profilo?",
            "Kiitos! Vaihdoin sukunimeni, miten päivitän sen?",
        ] {
            let c = follow_up("Re: question about tasks", body, "instructions");
            assert_eq!(c.topic.as_deref(), Some("account"), "{body}: {c:?}");
        }
        // Verifying one's identity is an account matter, said with a verb too.
        let c = follow_up(
            "Re: question about tasks",
            "Ahora no puedo verificar mi identidad, la app rechaza mi cédula.",
            "instructions",
        );
        assert_eq!(c.topic.as_deref(), Some("account"), "{c:?}");
        // "N of M rejected" turns an upload conversation into a dispute.
        let c = follow_up(
            "Re: envoi des photos",
            "Elles sont arrivées, mais 12 sur 20 refusées pour flou. Pourquoi ?",
            "upload_confirmation",
        );
        assert_eq!(c.topic.as_deref(), Some("rejection_dispute"), "{c:?}");
    }

    #[test]
    fn an_appeal_in_a_dispute_thread_takes_over_only_when_the_account_is_named() {
        // An appeal word in a rejection-dispute thread disputes ...
        let c = follow_up(
            "Re: rejected recordings",
            "I appeal this decision, the noise was not my fault. Please look again.",
            "rejection_dispute",
        );
        assert_ne!(c.topic.as_deref(), Some("appeal"), "{c:?}");
        // ... but a blocked account is an appeal (yields_unless = account).
        let c = follow_up(
            "Re: rejected recordings",
            "Now my account has been suspended as well. I appeal this suspension.",
            "rejection_dispute",
        );
        assert_eq!(c.topic.as_deref(), Some("appeal"), "{c:?}");
    }

    #[test]
    fn a_detail_in_a_sensitive_conversation_keeps_it_sensitive() {
        let c = follow_up(
            "Re: my case",
            "Here are the original photos with date and place as proof. I still cannot log in to my account, the password reset does nothing.",
            "appeal",
        );
        assert_eq!(
            (c.topic.as_deref(), c.topic_source),
            (Some("appeal"), TopicSource::Ticket)
        );
    }
}
