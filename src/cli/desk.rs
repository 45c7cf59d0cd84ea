//! The desk's clocks and numbers on the command line: SLA breaches and
//! alerts in `status`, `tickets list --due`, and `report`.

use super::{load_config, open_store, Cli};
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use helpgate::clock::Clock;
use helpgate::config::Config;
use helpgate::report::period::Period;
use helpgate::sla::due::{counts, line, DueCounts};
use helpgate::sla::DueTicket;
use helpgate::store::Store;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// SLA and alert part of `status --json`.
#[derive(Debug, Serialize)]
pub(crate) struct DeskStatus {
    pub(crate) sla: DueCounts,
    pub(crate) sla_due: Vec<DueTicket>,
    pub(crate) alerts: Vec<helpgate::alerts::Alert>,
}

/// Bring the clocks up to date, then read breaches and alerts.
pub(crate) fn status(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<DeskStatus> {
    let sla = &config.sla;
    store.transaction(|tx| helpgate::sla::sync(tx, sla))?;
    let due = helpgate::sla::due(store.conn(), now, config.sla.near_breach)?;
    Ok(DeskStatus {
        sla: counts(&due),
        sla_due: due,
        alerts: helpgate::alerts::active(store.conn())?,
    })
}

pub(crate) fn status_lines(s: &DeskStatus) -> Vec<String> {
    let mut out = vec![format!(
        "sla: {} breached, {} near breach",
        s.sla.breached, s.sla.near
    )];
    out.extend(s.sla_due.iter().take(20).map(|d| format!("  {}", line(d))));
    if s.sla_due.len() > 20 {
        out.push(format!(
            "  ... {} more: helpgate tickets list --due",
            s.sla_due.len() - 20
        ));
    }
    out.push(format!("alerts: {} active", s.alerts.len()));
    out.extend(s.alerts.iter().map(|a| {
        format!(
            "  {} since {}: {}",
            a.kind,
            a.since.format("%Y-%m-%d %H:%M UTC"),
            a.detail
        )
    }));
    out
}

/// `tickets list --due`: breached and near-breach clocks, breached first.
pub(crate) fn list_due(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let s = status(&mut store, &config, Clock::system().now())?;
    let mut out = std::io::stdout().lock();
    for d in &s.sla_due {
        if json {
            writeln!(out, "{}", serde_json::to_string(d)?)?;
        } else {
            writeln!(out, "{}", line(d))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Html,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Only this project's tickets.
    #[arg(long)]
    project: Option<String>,
    /// An ISO week, e.g. 2026-W48 (default: last full week).
    #[arg(long, conflicts_with_all = ["since", "until"])]
    week: Option<String>,
    /// First day (UTC), e.g. 2026-11-01.
    #[arg(long, requires = "until")]
    since: Option<String>,
    /// Last day, included.
    #[arg(long, requires = "since")]
    until: Option<String>,
    #[arg(long, value_enum, default_value = "html")]
    format: Format,
    /// Write here instead of stdout.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
}

/// Topic -> template languages from the configured rules and templates.
pub(crate) fn inputs(
    config: &Config,
    project: Option<String>,
) -> anyhow::Result<helpgate::report::Inputs> {
    let templates = super::outbox::templates(config)?;
    let rules = super::outbox::load_rules(config)?;
    Ok(helpgate::report::Inputs {
        project,
        coverage: helpgate::report::coverage(&rules, &templates),
    })
}

pub(crate) fn report(cli: &Cli, a: &ReportArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    let now = Clock::system().now();
    let period = match (&a.week, &a.since, &a.until) {
        (Some(w), _, _) => Period::week(w)?,
        (None, Some(s), Some(u)) => Period::dates(s, u)?,
        _ => Period::last_week(now),
    };
    let inputs = inputs(&config, a.project.clone())?;
    let sla = &config.sla;
    store.transaction(|tx| helpgate::sla::sync(tx, sla))?;
    let r = helpgate::report::build(store.conn(), &period, &inputs, now)?;
    let text = match a.format {
        Format::Html => helpgate::report::to_html(&r),
        Format::Csv => helpgate::report::to_csv(&r),
        Format::Json => format!("{}\n", serde_json::to_string(&r)?),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
