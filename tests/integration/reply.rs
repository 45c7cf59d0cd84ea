//! Replies through real servers: helpgate's outbox worker sends through
//! Postfix, which delivers into Dovecot, and the tests read what arrived.
//! The rules cannot say `auto_reply` yet (decide is a placeholder), so the
//! tests hand the planner an `auto_reply` decision the way the pipeline does.

use crate::common::Env;
use crate::harness::{text_mail, MailStack};
use helpgate::classify::Classification;
use helpgate::clock::Clock;
use helpgate::config::replies::{ReplyLimits, Security, SmtpConfig};
use helpgate::decide::{Action, Decision};
use helpgate::guard::Verdict;
use helpgate::outbox::{Policy, Worker};
use helpgate::reply::{Decided, Planner, ReplyOutcome};
use helpgate::rules::{Project, RuleSet};
use helpgate::store::tickets::{self, NewTicket};
use helpgate::store::{limits, outbox, Store};
use helpgate::ticket::{TicketId, TicketState};
use helpgate::transport::Transport;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn rules() -> RuleSet {
    let links = [
        "payment_info",
        "upload_status",
        "upload_page",
        "instructions",
    ]
    .iter()
    .map(|l| (l.to_string(), format!("https://voices.example.test/{l}")))
    .collect();
    let mut rules = RuleSet::builtin();
    rules.default_project = 0;
    rules.projects = vec![Project {
        id: "voices".into(),
        name: "Voices".into(),
        support_address: "support@example.test".into(),
        addresses: vec!["support@example.test".into()],
        languages: vec!["en".into(), "de".into()],
        default_language: "en".into(),
        links,
        ..Project::default()
    }];
    rules
}

fn smtp(port: u16) -> Transport {
    Transport::smtp(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        ca_file: None,
        hello_name: "helpgate.example.test".into(),
        timeout: Duration::from_secs(10),
        connections: 2,
    })
}

/// What a new worker on `env`'s store delivers through `transport` in one
/// drain (the previous worker dropped just before).
fn sent_by_fresh_worker(env: &Env, transport: Transport) -> u64 {
    std::thread::sleep(Duration::from_millis(10));
    let store = Store::open_in(&env.state()).unwrap();
    let mut w = Worker::with_store(store, transport, Clock::system(), fast_retries()).unwrap();
    rt().block_on(w.drain(Duration::from_secs(20)))
        .unwrap()
        .sent
}

fn fast_retries() -> Policy {
    Policy {
        max_age: Duration::from_secs(3600),
        base: Duration::from_millis(1),
        max: Duration::from_millis(5),
        ..Policy::default()
    }
}

/// What the pipeline does for an `auto_reply` decision: a ticket, then the
/// planner in the same transaction.
fn auto_reply(
    store: &mut Store,
    planner: &Planner,
    rules: &RuleSet,
    raw: &[u8],
    lang: &str,
) -> (TicketId, ReplyOutcome) {
    auto_reply_to(store, planner, rules, &helpgate::parse::parse(raw), lang)
}

