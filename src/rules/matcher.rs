//! Every literal pattern of a rule set in one Aho-Corasick automaton and
//! every regex in one `RegexSet`, so a message is scanned once however many
//! rules there are. Patterns are matched against [`normalize`]d text.
//!
//! Literal syntax: whole words by default; a leading or trailing `*` drops
//! the word boundary on that side (`pagament*` matches `pagamentos`).
//! Patterns in Hangul or Han match anywhere (no spaces between words).
//!
//! [`normalize`]: super::normalize::normalize

use super::normalize::{is_unspaced_script, is_word_char};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::RegexSet;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a pattern was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What kind of rule a pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    Keyword,
    Phrase,
    Regex,
    Negative,
    /// A common word of a language: evidence for the language only.
    Hint,
    /// A machine-mail phrase (out-of-office, bounce, spam).
    Machine,
}

/// What a pattern is evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Index into `RuleSet::topics`.
    Topic(usize),
    Language,
    AutoreplySubject,
    AutoreplyBody,
    BounceSubject,
    BounceBody,
    /// A content cue of spam or a scam (rules/spam.toml).
    Spam,
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub kind: PatternKind,
    pub target: Target,
    /// Languages whose lists hold this pattern (the same words listed for
    /// one topic in several languages are one pattern); empty for `any`.
    pub langs: Vec<usize>,
    pub weight: f64,
    pub origin: Origin,
}

/// A set of patterns compiled for one scan.
#[derive(Debug)]
pub struct Matcher {
    pub patterns: Vec<Pattern>,
    ac: Option<AhoCorasick>,
    /// Per automaton pattern: (left boundary needed, right boundary needed, pattern ids).
    literals: Vec<(bool, bool, Vec<u32>)>,
    set: Option<RegexSet>,
    set_ids: Vec<u32>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher::build(Vec::new()).expect("an empty matcher always compiles")
    }
}

/// Why a set of patterns did not build.
#[derive(Debug)]
pub struct BuildError {
    /// What failed, for the set as a whole.
    pub reason: String,
    /// Regexes that fail on their own (they parse, but are over the size
    /// limit), with where they are defined and why.
    pub regexes: Vec<(Origin, String)>,
}

