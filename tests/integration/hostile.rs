//! Issue 10: hostile and malformed mail. No single mail may stop the
//! gateway (the two repro mails, an injected panic), and no stranger may
//! steer whom it writes to or which ticket a mail joins.

use crate::common::{json_lines, path_str, repo, Env};
use crate::harness::daemon::{Daemon, Mailbox};
use crate::harness::{text_mail, wait_for, MailStack};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/hostile").join(name)).expect("fixture")
}

fn plain(n: usize) -> Vec<u8> {
    text_mail(
        "bea@example.test",
        "support@example.test",
        &format!("Payment question {n}"),
        &format!("behind{n}@example.test"),
        "Hello, when will I be paid for my recordings?",
    )
}

/// A Maildir whose files sort in the order given.
fn maildir(dir: &Path, mails: &[Vec<u8>]) -> PathBuf {
    let md = dir.join("md");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(md.join("new").join(format!("{:04}.mail", i + 1)), m).unwrap();
    }
    md
}

fn quarantine(env: &Env) -> Vec<serde_json::Value> {
    json_lines(&env.ok(&["quarantine", "list", "--json"]))
}

#[test]
fn issue_10_repro_mails_are_ingested_and_the_mails_behind_them_too() {
    let env = Env::new();
    let mails = vec![
        fixture("mime-part-cycle.eml"),
        fixture("display-name-newline.eml"),
        plain(1),
        plain(2),
    ];
    let md = maildir(env.dir.path(), &mails);
    let out = env.run(&["ingest", path_str(&md)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let msgs = env.messages();
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    let cycle = &msgs[0];
    let notes: Vec<&str> = cycle["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .filter(|n| n.starts_with("mime_"))
        .collect();
    assert_eq!(notes.len(), 1, "{cycle}");
    // The line feed in the name: answered, with the name on one line.
    let newline = &msgs[1];
    assert_eq!(newline["action"], "auto_reply", "{newline}");
    let outbox = env.state().join("outbox");
    let replies: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let to_ana = replies
        .iter()
        .find(|r| r.contains("m1@ex.test"))
        .expect("a reply to the sender of the newline mail");
    assert!(
        to_ana.contains("To: \"Ana Smith\" <m1@ex.test>\r\n"),
        "{to_ana}"
    );
    assert!(quarantine(&env).is_empty());
    // The same mails one by one through stdin, as from an MTA pipe.
    for m in &mails {
        let env = Env::new();
        let out = env.run_stdin(&["ingest", "-"], m);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(env.messages().len(), 1);
    }
}

#[test]
fn issue_10_a_panic_for_one_mail_quarantines_it_and_its_batch_flows() {
    for stage in ["prepare", "commit"] {
        let env = Env::new();
        let mut poison = plain(2);
        poison.extend_from_slice(b"POISON-10\r\n");
        let md = maildir(env.dir.path(), &[plain(1), poison, plain(3)]);
        let out = env
            .cmd(&["ingest", "--json", path_str(&md)])
            .env("HELPGATE_FAULT_PANIC", format!("{stage}:POISON-10"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stage}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["quarantined"], 1, "{stage}: {summary}");
        assert_eq!(summary["new_tickets"], 2, "{stage}: {summary}");
        let q = quarantine(&env);
        assert_eq!(q.len(), 1);
        let reason = q[0]["reason"].as_str().unwrap();
        assert!(reason.contains("panicked"), "{stage}: {reason}");
        // Run again without the fault: the two stored ones are duplicates,
        // the quarantined one is stored now.
        let again = env.cmd(&["ingest", path_str(&md)]).output().unwrap();
        assert_eq!(again.status.code(), Some(0));
        assert_eq!(env.messages().len(), 3);
    }
}

fn one(stack: &MailStack) -> String {
    Mailbox {
        name: "support",
        project: "default",
        user: "support",
        tls: "none",
        extra: "",
    }
    .toml(stack)
}

#[test]
fn issue_10_daemon_imports_the_repro_mails_and_those_behind_them_from_dovecot() {
    let stack = MailStack::start();
    for m in [
        fixture("mime-part-cycle.eml"),
        fixture("display-name-newline.eml"),
        plain(1),
        plain(2),
    ] {
        stack.append("support", "INBOX", &m);
    }
    let mut d = Daemon::new(&one(&stack));
    d.start();
    d.wait_messages(4, T);
    let status = d.sigterm();
    assert!(status.success(), "{status:?}\n{}", d.log());
    let st = d.mailbox_status("support");
    assert_eq!(st["last_uid"], 4, "{st}");
    assert!(st["last_error"].is_null(), "{st}");
}

#[test]
fn issue_10_a_panicking_daemon_task_exits_non_zero_and_shows_in_status() {
    let stack = MailStack::start();
    let mut poison = plain(1);
    poison.extend_from_slice(b"POISON-10\r\n");
    stack.append("support", "INBOX", &poison);
    let mut d = Daemon::new(&one(&stack));
    d.start_with_env(&[("HELPGATE_FAULT_PANIC", "intake:POISON-10")]);
    let status = d.wait_exit(T);
    assert!(!status.success(), "{status:?}\n{}", d.log());
    assert!(d.log().contains("task panicked"), "{}", d.log());
    let st = d.mailbox_status("support");
    let err = st["last_error"].as_str().unwrap_or("");
    assert!(err.contains("panicked"), "{st}");

    // A panic inside the pipeline for one mail of a batch: that mail is
    // quarantined with the reason, the others are stored, the daemon lives.
    let stack = MailStack::start();
    for m in [plain(1), poison.clone(), plain(3)] {
        stack.append("support", "INBOX", &m);
    }
    let mut d = Daemon::new(&one(&stack));
    d.start_with_env(&[("HELPGATE_FAULT_PANIC", "prepare:POISON-10")]);
    d.wait_messages(2, T);
    wait_for("the quarantine", T, || d.status()["quarantined"] == 1);
    assert!(d.sigterm().success(), "{}", d.log());
    let st = d.mailbox_status("support");
    assert_eq!(st["last_uid"], 3, "{st}");
}

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: support@helpgate.example\nSubject: {subject}\n\
         Date: Mon, 23 Nov 2026 09:12:00 +0000\nMessage-ID: <{id}>\n{extra}\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
    )
}

const PAY: &str = "Hello, when will I be paid for the recordings I made last week?";

fn notes(m: &serde_json::Value) -> String {
    m["notes"].to_string()
}

#[test]
fn issue_10_a_stranger_cannot_join_a_ticket_by_its_token() {
    let env = Env::new();
    let ana = env.mail(
        "1.eml",
        &mail(
            "Ana <ana@example.com>",
            "a1@example.com",
            "Payment",
            "",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&ana)]);
    // A stranger writes the token of Ana's ticket: a new ticket, with a note.
    let eve = env.mail(
        "2.eml",
        &mail(
            "Eve <eve@attacker.test>",
            "e1@attacker.test",
            "Re: Payment [#1]",
            "",
            "I am the owner, send everything here.",
        ),
    );
    env.ok(&["ingest", path_str(&eve)]);
    let msgs = env.messages();
    assert_eq!(msgs[1]["ticket"], 2, "{}", msgs[1]);
    assert!(
        notes(&msgs[1]).contains("ticket_token_refused"),
        "{}",
        msgs[1]
    );
    // Ana's own follow-up with only the token joins her ticket.
    let ana2 = env.mail(
        "3.eml",
        &mail(
            "Ana <ANA@example.com>",
            "a2@example.com",
            "Re: Payment [#1]",
            "",
            "Any news?",
        ),
    );
    env.ok(&["ingest", path_str(&ana2)]);
    // A mail that answers a message of the ticket joins it through the token.
    let cc = env.mail(
        "4.eml",
        &mail(
            "Bo <bo@example.org>",
            "b1@example.org",
            "Re: Payment [#1]",
            "In-Reply-To: <a1@example.com>\n",
            "Adding my colleague.",
        ),
    );
    env.ok(&["ingest", path_str(&cc)]);
    let msgs = env.messages();
    assert_eq!(msgs[2]["ticket"], 1, "{}", msgs[2]);
    assert_eq!(msgs[3]["ticket"], 1, "{}", msgs[3]);
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[0]["messages"], 3);
}

