//! Rule constructs and rule errors, each on a tiny rule set written here.

use super::compile::compile;
use super::RuleSet;
use crate::classify::classify;
use crate::decide::Action;
use crate::parse::{Address, Body, ParsedEmail};

const LANGUAGES: &str = r#"[language.en]
name = "English"
hints = ["the", "my"]

[language.nl]
name = "Nederlands"
hints = ["ik", "mijn", "niet"]
"#;

const ROUTING: &str = r#"default_queue = "general"
sensitive_queue = "sensitive"
templates = ["payment"]

[thresholds]
min_score = 2.0
min_ratio = 1.5

[queues.general]
[queues.sensitive]
restricted = true

[topic.payment]
action = "auto_reply"
template = "payment"

[topic.privacy]
action = "escalate"
queue = "sensitive"
sensitive = true

[topic.other]
action = "human"
"#;

const PROJECTS: &str = r#"default = "main"

[[project]]
id = "main"
name = "Main"
support_address = "support@main.example"
default_language = "en"

[[project]]
id = "second"
name = "Second"
support_address = "help@second.example"
mailboxes = ["second-inbox"]
default_language = "nl"

[project.topic.payment]
action = "human"
"#;

const MACHINE: &str = r#"bounce_senders = ["mailer-daemon"]

[autoreply.subject]
en = ["out of office"]

[bounce.subject]
any = ["undeliverable"]
"#;

const TOPICS: &str = r#"[topic.payment]
subject_weight = 2.0

[topic.payment.lang.en]
keywords = ["paid", "pay*"]
phrases = ["when will i get paid"]
regex = ['\bpayout\s+\d+']
negative = ["unpaid leave"]

[topic.payment.lang.nl]
phrases = ["wanneer word ik betaald"]

[topic.privacy.lang.en]
phrases = ["delete my data"]

[topic.other]
"#;

fn sources() -> Vec<(String, String)> {
    vec![
        ("r/languages.toml".into(), LANGUAGES.into()),
        ("r/routing.toml".into(), ROUTING.into()),
        ("r/projects.toml".into(), PROJECTS.into()),
        ("r/machine.toml".into(), MACHINE.into()),
        ("r/topics/main.toml".into(), TOPICS.into()),
    ]
}

