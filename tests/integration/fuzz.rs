//! A bounded in-tree fuzzer for parse and compose (cargo-fuzz needs a
//! nightly toolchain this project cannot install). Seeds are mail files
//! from `HELPGATE_FUZZ_CORPUS` (default: ../shared/corpus beside the
//! checkout; never copied into the repository) plus the repository's own
//! hostile fixtures and demo Maildir. Each round mutates a seed (bit flips,
//! cut, duplicate and splice ranges, MIME and header fragments) and runs it
//! through parse, guard, classify and the composition of an automatic
//! reply: nothing may panic, a composed reply keeps every line within 998
//! characters, and no input may take more than a few seconds.
//!
//! Bounded by `HELPGATE_FUZZ_SECS` (default 5: the CI run) and
//! `HELPGATE_FUZZ_ITERS`; `HELPGATE_FUZZ_SEED` picks the random stream, so
//! a failure is reproduced by its seed. Inputs that panic are written to
//! `$CARGO_TARGET_TMPDIR/fuzz-crashes/` and named in the failure.
//!
//! A longer run: `HELPGATE_FUZZ_SECS=600 cargo test --release --test
//! integration fuzz_ -- --nocapture`.

use crate::common::repo;
use chrono::TimeZone;
use helpgate::reply::compose;
use helpgate::ticket::TicketId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Fragments that steer a mutation into the parser's hard corners.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"\xef\xbb\xbf",
    b"\0",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"\r\n--b\r\n",
    b"\r\n--b--\r\n",
    b"From: =?utf-8?q?Ana=0ASmith?= <a@x.test>\r\n",
    b"Reply-To: \"x\r\n y\" <b@y.test>\r\n",
    b"Subject: =?utf-8?b?",
    b"=?iso-8859-1?q?=E9?=",
    b"[#1] [x #2] ",
    b"Authentication-Results: mx; spf = (c) pass; dmarc=(p=reject) fail\r\n",
    b"References: <a@b> <c@d>\r\n",
    b"filename*0*=utf-8''%C3%A9; filename*1=x\r\n",
    b"<html><body><blockquote>",
    b"=\r\n",
    b"=C3=",
];

fn seeds() -> (Vec<Vec<u8>>, String) {
    let corpus = std::env::var_os("HELPGATE_FUZZ_CORPUS")
        .map(PathBuf::from)
        .or_else(crate::common::corpus);
    let mut files = Vec::new();
    let mut origin = String::from("repository fixtures");
    if let Some(dir) = &corpus {
        collect(dir, &mut files);
        origin = format!("{} and repository fixtures", dir.display());
    }
    collect(&repo().join("tests/fixtures/hostile"), &mut files);
    collect(&repo().join("examples/maildir"), &mut files);
    files.sort();
    let seeds = files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| !b.is_empty() && b.len() <= 256 << 10)
        .collect();
    (seeds, origin)
}

/// Mail-like files under `dir`: .eml, .msg, .txt and Maildir entries.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            let in_maildir = p
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "new" || n == "cur");
            if matches!(ext, "eml" | "msg" | "txt") || in_maildir {
                out.push(p);
            }
        }
    }
}

fn range(rng: &mut StdRng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let a = rng.gen_range(0..len);
    let b = (a + rng.gen_range(0..=64.min(len - a))).min(len);
    (a, b)
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut m = seeds[rng.gen_range(0..seeds.len())].clone();
    for _ in 0..rng.gen_range(1..=6) {
        let len = m.len();
        match rng.gen_range(0..8) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                m[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                m[i] = rng.gen();
            }
            2 => {
                let (a, b) = range(rng, len);
                m.drain(a..b);
            }
            3 => {
                let (a, b) = range(rng, len);
                let piece = m[a..b].to_vec();
                let at = rng.gen_range(0..=m.len());
                let times = if rng.gen_bool(0.1) { 200 } else { 1 };
                for _ in 0..times {
                    m.splice(at..at, piece.iter().copied());
                }
            }
            4 => {
                let f = FRAGMENTS[rng.gen_range(0..FRAGMENTS.len())];
                let at = rng.gen_range(0..=len);
                m.splice(at..at, f.iter().copied());
            }
            5 => {
                // Splice a piece of another seed in.
                let other = &seeds[rng.gen_range(0..seeds.len())];
                let (a, b) = range(rng, other.len());
                let at = rng.gen_range(0..=len);
                m.splice(at..at, other[a..b].iter().copied());
            }
            6 => {
                // A header line of hostile length.
                let at = m.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1);
                let n = rng.gen_range(1000..20_000);
                let mut line = b"Subject: ".to_vec();
                line.extend(std::iter::repeat_n(b'x', n));
                line.extend_from_slice(b"\r\n");
                m.splice(at..at, line);
            }
            _ => m.truncate(rng.gen_range(0..=len)),
        }
    }
    m
}

