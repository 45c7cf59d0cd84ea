use crate::common::{path_str, Env};
use std::os::unix::fs::PermissionsExt;

fn mail(id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Ana <ana@example.com>\nTo: support@helpgate.example\nSubject: {subject}\n\
         Date: Mon, 23 Nov 2026 09:12:00 +0000\nMessage-ID: <{id}>\n{extra}\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
    )
}

#[test]
fn demo_maildir_becomes_tickets_with_stable_json() {
    let env = Env::new();
    let maildir = crate::common::repo().join("examples/maildir");
    let out = env.ok(&["ingest", path_str(&maildir)]);
    assert!(out.contains("6 messages"), "{out}");

    let msgs = env.messages();
    assert_eq!(msgs.len(), 6);
    let keys: Vec<&str> = msgs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "message_id",
            "ticket",
            "ticket_token",
            "from",
            "subject",
            "language",
            "topic",
            "action",
            "reason",
            "notes",
            "bounce"
        ]
    );
    for m in &msgs {
        let action = m["action"].as_str().unwrap();
        assert!(
            ["auto_reply", "human", "escalate", "ignore"].contains(&action),
            "{m}"
        );
        assert!(!m["reason"].as_str().unwrap().is_empty());
        assert!(!m["message_id"].as_str().unwrap().contains('<'));
        match m["ticket"].as_i64() {
            Some(t) => assert_eq!(m["ticket_token"], format!("[#{t}]")),
            None => assert!(m["ticket_token"].is_null()),
        }
    }
    // Decoded RFC 2047 subject (Korean, base64).
    assert!(msgs
        .iter()
        .any(|m| m["subject"] == "녹음 거부 이유가 무엇인가요?"));
    // The Portuguese follow-up joined the first ticket.
    let first = msgs
        .iter()
        .find(|m| m["message_id"] == "demo-pt-1@example.com")
        .unwrap();
    let reply = msgs
        .iter()
        .find(|m| m["message_id"] == "demo-pt-2@example.com")
        .unwrap();
    assert_eq!(first["ticket"], reply["ticket"]);

    let tickets = env.tickets();
    let keys: Vec<&str> = tickets[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "token",
            "state",
            "queue",
            "language",
            "topic",
            "participant",
            "messages",
            "created_at",
            "updated_at",
            "claimed_by",
            "assigned_to"
        ]
    );
    let t1 = tickets.iter().find(|t| t["id"] == first["ticket"]).unwrap();
    assert_eq!(t1["messages"], 2);
    assert_eq!(t1["participant"], "ana.souza@example.com");
}

#[test]
fn same_message_twice_is_a_duplicate_and_changes_nothing() {
    let env = Env::new();
    let p = env.mail(
        "a.eml",
        &mail("dup-1@example.com", "Payment", "", "Where is my money?"),
    );
    env.ok(&["ingest", path_str(&p)]);
    let before = env.ok(&["messages", "list", "--json"]);
    let out = env.ok(&["ingest", "--json", path_str(&p)]);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["duplicates"], 1);
    assert_eq!(summary["new_tickets"], 0);
    assert_eq!(env.ok(&["messages", "list", "--json"]), before);
}

#[test]
fn same_message_id_with_other_content_is_kept_and_noted() {
    let env = Env::new();
    let a = env.mail("a.eml", &mail("same@example.com", "One", "", "first text"));
    let b = env.mail("b.eml", &mail("same@example.com", "Two", "", "other text"));
    env.ok(&["ingest", path_str(&a), path_str(&b)]);
    let msgs = env.messages();
    assert_eq!(msgs.len(), 2);
    let notes = msgs[1]["notes"].to_string();
    assert!(notes.contains("message_id_reused"), "{notes}");
}

#[test]
fn missing_message_id_is_synthesized_from_content() {
    let env = Env::new();
    let text = "From: a@example.com\nSubject: no id\n\nhello\n";
    let p = env.mail("a.eml", text);
    env.ok(&["ingest", path_str(&p)]);
    env.ok(&["ingest", path_str(&p)]);
    let msgs = env.messages();
    assert_eq!(msgs.len(), 1, "re-ingest of an id-less mail is a duplicate");
    assert!(msgs[0]["notes"].to_string().contains("no_message_id"));
    assert!(!msgs[0]["message_id"].as_str().unwrap().is_empty());
}

