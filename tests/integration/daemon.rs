//! `helpgate run` against real Dovecot + Postfix: mail sent through Postfix
//! becomes a ticket (IDLE and polling), nothing is lost or imported twice
//! across restarts, server restarts, UIDVALIDITY changes and SIGKILLs; TLS
//! both ways; a broken mailbox or rule file never stops the rest.

use crate::harness::daemon::{Daemon, Mailbox};
use crate::harness::{text_mail, wait_for, MailStack};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn mail(n: usize, subject: &str) -> Vec<u8> {
    text_mail(
        "alice@example.test",
        "support@example.test",
        subject,
        &format!("m{n}.{}@example.test", subject.len()),
        "Hello, I uploaded my recordings but I did not get paid yet.",
    )
}

fn one(stack: &MailStack, extra: &str) -> String {
    Mailbox {
        name: "support",
        project: "default",
        user: "support",
        tls: "none",
        extra,
    }
    .toml(stack)
}

/// `[smtp]` pointing at the stack's Postfix: replies go out for real.
fn smtp(stack: &MailStack) -> String {
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
        stack.smtp_port
    )
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let head = &text[..text.find("\r\n\r\n").unwrap_or(text.len())];
    head.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

fn count(d: &Daemon, sql: &str) -> i64 {
    d.db().query_row(sql, [], |r| r.get(0)).expect("query")
}

#[test]
fn idle_mail_becomes_one_ticket_is_flagged_after_commit_and_survives_restart() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    // Wait until the daemon is idling on the mailbox (its cursor exists).
    wait_for("mailbox connected", T, || {
        d.log().contains("mailbox connected")
    });
    let t0 = Instant::now();
    stack.send("alice", "support", &mail(1, "Payment missing"));
    d.wait_messages(1, T);
    let took = t0.elapsed();
    assert!(d.log().contains("idle=true"), "{}", d.log());
    assert_eq!(
        count(&d, "SELECT count(*) FROM tickets WHERE project = 'default'"),
        1
    );
    // The server sees \Seen only once the message is stored.
    wait_for("\\Seen on the server", T, || {
        stack.fetch_all("support", "INBOX")[0]
            .flags
            .contains("\\Seen")
    });
    eprintln!("postfix -> ticket via IDLE: {took:?}");

    // SIGTERM drains and exits 0.
    let status = d.sigterm();
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    assert!(d.log().contains("stopped cleanly"), "{}", d.log());

    // Restart: nothing imported twice; new mail still flows.
    d.start();
    stack.send("alice", "support", &mail(2, "Second question"));
    d.wait_messages(2, T);
    assert!(d.sigterm().success());
    assert_eq!(count(&d, "SELECT count(*) FROM messages"), 2);
    assert_eq!(count(&d, "SELECT count(*) FROM tickets"), 2);
    let st = d.mailbox_status("support");
    assert_eq!(st["last_uid"], 2, "{st}");
    assert!(st["last_error"].is_null(), "{st}");
    assert!(!st["last_fetch_at"].is_null(), "{st}");
}

#[test]
fn mail_committed_but_not_flagged_before_a_drop_is_flagged_at_the_next_start() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    stack.send("alice", "support", &mail(1, "Payment missing"));
    stack.send("alice", "support", &mail(2, "Second question"));
    d.wait_messages(2, T);
    let all_seen = || {
        let inbox = stack.fetch_all("support", "INBOX");
        inbox.len() == 2 && inbox.iter().all(|m| m.flags.contains("\\Seen"))
    };
    wait_for("\\Seen on both", T, all_seen);
    assert!(d.sigterm().success());
    // As after a connection lost between the commit and the flags: stored,
    // cursor moved, but the server never saw \Seen.
    let mut c = stack.imap("support");
    c.select("INBOX");
    c.ok("UID STORE 1:* -FLAGS.SILENT (\\Seen)");
    c.logout();
    assert!(!all_seen());
    rusqlite::Connection::open(d.db_path())
        .unwrap()
        .execute("UPDATE mailbox_state SET acked_uid = 0", [])
        .unwrap();

    d.start();
    wait_for("\\Seen again after the restart", T, all_seen);
    assert!(
        d.log()
            .contains("acknowledging mail committed before the connection dropped"),
        "{}",
        d.log()
    );
    assert!(d.sigterm().success());
    assert_eq!(
        count(&d, "SELECT count(*) FROM messages"),
        2,
        "nothing imported twice"
    );
    assert_eq!(count(&d, "SELECT acked_uid FROM mailbox_state"), 2);
}

