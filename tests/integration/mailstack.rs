//! The test harness itself: real Dovecot + Postfix come up, deliver, and
//! survive a restart. If these fail, every daemon test would fail for a
//! reason that is not the daemon's.

use crate::harness::{text_mail, MailStack};
use std::time::Duration;

#[test]
fn postfix_delivers_into_dovecot_and_restart_keeps_mail() {
    let mut stack = MailStack::start();
    let mail = text_mail(
        "alice@example.test",
        "support@example.test",
        "Where is my payment?",
        "m1@example.test",
        "Hello, I did not get paid.",
    );
    stack.send("alice", "support", &mail);
    stack.wait_count("support", "INBOX", 1, Duration::from_secs(10));
    let got = stack.fetch_all("support", "INBOX");
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0].bytes);
    assert!(text.contains("Message-ID: <m1@example.test>"), "{text}");
    assert!(
        text.contains("Delivered-To: support@example.test"),
        "{text}"
    );

    let many: Vec<Vec<u8>> = (0..50)
        .map(|i| {
            text_mail(
                "bob@example.test",
                "support@example.test",
                "s",
                &format!("b{i}@x"),
                "b",
            )
        })
        .collect();
    stack.multiappend("support", "INBOX", &many);
    assert_eq!(stack.count("support", "INBOX"), 51);

    stack.restart_dovecot();
    assert_eq!(stack.count("support", "INBOX"), 51);
}

#[test]
fn reset_uidvalidity_keeps_messages_under_a_new_uidvalidity() {
    let mut stack = MailStack::start();
    stack.append(
        "carol",
        "INBOX",
        &text_mail("a@x", "carol@example.test", "s", "c1@x", "b"),
    );
    let before = stack.imap("carol").select("INBOX");
    stack.reset_uidvalidity("carol", "INBOX");
    let after = stack.imap("carol").select("INBOX");
    assert_ne!(before, after);
    assert_eq!(stack.count("carol", "INBOX"), 1);
}