/// One input through parse, guard, classify and compose. Panics are the
/// failure this harness looks for; it returns a violated expectation.
fn exercise(input: &[u8], rules: &helpgate::rules::RuleSet) -> Result<(), String> {
    let email = helpgate::parse::parse(input);
    let _ = helpgate::guard::check(&email, rules);
    let _ = helpgate::classify::classify(&email, rules);
    let _ = helpgate::thread::tokens(&email.subject);
    let name = email.from.as_ref().and_then(|a| a.name.clone());
    let reply = compose::Reply {
        ticket: TicketId(7),
        site_tag: Some("voices"),
        from_address: "support@helpgate.example",
        from_name: "Voices",
        to_address: "ana@example.org",
        to_name: name.as_deref(),
        original_subject: &email.subject,
        fallback_subject: "Your question",
        in_reply_to: Some(&email.message_id),
        references: &email.references,
        body: &email.body.new_text,
        language: "en",
        automatic: true,
        date: chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap(),
    };
    if let Ok(c) = compose::compose(&reply) {
        let head_end = c
            .raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(c.raw.len());
        if let Some(line) = c.raw[..head_end]
            .split(|&b| b == b'\n')
            .find(|l| l.len() > 999)
        {
            return Err(format!("a composed header line of {} bytes", line.len()));
        }
    }
    Ok(())
}

/// `debug_assert!`s inside mail-parser that mutated input reaches: a
/// panic in a debug build only (release builds skip them and go on, and
/// the pipeline's panic guard would quarantine the mail in a debug build).
/// Counted apart, not failures.
const UPSTREAM_DEBUG_ASSERTS: &[&str] = &[
    // mail-parser 0.11.9 src/parsers/message.rs:485
    "Invalid part ID, could not find multipart.",
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_parse_and_compose_never_panic() {
    let secs = env_num("HELPGATE_FUZZ_SECS", 5);
    let max_iters = env_num("HELPGATE_FUZZ_ITERS", u64::MAX);
    let seed = env_num("HELPGATE_FUZZ_SEED", 10);
    let (seeds, origin) = seeds();
    assert!(!seeds.is_empty(), "no seeds found");
    let rules = helpgate::rules::RuleSet::builtin();
    let crash_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let (mut runs, mut bytes) = (0u64, 0u64);
    let mut slowest = (Duration::ZERO, 0usize);
    let mut failures = Vec::new();
    let mut upstream_asserts = 0u64;
    // The seeds themselves, interleaved with mutations, then mutations
    // only, until the budget is spent.
    let mut pending: std::collections::VecDeque<Vec<u8>> = seeds.iter().cloned().collect();
    while runs < max_iters && started.elapsed() < Duration::from_secs(secs) {
        let input = match pending.front() {
            Some(_) if rng.gen_bool(0.5) => pending.pop_front().unwrap_or_default(),
            _ => mutate(&mut rng, &seeds),
        };
        let t0 = Instant::now();
        let outcome = std::panic::catch_unwind(|| exercise(&input, &rules));
        let took = t0.elapsed();
        if took > slowest.0 {
            slowest = (took, input.len());
        }
        runs += 1;
        bytes += input.len() as u64;
        let why = match outcome {
            Ok(Ok(())) if took < Duration::from_secs(5) => continue,
            Ok(Ok(())) => format!("took {took:?}"),
            Ok(Err(e)) => e,
            Err(p) => {
                let text = helpgate::fault::panic_text(&*p);
                if cfg!(debug_assertions) && UPSTREAM_DEBUG_ASSERTS.contains(&text.as_str()) {
                    upstream_asserts += 1;
                    continue;
                }
                text
            }
        };
        std::fs::create_dir_all(&crash_dir).unwrap();
        let path = crash_dir.join(format!("{}.eml", helpgate::parse::content_hash(&input)));
        std::fs::write(&path, &input).unwrap();
        failures.push(format!("{}: {why}", path.display()));
    }
    eprintln!(
        "fuzz: {runs} inputs ({} MB) from {} seeds ({origin}) in {:.1} s, seed {seed}; slowest {:?} ({} bytes); {} failures; {upstream_asserts} mail-parser debug assertions",
        bytes >> 20,
        seeds.len(),
        started.elapsed().as_secs_f64(),
        slowest.0,
        slowest.1,
        failures.len()
    );
    assert!(runs > 0, "the fuzzer ran nothing");
    assert!(failures.is_empty(), "{failures:#?}");
}
