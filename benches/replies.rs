//! Replies per second from helpgate's outbox to a real local Postfix
//! (delivering into Dovecot over LMTP), with the TCP_NODELAY workaround and
//! with stock lettre behaviour (Nagle on) for comparison. Goal: >= 1,000/s.
//!
//! Run: `cargo bench --bench replies` (needs root, postfix and dovecot, like
//! the integration tests). Prints figures; asserts nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    dead_code,
    unused_imports
)]

#[path = "../tests/integration/harness/mod.rs"]
mod harness;

use chrono::Utc;
use helpgate::clock::Clock;
use helpgate::config::replies::{Security, SmtpConfig};
use helpgate::outbox::{Policy, Worker};
use helpgate::reply::compose::{compose, Reply};
use helpgate::store::outbox::{insert, NewOutgoing};
use helpgate::store::Store;
use helpgate::ticket::TicketId;
use helpgate::transport::Transport;
use std::time::{Duration, Instant};

fn config(port: u16, connections: usize) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        ca_file: None,
        hello_name: "helpgate.example.test".into(),
        timeout: Duration::from_secs(30),
        connections,
    }
}

/// Queue `n` composed replies in a fresh store.
fn queue(dir: &std::path::Path, n: usize) -> Store {
    let mut store = Store::open_in(dir).unwrap();
    let now = Utc::now();
    let body = "Hello,\nthank you for your message about your payment.\nThe payment page is https://voices.example.test/payment_info\n";
    store
        .transaction(|tx| {
            for i in 0..n {
                let c = compose(&Reply {
                    site_tag: None,
                    ticket: TicketId(i as i64 + 1),
                    from_address: "support@example.test",
                    from_name: "Voices",
                    to_address: "bench@example.test",
                    to_name: None,
                    original_subject: "Payment",
                    fallback_subject: "Payment",
                    in_reply_to: Some(&format!("q{i}@example.test")),
                    references: &[],
                    body,
                    language: "en",
                    automatic: true,
                    date: now,
                })
                .unwrap();
                insert(
                    tx,
                    &NewOutgoing {
                        ticket: None,
                        cause: None,
                        message_id: c.message_id,
                        kind: "auto",
                        template: None,
                        sender: "support@example.test".into(),
                        recipient: c.recipient,
                        raw: c.raw,
                        at: now,
                    },
                )?;
            }
            Ok::<_, helpgate::store::StoreError>(())
        })
        .unwrap();
    store
}

fn run(stack: &harness::MailStack, n: usize, nodelay: bool, connections: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = queue(dir.path(), n);
    let transport = Transport::smtp_with(config(stack.smtp_port, connections), nodelay);
    let policy = Policy::default();
    let mut w = Worker::with_store(store, transport, Clock::system(), policy).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let stats = rt.block_on(w.drain(Duration::from_secs(600))).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(stats.sent as usize, n, "every reply accepted");
    n as f64 / secs
}

/// A minimal SMTP sink on loopback (answers 250 to everything): isolates
/// helpgate's side of the cost from the MTA's. Benchmark use only.
fn sink() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            std::thread::spawn(move || {
                c.set_nodelay(true).unwrap();
                let mut w = c.try_clone().unwrap();
                let mut r = BufReader::new(c);
                w.write_all(b"220 sink\r\n").unwrap();
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let reply: &[u8] = if in_data {
                        if line != ".\r\n" {
                            continue;
                        }
                        in_data = false;
                        b"250 2.0.0 queued\r\n"
                    } else {
                        match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                            Some("EHLO") => b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                            Some("DATA") => {
                                in_data = true;
                                b"354 go\r\n"
                            }
                            Some("QUIT") => {
                                let _ = w.write_all(b"221 bye\r\n");
                                return;
                            }
                            _ => b"250 2.0.0 ok\r\n",
                        }
                    };
                    if w.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn run_port(port: u16, n: usize, nodelay: bool, connections: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = queue(dir.path(), n);
    let transport = Transport::smtp_with(config(port, connections), nodelay);
    let mut w = Worker::with_store(store, transport, Clock::system(), Policy::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let stats = rt.block_on(w.drain(Duration::from_secs(600))).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(stats.sent as usize, n, "every reply accepted");
    n as f64 / secs
}

fn main() {
    let port = sink();
    let r = run_port(port, 5000, true, 1);
    println!("outbox -> in-process SMTP sink (helpgate's own cost), TCP_NODELAY: 5000 replies, {r:.0} replies/s");
    let r = run_port(port, 50, false, 1);
    println!(
        "outbox -> in-process SMTP sink, stock lettre (Nagle on): 50 replies, {r:.1} replies/s"
    );
    if !harness::servers::is_root() {
        println!("replies bench: needs root for Postfix; skipped");
        return;
    }
    let mut stack = harness::MailStack::start();
    // Baseline: the harness's minimal blocking SMTP client, one connection,
    // same size of mail: what this Postfix takes per message at best.
    let b = 1000;
    let mail = harness::text_mail(
        "support@example.test",
        "bench@example.test",
        "Re: Payment [#1]",
        "b@x",
        &"x".repeat(600),
    );
    let mut s = stack.smtp();
    let start = Instant::now();
    for _ in 0..b {
        s.send("support@example.test", &["bench@example.test"], &mail)
            .unwrap();
    }
    s.quit();
    let base = b as f64 / start.elapsed().as_secs_f64();
    println!("baseline, minimal SMTP client -> same Postfix: {b} mails, {base:.0} mails/s");
    let n = 3000;
    let mut total = b;
    for connections in [1, 4, 8] {
        let r = run(&stack, n, true, connections);
        total += n;
        println!(
            "outbox -> Postfix, TCP_NODELAY, {connections} connection(s): {n} replies, {r:.0} replies/s (goal >= 1000)"
        );
    }
    // The same with Dovecot stopped: Postfix accepts and queues but does not
    // deliver into the mailbox while we measure (on two cores its LMTP
    // deliveries compete with its own SMTP side); delivered afterwards.
    stack.stop_dovecot();
    for connections in [4, 8] {
        let r = run(&stack, n, true, connections);
        total += n;
        println!(
            "outbox -> Postfix, deliveries paused, TCP_NODELAY, {connections} connection(s): {n} replies, {r:.0} replies/s (goal >= 1000)"
        );
    }
    stack.start_dovecot();
    let m = 50;
    let slow = run(&stack, m, false, 1);
    total += m;
    println!(
        "outbox -> Postfix, stock lettre (Nagle on), 1 connection: {m} replies, {slow:.1} replies/s ({:.1} ms each)",
        1000.0 / slow
    );
    // Let Postfix hand the last ones to Dovecot before the stack stops.
    stack.wait_count("bench", "INBOX", total, Duration::from_secs(120));
    println!("all {total} mails delivered into the bench INBOX");
}
