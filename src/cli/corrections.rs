//! Specialists' corrections as a regression suite: `helpgate corrections
//! list|export`, and the replay behind `rules test --corrections` and the
//! corrections part of `rules diff`. Replays are dry runs: each corrected
//! message goes through parse, guard, classify and decide on its own (as a
//! first message), and the result is held against the corrected label.

use super::rules::{dry_run, Run};
use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::classify::Match;
use helpgate::rules::RuleSet;
use helpgate::store::corrections::{self, Correction};
use helpgate::store::{messages, ts, Store};
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum CorrectionsCmd {
    /// Every correction, oldest first.
    List {
        /// One JSON object per correction.
        #[arg(long)]
        json: bool,
    },
    /// Write the corrected messages as a labelled set: DIR/emails/NNN.eml and DIR/labels.csv.
    Export { dir: std::path::PathBuf },
}

pub(crate) fn run(cli: &Cli, cmd: &CorrectionsCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let store = open_store(&config)?;
    match cmd {
        CorrectionsCmd::List { json } => list(&store, *json),
        CorrectionsCmd::Export { dir } => export(&store, dir),
    }
}

/// A corrected message and the label it should get.
pub(crate) struct Case {
    pub(crate) correction: Correction,
    raw: Vec<u8>,
}

/// The latest correction of every corrected message, with its bytes.
pub(crate) fn cases(store: &Store) -> anyhow::Result<Vec<Case>> {
    let mut out = Vec::new();
    for c in corrections::latest_per_message(store.conn())? {
        let raw = messages::raw(store.conn(), c.message)?
            .with_context(|| format!("message {} of correction {} is gone", c.message, c.id))?;
        out.push(Case { correction: c, raw });
    }
    Ok(out)
}

/// What one rule set made of one corrected message.
pub(crate) struct Outcome {
    run: Run,
    /// The label fields it got wrong: `topic`, `language`, `action`.
    pub(crate) regressions: Vec<&'static str>,
}

impl Outcome {
    pub(crate) fn holds(&self) -> bool {
        self.regressions.is_empty()
    }

    fn got(&self) -> serde_json::Value {
        json!({
            "topic": self.run.class.topic,
            "language": self.run.class.language,
            "action": self.run.decision.action.as_str(),
        })
    }

    /// The patterns behind what was got wrong: the winning topic's, and the
    /// language hints when the language is wrong.
    fn deciders(&self, rules: &RuleSet) -> Vec<Match> {
        let topic = self.run.class.topic.as_deref();
        let lang = self.regressions.contains(&"language");
        self.run
            .class
            .matches(rules)
            .into_iter()
            .filter(|m| Some(m.target.as_str()) == topic || lang && m.target == "language")
            .collect()
    }

    /// The expected topic's patterns that matched (and lost), if any.
    fn expected_matches(&self, rules: &RuleSet, expected: Option<&str>) -> Vec<Match> {
        self.run
            .class
            .matches(rules)
            .into_iter()
            .filter(|m| Some(m.target.as_str()) == expected)
            .collect()
    }
}

/// Replay one case under `rules`.
pub(crate) fn replay(rules: &RuleSet, case: &Case) -> Outcome {
    let run = dry_run(rules, &case.raw, None, None);
    let c = &case.correction;
    let mut regressions = Vec::new();
    if c.new_topic.is_some() && c.new_topic != run.class.topic {
        regressions.push("topic");
    }
    if c.new_language.is_some() && c.new_language != run.class.language {
        regressions.push("language");
    }
    if c.new_action
        .as_deref()
        .is_some_and(|a| a != run.decision.action.as_str())
    {
        regressions.push("action");
    }
    Outcome { run, regressions }
}

fn expected(c: &Correction) -> serde_json::Value {
    json!({ "topic": c.new_topic, "language": c.new_language, "action": c.new_action })
}

fn head(c: &Correction) -> String {
    format!(
        "correction {} (message {}, ticket {}, by {} at {})",
        c.id,
        c.message,
        c.ticket.token(),
        c.actor,
        ts(c.at)
    )
}

