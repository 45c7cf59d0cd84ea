//! A second opinion next to the rules (issue 14): naive Bayes over the
//! character 3-, 4- and 5-grams of a mail's subject and new text, trained by
//! `helpgate rules train` from labelled mail (the independent sets in
//! tests/fixtures, the labelled set, the desk's corrections) and shipped as
//! rules/second_opinion.tsv.
//!
//! Character n-grams need no word lists, so the vote holds where the rules'
//! phrases do not: mail written in words no rule author expected. It is
//! weaker than the rules where they speak (about 88 % of topics right alone,
//! where the rules get 94 %), so it is only asked where they leave a first
//! message to a person, and [`crate::decide`] lets it move a decision only
//! toward a person or toward escalation, never toward an automatic answer.
//!
//! The model file is text: a header, then one line per n-gram with the
//! number of training mails of each class that contain it. Log
//! probabilities are computed on load, so a retrained file diffs readably.

use crate::rules::normalize::normalize;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// The n-gram lengths, in characters.
const NS: [usize; 3] = [3, 4, 5];
/// Characters of new text (after normalizing) that the model reads: 400,
/// 600, 800 and 1,500 scored the same in leave-one-set-out runs, and each
/// character costs three lookups.
const BODY_CHARS: usize = 400;
const SUBJECT_CHARS: usize = 200;
/// Additive smoothing of the n-gram counts.
const SMOOTHING: f64 = 0.5;
/// An n-gram seen in fewer training mails is noise (names, amounts).
const MIN_DOCS: u32 = 2;

/// The model's vote on one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vote {
    /// The most likely class: a topic id, `other` or `spam`.
    pub topic: String,
    /// How far ahead of the runner-up it is: the log-likelihood gap per
    /// known n-gram (0.06 is clear, 0.02 a coin toss).
    pub margin: f64,
    pub runner_up: String,
    /// The rules' topic, when the vote replaced it (`decide`).
    pub replaced: Option<String>,
    /// The rules would have answered automatically; the vote escalated.
    pub answer_withheld: bool,
    /// How many of the mail's n-grams the model knows: what the vote rests on.
    #[serde(skip)]
    pub known: usize,
}

/// A trained model, ready to vote.
#[derive(Debug)]
pub struct Model {
    classes: Vec<String>,
    /// log P(class).
    prior: Vec<f64>,
    /// log P(an n-gram unseen in the class | class).
    base: Vec<f64>,
    /// Hash of an n-gram -> its range in `bonus`.
    index: GramTable,
    /// (class, log((count + a) / a)) for the classes an n-gram was seen in.
    bonus: Vec<(u8, f32)>,
}

/// A model file in the rule set: parsed on first use, so a process that
/// never asks (`rules check`, a daemon answering only machine mail) does
/// not pay for it; [`crate::rules::RuleSet::load`] parses it up front to
/// refuse a broken file with its line.
pub struct ModelFile<M = Model> {
    pub path: String,
    text: String,
    parse: fn(&str) -> Result<M, ModelError>,
    parsed: OnceLock<Result<M, ModelError>>,
}

/// What is wrong with a model file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ModelError {
    pub line: usize,
    pub reason: String,
}

impl<M> std::fmt::Debug for ModelFile<M> {
    // Not the megabytes of n-grams.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("path", &self.path)
            .finish()
    }
}

impl ModelFile {
    pub fn new(path: String, text: String) -> ModelFile {
        ModelFile::with_parser(path, text, Model::parse)
    }
}

impl<M> ModelFile<M> {
    pub fn with_parser(
        path: String,
        text: String,
        parse: fn(&str) -> Result<M, ModelError>,
    ) -> ModelFile<M> {
        ModelFile {
            path,
            text,
            parse,
            parsed: OnceLock::new(),
        }
    }

    pub fn model(&self) -> Result<&M, &ModelError> {
        self.parsed
            .get_or_init(|| (self.parse)(&self.text))
            .as_ref()
    }
}