fn auto_reply_to(
    store: &mut Store,
    planner: &Planner,
    rules: &RuleSet,
    email: &helpgate::parse::ParsedEmail,
    lang: &str,
) -> (TicketId, ReplyOutcome) {
    let email = email.clone();
    let now = Clock::system().now();
    store
        .transaction(|tx| {
            let ticket = match helpgate::thread::locate(tx, &email)?.0 {
                helpgate::thread::TicketRef::Existing { ticket, .. } => ticket,
                helpgate::thread::TicketRef::New => tickets::insert(
                    tx,
                    &NewTicket {
                        project: "voices".into(),
                        state: TicketState::Answered,
                        queue: None,
                        language: Some(lang.into()),
                        topic: Some("payment".into()),
                        participant: helpgate::pipeline::participant(&email),
                        subject: email.subject.clone(),
                        at: now,
                    },
                )?,
            };
            let decision = Decision {
                action: Action::AutoReply,
                queue: None,
                template: Some("payment".into()),
                reason: "payment question".into(),
            };
            let class = Classification {
                language: Some(lang.into()),
                topic: Some("payment".into()),
                ..Classification::default()
            };
            let out = planner.on_decision(
                tx,
                &Decided {
                    ticket,
                    project: "voices",
                    email: &email,
                    verdict: &Verdict::Human,
                    class: &class,
                    decision: &decision,
                    oversize: false,
                    rules,
                    now,
                    found: None,
                },
            )?;
            Ok::<_, helpgate::store::StoreError>((ticket, out))
        })
        .unwrap()
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.split("\r\n\r\n")
        .next()
        .unwrap()
        .split("\r\n")
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn automatic_reply_arrives_threaded_in_the_participants_language() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let planner = Planner::default();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Zahlung fehlt",
        "q1@example.test",
        "Hallo, meine Zahlung fehlt.",
    );
    let (ticket, out) = auto_reply(&mut store, &planner, &rules, &mail, "de");
    assert_eq!(out.held_back, None);
    let id = out.outbox.expect("a reply was queued");
    assert_eq!(
        tickets::get(store.conn(), ticket).unwrap().unwrap().state,
        TicketState::Answered
    );

    let mut w = Worker::with_store(
        store,
        smtp(stack.smtp_port),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let stats = rt().block_on(w.drain(Duration::from_secs(20))).unwrap();
    assert_eq!(stats.sent, 1);
    stack.wait_count("alice", "INBOX", 1, Duration::from_secs(10));
    let got = stack.fetch_all("alice", "INBOX");
    let text = String::from_utf8(got[0].bytes.clone()).unwrap();
    assert_eq!(header(&text, "Subject"), Some("Re: Zahlung fehlt [#1]"));
    assert_eq!(header(&text, "In-Reply-To"), Some("<q1@example.test>"));
    assert_eq!(header(&text, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(&text, "Content-Language"), Some("de"));
    assert!(header(&text, "From")
        .unwrap()
        .contains("<support@example.test>"));
    let mid = header(&text, "Message-ID").unwrap();
    assert!(
        mid.ends_with("@example.test>") && mid.contains(".t1."),
        "{mid}"
    );
    assert!(text.contains("https://voices.example.test/payment_info"));
    let row = outbox::get(w.store().conn(), id).unwrap().unwrap();
    assert_eq!(row.state, "sent");

    // The participant answers our reply: it joins the same ticket.
    let answer = format!(
        "From: alice@example.test\r\nTo: support@example.test\r\nSubject: Re: Zahlung fehlt\r\nMessage-ID: <q2@example.test>\r\nIn-Reply-To: {mid}\r\n\r\nDanke!\r\n"
    );
    let located =
        helpgate::thread::locate(w.store().conn(), &helpgate::parse::parse(answer.as_bytes()))
            .unwrap()
            .0;
    assert!(
        matches!(located, helpgate::thread::TicketRef::Existing { ticket: t, .. } if t == ticket)
    );
}

/// A TCP forwarder to Postfix that can be switched off and on: "the SMTP
/// server is down" without touching Postfix's queue.
struct Switch {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Switch {
    fn new(target: u16) -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let flag = up.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !flag.load(Ordering::SeqCst) {
                    drop(client); // connection closed at once: like a dead server
                    continue;
                }
                let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
                for (mut a, mut b) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = a.read(&mut buf) {
                            if n == 0 || b.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = b.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Switch { port, up }
    }
}

#[test]
fn smtp_down_then_up_every_reply_delivered_exactly_once() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let planner = Planner::default();
    let users = ["alice", "bob", "carol", "dave"];
    for (i, u) in users.iter().enumerate() {
        let mail = text_mail(
            &format!("{u}@example.test"),
            "support@example.test",
            "Payment",
            &format!("d{i}@example.test"),
            "Where is my money?",
        );
        assert!(auto_reply(&mut store, &planner, &rules, &mail, "en")
            .1
            .outbox
            .is_some());
    }
    let switch = Switch::new(stack.smtp_port);
    let mut w =
        Worker::with_store(store, smtp(switch.port), Clock::system(), fast_retries()).unwrap();
    let rt = rt();
    let down = rt.block_on(w.deliver_due()).unwrap();
    assert_eq!((down.sent, down.retried), (0, 4));
    assert!(outbox::list(w.store().conn(), Some("pending"))
        .unwrap()
        .iter()
        .all(|r| r.last_error.is_some()));

    switch.up.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    let up = rt.block_on(w.drain(Duration::from_secs(20))).unwrap();
    assert_eq!(up.sent, 4);
    // Nothing is left to send, and running again sends nothing twice.
    let again = rt.block_on(w.drain(Duration::from_secs(5))).unwrap();
    assert_eq!(again.sent, 0);
    for u in users {
        stack.wait_count(u, "INBOX", 1, Duration::from_secs(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    for u in users {
        assert_eq!(stack.count(u, "INBOX"), 1, "{u} got the reply exactly once");
    }
}

#[test]
fn crash_after_250_resends_at_most_once() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "c1@example.test",
        "?",
    );
    let id = auto_reply(&mut store, &Planner::default(), &rules, &mail, "en")
        .1
        .outbox
        .unwrap();
    // Simulate the crash: marked sending, the server took it (250), but the
    // process died before marking it sent.
    outbox::mark_sending(store.conn(), id).unwrap();
    let row = outbox::get(store.conn(), id).unwrap().unwrap();
    stack.send("support", "alice", &row.raw);
    drop(store);
    // Restart: the row is recovered and sent once more, then never again.
    let rt = rt();
    for _ in 0..3 {
        let mut w = Worker::new(
            &env.state().join("helpgate.db"),
            smtp(stack.smtp_port),
            Clock::system(),
            fast_retries(),
        )
        .unwrap();
        rt.block_on(w.drain(Duration::from_secs(10))).unwrap();
    }
    stack.wait_count("alice", "INBOX", 2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        stack.count("alice", "INBOX"),
        2,
        "original + at most one resend"
    );
    let store = Store::open_in(&env.state()).unwrap();
    assert_eq!(
        outbox::get(store.conn(), id).unwrap().unwrap().state,
        "sent"
    );
}

#[test]
fn permanent_5xx_parks_the_reply_and_sends_the_ticket_to_a_human() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "p1@example.test",
        "?",
    );
    let (ticket, out) = auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    let id = out.outbox.unwrap();
    // Over Postfix's message_size_limit (50 MB): 552 5.3.4 after DATA.
    let mut raw = outbox::get(store.conn(), id).unwrap().unwrap().raw;
    raw.extend(std::iter::repeat_n(b"x".repeat(998).into_iter().chain(*b"\r\n"), 53_000).flatten());
    store
        .conn()
        .execute(
            "UPDATE outbox SET raw = ?2 WHERE id = ?1",
            rusqlite::params![id, raw],
        )
        .unwrap();
    let mut w = Worker::with_store(
        store,
        smtp(stack.smtp_port),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let s = rt().block_on(w.drain(Duration::from_secs(30))).unwrap();
    assert_eq!((s.sent, s.parked), (0, 1));
    let row = outbox::get(w.store().conn(), id).unwrap().unwrap();
    assert_eq!(row.state, "parked");
    assert!(
        row.last_error.as_deref().unwrap().contains("552"),
        "{:?}",
        row.last_error
    );
    let t = tickets::get(w.store().conn(), ticket).unwrap().unwrap();
    assert_eq!(t.state, TicketState::Open);
    assert_eq!(t.queue.as_deref(), Some("general"));
    let events = helpgate::store::events::for_ticket(w.store().conn(), ticket).unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "reply_parked" && e.detail.contains("552")));
}

