//! Held-out end-to-end evaluation: ~200 realistic mails (13 languages, real
//! client header shapes and charsets, bounces, out-of-office, lists, spam,
//! follow-ups) in `tests/fixtures/e2e/maildir`, labelled in
//! `tests/fixtures/e2e/expected.tsv`. The set was written without looking at
//! the rules, so its accuracy is an honest estimate of what participants'
//! real mail will get.
//!
//! Run with the report: `cargo test --test integration e2e_eval -- --nocapture`.
//!
//! Hard assertions (always): every file is stored; no machine mail, no
//! sensitive mail (appeal/privacy/abuse) and no mail failing SPF/DMARC gets
//! `auto_reply`; follow-ups join their thread. Accuracy is asserted only
//! against floors measured on main ([`FLOOR`]); [`TARGET`] is what we aim for.

use crate::common::{path_str, Env, Tally};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Accuracy (percent) that the shipped classifier should reach on this set.
/// Below it the test prints a loud "BELOW TARGET" summary but still passes.
const TARGET: Accuracy = Accuracy {
    language: 97.0,
    topic: 90.0,
    action: 93.0,
    threading: 100.0,
    // Not in the targets: every appeal/privacy/abuse mail should reach
    // a person at once; a missed self-harm hint is the costliest error.
    escalation: 100.0,
};

/// What current main reaches, minus a small margin: a drop below this fails
/// the test. The lead raises these as classification improves.
///
/// Measured on main after the generalization pass (classify2), 217 mails:
/// language 99.5 %, topic 96.8 %, action 96.8 %, threading 100 %,
/// escalation 96.1 % (49/51). (First rules cut: 99.5 / 88.9 / 92.6 / 100 /
/// 86.3.)
const FLOOR: Accuracy = Accuracy {
    language: 98.0,
    topic: 94.0,
    action: 94.0,
    threading: 100.0,
    escalation: 94.0,
};

#[derive(Debug, Clone, Copy)]
struct Accuracy {
    language: f64,
    topic: f64,
    action: f64,
    threading: f64,
    /// Share of appeal/privacy/abuse mails (follow-ups too) escalated.
    escalation: f64,
}

const SENSITIVE: [&str; 3] = ["appeal", "privacy", "abuse"];
const MACHINE: [&str; 4] = ["bounce", "autoreply", "list", "spam"];

/// One row of expected.tsv.
#[derive(Debug)]
struct Row {
    file: String,
    language: String,
    topic: String,
    action: String,
    thread_of: String,
    message_id: String,
    auth_failed: bool,
}

impl Row {
    fn is_machine(&self) -> bool {
        MACHINE.contains(&self.topic.as_str())
    }
}

fn fixture() -> PathBuf {
    crate::common::repo().join("tests/fixtures/e2e")
}

/// The unfolded header section of a raw mail, as lossy text.
fn headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let head = text.split("\n\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

fn read_rows(maildir: &Path) -> Vec<Row> {
    let tsv = std::fs::read_to_string(fixture().join("expected.tsv")).unwrap();
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad expected.tsv line {l:?}");
            let raw = std::fs::read(maildir.join("new").join(f[0]))
                .unwrap_or_else(|e| panic!("{}: {e}", f[0]));
            let h = headers(&raw);
            let message_id = h
                .iter()
                .find(|(k, _)| k == "message-id")
                .map(|(_, v)| v.trim().trim_start_matches('<').trim_end_matches('>'))
                .unwrap_or_else(|| panic!("{} has no Message-ID", f[0]))
                .to_string();
            let auth_failed =
                h.iter()
                    .filter(|(k, _)| k == "authentication-results")
                    .any(|(_, v)| {
                        let v = v.to_ascii_lowercase();
                        v.contains("dmarc=fail")
                            || v.contains("spf=fail")
                            || v.contains("spf=softfail")
                    });
            Row {
                file: f[0].to_string(),
                language: f[1].to_string(),
                topic: f[2].to_string(),
                action: f[3].to_string(),
                thread_of: f[4].to_string(),
                message_id,
                auth_failed,
            }
        })
        .collect()
}

fn copy_maildir(from: &Path, to: &Path) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for e in std::fs::read_dir(from.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(sub).join(e.file_name())).unwrap();
        }
    }
}

