//! A third reader next to the rules and the naive Bayes second opinion:
//! multinomial logistic regression over TF-IDF weighted character 2- to
//! 5-grams inside words, trained by `helpgate rules train --linear-out` and
//! shipped as rules/linear_model.tsv.
//!
//! Why a second learner: naive Bayes counts every n-gram as independent
//! evidence, so the many n-grams of one common word outvote the few of a
//! telling one. A discriminative model weighs them against each other.
//! Measured before it was built (scikit-learn, same features): trained on
//! the tune sets, on the first messages of the twelve held-out sets
//! (1,872) it names 96.5 % of topics right where naive Bayes names 91.9 %
//! and the rules with the second opinion 95.7 %; leave-one-set-out over the
//! tune sets, 94.0 % against 88.8 %. It is used for one thing only (see
//! [`crate::decide`]): a clear vote for a sensitive topic escalates a first
//! message the rules would answer or give an ordinary queue. It never
//! names a topic that gets an automatic answer.

use super::second_opinion::{squash, stable_hash, GramTable, ModelError, Vote, FNV_OFFSET};
use std::collections::HashMap;

/// Characters of subject and new text read (after normalizing). With 800,
/// leave-sets-out over the tune sets escalated 2 ordinary mails instead of
/// 4 at the bars of [`crate::decide`] and caught the same sensitive ones on
/// the held-out sets, but each character adds about four n-grams to hash,
/// count and look up: the classify bench's 2 KB mail takes ~30 us more with
/// the model at 400 characters (a first version at 800 that also sorted its
/// n-grams took ~70 us more; 800 alone was not measured).
const SUBJECT_CHARS: usize = 200;
const BODY_CHARS: usize = 400;
const MIN_N: usize = 2;
const MAX_N: usize = 5;
/// An n-gram in fewer training mails is left out of the model.
const MIN_DOCS: u32 = 2;
/// Training: passes over the mail, AdaGrad step size, L2 penalty.
const EPOCHS: usize = 20;
const STEP: f64 = 0.5;
const L2: f64 = 1e-4;

/// A trained model, ready to vote.
#[derive(Debug)]
pub struct LinearModel {
    classes: Vec<String>,
    bias: Vec<f32>,
    /// Hash of an n-gram -> (row, row + 1).
    index: GramTable,
    idf: Vec<f32>,
    /// `classes.len()` weights per row.
    weights: Vec<f32>,
}