#[test]
fn loop_with_auto_replying_bots_stays_within_limits_and_trips_the_breaker() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let planner = Planner {
        limits: ReplyLimits {
            per_recipient: 3,
            per_ticket: 100,
            breaker_per_minute: 8,
            ..ReplyLimits::default()
        },
        ..Planner::default()
    };
    let bots = ["alice", "bob", "carol", "dave"];
    // Each bot writes once; after that it answers everything it receives
    // (a naive bot: no Auto-Submitted header, a fresh Message-ID each time,
    // dated when it writes, as bots in a loop are).
    let now = || chrono::Utc::now().to_rfc2822();
    let mut inbound: Vec<Vec<u8>> = bots
        .iter()
        .map(|b| {
            format!(
                "From: {b}@example.test\r\nTo: support@example.test\r\nSubject: Payment\r\nMessage-ID: <{b}-0@example.test>\r\nDate: {}\r\n\r\nhello\r\n",
                now()
            )
            .into_bytes()
        })
        .collect();
    let rt = rt();
    let mut seen = std::collections::HashMap::new();
    let mut total_replies = 0;
    let mut held = Vec::new();
    let mut transport = Some(smtp(stack.smtp_port));
    for round in 0..8 {
        for raw in inbound.drain(..) {
            let out = auto_reply(&mut store, &planner, &rules, &raw, "en").1;
            total_replies += usize::from(out.outbox.is_some());
            held.extend(out.held_back);
        }
        let mut w = Worker::with_store(
            store,
            transport.take().unwrap(),
            Clock::system(),
            fast_retries(),
        )
        .unwrap();
        rt.block_on(w.drain(Duration::from_secs(20))).unwrap();
        store = Store::open_in(&env.state()).unwrap();
        drop(w);
        transport = Some(smtp(stack.smtp_port));
        std::thread::sleep(Duration::from_millis(300));
        for b in bots {
            let mail = stack.fetch_all(b, "INBOX");
            let n = seen.entry(b).or_insert(0usize);
            for m in &mail[*n..] {
                let text = String::from_utf8_lossy(&m.bytes);
                let subject = header(&text, "Subject").unwrap_or("").to_string();
                let mid = header(&text, "Message-ID").unwrap_or("").to_string();
                inbound.push(
                    format!(
                        "From: {b}@example.test\r\nTo: support@example.test\r\nSubject: Re: {subject}\r\nMessage-ID: <{b}-{round}-{}@example.test>\r\nIn-Reply-To: {mid}\r\nDate: {}\r\n\r\nThanks for your mail. This is an automatic answer.\r\n",
                        m.uid,
                        now()
                    )
                    .into_bytes(),
                );
            }
            *n = mail.len();
        }
        if inbound.is_empty() {
            break;
        }
    }
    assert!(inbound.is_empty(), "the loop stopped");
    assert!(
        total_replies <= 8,
        "{total_replies} replies, breaker at 8/min"
    );
    for b in bots {
        assert!(
            stack.count(b, "INBOX") <= 3,
            "{b}: at most 3 automatic replies"
        );
    }
    assert!(
        held.iter().any(|h| h.contains("circuit breaker")),
        "{held:?}"
    );
    let breaker = limits::breaker(store.conn()).unwrap().unwrap();
    assert!(breaker.is_open(Clock::system().now()));
    drop(store);
    let status = env.ok(&["status"]);
    assert!(status.contains("circuit breaker: OPEN"), "{status}");
    env.ok(&["breaker", "reset"]);
    assert!(env.ok(&["status"]).contains("circuit breaker: closed"));
}