fn with(file: &str, text: &str) -> Vec<String> {
    let mut s = sources();
    for (p, t) in &mut s {
        if p == file {
            *t = text.to_string();
        }
    }
    if !s.iter().any(|(p, _)| p == file) {
        s.push((file.to_string(), text.to_string()));
    }
    // As `RuleSet::load` checks a rule set.
    match compile(&s) {
        Ok(set) => set
            .regex_errors()
            .iter()
            .chain(set.model_errors().iter())
            .map(ToString::to_string)
            .collect(),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

fn rules() -> RuleSet {
    compile(&sources()).expect("test rules compile")
}

fn mail(subject: &str, body: &str) -> ParsedEmail {
    ParsedEmail {
        subject: subject.into(),
        body: Body {
            full: body.into(),
            new_text: body.into(),
            ..Body::default()
        },
        ..ParsedEmail::default()
    }
}

#[test]
fn shipped_rules_compile_and_load_from_disk_alike() {
    let builtin = RuleSet::builtin();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let loaded = RuleSet::load(&dir).expect("rules/ compiles");
    assert_eq!(builtin.text.len(), loaded.text.len());
    assert_eq!(builtin.topics.len(), 9);
    assert_eq!(builtin.languages.len(), 13);
    let p = &builtin.projects[builtin.default_project];
    assert!(!p.support_address.is_empty() && p.languages.len() == 13);
}

#[test]
fn keywords_phrases_regexes_and_weights_score() {
    let r = rules();
    // One phrase (2) in the body.
    let c = classify(&mail("", "when will i get paid"), &r);
    assert_eq!(c.topic.as_deref(), Some("payment"));
    assert!(
        c.topic_score >= 2.0 + 1.0,
        "phrase + keyword `paid`: {}",
        c.topic_score
    );
    // A keyword alone in a longer body (1) is below the threshold ...
    let c = classify(
        &mail(
            "hello",
            "i was reading the long text on the site and then paid attention to the last part of it",
        ),
        &r,
    );
    assert_eq!(c.topic.as_deref(), Some("other"));
    assert!(c.topic_uncertain);
    assert_eq!(c.unsure, crate::classify::Unsure::BelowThreshold);
    // ... but in the subject it counts twice (subject_weight 2) ...
    let c = classify(&mail("paid", ""), &r);
    assert_eq!(c.topic.as_deref(), Some("payment"));
    // ... and a subjectless one-liner is its own subject.
    let c = classify(&mail("", "paid??"), &r);
    assert_eq!(c.topic.as_deref(), Some("payment"));
    // A prefix keyword matches longer words; the regex matches.
    let c = classify(
        &mail(
            "status",
            "payouts pending, payout 42, and some more words so that this text is clearly not a one-liner at all",
        ),
        &r,
    );
    assert_eq!(c.topic_score, 1.0 + 2.0);
}

#[test]
fn negative_patterns_subtract() {
    let r = rules();
    let c = classify(&mail("", "i was paid during unpaid leave"), &r);
    assert_eq!(c.topic.as_deref(), Some("other"), "{:?}", c.candidates);
}

#[test]
fn matches_name_file_and_line() {
    let r = rules();
    let c = classify(&mail("", "wanneer word ik betaald"), &r);
    let m = c
        .matches(&r)
        .into_iter()
        .find(|m| m.pattern == "wanneer word ik betaald")
        .expect("phrase matched");
    assert_eq!(m.origin, "r/topics/main.toml:11");
    assert_eq!(c.language.as_deref(), Some("nl"));
}

#[test]
fn projects_route_by_address_then_mailbox_and_override_routes() {
    let r = rules();
    let mut m = mail("", "");
    assert_eq!(r.project_for(&m, None).id, "main");
    assert_eq!(r.project_for(&m, Some("second-inbox")).id, "second");
    m.to = vec![Address {
        name: None,
        email: "Help@Second.example".into(),
    }];
    assert_eq!(r.project_for(&m, None).id, "second");
    assert_eq!(
        r.route("second", "payment").map(|x| x.action),
        Some(Action::Human)
    );
    assert_eq!(
        r.route("main", "payment").map(|x| x.action),
        Some(Action::AutoReply)
    );
}

#[test]
fn unknown_key_is_reported_with_its_line() {
    let errs = with(
        "r/routing.toml",
        &ROUTING.replace("min_ratio = 1.5", "min_ratio = 1.5\nmin_rato = 2"),
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("r/routing.toml:8:1: unknown field `min_rato`"),
        "{errs:?}"
    );
}

#[test]
fn bad_regex_names_the_regex_error() {
    let errs = with(
        "r/topics/main.toml",
        &TOPICS.replace(r"\bpayout\s+\d+", "pay(out"),
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("r/topics/main.toml:7:10: invalid regex:"),
        "{errs:?}"
    );
    assert!(errs[0].contains("unclosed group"), "{errs:?}");
}

#[test]
fn a_regex_that_parses_but_is_too_large_is_named_with_its_line() {
    let errs = with(
        "r/topics/main.toml",
        &TOPICS.replace(r"\bpayout\s+\d+", r"(\w{50}){50}x"),
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/topics/main.toml:7:") && e.contains("invalid regex")),
        "{errs:?}"
    );
}

#[test]
fn unknown_topic_template_and_queue_are_reported() {
    let text = ROUTING
        .replace("template = \"payment\"", "template = \"paymnt\"")
        .replace(
            "queue = \"sensitive\"\nsensitive",
            "queue = \"secret\"\nsensitive",
        )
        + "\n[topic.refunds]\naction = \"human\"\n";
    let errs = with("r/routing.toml", &text);
    assert_eq!(errs.len(), 3, "no follow-on errors: {errs:?}");
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/routing.toml:15:12: unknown template `paymnt`")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/routing.toml:19:9: unknown queue `secret`")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/routing.toml:25:1: unknown topic `refunds`")),
        "{errs:?}"
    );
}

#[test]
fn duplicate_ids_are_reported_with_the_first_definition() {
    let errs = with("r/topics/more.toml", "\n[topic.privacy]\n");
    assert_eq!(
        errs,
        vec!["r/topics/more.toml:2:1: duplicate topic id `privacy` (first defined at r/topics/main.toml:13)"]
    );
    let text = PROJECTS.replace("id = \"second\"", "id = \"main\"");
    let errs = with("r/projects.toml", &text);
    assert!(
        errs.iter().any(|e| e.starts_with(
            "r/projects.toml:10:6: duplicate project id `main` (first defined at line 4)"
        )),
        "{errs:?}"
    );
}