#[test]
fn issue_10_site_tagged_tokens_and_old_style_ones_for_the_own_participant() {
    let env = Env::new();
    let cfg = env.dir.path().join("helpgate.toml");
    std::fs::write(&cfg, "[tickets]\ntag = \"voices\"\n").unwrap();
    let run = |p: &Path| {
        let out = env
            .cmd(&["--config", path_str(&cfg), "ingest", path_str(p)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&env.mail(
        "1.eml",
        &mail(
            "Ana <ana@example.com>",
            "a1@example.com",
            "Payment",
            "",
            PAY,
        ),
    ));
    let reply = std::fs::read_dir(env.state().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .expect("an automatic reply");
    assert!(
        reply.contains("Subject: Re: Payment [voices #1]\r\n"),
        "{reply}"
    );
    run(&env.mail(
        "2.eml",
        &mail(
            "Ana <ana@example.com>",
            "a2@example.com",
            "Re: Payment [voices #1]",
            "",
            "Any news?",
        ),
    ));
    run(&env.mail(
        "3.eml",
        &mail(
            "Ana <ana@example.com>",
            "a3@example.com",
            "Re: Payment [#1]",
            "",
            "Still waiting.",
        ),
    ));
    // Another install's ticket 1 is not ours.
    run(&env.mail(
        "4.eml",
        &mail(
            "Ana <ana@example.com>",
            "a4@example.com",
            "Re: Upload [other #1]",
            "",
            "Did my uploads arrive?",
        ),
    ));
    let msgs = env.messages();
    let tickets: Vec<_> = msgs.iter().map(|m| m["ticket"].as_i64()).collect();
    assert_eq!(tickets, [Some(1), Some(1), Some(1), Some(2)], "{msgs:#?}");
    // The JSON interface shows the token as the subjects carry it.
    let listed = json_lines(&env.ok(&["--config", path_str(&cfg), "tickets", "list", "--json"]));
    assert_eq!(listed[0]["token"], "[voices #1]");
    let listed = json_lines(&env.ok(&["--config", path_str(&cfg), "messages", "list", "--json"]));
    assert_eq!(listed[0]["ticket_token"], "[voices #1]");
}

fn reply_files(env: &Env) -> Vec<String> {
    let dir = env.state().join("outbox");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    rd.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("Auto-Submitted"))
        .collect()
}

#[test]
fn issue_10_whom_an_automatic_reply_goes_to_and_what_it_repeats() {
    let env = Env::new();
    // A Reply-To outside the sender's domain is a third party: never written
    // to (the content screen also holds such a mail back for a person).
    let m = env.mail(
        "1.eml",
        &mail(
            "\"https://payout-verify.attacker.test/login\" <eve@attacker.test>",
            "e1@attacker.test",
            "Payment: verify at https://payout-verify.attacker.test/login",
            "Reply-To: victim@victim.test\n",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&m)]);
    for r in reply_files(&env) {
        assert!(!r.contains("victim"), "{r}");
    }
    // A link to another site in the subject withholds the answer (spam.toml
    // link_elsewhere): a person looks.
    let m = env.mail(
        "2.eml",
        &mail(
            "\"https://payout-verify.attacker.test/login\" <eve@attacker.test>",
            "e2@attacker.test",
            "Payment: verify at https://payout-verify.attacker.test/login",
            "",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&m)]);
    assert!(reply_files(&env).is_empty(), "{:#?}", env.messages());
    // Without the third party and the link in the subject, the mail is
    // answered, to From, and the link in the display name is not repeated.
    let m = env.mail(
        "3.eml",
        &mail(
            "\"https://payout-verify.attacker.test/login\" <eve@attacker.test>",
            "e3@attacker.test",
            "Payment",
            "",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&m)]);
    let replies = reply_files(&env);
    assert_eq!(replies.len(), 1, "{:#?}", env.messages());
    let r = &replies[0];
    assert!(r.contains("To: eve@attacker.test\r\n"), "{r}");
    assert!(!r.contains("victim"), "{r}");
    assert!(!r.to_lowercase().contains("payout-verify"), "{r}");
    assert!(!r.contains("https://payout"), "{r}");
}