#[test]
fn threading_by_token_references_and_never_by_subject_alone() {
    let env = Env::new();
    let first = env.mail("1.eml", &mail("t-1@example.com", "Pagamento", "", "Oi"));
    env.ok(&["ingest", path_str(&first)]);
    // Token inside an RFC 2047 encoded subject, behind a Greek reply prefix.
    let by_token = env.mail(
        "2.eml",
        &mail(
            "t-2@example.com",
            "=?UTF-8?B?zpHPgDogUGFnYW1lbnRvIFsjMV0=?=",
            "",
            "ainda nada",
        ),
    );
    // Only References names the first message.
    let by_refs = env.mail(
        "3.eml",
        &mail(
            "t-3@example.com",
            "something else",
            "References: <x@y> <t-1@example.com>\n",
            "and?",
        ),
    );
    // Same subject, no link: a new conversation.
    let same_subject = env.mail(
        "4.eml",
        &mail("t-4@example.com", "Pagamento", "", "other person"),
    );
    // A token that names no ticket is noted and ignored.
    let bad_token = env.mail("5.eml", &mail("t-5@example.com", "Re: hi [#999]", "", "?"));
    env.ok(&[
        "ingest",
        path_str(&by_token),
        path_str(&by_refs),
        path_str(&same_subject),
        path_str(&bad_token),
    ]);
    let msgs = env.messages();
    let ticket = |id: &str| msgs.iter().find(|m| m["message_id"] == id).unwrap()["ticket"].clone();
    assert_eq!(msgs[1]["subject"], "Απ: Pagamento [#1]");
    assert_eq!(ticket("t-2@example.com"), ticket("t-1@example.com"));
    assert_eq!(ticket("t-3@example.com"), ticket("t-1@example.com"));
    assert_ne!(ticket("t-4@example.com"), ticket("t-1@example.com"));
    assert_ne!(ticket("t-5@example.com"), serde_json::json!(999));
    let bad = msgs
        .iter()
        .find(|m| m["message_id"] == "t-5@example.com")
        .unwrap();
    assert!(
        bad["notes"].to_string().contains("unknown_ticket_token"),
        "{bad}"
    );
}

#[test]
fn follow_up_reopens_a_closed_ticket() {
    let env = Env::new();
    let first = env.mail("1.eml", &mail("c-1@example.com", "Question", "", "Hi"));
    env.ok(&["ingest", path_str(&first)]);
    {
        let store = helpgate::store::Store::open_in(&env.state()).unwrap();
        helpgate::store::tickets::set_state(
            store.conn(),
            helpgate::ticket::TicketId(1),
            helpgate::ticket::TicketState::Closed,
            chrono::Utc::now(),
        )
        .unwrap();
    }
    let reply = env.mail(
        "2.eml",
        &mail("c-2@example.com", "Re: Question [#1]", "", "again"),
    );
    env.ok(&["ingest", path_str(&reply)]);
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["state"], "open");
    assert_eq!(tickets[0]["messages"], 2);
}

#[test]
fn raw_bytes_round_trip_exactly_and_stdin_works() {
    let env = Env::new();
    // Mixed line endings, 8-bit latin-1 and trailing junk must all survive.
    let mut raw =
        b"From: b@example.com\r\nSubject: caf\xe9\nMessage-ID: <raw-1@x>\r\n\r\nbody\r\n".to_vec();
    raw.extend_from_slice(b"\x00\xff trailing\n");
    let out = env.run_stdin(&["ingest", "-"], &raw);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = env.run(&["messages", "raw", "1"]);
    assert!(got.status.success());
    assert_eq!(got.stdout, raw);
}