#[test]
fn auto_reply_reaches_the_participant_with_threading_headers() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&format!("{}{}", smtp(&stack), one(&stack, "")));
    d.start();
    stack.send("alice", "support", &mail(1, "Payment missing"));
    stack.wait_count("alice", "INBOX", 1, T);
    assert!(d.sigterm().success());
    let replies = stack.fetch_all("alice", "INBOX");
    assert_eq!(replies.len(), 1);
    let text = String::from_utf8_lossy(&replies[0].bytes).to_string();
    assert_eq!(
        header(&text, "In-Reply-To"),
        Some("<m1.15@example.test>"),
        "{text}"
    );
    assert_eq!(
        header(&text, "Auto-Submitted"),
        Some("auto-replied"),
        "{text}"
    );
    assert!(
        header(&text, "Subject").is_some_and(|s| s.contains("[#1]")),
        "{text}"
    );
    assert_eq!(
        count(&d, "SELECT count(*) FROM outbox WHERE state = 'sent'"),
        1
    );
}

/// `log.format = "json"`: one JSON object per line, one span per message
/// with mailbox, IMAP UID and ticket, and no addresses or subjects at info.
#[test]
fn json_logs_carry_the_message_span_and_no_personal_data() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&format!("[log]\nformat = \"json\"\n{}", one(&stack, "")));
    d.start();
    stack.send("alice", "support", &mail(1, "Payment missing"));
    d.wait_messages(1, T);
    assert!(d.sigterm().success());
    let log = d.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let stored = lines
        .iter()
        .find(|l| l["fields"]["message"] == "message stored")
        .expect("a message stored line");
    assert_eq!(stored["span"]["mailbox"], "support", "{stored}");
    assert_eq!(stored["span"]["imap.uid"], 1, "{stored}");
    assert_eq!(stored["span"]["ticket.id"], 1, "{stored}");
    assert!(!log.contains("alice@example.test"), "{log}");
    assert!(!log.contains("Payment missing"), "{log}");
}

#[test]
fn polling_path_picks_up_mail_without_idle() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, "idle = false\npoll_interval = \"200ms\""));
    d.start();
    for i in 0..3 {
        stack.send("alice", "support", &mail(i, "Polling"));
    }
    d.wait_messages(3, T);
    assert!(d.log().contains("idle=false"), "{}", d.log());
    assert!(d.sigterm().success());
}

#[test]
fn dovecot_restart_mid_run_reconnects_and_loses_nothing() {
    let mut stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    for i in 0..5 {
        stack.send("alice", "support", &mail(i, "Before restart"));
    }
    d.wait_messages(5, T);
    stack.restart_dovecot();
    for i in 5..10 {
        stack.send("alice", "support", &mail(i, "After restart"));
    }
    d.wait_messages(10, T);
    assert!(d.sigterm().success());
    assert_eq!(count(&d, "SELECT count(*) FROM messages"), 10);
    assert!(
        d.log().contains("mailbox failed"),
        "the restart was noticed"
    );
}

