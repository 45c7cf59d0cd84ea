//! Every literal pattern of a rule set in one Aho-Corasick automaton, so a
//! message is scanned once however many rules there are; a regex runs only
//! on text that holds a literal each of its matches needs. Patterns are matched against [`normalize`]d text.
//!
//! Literal syntax: whole words by default; a leading or trailing `*` drops
//! the word boundary on that side (`pagament*` matches `pagamentos`).
//! Patterns in Hangul or Han match anywhere (no spaces between words).
//!
//! [`normalize`]: super::normalize::normalize

use super::normalize::{is_unspaced_script, is_word_char};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

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
    /// rules/machine.toml `[absence]`: withholds an automatic answer only.
    AbsenceSubject,
    AbsenceBody,
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
    /// Shared with the other matcher of a pair ([`Unbuilt::build_pair`]),
    /// whose literals it also holds.
    ac: Option<Arc<AhoCorasick>>,
    /// The automaton's id of this matcher's first literal (0 unless it
    /// comes second in a pair).
    first: usize,
    /// Per literal of this matcher: what finding it means.
    slots: Vec<Slot>,
    regexes: Vec<Compiled>,
    /// Indexes into `regexes` without a gate: run on every text.
    ungated: Vec<u32>,
}

/// Patterns checked and split into literals and regexes, before the
/// automaton is built: alone ([`Unbuilt::build`]) or together with another
/// set ([`Unbuilt::build_pair`]).
#[derive(Debug)]
pub struct Unbuilt {
    patterns: Vec<Pattern>,
    lits: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    regexes: Vec<Compiled>,
    ungated: Vec<u32>,
}

/// What one literal of the automaton stands for.
#[derive(Debug)]
enum Slot {
    /// Literal patterns: (left boundary needed, right boundary needed, pattern ids).
    Word(bool, bool, Vec<u32>),
    /// A literal of one of the gates ([`gates`]) of these regexes
    /// (indexes into `Matcher::regexes`, and the gate's bit): a regex runs
    /// only once every one of its gates has opened.
    Gate(Vec<(u32, u8)>),
}

/// A regex, compiled the first time its gate opens: most of the ~900
/// shipped regexes never run on a given mail, and compiling them all at
/// load cost every process ~22 MB and more than half of the load time
/// (`rules check`: 64 -> 42 MB, 0.12-0.26 -> 0.07 s), which an `ingest -`
/// per mail pays each time. Syntax is checked at load.
#[derive(Debug)]
struct Compiled {
    source: String,
    regex: OnceLock<Option<Regex>>,
    /// The pattern id.
    id: u32,
    /// The bits of all its gates: what a scan must have seen to run it.
    needs: u8,
}

fn compile_regex(source: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(source)
        .size_limit(64 << 20)
        .build()
}

