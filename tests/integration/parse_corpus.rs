//! The parser against the shared real-world corpus (`../shared/corpus`):
//! every file parses without panicking; stalwart-mail-parser's golden JSON
//! agrees on subject, From and body text (exceptions, with reasons, in
//! tests/fixtures/parse/stalwart_exceptions.tsv); talon's reply fixtures
//! give the expected new text; bounces are recognised.

use helpgate::parse::{parse, ParsedEmail};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The corpus: `$HELPGATE_CORPUS`, else `../shared/corpus` beside the
/// checkout (CI), else two levels up (a worktree under a `wt/` folder).
fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("HELPGATE_CORPUS").map(PathBuf::from),
        Some(root.join("../shared/corpus")),
        Some(root.join("../../shared/corpus")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("NOTICE: ../shared/corpus not found; corpus tests skipped");
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every non-empty line of `part` appears in `whole`, in order.
fn lines_within(part: &str, whole: &str) -> bool {
    let mut it = whole.lines().map(str::trim_end);
    part.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .all(|l| it.any(|w| w == l))
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_corpus_file_parses() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    assert!(!files.is_empty(), "corpus at {} is empty", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).expect("corpus file readable");
        let r = std::panic::catch_unwind(|| parse(&raw));
        match r {
            Err(_) => failures.push(format!("{}: panicked", f.display())),
            Ok(e) => {
                if e.message_id.is_empty() {
                    failures.push(format!("{}: empty message_id", f.display()));
                }
                if !lines_within(&e.body.new_text, &e.body.full) {
                    failures.push(format!("{}: new_text not within full", f.display()));
                }
                if e.content_hash != helpgate::parse::content_hash(&raw) || e.size != raw.len() {
                    failures.push(format!("{}: hash/size wrong", f.display()));
                }
            }
        }
    }
    eprintln!("parsed {} corpus files", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Documented differences from mail-parser's golden output: path -> field.
fn exceptions() -> HashMap<(String, String), String> {
    let table = include_str!("../fixtures/parse/stalwart_exceptions.tsv");
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.splitn(3, '\t');
            Some((
                (cols.next()?.to_string(), cols.next()?.to_string()),
                cols.next()?.to_string(),
            ))
        })
        .collect()
}

fn header<'a>(part: &'a Value, name: &str) -> Option<&'a Value> {
    part["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == name)
        .map(|h| &h["value"])
}

fn expected_from(part: &Value) -> Option<String> {
    let v = header(part, "from")?;
    let list = v["Address"]["List"].as_array().cloned().or_else(|| {
        v["Address"]["Group"].as_array().map(|groups| {
            groups
                .iter()
                .flat_map(|g| g["addresses"].as_array().cloned().unwrap_or_default())
                .collect()
        })
    })?;
    list.iter()
        .find_map(|a| a["address"].as_str())
        .map(str::to_string)
}

fn expected_text(json: &Value) -> Option<String> {
    let parts = json["parts"].as_array()?;
    let ids = json["text_body"].as_array()?;
    let mut out = String::new();
    for id in ids {
        let body = &parts[id.as_u64()? as usize]["body"];
        out.push_str(body["Text"].as_str()?);
    }
    Some(out)
}