#[test]
fn new_uidvalidity_rescans_without_duplicates() {
    let mut stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    for i in 0..3 {
        stack.send("alice", "support", &mail(i, "Before migration"));
    }
    d.wait_messages(3, T);
    let before = d.mailbox_status("support")["uidvalidity"].clone();
    stack.reset_uidvalidity("support", "INBOX");
    stack.send("alice", "support", &mail(9, "After migration"));
    d.wait_messages(4, T);
    wait_for("cursor on the new UIDVALIDITY", T, || {
        let st = d.mailbox_status("support");
        st["uidvalidity"] != before && st["last_uid"] == 4
    });
    assert!(d.sigterm().success());
    assert_eq!(count(&d, "SELECT count(*) FROM messages"), 4);
    assert!(d.log().contains("UIDVALIDITY changed"), "{}", d.log());
}

#[test]
fn implicit_tls_and_starttls_with_own_ca_and_two_projects() {
    let stack = MailStack::start();
    let cfg = [
        Mailbox {
            name: "voices",
            project: "default",
            user: "support",
            tls: "implicit",
            extra: "",
        }
        .toml(&stack),
        Mailbox {
            name: "faces",
            project: "faces",
            user: "help",
            tls: "starttls",
            extra: "",
        }
        .toml(&stack),
    ]
    .join("\n");
    let mut d = Daemon::new(&format!("rules_dir = \"rules\"\n{cfg}"));
    rules_with_project(&d.dir.path().join("rules"), "faces");
    d.start();
    stack.send("alice", "support", &mail(1, "Voices question"));
    stack.send("bob", "help", &mail(2, "Faces question"));
    d.wait_messages(2, T);
    assert!(d.sigterm().success());
    assert_eq!(
        count(&d, "SELECT count(*) FROM tickets WHERE project = 'default'"),
        1
    );
    assert_eq!(
        count(&d, "SELECT count(*) FROM tickets WHERE project = 'faces'"),
        1
    );
    let sources: Vec<String> = d
        .db()
        .prepare("SELECT source FROM messages ORDER BY source")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(sources[0].starts_with("imap:faces/"), "{sources:?}");
    assert!(sources[1].starts_with("imap:voices/"), "{sources:?}");
}