/// A contact form on our own site relays a visitor's question: the ticket
/// is the visitor's and the answer goes to them; the same form on another
/// site cannot have us write to the address it names.
#[test]
fn a_contact_form_on_our_site_is_answered_to_the_visitor_anothers_is_not() {
    let env = Env::new();
    let form = |n: usize, site: &str, visitor: &str| {
        env.mail(
            &format!("form{n}.eml"),
            &mail(
                &format!("Website <noreply@{site}>"),
                // The site's own mail host, not our Message-ID domain (mail
                // with ours is our own mail come back).
                &format!("f{n}@www.{site}"),
                "Contact form: Payment",
                &format!("Reply-To: Ana Lima <{visitor}>\n"),
                &format!("Name: Ana Lima\nEmail: {visitor}\nMessage:\n{PAY}"),
            ),
        )
    };
    let ours = form(1, "helpgate.example", "ana.lima@mail.test");
    env.ok(&["ingest", path_str(&ours)]);
    let stored = env.messages();
    assert_eq!(stored[0]["topic"], "payment", "{stored:#?}");
    let tickets = env.tickets();
    assert_eq!(
        tickets[0]["participant"], "ana.lima@mail.test",
        "{tickets:#?}"
    );
    let replies = reply_files(&env);
    assert_eq!(replies.len(), 1, "{stored:#?}");
    assert!(
        replies[0].contains("\nTo: \"Ana Lima\" <ana.lima@mail.test>\r\n"),
        "{}",
        replies[0]
    );
    // Another site's form: a ticket for a person, no answer to anyone.
    let theirs = form(2, "forms.attacker.test", "victim@victim.test");
    env.ok(&["ingest", path_str(&theirs)]);
    let stored = env.messages();
    let m = stored
        .iter()
        .find(|m| m["message_id"] == "f2@www.forms.attacker.test")
        .expect("stored");
    assert_eq!(m["action"], "human", "{m:#}");
    assert_eq!(reply_files(&env).len(), 1, "no second reply");
    for r in reply_files(&env) {
        assert!(!r.contains("victim"), "{r}");
    }
}