#[test]
fn corpus_bounces_and_auto_replies_never_get_a_reply() {
    let Some(corpus) = crate::common::corpus() else {
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![corpus];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let name = p.to_string_lossy().to_lowercase();
        let machine = name.contains("bounce")
            || name.contains("dsn")
            || name.contains("autorepl")
            || name.contains("vacation")
            || name.contains("complaints")
            || name.contains("disposition-notification")
            || name.contains("multipart_report");
        if machine && (name.ends_with(".eml") || name.ends_with(".msg")) {
            files.push(p);
        }
    }
    files.sort();
    assert!(
        files.len() > 100,
        "found only {} machine mails",
        files.len()
    );
    // The real pipeline with the shipped rules and templates: whatever the
    // guard, the classifier and the loop guard make of them, no outbox row.
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let pipeline = helpgate::pipeline::Pipeline {
        rules: Arc::new(RuleSet::builtin()),
        clock: Clock::fixed_unix(1_790_000_000),
        bound_project: None,
        max_message_bytes: 50 << 20,
        replies: Arc::new(Planner::default()),
    };
    let batch = files
        .iter()
        .map(|p| helpgate::intake::RawMessage {
            source: p.display().to_string(),
            mailbox: None,
            bytes: std::fs::read(p).unwrap(),
        })
        .collect();
    let outcomes = pipeline.process_batch(&mut store, batch).unwrap();
    for (f, o) in files.iter().zip(&outcomes) {
        assert!(
            !matches!(o, helpgate::pipeline::Outcome::Quarantined { .. }),
            "{}: {o:?}",
            f.display()
        );
    }
    let answered: Vec<String> = store
        .conn()
        .prepare("SELECT m.source FROM outbox o JOIN messages m ON m.id = o.cause_message")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        answered.is_empty(),
        "machine mail answered:\n{}",
        answered.join("\n")
    );
    assert_eq!(outcomes.len(), files.len());
}

