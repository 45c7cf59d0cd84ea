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
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(&config, format!("rules_dir = \"{}\"\n", rules.display())).expect("write");
    let with_config = |args: &[&str]| {
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
    };
    with_config(&["ingest", path_str(&payment), path_str(&privacy)]);
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