fn what_went_wrong(c: &Correction, o: &Outcome) -> String {
    let field = |f: &str| -> (Option<&str>, Option<&str>) {
        match f {
            "topic" => (c.new_topic.as_deref(), o.run.class.topic.as_deref()),
            "language" => (c.new_language.as_deref(), o.run.class.language.as_deref()),
            _ => (
                c.new_action.as_deref(),
                Some(o.run.decision.action.as_str()),
            ),
        }
    };
    o.regressions
        .iter()
        .map(|f| {
            let (want, got) = field(f);
            format!(
                "{f}: expected {}, got {}",
                want.unwrap_or("-"),
                got.unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn match_lines(out: &mut String, label: &str, ms: &[Match]) {
    if ms.is_empty() {
        let _ = writeln!(out, "    {label}: no pattern matched");
    }
    for m in ms {
        let _ = writeln!(
            out,
            "    {label}: {:+.1} {} {} {:?} {}",
            m.score, m.target, m.field, m.pattern, m.origin
        );
    }
}

/// The text block of a regression: what was expected and got, and the
/// patterns (file:line) that decided it.
fn regression_text(rules: &RuleSet, c: &Correction, o: &Outcome) -> String {
    let mut s = format!("{}: REGRESSION {}\n", head(c), what_went_wrong(c, o));
    match_lines(&mut s, "decided by", &o.deciders(rules));
    if o.regressions.contains(&"topic") {
        let label = format!("{} patterns", c.new_topic.as_deref().unwrap_or("-"));
        match_lines(
            &mut s,
            &label,
            &o.expected_matches(rules, c.new_topic.as_deref()),
        );
    }
    s
}

fn regression_json(rules: &RuleSet, c: &Correction, o: &Outcome) -> serde_json::Value {
    json!({
        "correction": c.id,
        "message": c.message.0,
        "ticket": c.ticket.0,
        "actor": c.actor,
        "at": ts(c.at),
        "expected": expected(c),
        "got": o.got(),
        "holds": o.holds(),
        "regressions": o.regressions,
        "decided_by": o.deciders(rules),
    })
}

/// `rules test --corrections`: every correction under `rules`; exit 1 when
/// any no longer holds.
pub(crate) fn test(cli: &Cli, rules: &RuleSet, as_json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&load_config(cli)?)?;
    let cases = cases(&store)?;
    let mut out = std::io::stdout().lock();
    let mut regressions = 0usize;
    for case in &cases {
        let c = &case.correction;
        let o = replay(rules, case);
        if !o.holds() {
            regressions += 1;
        }
        if as_json {
            writeln!(out, "{}", regression_json(rules, c, &o))?;
        } else if o.holds() {
            writeln!(out, "{}: holds", head(c))?;
        } else {
            write!(out, "{}", regression_text(rules, c, &o))?;
        }
    }
    let hold = cases.len() - regressions;
    if as_json {
        writeln!(
            out,
            "{}",
            json!({ "corrections": cases.len(), "hold": hold, "regressions": regressions })
        )?;
    } else {
        writeln!(
            out,
            "{} corrections replayed: {hold} hold, {regressions} regressions",
            cases.len()
        )?;
    }
    Ok(if regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Corrections whose verdict differs between two rule sets.
pub(crate) struct Diff {
    pub(crate) replayed: usize,
    pub(crate) regressions: usize,
    pub(crate) fixed: usize,
}

/// The corrections part of `rules diff`: a correction that holds under
/// `old` and not under `new` is a regression, the reverse is fixed.
pub(crate) fn diff(
    store: &Store,
    old: &RuleSet,
    new: &RuleSet,
    as_json: bool,
    out: &mut impl Write,
) -> anyhow::Result<Diff> {
    let cases = cases(store)?;
    let mut d = Diff {
        replayed: cases.len(),
        regressions: 0,
        fixed: 0,
    };
    for case in &cases {
        let c = &case.correction;
        let (before, after) = (replay(old, case), replay(new, case));
        let change = match (before.holds(), after.holds()) {
            (true, false) => "regression",
            (false, true) => "fixed",
            _ => continue,
        };
        if change == "regression" {
            d.regressions += 1;
        } else {
            d.fixed += 1;
        }
        if as_json {
            let mut v = regression_json(new, c, &after);
            v["change"] = json!(change);
            v["old"] = before.got();
            writeln!(out, "{v}")?;
        } else if change == "regression" {
            write!(out, "{}", regression_text(new, c, &after))?;
        } else {
            writeln!(out, "{}: fixed, holds under the new rules", head(c))?;
        }
    }
    Ok(d)
}

fn list(store: &Store, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for c in corrections::list(store.conn())? {
        if as_json {
            let v = json!({
                "id": c.id,
                "message": c.message.0,
                "ticket": c.ticket.0,
                "old": { "topic": c.old_topic, "language": c.old_language, "action": c.old_action },
                "new": expected(&c),
                "actor": c.actor,
                "at": ts(c.at),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{}: {}", head(&c), c.detail())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Topics of machine mail in the labelled-set format: language `-`.
const MACHINE_TOPICS: [&str; 4] = ["bounce", "autoreply", "list", "spam"];

/// The action a label implies when the specialist gave none, by the rules
/// of the labelled-set format (../shared/labelled-mail/README.md), in its
/// order: machine mail is ignored; abuse, privacy and appeal escalate; any
/// other follow-up goes to a person; a first message about payment,
/// upload confirmation or instructions is answered; the rest to a person.
fn labelled_action(topic: Option<&str>, follow_up: bool) -> &'static str {
    match topic.unwrap_or("other") {
        t if MACHINE_TOPICS.contains(&t) => "ignore",
        "abuse" | "privacy" | "appeal" => "escalate",
        _ if follow_up => "human",
        "payment" | "upload_confirmation" | "instructions" => "auto_reply",
        _ => "human",
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn export(store: &Store, dir: &Path) -> anyhow::Result<ExitCode> {
    let labels = dir.join("labels.csv");
    if labels.exists() {
        bail!(
            "{} exists: export into an empty or new directory",
            labels.display()
        );
    }
    let emails = dir.join("emails");
    std::fs::create_dir_all(&emails)
        .with_context(|| format!("cannot create {}", emails.display()))?;
    let cases = cases(store)?;
    let width = cases.len().to_string().len().max(3);
    let mut csv_out = String::from("file,language,topic,action,thread_of,notes\n");
    // ticket -> file of its latest exported message, for thread_of.
    let mut last_of_ticket: HashMap<i64, String> = HashMap::new();
    for (n, case) in cases.iter().enumerate() {
        let c = &case.correction;
        let file = format!("{:0width$}.eml", n + 1);
        let path = emails.join(&file);
        std::fs::write(&path, &case.raw)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let follow_up = first_message_of(store, c)? != Some(c.message.0);
        let topic = c.new_topic.as_deref();
        let machine = topic.is_some_and(|t| MACHINE_TOPICS.contains(&t));
        let language = match &c.new_language {
            Some(l) if !machine => l.as_str(),
            _ => "-",
        };
        let action = c
            .new_action
            .as_deref()
            .unwrap_or_else(|| labelled_action(topic, follow_up));
        let thread_of = if follow_up && !machine {
            last_of_ticket.get(&c.ticket.0).cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let notes = format!(
            "correction {} by {} at {}; was topic {}, language {}, action {}",
            c.id,
            c.actor,
            ts(c.at),
            c.old_topic.as_deref().unwrap_or("-"),
            c.old_language.as_deref().unwrap_or("-"),
            c.old_action.as_deref().unwrap_or("-"),
        );
        let row = [
            file.as_str(),
            language,
            topic.unwrap_or("other"),
            action,
            &thread_of,
            &notes,
        ];
        csv_out.push_str(&row.map(csv).join(","));
        csv_out.push('\n');
        last_of_ticket.insert(c.ticket.0, file);
    }
    std::fs::write(&labels, csv_out)
        .with_context(|| format!("cannot write {}", labels.display()))?;
    println!(
        "{} corrected messages written to {}",
        cases.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn first_message_of(store: &Store, c: &Correction) -> anyhow::Result<Option<i64>> {
    Ok(messages::for_ticket(store.conn(), c.ticket)?
        .first()
        .map(|m| m.summary.id.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_actions_follow_the_set_s_order() {
        assert_eq!(labelled_action(Some("spam"), true), "ignore");
        assert_eq!(labelled_action(Some("privacy"), true), "escalate");
        assert_eq!(labelled_action(Some("payment"), true), "human");
        assert_eq!(labelled_action(Some("payment"), false), "auto_reply");
        assert_eq!(labelled_action(Some("account"), false), "human");
        assert_eq!(labelled_action(None, false), "human");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a, \"b\""), "\"a, \"\"b\"\"\"");
    }
}
