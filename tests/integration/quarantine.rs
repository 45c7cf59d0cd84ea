//! `helpgate quarantine list|show|replay`: raw mail kept with its reason
//! can be inspected and replayed into a ticket once the cause is fixed.

use crate::harness::daemon::Daemon;
use crate::harness::text_mail;
use std::process::Command;

fn helpgate(d: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_helpgate"))
        .arg("--config")
        .arg(d.config_path())
        .args(args)
        .output()
        .expect("run helpgate")
}

#[test]
fn quarantined_mail_is_listed_shown_and_replayed_once() {
    let d = Daemon::new("");
    // Create the database, then quarantine a mail as the pipeline would.
    assert!(helpgate(&d, &["status", "--json"]).status.success());
    let raw = text_mail(
        "alice@example.test",
        "support@example.test",
        "Stuck mail",
        "stuck1@example.test",
        "Where is my payment?",
    );
    rusqlite::Connection::open(d.db_path())
        .unwrap()
        .execute(
            "INSERT INTO quarantine (source, reason, raw, created_at) VALUES ('imap:support/1/7', 'disk I/O error', ?1, '2026-11-25T10:00:00.000Z')",
            [&raw],
        )
        .unwrap();

    let list = helpgate(&d, &["quarantine", "list", "--json"]);
    assert!(list.status.success());
    let row: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(row["reason"], "disk I/O error");
    assert_eq!(row["source"], "imap:support/1/7");
    let id = row["id"].as_i64().unwrap().to_string();

    let show = helpgate(&d, &["quarantine", "show", &id]);
    assert_eq!(show.stdout, raw, "show prints the raw bytes exactly");
    assert!(String::from_utf8_lossy(&show.stderr).contains("disk I/O error"));

    let replay = helpgate(&d, &["quarantine", "replay"]);
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert_eq!(d.messages(), 1);
    // Replayed entries leave the default list; a second replay does nothing.
    let list = helpgate(&d, &["quarantine", "list", "--json"]);
    assert!(
        list.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
    assert!(helpgate(&d, &["quarantine", "replay"]).status.success());
    assert_eq!(d.messages(), 1);
    let status: serde_json::Value =
        serde_json::from_slice(&helpgate(&d, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["quarantined"], 0);
}
