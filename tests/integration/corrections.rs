//! Issue 14: a specialist's correction is kept as a labelled case, replayed
//! by `rules test --corrections` and `rules diff` against candidate rules
//! (a regression names the deciding patterns by file:line), and exported as
//! a labelled set that reads back the same.

use crate::classify::copy_rules;
use crate::common::{json_lines, path_str, Env};
use std::path::Path;

const MAIL: &str = "From: Joana <joana@example.org>\nTo: support@helpgate.example\nSubject: lote 7\nMessage-ID: <lote-7@example.org>\n\nOla, voces receberam as gravacoes do lote 7? Ainda nao recebi o pagamento.\n";

/// The built-in rules plus three upload phrases that make this mail an
/// upload question, as the specialist said it is.
fn agreeing_rules(dir: &Path) {
    copy_rules(dir);
    let f = dir.join("topics/upload_confirmation.toml");
    let text = std::fs::read_to_string(&f).expect("read");
    let pt = text
        .find("[topic.upload_confirmation.lang.pt]")
        .expect("pt section");
    let at = pt + text[pt..].find("phrases = [").expect("phrases") + "phrases = [".len();
    let edited = format!(
        "{}\"gravacoes do lote\", \"do lote 7\", \"receberam as gravacoes\", {}",
        &text[..at],
        &text[at..]
    );
    std::fs::write(&f, edited).expect("write");
}

/// Ingest [`MAIL`] (the built-in rules say payment) and let ana correct
/// it to upload_confirmation; returns what reclassify printed.
fn ingest_and_correct(env: &Env) -> String {
    let mail = env.mail("lote7.eml", MAIL);
    env.ok(&["ingest", path_str(&mail)]);
    assert_eq!(env.tickets()[0]["topic"], "payment");
    let by_ana = ["--topic", "upload_confirmation", "--as", "ana"];
    env.ok(&[&["tickets", "reclassify", "1"][..], &by_ana].concat())
}

/// `rules diff --old OLD --rules NEW FLAG` over the stored mail.
fn rules_diff(env: &Env, old: &Path, new: &Path, flag: &str) -> std::process::Output {
    let args = [
        "rules",
        "diff",
        "--old",
        path_str(old),
        "--rules",
        path_str(new),
    ];
    env.run(&[&args[..], &[flag]].concat())
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn issue_14_correction_by_reclassify_is_a_regression_case() {
    let env = Env::new();
    let said = ingest_and_correct(&env);
    assert!(
        said.contains("topic payment -> upload_confirmation"),
        "{said}"
    );

    let list = json_lines(&env.ok(&["corrections", "list", "--json"]));
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c["message"], 1);
    assert_eq!(c["old"]["topic"], "payment");
    assert_eq!(c["new"]["topic"], "upload_confirmation");
    assert_eq!(c["new"]["language"], "pt");
    assert_eq!(c["actor"], "ana");

    // Rules that agree with the specialist: the correction holds.
    let agree = env.dir.path().join("agree");
    agreeing_rules(&agree);
    let out = env.run(
        &[
            "rules",
            "test",
            "--corrections",
            "--rules",
            path_str(&agree),
        ][..],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 0, "{text}");
    assert!(
        text.contains("1 corrections replayed: 1 hold, 0 regressions"),
        "{text}"
    );

    // The built-in rules revert it: a regression, with the payment
    // patterns that decided it by file:line; exit 1.
    let out = env.run(&["rules", "test", "--corrections"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("REGRESSION topic: expected upload_confirmation, got payment"),
        "{text}"
    );
    let decided: Vec<&str> = text.lines().filter(|l| l.contains("decided by:")).collect();
    assert!(!decided.is_empty(), "{text}");
    for l in &decided {
        let origin = l.rsplit(' ').next().unwrap_or("");
        let (file, line) = origin.rsplit_once(':').expect("file:line");
        assert!(file.ends_with("topics/payment.toml"), "{l}");
        assert!(line.parse::<u32>().is_ok_and(|n| n > 0), "{l}");
    }
    let json = json_lines(&String::from_utf8_lossy(
        &env.run(&["rules", "test", "--corrections", "--json"])
            .stdout,
    ));
    assert_eq!(json[0]["holds"], false);
    assert_eq!(json[0]["regressions"], serde_json::json!(["topic"]));
    assert_eq!(json[0]["expected"]["topic"], "upload_confirmation");
    assert_eq!(json[0]["got"]["topic"], "payment");
    assert!(json[0]["decided_by"][0]["origin"]
        .as_str()
        .is_some_and(|o| o.contains("topics/payment.toml:")));
    assert_eq!(json[1]["regressions"], 1);

    // rules diff from the agreeing set to one that reverts it.
    let revert = env.dir.path().join("revert");
    copy_rules(&revert);
    let out = rules_diff(&env, &agree, &revert, "--fail-on-change");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("correction 1 (message 1, ticket [#1], by ana"),
        "{text}"
    );
    assert!(text.contains("topics/payment.toml:"), "{text}");
    assert!(
        text.contains("1 corrections replayed: 1 broken by the new rules, 0 fixed"),
        "{text}"
    );
    let json = json_lines(&String::from_utf8_lossy(
        &rules_diff(&env, &agree, &revert, "--json").stdout,
    ));
    let regression = json
        .iter()
        .find(|v| v["change"] == "regression")
        .expect("regression line");
    assert_eq!(regression["old"]["topic"], "upload_confirmation");
    assert_eq!(regression["got"]["topic"], "payment");
    let summary = json.last().expect("summary");
    assert_eq!(summary["correction_regressions"], 1);
    assert_eq!(summary["corrections_fixed"], 0);
    // The other way round it is fixed, and not a failure by itself.
    let back = json_lines(&String::from_utf8_lossy(
        &rules_diff(&env, &revert, &agree, "--json").stdout,
    ));
    let summary = back.last().expect("summary");
    assert_eq!(summary["correction_regressions"], 0);
    assert_eq!(summary["corrections_fixed"], 1);
}