/// "pt-BR" -> "pt"; absent -> "".
fn primary(lang: Option<&str>) -> String {
    lang.unwrap_or("")
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[test]
fn e2e_eval_held_out_mail() {
    let env = Env::new();
    let maildir = env.dir.path().join("maildir");
    copy_maildir(&fixture().join("maildir"), &maildir);
    let rows = read_rows(&maildir);
    assert!(
        rows.len() >= 150,
        "expected.tsv has only {} rows",
        rows.len()
    );
    // The set was received by mx1.helpgate.example, which wrote the
    // Authentication-Results its mails carry: this site trusts those.
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(&config, "[trust]\nauthserv_id = \"mx1.helpgate.example\"\n").unwrap();
    env.ok(&["--config", path_str(&config), "ingest", path_str(&maildir)]);
    let msgs = env.messages();

    // Hard: every file is stored, once, under its Message-ID.
    assert_eq!(
        msgs.len(),
        rows.len(),
        "every mail of the set must be stored"
    );
    let by_id: HashMap<&str, &serde_json::Value> = msgs
        .iter()
        .map(|m| (m["message_id"].as_str().unwrap(), m))
        .collect();
    let got: Vec<&serde_json::Value> = rows
        .iter()
        .map(|r| {
            *by_id
                .get(r.message_id.as_str())
                .unwrap_or_else(|| panic!("{} ({}) was not stored", r.file, r.message_id))
        })
        .collect();
    let ticket_of: HashMap<&str, Option<i64>> = rows
        .iter()
        .zip(&got)
        .map(|(r, m)| (r.file.as_str(), m["ticket"].as_i64()))
        .collect();

    let mut lang = Tally::default();
    let mut topic = Tally::default();
    let mut action = Tally::default();
    let mut thread = Tally::default();
    let mut escalation = Tally::default();
    let mut per_lang: BTreeMap<String, [Tally; 3]> = BTreeMap::new();
    let mut per_topic: BTreeMap<String, [Tally; 2]> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut hard = Vec::new();
    // Tickets of first messages, to catch two conversations merged into one.
    let mut first_tickets: HashMap<i64, Vec<&str>> = HashMap::new();
    for (r, m) in rows.iter().zip(&got) {
        if r.thread_of == "-" && !r.is_machine() {
            if let Some(t) = m["ticket"].as_i64() {
                first_tickets.entry(t).or_default().push(&r.file);
            }
        }
    }

    for (r, m) in rows.iter().zip(&got) {
        let g_lang = primary(m["language"].as_str());
        let g_topic = m["topic"].as_str().unwrap_or("-");
        let g_action = m["action"].as_str().unwrap_or("-");
        let reason = m["reason"].as_str().unwrap_or("");
        let mut diffs: Vec<String> = Vec::new();
        let mut miss = |what: &str, exp: &str, got: &str| {
            *kinds.entry(format!("{what}: {exp} -> {got}")).or_default() += 1;
            diffs.push(format!("{what} {exp}->{got}"));
        };

        let lang_ok = r.language == "-" || g_lang == r.language;
        if r.language != "-" {
            lang.add(lang_ok);
            if !lang_ok {
                miss(
                    "language",
                    &r.language,
                    if g_lang.is_empty() { "-" } else { &g_lang },
                );
            }
        }
        let topic_ok = g_topic == r.topic;
        topic.add(topic_ok);
        if !topic_ok {
            miss("topic", &r.topic, g_topic);
        }
        let action_ok = g_action == r.action;
        if SENSITIVE.contains(&r.topic.as_str()) {
            escalation.add(g_action == "escalate");
        }
        action.add(action_ok);
        if !action_ok {
            miss("action", &r.action, g_action);
        }
        if r.language != "-" {
            let e = per_lang.entry(r.language.clone()).or_default();
            e[0].add(lang_ok);
            e[1].add(topic_ok);
            e[2].add(action_ok);
        }
        let e = per_topic.entry(r.topic.clone()).or_default();
        e[0].add(topic_ok);
        e[1].add(action_ok);

        // Threading: follow-ups join the first message's ticket; first
        // messages of participants get a ticket of their own.
        let my_ticket = m["ticket"].as_i64();
        if r.thread_of != "-" {
            let want = ticket_of[r.thread_of.as_str()];
            let ok = my_ticket.is_some() && my_ticket == want;
            thread.add(ok);
            if !ok {
                miss("thread", &format!("{want:?}"), &format!("{my_ticket:?}"));
                hard.push(format!(
                    "{} did not join the thread of {}",
                    r.file, r.thread_of
                ));
            }
        } else if !r.is_machine() {
            let ok = my_ticket.is_some_and(|t| first_tickets[&t].len() == 1);
            thread.add(ok);
            if !ok {
                miss("thread", "own ticket", &format!("{my_ticket:?}"));
            }
        }

        if !diffs.is_empty() {
            let subject: String = m["subject"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect();
            mismatches.push(format!(
                "  {} [{}] {subject:?}: {} ({reason})",
                r.file,
                r.language,
                diffs.join("; ")
            ));
        }
        if g_action == "auto_reply" {
            if r.is_machine() {
                hard.push(format!(
                    "{}: machine mail ({}) got auto_reply",
                    r.file, r.topic
                ));
            }
            if SENSITIVE.contains(&r.topic.as_str()) {
                hard.push(format!(
                    "{}: sensitive mail ({}) got auto_reply",
                    r.file, r.topic
                ));
            }
            if r.auth_failed {
                hard.push(format!(
                    "{}: SPF/DMARC-failing sender got auto_reply",
                    r.file
                ));
            }
        }
    }

    let measured = Accuracy {
        language: lang.pct(),
        topic: topic.pct(),
        action: action.pct(),
        threading: thread.pct(),
        escalation: escalation.pct(),
    };
    println!("\n=== e2e held-out evaluation: {} mails ===", rows.len());
    println!(
        "language {:5.1}% ({}/{})  topic {:5.1}% ({}/{})  action {:5.1}% ({}/{})  threading {:5.1}% ({}/{})",
        measured.language,
        lang.hit,
        lang.n,
        measured.topic,
        topic.hit,
        topic.n,
        measured.action,
        action.hit,
        action.n,
        measured.threading,
        thread.hit,
        thread.n
    );
    println!(
        "escalation of sensitive mail (appeal/privacy/abuse) {:5.1}% ({}/{})",
        measured.escalation, escalation.hit, escalation.n
    );
    println!("\nper language        n   language  topic   action");
    for (l, [a, b, c]) in &per_lang {
        println!(
            "  {l:<14} {:>4}   {:6.1}%  {:6.1}%  {:6.1}%",
            a.n,
            a.pct(),
            b.pct(),
            c.pct()
        );
    }
    println!("\nper topic            n   topic   action");
    for (t, [a, b]) in &per_topic {
        println!("  {t:<18} {:>3}  {:6.1}%  {:6.1}%", a.n, a.pct(), b.pct());
    }
    let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("\nmost frequent mismatch kinds:");
    for (k, n) in kinds.iter().take(15) {
        println!("  {n:>4}  {k}");
    }
    println!("\nmismatches ({}):", mismatches.len());
    for m in &mismatches {
        println!("{m}");
    }

    let below: Vec<String> = [
        ("language", measured.language, TARGET.language),
        ("topic", measured.topic, TARGET.topic),
        ("action", measured.action, TARGET.action),
        ("threading", measured.threading, TARGET.threading),
        ("escalation", measured.escalation, TARGET.escalation),
    ]
    .iter()
    .filter(|(_, m, t)| m < t)
    .map(|(n, m, t)| format!("{n} {m:.1}% < target {t:.0}%"))
    .collect();
    if !below.is_empty() {
        println!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        println!("!!! BELOW TARGET: {}", below.join(", "));
        println!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    }

    assert!(
        hard.is_empty(),
        "hard guarantees broken:\n{}",
        hard.join("\n")
    );
    for (name, m, floor) in [
        ("language", measured.language, FLOOR.language),
        ("topic", measured.topic, FLOOR.topic),
        ("action", measured.action, FLOOR.action),
        ("threading", measured.threading, FLOOR.threading),
        ("escalation", measured.escalation, FLOOR.escalation),
    ] {
        assert!(
            m >= floor,
            "{name} accuracy {m:.1}% fell below the floor {floor:.1}% measured on main"
        );
    }
}

#[test]
fn e2e_set_is_balanced_and_well_formed() {
    let rows = read_rows(&fixture().join("maildir"));
    let mut per_lang: HashMap<&str, usize> = HashMap::new();
    let mut per_topic: HashMap<&str, usize> = HashMap::new();
    let files: HashMap<&str, &Row> = rows.iter().map(|r| (r.file.as_str(), r)).collect();
    let mut names: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    let listed = names.clone();
    names.sort_unstable();
    assert_eq!(
        names, listed,
        "expected.tsv must list files in ingestion order"
    );
    let on_disk = std::fs::read_dir(fixture().join("maildir/new"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(
        on_disk,
        rows.len(),
        "every file in maildir/new is in expected.tsv"
    );
    for (i, r) in rows.iter().enumerate() {
        *per_lang.entry(&r.language).or_default() += 1;
        *per_topic.entry(&r.topic).or_default() += 1;
        assert_eq!(r.is_machine(), r.language == "-", "{}", r.file);
        assert_eq!(r.is_machine(), r.action == "ignore", "{}", r.file);
        if r.thread_of != "-" {
            let first = files
                .get(r.thread_of.as_str())
                .unwrap_or_else(|| panic!("{}: unknown thread_of", r.file));
            assert_eq!(
                first.thread_of, "-",
                "{}: thread_of names a first message",
                r.file
            );
            let at = rows.iter().position(|x| x.file == r.thread_of).unwrap();
            assert!(at < i, "{}: its thread starts later", r.file);
        }
    }
    for (l, n) in &per_lang {
        assert!(*l == "-" || *n >= 8, "language {l} has only {n} mails");
    }
    assert_eq!(per_lang.len(), 14, "13 languages plus machine mail");
    for t in [
        "payment",
        "upload_confirmation",
        "instructions",
        "rejection_dispute",
        "account",
        "privacy",
        "appeal",
        "abuse",
        "other",
    ] {
        assert!(per_topic.get(t).copied().unwrap_or(0) >= 12, "topic {t}");
    }
    assert!(rows.iter().filter(|r| r.is_machine()).count() >= 30);
    assert!(rows.iter().filter(|r| r.thread_of != "-").count() >= 20);
    assert!(
        rows.iter()
            .filter(|r| r.auth_failed && !r.is_machine())
            .count()
            >= 5
    );
}
