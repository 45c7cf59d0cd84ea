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
pub mod quote;
mod topic;

pub use language::whatlang_code;

use crate::decide::TicketContext;
use crate::parse::ParsedEmail;
use crate::rules::normalize::normalize;
use crate::rules::RuleSet;
use serde::Serialize;

/// Characters of new text scanned for topics: long mails cost no more.
const MAX_BODY_CHARS: usize = 4000;
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
    /// Best topics first (at most 3, score > 0).
    pub candidates: Vec<Candidate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
}

/// Classify a message: context-free, CPU-bound, never fails.
pub fn classify(email: &ParsedEmail, rules: &RuleSet) -> Classification {
    let new_text = quote::strip(&email.body.new_text);
    let subject = strip_subject_prefixes(&email.subject);
    let subj_norm = normalize(subject, 400);
    let body_norm = normalize(&new_text, MAX_BODY_CHARS);
    let mut subj_hits = Vec::new();
    let mut body_hits = Vec::new();
    rules.text.find(&subj_norm, &mut subj_hits);
    rules.text.find(&body_norm, &mut body_hits);

    let mut out = Classification::default();
    topic::score(rules, &subj_hits, &body_hits, &mut out);
    language::detect(
        rules, email, subject, &new_text, &subj_hits, &body_hits, &mut out,
    );
    collect_matches(rules, &subj_hits, &body_hits, &mut out);
    out
}

/// Apply what the ticket knows: a follow-up keeps the ticket's language
/// when this message alone is too weak to tell, and the project's default
/// replaces the rule set's default.
pub fn refine(class: &mut Classification, ctx: &TicketContext, rules: &RuleSet) {
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

fn collect_matches(rules: &RuleSet, subj: &[u32], body: &[u32], out: &mut Classification) {
    use crate::rules::matcher::Target;
    for (field, hits) in [("subject", subj), ("body", body)] {
        for &id in hits {
            if out.matches.len() >= MAX_SHOWN_MATCHES {
                return;
            }
            let p = &rules.text.patterns[id as usize];
            let (target, score) = match p.target {
                Target::Topic(t) => {
                    let topic = &rules.topics[t];
                    let w = if field == "subject" {
                        topic.subject_weight
                    } else {
                        topic.body_weight
                    };
                    (topic.id.clone(), p.weight * w)
                }
                _ => ("language".to_string(), p.weight),
            };
            out.matches.push(Match {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