#[test]
fn cli_assign_and_move_are_recorded_and_list_filters_by_person_and_age() {
    let env = Env::new();
    for (i, who) in ["ana", "bo", "cy"].iter().enumerate() {
        let m = env.mail(
            &format!("{who}.eml"),
            &format!("From: {who} <{who}@example.org>\nTo: support@helpgate.example\nSubject: Login {i}\nMessage-ID: <as{i}@example.org>\n\nI cannot log in to my account since yesterday, it says my password is wrong.\n"),
        );
        env.ok(&["ingest", m.to_str().unwrap()]);
    }
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["tickets", "list", "--json"];
        all.extend_from_slice(args);
        env.ok(&all)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(ids(&["--unassigned"]), [1, 2, 3]);

    env.ok(&["tickets", "assign", "[#2]", "maria", "--as", "lead"]);
    env.ok(&["tickets", "claim", "3", "--as", "maria"]);
    assert_eq!(ids(&["--mine", "maria"]), [2, 3]);
    assert_eq!(ids(&["--unassigned"]), [1]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["tickets", "show", "2", "--json"])).unwrap();
    assert_eq!(show["assigned_to"], "maria");
    assert!(env
        .ok(&["tickets", "show", "2"])
        .contains("lead assign: assigned to maria"));

    env.ok(&["tickets", "assign", "2", "--clear", "--as", "lead"]);
    assert_eq!(ids(&["--mine", "maria"]), [3]);

    env.ok(&["tickets", "move", "1", "sensitive", "--as", "lead"]);
    assert_eq!(ids(&["--queue", "sensitive"]), [1]);
    assert!(env
        .ok(&["tickets", "show", "1"])
        .contains("lead move: queue general -> sensitive"));
    let out = env.run(&["tickets", "move", "1", "nowhere", "--as", "lead"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nowhere"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing here has waited a day; everything has waited zero minutes.
    assert!(ids(&["--older-than", "1d"]).is_empty());
    assert_eq!(ids(&["--older-than", "0m"]).len(), 3);
    let out = env.run(&["tickets", "list", "--older-than", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected an age like 90m, 36h or 3d"));
}

#[test]
fn cli_specialist_reply_lands_in_the_file_outbox_and_templates_check_reports_gaps() {
    let env = Env::new();
    let m = env.mail(
        "q.eml",
        "From: Ana <ana@example.org>\nTo: support@helpgate.example\nSubject: Login\nMessage-ID: <u1@example.org>\n\nI cannot log in to my account since yesterday, it says my password is wrong.\n",
    );
    env.ok(&["ingest", m.to_str().unwrap()]);
    let body = env.mail("body.txt", "Hello Ana,\nyes, it is there.\n");
    env.ok(&[
        "tickets",
        "reply",
        "1",
        "--body-file",
        body.to_str().unwrap(),
        "--as",
        "maria",
    ]);
    let files: Vec<_> = std::fs::read_dir(env.state().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(header(&text, "Subject"), Some("Re: Login [#1]"));
    assert_eq!(header(&text, "In-Reply-To"), Some("<u1@example.org>"));
    assert_eq!(
        header(&text, "Auto-Submitted"),
        None,
        "a specialist's reply is human"
    );
    assert!(text.ends_with("Hello Ana,\r\nyes, it is there.\r\n"));
    let out = env.ok(&["outbox", "list", "--json"]);
    assert!(out.contains("\"state\":\"sent\""), "{out}");
    env.ok(&[
        "tickets",
        "note",
        "1",
        "checked the upload log",
        "--as",
        "maria",
    ]);
    env.ok(&[
        "tickets",
        "reclassify",
        "1",
        "--topic",
        "upload_confirmation",
        "--as",
        "maria",
    ]);
    let show = env.ok(&["tickets", "show", "1"]);
    assert!(
        show.contains("maria reclassify: topic account -> upload_confirmation"),
        "{show}"
    );

    // The shipped templates cover every auto-reply topic and language.
    let out = env.run(&["templates", "check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A set with only an English payment answer has gaps.
    let gaps = env.state().join("gaps");
    std::fs::create_dir_all(gaps.join("en")).unwrap();
    std::fs::write(
        gaps.join("en/payment.txt"),
        "Subject: Payment\n\nHi {participant_name}, see {link.payment_info}\n",
    )
    .unwrap();
    let cfg = env.mail(
        "g.toml",
        &format!("templates_dir = \"{}\"\n", gaps.display()),
    );
    let out = env.run(&["--config", cfg.to_str().unwrap(), "templates", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("upload_confirmation"), "{report}");

    // A template with a typo is refused with path:line.
    let dir = env.state().join("tpl");
    std::fs::create_dir_all(dir.join("en")).unwrap();
    std::fs::write(
        dir.join("en/payment.txt"),
        "Subject: x\n\nHi {participant_nmae}\n",
    )
    .unwrap();
    let cfg = env.mail(
        "c.toml",
        &format!("templates_dir = \"{}\"\n", dir.display()),
    );
    let out = env.run(&["--config", cfg.to_str().unwrap(), "templates", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("en/payment.txt:3: unknown placeholder {participant_nmae}"),
        "{err}"
    );
}

#[test]
fn hard_bounce_of_our_reply_notes_the_ticket_and_suppresses_the_address() {
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let planner = Planner::default();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "b1@example.test",
        "?",
    );
    let (ticket, out) = auto_reply(&mut store, &planner, &rules, &mail, "en");
    let ours = outbox::get(store.conn(), out.outbox.unwrap())
        .unwrap()
        .unwrap();
    // A DSN without References: only the returned headers name our reply.
    let mut dsn = helpgate::parse::parse(
        b"From: MAILER-DAEMON@example.test\r\nTo: support@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@example.test>\r\n\r\nsorry\r\n",
    );
    dsn.delivery_report = Some(helpgate::parse::DeliveryReport {
        action: Some("failed".into()),
        status: Some("5.1.1".into()),
        final_recipient: Some("rfc822; alice@example.test".into()),
        original_message_id: Some(ours.message_id.clone()),
        diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
    });
    let now = Clock::system().now();
    store
        .transaction(|tx| {
            let located = helpgate::thread::locate(tx, &dsn)?.0;
            assert_eq!(located, helpgate::thread::TicketRef::New);
            let located = helpgate::reply::bounce::relocate(tx, &dsn, located)?;
            assert!(matches!(located, helpgate::thread::TicketRef::Existing { ticket: t, .. } if t == ticket));
            assert!(helpgate::reply::bounce::record(tx, &dsn, ticket, now, Duration::from_secs(60 * 86400))?);
            Ok::<_, helpgate::store::StoreError>(())
        })
        .unwrap();
    let events = helpgate::store::events::for_ticket(store.conn(), ticket).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail == "reply bounced: 5.1.1 user unknown"),
        "{events:?}"
    );
    assert_eq!(
        outbox::get(store.conn(), ours.id).unwrap().unwrap().state,
        "bounced"
    );
    // The next automatic reply to that address is held back.
    let again = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment again",
        "b2@example.test",
        "??",
    );
    let out = auto_reply(&mut store, &planner, &rules, &again, "en").1;
    assert!(out.held_back.unwrap().contains("suppressed"));
}

#[test]
fn worker_task_delivers_when_woken_and_stops_on_shutdown() {
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let outdir = env.dir.path().join("out");
    let w = Worker::new(
        &env.state().join("helpgate.db"),
        Transport::file(&outdir),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let wake = w.wake_handle();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let task = rt.spawn(w.run(shutdown.clone()));
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "w1@example.test",
        "?",
    );
    auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    wake.notify_one();
    crate::harness::wait_for("the reply file", Duration::from_secs(5), || {
        std::fs::read_dir(&outdir).is_ok_and(|d| d.count() == 1)
    });
    shutdown.cancel();
    rt.block_on(task).unwrap().unwrap();
    assert_eq!(outbox::list(store.conn(), Some("sent")).unwrap().len(), 1);
}

#[test]
fn oversize_mail_gets_the_upload_page_reply_and_stays_with_a_human() {
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let mut rules = rules();
    rules.projects[0].id = "default".into();
    let pipeline = helpgate::pipeline::Pipeline {
        rules: Arc::new(rules),
        clock: Clock::system(),
        bound_project: None,
        max_message_bytes: 2048,
        replies: Arc::new(Planner::default()),
    };
    let mut mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "My recordings",
        "o1@example.test",
        "attached",
    );
    mail.extend(std::iter::repeat_n(b'a', 4096));
    let out = pipeline
        .process_batch(
            &mut store,
            vec![helpgate::intake::RawMessage {
                source: "test".into(),
                mailbox: None,
                bytes: mail,
            }],
        )
        .unwrap();
    let ticket = match &out[0] {
        helpgate::pipeline::Outcome::NewTicket { ticket, action, .. } => {
            assert_eq!(*action, Action::Human);
            *ticket
        }
        other => panic!("{other:?}"),
    };
    let t = tickets::get(store.conn(), ticket).unwrap().unwrap();
    assert_eq!(t.state, TicketState::Open);
    let rows = outbox::list(store.conn(), None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].template.as_deref(), Some("en/oversize"));
    let raw =
        String::from_utf8(outbox::get(store.conn(), rows[0].id).unwrap().unwrap().raw).unwrap();
    assert!(
        raw.contains("https://voices.example.test/upload_page"),
        "{raw}"
    );
}

/// A second Postfix in front of the same Dovecot, with TLS: STARTTLS on
/// one port, implicit TLS on another, the stack's self-signed certificate;
/// `main_extra` lines (`key = value`) are set in its main.cf.
fn tls_postfix(
    stack: &MailStack,
    main_extra: &str,
) -> (crate::harness::Group, u16, u16, tempfile::TempDir) {
    use crate::harness::{free_port, servers, Group};
    let dir = tempfile::Builder::new()
        .prefix("helpgate-tls-")
        .tempdir()
        .unwrap();
    let (starttls, smtps) = (free_port(), free_port());
    let pf = dir.path().join("postfix");
    servers::write_postfix(&pf, starttls, stack.lmtp_port);
    let tls = stack.dir.path().join("dovecot/tls");
    let mut main = std::fs::read_to_string(pf.join("etc/main.cf")).unwrap();
    main = main.replace("smtpd_tls_security_level = none\n", "");
    main.push_str(&format!(
        "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n",
        tls.join("cert.pem").display(),
        tls.join("key.pem").display()
    ));
    // Replace, never repeat, a key: every Postfix process warns about a
    // repeated one at start-up, and postlogd, blocked sending its own
    // warnings to its full log socket, then hangs the whole instance.
    for line in main_extra.lines() {
        if let Some((key, _)) = line.split_once(" = ") {
            let prefix = format!("{key} ");
            main = main
                .lines()
                .filter(|l| !l.starts_with(&prefix))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        main.push_str(line);
        main.push('\n');
    }
    std::fs::write(pf.join("etc/main.cf"), main).unwrap();
    let mut master = std::fs::read_to_string(pf.join("etc/master.cf")).unwrap();
    master.push_str(&format!(
        "127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt\n"
    ));
    std::fs::write(pf.join("etc/master.cf"), master).unwrap();
    servers::age_postfix_config(&pf.join("etc"));
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )
    .unwrap();
    let mut g = Group::spawn_server(
        std::process::Command::new("/usr/lib/postfix/sbin/master")
            .arg("-c")
            .arg(pf.join("etc"))
            .arg("-d"),
        &pf.join("master.stderr"),
    );
    g.wait_port(starttls, "tls postfix", &pf.join("postfix.log"));
    g.wait_port(smtps, "tls postfix smtps", &pf.join("postfix.log"));
    (g, starttls, smtps, dir)
}

#[test]
fn starttls_and_implicit_tls_verify_the_certificate() {
    let stack = MailStack::start();
    let (_postfix, starttls, smtps, _dir) = tls_postfix(&stack, "");
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let rt = rt();
    let config = |port: u16, security: Security, ca: bool| SmtpConfig {
        host: "localhost".into(),
        port,
        security,
        username: None,
        password: None,
        ca_file: ca.then(|| stack.cert_path.clone()),
        hello_name: "helpgate.example.test".into(),
        timeout: Duration::from_secs(10),
        connections: 1,
    };
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "t1@example.test",
        "?",
    );
    auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    // Without our CA the self-signed certificate is refused: nothing sent.
    let mut w = Worker::with_store(
        store,
        Transport::smtp(config(starttls, Security::StartTls, false)),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let s = rt.block_on(w.deliver_due()).unwrap();
    assert_eq!((s.sent, s.retried), (0, 1));
    let row = &outbox::list(w.store().conn(), Some("pending")).unwrap()[0];
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{:?}",
        row.last_error
    );
    drop(w);
    let store = Store::open_in(&env.state()).unwrap();
    std::thread::sleep(Duration::from_millis(10));
    let mut w = Worker::with_store(
        store,
        Transport::smtp(config(starttls, Security::StartTls, true)),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    assert_eq!(
        rt.block_on(w.drain(Duration::from_secs(20))).unwrap().sent,
        1
    );
    drop(w);
    // Implicit TLS.
    let mut store = Store::open_in(&env.state()).unwrap();
    let mail = text_mail(
        "bob@example.test",
        "support@example.test",
        "Payment",
        "t2@example.test",
        "?",
    );
    auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    let mut w = Worker::with_store(
        store,
        Transport::smtp(config(smtps, Security::Tls, false)),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let s = rt.block_on(w.deliver_due()).unwrap();
    assert_eq!(
        (s.sent, s.retried),
        (0, 1),
        "implicit TLS also verifies: {s:?} {:?}",
        outbox::list(w.store().conn(), None).unwrap()
    );
    drop(w);
    let sent = sent_by_fresh_worker(&env, Transport::smtp(config(smtps, Security::Tls, true)));
    assert_eq!(sent, 1);
    stack.wait_count("alice", "INBOX", 1, Duration::from_secs(10));
    stack.wait_count("bob", "INBOX", 1, Duration::from_secs(10));
}

/// SMTP AUTH over STARTTLS against a Postfix that relays only for
/// authenticated clients (Dovecot checks the password, as in most
/// installations): a wrong password is retried, not parked, and the ticket
/// stays as it was; the right one delivers.
#[test]
fn smtp_auth_delivers_with_the_password_and_retries_when_the_login_is_refused() {
    let mut stack = MailStack::start();
    let sasl = stack.enable_sasl();
    let (_postfix, starttls, _smtps, dir) = tls_postfix(
        &stack,
        &format!(
            "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n\
             smtpd_sasl_path = inet:127.0.0.1:{sasl}\nsmtpd_tls_auth_only = yes\n\
             mynetworks = 192.0.2.1/32\n\
             smtpd_relay_restrictions = permit_sasl_authenticated, reject\n\
             smtpd_recipient_restrictions = permit_sasl_authenticated, reject\n"
        ),
    );
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let rt = rt();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "auth1@example.test",
        "?",
    );
    let (ticket, _) = auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    let state = |store: &Store| tickets::get(store.conn(), ticket).unwrap().unwrap().state;
    let before = state(&store);
    let config = |password: &str| {
        let file = env.dir.path().join(format!("pw-{password}"));
        std::fs::write(&file, format!("{password}\n")).unwrap();
        SmtpConfig {
            host: "localhost".into(),
            port: starttls,
            security: Security::StartTls,
            username: Some("support@example.test".into()),
            password: Some(
                helpgate::config::secret::Secret::parse(&format!("file:{}", file.display()))
                    .unwrap(),
            ),
            ca_file: Some(stack.cert_path.clone()),
            hello_name: "helpgate.example.test".into(),
            timeout: Duration::from_secs(10),
            connections: 1,
        }
    };
    let mut w = Worker::with_store(
        store,
        Transport::smtp(config("not-the-password")),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    let s = rt.block_on(w.deliver_due()).unwrap();
    assert_eq!((s.sent, s.retried, s.parked), (0, 1, 0));
    let row = &outbox::list(w.store().conn(), Some("pending")).unwrap()[0];
    let error = row.last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("SMTP login as support@example.test refused"),
        "{error}"
    );
    assert_eq!(
        state(w.store()),
        before,
        "no human needed for a login problem"
    );
    // Postfix logs through postlogd, a moment after the session.
    crate::harness::wait_for(
        "Postfix's log of the refused SASL login",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(dir.path().join("postfix/postfix.log"))
                .is_ok_and(|log| log.contains("SASL PLAIN authentication failed"))
        },
    );
    drop(w);
    let sent = sent_by_fresh_worker(&env, Transport::smtp(config(crate::harness::PASSWORD)));
    assert_eq!(sent, 1);
    stack.wait_count("alice", "INBOX", 1, Duration::from_secs(10));
}

#[test]
fn transient_failures_park_after_the_max_age_and_the_ticket_goes_to_a_human() {
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "a1@example.test",
        "?",
    );
    let (ticket, _) = auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    let dead = crate::harness::free_port();
    let policy = Policy {
        max_age: Duration::from_millis(50),
        ..fast_retries()
    };
    let mut w = Worker::with_store(store, smtp(dead), Clock::system(), policy).unwrap();
    let rt = rt();
    assert_eq!(rt.block_on(w.deliver_due()).unwrap().retried, 1);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(rt.block_on(w.deliver_due()).unwrap().parked, 1);
    let row = &outbox::list(w.store().conn(), Some("parked")).unwrap()[0];
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 2 attempts"),
        "{:?}",
        row.last_error
    );
    assert_eq!(
        tickets::get(w.store().conn(), ticket)
            .unwrap()
            .unwrap()
            .state,
        TicketState::Open
    );
    // `outbox retry` queues it again with a fresh window.
    drop(w);
    env.ok(&["outbox", "retry", &row.id.to_string()]);
    let store = Store::open_in(&env.state()).unwrap();
    assert_eq!(
        outbox::get(store.conn(), row.id).unwrap().unwrap().state,
        "pending"
    );
}