#[test]
fn stalwart_golden_subject_from_body() {
    let Some(dir) = corpus() else { return };
    let base = dir.join("stalwart-mail-parser/resources/eml");
    let mut files = Vec::new();
    files_under(&base, &mut files);
    let exceptions = exceptions();
    let mut used = 0;
    let (mut cases, mut failures) = (0, Vec::new());
    for eml in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
    {
        let json_path = eml.with_extension("json");
        let Ok(json) = std::fs::read_to_string(&json_path) else {
            continue;
        };
        let json: Value = serde_json::from_str(&json).expect("golden json parses");
        let raw = std::fs::read(eml).expect("eml readable");
        let e = parse(&raw);
        let rel = eml
            .strip_prefix(&base)
            .expect("under base")
            .to_string_lossy()
            .replace('\\', "/");
        cases += 1;
        let mut check = |field: &str, ok: bool, detail: String| {
            let key = (rel.clone(), field.to_string());
            match (ok, exceptions.contains_key(&key)) {
                (false, false) => failures.push(format!("{rel} {field}: {detail}")),
                (_, true) => used += 1,
                (true, false) => {}
            }
        };
        let root = &json["parts"][0];
        let subject = header(root, "subject").and_then(|v| v["Text"].as_str());
        let want = subject.unwrap_or("").trim();
        check(
            "subject",
            squash(&e.subject) == squash(want),
            format!("got {:?}, want {want:?}", e.subject),
        );
        if let Some(want) = expected_from(root) {
            let got = e.from.as_ref().map(|a| a.email.to_lowercase());
            check(
                "from",
                got.as_deref() == Some(want.to_lowercase().as_str()),
                format!("got {got:?}, want {want:?}"),
            );
        }
        if let Some(want) = expected_text(&json) {
            check(
                "body",
                squash(&e.body.full) == squash(&want),
                format!(
                    "got {:?}, want {:?}",
                    e.body.full.chars().take(200).collect::<String>(),
                    want.chars().take(200).collect::<String>()
                ),
            );
        }
    }
    eprintln!("stalwart golden cases: {cases}, documented exceptions hit: {used}");
    assert!(cases >= 50, "only {cases} golden cases ran");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn talon_dir() -> Option<PathBuf> {
    Some(corpus()?.join("mailgun-talon/tests/fixtures"))
}

#[test]
fn talon_standard_replies_new_text() {
    let Some(dir) = talon_dir() else { return };
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut files = Vec::new();
    files_under(&dir.join("standard_replies"), &mut files);
    for eml in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
    {
        let e = parse(&std::fs::read(eml).expect("readable"));
        let stem = eml.file_stem().expect("stem").to_string_lossy();
        let want = std::fs::read_to_string(dir.join(format!("standard_replies/{stem}_reply_text")))
            .unwrap_or_else(|_| "Hello".into());
        // talon strips quotations only: our new text plus the signature.
        let got = format!(
            "{}\n{}",
            e.body.new_text,
            e.body.signature.clone().unwrap_or_default()
        );
        cases += 1;
        if squash(&got) != squash(&want) {
            failures.push(format!("{stem}: got {got:?}, want {want:?}"));
        }
    }
    assert_eq!(cases, 12, "talon standard replies");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn html_mail(html: &str) -> ParsedEmail {
    let raw = format!(
        "From: a@b.c\r\nMessage-ID: <x@y>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
    );
    parse(raw.as_bytes())
}

#[test]
fn talon_html_replies_new_text() {
    let Some(dir) = talon_dir() else { return };
    let mut files = Vec::new();
    files_under(&dir.join("html_replies"), &mut files);
    let mut failures = Vec::new();
    for f in &files {
        let html = String::from_utf8_lossy(&std::fs::read(f).expect("readable")).into_owned();
        let e = html_mail(&html);
        let got = format!(
            "{}{}",
            e.body.new_text,
            e.body.signature.clone().unwrap_or_default()
        );
        if squash(&got) != "Hi.Iamfine.Thanks,Alex" {
            failures.push(format!("{}: got {got:?}", f.display()));
        }
    }
    assert!(
        files.len() >= 9,
        "talon html replies found: {}",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bounces_are_recognised() {
    let Some(dir) = corpus() else { return };
    let not_bounces = [
        "aol-vacation.msg",
        "polish-autoreply.msg",
        "bluebottle.msg",
        "boxbe-cr.msg",
        "boxbe-cr2.msg",
        "whitelist.msg",
        "autoreply.msg",
        "warning-6.msg",
        // Spam and a virus mail that upstream keeps as non-bounces.
        "spam-bogus-email-in-report.msg",
        "spam-lots-of-bogus-addresses.msg",
        "spam-with-badly-parsed-email.msg",
        "spam-with-image.msg",
        "virus-caused-multiple-weird-reports.msg",
    ];
    let mut files = Vec::new();
    files_under(&dir.join("bounceparser"), &mut files);
    files_under(
        &dir.join("mailgun-flanker/tests/fixtures/messages/bounce"),
        &mut files,
    );
    let (mut bounces, mut missed) = (0, Vec::new());
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        if not_bounces.contains(&name.as_str()) {
            continue;
        }
        bounces += 1;
        let e = parse(&std::fs::read(f).expect("readable"));
        if e.delivery_report.is_none() {
            missed.push(name);
        }
    }
    eprintln!("bounces: {bounces}, missed: {}", missed.len());
    // And human mail (and auto-replies, which are not bounces) is not one.
    let mut human = Vec::new();
    files_under(&dir.join("redmine"), &mut human);
    files_under(
        &dir.join("mailgun-talon/tests/fixtures/standard_replies"),
        &mut human,
    );
    // Auto-replies; the challenge/response and whitelist notices upstream
    // calls non-bounces are built as DSNs, so a report for them is right.
    let auto_replies = [
        "aol-vacation.msg",
        "polish-autoreply.msg",
        "bluebottle.msg",
        "autoreply.msg",
        "warning-6.msg",
    ];
    human.extend(auto_replies.iter().filter_map(|n| {
        ["t/corpus", "xt/corpus"]
            .iter()
            .map(|d| dir.join("bounceparser").join(d).join(n))
            .find(|p| p.is_file())
    }));
    let false_positives: Vec<String> = human
        .iter()
        .filter(|f| {
            parse(&std::fs::read(f).expect("readable"))
                .delivery_report
                .is_some()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(human.len() > 60, "human mails found: {}", human.len());
    assert!(
        false_positives.is_empty(),
        "not bounces: {false_positives:?}"
    );
    assert!(bounces > 100);
    assert!(missed.is_empty(), "missed bounces: {missed:?}");
}
