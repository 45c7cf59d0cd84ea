//! Parse-only figures: msg/s for small synthetic mails (mixed languages,
//! 1-3 KB, some with attachments, some replies with quoted history), and
//! time plus peak RSS (VmHWM) for one synthetic 50 MB mail.
//!
//! `cargo bench --bench parse` prints the figures;
//! `cargo bench --bench parse -- --dump FILE...` prints what the parser made
//! of each file as JSON (handy when looking at corpus mail).

use helpgate::parse::parse;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--dump") {
        for f in &args[pos + 1..] {
            let raw = std::fs::read(f).expect("readable file");
            let e = parse(&raw);
            println!(
                "== {f}\n{}",
                serde_json::to_string_pretty(&e).expect("serialisable")
            );
        }
        return;
    }
    small_mails();
    big_mail();
}

const BODIES: &[&str] = &[
    "Hello,\n\nI uploaded 40 recordings yesterday but the dashboard still shows 0. Could you check my account?\n\nThanks,\nAna",
    "Olá,\n\nainda não recebi o pagamento de maio. Podem verificar, por favor?\n\nObrigado\nJoão",
    "Hallo,\n\nmeine Aufnahmen wurden abgelehnt, aber ich verstehe den Grund nicht. Können Sie mir helfen?\n\nViele Grüße\nKarl",
    "Bonjour,\n\nje n'ai pas reçu la confirmation de mon envoi. Merci de vérifier.\n\nCordialement,\nClaire",
    "안녕하세요,\n\n녹음 파일 업로드가 계속 실패합니다. 확인 부탁드립니다.\n\n감사합니다",
    "Xin chào,\n\ntôi chưa nhận được thanh toán cho tháng này. Vui lòng kiểm tra giúp tôi.\n\nCảm ơn",
    "您好，\n\n我上周提交的录音被拒绝了，请问是什么原因？\n\n谢谢",
    "Merhaba,\n\nhesabımı silmek istiyorum. Verilerim ne olacak?\n\nTeşekkürler",
    "Γεια σας,\n\nδεν έχω λάβει ακόμα την πληρωμή μου. Μπορείτε να ελέγξετε;\n\nΕυχαριστώ",
    "Hei,\n\nen saanut vahvistusta latauksesta. Voitteko tarkistaa?\n\nKiitos",
];

fn small_mail(i: usize) -> Vec<u8> {
    let body = BODIES[i % BODIES.len()];
    let mut m = format!(
        "Return-Path: <p{i}@example.org>\r\nReceived: from mx.example.org by mail.example.com; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
         From: =?utf-8?q?Participant_{i}?= <p{i}@example.org>\r\nTo: support@example.com\r\n\
         Subject: =?utf-8?b?{}?=\r\nDate: Mon, 3 Jun 2024 10:00:{:02} +0000\r\nMessage-ID: <m{i}@example.org>\r\n\
         MIME-Version: 1.0\r\n",
        b64(format!("Frage zu Zahlung Nr. {i} – ajuda").as_bytes()),
        i % 60
    );
    if i % 5 == 1 {
        m.push_str(&format!(
            "In-Reply-To: <r{i}@example.com>\r\nReferences: <r{i}@example.com>\r\n"
        ));
    }
    if i.is_multiple_of(10) {
        let att = b64(&vec![b'x'; 600]);
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n--b{i}\r\nContent-Type: image/png; name=\"shot.png\"\r\n\
             Content-Disposition: attachment; filename=\"shot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{att}\r\n--b{i}--\r\n"
        ));
    } else {
        m.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(body);
        if i % 5 == 1 {
            m.push_str("\r\n\r\nOn Mon, 3 Jun 2024 at 10:00, Support <support@example.com> wrote:\r\n> Thank you for your message.\r\n> We will look into it.\r\n");
        }
        m.push_str("\r\n");
    }
    m.into_bytes()
}

fn b64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (n, c) in b.chunks(3).enumerate() {
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
        if n % 19 == 18 {
            s.push_str("\r\n");
        }
    }
    s
}

fn small_mails() {
    let mails: Vec<Vec<u8>> = (0..2000).map(small_mail).collect();
    let avg = mails.iter().map(Vec::len).sum::<usize>() / mails.len();
    // Warm up, then measure.
    for m in &mails {
        std::hint::black_box(parse(m));
    }
    let rounds = 10;
    let start = Instant::now();
    for _ in 0..rounds {
        for m in &mails {
            std::hint::black_box(parse(m));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = (mails.len() * rounds) as f64;
    println!(
        "parse small mails: {:.0} msg/s on one core ({:.1} µs/msg, avg {avg} bytes)",
        n / secs,
        secs * 1e6 / n
    );
}

fn big_mail() {
    // 50 MB: a short text body and one big base64 attachment.
    let payload = 37 * 1024 * 1024;
    let mut m = String::with_capacity(52 * 1024 * 1024);
    m.push_str("From: a@example.org\r\nTo: support@example.com\r\nSubject: big\r\nMessage-ID: <big@example.org>\r\n\
                Date: Mon, 3 Jun 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
                --B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attached recording.\r\n--B\r\n\
                Content-Type: audio/wav; name=\"rec.wav\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let line = b64(&[0x5a; 57]);
    while m.len() < 16 + payload * 4 / 3 {
        m.push_str(&line);
    }
    m.push_str("\r\n--B--\r\n");
    let raw = m.into_bytes();
    let before = vm_hwm_kb();
    let start = Instant::now();
    let e = parse(&raw);
    let took = start.elapsed();
    println!(
        "parse 50 MB mail ({:.1} MB, {} attachment(s)): {:.0} ms, peak RSS {} MB (before parse {} MB)",
        raw.len() as f64 / 1e6,
        e.attachments.len(),
        took.as_secs_f64() * 1e3,
        vm_hwm_kb() / 1024,
        before / 1024
    );
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