#[test]
fn out_of_office_answer_to_our_reply_attaches_and_gets_no_reply() {
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let rules = rules();
    let planner = Planner::default();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Payment",
        "ooo1@example.test",
        "?",
    );
    let (ticket, out) = auto_reply(&mut store, &planner, &rules, &mail, "en");
    let ours = outbox::get(store.conn(), out.outbox.unwrap())
        .unwrap()
        .unwrap();
    let ooo = format!(
        "From: alice@example.test\r\nTo: support@example.test\r\nSubject: Out of office: Re: Payment [#{}]\r\nMessage-ID: <ooo2@example.test>\r\nIn-Reply-To: <{}>\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n",
        ticket.0, ours.message_id
    );
    let mut ooo = helpgate::parse::parse(ooo.as_bytes());
    // The foundation's minimal parser does not list headers yet (the parse
    // issue does): give the loop guard what the full parser will.
    if ooo.header("auto-submitted").is_none() {
        ooo.headers
            .push(("auto-submitted".into(), "auto-replied".into()));
    }
    let (t2, out) = auto_reply_to(&mut store, &planner, &rules, &ooo, "en");
    assert_eq!(t2, ticket, "joins the same ticket");
    assert_eq!(out.outbox, None);
    assert!(out.held_back.is_some());
    let events = helpgate::store::events::for_ticket(store.conn(), ticket).unwrap();
    assert!(events.iter().any(|e| e.kind == "auto_answer"), "{events:?}");
    assert_eq!(outbox::list(store.conn(), None).unwrap().len(), 1);
}