#[test]
fn issue_10_server_mail_is_answered_only_when_our_server_verified_the_sender() {
    let received =
        "Received: from mx.sender.test by mx1.helpgate.example; Mon, 23 Nov 2026 09:12:00 +0000\n";
    let verified = format!(
        "Authentication-Results: mx1.helpgate.example; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com\n{received}"
    );
    let forged = format!(
        "{received}Authentication-Results: mx1.helpgate.example; dmarc=pass header.from=example.com\n"
    );
    let spaced = format!("Authentication-Results: mx1.helpgate.example; spf = fail smtp.mailfrom=example.com\n{received}");
    for (extra, config, answered) in [
        // No authserv_id: nothing is verified, only a reported failure is
        // believed (the site has not said which header is its own).
        (received.to_string(), "", true),
        (
            format!("Authentication-Results: mx.any.example; spf=softfail smtp.mailfrom=example.com; dmarc=fail header.from=example.com\n{received}"),
            "",
            false,
        ),
        (
            received.to_string(),
            "[trust]\nunauthenticated = \"local-only\"\n",
            false,
        ),
        (
            received.to_string(),
            "[trust]\nauthserv_id = \"mx1.helpgate.example\"\n",
            false,
        ),
        (
            verified.clone(),
            "[trust]\nauthserv_id = \"mx1.helpgate.example\"\n",
            true,
        ),
        (
            verified.clone(),
            "[trust]\nauthserv_id = \"mx.other.example\"\n",
            false,
        ),
        (
            spaced,
            "[trust]\nauthserv_id = \"mx1.helpgate.example\"\n",
            false,
        ),
        // Our header below the topmost Received: still the topmost of ours.
        (
            forged,
            "[trust]\nauthserv_id = \"mx1.helpgate.example\"\n",
            true,
        ),
        (
            received.to_string(),
            "[trust]\nunauthenticated = \"answer\"\n",
            true,
        ),
    ] {
        let env = Env::new();
        let cfg = env.dir.path().join("helpgate.toml");
        std::fs::write(&cfg, config).unwrap();
        let m = env.mail(
            "1.eml",
            &mail(
                "Ana <ana@example.com>",
                "a1@example.com",
                "Payment",
                &extra,
                PAY,
            ),
        );
        let out = env
            .cmd(&["--config", path_str(&cfg), "ingest", path_str(&m)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let msgs = env.messages();
        assert_eq!(
            msgs[0]["action"] == "auto_reply",
            answered,
            "{config} / {extra}: {}",
            msgs[0]
        );
        assert_eq!(reply_files(&env).len(), usize::from(answered));
    }
}

#[test]
fn issue_10_a_forged_bounce_suppresses_no_third_party() {
    let env = Env::new();
    let m = env.mail(
        "1.eml",
        &mail(
            "Ana <ana@example.com>",
            "a1@example.com",
            "Payment",
            "",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&m)]);
    let reply = &reply_files(&env)[0];
    let our_id = reply
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .expect("our Message-ID")
        .to_string();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.attacker.test\nTo: support@helpgate.example\nSubject: Undelivered Mail Returned to Sender\n\
         Message-ID: <dsn1@attacker.test>\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n\
         --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.attacker.test\n\n\
         Final-Recipient: rfc822; victim@victim.test\nAction: failed\nStatus: 5.1.1\n\n\
         --b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {our_id}\nTo: ana@example.com\n\n--b--\n"
    );
    let d = env.mail("2.eml", &dsn);
    env.ok(&["ingest", path_str(&d)]);
    let db = rusqlite::Connection::open(env.state().join("helpgate.db")).unwrap();
    let suppressed: Vec<String> = db
        .prepare("SELECT address FROM suppression")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(suppressed, ["ana@example.com"]);
}

