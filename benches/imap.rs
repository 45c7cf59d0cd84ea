//! IMAP daemon benchmark against real Dovecot + Postfix (figures, not a
//! timed test). Needs root and `.ci/install-test-deps`.
//!
//! 1. Intake throughput: N mails (default 10,000) preloaded by MULTIAPPEND;
//!    `helpgate run` (the real binary) from start until its cursor reaches
//!    the last UID, vs a raw `UID FETCH BODY.PEEK[]` of the same mailbox
//!    with the same IMAP client code, in the same run. Once with Dovecot
//!    storing mail as mdbox, once as Maildir.
//! 2. Latency Postfix submit -> ticket committed, one mail at a time with
//!    IDLE (default 200 mails): p50 / p99 / max.
//! 3. RSS of the idle daemon with 3 mailboxes, then after R mails
//!    (default 100,000) went through it.
//!
//! Usage: `cargo bench --bench imap -- [N] [LATENCY_MAILS] [RSS_MAILS]`.

#[path = "../tests/integration/harness/mod.rs"]
#[allow(unreachable_pub)]
mod harness;

use harness::daemon::{open_db, Daemon, Mailbox};
use harness::servers::Storage;
use harness::{text_mail, wait_for, MailStack, PASSWORD};
use helpgate::config::mailbox::{AfterCommit, FirstStart, ImapAuth, MailboxConfig, TlsMode};
use helpgate::config::secret::Secret;
use helpgate::intake::imap::{stream, ImapConnection};
use std::time::{Duration, Instant};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Mails from many participants (1,000 domains), as a real backlog.
fn backlog(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            text_mail(
                &format!("p{i}@d{}.example", i % 1000),
                "support@example.test",
                &format!("Payment question {i}"),
                &format!("{prefix}{i}@bench.example.test"),
                "Hi, I finished 40 recordings last week but the payment has not arrived yet.",
            )
        })
        .collect()
}

fn mails(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            text_mail(
                "alice@example.test",
                "support@example.test",
                &format!("Payment question {i}"),
                &format!("{prefix}{i}@bench.example.test"),
                "Hi, I finished 40 recordings last week but the payment has not arrived yet.",
            )
        })
        .collect()
}

fn last_uid(d: &Daemon, mailbox: &str) -> i64 {
    if !d.db_path().exists() {
        return 0;
    }
    open_db(&d.db_path())
        .query_row(
            "SELECT last_uid FROM mailbox_state WHERE mailbox = ?1",
            [mailbox],
            |r| r.get(0),
        )
        .unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn mailbox(stack: &MailStack, name: &str, user: &str) -> String {
    Mailbox {
        name,
        project: "default",
        user,
        tls: "none",
        extra: "",
    }
    .toml(stack)
}

/// The raw fetch: the same IMAP client code the daemon uses, no pipeline.
fn raw_fetch(stack: &MailStack, user: &str) -> (usize, Duration) {
    let mb = MailboxConfig {
        name: "raw".into(),
        project: "raw".into(),
        host: "127.0.0.1".into(),
        port: stack.imap_port,
        tls: TlsMode::None,
        ca_file: None,
        auth: ImapAuth::Login {
            user: format!("{user}@example.test"),
            password: Secret::parse("env:HG_TEST_IMAP_PW").expect("password env"),
        },
        folder: "INBOX".into(),
        after_commit: AfterCommit::Seen,
        idle: false,
        poll_interval: Duration::from_secs(30),
        first_start: FirstStart::All,
        timeout: Duration::from_secs(60),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tls = stream::tls_config(None).expect("tls config");
        let t0 = Instant::now();
        let (mut conn, _) = ImapConnection::open(&mb, tls).await.expect("open");
        let found = conn.new_messages(0).await.expect("sizes");
        let uids: Vec<u32> = found.iter().map(|(u, _)| *u).collect();
        let mut n = 0;
        for chunk in uids.chunks(500) {
            n += conn.fetch(chunk).await.expect("fetch").len();
        }
        let took = t0.elapsed();
        conn.logout().await;
        (n, took)
    })
}

fn throughput(n: usize, storage: Storage) {
    println!("-- Dovecot storage: {storage:?}");
    let stack = MailStack::start_with(harness::USERS, storage);
    let t = Instant::now();
    let all = backlog("tp", n);
    stack.multiappend("bench", "INBOX", &all);
    eprintln!("preloaded {n} mails by MULTIAPPEND in {:.2?}", t.elapsed());
    let (raw_n, raw_t) = raw_fetch(&stack, "bench");
    assert_eq!(raw_n, n);
    let mut d = Daemon::new(&mailbox(&stack, "bench", "bench"));
    let t0 = Instant::now();
    d.start();
    let mut connected = None;
    wait_for(
        "intake of the preloaded mails",
        Duration::from_secs(600),
        || {
            if connected.is_none() && d.log().contains("mailbox connected") {
                connected = Some(t0.elapsed());
            }
            last_uid(&d, "bench") >= n as i64
        },
    );
    let took = t0.elapsed();
    let connected = connected.unwrap_or_default();
    println!(
        "daemon start to mailbox connected (rules and templates compiled, IMAP login): {connected:.2?}; from then on {:.0} msg/s",
        n as f64 / (took - connected).as_secs_f64()
    );
    assert!(d.sigterm().success());
    assert_eq!(d.messages(), n as i64);
    let raw_rate = n as f64 / raw_t.as_secs_f64();
    let rate = n as f64 / took.as_secs_f64();
    println!("intake: {n} mails in {took:.2?} = {rate:.0} msg/s (process start to cursor at the last UID; fetch + parse + classify + store + \\Seen)");
    println!("raw UID FETCH BODY.PEEK[]: {n} mails in {raw_t:.2?} = {raw_rate:.0} msg/s");
    println!("intake / raw = 1/{:.1}", raw_rate / rate);
    // The same mails through `helpgate ingest` (no IMAP): the pipeline's share.
    let md = tempfile::tempdir().expect("temp dir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.path().join(sub)).expect("maildir");
    }
    for (i, m) in all.iter().enumerate() {
        std::fs::write(md.path().join(format!("new/{i}.M{i}P1.bench")), m).expect("write");
    }
    let t0 = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_helpgate"))
        .arg("--state-dir")
        .arg(md.path().join("state"))
        .arg("ingest")
        .arg(md.path())
        .env("HELPGATE_LOG", "warn")
        .output()
        .expect("ingest");
    assert!(out.status.success());
    let ingest_t = t0.elapsed();
    println!(
        "same mails through `helpgate ingest` (Maildir, no IMAP): {ingest_t:.2?} = {:.0} msg/s",
        n as f64 / ingest_t.as_secs_f64()
    );
}