#[test]
fn postfix_bounce_of_our_reply_attaches_to_its_ticket_through_the_pipeline() {
    let stack = MailStack::start();
    let env = Env::new();
    let mut store = Store::open_in(&env.state()).unwrap();
    let mut rules = rules();
    rules.projects[0].id = "default".into();
    let rules = Arc::new(rules);
    // A participant whose mailbox does not exist: Postfix accepts the reply,
    // Dovecot's LMTP refuses it (550 5.1.1), and the DSN comes back to
    // support@ (our envelope sender).
    let mail = text_mail(
        "ghost@example.test",
        "support@example.test",
        "Payment",
        "g1@example.test",
        "?",
    );
    let (ticket, out) = auto_reply(&mut store, &Planner::default(), &rules, &mail, "en");
    assert!(out.outbox.is_some());
    let mut w = Worker::with_store(
        store,
        smtp(stack.smtp_port),
        Clock::system(),
        fast_retries(),
    )
    .unwrap();
    assert_eq!(
        rt().block_on(w.drain(Duration::from_secs(20)))
            .unwrap()
            .sent,
        1
    );
    drop(w);
    stack.wait_count("support", "INBOX", 1, Duration::from_secs(20));
    let dsn = stack.fetch_all("support", "INBOX").remove(0).bytes;

    let pipeline = helpgate::pipeline::Pipeline {
        rules: rules.clone(),
        clock: Clock::system(),
        bound_project: None,
        max_message_bytes: 50 << 20,
        replies: Arc::new(Planner::default()),
    };
    let mut store = Store::open_in(&env.state()).unwrap();
    let outcome = pipeline
        .process_batch(
            &mut store,
            vec![helpgate::intake::RawMessage {
                source: "imap:support/1".into(),
                mailbox: None,
                bytes: dsn,
            }],
        )
        .unwrap();
    assert!(
        matches!(&outcome[0], helpgate::pipeline::Outcome::FollowUp { ticket: t, .. } if *t == ticket),
        "{outcome:?}"
    );
    let events = helpgate::store::events::for_ticket(store.conn(), ticket).unwrap();
    let bounced = events
        .iter()
        .find(|e| e.kind == "reply_bounced")
        .expect("bounce noted");
    assert!(
        bounced.detail.starts_with("reply bounced: 5.1.1"),
        "{}",
        bounced.detail
    );
    assert_eq!(
        outbox::list(store.conn(), None).unwrap().len(),
        1,
        "no reply to the bounce"
    );
    let now = Clock::system().now();
    assert!(
        helpgate::store::suppression::get(store.conn(), "ghost@example.test", now)
            .unwrap()
            .is_some()
    );
}