impl LinearModel {
    /// Parse a model file (the format [`LinearTrainer::write`] writes).
    pub fn parse(text: &str) -> Result<LinearModel, ModelError> {
        let err = |line: usize, reason: &str| ModelError {
            line,
            reason: reason.to_string(),
        };
        let mut classes: Vec<String> = Vec::new();
        let mut bias: Vec<f32> = Vec::new();
        let mut rows: Vec<(&str, f32)> = Vec::new();
        let mut weights: Vec<f32> = Vec::new();
        let floats = |s: &str, n: usize| -> Result<Vec<f32>, ModelError> {
            s.split([' ', '\t'])
                .map(|w| w.parse::<f32>().ok().filter(|w| w.is_finite()))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| err(n, "expected numbers"))
        };
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (key, rest) = line
                .split_once('\t')
                .ok_or_else(|| err(n, "expected a tab-separated line"))?;
            if classes.is_empty() {
                if key != "classes" {
                    return Err(err(n, "expected the classes line first"));
                }
                classes = rest.split('\t').map(str::to_string).collect();
                continue;
            }
            if bias.is_empty() {
                if key != "bias" {
                    return Err(err(n, "expected the bias line after the classes"));
                }
                bias = floats(rest, n)?;
                if bias.len() != classes.len() {
                    return Err(err(n, "expected one bias per class"));
                }
                continue;
            }
            let (idf, w) = rest
                .split_once('\t')
                .ok_or_else(|| err(n, "expected n-gram, idf and weights"))?;
            let idf = floats(idf, n)?;
            let w = floats(w, n)?;
            if idf.len() != 1 || w.len() != classes.len() {
                return Err(err(n, "expected one idf and one weight per class"));
            }
            rows.push((key, idf[0]));
            weights.extend(w);
        }
        if classes.len() < 2 {
            return Err(err(0, "expected a classes line with at least 2 classes"));
        }
        let mut index = GramTable::with_capacity(rows.len());
        for (row, (gram, _)) in rows.iter().enumerate() {
            index.insert(stable_hash(gram).max(1), (row as u32, row as u32 + 1));
        }
        Ok(LinearModel {
            classes,
            bias,
            index,
            idf: rows.iter().map(|r| r.1).collect(),
            weights,
        })
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The vote on a message's subject (prefixes stripped) and new text.
    /// The margin is the gap between the two most likely classes'
    /// probabilities (0 to 1).
    pub fn vote(&self, subject: &str, new_text: &str) -> Vote {
        let k = self.classes.len();
        let mut scores = vec![0f32; k];
        let mut norm = 0f32;
        let mut known = 0usize;
        distinct_grams(subject, new_text, |grams| {
            // Looked up in a loop of their own: the table is megabytes, and
            // look-ups that depend on nothing but their key let the
            // processor wait for several cache misses at once.
            let rows: Vec<(u32, u32)> = grams
                .iter()
                .filter_map(|&(h, tf)| {
                    let (a, b) = self.index.get(h);
                    (a < b).then_some((a, tf))
                })
                .collect();
            known = rows.len();
            for (row, tf) in rows {
                let row = row as usize;
                let x = (1.0 + (tf as f32).ln()) * self.idf[row];
                norm += x * x;
                for (s, w) in scores.iter_mut().zip(&self.weights[row * k..row * k + k]) {
                    *s += x * w;
                }
            }
        });
        let norm = if norm > 0.0 { norm.sqrt() } else { 1.0 };
        let mut p: Vec<f64> = scores
            .iter()
            .zip(&self.bias)
            .map(|(s, b)| f64::from(s / norm + b))
            .collect();
        softmax(&mut p);
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let (best, second) = (order[0], order[1]);
        Vote {
            topic: self.classes[best].clone(),
            margin: if known == 0 { 0.0 } else { p[best] - p[second] },
            runner_up: self.classes[second].clone(),
            replaced: None,
            answer_withheld: false,
            known,
        }
    }
}

fn softmax(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// Call `f(hash, gram)` for every 2- to 5-gram of each word of subject and
/// new text, the word padded with a space on each side (" pago " gives
/// " p", "pa", ..., "go "): n-grams never cross words, so word order and
/// the words around do not dilute a word's evidence.
fn each_text_gram(subject: &str, new_text: &str, mut f: impl FnMut(u64, &[char])) {
    for text in [squash(subject, SUBJECT_CHARS), squash(new_text, BODY_CHARS)] {
        // `squash` leaves single spaces between words and one at each end.
        let mut start = 0;
        while let Some(len) = text[start + 1..].iter().position(|&c| c == ' ') {
            let word = &text[start..start + len + 2];
            let mut buf = [0u8; 4];
            for s in 0..word.len() {
                let mut h = FNV_OFFSET;
                for (k, c) in word[s..].iter().take(MAX_N).enumerate() {
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        h = super::second_opinion::fnv_step(h, b);
                    }
                    if k + 1 >= MIN_N {
                        f(h, &word[s..=s + k]);
                    }
                }
            }
            start += len + 1;
        }
    }
}

