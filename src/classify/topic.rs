//! Topic scores from pattern hits: each distinct pattern counts once per
//! field (subject, body), times the topic's field weight. A sensitive topic
//! with strong evidence wins over any other: privacy, appeals and abuse must
//! reach the restricted queue even when the mail is mostly about payment.
//! Words from a third language count half: a false friend (Turkish `para`
//! in a Portuguese mail) should not decide; English counts fully, since
//! participants mix in English tech words.

use super::{Candidate, Classification, Unsure};
use crate::rules::matcher::{Pattern, PatternKind, Target};
use crate::rules::RuleSet;

/// 1 for patterns of the mail's language, of English or of no language;
/// 0.5 for the rest (positive weights only).
pub(super) fn language_factor(rules: &RuleSet, p: &Pattern, lang: Option<usize>) -> f64 {
    let Some(lang) = lang else { return 1.0 };
    if p.weight < 0.0 || p.langs.is_empty() || p.langs.contains(&lang) {
        return 1.0;
    }
    let en = rules.language_index("en");
    if en.is_some_and(|e| p.langs.contains(&e)) {
        1.0
    } else {
        0.5
    }
}

/// The detected language when detection (not a fallback) decided it.
pub(super) fn confident_language(rules: &RuleSet, out: &Classification) -> Option<usize> {
    if out.language_source.is_none_or(|s| s.is_weak()) {
        return None;
    }
    out.language
        .as_deref()
        .and_then(|l| rules.language_index(l))
}

/// Keyword weight from which one keyword is clear evidence on its own
/// (abuse and appeal words: "harassing", "suspended").
const CLEAR_KEYWORD: f64 = 2.0;

/// How many times stronger another topic must be for a sensitive topic
/// with keywords only (no phrase, no clear keyword) not to take over: "we
/// want no personal data, only to interview the team" is a press request.
const OUTWEIGHED: f64 = 3.0;

/// A keyword's score in the subject (weight 1 x the default subject
/// weight): below it, a lone keyword is in the body only.
const SUBJECT_KEYWORD: f64 = 1.5;