#[test]
fn rules_test_shows_the_rendered_reply_in_the_participants_language() {
    let env = Env::new();
    let mail = crate::common::repo().join("examples/maildir/new/1732500001.M1P1.demo");
    let out = env.ok(&["rules", "test", "--json", mail.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["decision"]["action"], "auto_reply", "{v}");
    let reply = &v["reply"];
    assert_eq!(reply["template"], "payment");
    assert_eq!(reply["language"], "pt");
    assert!(
        reply["subject"].as_str().unwrap().contains("[#new]"),
        "{reply}"
    );
    let body = reply["body"].as_str().unwrap();
    assert!(
        body.contains("Ana"),
        "greets the participant by first name: {body}"
    );
    assert!(
        body.contains("https://helpgate.example/help/payment"),
        "{body}"
    );
    assert!(!body.contains('{'), "no placeholder left: {body}");
    let text = env.ok(&["rules", "test", mail.to_str().unwrap()]);
    assert!(text.contains("reply:     template payment in pt"), "{text}");
}

/// Issue 11's queue notice, end to end: `ingest` with `[notices]` queues it
/// with the new ticket and sends it through Postfix (`[smtp]`), and the
/// team's mailbox in Dovecot gets the ticket's facts and link, not the
/// participant's words or address.
#[test]
fn queue_notice_reaches_the_team_through_postfix_without_the_participants_words() {
    let stack = MailStack::start();
    let env = Env::new();
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(
        &config,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             [notices]\nfrom = \"helpgate@example.test\"\nconsole_url = \"https://desk.example.test\"\n\
             [notices.queues]\nsensitive = [\"carol@example.test\"]\n",
            stack.smtp_port
        ),
    )
    .unwrap();
    let mail = env.mail(
        "privacy.eml",
        "From: Dave Doe <dave@example.test>\nTo: support@example.test\n\
         Subject: Delete my personal data\nMessage-ID: <gdpr-1@example.test>\n\n\
         Under the GDPR I request the deletion of all my personal data. Reference quokkaly.\n",
    );
    let out = env
        .cmd(&["ingest", mail.to_str().unwrap()])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("replies: 1 sent"),
        "{out:?}"
    );
    stack.wait_count("carol", "INBOX", 1, Duration::from_secs(10));
    let got = stack.fetch_all("carol", "INBOX");
    let text = String::from_utf8(got[0].bytes.clone()).unwrap();
    assert_eq!(
        header(&text, "Subject"),
        Some("New ticket [#1] in queue sensitive: privacy (en)")
    );
    assert!(
        text.contains("https://desk.example.test/tickets/1"),
        "{text}"
    );
    for secret in ["dave@example.test", "Dave", "GDPR", "quokkaly", "Delete my"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}