impl Model {
    /// Parse a model file (the format [`Trainer::write`] writes).
    pub fn parse(text: &str) -> Result<Model, ModelError> {
        let err = |line: usize, reason: &str| ModelError {
            line,
            reason: reason.to_string(),
        };
        let mut classes: Vec<String> = Vec::new();
        let mut docs: Vec<u32> = Vec::new();
        // Each n-gram and where its counts start in `counts`: one vector
        // for all, not 120,000 small ones (the model loads at every start).
        let mut grams: Vec<(&str, usize)> = Vec::new();
        let mut counts: Vec<(u8, u32)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, rest) = line
                .split_once('\t')
                .ok_or_else(|| err(n, "expected a tab-separated line"))?;
            // The header names are words too: once both are read, a line
            // keyed "docs" is the n-gram of "docs" (it broke retraining).
            let in_header = classes.is_empty() || docs.is_empty();
            match key {
                "classes" if in_header => classes = rest.split('\t').map(str::to_string).collect(),
                "docs" if in_header => {
                    docs = rest
                        .split('\t')
                        .map(|d| d.parse().map_err(|_| err(n, "docs: expected counts")))
                        .collect::<Result<_, _>>()?;
                }
                gram => {
                    if classes.is_empty() || docs.len() != classes.len() {
                        return Err(err(n, "n-gram before the classes and docs lines"));
                    }
                    grams.push((gram, counts.len()));
                    for cell in rest.split(' ') {
                        let (c, k) = cell
                            .split_once(':')
                            .and_then(|(c, k)| {
                                Some((c.parse::<u8>().ok()?, k.parse::<u32>().ok()?))
                            })
                            .filter(|(c, k)| usize::from(*c) < classes.len() && *k > 0)
                            .ok_or_else(|| err(n, "expected class:count pairs"))?;
                        counts.push((c, k));
                    }
                }
            }
        }
        if classes.len() < 2 || classes.len() > usize::from(u8::MAX) {
            return Err(err(0, "expected a classes line with 2 to 255 classes"));
        }
        let total_docs: u32 = docs.iter().sum();
        if docs.contains(&0) {
            return Err(err(0, "every class needs training mail"));
        }
        let mut per_class = vec![0f64; classes.len()];
        for &(c, k) in &counts {
            per_class[usize::from(c)] += f64::from(k);
        }
        let v = grams.len() as f64;
        let base = per_class
            .iter()
            .map(|t| (SMOOTHING / (t + SMOOTHING * v)).ln())
            .collect();
        let prior = docs
            .iter()
            .map(|&d| (f64::from(d) / f64::from(total_docs)).ln())
            .collect();
        let mut index = GramTable::with_capacity(grams.len());
        // Most counts are small: their logarithms are computed once.
        let weight = |k: u32| ((f64::from(k) + SMOOTHING) / SMOOTHING).ln() as f32;
        let small: Vec<f32> = (0..256).map(weight).collect();
        let bonus: Vec<(u8, f32)> = counts
            .iter()
            .map(|&(c, k)| {
                (
                    c,
                    small.get(k as usize).copied().unwrap_or_else(|| weight(k)),
                )
            })
            .collect();
        let ends = grams.iter().skip(1).map(|g| g.1).chain([counts.len()]);
        for (&(gram, start), end) in grams.iter().zip(ends) {
            index.insert(stable_hash(gram), (start as u32, end as u32));
        }
        Ok(Model {
            classes,
            prior,
            base,
            index,
            bonus,
        })
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The vote on a message's subject (prefixes stripped) and new text.
    pub fn vote(&self, subject: &str, new_text: &str) -> Vote {
        self.features(subject, new_text).vote()
    }

    /// The n-grams of a message looked up once, for its vote on subject
    /// and new text and its vote on the new text alone.
    pub fn features<'m>(&'m self, subject: &str, new_text: &str) -> Features<'m> {
        let mut grams = Vec::new();
        let mut text = Vec::new();
        each_feature(subject, new_text, |h, at, in_text| {
            if at == grams.len() {
                grams.push(h);
            }
            if in_text {
                text.push(at as u32);
            }
        });
        // Looked up in a loop of their own, after the hashing: the table is
        // megabytes (most look-ups miss the cache), and look-ups that depend
        // on nothing but their key let the processor wait for several misses
        // at once. Inline in the hashing loop they cost ingest ~4 % more CPU.
        let ranges = grams.iter().map(|&h| self.index.get(h)).collect();
        Features {
            model: self,
            ranges,
            text,
        }
    }

    /// The vote on n-grams whose ranges in `bonus` are `ranges` (empty for
    /// one the model does not know), in the order they were first seen.
    fn vote_on(&self, ranges: impl Iterator<Item = (u32, u32)>) -> Vote {
        let mut scores = self.prior.clone();
        let mut known = 0usize;
        for (a, b) in ranges {
            if a < b {
                known += 1;
                for &(c, w) in &self.bonus[a as usize..b as usize] {
                    scores[usize::from(c)] += f64::from(w);
                }
            }
        }
        for (s, b) in scores.iter_mut().zip(&self.base) {
            *s += known as f64 * b;
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let (best, second) = (order[0], order[1]);
        Vote {
            topic: self.classes[best].clone(),
            // Without a known n-gram only the priors differ: that is no
            // evidence about this mail (an empty text "voted" payment at
            // 0.35, the largest class's lead).
            margin: if known == 0 {
                0.0
            } else {
                (scores[best] - scores[second]) / known as f64
            },
            runner_up: self.classes[second].clone(),
            replaced: None,
            answer_withheld: false,
            known,
        }
    }
}

