//! `helpgate rules check|test|diff`: what admins use to see what a rule
//! change does before it goes live. All three are dry runs: they read the
//! store at most, and never write to it. The `--json` shapes are
//! documented in rules/README.md.

use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::classify::{self, Classification};
use helpgate::config::Config;
use helpgate::decide::{self, Decision, TicketContext};
use helpgate::guard::{self, Verdict};
use helpgate::intake::files;
use helpgate::parse::{self, ParsedEmail};
use helpgate::reply::templates::{Rendered, Templates};
use helpgate::rules::RuleSet;
use helpgate::store::messages;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCmd {
    /// Compile a rule directory; print every error as path:line:column: reason.
    Check {
        /// Rule directory (default: the config's rules_dir, else the built-in rules).
        dir: Option<PathBuf>,
    },
    /// Dry-run mail through parse, guard, classify and decide; nothing is stored.
    Test {
        /// .eml files, Maildirs, folders of .eml files, or - for stdin.
        #[arg(required_unless_present = "corrections")]
        mail: Vec<String>,
        /// Replay every specialist's correction kept in the store instead;
        /// each regression names the patterns (file:line) that decided it.
        #[arg(long, conflicts_with = "mail")]
        corrections: bool,
        /// Rule directory (default: the config's rules_dir, else the built-in rules).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// One JSON object per message.
        #[arg(long)]
        json: bool,
    },
    /// Train the second opinion's model from labelled sets (folders with labels.csv and
    /// emails/), e.g. tests/fixtures/unseen* and `corrections export` output.
    Train {
        /// Labelled set folders, used whole.
        #[arg(required_unless_present = "dev_part_of")]
        sets: Vec<PathBuf>,
        /// Labelled sets of which only the dev part is used: the split of the
        /// labelled_eval test (by conversation), so its eval part stays unseen.
        #[arg(long, value_name = "SET")]
        dev_part_of: Vec<PathBuf>,
        /// The model file to write (ship it as rules/second_opinion.tsv).
        #[arg(long)]
        out: PathBuf,
        /// Also train the linear model on the first messages and write it here (ship it as
        /// rules/linear_model.tsv).
        #[arg(long, value_name = "FILE")]
        linear_out: Option<PathBuf>,
        /// Rule directory whose topics the labels must name (default: as for test).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Replay stored messages (or a Maildir) through old and new rules; list changed decisions
    /// and, from the store, the specialists' corrections that the new rules break or fix.
    Diff {
        /// The new rule directory.
        #[arg(long)]
        rules: PathBuf,
        /// The old rule directory (default: the config's rules_dir, else the built-in rules).
        #[arg(long)]
        old: Option<PathBuf>,
        /// Replay this Maildir (or folder of .eml files) instead of the store.
        maildir: Option<String>,
        /// Exit 1 when any decision changes (for CI).
        #[arg(long)]
        fail_on_change: bool,
        /// One JSON object per changed message, then a summary object.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cli: &Cli, cmd: &RulesCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    match cmd {
        RulesCmd::Check { dir } => check(&config, dir.as_deref()),
        RulesCmd::Train {
            sets,
            dev_part_of,
            out,
            linear_out,
            rules,
        } => super::train::run(
            &load_rules(&config, rules.as_deref())?,
            sets,
            dev_part_of,
            out,
            linear_out.as_deref(),
        ),
        RulesCmd::Test {
            corrections: true,
            rules,
            json,
            ..
        } => super::corrections::test(cli, &load_rules(&config, rules.as_deref())?, *json),
        RulesCmd::Test {
            mail, rules, json, ..
        } => {
            let rules = load_rules(&config, rules.as_deref())?;
            let templates = super::outbox::templates(&config)?;
            test(&rules, &templates, mail, *json)
        }
        RulesCmd::Diff {
            rules,
            old,
            maildir,
            fail_on_change,
            json,
        } => {
            let new = load_rules(&config, Some(rules))?;
            let old = load_rules(&config, old.as_deref())?;
            diff(
                &config,
                &old,
                &new,
                maildir.as_deref(),
                *fail_on_change,
                *json,
            )
        }
    }
}

/// The rules in `dir`, else the config's rules_dir, else the built-in set.
/// A broken set prints all its errors and fails.
pub(crate) fn load_rules(config: &Config, dir: Option<&Path>) -> anyhow::Result<RuleSet> {
    let Some(dir) = dir.or(config.rules_dir.as_deref()) else {
        return Ok(RuleSet::builtin());
    };
    match RuleSet::load(dir) {
        Ok(r) => Ok(r),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!("{}: {} rule errors", dir.display(), errors.len())
        }
    }
}

