//! Classification cost per message: guard + classify + decide on 2 KB and
//! 200 KB mails in several languages. Prints median and p99 per size.
//! Goal: median under 50 µs for a 2 KB mail.
//!
//! With `HELPGATE_BENCH_SOURCE=DIR[:DIR...]` (see benches/realistic) it also
//! runs real mail (parsed once, not timed) through guard + classify + spam
//! screen + decide, as ingest does, and prints the mean per mail by size; a
//! varied stream is what keeps a lazy DFA building states, which six
//! repeated samples never show. `HELPGATE_BENCH_DUMP=FILE` writes every
//! real mail's verdict, classification, matched patterns and decision as
//! JSON lines: the same file before and after an engine change means the
//! change decided nothing differently.

#[path = "realistic/mod.rs"]
mod realistic;

use helpgate::classify;
use helpgate::decide::{self, TicketContext};
use helpgate::guard;
use helpgate::parse::{Address, Body, ParsedEmail};
use helpgate::rules::RuleSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

const SAMPLES: [(&str, &str); 6] = [
    ("Payment", "Hi, I finished all my recordings two weeks ago and still haven't been paid. Can you check? My PayPal is this address. "),
    ("pagamento atrasado", "Olá, fiz o upload de todos os áudios e ainda não recebi o pagamento. Meu PayPal é este e-mail, podem verificar? "),
    ("Aufnahmen abgelehnt", "Hallo, 12 meiner Aufnahmen wurden wegen schlechter Qualität abgelehnt, aber sie sind einwandfrei. Bitte nochmal prüfen. "),
    ("지급 문의", "안녕하세요, 2주 전에 녹음을 모두 끝냈는데 아직 지급을 받지 못했습니다. 확인 부탁드립니다. "),
    ("thanh toan", "Chao ban, toi da tai len tat ca ban ghi am nhung van chua nhan duoc tien. Vui long kiem tra giup toi. "),
    ("付款问题", "你好，我两周前就完成了所有录音，但到现在还没有收到付款。能帮我查一下吗？"),
];

fn mail(subject: &str, para: &str, bytes: usize) -> ParsedEmail {
    let mut body = String::new();
    while body.len() < bytes {
        body.push_str(para);
        body.push('\n');
    }
    ParsedEmail {
        message_id: "bench@example.org".into(),
        from: Some(Address {
            name: None,
            email: "p@example.org".into(),
        }),
        subject: subject.into(),
        body: Body {
            full: body.clone(),
            new_text: body,
            ..Body::default()
        },
        ..ParsedEmail::default()
    }
}

fn measure(rules: &RuleSet, mails: &[ParsedEmail], rounds: usize) -> Vec<Duration> {
    let ctx = TicketContext {
        project: "default".into(),
        ..TicketContext::default()
    };
    let mut times = Vec::with_capacity(rounds * mails.len());
    for _ in 0..rounds {
        for m in mails {
            let start = Instant::now();
            let mut v = guard::check(black_box(m), rules);
            let mut c = classify::classify(black_box(m), rules);
            classify::ask_second_opinion(m, &mut v, rules, &mut c);
            classify::refine(&mut c, &ctx, rules);
            let d = decide::decide_with_second_opinion(&v, &mut c, &ctx, rules);
            black_box(d);
            times.push(start.elapsed());
        }
    }
    times.sort();
    times
}

fn report(label: &str, times: &[Duration]) {
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "{label:<8} n={:<6} median {:>8.1} µs   p99 {:>8.1} µs",
        times.len(),
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let start = Instant::now();
    let rules = RuleSet::builtin();
    println!(
        "rule set compiled in {:.1} ms: {}",
        start.elapsed().as_secs_f64() * 1e3,
        rules.summary()
    );
    // The same rules without the linear model, interleaved: what its vote
    // costs, at the same machine load.
    let mut without = RuleSet::builtin();
    without.linear = None;
    for (label, bytes, rounds) in [("2 KB", 2048, 500), ("200 KB", 200 * 1024, 50)] {
        let mails: Vec<ParsedEmail> = SAMPLES.iter().map(|(s, p)| mail(s, p, bytes)).collect();
        measure(&rules, &mails, 5);
        measure(&without, &mails, 5);
        let (mut with_times, mut without_times) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            with_times.extend(measure(&rules, &mails, rounds / 5));
            without_times.extend(measure(&without, &mails, rounds / 5));
        }
        with_times.sort();
        without_times.sort();
        report(label, &with_times);
        report(&format!("{label} without the linear model"), &without_times);
    }
    realistic_mail(&rules);
}

/// What ingest does with a parsed mail before the store. Not inlined, so
/// a profiler can count this alone (`valgrind --tool=callgrind
/// --toggle-collect='*decide_one*'`: instructions do not vary with the
/// machine's load as times do).
#[inline(never)]
fn decide_one(
    m: &ParsedEmail,
    rules: &RuleSet,
    ctx: &TicketContext,
) -> (guard::Verdict, classify::Classification, decide::Decision) {
    let mut c = classify::classify(m, rules);
    let mut v = classify::spam::screen(guard::check(m, rules), &c.spam, rules);
    classify::ask_second_opinion(m, &mut v, rules, &mut c);
    classify::refine(&mut c, ctx, rules);
    let d = decide::decide_with_second_opinion(&v, &mut c, ctx, rules);
    (v, c, d)
}

/// Real mail, each parsed once: mean time per mail over three rounds (the
/// first one included: a daemon meets new mail, not the same mail again).
fn realistic_mail(rules: &RuleSet) {
    let mails: Vec<ParsedEmail> = realistic::sources()
        .iter()
        .map(|raw| helpgate::parse::parse(raw))
        .collect();
    if mails.is_empty() {
        return;
    }
    let ctx = TicketContext {
        project: "default".into(),
        ..TicketContext::default()
    };
    let run = |m: &ParsedEmail| decide_one(m, rules, &ctx);
    let mut by_size = [(Duration::ZERO, 0usize); 3];
    let start = Instant::now();
    for _ in 0..3 {
        let round = Instant::now();
        for m in &mails {
            let t = Instant::now();
            black_box(run(black_box(m)));
            let size = m.body.new_text.len();
            let slot = &mut by_size[usize::from(size > 2048) + usize::from(size > 16 * 1024)];
            slot.0 += t.elapsed();
            slot.1 += 1;
        }
        eprintln!(
            "round: {:.1} µs per mail",
            round.elapsed().as_secs_f64() * 1e6 / mails.len() as f64
        );
    }
    let all = start.elapsed();
    println!(
        "real mail: {} mails x 3 rounds, mean {:.1} µs per mail",
        mails.len(),
        all.as_secs_f64() * 1e6 / (3 * mails.len()) as f64
    );
    for ((t, n), label) in by_size.iter().zip(["<= 2 KB", "2-16 KB", "> 16 KB"]) {
        if *n > 0 {
            println!(
                "  new text {label:<8} n={n:<5} mean {:>8.1} µs",
                t.as_secs_f64() * 1e6 / *n as f64
            );
        }
    }
    if let Some(path) = std::env::var_os("HELPGATE_BENCH_DUMP") {
        let mut out = String::new();
        for m in &mails {
            let (v, c, d) = run(m);
            let line = serde_json::json!({
                "message_id": m.message_id,
                "verdict": v,
                "classification": c,
                "matches": c.matches(rules),
                "hits": c.hits,
                "decision": d,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        std::fs::write(&path, out).expect("write the dump");
        println!("  decisions written to {}", path.to_string_lossy());
    }
}