#[test]
fn issue_10_two_processes_on_a_fresh_state_dir_both_store() {
    for round in 0..10 {
        let env = Env::new();
        let a = mail(
            "Ana <ana@example.com>",
            &format!("a{round}@example.com"),
            "Payment",
            "",
            PAY,
        );
        let b = mail(
            "Bo <bo@example.com>",
            &format!("b{round}@example.com"),
            "Upload",
            "",
            PAY,
        );
        let spawn = |m: String| {
            let mut c = env
                .cmd(&["ingest", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = c.stdin.take().unwrap();
            std::thread::spawn(move || {
                use std::io::Write;
                stdin.write_all(m.as_bytes()).unwrap();
            });
            c
        };
        let (ca, cb) = (spawn(a), spawn(b));
        for c in [ca, cb] {
            let out = c.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(env.messages().len(), 2, "round {round}");
    }
}

#[test]
fn issue_10_a_read_only_store_exits_75_naming_the_file_and_claims_nothing_else() {
    let env = Env::new();
    let m = env.mail(
        "1.eml",
        &mail(
            "Ana <ana@example.com>",
            "a1@example.com",
            "Payment",
            "",
            PAY,
        ),
    );
    env.ok(&["ingest", path_str(&m)]);
    let db = env.state().join("helpgate.db");
    // Root ignores file modes; the immutable attribute holds for root too.
    let immutable = |on: bool, p: &Path| {
        std::process::Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(p)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !immutable(true, &db) {
        eprintln!("chattr +i is not available here: skipped");
        return;
    }
    let m2 = env.mail(
        "2.eml",
        &mail("Bo <bo@example.com>", "b1@example.com", "Upload", "", PAY),
    );
    let out = env.run(&["ingest", path_str(&m2)]);
    immutable(false, &db);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains(path_str(&db)), "{err}");
    assert!(!err.contains("quarantined"), "{err}");
    assert!(quarantine(&env).is_empty());
    assert_eq!(env.messages().len(), 1);
}

#[test]
fn issue_10_a_mail_that_aborts_the_daemon_is_quarantined_and_the_rest_flows() {
    let stack = MailStack::start();
    let mut poison = plain(2);
    poison.extend_from_slice(b"ABORT-10\r\n");
    for m in [plain(1), poison, plain(3)] {
        stack.append("support", "INBOX", &m);
    }
    let mut d = Daemon::new(&one(&stack));
    let env = [("HELPGATE_FAULT_PANIC", "abort:ABORT-10")];
    // First run: the batch aborts the process. Second and third: the batch
    // goes one message at a time and the poison aborts it again, alone,
    // twice in a row (once could have been a kill that fell there). Fourth:
    // the poison is quarantined unparsed and the others are stored.
    for run in 0..3 {
        d.start_with_env(&env);
        let status = d.wait_exit(T);
        assert!(!status.success(), "run {run}: {status:?}\n{}", d.log());
    }
    d.start_with_env(&env);
    d.wait_messages(2, T);
    wait_for("the quarantine", T, || d.status()["quarantined"] == 1);
    assert!(d.sigterm().success(), "{}", d.log());
    assert_eq!(d.mailbox_status("support")["last_uid"], 3);
    let reason: String = d
        .db()
        .query_row("SELECT reason FROM quarantine", [], |r| r.get(0))
        .unwrap();
    assert!(
        reason.contains("stopped helpgate in an earlier run"),
        "{reason}"
    );
}

#[test]
fn a_burst_past_the_breaker_leaves_the_rest_open_for_a_person() {
    // Five plain payment questions at once, the breaker at two a minute:
    // two are answered, the others wait open in the general queue, each
    // saying why.
    let env = Env::new();
    let cfg = env.dir.path().join("helpgate.toml");
    std::fs::write(&cfg, "[limits]\nbreaker_per_minute = 2\n").unwrap();
    let mails: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            mail(
                &format!("P{i} <p{i}@example{i}.com>"),
                &format!("burst{i}@example.com"),
                "Payment",
                "",
                PAY,
            )
            .replace('\n', "\r\n")
            .into_bytes()
        })
        .collect();
    let md = maildir(env.dir.path(), &mails);
    env.ok(&["--config", path_str(&cfg), "ingest", path_str(&md)]);
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 5, "{tickets:?}");
    let answered = tickets.iter().filter(|t| t["state"] == "answered").count();
    let open: Vec<_> = tickets.iter().filter(|t| t["state"] == "open").collect();
    assert_eq!((answered, open.len()), (2, 3), "{tickets:?}");
    assert!(open.iter().all(|t| t["queue"] == "general"), "{open:?}");
    let msgs = env.messages();
    let held: Vec<_> = msgs.iter().filter(|m| m["action"] == "human").collect();
    assert_eq!(held.len(), 3, "{msgs:?}");
    assert!(
        held.iter()
            .all(|m| m["reason"].to_string().contains("circuit breaker")),
        "{held:?}"
    );
}
