//! Ingest benchmark (figures, not a timed test).
//!
//! Generates N synthetic mails (13 languages, 1-3 KB, 10 % with an
//! attachment, 20 % follow-ups) into a Maildir and reports:
//! - end-to-end `helpgate ingest` msg/s (the real binary, fresh state dir;
//!   the median of three runs after the generated files are synced) and
//!   its peak RSS;
//! - parse-only msg/s (one thread) and prepare msg/s (parse + guard +
//!   classify on all cores), and the end-to-end / parse-only ratio;
//! - one 50 MB mail through `helpgate ingest`: time and peak RSS.
//!
//! Usage: `cargo bench --bench ingest -- [N]` (default 20000); set
//! `HELPGATE_BENCH_MAILDIR=DIR` to keep the generated Maildir in DIR.
//!
//! Realistic mail instead of the synthetic texts (issue 14: the synthetic
//! set flattered ingest): `HELPGATE_BENCH_SOURCE=DIR[:DIR...]` draws the N
//! mails round-robin from every file under those folders (e.g.
//! ../shared/labelled-mail/emails and ../shared/corpus: real clients' HTML,
//! quoted history, signatures, bounces, 13 languages), each copy given its
//! own Message-ID so none is a duplicate. The folders are read in place.

#[path = "realistic/mod.rs"]
mod realistic;

use helpgate::clock::Clock;
use helpgate::intake::RawMessage;
use helpgate::pipeline::Pipeline;
use helpgate::rules::RuleSet;
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TEXTS: &[(&str, &str, &str)] = &[
    ("en", "Payment not received", "Hi, I finished 40 recordings last week but the payment has not arrived yet. When do you pay? My participant ID is P-48213. Thanks a lot for checking."),
    ("pt", "Pagamento não recebido", "Olá, terminei 40 gravações na semana passada e ainda não recebi o pagamento. Quando vocês pagam? Meu ID de participante é P-48213. Obrigada!"),
    ("de", "Upload angekommen?", "Hallo, ich habe gestern zwölf Aufnahmen hochgeladen, aber im Portal sehe ich nichts. Sind die Dateien angekommen? Viele Grüße"),
    ("nl", "Wanneer word ik betaald?", "Hoi, ik heb vorige week alle opnames gedaan maar ik heb nog geen betaling ontvangen. Kunnen jullie dat nakijken? Groetjes"),
    ("fr", "Enregistrement refusé", "Bonjour, mes enregistrements ont été refusés au contrôle qualité alors que j'ai enregistré dans une pièce calme. Pouvez-vous vérifier ?"),
    ("it", "Istruzioni del compito", "Ciao, non capisco le istruzioni del nuovo compito: quante volte devo leggere ogni frase? Grazie mille"),
    ("es", "No puedo iniciar sesión", "Hola, desde ayer no puedo iniciar sesión en mi cuenta, me dice que la contraseña es incorrecta. ¿Me ayudan?"),
    ("ko", "녹음 거부 이유", "안녕하세요. 어제 녹음한 파일 5개가 품질 검사에서 거부되었습니다. 조용한 방에서 녹음했는데 왜 거부되었는지 알고 싶습니다."),
    ("vi", "Chưa nhận được tiền", "Xin chào, tôi đã hoàn thành 40 bản ghi âm tuần trước nhưng vẫn chưa nhận được thanh toán. Khi nào tôi được trả tiền?"),
    ("zh", "付款问题", "你好，我上周完成了四十个录音任务，但是还没有收到付款。请问什么时候付款？谢谢！"),
    ("tr", "Ödeme gelmedi", "Merhaba, geçen hafta 40 kayıt tamamladım ama ödeme henüz gelmedi. Ödemeler ne zaman yapılıyor? Teşekkürler"),
    ("el", "Πληρωμή", "Γεια σας, ολοκλήρωσα 40 ηχογραφήσεις την περασμένη εβδομάδα αλλά δεν έχω λάβει ακόμα την πληρωμή. Πότε πληρώνετε;"),
    ("fi", "Maksu puuttuu", "Hei, tein viime viikolla 40 äänitystä, mutta en ole vielä saanut maksua. Milloin maksut tehdään? Kiitos"),
];

