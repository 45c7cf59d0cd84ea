//! Scores the real pipeline on a labelled set kept outside the repository,
//! in the format of `../shared/labelled-mail` (`emails/NNN.eml` in arrival
//! order, `labels.csv` with `file,language,topic,action,thread_of,notes`,
//! and a README table mapping the ticket tokens of the run the set was
//! written against to thread roots).
//!
//! ```sh
//! HELPGATE_LABELLED=../shared/labelled-mail cargo test --test integration labelled_eval -- --nocapture
//! ```
//!
//! The set is split deterministically by conversation (a hash of the
//! thread root's file name) into a dev part (~70 %) that rules are tuned on
//! and an eval part (~30 %) that is only scored: its misses are counted,
//! never listed. `HELPGATE_LABELLED_SPLIT=none` scores an unseen set as one
//! part and lists every miss. Without `HELPGATE_LABELLED` the test does
//! nothing (the set is not in the repository, on purpose).
//!
//! Mail is fed through `helpgate ingest` one arrival group at a time; before
//! a mail that carries a mapped ticket token, the token is rewritten to the
//! ticket its thread root got here (what pre-seeding ticket numbers would
//! do), in a temporary copy.
//!
//! Hard (always asserted): no automatic answer to machine mail, spam or
//! sensitive mail (appeal, privacy, abuse), and every file is stored.
//! `HELPGATE_LABELLED_STRICT=1` also asserts the issue's goals (topic >= 95 %,
//! action >= 97 %, sensitive recall 100 %) on every part.

use crate::common::{path_str, Env, Tally};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const SENSITIVE: [&str; 3] = ["appeal", "privacy", "abuse"];
const MACHINE: [&str; 4] = ["bounce", "autoreply", "list", "spam"];

/// Share of conversations (in tenths) that fall in the dev part.
const DEV_TENTHS: u64 = 7;

#[derive(Debug, Clone)]
struct Label {
    file: String,
    language: String,
    topic: String,
    action: String,
    thread_of: String,
}

impl Label {
    fn is_machine(&self) -> bool {
        MACHINE.contains(&self.topic.as_str())
    }
}

fn read_labels(set: &Path) -> Vec<Label> {
    let csv = std::fs::read_to_string(set.join("labels.csv")).expect("labels.csv");
    let mut lines = csv.lines();
    let header = crate::common::csv_fields(lines.next().expect("a header line"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("labels.csv has no column {name}"))
    };
    let (f, l, t, a, th) = (
        col("file"),
        col("language"),
        col("topic"),
        col("action"),
        col("thread_of"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let r = crate::common::csv_fields(line);
            Label {
                file: r[f].clone(),
                language: r[l].clone(),
                topic: r[t].clone(),
                action: r[a].clone(),
                thread_of: r[th].clone(),
            }
        })
        .collect()
}

/// `| [#4101] | 001.eml |` rows of the set's README: token number -> root file.
fn token_map(set: &Path) -> HashMap<String, String> {
    let readme = std::fs::read_to_string(set.join("README.md")).unwrap_or_default();
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let tok = cells.get(1)?.strip_prefix("[#")?.strip_suffix(']')?;
            let file = cells.get(2)?;
            (tok.bytes().all(|b| b.is_ascii_digit()) && file.ends_with(".eml"))
                .then(|| (tok.to_string(), file.to_string()))
        })
        .collect()
}

fn message_id(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let head = text.split("\n\n").next()?.to_string();
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("message-id") {
                let mut v = v.trim().to_string();
                while lines.peek().is_some_and(|n| n.starts_with([' ', '\t'])) {
                    v.push_str(lines.next().unwrap_or("").trim());
                }
                return Some(v.trim_start_matches('<').trim_end_matches('>').to_string());
            }
        }
    }
    None
}

/// Stable across platforms and Rust versions (FNV-1a), unlike `DefaultHasher`.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The first file of a mail's conversation.
fn root<'a>(labels: &'a HashMap<&str, &Label>, file: &'a str) -> &'a str {
    let mut cur = file;
    for _ in 0..50 {
        match labels.get(cur).map(|l| l.thread_of.as_str()) {
            Some(prev) if !prev.is_empty() && prev != "-" => cur = prev,
            _ => break,
        }
    }
    cur
}

/// Scores of one part of the set.
#[derive(Default)]
struct Part {
    mails: usize,
    language: Tally,
    /// Participant mail only, as the issue counts it.
    topic: Tally,
    action: Tally,
    threading: Tally,
    sensitive_recall: Tally,
    /// Machine mail that got a language.
    machine_language: usize,
    forbidden: Vec<String>,
    /// `auto_reply` given / right.
    auto_given: usize,
    auto_right: usize,
    kinds: BTreeMap<String, usize>,
    misses: Vec<String>,
}

