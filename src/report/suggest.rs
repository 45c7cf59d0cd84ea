//! Suggestions to reduce tickets, each naming the tickets behind it:
//! phrases that recur in mail a person had to answer, templates sent by
//! hand most often, topics that rose, and languages a topic's template
//! lacks.

use super::figures::TicketRow;
use super::period::Period;
use super::Suggestion;
use crate::store::{ts, StoreResult};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How many ticket ids a suggestion lists (the count is always complete).
const MAX_IDS: usize = 20;
const TOP: usize = 5;

/// Words that make a phrase without meaning on their own.
const STOP: &[&str] = &[
    "the", "and", "for", "you", "your", "are", "was", "this", "that", "with", "have", "has", "not",
    "but", "can", "could", "would", "please", "thanks", "thank", "hello", "dear", "regards",
    "from", "there", "what", "when", "how", "will", "just", "any", "all", "our", "out", "get",
    "ich", "und", "die", "der", "das", "nicht", "ist", "que", "para", "por", "com", "het", "een",
];

fn suggestion(kind: &str, text: String, mut tickets: Vec<i64>) -> Suggestion {
    tickets.sort_unstable();
    tickets.dedup();
    let count = tickets.len() as u64;
    tickets.truncate(MAX_IDS);
    Suggestion {
        kind: kind.to_string(),
        text,
        count,
        tickets,
    }
}

/// Words as small numbers, so that a trigram is three integers and a
/// report does not allocate a string per word and per trigram.
#[derive(Default)]
struct Words {
    ids: HashMap<String, u32>,
    text: Vec<String>,
    /// Whether the word can carry a phrase (not a stop word, 4+ letters).
    meaningful: Vec<bool>,
}

impl Words {
    fn id(&mut self, word: &str) -> u32 {
        let lower: Cow<'_, str> = if word.chars().any(char::is_uppercase) {
            Cow::Owned(word.to_lowercase())
        } else {
            Cow::Borrowed(word)
        };
        if let Some(&id) = self.ids.get(lower.as_ref()) {
            return id;
        }
        let id = self.text.len() as u32;
        let w = lower.into_owned();
        self.meaningful
            .push(w.chars().count() >= 4 && !STOP.contains(&w.as_str()));
        self.ids.insert(w.clone(), id);
        self.text.push(w);
        id
    }

    /// Word trigrams of a text (letters and digits, words of 2+ letters)
    /// with at least one meaningful word.
    fn trigrams(&mut self, text: &str, out: &mut impl FnMut([u32; 3])) {
        let mut window = [0u32; 3];
        let mut n = 0usize;
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().nth(1).is_some())
        {
            window = [window[1], window[2], self.id(w)];
            n += 1;
            if n >= 3 && window.iter().any(|&i| self.meaningful[i as usize]) {
                out(window);
            }
        }
    }

    fn phrase(&self, g: [u32; 3]) -> String {
        g.map(|i| self.text[i as usize].as_str()).join(" ")
    }
}