impl From<String> for BuildError {
    fn from(reason: String) -> Self {
        BuildError {
            reason,
            regexes: Vec::new(),
        }
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl BuildError {
    /// The failing regexes as `file:line:1: invalid regex: ...` errors.
    pub(crate) fn located(&self) -> impl Iterator<Item = super::error::RuleError> + '_ {
        self.regexes
            .iter()
            .map(|(origin, reason)| super::error::RuleError {
                path: origin.file.as_ref().into(),
                line: origin.line,
                column: 1,
                reason: reason.clone(),
            })
    }
}

impl Matcher {
    /// Compile `patterns`. Regexes must already parse one by one (the
    /// compiler checks them to report the line and column); an error here
    /// is a size limit, and names the regexes over it.
    pub fn build(patterns: Vec<Pattern>) -> Result<Matcher, BuildError> {
        let mut lits: Vec<String> = Vec::new();
        let mut literals: Vec<(bool, bool, Vec<u32>)> = Vec::new();
        let mut index: HashMap<(String, bool, bool), usize> = HashMap::new();
        let mut regexes = Vec::new();
        let mut set_ids = Vec::new();
        for (id, p) in patterns.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| "too many patterns".to_string())?;
            if p.kind == PatternKind::Regex {
                regexes.push(ascii_boundaries(&p.text));
                set_ids.push(id);
                continue;
            }
            let Some((lit, left, right)) = literal_parts(&p.text) else {
                continue;
            };
            let key = (lit.to_string(), left, right);
            let slot = *index.entry(key).or_insert_with(|| {
                lits.push(lit.to_string());
                literals.push((left, right, Vec::new()));
                literals.len() - 1
            });
            literals[slot].2.push(id);
        }
        let ac = if lits.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&lits)
                    .map_err(|e| e.to_string())?,
            )
        };
        let set = if regexes.is_empty() {
            None
        } else {
            let built = regex::RegexSetBuilder::new(&regexes)
                .size_limit(64 << 20)
                .build();
            Some(built.map_err(|e| {
                BuildError {
                    reason: e.to_string(),
                    // Compiled one by one only now, to find the culprits.
                    regexes: regexes
                        .iter()
                        .zip(&set_ids)
                        .filter_map(|(re, &id)| {
                            let e = regex::Regex::new(re).err()?;
                            let reason =
                                format!("invalid regex: {}", e.to_string().replace('\n', " "));
                            Some((patterns[id as usize].origin.clone(), reason))
                        })
                        .collect(),
                }
            })?)
        };
        Ok(Matcher {
            patterns,
            ac,
            literals,
            set,
            set_ids,
        })
    }

    /// Ids of the distinct patterns found in `text` (normalized), appended
    /// to `out` (sorted and deduplicated on return).
    pub fn find(&self, text: &str, out: &mut Vec<u32>) {
        let start = out.len();
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text) {
                let (left, right, ids) = &self.literals[m.pattern().as_usize()];
                if *left
                    && text[..m.start()]
                        .chars()
                        .next_back()
                        .is_some_and(is_word_char)
                {
                    continue;
                }
                if *right && text[m.end()..].chars().next().is_some_and(is_word_char) {
                    continue;
                }
                out.extend_from_slice(ids);
            }
        }
        if let Some(set) = &self.set {
            out.extend(set.matches(text).iter().map(|i| self.set_ids[i]));
        }
        out[start..].sort_unstable();
        let mut tail = out.split_off(start);
        tail.dedup();
        out.extend(tail);
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// `\b` as an ASCII word boundary. The text is normalized (diacritics
/// removed), so Latin words are ASCII; and unlike a Unicode `\b`, an ASCII
/// one keeps the combined set on the fast DFA for Greek, Hangul or Han text.
pub fn ascii_boundaries(regex: &str) -> String {
    let mut out = String::with_capacity(regex.len() + 16);
    let mut chars = regex.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('b') => out.push_str("(?-u:\\b)"),
                Some(n) => {
                    out.push(c);
                    out.push(n);
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The literal to search for and whether each side needs a word boundary.
fn literal_parts(text: &str) -> Option<(&str, bool, bool)> {
    let left_free = text.starts_with('*');
    let right_free = text.ends_with('*') && text.len() > 1;
    let lit = text.trim_start_matches('*').trim_end_matches('*');
    let first = lit.chars().next()?;
    let last = lit.chars().next_back()?;
    let left = !left_free && is_word_char(first) && !is_unspaced_script(first);
    let right = !right_free && is_word_char(last) && !is_unspaced_script(last);
    Some((lit, left, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str, kind: PatternKind) -> Pattern {
        Pattern {
            text: text.into(),
            kind,
            target: Target::Language,
            langs: Vec::new(),
            weight: 1.0,
            origin: Origin {
                file: "t.toml".into(),
                line: 1,
            },
        }
    }

    fn found(m: &Matcher, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        m.find(text, &mut out);
        out
    }

    #[test]
    fn keywords_match_whole_words_unless_starred() {
        let m = Matcher::build(vec![
            pat("pay", PatternKind::Keyword),
            pat("pagament*", PatternKind::Keyword),
            pat("*zahlung", PatternKind::Keyword),
        ])
        .expect("compiles");
        assert_eq!(found(&m, "repayment"), Vec::<u32>::new());
        assert_eq!(found(&m, "pay me"), vec![0]);
        assert_eq!(found(&m, "o pagamento"), vec![1]);
        assert_eq!(found(&m, "die auszahlung fehlt"), vec![2]);
    }

    #[test]
    fn hangul_and_han_match_inside_words() {
        let m = Matcher::build(vec![
            pat("결제", PatternKind::Keyword),
            pat("付款", PatternKind::Phrase),
        ])
        .expect("compiles");
        assert_eq!(found(&m, "결제가 안 됐어요"), vec![0]);
        assert_eq!(found(&m, "还没有付款吗"), vec![1]);
    }

    #[test]
    fn regex_word_boundaries_are_ascii() {
        assert_eq!(ascii_boundaries(r"\bpay\\b\d"), r"(?-u:\b)pay\\b\d");
        let m = Matcher::build(vec![pat(r"\bolen \d+\b", PatternKind::Regex)]).expect("compiles");
        assert_eq!(found(&m, "hei, olen 17 vuotias"), vec![0]);
        assert_eq!(found(&m, "σολεν 17"), Vec::<u32>::new());
    }

    #[test]
    fn regexes_and_duplicates_are_reported_once() {
        let m = Matcher::build(vec![
            pat("paid", PatternKind::Keyword),
            pat("paid", PatternKind::Phrase),
            pat(r"\bpaid\b.*\bpaid\b", PatternKind::Regex),
        ])
        .expect("compiles");
        assert_eq!(found(&m, "paid? paid!"), vec![0, 1, 2]);
    }
}