#[test]
fn database_state_dir_and_written_replies_are_private() {
    let env = Env::new();
    // A payment question: answered, so a reply lands in the file outbox.
    let p = env.mail(
        "a.eml",
        &mail(
            "perm@example.com",
            "Payment",
            "",
            "I have not received my payment for last week's recordings yet.",
        ),
    );
    let out = env.ok(&["ingest", path_str(&p)]);
    assert!(out.contains("replies: 1 sent"), "{out}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.state()), 0o700);
    assert_eq!(mode(&env.state().join("helpgate.db")), 0o600);
    let outbox = env.state().join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let reply = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(mode(&reply), 0o600, "{}", reply.display());
}

#[test]
fn bad_input_gets_a_clear_message_and_good_mail_is_still_stored() {
    let env = Env::new();
    let good = env.mail("good.eml", &mail("good@example.com", "ok", "", "fine"));
    let empty = env.dir.path().join("empty.eml");
    std::fs::write(&empty, b"").unwrap();
    let binary = env.dir.path().join("photo.png");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
    let not_maildir = env.dir.path().join("emptydir");
    std::fs::create_dir(&not_maildir).unwrap();
    let missing = env.dir.path().join("nope.eml");

    let out = env.run(&[
        "ingest",
        path_str(&missing),
        path_str(&empty),
        path_str(&binary),
        path_str(&not_maildir),
        path_str(&good),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.eml") && err.contains("No such file"),
        "{err}"
    );
    assert!(err.contains("empty.eml is empty"), "{err}");
    assert!(err.contains("photo.png: not a mail message"), "{err}");
    assert!(
        err.contains("emptydir is a directory but neither a Maildir"),
        "{err}"
    );
    assert_eq!(env.messages().len(), 1, "the good mail is stored");

    let out = env.run_stdin(&["ingest", "-"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input is empty"));
}

#[test]
fn mail_over_the_size_limit_is_kept_raw_for_a_human() {
    let env = Env::new();
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(&config, "[limits]\nmax_message_bytes = 4096\n").unwrap();
    let big = format!("{}\n", "x".repeat(10_000));
    let p = env.mail(
        "big.eml",
        &mail("big@example.com", "my recordings", "", &big),
    );
    env.ok(&["--config", path_str(&config), "ingest", path_str(&p)]);
    let msgs = env.messages();
    assert_eq!(msgs[0]["action"], "human");
    assert!(
        msgs[0]["reason"].as_str().unwrap().contains("limit"),
        "{}",
        msgs[0]
    );
    assert!(msgs[0]["notes"].to_string().contains("oversize"));
    assert_eq!(msgs[0]["subject"], "my recordings");
    let raw = env.run(&["messages", "raw", "1"]).stdout;
    assert_eq!(raw, std::fs::read(&p).unwrap());
}

#[test]
fn locked_database_exits_75_so_an_mta_retries() {
    let env = Env::new();
    let p = env.mail("a.eml", &mail("lock@example.com", "x", "", "y"));
    env.ok(&["ingest", path_str(&p)]);
    let conn = rusqlite::Connection::open(env.state().join("helpgate.db")).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let q = env.mail("b.eml", &mail("lock-2@example.com", "x", "", "z"));
    let out = env.run(&["ingest", path_str(&q)]);
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    conn.execute_batch("ROLLBACK").unwrap();
    env.ok(&["ingest", path_str(&q)]);
    assert_eq!(env.messages().len(), 2);
}

#[test]
fn print_config_is_the_deploy_example_and_check_config_names_keys() {
    let env = Env::new();
    let printed = env.ok(&["print-config"]);
    let file = std::fs::read_to_string(crate::common::repo().join("deploy/helpgate.example.toml"))
        .unwrap();
    assert_eq!(printed, file);

    let good = env.dir.path().join("good.toml");
    std::fs::write(&good, &printed).unwrap();
    env.ok(&["--config", path_str(&good), "check-config"]);

    let bad = env.dir.path().join("bad.toml");
    std::fs::write(&bad, "[log]\nformat = \"xml\"\n").unwrap();
    let out = env.run(&["--config", path_str(&bad), "check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log.format: expected \"text\" or \"json\", found \"xml\""),
        "{err}"
    );

    // A mailbox routed to a project the rules do not define: `run` would
    // refuse to start, so check-config says so first, naming the key.
    let unknown = env.dir.path().join("unknown-project.toml");
    std::fs::write(
        &unknown,
        "[[mailboxes]]\nname = \"support\"\nproject = \"nope\"\n\n[mailboxes.imap]\nhost = \"127.0.0.1\"\ntls = \"none\"\n\n[mailboxes.auth]\nuser = \"u\"\npassword = \"env:HOME\"\n",
    )
    .unwrap();
    let out = env.run(&["--config", path_str(&unknown), "check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mailboxes[0].project: expected a project the rules define")
            && err.contains("\"nope\""),
        "{err}"
    );
}

#[test]
fn a_secret_only_the_service_can_read_does_not_stop_desk_commands() {
    let env = Env::new();
    let m = env.mail(
        "q.eml",
        "From: Ana <ana@example.org>\nTo: support@helpgate.example\nSubject: Login\nMessage-ID: <s1@example.org>\n\nI cannot log in to my account since yesterday, it says my password is wrong.\n",
    );
    env.ok(&["ingest", path_str(&m)]);
    // The password file exists only inside the service's credentials dir.
    let cfg = env.dir.path().join("service.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n\n[[mailboxes]]\nname = \"support\"\nproject = \"default\"\n\n[mailboxes.imap]\nhost = \"127.0.0.1\"\ntls = \"none\"\n\n[mailboxes.auth]\nuser = \"u\"\npassword = \"file:{}/run/credentials/imap-password\"\n",
            env.state().display(),
            env.dir.path().display()
        ),
    )
    .unwrap();
    let with = |args: &[&str]| {
        let mut all = vec!["--config", path_str(&cfg)];
        all.extend_from_slice(args);
        env.run(&all)
    };
    for args in [
        &["status"][..],
        &["tickets", "list", "--json"],
        &["tickets", "show", "1"],
    ] {
        let out = with(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = with(&["tickets", "list", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"id\":1"));

    let out = with(&["check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: mailboxes[0].auth.password: cannot read secret file"),
        "{err}"
    );
    let out = with(&["check-config", "--secrets"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: mailboxes[0].auth.password: cannot read secret file"),
        "{err}"
    );
    // The daemon itself refuses to start without it, naming the key.
    let out = with(&["run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("mailboxes[0].auth.password"), "{err}");
}

#[test]
fn replies_stay_with_the_process_that_holds_the_outbox_and_are_never_taken_from_it() {
    let env = Env::new();
    let pay = |id: &str, from: &str| {
        mail(id, "Payment not received", "", "Hello, I have not received my payment for the recordings I did last week. Can you check please?")
            .replace("ana@example.com", from)
    };
    let sent_files = || {
        std::fs::read_dir(env.state().join("outbox"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    let first = env.mail("a.eml", &pay("pay-1@example.com", "ana@example.com"));
    let out = env.ok(&["ingest", path_str(&first)]);
    assert!(out.contains("replies: 1 sent"), "{out}");
    assert_eq!(sent_files(), 1);

    // Another process (a running daemon) delivers this outbox: it holds the lock.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env.state().join("outbox.lock"))
        .expect("the first import created the lock file");
    lock.lock().unwrap();
    let second = env.mail("b.eml", &pay("pay-2@example.com", "rui@example.com"));
    let out = env.ok(&["ingest", path_str(&second)]);
    assert!(
        out.contains("replies: queued for the helpgate process that delivers this outbox"),
        "{out}"
    );
    assert_eq!(sent_files(), 1, "nothing sent behind the holder's back");
    // The holder is sending that reply right now: a second process must
    // not put it back to pending (it would go out twice).
    let db = rusqlite::Connection::open(env.state().join("helpgate.db")).unwrap();
    db.execute(
        "UPDATE outbox SET state = 'sending' WHERE state = 'pending'",
        [],
    )
    .unwrap();
    let out = env.ok(&["outbox", "flush"]);
    assert!(out.contains("another helpgate process"), "{out}");
    let state: String = db
        .query_row(
            "SELECT state FROM outbox ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "sending");
    assert_eq!(sent_files(), 1);

    // The holder died mid-send: the next process takes over and sends once.
    drop(lock);
    let out = env.ok(&["outbox", "flush"]);
    assert!(out.contains("1 sent"), "{out}");
    assert_eq!(sent_files(), 2);
    let out = env.ok(&["outbox", "flush"]);
    assert!(out.contains("0 sent"), "{out}");
    assert_eq!(sent_files(), 2);
}

#[test]
fn a_follow_up_gives_a_vague_ticket_its_topic_and_a_sensitive_one_takes_over() {
    let env = Env::new();
    let step = |n: usize, subject: &str, extra: &str, body: &str| {
        let id = format!("f-{n}@example.com");
        let p = env.mail(&format!("{n}.eml"), &mail(&id, subject, extra, body));
        env.ok(&["ingest", path_str(&p)]);
        let t = env.tickets();
        assert_eq!(t.len(), 1, "every mail answers the first one");
        t[0].clone()
    };
    let t = step(1, "Hello", "", "Hi, I have a question, who can I ask?");
    assert_eq!(t["topic"], "other", "{t}");
    let t = step(
        2,
        "Re: Hello [#1]",
        "In-Reply-To: <f-1@example.com>\n",
        "I have not received my payment for the recordings from last week.",
    );
    assert_eq!(t["topic"], "payment", "{t}");
    // A follow-up on the same subject that is no clearer changes nothing.
    let t = step(3, "Re: Hello [#1]", "", "ok thanks");
    assert_eq!(t["topic"], "payment", "{t}");
    // Out-of-office answer from the participant's mailbox: machine mail.
    let t = step(
        4,
        "Automatic reply: Re: Hello [#1]",
        "Auto-Submitted: auto-replied\n",
        "I am out of the office until Monday. Please delete my data is not what this says.",
    );
    assert_eq!(t["topic"], "payment", "machine mail changes no topic: {t}");
    let t = step(
        5,
        "Re: Hello [#1]",
        "",
        "Forget it. I want to leave the project: please delete my account and all my recordings.",
    );
    assert_eq!(t["topic"], "privacy", "{t}");
    assert_eq!(t["queue"], "sensitive", "{t}");
}