#[test]
fn issue_14_corrections_export_round_trips() {
    let env = Env::new();
    let follow = env.mail(
        "follow.eml",
        "From: Joana <joana@example.org>\nTo: support@helpgate.example\nSubject: Re: lote 7\nMessage-ID: <lote-7b@example.org>\nIn-Reply-To: <lote-7@example.org>\n\nE por favor apaguem os meus dados, \"todos\".\n",
    );
    ingest_and_correct(&env);
    env.ok(&["ingest", path_str(&follow)]);
    let by_bo = ["--topic", "appeal", "--language", "pt", "--as", "bo"];
    env.ok(&[&["tickets", "reclassify", "1"][..], &by_bo].concat());
    let corrected = json_lines(&env.ok(&["corrections", "list", "--json"]));
    assert_eq!(corrected.len(), 2, "{corrected:?}");

    let out = env.dir.path().join("set");
    env.ok(&["corrections", "export", path_str(&out)]);
    let labels = std::fs::read_to_string(out.join("labels.csv")).expect("labels.csv");
    let rows: Vec<Vec<String>> = labels.lines().map(crate::common::csv_fields).collect();
    assert_eq!(
        rows[0],
        ["file", "language", "topic", "action", "thread_of", "notes"]
    );
    assert_eq!(rows.len(), 3, "{labels}");
    for (row, message) in rows[1..]
        .iter()
        .zip(corrected.iter().map(|c| c["message"].clone()))
    {
        let raw = env.run(&["messages", "raw", &message.to_string()]).stdout;
        let exported = std::fs::read(out.join("emails").join(&row[0])).expect("exported mail");
        assert_eq!(exported, raw, "{}", row[0]);
    }
    assert_eq!(
        &rows[1][..5],
        ["001.eml", "pt", "upload_confirmation", "auto_reply", ""]
    );
    assert_eq!(
        &rows[2][..5],
        ["002.eml", "pt", "appeal", "escalate", "001.eml"]
    );
    assert!(
        rows[2][5].contains("by bo") && rows[2][5].contains("was topic privacy"),
        "{:?}",
        rows[2]
    );

    // Read back into a fresh instance: the same mail, the same threads.
    let fresh = Env::new();
    fresh.ok(&["ingest", path_str(&out.join("emails"))]);
    let msgs = fresh.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["ticket"], msgs[0]["ticket"]);
    // An export never mixes into an earlier one.
    let again = env.run(&["corrections", "export", path_str(&out)]);
    assert_eq!(code(&again), 1);
    assert!(String::from_utf8_lossy(&again.stderr).contains("labels.csv exists"));
}