#[test]
fn wrong_password_shows_in_status_while_another_mailbox_works() {
    let stack = MailStack::start();
    let good = one(&stack, "");
    let bad = Mailbox {
        name: "broken",
        project: "default",
        user: "help",
        tls: "none",
        extra: "",
    }
    .toml(&stack)
    .replace("env:HG_TEST_IMAP_PW", "env:HG_WRONG_PW");
    let mut d = Daemon::new(&format!("{good}\n{bad}"));
    // The wrong password comes from the environment like a real one.
    std::fs::write(
        d.dir.path().join("helpgate.toml"),
        std::fs::read_to_string(d.config_path()).unwrap().replace(
            "env:HG_WRONG_PW",
            &format!("file:{}/wrong-pw", d.dir.path().display()),
        ),
    )
    .unwrap();
    std::fs::write(d.dir.path().join("wrong-pw"), "not-the-password\n").unwrap();
    d.start();
    stack.send("alice", "support", &mail(1, "Still works"));
    d.wait_messages(1, T);
    wait_for("error in status", T, || {
        d.mailbox_status("broken")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("login as help@example.test refused"))
    });
    let st = d.mailbox_status("broken");
    assert!(st["last_fetch_at"].is_null(), "{st}");
    assert!(d.mailbox_status("support")["last_error"].is_null());
    assert!(d.sigterm().success());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The shipped rules in `dir`, plus a project `id` (a copy of the default
/// one with its own address).
fn rules_with_project(dir: &std::path::Path, id: &str) {
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        dir,
    );
    let path = dir.join("projects.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let block = &text[text.find("[[project]]").unwrap()..];
    let copy = block
        .replace("id = \"default\"", &format!("id = \"{id}\""))
        .lines()
        .map(|l| {
            if l.starts_with("addresses") {
                format!("addresses = [\"support@{id}.example\"]")
            } else if l.starts_with("mailboxes") {
                "mailboxes = []".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, format!("{text}\n{copy}\n")).unwrap();
}

fn topics(d: &Daemon) -> Vec<Option<String>> {
    d.db()
        .prepare("SELECT topic FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sighup_with_a_broken_rule_file_keeps_the_old_rules_and_keeps_working() {
    let stack = MailStack::start();
    let mut d = Daemon::new(&format!("rules_dir = \"rules\"\n{}", one(&stack, "")));
    let rules = d.dir.path().join("rules");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &rules,
    );
    let routing = rules.join("routing.toml");
    let good = std::fs::read_to_string(&routing).unwrap();
    d.start();
    stack.send("alice", "support", &mail(1, "Payment missing"));
    d.wait_messages(1, T);
    std::fs::write(&routing, format!("{good}\n[[[ not toml\n")).unwrap();
    d.sighup();
    wait_for("reload refused", T, || d.log().contains("rules refused"));
    assert!(d.log().contains("routing.toml:"), "{}", d.log());
    // Same kind of mail, classified exactly as before with the old rules.
    stack.send("alice", "support", &mail(2, "Payment missing"));
    d.wait_messages(2, T);
    let t = topics(&d);
    assert!(t[0].is_some(), "the shipped rules find a topic: {t:?}");
    assert_eq!(t[0], t[1]);
    std::fs::write(&routing, good).unwrap();
    d.sighup();
    wait_for("reload accepted", T, || d.log().contains("rules reloaded"));
    assert!(d.sigterm().success());
}

/// SIGKILL the daemon at random moments while 1,000 mails arrive through
/// Postfix and are answered; after at least 20 crashes and a final clean
/// run every mail is exactly one stored message, every ticket is there and
/// every automatic reply reached the participant (replies of the outbox
/// round in flight at a kill may arrive twice: counted, reported, bounded).
#[test]
fn crash_test_sigkill_during_delivery_loses_and_duplicates_nothing() {
    use rand::Rng;
    const MAILS: usize = 1000;
    let stack = MailStack::start();
    let limits = "[limits]\nauto_replies_per_recipient = 1000\nauto_replies_per_domain = 1000\nbreaker_per_minute = 1000\n";
    let mut d = Daemon::new(&format!("{limits}{}{}", smtp(&stack), one(&stack, "")));
    let smtp_port = stack.smtp_port;
    let sender = std::thread::spawn(move || {
        let mut s = crate::harness::SmtpSession::connect(smtp_port).expect("smtp");
        for i in 0..MAILS {
            let m = text_mail(
                "alice@example.test",
                "support@example.test",
                &format!("Payment missing {i}"),
                &format!("crash{i}@example.test"),
                &format!("Hello, I did not get paid for my recordings of week {i}."),
            );
            s.send("alice@example.test", &["support@example.test"], &m)
                .expect("send");
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
        s.quit();
    });
    let mut rng = rand::thread_rng();
    let mut rounds = 0;
    while rounds < 20 || !sender.is_finished() {
        let connected = d.log().matches("mailbox connected").count();
        d.start();
        if rounds % 3 == 0 {
            // Every third round counts its time from when the daemon works:
            // a slow start (a debug build compiling the rules on a loaded
            // machine) must not have every round killed before its first
            // fetch. The others still kill at any point of the start.
            wait_for(
                "the daemon's mailbox connected",
                Duration::from_secs(60),
                || d.log().matches("mailbox connected").count() > connected,
            );
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..1500)));
        d.kill9();
        rounds += 1;
    }
    sender.join().expect("sender");
    stack.wait_count("support", "INBOX", MAILS, Duration::from_secs(60));
    let during = d.messages();
    d.start();
    d.wait_messages(MAILS as i64, Duration::from_secs(60));
    wait_for("outbox drained", Duration::from_secs(120), || {
        count(
            &d,
            "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')",
        ) == 0
    });
    let auto = count(&d, "SELECT count(*) FROM outbox WHERE kind = 'auto'");
    let sent = count(&d, "SELECT count(*) FROM outbox WHERE state = 'sent'");
    stack.wait_count("alice", "INBOX", sent as usize, Duration::from_secs(60));
    let status = d.sigterm();
    let log = d.log();
    assert!(
        status.success(),
        "{status:?}\n{}",
        &log[log.len().saturating_sub(3000)..]
    );
    let stored = count(&d, "SELECT count(*) FROM messages");
    let distinct = count(&d, "SELECT count(DISTINCT message_id) FROM messages");
    let tickets = count(&d, "SELECT count(*) FROM tickets");
    let with_ticket = count(&d, "SELECT count(DISTINCT ticket_id) FROM messages");
    let quarantined = count(&d, "SELECT count(*) FROM quarantine");
    // Replies as the participant received them, by the mail they answer.
    let received = stack.fetch_all("alice", "INBOX");
    let mut answered: Vec<String> = received
        .iter()
        .filter_map(|f| {
            let t = String::from_utf8_lossy(&f.bytes).to_string();
            header(&t, "In-Reply-To").map(str::to_string)
        })
        .collect();
    let delivered = answered.len();
    answered.sort();
    let most_copies = answered
        .chunk_by(|a, b| a == b)
        .map(<[String]>::len)
        .max()
        .unwrap_or(0);
    answered.dedup();
    let resends = delivered - answered.len();
    eprintln!(
        "crash test: {rounds} SIGKILLs, {during} messages stored between kills, then {stored} messages ({distinct} distinct), {tickets} tickets, {auto} automatic replies ({sent} sent), {delivered} delivered to the participant, {resends} resent after a kill"
    );
    assert!(during > 0, "the daemon got work done between the kills");
    assert_eq!(stored, MAILS as i64);
    assert_eq!(distinct, MAILS as i64);
    assert_eq!(quarantined, 0);
    assert_eq!(tickets, with_ticket, "every ticket has its message");
    assert_eq!(tickets, MAILS as i64, "each mail started its own ticket");
    // The classifier may give one of these payment questions to a person (a
    // number in the text can tip the second opinion's vote toward a sensitive
    // topic); what this test guards is that each decision to answer makes
    // exactly one reply.
    let decided = count(
        &d,
        "SELECT count(*) FROM messages WHERE action = 'auto_reply'",
    );
    assert!(
        decided >= MAILS as i64 - 5,
        "{decided} of {MAILS} payment questions answered"
    );
    assert_eq!(
        auto, decided,
        "one automatic reply per answered mail, never two"
    );
    assert_eq!(sent, auto, "every reply went out");
    assert_eq!(
        answered.len() as i64,
        decided,
        "every participant got the reply"
    );
    // Only replies in flight at a kill can go again: the worker records the
    // 250s after each round of one message per SMTP connection (default 4,
    // src/outbox.rs), so that is the documented window per crash. A reply in
    // flight at two kills in a row can be resent at each of them, never more.
    assert!(
        most_copies <= 1 + rounds,
        "a reply arrived {most_copies} times in {rounds} kills"
    );
    assert!(resends <= rounds * 4, "{resends} resends in {rounds} kills");
    let st = d.mailbox_status("support");
    assert_eq!(st["last_uid"], MAILS as u64, "{st}");
}

#[test]
fn first_start_new_skips_old_mail_and_move_and_delete_act_after_commit() {
    let stack = MailStack::start();
    stack.append("support", "INBOX", &mail(1, "Old mail"));
    stack.append("help", "INBOX", &mail(2, "Old mail"));
    stack.create_folder("support", "Done");
    let cfg = [
        one(
            &stack,
            "first_start = \"new\"\nafter_commit = \"move\"\nmove_to = \"Done\"",
        ),
        Mailbox {
            name: "deleting",
            project: "default",
            user: "help",
            tls: "none",
            extra: "after_commit = \"delete\"",
        }
        .toml(&stack),
    ]
    .join("\n");
    let mut d = Daemon::new(&cfg);
    d.start();
    // "deleting" imports its old mail (first_start = "all") and deletes it.
    d.wait_messages(1, T);
    wait_for("old mail deleted on the server", T, || {
        stack.count("help", "INBOX") == 0
    });
    stack.send("alice", "support", &mail(3, "New mail"));
    d.wait_messages(2, T);
    wait_for("new mail moved", T, || stack.count("support", "Done") == 1);
    assert!(d.sigterm().success());
    // The old support mail stayed where it was, unimported.
    let inbox = stack.fetch_all("support", "INBOX");
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0].bytes).contains("Old mail"));
    assert!(!inbox[0].flags.contains("\\Seen"));
    assert_eq!(count(&d, "SELECT count(*) FROM messages"), 2);
}

