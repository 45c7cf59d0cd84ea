//! Issue 14's second opinion: `rules train` counts a labelled set (the
//! format `corrections export` writes) into a model file that a rules
//! directory ships; where the rules find no topic, its clear vote names
//! one, a person answers, and a sensitive vote escalates. Never an
//! automatic answer.

use crate::classify::copy_rules;
use crate::common::{json_lines, path_str, Env};
use std::fmt::Write as _;

/// A project's own words the shipped rules cannot know: its payout
/// system and its data-removal form.
const PAYMENT: [&str; 4] = [
    "quibblecash",
    "flimwax payout",
    "quibble wallet",
    "cash of flimwax",
];
const PRIVACY: [&str; 4] = [
    "zorbex form",
    "zorbex my vrellum",
    "vrellum zorbex",
    "the zorbex",
];
const OTHER: [&str; 4] = [
    "plonkit meetup",
    "plonkit",
    "glarb newsletter",
    "meetup glarb",
];

fn labelled_set(dir: &std::path::Path) {
    let emails = dir.join("emails");
    std::fs::create_dir_all(&emails).expect("mkdir");
    let mut labels = String::from("file,language,topic,action,thread_of,notes\n");
    let mut n = 0;
    for (topic, words) in [("payment", PAYMENT), ("privacy", PRIVACY), ("other", OTHER)] {
        for (i, w) in words.iter().enumerate() {
            for greeting in ["Hello", "Hi team"] {
                n += 1;
                let mail = format!(
                    "From: p{n}@example.org\nTo: support@helpgate.example\nSubject: {w}\nMessage-ID: <t{n}@example.org>\n\n{greeting}, about the {w} number {i}, thanks.\n"
                );
                std::fs::write(emails.join(format!("{n:03}.eml")), mail).expect("write");
                writeln!(labels, "{n:03}.eml,en,{topic},human,,").unwrap();
            }
        }
    }
    // Machine mail is left to the guard: not a class.
    n += 1;
    std::fs::write(
        emails.join(format!("{n:03}.eml")),
        "Subject: Undelivered\n\nquibblecash\n",
    )
    .expect("write");
    writeln!(labels, "{n:03}.eml,-,bounce,ignore,,\"a note, quoted\"").unwrap();
    std::fs::write(dir.join("labels.csv"), labels).expect("write");
}

