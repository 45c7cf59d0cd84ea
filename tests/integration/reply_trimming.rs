//! Reply trimming measured: how often `new_text` is exactly what the person
//! wrote. Two sets, both printed as "exact N/M":
//! - the public fixtures of ../shared/corpus that come with an expected
//!   text (talon's standard replies; crisp's fixtures whose upstream test
//!   asserts the first fragment), read in place by path
//!   (`$HELPGATE_CORPUS`, default `../shared/corpus` beside the checkout);
//!   skipped with a notice when the corpus is absent;
//! - our own hand-written multilingual cases (tests/fixtures/parse/trimming),
//!   written from the kinds of misses issue 14 lists, never from its set.
//!
//! Neither may lose text: a new text must never be empty where the
//! expected one is not.

use crate::parse_corpus::{corpus, text_mail};
use helpgate::parse::parse;
use std::path::{Path, PathBuf};

/// Line ends trimmed, runs of blank lines collapsed, ends trimmed.
fn norm(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    let paragraphs: Vec<String> = lines
        .split(|l| l.is_empty())
        .filter(|p| !p.is_empty())
        .map(|p| p.join("\n"))
        .collect();
    paragraphs.join("\n\n")
}

struct Score {
    set: &'static str,
    cases: usize,
    exact: usize,
    misses: Vec<String>,
    emptied: Vec<String>,
}

impl Score {
    fn new(set: &'static str) -> Score {
        Score {
            set,
            cases: 0,
            exact: 0,
            misses: Vec::new(),
            emptied: Vec::new(),
        }
    }

    fn check(&mut self, name: &str, got: &str, want: &str) {
        self.cases += 1;
        let (got, want) = (norm(got), norm(want));
        if got == want {
            self.exact += 1;
            return;
        }
        if got.is_empty() && !want.is_empty() {
            self.emptied.push(name.to_string());
        }
        self.misses
            .push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
    }

    fn report(&self) -> f64 {
        let pct = 100.0 * self.exact as f64 / self.cases.max(1) as f64;
        eprintln!(
            "reply trimming, {}: exact {}/{} ({pct:.1} %), emptied {}",
            self.set,
            self.exact,
            self.cases,
            self.emptied.len()
        );
        for m in &self.misses {
            eprintln!("  miss {m}");
        }
        pct
    }
}

/// crisp fixtures whose upstream test asserts that the first fragment is
/// the common Lorem paragraph.
const CRISP_COMMON: &[&str] = &[
    "email_7",
    "email_8",
    "email_9",
    "email_10",
    "email_11",
    "email_12",
    "email_13",
    "email_14",
    "email_15",
    "email_16",
    "email_17",
    "email_18",
    "email_22",
    "email_23",
    "email_24",
    "email_25",
    "email_26",
    "email_portuguese",
    "email_german",
    "email_german_2",
    "email_german_3",
    "email_german_outlook",
    "email_norwegian_gmail",
    "email_finnish",
    "email_italian",
    "email_russian",
    "email_outlook_split_line_from",
    "email_gmail_split_line_from",
    "email_ios_outlook_fr",
    "email_ios_outlook",
    "email_msn",
    "email_fr_multiline",
    "email_french_2",
    "email_en_multiline_2",
    "email_original_message",
    "email_original_message_2",
    "email_danish_dash_separator",
    "email_french_dash_separator",
    "email_tricky_5_mixed_languages",
    "email_tricky_10_special_chars_in_name",
    "email_tricky_12_no_space_after_header",
    "email_tricky_14_long_quote_header",
    "email_tricky_15_original_message_variations",
];

const COMMON: &str = "Fusce bibendum, quam hendrerit sagittis tempor, dui turpis tempus erat, pharetra sodales ante sem sit amet metus.\nNulla malesuada, orci non vulputate lobortis, massa felis pharetra ex, convallis consectetur ex libero eget ante.\nNam vel turpis posuere, rhoncus ligula in, venenatis orci. Duis interdum venenatis ex a rutrum.\nDuis ut libero eu lectus consequat consequat ut vel lorem. Vestibulum convallis lectus urna,\net mollis ligula rutrum quis. Fusce sed odio id arcu varius aliquet nec nec nibh.";

/// crisp fixtures with an exact expected text upstream (the visible text
/// or first fragment; a trailing signature there is ours to split off).
const CRISP_EXACT: &[(&str, &str)] = &[
    ("email_1", "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\nrunning a test?\nI am currently using the Java HTTP API.\n\n-Abhishek Kona"),
    ("email_3", "Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona"),
    ("email_zoho", "What is the best way to clear a Riak bucket of all key, values after\nrunning a test?"),
    ("email_with_regards", "Hi,\n\nI still have the same problem....\n\nCan you help?"),
    ("email_sent_from", "Hi it can happen to any texts you type, as long as you type in between words or paragraphs."),
];

