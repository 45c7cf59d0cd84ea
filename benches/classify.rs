//! Classification cost per message: guard + classify + decide on 2 KB and
//! 200 KB mails in several languages. Prints median and p99 per size.
//! Goal: median under 50 µs for a 2 KB mail.

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
            let v = guard::check(black_box(m), rules);
            let c = classify::classify(black_box(m), rules);
            let d = decide::decide(&v, &c, &ctx, rules);
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
    for (label, bytes, rounds) in [("2 KB", 2048, 500), ("200 KB", 200 * 1024, 50)] {
        let mails: Vec<ParsedEmail> = SAMPLES.iter().map(|(s, p)| mail(s, p, bytes)).collect();
        measure(&rules, &mails, 5);
        report(label, &measure(&rules, &mails, rounds));
    }
}