#[test]
fn issue_14_a_trained_second_opinion_names_topics_the_rules_do_not_know() {
    let env = Env::new();
    let set = env.dir.path().join("set");
    labelled_set(&set);
    let rules = env.dir.path().join("rules");
    copy_rules(&rules);
    let model = rules.join("second_opinion.tsv");
    let said = env.ok(&["rules", "train", "--out", path_str(&model), path_str(&set)]);
    assert!(said.contains("24 mails"), "{said}");
    assert!(env
        .ok(&["rules", "check", path_str(&rules)])
        .contains(": ok:"));

    let payment = env.mail(
        "pay.eml",
        "From: ana@example.org\nTo: support@helpgate.example\nSubject: question\n\nHello, about the quibblecash of the flimwax, thanks.\n",
    );
    let privacy = env.mail(
        "priv.eml",
        "From: bo@example.org\nTo: support@helpgate.example\nSubject: question\n\nHi team, please zorbex my vrellum, thanks.\n",
    );
    let test = |rules_dir: Option<&std::path::Path>, mail: &std::path::Path| {
        let mut args = vec!["rules", "test", "--json", path_str(mail)];
        if let Some(d) = rules_dir {
            args.extend(["--rules", path_str(d)]);
        }
        json_lines(&env.ok(&args)).remove(0)
    };
    // The rules alone find nothing in either.
    let without = env.dir.path().join("plain");
    copy_rules(&without);
    for mail in [&payment, &privacy] {
        let j = test(Some(&without), mail);
        assert_eq!(j["topic"]["id"], "other", "{j}");
        assert!(j["topic"]["second_opinion"].is_null(), "{j}");
    }

    let j = test(Some(&rules), &payment);
    assert_eq!(j["topic"]["id"], "payment", "{j}");
    assert_eq!(j["topic"]["source"], "second_opinion");
    assert_eq!(j["topic"]["second_opinion"]["topic"], "payment");
    assert!(
        j["topic"]["second_opinion"]["margin"].as_f64().unwrap() >= 0.06,
        "{j}"
    );
    assert_eq!(j["topic"]["second_opinion"]["replaced"], "other");
    // A person answers: payment is answered automatically only on the
    // rules' own evidence.
    assert_eq!(j["decision"]["action"], "human", "{j}");
    assert!(j["decision"]["template"].is_null());
    assert!(j["reply"].is_null(), "{j}");

    let j = test(Some(&rules), &privacy);
    assert_eq!(j["topic"]["id"], "privacy", "{j}");
    assert_eq!(j["decision"]["action"], "escalate", "{j}");
    assert_eq!(j["decision"]["queue"], "sensitive");

    // The daemon's path decides the same: ingest with that rules dir.
    ok_with_rules(
        &env,
        &rules,
        &["ingest", path_str(&payment), path_str(&privacy)],
    );
    let tickets = env.tickets();
    let got: Vec<(&str, &str)> = tickets
        .iter()
        .map(|t| (t["topic"].as_str().unwrap(), t["queue"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("payment", "general"), ("privacy", "sensitive")]);
    let replies = std::fs::read_dir(env.state().join("outbox")).map_or(0, |d| d.count());
    assert_eq!(
        replies, 0,
        "no automatic answer on the second opinion's word"
    );
}

/// A rules directory with a model trained on [`labelled_set`].
fn trained_rules(env: &Env) -> std::path::PathBuf {
    let set = env.dir.path().join("set");
    labelled_set(&set);
    let rules = env.dir.path().join("rules");
    copy_rules(&rules);
    let model = rules.join("second_opinion.tsv");
    env.ok(&["rules", "train", "--out", path_str(&model), path_str(&set)]);
    rules
}

/// `helpgate ARGS` with `rules_dir` set in a config file.
fn ok_with_rules(env: &Env, rules: &std::path::Path, args: &[&str]) {
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(&config, format!("rules_dir = \"{}\"\n", rules.display())).expect("write");
    let out = env
        .cmd(args)
        .env("HELPGATE_CONFIG", &config)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue_14_a_sensitive_vote_on_a_follow_up_s_new_text_escalates_it() {
    let env = Env::new();
    let rules = trained_rules(&env);
    let plain = env.dir.path().join("plain");
    copy_rules(&plain);
    let subject = "my recordings were rejected";
    let quote = "On Monday, Ana wrote:\n> Hello, why were my recordings rejected? I did everything as told.\n";
    let mails = [
        ("first.eml", format!("From: ana@example.org\nTo: support@helpgate.example\nSubject: {subject}\nMessage-ID: <r1@example.org>\n\nHello, why were my recordings rejected? I did everything as told, for the quibblecash.\n")),
        // What the model knows as payment: the conversation goes on as it was.
        ("pay.eml", format!("From: ana@example.org\nTo: support@helpgate.example\nSubject: Re: {subject}\nMessage-ID: <r2@example.org>\nIn-Reply-To: <r1@example.org>\n\nHi team, and the quibble wallet, thanks.\n\n{quote}")),
        // Words the rules do not know, the model knows as privacy.
        ("priv.eml", format!("From: ana@example.org\nTo: support@helpgate.example\nSubject: Re: {subject}\nMessage-ID: <r3@example.org>\nIn-Reply-To: <r1@example.org>\n\nHi team, please zorbex my vrellum, thanks.\n\n{quote}")),
    ];
    let paths: Vec<_> = mails.iter().map(|(n, m)| env.mail(n, m)).collect();

    let new_text_vote = |mail: &std::path::Path| {
        let args = ["rules", "test", "--json", "--rules", path_str(&rules)];
        let mut j = json_lines(&env.ok(&[&args[..], &[path_str(mail)]].concat())).remove(0);
        j["topic"]["second_opinion_new_text"].take()
    };
    let j = new_text_vote(&paths[2]);
    assert_eq!(j["topic"], "privacy", "{j}");
    assert!(j["margin"].as_f64().unwrap() >= 0.12, "{j}");
    // A first message has no vote on its new text alone.
    let j = new_text_vote(&paths[0]);
    assert!(j.is_null(), "{j}");

    // (action, reason) of each message and the queue of their ticket,
    // ingested in order with `rules`.
    let decided = |rules: &std::path::Path| {
        let env = Env::new();
        for p in &paths {
            ok_with_rules(&env, rules, &["ingest", path_str(p)]);
        }
        let messages = env.messages();
        let tickets = env.tickets();
        assert_eq!(tickets.len(), 1, "one conversation: {tickets:?}");
        let got: Vec<(String, String)> = messages
            .iter()
            .map(|m| {
                (
                    m["action"].as_str().unwrap().to_string(),
                    m["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (got, tickets[0]["queue"].as_str().unwrap().to_string())
    };
    let (got, queue) = decided(&plain);
    let actions: Vec<&str> = got.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["human", "human", "human"], "{got:?}");
    assert_eq!(queue, "general");

    let (got, queue) = decided(&rules);
    let actions: Vec<&str> = got.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["human", "human", "escalate"], "{got:?}");
    assert_eq!(queue, "sensitive");
    assert!(
        got[2]
            .1
            .contains("the second opinion on its new text votes privacy"),
        "{}",
        got[2].1
    );
}

#[test]
fn issue_14_a_broken_model_file_is_refused_with_its_line() {
    let env = Env::new();
    let rules = env.dir.path().join("rules");
    copy_rules(&rules);
    std::fs::write(
        rules.join("second_opinion.tsv"),
        "classes\tpayment\tother\ndocs\t2\t2\nabc\t0:1 1:x\n",
    )
    .expect("write");
    let out = env.run(&["rules", "check", path_str(&rules)]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("second_opinion.tsv:3:0: second opinion model: expected class:count pairs"),
        "{text}"
    );
}

/// A real follow-up (tests/fixtures/unseen14, Portuguese): thanks for the
/// instructions answer, then "to be paid by bank transfer, do I need to
/// issue an invoice?". The rules' words for it are too weak in the new text
/// alone, so it kept the conversation's topic; both shipped models read it
/// as payment, and the ticket's person sees that, in the general queue.
#[test]
fn issue_14_a_follow_up_both_models_read_as_payment_is_labelled_payment() {
    let env = Env::new();
    let set = crate::common::repo().join("tests/fixtures/unseen14/emails");
    for f in ["152.eml", "166.eml"] {
        env.ok(&["ingest", path_str(&set.join(f))]);
    }
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "one conversation: {tickets:?}");
    assert_eq!(tickets[0]["queue"], "general");
    let messages = env.messages();
    let first = &messages[0];
    assert_eq!(
        (first["topic"].as_str(), first["action"].as_str()),
        (Some("instructions"), Some("auto_reply"))
    );
    let follow = &messages[1];
    assert_eq!(
        (follow["topic"].as_str(), follow["action"].as_str()),
        (Some("payment"), Some("human")),
        "{follow}"
    );
    let reason = follow["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "Follow-up in an existing conversation (topic instructions) whose new text both models read as payment"
        ),
        "{reason}"
    );
}