#[test]
fn unknown_language_and_policy_violations_are_reported() {
    let errs = with(
        "r/topics/main.toml",
        &(TOPICS.to_string() + "\n[topic.other.lang.xx]\nkeywords = [\"a\"]\n"),
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/topics/main.toml:18:1: unknown language `xx`")),
        "{errs:?}"
    );
    let text = ROUTING.replace(
        "action = \"escalate\"",
        "action = \"auto_reply\"\ntemplate = \"payment\"",
    );
    let errs = with("r/routing.toml", &text);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/routing.toml:18:10: a sensitive topic cannot auto_reply")),
        "{errs:?}"
    );
    let text = ROUTING.replace(
        "action = \"auto_reply\"\ntemplate = \"payment\"",
        "action = \"auto_reply\"",
    );
    let errs = with("r/routing.toml", &text);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/routing.toml:14:10: action auto_reply needs a template")),
        "{errs:?}"
    );
}

#[test]
fn every_error_is_collected_and_missing_files_are_named() {
    let mut s = sources();
    s.retain(|(p, _)| p != "r/machine.toml");
    let errs: Vec<String> = compile(&s)
        .expect_err("refused")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs, vec!["machine.toml:0:0: missing required rule file"]);
    let errs = with(
        "r/topics/main.toml",
        &TOPICS
            .replace("paid\", \"pay*", "paid\", \"*")
            .replace("pay(", ""),
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("r/topics/main.toml:5:21: empty pattern")),
        "{errs:?}"
    );
}

#[test]
fn load_refuses_a_broken_directory_with_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (p, t) in sources() {
        let path = dir.path().join(p.trim_start_matches("r/"));
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, t).expect("write");
    }
    assert!(RuleSet::load(dir.path()).is_ok());
    let topics = dir.path().join("topics/main.toml");
    std::fs::write(&topics, TOPICS.replace("keywords", "keywrds")).expect("write");
    let errs = RuleSet::load(dir.path()).expect_err("refused");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, topics);
    assert_eq!(errs[0].line, 5);
}

#[test]
fn every_shipped_regex_compiles() {
    // They compile on first use; this is the check `RuleSet::load` makes.
    let errors = RuleSet::builtin().regex_errors();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn the_shipped_second_opinion_knows_every_topic_and_spam() {
    let r = RuleSet::builtin();
    let model = r
        .second_opinion
        .as_ref()
        .expect("shipped")
        .model()
        .expect("parses");
    let mut want: Vec<&str> = r.topics.iter().map(|t| t.id.as_str()).collect();
    want.push("spam");
    want.sort_unstable();
    assert_eq!(model.classes(), want);
}

#[test]
fn a_broken_second_opinion_model_is_refused_with_its_line() {
    let errs = with(
        "r/second_opinion.tsv",
        "# header\nclasses\tpayment\tother\ndocs\t3\t4\nabc\t0:1 5:2\n",
    );
    assert_eq!(
        errs,
        ["r/second_opinion.tsv:4:0: second opinion model: expected class:count pairs"]
    );
    assert!(with(
        "r/second_opinion.tsv",
        "classes\tpayment\tother\ndocs\t3\t4\nabc\t0:1 1:2\n"
    )
    .is_empty());
}

#[test]
fn the_shipped_linear_model_knows_every_topic_and_spam() {
    let r = RuleSet::builtin();
    let model = r.linear.as_ref().expect("shipped").model().expect("parses");
    let mut want: Vec<&str> = r.topics.iter().map(|t| t.id.as_str()).collect();
    want.push("spam");
    want.sort_unstable();
    assert_eq!(model.classes(), want);
}

#[test]
fn a_broken_linear_model_is_refused_with_its_line() {
    let errs = with(
        "r/linear_model.tsv",
        "# header\nclasses\tpayment\tother\nbias\t0.1\t-0.1\n ab\t1.5\t0.2 x\n",
    );
    assert_eq!(
        errs,
        ["r/linear_model.tsv:4:0: linear model: expected numbers"]
    );
    assert!(with(
        "r/linear_model.tsv",
        "classes\tpayment\tother\nbias\t0.1\t-0.1\n ab\t1.5\t0.2 -0.2\n"
    )
    .is_empty());
}