/// Call `f` once with the distinct n-grams of subject and new text and how
/// often each occurs, in the order first seen.
fn distinct_grams<T>(subject: &str, new_text: &str, f: impl FnOnce(&[(u64, u32)]) -> T) -> T {
    /// Slots (hashes), each slot's place in the output, the output.
    type Seen = (Vec<u64>, Vec<u32>, Vec<(u64, u32)>);
    thread_local! {
        // Reused: a fresh table per mail costs page faults and clearing.
        static SEEN: std::cell::RefCell<Seen> = const {
            std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new()))
        };
    }
    SEEN.with_borrow_mut(|(slots, at, out)| {
        out.clear();
        let mut hashes = Vec::with_capacity(4096);
        each_text_gram(subject, new_text, |h, _| hashes.push(h.max(1)));
        // Open addressing at most half full: the hashes are FNV already.
        let size = (hashes.len() * 2).next_power_of_two().max(2);
        slots.clear();
        slots.resize(size, 0);
        if at.len() < size {
            at.resize(size, 0);
        }
        for h in hashes {
            let mut i = h as usize & (size - 1);
            loop {
                if slots[i] == 0 {
                    slots[i] = h;
                    at[i] = out.len() as u32;
                    out.push((h, 1));
                    break;
                }
                if slots[i] == h {
                    out[at[i] as usize].1 += 1;
                    break;
                }
                i = (i + 1) & (size - 1);
            }
        }
        f(out)
    })
}

/// Labelled mail, trained into a model file.
#[derive(Debug, Default)]
pub struct LinearTrainer {
    /// (class, n-gram hashes with their counts).
    docs: Vec<(String, Vec<(u64, u32)>)>,
    grams: HashMap<u64, String>,
}

impl LinearTrainer {
    pub fn add(&mut self, class: &str, subject: &str, new_text: &str) {
        each_text_gram(subject, new_text, |h, gram| {
            self.grams
                .entry(h.max(1))
                .or_insert_with(|| gram.iter().collect());
        });
        let counted = distinct_grams(subject, new_text, <[(u64, u32)]>::to_vec);
        self.docs.push((class.to_string(), counted));
    }

    pub fn mails(&self) -> usize {
        self.docs.len()
    }

    /// Train and write the model file: deterministic (a fixed shuffle, the
    /// n-grams sorted), so a retrain on the same mail diffs empty.
    pub fn write(&self, header: &str) -> String {
        let classes: Vec<&str> = {
            let set: std::collections::BTreeSet<&str> =
                self.docs.iter().map(|d| d.0.as_str()).collect();
            set.into_iter().collect()
        };
        let k = classes.len();
        let mut df: HashMap<u64, u32> = HashMap::new();
        for (_, grams) in &self.docs {
            for (h, _) in grams {
                *df.entry(*h).or_default() += 1;
            }
        }
        // Rows in the order of the n-grams' text, for a readable file.
        let mut vocab: Vec<(&str, u64)> = df
            .iter()
            .filter(|(_, &d)| d >= MIN_DOCS)
            .map(|(h, _)| (self.grams[h].as_str(), *h))
            .collect();
        vocab.sort_unstable();
        let row_of: HashMap<u64, usize> = vocab.iter().enumerate().map(|(i, g)| (g.1, i)).collect();
        let n = self.docs.len() as f64;
        // Smoothed idf, as scikit-learn's TfidfVectorizer computes it.
        let idf: Vec<f64> = vocab
            .iter()
            .map(|(_, h)| ((1.0 + n) / (1.0 + f64::from(df[h]))).ln() + 1.0)
            .collect();
        let data: Vec<(usize, Vec<(usize, f64)>)> = self
            .docs
            .iter()
            .map(|(class, grams)| {
                let mut x: Vec<(usize, f64)> = grams
                    .iter()
                    .filter_map(|(h, tf)| {
                        let row = *row_of.get(h)?;
                        Some((row, (1.0 + f64::from(*tf).ln()) * idf[row]))
                    })
                    .collect();
                let norm = x.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
                if norm > 0.0 {
                    x.iter_mut().for_each(|(_, v)| *v /= norm);
                }
                let c = classes.iter().position(|c| c == class).expect("a class");
                (c, x)
            })
            .collect();
        let (w, bias) = train(&data, vocab.len(), k);
        let mut out = super::second_opinion::file_head(header, classes.iter().copied());
        out.push_str("bias");
        for b in &bias {
            out.push_str(&format!("\t{}", round(*b)));
        }
        out.push('\n');
        for (row, (gram, _)) in vocab.iter().enumerate() {
            out.push_str(gram);
            out.push_str(&format!("\t{}\t", round(idf[row])));
            let cells: Vec<String> = w[row * k..row * k + k].iter().map(|v| round(*v)).collect();
            out.push_str(&cells.join(" "));
            out.push('\n');
        }
        out
    }
}