/// Phrases in at least two tickets about `other` or no sure topic that a
/// person had to answer.
pub(super) fn phrases(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Vec<Suggestion>> {
    let mut stmt = conn.prepare(
        "SELECT m.ticket_id, m.subject, json_extract(m.parsed, '$.new_text')
         FROM tickets t JOIN messages m ON m.ticket_id = t.id
         WHERE t.created_at >= ?1 AND t.created_at < ?2 AND (?3 IS NULL OR t.project = ?3)
           AND (t.topic IS NULL OR t.topic = 'other') AND m.action IN ('human', 'escalate')",
    )?;
    let mut words = Words::default();
    let mut by_phrase: HashMap<[u32; 3], Vec<i64>> = HashMap::new();
    let mut rows = stmt.query(params![ts(p.since), ts(p.until), project])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let mut add = |g: [u32; 3]| {
            let ids = by_phrase.entry(g).or_default();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        };
        // Borrowed from SQLite's row: no copy of each body.
        for col in [1, 2] {
            if let ValueRef::Text(t) = r.get_ref(col)? {
                words.trigrams(&String::from_utf8_lossy(t), &mut add);
            }
        }
    }
    let mut ranked: Vec<(String, Vec<i64>)> = by_phrase
        .into_iter()
        .filter_map(|(g, mut t)| {
            t.sort_unstable();
            t.dedup();
            (t.len() >= 2).then(|| (words.phrase(g), t))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    Ok(ranked
        .into_iter()
        .take(TOP)
        .map(|(phrase, t)| {
            suggestion(
                "recurring_phrase",
                format!("\"{phrase}\" recurs in {} tickets a person answered: a topic rule or template?", t.len()),
                t,
            )
        })
        .collect())
}

/// Templates specialists chose by hand: candidates for automatic answers.
pub(super) fn manual_templates(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
) -> StoreResult<Vec<Suggestion>> {
    let mut stmt = conn.prepare(
        "SELECT o.template, o.ticket_id FROM outbox o JOIN tickets t ON t.id = o.ticket_id
         WHERE o.kind = 'human' AND o.template IS NOT NULL
           AND o.created_at >= ?1 AND o.created_at < ?2 AND (?3 IS NULL OR t.project = ?3)",
    )?;
    let mut by: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut rows = stmt.query(params![ts(p.since), ts(p.until), project])?;
    while let Some(r) = rows.next()? {
        // `lang/name`: the suggestion is about the template in any language.
        let template: String = r.get(0)?;
        let name = template.rsplit('/').next().unwrap_or(&template).to_string();
        by.entry(name).or_default().push(r.get(1)?);
    }
    let mut ranked: Vec<_> = by.into_iter().collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    Ok(ranked
        .into_iter()
        .take(TOP)
        .map(|(name, t)| {
            let n = t.len();
            suggestion(
                "manual_template",
                format!("template {name} was sent by hand {n} times: answer these automatically?"),
                t,
            )
        })
        .collect())
}

/// Topics with more tickets than in the period before (at least two more).
pub(super) fn rising(
    conn: &Connection,
    p: &Period,
    project: Option<&str>,
    now: &[TicketRow],
) -> StoreResult<Vec<Suggestion>> {
    let before = p.previous();
    let mut stmt = conn.prepare(
        "SELECT topic, COUNT(*) FROM tickets WHERE created_at >= ?1 AND created_at < ?2
         AND (?3 IS NULL OR project = ?3) AND topic IS NOT NULL AND state != 'recorded' GROUP BY topic",
    )?;
    let prev: BTreeMap<String, u64> = stmt
        .query_map(params![ts(before.since), ts(before.until), project], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    let mut cur: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for t in now.iter().filter(|t| t.state != "recorded") {
        if let Some(topic) = &t.topic {
            cur.entry(topic).or_default().push(t.id);
        }
    }
    let mut ranked: Vec<(i64, &str, Vec<i64>, u64)> = cur
        .into_iter()
        .map(|(topic, ids)| {
            let was = prev.get(topic).copied().unwrap_or(0);
            (ids.len() as i64 - was as i64, topic, ids, was)
        })
        .filter(|(rise, ..)| *rise >= 2)
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    Ok(ranked
        .into_iter()
        .take(TOP)
        .map(|(_, topic, ids, was)| {
            suggestion(
                "rising_topic",
                format!("{topic} rose from {was} to {} tickets", ids.len()),
                ids,
            )
        })
        .collect())
}

/// Topics answered by a template that has no file in a language their mail
/// comes in. `coverage`: topic -> languages its template exists in.
pub(super) fn language_gaps(
    tickets: &[TicketRow],
    coverage: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Suggestion> {
    let mut gaps: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for t in tickets {
        let (Some(topic), Some(lang)) = (&t.topic, &t.language) else {
            continue;
        };
        if coverage
            .get(topic)
            .is_some_and(|langs| !langs.contains(lang))
        {
            gaps.entry((topic, lang)).or_default().push(t.id);
        }
    }
    let mut ranked: Vec<_> = gaps.into_iter().collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .map(|((topic, lang), ids)| {
            let n = ids.len();
            suggestion(
                "missing_translation",
                format!("{n} {topic} tickets in {lang}, which has no {topic} template"),
                ids,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigrams(text: &str) -> BTreeSet<String> {
        let mut words = Words::default();
        let mut grams = Vec::new();
        words.trigrams(text, &mut |g| grams.push(g));
        grams.into_iter().map(|g| words.phrase(g)).collect()
    }

    #[test]
    fn trigrams_skip_stopword_only_phrases() {
        let g = trigrams("How do I reset my password? I forgot the password");
        assert!(g.contains("reset my password"));
        assert!(!g.iter().any(|p| p == "how do"));
        assert!(trigrams("and the for").is_empty());
        // Case folds; one-letter words are skipped, not phrase breaks.
        let g = trigrams("Mein Konto ist gesperrt");
        assert!(g.contains("mein konto ist") && g.contains("konto ist gesperrt"));
        assert_eq!(
            trigrams("I  CANNOT a find MY upload"),
            trigrams("cannot find my upload")
        );
    }
}
