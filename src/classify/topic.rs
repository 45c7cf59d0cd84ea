//! Topic scores from pattern hits: each distinct pattern counts once per
//! field (subject, body), times the topic's field weight. A sensitive topic
//! that comes close to the best wins: privacy, appeals and abuse must
//! reach the restricted queue even when the mail also mentions payment.

use super::{Candidate, Classification};
use crate::rules::matcher::Target;
use crate::rules::RuleSet;

pub(super) fn score(rules: &RuleSet, subj: &[u32], body: &[u32], out: &mut Classification) {
    let mut scores = vec![0.0f64; rules.topics.len()];
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
                scores[t] += p.weight * w;
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
    let sensitive = ranked.iter().find(|(t, s)| {
        *s >= th.min_score
            && *s * th.min_ratio >= best_score
            && rules
                .routes
                .get(&rules.topics[*t].id)
                .is_some_and(|r| r.sensitive)
    });
    let (chosen, score) = sensitive.copied().unwrap_or((best, best_score));
    out.topic_score = round(score);
    if score < th.min_score {
        out.topic = Some("other".to_string());
        out.topic_uncertain = true;
        return;
    }
    out.topic = Some(rules.topics[chosen].id.clone());
    out.topic_uncertain = sensitive.is_none() && runner * th.min_ratio > best_score;
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
