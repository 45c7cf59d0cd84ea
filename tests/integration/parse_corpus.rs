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
pub(crate) fn corpus() -> Option<PathBuf> {
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

/// A folder of the corpus and the files under it, sorted.
fn corpus_folder(sub: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = corpus()?.join(sub);
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    Some((dir, files))
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
    // The three single fixtures: a Mac Outlook marker, a reply above an
    // <hr> header block, and quotations sharing a block with the reply.
    let read = |n: &str| std::fs::read(dir.join(n)).expect("talon fixture");
    let olk = html_mail(&String::from_utf8_lossy(&read("OLK_SRC_BODY_SECTION.html")));
    if olk.body.new_text != "Reply" {
        failures.push(format!("OLK_SRC_BODY_SECTION: {:?}", olk.body.new_text));
    }
    let hr = html_mail(&String::from_utf8_lossy(&read(
        "reply-separated-by-hr.html",
    )));
    if !hr.body.new_text.starts_with("Hi\nthere") || hr.body.new_text.contains("From") {
        failures.push(format!("reply-separated-by-hr: {:?}", hr.body.new_text));
    }
    let shared = parse(&read("reply-quotations-share-block.eml"));
    if shared.body.new_text.contains("From") || !shared.body.new_text.starts_with("Hi Katharine") {
        failures.push(format!(
            "reply-quotations-share-block: {:?}",
            shared.body.new_text
        ));
    }
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

pub(crate) fn text_mail(body: &[u8]) -> ParsedEmail {
    let mut raw =
        b"From: a@b.c\r\nMessage-ID: <t@b.c>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            .to_vec();
    raw.extend_from_slice(body);
    parse(&raw)
}

/// crisp-email-reply-parser fixtures: their expectations live in upstream
/// code we do not have, so we assert what the fixtures plainly show.
#[test]
fn crisp_reply_fixtures() {
    let Some(dir) = corpus() else { return };
    let dir = dir.join("crisp-email-reply-parser/test/fixtures");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let (mut reply_cases, mut kept_cases, mut failures) = (0, 0, Vec::new());
    // Prose that looks like quote headers or signatures must stay text.
    let keep_whole = [
        "email_tricky_1_on_false_positive.txt",
        "email_tricky_2_url_with_wrote.txt",
        "email_tricky_3_code_block.txt",
        "email_tricky_4_from_in_body.txt",
        "email_tricky_6_regards_in_sentence.txt",
        "email_tricky_7_multiple_dashes.txt",
        "email_tricky_8_sent_from_in_content.txt",
        "email_tricky_13_timestamp_variations.txt",
        "email_sent_from_my_not_signature.txt",
        "email_not_a_signature.txt",
        "email_not_a_signature_2.txt",
    ];
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        let raw = std::fs::read(f).expect("readable");
        let e = text_mail(&raw);
        if !lines_within(&e.body.new_text, &e.body.full) {
            failures.push(format!("{name}: new_text not within full"));
        }
        if keep_whole.contains(&name.as_str()) {
            kept_cases += 1;
            if e.body.quoted.is_some() || e.body.signature.is_some() {
                failures.push(format!("{name}: prose was cut: {:?}", e.body.new_text));
            }
        }
        // Most fixtures are "<lorem paragraph>\n\n<quote header in some
        // language>\n<quoted mail>": the new text is that paragraph.
        let text = String::from_utf8_lossy(&raw);
        if text.starts_with("Fusce bibendum") {
            reply_cases += 1;
            let t = e.body.new_text.trim_end();
            if !(t.starts_with("Fusce bibendum") && t.ends_with("nec nibh.")) {
                failures.push(format!("{name}: new_text {:?}", e.body.new_text));
            }
        }
    }
    eprintln!("crisp: {reply_cases} reply cases, {kept_cases} prose cases");
    assert!(
        reply_cases >= 40 && kept_cases == keep_whole.len(),
        "{reply_cases} {kept_cases}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Truncated and byte-flipped corpus mail (deterministic) never panics and
/// always yields a message id; a cheap stand-in for fuzzing.
#[test]
fn mutated_corpus_mail_never_panics() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    files.retain(|f| std::fs::metadata(f).is_ok_and(|m| m.len() < 200_000));
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases = 0;
    let mut panics = Vec::new();
    for f in files.iter().step_by(3) {
        let raw = std::fs::read(f).expect("readable");
        if raw.is_empty() {
            continue;
        }
        for round in 0..8 {
            let mut m = raw.clone();
            match round % 4 {
                0 => m.truncate((next() as usize) % m.len()),
                1 => {
                    for _ in 0..16 {
                        let i = (next() as usize) % m.len();
                        m[i] = next() as u8;
                    }
                }
                2 => {
                    let i = (next() as usize) % m.len();
                    let bytes = [
                        b"=?utf-8?B?".as_slice(),
                        b"\r\n--",
                        b"<",
                        b"&#x",
                        b"\xe2\x82",
                        b"> ",
                    ];
                    let ins = bytes[(next() as usize) % bytes.len()];
                    m.splice(i..i, ins.iter().copied());
                }
                _ => m.retain(|&b| b != b'\n' || next() % 5 != 0),
            }
            cases += 1;
            match std::panic::catch_unwind(|| parse(&m)) {
                Ok(e) if !e.message_id.is_empty() => {}
                _ => panics.push(format!("{} round {round}", f.display())),
            }
        }
    }
    eprintln!("mutated cases: {cases}");
    assert!(cases > 1000, "only {cases} mutated cases");
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

/// Hand-written replies in several of the 13 languages, as their mail
/// clients send them (tests/fixtures/parse/replies.tsv says what a human
/// wrote in each).
#[test]
fn hand_written_replies_in_many_languages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse");
    let table = std::fs::read_to_string(root.join("replies.tsv")).expect("replies.tsv");
    let (mut cases, mut failures) = (0, Vec::new());
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, want_text, want_sig] = cols[..] else {
            panic!("bad replies.tsv line: {line:?}");
        };
        let raw = std::fs::read(root.join("replies").join(file)).expect("fixture");
        let e = parse(&raw);
        cases += 1;
        let want_text = want_text.replace("\\n", "\n");
        let want_sig = (want_sig != "-").then(|| want_sig.replace("\\n", "\n"));
        if e.body.new_text != want_text {
            failures.push(format!(
                "{file}: new_text {:?}\n  want {want_text:?}",
                e.body.new_text
            ));
        }
        if e.body.signature != want_sig {
            failures.push(format!(
                "{file}: signature {:?}, want {want_sig:?}",
                e.body.signature
            ));
        }
        if e.has_note("charset_fallback") || e.from.as_ref().and_then(|f| f.name.as_ref()).is_none()
        {
            failures.push(format!("{file}: notes {:?}, from {:?}", e.notes, e.from));
        }
        if e.subject.is_empty()
            || e.subject.contains('\u{FFFD}')
            || e.body.full.contains('\u{FFFD}')
        {
            failures.push(format!("{file}: subject {:?} or body garbled", e.subject));
        }
    }
    assert!(cases >= 9, "only {cases} reply fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 10, point 13: every labelled participant mail, rewritten with
/// classic Mac line ends (bare CR) or saved with a UTF-8 byte-order mark,
/// parses as the original does.
#[test]
fn issue_10_bare_cr_and_bom_mail_parse_like_the_original() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/labelled-mail/emails");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    if files.is_empty() {
        eprintln!("NOTICE: ../shared/labelled-mail not found; test skipped");
        return;
    }
    let mut failures = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).expect("readable");
        let want = parse(&raw);
        let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        let cr: Vec<u8> = lf
            .iter()
            .map(|&b| if b == b'\n' { b'\r' } else { b })
            .collect();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&raw);
        for (kind, variant) in [("bare CR", cr), ("BOM", bom)] {
            let got = parse(&variant);
            if got.from != want.from
                || got.subject != want.subject
                || got.message_id != want.message_id
                || got.body.new_text.trim() != want.body.new_text.trim()
            {
                failures.push(format!(
                    "{} ({kind}): from {:?}, subject {:?}",
                    f.display(),
                    got.from.map(|a| a.email),
                    got.subject
                ));
            }
        }
    }
    eprintln!(
        "bare CR / BOM: {} mails, {} differ",
        files.len(),
        failures.len()
    );
    assert!(files.len() > 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 10, point 18: the address a bounce names as failed, for every
/// bounce of the corpus (tests/fixtures/parse/bounce_recipients.tsv).
#[test]
fn issue_10_bounces_name_the_failed_recipient() {
    let Some(dir) = corpus() else { return };
    let table = include_str!("../fixtures/parse/bounce_recipients.tsv");
    let (mut cases, mut wrong) = (0, Vec::new());
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let Some((path, want)) = line.split_once('\t') else {
            continue;
        };
        let e = parse(&std::fs::read(dir.join(path)).expect("corpus bounce"));
        let got = e
            .delivery_report
            .and_then(|r| r.final_recipient)
            .map_or("-".to_string(), |a| a.to_lowercase());
        cases += 1;
        if got != want {
            wrong.push(format!("{path}: got {got}, want {want}"));
        }
    }
    eprintln!(
        "bounces: {cases}, wrong or missing address: {}",
        wrong.len()
    );
    assert!(cases > 120, "only {cases} bounces");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Issue 10, point 16: the files inside winmail.dat are listed by name,
/// size and hash. `X.list` is what the `tnef` tool extracts from `X.tnef`
/// (its `X-body.*` files are the body, not attachments; it writes names
/// with blanks and brackets as `_`).
#[test]
fn issue_10_winmail_dat_files_are_named() {
    let Some((dir, files)) = corpus_folder("tnef/tests/files/datafiles") else {
        return;
    };
    let tool_name = |n: &str| -> String {
        n.chars()
            .map(|c| {
                if c.is_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let (mut expected, mut named, mut failures) = (0, 0, Vec::new());
    for tnef in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tnef"))
    {
        let blob = std::fs::read(tnef).expect("tnef readable");
        let list = std::fs::read_to_string(tnef.with_extension("list")).unwrap_or_default();
        let stem = tnef
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let want: Vec<String> = list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with(&format!("{stem}-body.")))
            .map(str::to_string)
            .collect();
        let mut raw = b"From: a@b.c\r\nMessage-ID: <t@b.c>\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n\
                        --m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
                        --m\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(base64(&blob).as_bytes());
        raw.extend_from_slice(b"\r\n--m--\r\n");
        let e = parse(&raw);
        let got: Vec<String> = e
            .attachments
            .iter()
            .skip(1)
            .map(|a| tool_name(a.name.as_deref().unwrap_or("Untitled_Attachment")))
            .collect();
        expected += want.len();
        named += want.iter().filter(|w| got.contains(w)).count();
        if want.iter().any(|w| !got.contains(w)) {
            failures.push(format!("{stem}: got {got:?}, want {want:?}"));
        }
        assert_eq!(e.attachments[0].name.as_deref(), Some("winmail.dat"));
    }
    // Outlook sends rich text only inside winmail.dat: its plain, HTML or
    // compressed RTF body is the mail's text.
    for (stem, text) in [
        ("triples", "Sample description"),
        ("body", "THE BILL OF RIGHTS"),
        ("rtf", "aafgag'alga'kgk"),
        ("long-filename", "I've attached a temp. license"),
    ] {
        let blob = std::fs::read(dir.join(format!("{stem}.tnef"))).expect("tnef");
        let mut raw = b"From: a@b.c\r\nMessage-ID: <t@b.c>\r\n\
                        Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(base64(&blob).as_bytes());
        let e = parse(&raw);
        if !e.body.new_text.starts_with(text) {
            failures.push(format!("{stem}: body {:?}", e.body.new_text));
        }
    }
    eprintln!("winmail.dat: {named} of {expected} inner files named");
    assert!(expected >= 15, "only {expected} expected files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(3).enumerate() {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * j)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out
}