fn sent_replies(d: &Daemon) -> i64 {
    open_db(&d.db_path())
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'sent'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
}

fn latency(n: usize) {
    let stack = MailStack::start();
    let limits = "[limits]\nauto_replies_per_recipient = 1000\nauto_replies_per_domain = 1000\nbreaker_per_minute = 1000\n";
    let smtp = format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
        stack.smtp_port
    );
    let mut d = Daemon::new(&format!(
        "{limits}{smtp}{}",
        mailbox(&stack, "support", "support")
    ));
    d.start();
    wait_for("connected", Duration::from_secs(20), || {
        d.log().contains("mailbox connected")
    });
    let mut smtp = stack.smtp();
    let mut to_ticket = Vec::with_capacity(n);
    let mut to_reply = Vec::with_capacity(n);
    for (i, m) in mails("lat", n).iter().enumerate() {
        let t0 = Instant::now();
        smtp.send("alice@example.test", &["support@example.test"], m)
            .expect("send");
        while last_uid(&d, "support") < i as i64 + 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
        to_ticket.push(t0.elapsed());
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent_replies(&d) < i as i64 + 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        to_reply.push(t0.elapsed());
    }
    smtp.quit();
    assert!(d.sigterm().success());
    let replies = sent_replies(&d);
    let show = |what: &str, lat: &mut Vec<Duration>| {
        lat.sort();
        let p = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1];
        println!(
            "latency Postfix submit -> {what} (IDLE, {n} mails): p50 {:.0?} p99 {:.0?} max {:.0?}",
            p(0.50),
            p(0.99),
            lat[lat.len() - 1]
        );
    };
    show("ticket committed", &mut to_ticket);
    if replies >= n as i64 {
        show("auto-reply accepted by Postfix", &mut to_reply);
    } else {
        println!("auto-replies: only {replies} of {n} mails were answered automatically (rules); reply latency not measured");
    }
}

fn rss(n: usize) {
    let stack = MailStack::start();
    let cfg = [
        mailbox(&stack, "one", "support"),
        mailbox(&stack, "two", "help"),
        mailbox(&stack, "three", "sales"),
    ]
    .join("\n");
    let mut d = Daemon::new(&cfg);
    d.start();
    wait_for("3 connected", Duration::from_secs(20), || {
        d.log().matches("mailbox connected").count() >= 3
    });
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kb(d.pid());
    let t = Instant::now();
    // Warm-up: the first tenth (SQLite page cache, allocator arenas, buffers).
    let warm_n = (n / 10).max(1);
    let mut sent = 0;
    let send = |k: usize, sent: &mut usize| {
        for chunk in (0..k).collect::<Vec<_>>().chunks(10_000) {
            stack.multiappend(
                "support",
                "INBOX",
                &mails(&format!("rss{}-", *sent), chunk.len()),
            );
            *sent += chunk.len();
        }
    };
    send(warm_n, &mut sent);
    wait_for("warm-up mails stored", Duration::from_secs(1800), || {
        last_uid(&d, "one") >= sent as i64
    });
    std::thread::sleep(Duration::from_secs(2));
    let warm = rss_kb(d.pid());
    send(n - warm_n, &mut sent);
    wait_for("all mails stored", Duration::from_secs(1800), || {
        last_uid(&d, "one") >= n as i64
    });
    let took = t.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kb(d.pid());
    assert!(d.sigterm().success());
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "RSS idle daemon, 3 mailboxes: {:.1} MB; after {warm_n} mails: {:.1} MB; after {n} mails ({:.1?}): {:.1} MB ({:+.1} % vs after {warm_n}, {:+.1} % vs idle start)",
        mb(idle),
        mb(warm),
        took,
        mb(after),
        (after as f64 / warm as f64 - 1.0) * 100.0,
        (after as f64 / idle as f64 - 1.0) * 100.0
    );
}

fn main() {
    std::env::set_var(harness::daemon::PW_ENV, PASSWORD);
    let n = arg(1, 10_000);
    let lat = arg(2, 200);
    let rss_mails = arg(3, 100_000);
    if n > 0 {
        // Dovecot's own cost per message differs by storage: mdbox (its
        // format for large installations) serves a backlog several times
        // faster than Maildir. Both are shown; the raw fetch of the same
        // mailbox in the same run is the reference for each.
        throughput(n, Storage::Mdbox);
        throughput(n, Storage::Maildir);
    }
    if lat > 0 {
        latency(lat);
    }
    if rss_mails > 0 {
        rss(rss_mails);
    }
}