impl Compiled {
    fn get(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| match compile_regex(&self.source) {
                Ok(r) => Some(r),
                Err(e) => {
                    // `RuleSet::load` refuses such a regex with its file and
                    // line, and a test compiles the shipped ones; here the
                    // pattern never matches.
                    tracing::warn!(error = %e, "a rule regex does not compile: it never matches");
                    None
                }
            })
            .as_ref()
    }
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
    /// Regexes that fail on their own (they do not parse, or are over the
    /// size limit when [`Matcher::compile_all`] compiles them), with where
    /// they are defined and why.
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
    /// Compile `patterns`. Regexes are parsed here (the rule compiler has
    /// already checked each to report its line and column) and compiled on
    /// first use; [`Matcher::compile_all`] finds those over the size limit.
    ///
    /// Literals go into one Aho-Corasick automaton. Each regex runs on its
    /// own, and only on a text that holds a literal of each of its gates
    /// (sets of literals every match contains, found by the same automaton;
    /// [`gates`]). One
    /// combined `RegexSet` searched for overlapping matches had to
    /// determinize states of all regexes at once: on varied real mail its
    /// lazy DFA kept building new states (half of the classification time
    /// in an ingest profile) and cleared its cache when full.
    pub fn build(patterns: Vec<Pattern>) -> Result<Matcher, BuildError> {
        Matcher::prepare(patterns)?.build()
    }

    /// Check `patterns` and sort them into literals and regexes; the
    /// automaton is built by [`Unbuilt::build`] or [`Unbuilt::build_pair`].
    pub fn prepare(patterns: Vec<Pattern>) -> Result<Unbuilt, BuildError> {
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        let mut words: HashMap<(String, bool, bool), usize> = HashMap::new();
        let mut gates: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut regexes = Vec::new();
        let mut ungated = Vec::new();
        let mut failed = Vec::new();
        let mut analysed = analyse_regexes(&patterns).into_iter();
        for (id, p) in patterns.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| "too many patterns".to_string())?;
            if p.kind == PatternKind::Regex {
                let (re, gate) = match analysed.next().expect("one analysis per regex") {
                    Ok(found) => found,
                    Err(reason) => {
                        failed.push((p.origin.clone(), reason));
                        continue;
                    }
                };
                let index =
                    u32::try_from(regexes.len()).map_err(|_| "too many regexes".to_string())?;
                if gate.is_empty() {
                    ungated.push(index);
                }
                let mut needs = 0;
                for (bit, needles) in gate.into_iter().enumerate() {
                    let bit = 1u8 << bit;
                    needs |= bit;
                    for needle in needles {
                        let slot = *gates.entry(needle.clone()).or_insert_with(|| {
                            lits.push(needle);
                            slots.push(Slot::Gate(Vec::new()));
                            slots.len() - 1
                        });
                        if let Slot::Gate(list) = &mut slots[slot] {
                            if !list.contains(&(index, bit)) {
                                list.push((index, bit));
                            }
                        }
                    }
                }
                regexes.push(Compiled {
                    source: re,
                    regex: OnceLock::new(),
                    id,
                    needs,
                });
                continue;
            }
            let Some((lit, left, right)) = literal_parts(&p.text) else {
                continue;
            };
            let key = (lit.to_string(), left, right);
            let slot = *words.entry(key).or_insert_with(|| {
                lits.push(lit.as_bytes().to_vec());
                slots.push(Slot::Word(left, right, Vec::new()));
                slots.len() - 1
            });
            if let Slot::Word(_, _, ids) = &mut slots[slot] {
                ids.push(id);
            }
        }
        if !failed.is_empty() {
            return Err(BuildError {
                reason: format!("{} regexes do not compile", failed.len()),
                regexes: failed,
            });
        }
        Ok(Unbuilt {
            patterns,
            lits,
            slots,
            regexes,
            ungated,
        })
    }

    /// Ids of the distinct patterns found in `text` (normalized), appended
    /// to `out` (sorted and deduplicated on return).
    pub fn find(&self, text: &str, out: &mut Vec<u32>) {
        let mut scan = Scan::new(self, out);
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text) {
                scan.literal(text, &m);
            }
        }
        scan.finish(text);
    }

    /// [`Matcher::find`] of `self` into `out` and of `other` into
    /// `other_out`, in one scan of `text` when the two were built as a pair
    /// (topic and spam cues read the same normalized text).
    pub fn find_pair(
        &self,
        other: &Matcher,
        text: &str,
        out: &mut Vec<u32>,
        other_out: &mut Vec<u32>,
    ) {
        let shared = match (&self.ac, &other.ac) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => a,
            _ => {
                self.find(text, out);
                other.find(text, other_out);
                return;
            }
        };
        let mut scans = [Scan::new(self, out), Scan::new(other, other_out)];
        for m in shared.find_overlapping_iter(text) {
            for s in &mut scans {
                s.literal(text, &m);
            }
        }
        for s in scans {
            s.finish(text);
        }
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Compile every regex now (they otherwise compile on first use) and
    /// name the ones that do not, for `rules check`.
    pub fn compile_all(&self) -> Result<(), BuildError> {
        let failed: Vec<_> = self
            .regexes
            .iter()
            .filter_map(|c| {
                let e = compile_regex(&c.source).err()?;
                let p = &self.patterns[c.id as usize];
                Some((
                    p.origin.clone(),
                    format!("invalid regex: {}", e.to_string().replace('\n', " ")),
                ))
            })
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        Err(BuildError {
            reason: format!("{} regexes do not compile", failed.len()),
            regexes: failed,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// A regex as the matcher runs it (ASCII word boundaries) and its gates
/// ([`gates`]), or why it does not parse.
type Analysis = Result<(String, Vec<Vec<Vec<u8>>>), String>;

/// [`Analysis`] of every regex among `patterns`, in order. Parsing and
/// finding gates was 37 % of compiling the shipped rules (perf of `rules
/// test` on one mail) and each regex is independent, so the work is split
/// over the cores.
fn analyse_regexes(patterns: &[Pattern]) -> Vec<Analysis> {
    let sources: Vec<&str> = patterns
        .iter()
        .filter(|p| p.kind == PatternKind::Regex)
        .map(|p| p.text.as_str())
        .collect();
    let analyse = |source: &&str| -> Analysis {
        let re = ascii_boundaries(source);
        match regex_syntax::Parser::new().parse(&re) {
            Ok(hir) => {
                let gates = gates(&hir);
                Ok((re, gates))
            }
            Err(e) => Err(format!(
                "invalid regex: {}",
                e.to_string().replace('\n', " ")
            )),
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    // Below a few hundred regexes a thread costs more than it saves.
    if cores < 2 || sources.len() < 256 {
        return sources.iter().map(analyse).collect();
    }
    let chunk = sources.len().div_ceil(cores);
    std::thread::scope(|s| {
        let parts: Vec<_> = sources
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(analyse).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("analysing a regex never panics"))
            .collect()
    })
}

fn automaton(lits: &[Vec<u8>]) -> Result<Option<Arc<AhoCorasick>>, BuildError> {
    if lits.is_empty() {
        return Ok(None);
    }
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        // A DFA ran classification in 14 % fewer instructions but took
        // 60 ms more to build, paid by every `ingest -` an MTA starts per
        // mail.
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(lits)
        .map_err(|e| e.to_string())?;
    Ok(Some(Arc::new(ac)))
}

impl Unbuilt {
    /// The matcher of these patterns alone.
    pub fn build(self) -> Result<Matcher, BuildError> {
        let ac = automaton(&self.lits)?;
        Ok(self.into_matcher(ac, 0))
    }

    /// Two matchers over one automaton holding the literals of both, so
    /// [`Matcher::find_pair`] scans a text once for both sets. Each still
    /// finds its own patterns alone ([`Matcher::find`]).
    pub fn build_pair(self, other: Unbuilt) -> Result<(Matcher, Matcher), BuildError> {
        let first = self.lits.len();
        let mut lits = self.lits.clone();
        lits.extend(other.lits.iter().cloned());
        let ac = automaton(&lits)?;
        Ok((
            self.into_matcher(ac.clone(), 0),
            other.into_matcher(ac, first),
        ))
    }

    fn into_matcher(self, ac: Option<Arc<AhoCorasick>>, first: usize) -> Matcher {
        Matcher {
            patterns: self.patterns,
            ac,
            first,
            slots: self.slots,
            regexes: self.regexes,
            ungated: self.ungated,
        }
    }
}

/// One matcher's state during a scan: the literal patterns found so far
/// and the regexes whose gates opened.
struct Scan<'a> {
    matcher: &'a Matcher,
    out: &'a mut Vec<u32>,
    start: usize,
    /// Slots of the gate literals found, once per occurrence: a common
    /// word gating a hundred regexes is found many times in a long mail,
    /// so its regexes are listed once per slot, in [`Scan::finish`].
    gates: Vec<u32>,
}

impl<'a> Scan<'a> {
    fn new(matcher: &'a Matcher, out: &'a mut Vec<u32>) -> Scan<'a> {
        let start = out.len();
        Scan {
            matcher,
            out,
            start,
            gates: Vec::new(),
        }
    }

    /// An automaton match: one of this matcher's literals, or the other's
    /// in a pair (ignored).
    fn literal(&mut self, text: &str, m: &aho_corasick::Match) {
        let Some(index) = m.pattern().as_usize().checked_sub(self.matcher.first) else {
            return;
        };
        let (left, right, ids) = match self.matcher.slots.get(index) {
            Some(Slot::Word(left, right, ids)) => (*left, *right, ids),
            Some(Slot::Gate(_)) => {
                self.gates.push(index as u32);
                return;
            }
            None => return,
        };
        if left
            && text[..m.start()]
                .chars()
                .next_back()
                .is_some_and(is_word_char)
        {
            return;
        }
        if right && text[m.end()..].chars().next().is_some_and(is_word_char) {
            return;
        }
        self.out.extend_from_slice(ids);
    }

    /// Run the regexes whose gates opened and the ungated ones; sort and
    /// deduplicate what was found.
    fn finish(mut self, text: &str) {
        self.gates.sort_unstable();
        self.gates.dedup();
        let mut candidates: Vec<(u32, u8)> = Vec::new();
        for &slot in &self.gates {
            if let Slot::Gate(regexes) = &self.matcher.slots[slot as usize] {
                candidates.extend_from_slice(regexes);
            }
        }
        candidates.sort_unstable();
        let regexes = &self.matcher.regexes;
        let mut open = Vec::new();
        for run in candidates.chunk_by(|a, b| a.0 == b.0) {
            let seen = run.iter().fold(0, |acc, (_, bit)| acc | bit);
            if seen == regexes[run[0].0 as usize].needs {
                open.push(run[0].0);
            }
        }
        for &i in open.iter().chain(&self.matcher.ungated) {
            let c = &self.matcher.regexes[i as usize];
            if c.get().is_some_and(|r| r.is_match(text)) {
                self.out.push(c.id);
            }
        }
        self.out[self.start..].sort_unstable();
        let mut tail = self.out.split_off(self.start);
        tail.dedup();
        self.out.extend(tail);
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

/// Literals of which every match of `regex` contains one: the rarest set
/// found among those its matches start with, those they end with, and
/// those a part of it that every match passes through needs (a regex that
/// starts and ends with `[a-z]*` but needs `abgelehnt` or `aufnahme` in
/// between gets those, not every letter). `None` when no set is known
/// (`[a-z]+\d` runs on every text).
fn gate(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut best = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        consider(&mut best, extracted(hir, kind));
    }
    consider(&mut best, required(hir));
    best.map(|(_, lits)| lits)
}

/// At most this many gates per regex (bits of [`Compiled::needs`]).
const MAX_GATES: usize = 3;
/// A further gate must be at least this rare ([`weight`] of its commonest
/// literal): a common word is in nearly every mail and only costs a look-up.
const FURTHER_GATE_WEIGHT: usize = 6;

/// Sets of literals of which every match of `hir` contains one each: its
/// [`gate`] and, for a concatenation, the rarest gates of its parts
/// (`\bpayment\b.{0,40}\bmissing\b` needs `missing` as well as
/// `payment`; `join` in `\bcan i\b.{0,40}\bjoin\b` is too common). A scan
/// runs the regex only where all of them are found: on the classify bench
/// 96 % of the runs behind one gate found nothing. Empty when no gate is
/// known.
fn gates(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    let Some(first) = gate(hir) else {
        return Vec::new();
    };
    let mut out = vec![first];
    let mut inner = hir;
    while let HirKind::Capture(c) = inner.kind() {
        inner = &c.sub;
    }
    let HirKind::Concat(parts) = inner.kind() else {
        return out;
    };
    let mut more: Vec<(Rank, Vec<Vec<u8>>)> = parts
        .iter()
        .filter_map(gate)
        .map(|g| (rank(&g), g))
        .filter(|(r, _)| r.0 >= FURTHER_GATE_WEIGHT)
        .collect();
    more.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
    for (_, g) in more {
        if out.len() == MAX_GATES {
            break;
        }
        if !out.iter().any(|have| implies(have, &g)) {
            out.push(g);
        }
    }
    out
}

/// Whether finding a literal of `have` means a literal of `other` is
/// found too (each of `have` contains one of `other`).
fn implies(have: &[Vec<u8>], other: &[Vec<u8>]) -> bool {
    have.iter().all(|h| {
        other
            .iter()
            .any(|o| o.is_empty() || h.windows(o.len()).any(|w| w == o.as_slice()))
    })
}

/// The literals `kind` extraction finds for `hir`, if finite and none is
/// empty (an empty literal is in every text; an empty set means the regex
/// matches nothing, and its gate rightly never opens).
fn extracted(hir: &Hir, kind: ExtractKind) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new().kind(kind).extract(hir);
    let lits = seq.literals()?;
    if lits.iter().any(|l| l.is_empty()) {
        return None;
    }
    Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Literals of which every match of `hir` contains one, anywhere in it.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(l) => Some(vec![l.0.to_vec()]),
        HirKind::Class(_) => extracted(hir, ExtractKind::Prefix),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(required(a)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
        HirKind::Concat(parts) => {
            // Each part on its own, and the literals each run of parts
            // starts with (adjacent parts make longer literals: `i.?m \d`
            // needs `m ` followed by a digit).
            let mut best = None;
            for (i, part) in parts.iter().enumerate() {
                consider(&mut best, required(part));
                // A run from a zero-width part (`\b`) has the literals of
                // the run from the next part: no need to clone and extract
                // it twice.
                if i + 1 < parts.len() && !matches!(part.kind(), HirKind::Look(_)) {
                    let run = Hir::concat(parts[i..].to_vec());
                    consider(&mut best, extracted(&run, ExtractKind::Prefix));
                }
            }
            best.map(|(_, lits)| lits)
        }
        _ => None,
    }
}

/// How rare a set of gate literals is: the larger weight of its commonest
/// literal ([`weight`]), then the fewer literals, then the longer shortest
/// one. Larger is rarer.
type Rank = (usize, std::cmp::Reverse<usize>, usize);

fn rank(lits: &[Vec<u8>]) -> Rank {
    let commonest = lits.iter().map(|l| weight(l)).min().unwrap_or(usize::MAX);
    let shortest = lits.iter().map(Vec::len).min().unwrap_or(usize::MAX);
    (commonest, std::cmp::Reverse(lits.len()), shortest)
}

/// Keep the rarer ([`Rank`]) of `best` and `candidate`; the first of equals.
fn consider(best: &mut Option<(Rank, Vec<Vec<u8>>)>, candidate: Option<Vec<Vec<u8>>>) {
    let Some(c) = candidate else { return };
    let r = rank(&c);
    if best.as_ref().is_none_or(|(b, _)| r > *b) {
        *best = Some((r, c));
    }
}

/// How rare a gate literal is, roughly its length, but digits and spaces
/// count for nothing: nearly every mail has them. A money regex gated by
/// "any digit" ran on most mail, where its currency signs and words ("$",
/// "eur") are rare.
fn weight(lit: &[u8]) -> usize {
    lit.iter()
        .filter(|b| !b.is_ascii_digit() && **b != b' ')
        .count()
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

    #[test]
    fn a_regex_runs_only_behind_its_gate_and_still_finds_every_match() {
        let m = Matcher::build(vec![
            pat(r"\bcan i\b.{0,40}\bjoin\b", PatternKind::Regex),
            pat(r"\d+살", PatternKind::Regex),
            pat(r"[a-z]+\d", PatternKind::Regex),
        ])
        .expect("compiles");
        assert_eq!(m.ungated.len(), 1, "only [a-z]+\\d has no literal");
        assert_eq!(found(&m, "can i please join?"), vec![0]);
        assert_eq!(found(&m, "can i not?"), Vec::<u32>::new());
        assert_eq!(found(&m, "저는 17살입니다"), vec![1]);
        assert_eq!(found(&m, "abc7"), vec![2]);
    }

    #[test]
    fn a_regex_that_needs_two_rare_words_runs_only_where_both_are() {
        let hir = |re: &str| {
            regex_syntax::Parser::new()
                .parse(&ascii_boundaries(re))
                .expect("parses")
        };
        let re = r"\bpayment\b.{0,40}\bmissing\b";
        let sets = gates(&hir(re));
        assert_eq!(
            sets,
            vec![vec![b"payment".to_vec()], vec![b"missing".to_vec()]]
        );
        // A common word is no further gate; one the first gate implies
        // neither.
        assert_eq!(gates(&hir(r"\bpayment\b.{0,40}\bgone\b")).len(), 1);
        assert_eq!(gates(&hir(r"\bpayments? late\b.*\bpayment\b")).len(), 1);
        let m = Matcher::build(vec![pat(re, PatternKind::Regex)]).expect("compiles");
        assert_eq!(m.regexes[0].needs, 0b11);
        assert_eq!(found(&m, "my payment is missing"), vec![0]);
        assert_eq!(found(&m, "missing: my payment"), Vec::<u32>::new());
        assert_eq!(found(&m, "my payment is late"), Vec::<u32>::new());
        // Found many times, each literal still opens its gate once.
        let long = "payment ".repeat(50) + "missing";
        assert_eq!(found(&m, &long), vec![0]);
    }

    #[test]
    fn a_gate_is_the_rarest_words_a_match_needs_anywhere() {
        let gate_of = |re: &str| {
            let hir = regex_syntax::Parser::new()
                .parse(&ascii_boundaries(re))
                .expect("parses");
            gate(&hir).map(|g| {
                g.into_iter()
                    .map(|l| String::from_utf8(l).expect("utf-8"))
                    .collect::<Vec<_>>()
            })
        };
        // Starts and ends with letters of any kind: the words in between.
        assert_eq!(
            gate_of(r"\b(abgelehnt[a-z]*|ungultig)( [a-z]+){0,3} ([a-z]*aufnahme[a-z]*|videos?)\b"),
            Some(vec!["abgelehnt".to_string(), "ungultig ".to_string()])
        );
        // Adjacent parts make a longer literal than either alone (`\d` is
        // Unicode: too many digits to list).
        assert_eq!(gate_of(r"\bi.?m \d\b"), Some(vec!["m ".to_string()]));
        assert_eq!(
            gate_of(r"\bi.?m [ab]\b"),
            Some(vec!["m a".to_string(), "m b".to_string()])
        );
        // One optional branch without a word: no word is needed.
        assert_eq!(
            gate_of(r"(upload|envio)?[?]+ *$"),
            Some(vec!["?".to_string()])
        );
        assert_eq!(gate_of(r"[a-z]+\d"), None);
        // Digits and spaces are in nearly every mail: a currency is rarer.
        let money = gate_of(r"\b[0-9]{1,3}(?:[., ][0-9]{3}){2,} ?(?:usd|eur|\$)").expect("a gate");
        assert!(money.contains(&"$".to_string()), "{money:?}");
        assert!(
            !money.iter().any(|l| l.bytes().all(|b| b.is_ascii_digit())),
            "{money:?}"
        );
    }

    #[test]
    fn a_pair_scans_once_and_finds_what_each_finds_alone() {
        let topics = vec![
            pat("pay", PatternKind::Keyword),
            pat("bitcoin*", PatternKind::Keyword),
            pat(r"\bcan i\b.{0,20}\bpay\b", PatternKind::Regex),
        ];
        // The same literal as a word on one side and a gate on the other.
        let spam = vec![
            pat("bitcoin", PatternKind::Keyword),
            pat(r"\bpay\b.{0,10}\bnow\b", PatternKind::Regex),
            pat("wallet", PatternKind::Keyword),
        ];
        let alone = (
            Matcher::build(topics.clone()).expect("compiles"),
            Matcher::build(spam.clone()).expect("compiles"),
        );
        let (a, b) = Matcher::prepare(topics)
            .expect("compiles")
            .build_pair(Matcher::prepare(spam).expect("compiles"))
            .expect("builds");
        for text in [
            "can i pay in bitcoins",
            "pay now to the bitcoin wallet",
            "repayment",
            "",
        ] {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            a.find_pair(&b, text, &mut x, &mut y);
            assert_eq!(x, found(&alone.0, text), "{text}");
            assert_eq!(y, found(&alone.1, text), "{text}");
            assert_eq!(x, found(&a, text), "{text}");
            assert_eq!(y, found(&b, text), "{text}");
        }
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.find_pair(&b, "pay now, bitcoin wallet", &mut x, &mut y);
        assert_eq!((x, y), (vec![0, 1], vec![0, 1, 2]));
    }

    /// Every regex of the shipped rules, gated, matches exactly the texts
    /// it matches alone, over all mail in tests/fixtures.
    #[test]
    fn gated_shipped_regexes_agree_with_each_regex_alone() {
        let rules = crate::rules::RuleSet::builtin();
        let texts = fixture_texts();
        let mut hits = 0;
        for m in [&rules.text, &rules.machine.matcher, &rules.spam.matcher] {
            let alone: Vec<(u32, Regex)> = m
                .patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == PatternKind::Regex)
                .map(|(i, p)| {
                    (
                        i as u32,
                        Regex::new(&ascii_boundaries(&p.text)).expect("compiles"),
                    )
                })
                .collect();
            for t in &texts {
                let want: Vec<u32> = alone
                    .iter()
                    .filter(|(_, r)| r.is_match(t))
                    .map(|(i, _)| *i)
                    .collect();
                let got: Vec<u32> = found(m, t)
                    .into_iter()
                    .filter(|i| m.patterns[*i as usize].kind == PatternKind::Regex)
                    .collect();
                assert_eq!(got, want, "{t}");
                hits += want.len();
            }
        }
        assert!(hits > 20, "only {hits} regex hits: the test proves little");
    }

    /// Normalized subjects and new texts of all mail in tests/fixtures.
    fn fixture_texts() -> Vec<String> {
        use super::super::normalize::normalize;
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut texts = Vec::new();
        for set in std::fs::read_dir(&fixtures).expect("fixtures") {
            let Ok(dir) = std::fs::read_dir(set.expect("entry").path().join("emails")) else {
                continue;
            };
            for f in dir {
                let email =
                    crate::parse::parse(&std::fs::read(f.expect("entry").path()).expect("read"));
                texts.push(normalize(&email.subject, 400));
                texts.push(normalize(&email.body.new_text, 4000));
            }
        }
        assert!(texts.len() > 400, "{} texts", texts.len());
        texts
    }

    /// The shipped topic and spam cues, built as the pair classification
    /// scans once, find exactly what each set built alone finds.
    #[test]
    fn the_shipped_pair_finds_what_each_set_finds_alone() {
        let rules = crate::rules::RuleSet::builtin();
        let (text, spam) = (&rules.text, &rules.spam.matcher);
        let shared = |m: &Matcher| m.ac.clone().expect("literals");
        assert!(Arc::ptr_eq(&shared(text), &shared(spam)), "one automaton");
        let text_alone = Matcher::build(text.patterns.clone()).expect("compiles");
        let spam_alone = Matcher::build(spam.patterns.clone()).expect("compiles");
        let mut hits = 0;
        for t in fixture_texts() {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            text.find_pair(spam, &t, &mut x, &mut y);
            assert_eq!(x, found(&text_alone, &t), "{t}");
            assert_eq!(y, found(&spam_alone, &t), "{t}");
            hits += x.len() + y.len();
        }
        assert!(hits > 1000, "only {hits} hits: the test proves little");
    }
}