/// A message's distinct n-grams, looked up in the model.
pub struct Features<'m> {
    model: &'m Model,
    /// Per distinct n-gram of subject and new text (the subject's first),
    /// its range in the model's `bonus`.
    ranges: Vec<(u32, u32)>,
    /// The distinct n-grams of the new text, as indexes into `ranges`.
    text: Vec<u32>,
}

impl Features<'_> {
    /// The vote on subject and new text.
    pub fn vote(&self) -> Vote {
        self.model.vote_on(self.ranges.iter().copied())
    }

    /// The vote on the new text alone: what [`Model::vote`] with an empty
    /// subject says, the same n-grams in the same order.
    pub fn vote_new_text(&self) -> Vote {
        self.model
            .vote_on(self.text.iter().map(|&i| self.ranges[i as usize]))
    }
}

/// Open addressing over the n-gram hashes, key and range in one 16-byte
/// slot: a look-up is one cache miss in the common case, where a std
/// `HashMap` took two (control bytes, then the bucket); the vote was an
/// eighth of ingest's CPU, most of it waiting for these misses.
#[derive(Debug)]
pub(super) struct GramTable {
    /// (hash, start, end); `end == 0` is an empty slot (every n-gram has
    /// at least one class).
    slots: Vec<(u64, u32, u32)>,
    shift: u32,
}

impl GramTable {
    pub(super) fn with_capacity(n: usize) -> GramTable {
        // At most half full.
        let size = (n.max(1) * 2).next_power_of_two().max(2);
        GramTable {
            slots: vec![(0, 0, 0); size],
            shift: 64 - size.trailing_zeros(),
        }
    }

    fn home(&self, h: u64) -> usize {
        // Fibonacci hashing: FNV's low bits mix poorly.
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Insert or replace (a later line with the same hash wins, as it did
    /// in a `HashMap`).
    pub(super) fn insert(&mut self, h: u64, range: (u32, u32)) {
        debug_assert!(range.1 > 0);
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            let slot = &mut self.slots[i];
            if slot.2 == 0 {
                *slot = (h, range.0, range.1);
                return;
            }
            if slot.0 == h {
                (slot.1, slot.2) = range;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// The range of `h`, or (0, 0).
    pub(super) fn get(&self, h: u64) -> (u32, u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            let (k, a, b) = self.slots[i];
            if b == 0 {
                return (0, 0);
            }
            if k == h {
                return (a, b);
            }
            i = (i + 1) & mask;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.2 != 0).count()
    }
}

/// Counts labelled mail into a model file.
#[derive(Debug, Default)]
pub struct Trainer {
    docs: BTreeMap<String, u32>,
    /// n-gram -> class -> training mails containing it.
    grams: HashMap<String, BTreeMap<String, u32>>,
}

impl Trainer {
    pub fn add(&mut self, class: &str, subject: &str, new_text: &str) {
        *self.docs.entry(class.to_string()).or_default() += 1;
        let mut seen = gram_strings(subject, new_text);
        seen.sort_unstable();
        seen.dedup();
        for g in seen {
            *self
                .grams
                .entry(g)
                .or_default()
                .entry(class.to_string())
                .or_default() += 1;
        }
    }

    pub fn mails(&self) -> u32 {
        self.docs.values().sum()
    }

    /// The model file: deterministic (sorted), n-grams seen in fewer than
    /// [`MIN_DOCS`] mails left out.
    pub fn write(&self, header: &str) -> String {
        let classes: Vec<&String> = self.docs.keys().collect();
        let mut out = file_head(header, classes.iter().map(|c| c.as_str()));
        out.push_str("docs");
        for c in &classes {
            out.push_str(&format!("\t{}", self.docs[*c]));
        }
        out.push('\n');
        let mut grams: Vec<(&String, &BTreeMap<String, u32>)> = self
            .grams
            .iter()
            .filter(|(_, by)| by.values().sum::<u32>() >= MIN_DOCS)
            .collect();
        grams.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (g, by) in grams {
            out.push_str(g);
            out.push('\t');
            let cells: Vec<String> = by
                .iter()
                .map(|(c, k)| {
                    let i = classes.iter().position(|x| *x == c).expect("counted class");
                    format!("{i}:{k}")
                })
                .collect();
            out.push_str(&cells.join(" "));
            out.push('\n');
        }
        out
    }
}

/// A model file's commented header and its classes line.
pub(super) fn file_head<'a>(header: &str, classes: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("classes");
    for c in classes {
        out.push('\t');
        out.push_str(c);
    }
    out.push('\n');
    out
}

/// Lower case, no diacritics (as the rules see text), and every run of
/// anything but letters and digits one space, with a space at each end:
/// "Pago!!" is " pago ".
pub(super) fn squash(text: &str, max_chars: usize) -> Vec<char> {
    let mut out = Vec::with_capacity(max_chars.min(text.len()) + 2);
    out.push(' ');
    for c in normalize(text, max_chars * 2).chars() {
        if out.len() > max_chars {
            break;
        }
        let word = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphanumeric()
        };
        if word {
            out.push(c);
        } else if out.last() != Some(&' ') {
            out.push(' ');
        }
    }
    if out.last() != Some(&' ') {
        out.push(' ');
    }
    out
}

/// Call `f(start, n, hash)` for every n-gram of `chars`, hashing each
/// start's 3-, 4- and 5-gram in one pass. Spaces never repeat in squashed
/// text, so no gram of three or more characters is only spaces.
fn each_gram(chars: &[char], mut f: impl FnMut(usize, usize, u64)) {
    let (min, max) = (NS[0], NS[NS.len() - 1]);
    let mut buf = [0u8; 4];
    for start in 0..chars.len().saturating_sub(min - 1) {
        let mut h = FNV_OFFSET;
        for (k, c) in chars[start..].iter().take(max).enumerate() {
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                h = fnv_step(h, b);
            }
            if k + 1 >= min {
                f(start, k + 1, h);
            }
        }
    }
}