fn synth(i: usize) -> Vec<u8> {
    let (lang, subject, text) = TEXTS[i % TEXTS.len()];
    // A follow-up answers the message 13 before it: the same language (13
    // texts) and a first message (13 is 3 mod 5), as a participant's reply does.
    let follow_up = i % 5 == 4 && i >= 13;
    let mut m = String::new();
    m.push_str(&format!("From: Participant {i} <p{i}@example.{lang}>\r\n"));
    m.push_str("To: support@helpgate.example\r\n");
    for hop in 0..3 {
        m.push_str(&format!(
            "Received: from mx{hop}.example.{lang} (mx{hop}.example.{lang} [192.0.2.{hop}])\r\n\tby mail.helpgate.example (Postfix) with ESMTPS id 4F{i:08X}{hop}\r\n\tfor <support@helpgate.example>; Mon, 23 Nov 2026 09:00:0{hop} +0000 (UTC)\r\n"
        ));
    }
    m.push_str(&format!(
        "Date: Mon, 23 Nov 2026 09:{:02}:00 +0000\r\n",
        i % 60
    ));
    m.push_str(&format!("Message-ID: <bench-{i}@example.{lang}>\r\n"));
    if follow_up {
        let parent = i - 13;
        m.push_str(&format!(
            "Subject: Re: {subject}\r\nIn-Reply-To: <bench-{parent}@example.{lang}>\r\n"
        ));
    } else {
        m.push_str(&format!("Subject: {subject}\r\n"));
    }
    m.push_str("MIME-Version: 1.0\r\n");
    // 1-3 KB: repeat the text, then quote an earlier message.
    let reps = 1 + i % 3;
    let mut body = String::new();
    for _ in 0..reps {
        body.push_str(text);
        body.push_str("\r\n\r\n");
    }
    body.push_str("On Mon, 23 Nov 2026 at 09:00, Support <support@helpgate.example> wrote:\r\n");
    for _ in 0..reps * 4 {
        body.push_str("> Thank you for your message. We will get back to you soon.\r\n");
    }
    if i % 10 == 3 {
        m.push_str("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n");
        m.push_str(
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(&body);
        m.push_str("\r\n--b\r\nContent-Type: image/png; name=\"screenshot.png\"\r\n");
        m.push_str("Content-Disposition: attachment; filename=\"screenshot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        for _ in 0..12 {
            m.push_str(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA\r\n",
            );
        }
        m.push_str("--b--\r\n");
    } else {
        m.push_str(
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(&body);
    }
    m.into_bytes()
}

/// The mail with a Message-ID of its own in front (the original one is
/// renamed, so the copy is not a duplicate of another copy).
fn with_own_message_id(raw: &[u8], i: usize) -> Vec<u8> {
    let mut out = format!("Message-ID: <bench-{i}@realistic.example>\r\n").into_bytes();
    // The header ends at the first empty line (LF or CRLF line ends).
    let head_end = raw
        .windows(3)
        .position(|w| &w[..2] == b"\n\n" || w == b"\n\r\n")
        .unwrap_or(raw.len());
    let mut rest = raw.to_vec();
    for (at, _) in raw[..head_end]
        .windows(11)
        .enumerate()
        .filter(|(_, w)| w.eq_ignore_ascii_case(b"message-id:"))
    {
        if at == 0 || raw[at - 1] == b'\n' {
            rest[at..at + 2].copy_from_slice(b"X-");
        }
    }
    out.extend_from_slice(&rest);
    out
}

fn big_mail(size: usize) -> Vec<u8> {
    let mut m = b"From: p@example.com\r\nTo: support@helpgate.example\r\nSubject: my recordings\r\nMessage-ID: <big@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHere are all my recordings.\r\n--b\r\nContent-Type: audio/wav; name=\"all.wav\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = b"UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAABSSUZGJAAAAFdBVkVm\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

/// Run `helpgate` with `args`; returns wall time and the peak RSS (VmHWM,
/// polled from /proc while it runs) in KiB.
fn run_measured(args: &[&str]) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpgate"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn helpgate");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "helpgate {args:?} failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (start.elapsed(), peak)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // HELPGATE_BENCH_MAILDIR keeps the generated Maildir for profiling.
    let maildir = std::env::var_os("HELPGATE_BENCH_MAILDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("Maildir"));
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let sources = realistic::sources();
    if !sources.is_empty() {
        println!("realistic mail: {} source files", sources.len());
    }
    let mut bytes_total = 0;
    let mut raws = Vec::with_capacity(n);
    for i in 0..n {
        let m = if sources.is_empty() {
            synth(i)
        } else {
            with_own_message_id(&sources[i % sources.len()], i)
        };
        bytes_total += m.len();
        std::fs::write(
            maildir
                .join("new")
                .join(format!("{:010}.M{i}P1.bench", 1_790_000_000 + i)),
            &m,
        )
        .expect("write mail");
        raws.push(m);
    }
    println!(
        "generated {n} mails, {:.0} bytes average",
        bytes_total as f64 / n as f64
    );

    // Three runs, each into a fresh state dir: the median is reported (this
    // 2-core machine's speed varies by +-10 % from run to run).
    let mut runs: Vec<(Duration, u64)> = (0..3)
        .map(|k| {
            // Flushed first: the kernel writing back the generated files
            // or the previous run's 86 MB database during a run would be
            // measured as this run's time.
            let _ = std::process::Command::new("sync").status();
            let state = dir.path().join(format!("state{k}"));
            run_measured(&[
                "--state-dir",
                state.to_str().expect("utf-8"),
                "ingest",
                maildir.to_str().expect("utf-8"),
            ])
        })
        .collect();
    let all: Vec<String> = runs
        .iter()
        .map(|(t, _)| format!("{:.0}", n as f64 / t.as_secs_f64()))
        .collect();
    runs.sort();
    let (t, rss) = runs[1];
    let e2e = n as f64 / t.as_secs_f64();
    println!(
        "end-to-end ingest: {n} mails in {:.3} s = {e2e:.0} msg/s (median of 3 runs: {} msg/s), peak RSS {} MiB",
        t.as_secs_f64(),
        all.join(", "),
        rss / 1024
    );

    sla_clocks(&dir.path().join("state1"), t);

    let start = Instant::now();
    for r in &raws {
        std::hint::black_box(helpgate::parse::parse(r));
    }
    let parse = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "parse only (1 thread): {parse:.0} msg/s; end-to-end / parse-only = {:.2}",
        e2e / parse
    );

    let pipeline = Pipeline {
        rules: Arc::new(RuleSet::builtin()),
        clock: Clock::system(),
        bound_project: None,
        max_message_bytes: 50 << 20,
        replies: Default::default(),
    };
    let batch: Vec<RawMessage> = raws
        .into_iter()
        .map(|bytes| RawMessage {
            source: "bench".into(),
            mailbox: None,
            bytes,
        })
        .collect();
    let start = Instant::now();
    std::hint::black_box(pipeline.prepare_all(batch));
    println!(
        "prepare (parse + guard + classify, all cores): {:.0} msg/s",
        n as f64 / start.elapsed().as_secs_f64()
    );

    let big = dir.path().join("big.eml");
    let mut f = std::fs::File::create(&big).expect("big mail");
    f.write_all(&big_mail(50 * 1000 * 1000))
        .expect("write big mail");
    drop(f);
    let state = dir.path().join("state-big");
    let (t, rss) = run_measured(&[
        "--state-dir",
        state.to_str().expect("utf-8"),
        "ingest",
        big.to_str().expect("utf-8"),
    ]);
    println!(
        "one 50 MB mail: {:.3} s, peak RSS {} MiB",
        t.as_secs_f64(),
        rss / 1024
    );
}

/// Issue 12: "computing clocks adds < 5 % to ingest". `ingest` itself
/// computes no clock; the daemon's desk pass (and `status`, `tickets list
/// --due`, `report`) folds every ticket changed since the last pass. So the
/// cost of clocks is that pass over the freshly imported store, with a
/// policy for every queue and business hours, compared with the import.
fn sla_clocks(state: &std::path::Path, ingest: Duration) {
    let toml = r#"
[sla]
near_breach = "1h"
policy = [
  { queue = "general", first_response = "8h", resolution = "3d" },
  { queue = "sensitive", first_response = "4h", resolution = "2d" },
]
hours = [{ project = "default", time_zone = "Europe/Amsterdam", days = ["mon", "tue", "wed", "thu", "fri"], open = "08:00", close = "18:00" }]
"#;
    let config = helpgate::config::Config::from_str(toml, state, state).expect("SLA config");
    let mut store = helpgate::store::Store::open_in(state).expect("open the bench store");
    let start = Instant::now();
    let folded = store
        .transaction(|tx| helpgate::sla::sync(tx, &config.sla))
        .expect("clock pass");
    let took = start.elapsed();
    println!(
        "SLA clocks (2 policies, business hours) over the imported store: {folded} tickets in {:.3} s = {:.1} % of the ingest time",
        took.as_secs_f64(),
        100.0 * took.as_secs_f64() / ingest.as_secs_f64()
    );
}
