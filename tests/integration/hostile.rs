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
    assert!(to_ana.contains("To: \"Ana Smith\" <m1@ex.test>\r\n"), "{to_ana}");
    assert!(quarantine(&env).is_empty());
    // The same mails one by one through stdin, as from an MTA pipe.
    for m in &mails {
        let env = Env::new();
        let out = env.run_stdin(&["ingest", "-"], m);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
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
