//! Content spam through the real binary: recorded with topic `spam`, never
//! answered and never queued, still listed; `rules test` shows why, and a
//! broken rules/spam.toml is refused with its line. Also what the same
//! issue fixed on the way: an oversize appeal goes to the restricted queue
//! with a limit that reads right, and machine mail carries no language.

use crate::common::{path_str, Env};

const CRYPTO: &str = "From: Finanz Insider <info@gewinn-jetzt.example>
To: support-voicecollect@projects.example
Subject: Verdienen Sie bis zu 4.800 EUR pro Woche
Message-ID: <crypto-1@gewinn-jetzt.example>
Date: Mon, 7 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><h2>Geheimnis enthuellt!</h2><p>Mit unserer KI-Krypto-Plattform: passives Einkommen, garantierte Rendite.</p><a href=\"http://gewinn-jetzt.example/r\">JETZT STARTEN</a></body></html>
";

const ADVANCE_FEE: &str = "From: Barrister James Okoro <j.okoro@lawmail.example>
Reply-To: okoro.private@freemail.example
To: support-voicecollect@projects.example
Subject: Strictly confidential
Message-ID: <fee-1@lawmail.example>
Date: Mon, 7 Dec 2026 10:01:00 +0000

Dear friend, I am a barrister. My late client left an inheritance of 8.5 million USD
and you share his surname, so you can stand as next of kin. Reply with your bank details.
";

const PARTICIPANT: &str = "From: Ana Souza <ana.souza@inbox.example>
To: support-voicecollect@projects.example
Subject: Pagamento de novembro
Message-ID: <ana-1@inbox.example>
Date: Mon, 7 Dec 2026 10:02:00 +0000

Ola, quando vou receber o pagamento de novembro? Obrigada, Ana
";

const BOUNCE: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.inbox.example>
To: support-voicecollect@projects.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.inbox.example>
Date: Mon, 7 Dec 2026 10:03:00 +0000
Auto-Submitted: auto-replied

This is the mail system at host mx.inbox.example. I'm sorry to have to inform you
that your message could not be delivered to one or more recipients.
";

#[test]
fn content_spam_is_recorded_never_answered_never_queued() {
    let env = Env::new();
    let files: Vec<_> = [
        ("a.eml", CRYPTO),
        ("b.eml", ADVANCE_FEE),
        ("c.eml", PARTICIPANT),
        ("d.eml", BOUNCE),
    ]
    .iter()
    .map(|(n, t)| env.mail(n, t))
    .collect();
    let mut args = vec!["ingest"];
    args.extend(files.iter().map(|p| path_str(p)));
    env.ok(&args);
    let msgs = env.messages();
    assert_eq!(msgs.len(), 4, "every mail is stored and listed");
    for m in &msgs[..2] {
        assert_eq!(m["topic"], "spam", "{m}");
        assert_eq!(m["action"], "ignore", "{m}");
        assert!(m["ticket"].is_null(), "spam is queued for nobody: {m}");
        assert!(m["language"].is_null(), "{m}");
        assert!(
            m["reason"].as_str().unwrap().contains("spam by content"),
            "{m}"
        );
    }
    assert_eq!(msgs[2]["action"], "auto_reply", "{}", msgs[2]);
    assert_eq!(msgs[3]["topic"], "bounce", "{}", msgs[3]);
    assert!(
        msgs[3]["language"].is_null(),
        "machine mail has no language: {}",
        msgs[3]
    );
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "only the participant has a ticket");
    let out = env.ok(&["outbox", "list", "--json"]);
    assert_eq!(
        out.lines().count(),
        1,
        "one reply, to the participant: {out}"
    );
    assert!(out.contains("ana.souza@inbox.example"), "{out}");

    // `rules test` shows the evidence.
    let out = env.ok(&["rules", "test", "--json", path_str(&files[1])]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["guard"]["kind"], "spam", "{v}");
    assert!(v["spam"]["score"].as_f64().unwrap() >= 3.0, "{v}");
    assert!(v["spam"]["signals"].to_string().contains("Reply-To"), "{v}");
}

#[test]
fn a_broken_spam_rule_file_is_refused_with_its_line() {
    let env = Env::new();
    let dir = env.dir.path().join("rules");
    copy_dir(&crate::common::repo().join("rules"), &dir);
    let spam = dir.join("spam.toml");
    let text = std::fs::read_to_string(&spam).unwrap();
    std::fs::write(&spam, text.replace("doubt = 1.5", "doubt = 9.0")).unwrap();
    let out = env.run(&["rules", "check", path_str(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("spam.toml:1:") && stdout.contains("doubt <= threshold"),
        "{stdout}"
    );
    std::fs::write(&spam, text.replace("[lang.fi]", "[lang.xx]")).unwrap();
    let out = env.run(&["rules", "check", path_str(&dir)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("unknown language `xx`"), "{stdout}");
}

#[test]
fn an_oversize_appeal_is_escalated_and_the_limit_reads_right() {
    let env = Env::new();
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(&config, "[limits]\nmax_message_bytes = 4096\n").unwrap();
    let body = "x".repeat(10_000);
    let p = env.mail(
        "big.eml",
        &format!(
            "From: Lea <lea@inbox.example>\nTo: support-voicecollect@projects.example\nSubject: My account was suspended, I appeal\nMessage-ID: <big-1@inbox.example>\n\n{body}\n"
        ),
    );
    env.ok(&["--config", path_str(&config), "ingest", path_str(&p)]);
    let m = &env.messages()[0];
    assert_eq!(m["action"], "escalate", "{m}");
    let reason = m["reason"].as_str().unwrap();
    assert!(reason.contains("over the 4 KB limit"), "{reason}");
    assert_eq!(env.tickets()[0]["queue"], "sensitive");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