impl Part {
    fn print(&self, name: &str, detail: bool) {
        println!("\n=== {name}: {} mails ===", self.mails);
        println!(
            "language {}  topic {}  action {}",
            self.language.show(),
            self.topic.show(),
            self.action.show()
        );
        println!(
            "threading {}  sensitive recall {}  auto_reply precision {}/{}",
            self.threading.show(),
            self.sensitive_recall.show(),
            self.auto_right,
            self.auto_given
        );
        println!(
            "forbidden auto-replies (machine, spam or sensitive mail): {}; machine mail with a language: {}",
            self.forbidden.len(),
            self.machine_language
        );
        let mut kinds: Vec<_> = self.kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        println!("miss kinds:");
        for (k, n) in kinds {
            println!("  {n:>3}  {k}");
        }
        if detail {
            println!("misses:");
            for m in &self.misses {
                println!("{m}");
            }
            for f in &self.forbidden {
                println!("  FORBIDDEN {f}");
            }
        }
    }
}

#[test]
fn labelled_eval() {
    let Some(set) = std::env::var_os("HELPGATE_LABELLED").map(PathBuf::from) else {
        println!("HELPGATE_LABELLED is not set: no labelled set to score");
        return;
    };
    let split = std::env::var("HELPGATE_LABELLED_SPLIT").map_or(true, |v| v != "none");
    let labels = read_labels(&set);
    assert!(!labels.is_empty(), "labels.csv lists no mail");
    let tokens = token_map(&set);
    let by_file: HashMap<&str, &Label> = labels.iter().map(|l| (l.file.as_str(), l)).collect();

    let env = Env::new();
    let copy = env.dir.path().join("mail");
    std::fs::create_dir_all(&copy).unwrap();
    let token_re = regex::Regex::new(r"\[#(\d{1,18})\]").unwrap();
    let mut ticket_of_file: HashMap<String, Option<i64>> = HashMap::new();
    let mut mid_of_file: HashMap<String, String> = HashMap::new();
    let mut pending: Vec<PathBuf> = Vec::new();
    let flush = |pending: &mut Vec<PathBuf>,
                 ticket_of_file: &mut HashMap<String, Option<i64>>,
                 mid_of_file: &HashMap<String, String>| {
        if pending.is_empty() {
            return;
        }
        let mut args = vec!["ingest"];
        args.extend(pending.iter().map(|p| path_str(p)));
        env.ok(&args);
        pending.clear();
        let by_mid: HashMap<String, Option<i64>> = env
            .messages()
            .iter()
            .map(|m| {
                (
                    m["message_id"].as_str().unwrap_or("").to_string(),
                    m["ticket"].as_i64(),
                )
            })
            .collect();
        for (file, mid) in mid_of_file {
            if let Some(t) = by_mid.get(mid) {
                ticket_of_file.insert(file.clone(), *t);
            }
        }
    };
    for l in &labels {
        let raw = std::fs::read(set.join("emails").join(&l.file))
            .unwrap_or_else(|e| panic!("{}: {e}", l.file));
        let text = String::from_utf8_lossy(&raw);
        let mapped: Vec<(String, String)> = token_re
            .captures_iter(&text)
            .filter_map(|c| {
                let root = tokens.get(&c[1])?;
                Some((c[0].to_string(), root.clone()))
            })
            .collect();
        // Tokens hide in encoded words too ("=?utf-8?b?...?="): look in
        // the decoded subject, and write a changed subject back as UTF-8.
        let subject = helpgate::parse::parse(&raw).subject;
        let in_subject: Vec<(String, String)> = token_re
            .captures_iter(&subject)
            .filter_map(|c| Some((c[0].to_string(), tokens.get(&c[1])?.clone())))
            .collect();
        let mut bytes = raw.clone();
        if !mapped.is_empty() || !in_subject.is_empty() {
            flush(&mut pending, &mut ticket_of_file, &mid_of_file);
            let here = |root: &str| ticket_of_file.get(root).copied().flatten();
            for (tok, root) in mapped {
                if let Some(t) = here(&root) {
                    bytes = replace(&bytes, tok.as_bytes(), format!("[#{t}]").as_bytes());
                }
            }
            let mut new_subject = subject.clone();
            for (tok, root) in &in_subject {
                if let Some(t) = here(root) {
                    new_subject = new_subject.replace(tok, &format!("[#{t}]"));
                }
            }
            if new_subject != subject {
                bytes = with_subject(&bytes, &new_subject);
            }
        }
        let mid = message_id(&raw).unwrap_or_else(|| panic!("{} has no Message-ID", l.file));
        mid_of_file.insert(l.file.clone(), mid);
        let path = copy.join(&l.file);
        std::fs::write(&path, &bytes).unwrap();
        pending.push(path);
    }
    flush(&mut pending, &mut ticket_of_file, &mid_of_file);

    let msgs = env.messages();
    let by_mid: HashMap<&str, &serde_json::Value> = msgs
        .iter()
        .map(|m| (m["message_id"].as_str().unwrap_or(""), m))
        .collect();
    // First messages' tickets, to catch two conversations merged into one.
    let mut firsts_per_ticket: HashMap<i64, usize> = HashMap::new();
    for l in &labels {
        if l.thread_of.is_empty() && !l.is_machine() {
            if let Some(Some(t)) = ticket_of_file.get(&l.file) {
                *firsts_per_ticket.entry(*t).or_default() += 1;
            }
        }
    }

    let mut parts: BTreeMap<&str, Part> = BTreeMap::new();
    let mut missing = Vec::new();
    for l in &labels {
        let part_name = if !split {
            "all"
        } else if fnv(root(&by_file, &l.file)) % 10 < DEV_TENTHS {
            "dev"
        } else {
            "eval"
        };
        let part = parts.entry(part_name).or_default();
        part.mails += 1;
        let Some(m) = by_mid.get(mid_of_file[&l.file].as_str()) else {
            missing.push(l.file.clone());
            continue;
        };
        let g_lang = m["language"].as_str().unwrap_or("-");
        let g_topic = m["topic"].as_str().unwrap_or("-");
        let g_action = m["action"].as_str().unwrap_or("-");
        let mut diffs = Vec::new();
        let mut miss = |part: &mut Part, what: &str, exp: &str, got: &str| {
            *part
                .kinds
                .entry(format!("{what}: {exp} -> {got}"))
                .or_default() += 1;
            diffs.push(format!("{what} {exp}->{got}"));
        };
        if l.is_machine() {
            if g_lang != "-" {
                part.machine_language += 1;
            }
        } else {
            let ok = g_lang == l.language;
            part.language.add(ok);
            if !ok {
                miss(part, "language", &l.language, g_lang);
            }
            let ok = g_topic == l.topic;
            part.topic.add(ok);
            if !ok {
                miss(part, "topic", &l.topic, g_topic);
            }
        }
        let ok = g_action == l.action;
        part.action.add(ok);
        if !ok {
            miss(part, "action", &l.action, g_action);
        }
        if SENSITIVE.contains(&l.topic.as_str()) {
            part.sensitive_recall.add(g_action == "escalate");
        }
        if g_action == "auto_reply" {
            part.auto_given += 1;
            part.auto_right += usize::from(l.action == "auto_reply");
            if l.is_machine() || SENSITIVE.contains(&l.topic.as_str()) {
                part.forbidden
                    .push(format!("{} ({}) got auto_reply", l.file, l.topic));
            }
        }
        let mine = ticket_of_file.get(&l.file).copied().flatten();
        if !l.thread_of.is_empty() {
            let want = ticket_of_file.get(&l.thread_of).copied().flatten();
            let ok = mine.is_some() && mine == want;
            part.threading.add(ok);
            if !ok {
                miss(part, "thread", "joined", "not joined");
            }
        } else if !l.is_machine() {
            let ok = mine.is_some_and(|t| firsts_per_ticket.get(&t) == Some(&1));
            part.threading.add(ok);
            if !ok {
                miss(part, "thread", "own ticket", "merged or none");
            }
        }
        if !diffs.is_empty() {
            let subject: String = m["subject"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(50)
                .collect();
            part.misses.push(format!(
                "  {} [{}] {subject:?}: {} ({})",
                l.file,
                l.language,
                diffs.join("; "),
                m["reason"].as_str().unwrap_or("")
            ));
        }
    }
    for (name, part) in &parts {
        // The eval part is only ever scored: listing its misses would turn
        // it into a second dev part.
        part.print(name, *name != "eval");
    }

    assert!(missing.is_empty(), "not stored: {missing:?}");
    for (name, part) in &parts {
        assert!(
            part.forbidden.is_empty(),
            "{name}: automatic answers that must never happen: {} (run with --nocapture)",
            part.forbidden.len()
        );
    }
    if std::env::var_os("HELPGATE_LABELLED_STRICT").is_some() {
        for (name, part) in &parts {
            for (what, got, goal) in [
                ("topic", part.topic.pct(), 95.0),
                ("action", part.action.pct(), 97.0),
                ("sensitive recall", part.sensitive_recall.pct(), 100.0),
            ] {
                assert!(got >= goal, "{name}: {what} {got:.1} % < {goal} %");
            }
        }
    }
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len() + 8);
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// `raw` with its Subject header replaced by `subject`, as an RFC 2047
/// UTF-8 word.
fn with_subject(raw: &[u8], subject: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::new();
    let mut in_subject = false;
    let mut in_head = true;
    for line in text.split_inclusive('\n') {
        if in_head && line.trim_end().is_empty() {
            in_head = false;
        }
        if in_head && line.len() > 8 && line[..8].eq_ignore_ascii_case("subject:") {
            in_subject = true;
            out.push_str(&format!(
                "Subject: =?utf-8?b?{}?={nl}",
                base64(subject.as_bytes())
            ));
            continue;
        }
        if in_subject && in_head && line.starts_with([' ', '\t']) {
            continue;
        }
        in_subject = false;
        out.push_str(line);
    }
    if String::from_utf8(raw.to_vec()).is_ok() {
        out.into_bytes()
    } else {
        // A legacy 8-bit body: keep its bytes, change only the header block.
        let raw_end =
            find_bytes(raw, format!("{nl}{nl}").as_bytes()).map_or(0, |i| i + 2 * nl.len());
        let new_head_end = out
            .find(&format!("{nl}{nl}"))
            .map_or(0, |i| i + 2 * nl.len());
        let mut v = out.as_bytes()[..new_head_end].to_vec();
        v.extend_from_slice(&raw[raw_end..]);
        v
    }
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