#[test]
fn reply_trimming_public_fixtures() {
    let Some(dir) = corpus() else { return };
    let mut score = Score::new("public fixtures (talon standard replies + crisp)");
    let talon = dir.join("mailgun-talon/tests/fixtures/standard_replies");
    let mut emls: Vec<PathBuf> = std::fs::read_dir(&talon)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    emls.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    emls.sort();
    for eml in &emls {
        let stem = eml.file_stem().expect("stem").to_string_lossy().to_string();
        let e = parse(&std::fs::read(eml).expect("readable"));
        let want = std::fs::read_to_string(talon.join(format!("{stem}_reply_text")))
            .unwrap_or_else(|_| "Hello".into());
        // talon strips quotations only, so its text keeps the signature.
        let got = match &e.body.signature {
            Some(sig) => format!("{}\n\n{sig}", e.body.new_text),
            None => e.body.new_text.clone(),
        };
        score.check(&format!("talon/{stem}"), &got, &want);
    }
    let crisp = dir.join("crisp-email-reply-parser/test/fixtures");
    let cases = CRISP_COMMON
        .iter()
        .map(|n| (*n, COMMON))
        .chain(CRISP_EXACT.iter().copied());
    for (name, want) in cases {
        let Ok(raw) = std::fs::read(crisp.join(format!("{name}.txt"))) else {
            score.check(&format!("crisp/{name} (missing)"), "", want);
            continue;
        };
        score.check(
            &format!("crisp/{name}"),
            &text_mail(&raw).body.new_text,
            want,
        );
    }
    let pct = score.report();
    assert_eq!(score.cases, 12 + CRISP_COMMON.len() + CRISP_EXACT.len());
    assert!(score.emptied.is_empty(), "emptied: {:?}", score.emptied);
    assert!(pct >= 85.0, "exact {pct:.1} % < 85 %");
}

/// tests/fixtures/parse/trimming/*.txt: a body, a line `~~~ expected`, and
/// the new text a person reads as written (`~~~ forwarded` may follow: the
/// first line the forwarded part must start with).
#[test]
fn reply_trimming_hand_written_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse/trimming");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("trimming fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut score = Score::new("hand-written multilingual cases");
    let mut forward_failures = Vec::new();
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).expect("utf-8 fixture");
        let (body, rest) = text.split_once("\n~~~ expected\n").expect("~~~ expected");
        let (want, forwarded) = match rest.split_once("\n~~~ forwarded\n") {
            Some((w, fw)) => (w, Some(fw.trim())),
            None => (rest, None),
        };
        let e = text_mail(body.as_bytes());
        score.check(&name, &e.body.new_text, want);
        if let Some(first) = forwarded {
            let ok = e
                .body
                .forwarded
                .as_deref()
                .is_some_and(|f| f.starts_with(first))
                && e.body.quoted.as_deref().is_none_or(|q| !q.contains(first));
            if !ok {
                forward_failures.push(format!(
                    "{name}: forwarded {:?}, quoted {:?}",
                    e.body.forwarded, e.body.quoted
                ));
            }
        }
    }
    let pct = score.report();
    assert!(score.cases >= 30, "only {} cases", score.cases);
    assert!(score.emptied.is_empty(), "emptied: {:?}", score.emptied);
    assert!(
        forward_failures.is_empty(),
        "{}",
        forward_failures.join("\n")
    );
    assert!(pct >= 95.0, "exact {pct:.1} %");
}

/// `tickets show --json`: a forward keeps the forwarder's words as new text
/// and the forwarded message whole in `forwarded`, not in `quoted`.
#[test]
fn forwarded_message_is_shown_apart_from_quoted_history() {
    use crate::common::{json_lines, path_str, Env};
    let env = Env::new();
    let mail = env.mail(
        "fwd.eml",
        "From: Ana <ana@example.net>\nTo: support@helpgate.example\nSubject: Fwd: bank details\nMessage-ID: <fwd-1@example.net>\n\nIs this mail really from you?\n\n---------- Forwarded message ---------\nFrom: Payments <pay@examp1e.com>\nDate: Tue, Mar 3, 2026 at 2:23 PM\nSubject: bank details\nTo: ana@example.net\n\nConfirm your bank details here.\n",
    );
    env.ok(&["ingest", path_str(&mail)]);
    let show = json_lines(&env.ok(&["tickets", "show", "1", "--json"]));
    let m = &show[0]["thread"][0];
    assert_eq!(m["new_text"], "Is this mail really from you?");
    assert_eq!(m["quoted"], serde_json::Value::Null);
    let fwd = m["forwarded"].as_str().expect("forwarded");
    assert!(fwd.starts_with("---------- Forwarded message"), "{fwd}");
    assert!(fwd.ends_with("Confirm your bank details here."), "{fwd}");
    let text = env.ok(&["tickets", "show", "1"]);
    assert!(text.contains("[forwarded message: 7 lines]"), "{text}");
}
