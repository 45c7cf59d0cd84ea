//! Issue 10, "mail as it really arrives", through the real binary: bounces
//! show what failed and which ticket they hit; mbox archives and winmail.dat
//! attachments are read.

use crate::common::{json_lines, path_str, Env};

fn participant_mail() -> String {
    "From: Ana <ana@example.com>\nTo: support@helpgate.example\nSubject: Payment\n\
     Date: Mon, 23 Nov 2026 09:12:00 +0000\nMessage-ID: <pay-1@example.com>\n\
     Content-Type: text/plain; charset=UTF-8\n\n\
     I have not received my payment for last week's recordings yet.\n"
        .to_string()
}

/// The Message-ID of the one reply in the file outbox.
fn reply_message_id(env: &Env) -> String {
    let dir = env.state().join("outbox");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "eml"))
        .expect("a reply in the outbox");
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .expect("Message-ID header");
    line.split_once(':')
        .unwrap()
        .1
        .trim()
        .trim_matches(['<', '>'])
        .to_string()
}

#[test]
fn issue_10_bounce_shows_address_status_and_ticket() {
    let env = Env::new();
    let first = env.mail("a.eml", &participant_mail());
    let out = env.ok(&["ingest", path_str(&first)]);
    assert!(out.contains("replies: 1 sent"), "{out}");
    let reply_id = reply_message_id(&env);
    // A DSN for our reply; nothing but the returned message names it.
    let bounce = env.mail(
        "b.eml",
        &format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\nTo: support@helpgate.example\n\
             Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@mx.example.com>\n\
             Date: Mon, 23 Nov 2026 09:13:00 +0000\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n\
             --r\nContent-Type: text/plain\n\nI'm sorry, your message could not be delivered.\n\
             --r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
             Final-Recipient: rfc822; ana@example.com\nAction: failed\nStatus: 5.1.1\n\
             Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n\
             --r\nContent-Type: text/rfc822-headers\n\nFrom: support@helpgate.example\n\
             To: ana@example.com\nMessage-ID: <{reply_id}>\nSubject: Re: Payment\n\n--r--\n"
        ),
    );
    env.ok(&["ingest", path_str(&bounce)]);

    let msgs = env.messages();
    assert_eq!(msgs.len(), 2);
    assert!(msgs[0]["bounce"].is_null(), "{}", msgs[0]);
    assert_eq!(
        msgs[1]["bounce"],
        serde_json::json!({"address": "ana@example.com", "status": "5.1.1", "ticket": 1}),
        "{}",
        msgs[1]
    );
    let text = env.ok(&["tickets", "show", "1"]);
    assert!(
        text.contains(
            "Bounce: ana@example.com could not be delivered to, status 5.1.1, ticket [#1]"
        ),
        "{text}"
    );
    let show = json_lines(&env.ok(&["tickets", "show", "1", "--json"]));
    assert_eq!(show[0]["thread"][1]["bounce"]["address"], "ana@example.com");
}

/// Point 15: an mbox archive is read message by message (it was one
/// message before: 1 of 37 stored, exit 0).
#[test]
fn issue_10_mbox_archive_is_ingested_message_by_message() {
    let env = Env::new();
    let mut archive = String::new();
    for i in 1..=37 {
        archive.push_str(&format!(
            "From ana{i}@example.com Mon Nov 23 09:{:02}:00 2026\n\
             From: Ana {i} <ana{i}@example.com>\nTo: support@helpgate.example\n\
             Subject: Question {i}\nMessage-ID: <q{i}@example.com>\n\
             Date: Mon, 23 Nov 2026 09:{:02}:00 +0000\nContent-Length: 3\n\n\
             How do I record sentence {i}?\n>From the instructions I could not tell.\n\n",
            i % 60,
            i % 60
        ));
    }
    let path = env.dir.path().join("old-desk.mbox");
    std::fs::write(&path, &archive).unwrap();
    let out = env.ok(&["ingest", "--json", path_str(&path)]);
    let summary = &json_lines(&out)[0];
    assert_eq!(summary["messages"], 37, "{out}");
    assert_eq!(summary["failed"], 0, "{out}");
    let msgs = env.messages();
    assert_eq!(msgs.len(), 37);
    assert_eq!(msgs[36]["subject"], "Question 37");
    // The stored message is the mail without the separator, unescaped.
    let raw = env.ok(&["messages", "raw", &msgs[4]["id"].to_string()]);
    assert!(raw.starts_with("From: Ana 5 <ana5@example.com>\n"), "{raw}");
    assert!(
        raw.ends_with("sentence 5?\nFrom the instructions I could not tell.\n"),
        "{raw:?}"
    );
}