fn texts(subject: &str, new_text: &str) -> [Vec<char>; 2] {
    [squash(subject, SUBJECT_CHARS), squash(new_text, BODY_CHARS)]
}

/// Call `f(hash, at, in_text)` for each n-gram of a message: `at` counts
/// the distinct n-grams of subject and new text in the order first seen
/// (a new one gets the next number), and `in_text` is true once per
/// distinct n-gram of the new text.
fn each_feature(subject: &str, new_text: &str, mut f: impl FnMut(u64, usize, bool)) {
    thread_local! {
        // Reused: a fresh zeroed table per mail costs page faults. Only the
        // keys are cleared per mail (a 2 KB mail's table is 32 KB, and
        // clearing twice that showed in the classify bench); `META` holds,
        // where a key is set, its number << 2 | 1 (seen in the subject) |
        // 2 (in the new text).
        static SEEN: std::cell::RefCell<(Vec<u64>, Vec<u32>)> = const {
            std::cell::RefCell::new((Vec::new(), Vec::new()))
        };
    }
    let texts = texts(subject, new_text);
    let grams: usize = texts.iter().map(|t| t.len() * NS.len()).sum();
    // Open addressing at most half full: the hashes are FNV already.
    let slots = (grams * 2).next_power_of_two();
    SEEN.with_borrow_mut(|(seen, meta)| {
        seen.clear();
        seen.resize(slots, 0);
        if meta.len() < slots {
            meta.resize(slots, 0);
        }
        let mut distinct = 0u32;
        for (t, flag) in texts.iter().zip([1u32, 2]) {
            each_gram(t, |_, _, h| {
                let h = h.max(1);
                let mut i = h as usize & (slots - 1);
                loop {
                    if seen[i] == 0 {
                        seen[i] = h;
                        meta[i] = distinct << 2 | flag;
                        f(h, distinct as usize, flag == 2);
                        distinct += 1;
                        break;
                    }
                    if seen[i] == h {
                        if meta[i] & flag == 0 {
                            meta[i] |= flag;
                            f(h, (meta[i] >> 2) as usize, flag == 2);
                        }
                        break;
                    }
                    i = (i + 1) & (slots - 1);
                }
            });
        }
    });
}

#[cfg(test)]
fn features(subject: &str, new_text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    each_feature(subject, new_text, |h, at, _| {
        if at == out.len() {
            out.push(h);
        }
    });
    out
}

fn gram_strings(subject: &str, new_text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in texts(subject, new_text) {
        each_gram(&t, |start, n, _| {
            out.push(t[start..start + n].iter().collect())
        });
    }
    out
}

pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

pub(super) fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