#[test]
fn metrics_endpoint_counts_outcomes_and_xoauth2_token_failure_is_reported() {
    use std::io::{Read, Write};
    let stack = MailStack::start();
    let port = crate::harness::free_port();
    let xoauth = xoauth2_mailbox(&stack, "token_command = \"echo no token >&2; exit 3\"");
    let cfg = format!(
        "[daemon]\nmetrics_listen = \"127.0.0.1:{port}\"\n{}\n{xoauth}",
        one(&stack, "")
    );
    let mut d = Daemon::new(&cfg);
    d.start();
    for i in 0..3 {
        stack.send("alice", "support", &mail(i, "Metrics"));
    }
    d.wait_messages(3, T);
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    let body = get("/metrics");
    assert!(body.starts_with("HTTP/1.0 200"), "{body}");
    for line in [
        "helpgate_messages_total{outcome=\"new_ticket\"} 3",
        "helpgate_mailbox_lag_seconds{mailbox=\"support\"} 0",
        "helpgate_breaker_open 0",
        "helpgate_sla_tickets{name=\"breached\"} 0",
    ] {
        assert!(body.lines().any(|l| l == line), "{line}:\n{body}");
    }
    let health = get("/healthz");
    assert!(health.starts_with("HTTP/1.0 200"), "{health}");
    assert!(health.ends_with("ok\n"), "{health}");
    wait_for("token error in status", T, || {
        d.mailbox_status("oauth")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot get the XOAUTH2 access token"))
    });
    assert!(d.sigterm().success());
}