/// Three decimals, no "-0" and no trailing zeros: the file stays small.
fn round(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        "0".to_string()
    } else {
        format!("{r}")
    }
}

/// Softmax regression by AdaGrad over the mail in a fixed shuffled order,
/// with an L2 penalty on the rows each mail touches.
fn train(data: &[(usize, Vec<(usize, f64)>)], rows: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut w = vec![0f64; rows * k];
    let mut g2 = vec![1e-8f64; rows * k];
    let mut bias = vec![0f64; k];
    let mut gb2 = vec![1e-8f64; k];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut p = vec![0f64; k];
    for _ in 0..EPOCHS {
        // Fisher-Yates with xorshift: the same order on every machine.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &d in &order {
            let (class, x) = &data[d];
            p.copy_from_slice(&bias);
            for &(row, v) in x {
                for (pc, wc) in p.iter_mut().zip(&w[row * k..row * k + k]) {
                    *pc += v * wc;
                }
            }
            softmax(&mut p);
            p[*class] -= 1.0;
            for &(row, v) in x {
                let rows = row * k..row * k + k;
                for ((wi, gi), pc) in w[rows.clone()].iter_mut().zip(&mut g2[rows]).zip(&p) {
                    let g = v * pc + L2 * *wi;
                    *gi += g * g;
                    *wi -= STEP * g / gi.sqrt();
                }
            }
            for ((b, gi), pc) in bias.iter_mut().zip(&mut gb2).zip(&p) {
                *gi += pc * pc;
                *b -= STEP * pc / gi.sqrt();
            }
        }
    }
    (w, bias)
}

/// The distinct n-grams of a text, for tests.
#[cfg(test)]
fn grams(subject: &str, new_text: &str) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    each_text_gram(subject, new_text, |_, g| {
        *out.entry(g.iter().collect()).or_default() += 1;
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_grams_stay_inside_padded_words() {
        let g = grams("", "Pago!! já");
        for want in [" p", "pa", "go ", " pago", "pago ", " ja", "ja "] {
            assert!(g.contains_key(want), "{want:?} in {g:?}");
        }
        assert!(!g.keys().any(|k| k.contains("o j")), "{g:?}");
    }

    #[test]
    fn votes_for_the_class_whose_words_it_has_seen_and_reloads_the_same() {
        let mut t = LinearTrainer::default();
        for (class, subject, body) in [
            ("payment", "payout", "when will I receive my money"),
            (
                "payment",
                "money",
                "I have not been paid, where is my money",
            ),
            (
                "payment",
                "",
                "my money has not arrived, when do I get paid",
            ),
            ("privacy", "delete", "please delete my data and my account"),
            ("privacy", "gdpr", "erase all my personal data"),
            ("privacy", "", "I want my data deleted under the gdpr"),
        ] {
            t.add(class, subject, body);
        }
        let text = t.write("test model");
        let m = LinearModel::parse(&text).expect("a written model parses");
        let v = m.vote("", "delete my personal data please");
        assert_eq!(v.topic, "privacy", "{v:?}");
        assert!(v.margin > 0.0 && v.margin <= 1.0, "{v:?}");
        assert_eq!(m.vote("question", "where is my money").topic, "payment");
        assert_eq!(m.vote("", "").margin, 0.0, "no known n-gram is no evidence");
        assert_eq!(t.write("test model"), text, "training is deterministic");
    }

    #[test]
    fn a_broken_file_names_its_line() {
        let e = LinearModel::parse("classes\ta\tb\nbias\t0\t0\nxy\t1.2\t0.5\n")
            .expect_err("one weight for two classes");
        assert_eq!(e.line, 3);
        let e = LinearModel::parse("bias\t0\t0\n").expect_err("no classes line");
        assert_eq!(e.line, 1);
    }
}