/// FNV-1a: stable across builds and platforms, which the std hasher is not.
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(FNV_OFFSET, fnv_step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained() -> Model {
        let mut t = Trainer::default();
        for (class, subject, body) in [
            (
                "payment",
                "payout",
                "when will I receive my money for the recordings",
            ),
            (
                "payment",
                "money",
                "I have not been paid for last week, where is my money",
            ),
            (
                "payment",
                "",
                "my money has not arrived, when do I get paid",
            ),
            (
                "upload_confirmation",
                "files",
                "did my recordings arrive, the upload finished",
            ),
            (
                "upload_confirmation",
                "upload",
                "the upload finished but did you get the recordings",
            ),
            (
                "upload_confirmation",
                "",
                "please confirm the files arrived after my upload",
            ),
        ] {
            t.add(class, subject, body);
        }
        Model::parse(&t.write("test model")).expect("a written model parses")
    }

    #[test]
    fn votes_for_the_class_whose_words_it_has_seen() {
        let m = trained();
        let v = m.vote("", "Where is my money? I was not paid.");
        assert_eq!(v.topic, "payment");
        assert!(v.margin > 0.0, "{v:?}");
        let v = m.vote("Upload", "Did the recordings arrive?");
        assert_eq!(v.topic, "upload_confirmation");
        assert_eq!(v.runner_up, "payment");
    }

    #[test]
    fn one_look_up_gives_both_votes_as_two_would() {
        let m = trained();
        for (subject, text) in [
            ("Upload money", "Did the upload arrive? money money"),
            ("payout", "payout"),
            ("", "the files arrived"),
            ("files", ""),
        ] {
            let f = m.features(subject, text);
            assert_eq!(f.vote(), m.vote(subject, text));
            assert_eq!(f.vote_new_text(), m.vote("", text));
        }
        // The subject's n-grams count once, where the text repeats them.
        let f = m.features("upload", "upload");
        assert_eq!(f.ranges.len(), f.text.len());
    }

    #[test]
    fn text_it_knows_nothing_of_is_a_tie() {
        let v = trained().vote("", "Ξέρετε τι ώρα είναι;");
        assert_eq!(v.margin, 0.0, "{v:?}");
        // Also where one class has more training mail than another.
        let mut t = Trainer::default();
        t.add("payment", "", "money money paid");
        t.add("payment", "", "money paid money");
        t.add("other", "", "hello money");
        let m = Model::parse(&t.write("uneven")).expect("parses");
        assert_eq!(m.vote("", "").margin, 0.0);
        assert_eq!(m.vote("", "Ξέρετε").margin, 0.0);
        assert!(m.vote("", "money paid").margin > 0.0);
    }

    #[test]
    fn case_accents_and_punctuation_do_not_matter() {
        let m = trained();
        assert_eq!(
            m.vote("", "MONEY!!! not PAID"),
            m.vote("", "money not paid"),
        );
        let s = |t: &str| squash(t, 100).into_iter().collect::<String>();
        assert_eq!(s("Não recebi!!"), " nao recebi ");
        assert_eq!(s(""), " ");
    }

    #[test]
    fn the_file_is_deterministic_and_leaves_out_one_off_grams() {
        let mut a = Trainer::default();
        a.add("payment", "", "money money");
        a.add("other", "", "money xyz");
        let text = a.write("h");
        assert_eq!(text, a.write("h"));
        assert!(text.contains("\nmon\t0:1 1:1\n"), "{text}");
        assert!(!text.contains("xyz"), "seen once: {text}");
        assert!(text.starts_with("# h\nclasses\tother\tpayment\ndocs\t1\t1\n"));
    }

    #[test]
    fn the_hashes_voted_on_are_those_of_the_trained_grams() {
        let mut want: Vec<u64> = gram_strings("Olá", "Não recebi, recebi!")
            .iter()
            .map(|g| stable_hash(g))
            .collect();
        want.sort_unstable();
        want.dedup();
        let mut got = features("Olá", "Não recebi, recebi!");
        got.sort_unstable();
        assert_eq!(got, want);
        assert!(want.contains(&stable_hash(" nao")));
    }

    #[test]
    fn a_broken_file_names_its_line() {
        // An n-gram spelled like a header line is an n-gram.
        let m = Model::parse("classes\ta\tb\ndocs\t1\t1\ndocs\t1:3\nclasses\t0:1\n").unwrap();
        assert_eq!(m.index.len(), 2);
        let e = Model::parse("classes\ta\tb\ndocs\t1\t1\nabc\t0:1 7:2\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = Model::parse("abc\t0:1\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(Model::parse("classes\ta\tb\ndocs\t1\t0\n").is_err());
        assert!(Model::parse("nonsense").is_err());
    }
}