fn check(config: &Config, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let Some(dir) = dir.or(config.rules_dir.as_deref()) else {
        println!("built-in rules: ok: {}", RuleSet::builtin().summary());
        return Ok(ExitCode::SUCCESS);
    };
    match RuleSet::load(dir) {
        Ok(r) => {
            println!("{}: ok: {}", dir.display(), r.summary());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            eprintln!(
                "{}: {} errors, rule set refused",
                dir.display(),
                errors.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Everything one dry run found out about a message.
pub(crate) struct Run {
    email: ParsedEmail,
    verdict: Verdict,
    pub(crate) class: Classification,
    pub(crate) decision: Decision,
    project: String,
}

pub(crate) fn dry_run(
    rules: &RuleSet,
    raw: &[u8],
    mailbox: Option<&str>,
    ctx: Option<TicketContext>,
) -> Run {
    let email = parse::parse(raw);
    let mut class = classify::classify(&email, rules);
    let mut verdict = classify::spam::screen(guard::check(&email, rules), &class.spam, rules);
    classify::ask_second_opinion(&email, &mut verdict, rules, &mut class);
    let ctx = ctx.unwrap_or_else(|| TicketContext {
        project: rules.project_for(&email, mailbox).id.clone(),
        ..TicketContext::default()
    });
    classify::refine(&mut class, &ctx, rules);
    if let Verdict::Machine { kind, .. } = &verdict {
        class.topic = Some(kind.clone());
        class.language = None;
        class.language_source = None;
    }
    let decision = decide::decide_with_second_opinion(&verdict, &mut class, &ctx, rules);
    Run {
        email,
        verdict,
        class,
        decision,
        project: ctx.project,
    }
}

/// The reply a dry run would send, rendered; `Err` says why none could be.
fn rendered(rules: &RuleSet, templates: &Templates, run: &Run) -> Option<Result<Rendered, String>> {
    let t = run.decision.template.as_deref()?;
    let Some(project) = rules.project(&run.project) else {
        return Some(Err(format!("project {} is not in the rules", run.project)));
    };
    Some(
        helpgate::reply::preview(
            templates,
            &run.email,
            project,
            t,
            run.class.language.as_deref(),
            "[#new]",
        )
        .map_err(|e| e.to_string()),
    )
}

fn reply_json(run: &Run, reply: Option<&Result<Rendered, String>>) -> serde_json::Value {
    match (&run.decision.template, reply) {
        (Some(t), Some(Ok(r))) => json!({
            "template": t,
            "language": r.lang,
            "subject": r.subject,
            "body": r.body,
        }),
        (Some(t), Some(Err(e))) => {
            json!({ "template": t, "language": run.class.language, "error": e })
        }
        _ => serde_json::Value::Null,
    }
}

fn test(
    rules: &RuleSet,
    templates: &Templates,
    mail: &[String],
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for arg in mail {
        let items = files::expand(arg).with_context(|| format!("cannot read {arg}"))?;
        for item in items {
            let raw = match item.read() {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{}: {e}", item.source());
                    failed = true;
                    continue;
                }
            };
            let run = dry_run(rules, &raw, None, None);
            let reply = rendered(rules, templates, &run);
            let used_text = classify::quote::strip(&run.email.body.new_text);
            if as_json {
                let v = json!({
                    "source": item.source(),
                    "project": run.project,
                    "parse_notes": run.email.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "subject": run.email.subject,
                    "new_text": used_text,
                    "language": {
                        "code": run.class.language,
                        "confidence": run.class.language_confidence,
                        "runner_up": run.class.language_runner_up,
                        "source": run.class.language_source,
                    },
                    "topic": {
                        "id": run.class.topic,
                        "score": run.class.topic_score,
                        "uncertain": run.class.topic_uncertain,
                        "candidates": run.class.candidates,
                        "matches": run.class.matches(rules),
                        "source": run.class.topic_source,
                        "second_opinion": run.class.second_opinion,
                        "second_opinion_new_text": run.class.second_opinion_new_text,
                        "linear": run.class.linear,
                        "linear_new_text": run.class.linear_new_text,
                    },
                    "guard": run.verdict,
                    "decision": run.decision,
                    "reply": reply_json(&run, reply.as_ref()),
                    "spam": run.class.spam,
                });
                writeln!(out, "{v}")?;
            } else {
                print_run(
                    &mut out,
                    rules,
                    &item.source(),
                    &run,
                    &used_text,
                    reply.as_ref(),
                )?;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_run(
    out: &mut impl Write,
    rules: &RuleSet,
    source: &str,
    run: &Run,
    text: &str,
    reply: Option<&Result<Rendered, String>>,
) -> std::io::Result<()> {
    let c = &run.class;
    writeln!(out, "== {source}")?;
    writeln!(out, "project:   {}", run.project)?;
    let notes: Vec<String> = run.email.notes.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "parse:     {}",
        if notes.is_empty() {
            "no notes".to_string()
        } else {
            notes.join("; ")
        }
    )?;
    writeln!(out, "subject:   {}", run.email.subject)?;
    let shown: String = text.chars().take(400).collect();
    let more = if text.chars().count() > 400 {
        " [...]"
    } else {
        ""
    };
    writeln!(
        out,
        "new text:  {}{more}",
        shown.trim().replace('\n', "\n           ")
    )?;
    let source = c
        .language_source
        .map(|s| {
            serde_json::to_value(s)
                .map(|v| v.as_str().unwrap_or("").to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    writeln!(
        out,
        "language:  {} (confidence {:.2}, runner-up {}, decided by {source})",
        c.language.as_deref().unwrap_or("?"),
        c.language_confidence,
        c.language_runner_up.as_deref().unwrap_or("none"),
    )?;
    let cands: Vec<String> = c
        .candidates
        .iter()
        .map(|x| format!("{} {}", x.topic, x.score))
        .collect();
    writeln!(
        out,
        "topic:     {} (score {}{}); candidates: {}",
        c.topic.as_deref().unwrap_or("?"),
        c.topic_score,
        if c.topic_uncertain { ", unsure" } else { "" },
        if cands.is_empty() {
            "none".to_string()
        } else {
            cands.join(", ")
        }
    )?;
    if let Some(v) = &c.second_opinion {
        writeln!(
            out,
            "second opinion: {} (margin {:.3}, runner-up {}){}",
            v.topic,
            v.margin,
            v.runner_up,
            if c.topic_source == classify::TopicSource::SecondOpinion {
                ", taken"
            } else {
                ""
            }
        )?;
    }
    if let Some(v) = &c.linear {
        writeln!(
            out,
            "linear model: {} (margin {:.3}, runner-up {}){}",
            v.topic,
            v.margin,
            v.runner_up,
            if c.topic_source == classify::TopicSource::LinearModel {
                ", taken"
            } else {
                ""
            }
        )?;
    }
    if let Some(v) = &c.second_opinion_new_text {
        writeln!(
            out,
            "second opinion on the new text (counts on a follow-up): {} (margin {:.3}, runner-up {})",
            v.topic, v.margin, v.runner_up
        )?;
    }
    if let Some(v) = &c.linear_new_text {
        writeln!(
            out,
            "linear model on the new text (counts on a follow-up, with the second opinion): {} (margin {:.3}, runner-up {})",
            v.topic, v.margin, v.runner_up
        )?;
    }
    for m in &c.matches(rules) {
        writeln!(
            out,
            "           {:+.1} {:<20} {:<8} {:<7} {:?} [{}] {}",
            m.score,
            m.target,
            serde_json::to_value(m.kind)
                .map(|v| v.as_str().unwrap_or("").to_string())
                .unwrap_or_default(),
            m.field,
            m.pattern,
            m.languages.join(","),
            m.origin
        )?;
    }
    if !c.spam.signals.is_empty() {
        writeln!(
            out,
            "spam:      score {} (spam at {}, no automatic answer from {}): {}",
            c.spam.score,
            rules.spam.threshold,
            rules.spam.doubt,
            c.spam.signals.join(", ")
        )?;
    }
    let guard = match &run.verdict {
        Verdict::Human => "human".to_string(),
        Verdict::Machine { kind, reason } => format!("machine ({kind}): {reason}"),
        Verdict::Untrusted { reason } => format!("untrusted: {reason}"),
        Verdict::Away { reason } => format!("away: {reason}"),
    };
    writeln!(out, "guard:     {guard}")?;
    let d = &run.decision;
    writeln!(
        out,
        "decision:  {}{} - {}",
        d.action.as_str(),
        d.queue
            .as_deref()
            .map(|q| format!(" (queue {q})"))
            .unwrap_or_default(),
        d.reason
    )?;
    match (&d.template, reply) {
        (Some(t), Some(Ok(r))) => {
            writeln!(out, "reply:     template {t} in {}", r.lang)?;
            writeln!(out, "           Subject: {}", r.subject)?;
            for line in r.body.lines() {
                writeln!(out, "           | {line}")?;
            }
        }
        (Some(t), Some(Err(e))) => writeln!(
            out,
            "reply:     template {t} in {}: cannot render: {e}",
            c.language.as_deref().unwrap_or("the project default")
        )?,
        _ => writeln!(out, "reply:     none")?,
    }
    writeln!(out)
}

/// One message to replay: an id for the listing, its bytes, and the ticket
/// it belongs to when known.
struct Replay {
    id: String,
    raw: Vec<u8>,
    ticket: Option<String>,
}

fn from_store(config: &Config) -> anyhow::Result<Vec<Replay>> {
    let store = open_store(config)?;
    let mut out = Vec::new();
    for m in messages::list(store.conn())? {
        let Some(raw) = messages::raw(store.conn(), m.id)? else {
            continue;
        };
        out.push(Replay {
            id: m.id.to_string(),
            raw,
            ticket: m.ticket.map(|t| t.to_string()),
        });
    }
    Ok(out)
}

fn from_maildir(arg: &str) -> anyhow::Result<Vec<Replay>> {
    let mut out = Vec::new();
    for item in files::expand(arg).with_context(|| format!("cannot read {arg}"))? {
        let raw = item.read()?;
        let id = match &item {
            files::Item::File(p) => p
                .file_name()
                .map_or_else(|| item.source(), |n| n.to_string_lossy().into_owned()),
            files::Item::Mbox(_) | files::Item::Stdin => item.source(),
        };
        out.push(Replay {
            id,
            raw,
            ticket: None,
        });
    }
    Ok(out)
}

/// Replays messages in order under one rule set, threading follow-ups by
/// stored ticket or by In-Reply-To/References, as the pipeline would.
struct Replayer<'a> {
    rules: &'a RuleSet,
    /// ticket key -> context of its first message.
    tickets: HashMap<String, TicketContext>,
    /// Message-ID -> ticket key.
    ids: HashMap<String, String>,
}

impl<'a> Replayer<'a> {
    fn new(rules: &'a RuleSet) -> Self {
        Replayer {
            rules,
            tickets: HashMap::new(),
            ids: HashMap::new(),
        }
    }

    fn replay(&mut self, r: &Replay) -> Run {
        let email = parse::parse(&r.raw);
        let key = r.ticket.clone().or_else(|| {
            email
                .in_reply_to
                .iter()
                .chain(email.references.iter())
                .find_map(|id| self.ids.get(id).cloned())
        });
        let ctx = key.as_ref().and_then(|k| self.tickets.get(k)).cloned();
        let run = dry_run(self.rules, &r.raw, None, ctx.clone());
        let key = key.unwrap_or_else(|| format!("msg:{}", r.id));
        self.ids.insert(run.email.message_id.clone(), key.clone());
        if ctx.is_none() && !run.verdict.is_machine() {
            self.tickets.insert(
                key,
                TicketContext {
                    follow_up: true,
                    project: run.project.clone(),
                    ticket_language: run.class.language.clone(),
                    ticket_topic: run.class.topic.clone(),
                    ticket_queue: run.decision.queue.clone(),
                },
            );
        }
        run
    }
}

fn summary_of(run: &Run) -> String {
    let d = &run.decision;
    let mut s = d.action.as_str().to_string();
    if let Some(q) = &d.queue {
        s.push_str(&format!(" queue={q}"));
    }
    if let Some(t) = &d.template {
        s.push_str(&format!(" template={t}"));
    }
    if let Some(t) = &run.class.topic {
        s.push_str(&format!(" topic={t}"));
    }
    if let Some(l) = &run.class.language {
        s.push_str(&format!(" lang={l}"));
    }
    s
}

fn diff(
    config: &Config,
    old: &RuleSet,
    new: &RuleSet,
    maildir: Option<&str>,
    fail_on_change: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let replays = match maildir {
        Some(m) => from_maildir(m)?,
        None => from_store(config)?,
    };
    let mut out = std::io::stdout().lock();
    let corrections = match maildir {
        Some(_) => None,
        None => Some(super::corrections::diff(
            &open_store(config)?,
            old,
            new,
            as_json,
            &mut out,
        )?),
    };
    let (mut a, mut b) = (Replayer::new(old), Replayer::new(new));
    let mut changed = 0usize;
    for r in &replays {
        let before = a.replay(r);
        let after = b.replay(r);
        let (sb, sa) = (summary_of(&before), summary_of(&after));
        if sb == sa {
            continue;
        }
        changed += 1;
        if as_json {
            let v = json!({
                "id": r.id,
                "subject": after.email.subject,
                "old": { "decision": before.decision, "topic": before.class.topic, "language": before.class.language },
                "new": { "decision": after.decision, "topic": after.class.topic, "language": after.class.language },
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{}  {}\n    {sb}\n -> {sa}\n    ({})",
                r.id, after.email.subject, after.decision.reason
            )?;
        }
    }
    let broken = corrections.as_ref().map_or(0, |c| c.regressions);
    if as_json {
        let mut v = json!({ "replayed": replays.len(), "changed": changed });
        if let Some(c) = &corrections {
            v["corrections"] = json!(c.replayed);
            v["correction_regressions"] = json!(c.regressions);
            v["corrections_fixed"] = json!(c.fixed);
        }
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{} messages replayed, {changed} decisions changed",
            replays.len()
        )?;
        if let Some(c) = &corrections {
            writeln!(
                out,
                "{} corrections replayed: {} broken by the new rules, {} fixed",
                c.replayed, c.regressions, c.fixed
            )?;
        }
    }
    Ok(if fail_on_change && (changed > 0 || broken > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