/// `short`: the mail is a one-liner or subject only, so one word is all
/// the evidence there can be.
pub(super) fn score(
    rules: &RuleSet,
    subj: &[u32],
    body: &[u32],
    short: bool,
    out: &mut Classification,
) {
    let lang = confident_language(rules, out);
    let mut scores = vec![0.0f64; rules.topics.len()];
    // Per topic: the first distinct keyword seen, and whether more than one
    // keyword or any phrase or regex matched. One keyword, even repeated in
    // subject and body ("Daten", "Daten"), is not a topic.
    let mut first_keyword: Vec<Option<u32>> = vec![None; rules.topics.len()];
    let mut more: Vec<bool> = vec![false; rules.topics.len()];
    // Per topic: a phrase, a regex or a clear keyword matched.
    let mut clear: Vec<bool> = vec![false; rules.topics.len()];
    for (hits, subject) in [(subj, true), (body, false)] {
        for &id in hits {
            let p = &rules.text.patterns[id as usize];
            if let Target::Topic(t) = p.target {
                let topic = &rules.topics[t];
                let w = if subject {
                    topic.subject_weight
                } else {
                    topic.body_weight
                };
                scores[t] += p.weight * w * language_factor(rules, p, lang);
                if p.weight > 0.0 {
                    if p.kind != PatternKind::Keyword || p.weight >= CLEAR_KEYWORD {
                        more[t] = true;
                        clear[t] = true;
                    } else {
                        match first_keyword[t] {
                            None => first_keyword[t] = Some(id),
                            Some(k) if k != id => more[t] = true,
                            Some(_) => {}
                        }
                    }
                }
            }
        }
    }
    let mut ranked: Vec<(usize, f64)> = scores
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| *s > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    out.candidates = ranked
        .iter()
        .take(3)
        .map(|&(t, s)| Candidate {
            topic: rules.topics[t].id.clone(),
            score: round(s),
        })
        .collect();
    let th = &rules.thresholds;
    let Some(&(best, best_score)) = ranked.first() else {
        out.topic = Some("other".to_string());
        return;
    };
    let runner = ranked.get(1).map_or(0.0, |r| r.1);
    let is_sensitive = |t: usize| {
        rules
            .routes
            .get(&rules.topics[t].id)
            .is_some_and(|r| r.sensitive)
    };
    // Strong evidence: what an automatic answer needs, and what a sensitive
    // topic needs to take over from a stronger one.
    let strong = th.auto_reply_min_score.max(th.min_score);
    let best_id = &rules.topics[best].id;
    out.sensitive_hint = ranked
        .iter()
        .find(|(t, _)| is_sensitive(*t))
        .map(|&(t, s)| Candidate {
            topic: rules.topics[t].id.clone(),
            score: round(s),
        });
    // A sensitive signal anywhere in the new text wins, however much else
    // the mail is about: a self-harm hint in a rejection complaint is what
    // a person must read first.
    // Weak words of a sensitive topic ("personal data" in passing) do not
    // take over from a topic many times stronger; they still keep any
    // automatic answer away (`sensitive_hint`).
    let evidence = |u: &str| ranked.iter().any(|(v, _)| rules.topics[*v].id == u);
    let sensitive = ranked.iter().find(|(t, s)| {
        *s >= strong
            && is_sensitive(*t)
            && (*t == best
                || (!yields_to(rules, *t, best_id, evidence)
                    && (clear[*t] || best_score < *s * OUTWEIGHED)))
    });
    let (mut chosen, mut score) = sensitive.copied().unwrap_or((best, best_score));
    // A topic that yields to another with strong evidence of its own loses
    // to it unless far stronger: "I appeal the rejection of my recordings"
    // is a rejection dispute even though "appeal" weighs more.
    let yielded = ranked.iter().find(|(t, s)| {
        *t != chosen
            && *s >= strong * th.min_ratio
            && score <= *s * th.min_ratio * 2.0
            && yields_to(rules, chosen, &rules.topics[*t].id, evidence)
    });
    if let Some(&(t, s)) = yielded {
        (chosen, score) = (t, s);
    }
    out.topic_score = round(score);
    if score < th.min_score {
        out.topic = Some("other".to_string());
        out.topic_uncertain = true;
        out.unsure = Unsure::BelowThreshold;
        return;
    }
    // One weak hint of a sensitive topic ("data", "delete"), even repeated
    // in subject and body, is not that topic; one keyword in the body alone
    // is no topic at all (outside a one-liner): a person reads it, with no
    // automatic answer (see decide).
    let lone_keyword = !short && !more[chosen];
    // For a sensitive topic one weak keyword is no evidence even in a
    // one-liner: "can I delete the recording?" is no deletion request, and
    // the restricted queue needs a phrase, a regex or a clear keyword.
    let weak = if is_sensitive(chosen) {
        score < strong || !more[chosen]
    } else {
        lone_keyword && score < th.min_score.max(SUBJECT_KEYWORD)
    };
    if weak {
        out.topic = Some("other".to_string());
        out.topic_uncertain = true;
        out.unsure = if is_sensitive(chosen) {
            Unsure::WeakSensitive
        } else {
            Unsure::LoneKeyword
        };
        return;
    }
    out.topic = Some(rules.topics[chosen].id.clone());
    // A lone weak hint of a sensitive topic ("delete", "data") is unsure:
    // a person looks, rather than the restricted queue.
    out.topic_uncertain = (sensitive.is_none() || yielded.is_some())
        && (runner * th.min_ratio > best_score || (is_sensitive(chosen) && score < strong));
}

/// Whether topic `t` gives way to `other` (`yields_to`), unless a topic of
/// its `yields_unless` has any evidence (`evidence(id)`): an appeal yields
/// to a rejection dispute, but not when the mail speaks of the account.
/// Every place that lets one topic take over from another asks this, so
/// the sensitive pick, the yield and a follow-up agree.
pub(super) fn yields_to(
    rules: &RuleSet,
    t: usize,
    other: &str,
    evidence: impl Fn(&str) -> bool,
) -> bool {
    let topic = &rules.topics[t];
    topic.yields_to.iter().any(|y| y == other) && !topic.yields_unless.iter().any(|u| evidence(u))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