/// Mail that arrives while the daemon is between IDLE rounds (fetching,
/// committing, sending DONE or IDLE) is still picked up at once, not at
/// the next unrelated wake-up.
#[test]
fn idle_never_misses_mail_arriving_between_rounds() {
    use rand::Rng;
    let stack = MailStack::start();
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    wait_for("connected", T, || d.log().contains("mailbox connected"));
    let mut rng = rand::thread_rng();
    for i in 0..25 {
        stack.send("alice", "support", &mail(i, "Between rounds"));
        // Land the next one anywhere in the previous one's IDLE cycle
        // (Dovecot announces ~0.5 s after delivery).
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..700)));
        wait_for(
            &format!("mail {i} within 3 s"),
            Duration::from_secs(3),
            || d.messages() > i as i64,
        );
    }
    assert!(d.sigterm().success());
}

#[test]
fn large_mails_go_in_smaller_batches_and_are_stored_whole() {
    let stack = MailStack::start();
    let big = |n: usize| {
        let mut m = mail(n, "Recording attached");
        let line =
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
        m.extend(line.repeat((17 << 20) / line.len()).as_bytes());
        m
    };
    stack.multiappend("support", "INBOX", &[big(1), mail(2, "Small"), big(3)]);
    let mut d = Daemon::new(&one(&stack, ""));
    d.start();
    d.wait_messages(3, Duration::from_secs(60));
    assert!(d.sigterm().success());
    let sizes: Vec<i64> = d
        .db()
        .prepare("SELECT size FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let on_server: Vec<i64> = stack
        .fetch_all("support", "INBOX")
        .iter()
        .map(|f| f.bytes.len() as i64)
        .collect();
    assert_eq!(sizes, on_server);
}

/// journald restarted (or `| head`): stderr is a closed pipe. Logging must
/// not panic the tasks, and SIGTERM still stops the daemon with exit 0.
#[test]
fn closed_stderr_does_not_stop_signals_or_intake() {
    use std::process::{Command, Stdio};
    let stack = MailStack::start();
    let d = Daemon::new(&one(&stack, ""));
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpgate"))
        .arg("--config")
        .arg(d.config_path())
        .arg("run")
        .env(crate::harness::daemon::PW_ENV, crate::harness::PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    stack.send("alice", "support", &mail(1, "Nobody reads the log"));
    d.wait_messages(1, T);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("daemon ignored SIGTERM with a closed stderr");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// Mailbox "oauth" (help@example.test) logging in by XOAUTH2 with the
/// token from `source` (a `token_file` or `token_command` line).
fn xoauth2_mailbox(stack: &MailStack, source: &str) -> String {
    Mailbox {
        name: "oauth",
        project: "default",
        user: "help",
        tls: "none",
        extra: "",
    }
    .toml(stack)
    .replace(
        "password = \"env:HG_TEST_IMAP_PW\"",
        &format!("method = \"xoauth2\"\n{source}"),
    )
}

/// An OAuth2 provider's userinfo endpoint, as Dovecot asks it: a bearer
/// token in, the account's `email` out. Counts the requests.
fn userinfo_endpoint(
    good_token: &'static str,
    email: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/userinfo", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // One thread per connection: Dovecot's HTTP client may open a
            // second connection while the first sits idle.
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut authorized = false;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    let l = line.to_ascii_lowercase();
                    if l.starts_with("authorization:") && line.trim_end().ends_with(good_token) {
                        authorized = true;
                    }
                    line.clear();
                }
                // Any other token belongs to another account: Dovecot
                // refuses the login with an XOAUTH2 error challenge, as
                // Gmail does for an expired token.
                let owner = if authorized {
                    email
                } else {
                    "someone-else@example.test"
                };
                let (status, body) = (
                    "200 OK",
                    format!("{{\"email\":\"{owner}\",\"active\":true}}"),
                );
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (url, hits)
}

/// XOAUTH2 against a Dovecot that checks tokens with an OAuth2 provider:
/// an expired token is a clear login error in status, and the token file
/// is read again at the next login, so once it holds a fresh token the
/// mailbox is imported without a restart.
#[test]
fn xoauth2_logs_in_with_the_token_file_and_rereads_it_after_a_refusal() {
    let (url, hits) = userinfo_endpoint("fresh-token-2", "help@example.test");
    let stack = MailStack::start_with_oauth2(&url);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "expired-token-1\n").unwrap();
    let source = format!("token_file = \"{}\"", token_file.display());
    let mailbox = xoauth2_mailbox(&stack, &source);
    stack.send("alice", "help", &mail(1, "Payment"));
    let mut d = Daemon::new(&mailbox);
    d.start();
    wait_for("a refused login", T, || d.log().contains("mailbox failed"));
    let status = d.mailbox_status("oauth");
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("login as help@example.test refused"),
        "{status}\n{}",
        d.log()
    );
    assert!(
        hits.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "Dovecot asked the provider"
    );
    assert_eq!(d.messages(), 0);
    std::fs::write(&token_file, "fresh-token-2\n").unwrap();
    d.wait_messages(1, Duration::from_secs(60));
    let inbox = stack.fetch_all("help", "INBOX");
    assert!(
        inbox[0].flags.contains("\\Seen"),
        "acknowledged after the commit"
    );
    assert!(d.sigterm().success());
}
