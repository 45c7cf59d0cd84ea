//! `helpgate report`: what the desk did in a period, for people (HTML with
//! charts), spreadsheets (CSV) and scripts (JSON).
//!
//! - [`period`]: an ISO week or a range of dates.
//! - [`figures`]: volume, outcomes, response and resolution times, rates,
//!   backlog, failed replies, SLA breaches, from the store.
//! - [`suggest`]: suggestions to reduce tickets, each naming its tickets.
//! - [`html`], [`csv`]: renderings; JSON is [`Report`] serialized.

mod csv;
mod figures;
mod html;
pub mod period;
mod suggest;

use chrono::{DateTime, Utc};
use period::Period;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use self::csv::to_csv;
pub use html::to_html;

/// The `[report]` section: the weekly report by mail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    pub to: Vec<String>,
    pub from: Option<String>,
    pub weekly: bool,
    pub project: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeRow {
    pub week: String,
    pub topic: String,
    pub language: String,
    /// Tickets opened (by the ticket's topic and language).
    pub tickets: u64,
    /// Messages received (by each message's own topic and language).
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub outcome: String,
    pub messages: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Times {
    /// `queue` or `topic`.
    pub by: String,
    pub name: String,
    pub tickets: u64,
    pub first_response: Durations,
    pub resolution: Durations,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rates {
    pub tickets: u64,
    pub resolved: u64,
    pub resolution_rate: f64,
    pub reopened: u64,
    pub reopen_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub age: String,
    pub tickets: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replies {
    pub parked: u64,
    pub bounced: u64,
    pub parked_tickets: Vec<i64>,
    pub bounced_tickets: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlaBreaches {
    /// Tickets of the period that an SLA policy covers.
    pub with_policy: u64,
    pub first_response: Vec<i64>,
    pub resolution: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `recurring_phrase`, `manual_template`, `rising_topic`,
    /// `missing_translation`.
    pub kind: String,
    pub text: String,
    /// How many tickets are behind it.
    pub count: u64,
    /// Their ids (the first 20).
    pub tickets: Vec<i64>,
}

/// Everything `helpgate report` shows; `--format json` prints it as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub project: Option<String>,
    pub period: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub messages: u64,
    pub volume: Vec<VolumeRow>,
    pub outcomes: Vec<Outcome>,
    pub times: Vec<Times>,
    pub rates: Rates,
    pub backlog: Vec<Backlog>,
    pub replies: Replies,
    pub sla: SlaBreaches,
    pub suggestions: Vec<Suggestion>,
}

/// What the report needs besides the store.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub project: Option<String>,
    /// Topic -> languages its template has a file in (from the rules'
    /// routes and the loaded templates).
    pub coverage: BTreeMap<String, BTreeSet<String>>,
}

/// Build the report. Bring the SLA clocks up to date first
/// ([`crate::sla::sync`]): response times come from them.
pub fn build(
    conn: &Connection,
    period: &Period,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> crate::store::StoreResult<Report> {
    // A report reads most of the database: map it instead of copying each
    // page out of the kernel's cache through read() (perf on 200,000
    // messages: a quarter of the time in copy_to_iter and the page-cache
    // lookup). The connection's own setting comes back afterwards.
    let before: i64 = conn.query_row("PRAGMA mmap_size", [], |r| r.get(0))?;
    conn.execute_batch(&format!("PRAGMA mmap_size = {MMAP_BYTES}"))?;
    let out = build_mapped(conn, period, inputs, now);
    conn.execute_batch(&format!("PRAGMA mmap_size = {before}"))?;
    out
}

/// How much of the database file a report maps.
const MMAP_BYTES: i64 = 1 << 32;

fn build_mapped(
    conn: &Connection,
    period: &Period,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> crate::store::StoreResult<Report> {
    let project = inputs.project.as_deref();
    // The message counts and the phrase scan read other rows than the
    // tickets do: on a second connection they run beside them, on the
    // second core (1,000,000 messages: 2.7 s one after the other).
    let (tickets, messages, phrases) = match second_reader(conn)? {
        Some(other) => std::thread::scope(|s| {
            let side = s.spawn(move || -> crate::store::StoreResult<_> {
                Ok((
                    figures::message_counts(&other, period, project)?,
                    suggest::phrases(&other, period, project)?,
                ))
            });
            let tickets = figures::tickets(conn, period, project);
            let (messages, phrases) = side
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok::<_, crate::store::StoreError>((tickets?, messages, phrases))
        })?,
        None => (
            figures::tickets(conn, period, project)?,
            figures::message_counts(conn, period, project)?,
            suggest::phrases(conn, period, project)?,
        ),
    };
    let mut report = figures::build(conn, period, project, now, &tickets, &messages)?;
    let mut s = phrases;
    s.extend(suggest::manual_templates(conn, period, project)?);
    s.extend(suggest::rising(conn, period, project, &tickets)?);
    s.extend(suggest::language_gaps(&tickets, &inputs.coverage));
    report.suggestions = s;
    Ok(report)
}

/// A read-only connection to the same database file, mapped like the
/// report's own; `None` for a database without a file (in memory).
fn second_reader(conn: &Connection) -> crate::store::StoreResult<Option<Connection>> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let other = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    other.busy_timeout(std::time::Duration::from_secs(5))?;
    other.execute_batch(&format!("PRAGMA mmap_size = {MMAP_BYTES}"))?;
    Ok(Some(other))
}

/// Topic -> languages with a template file, for the routes that answer
/// with a template.
pub fn coverage(
    rules: &crate::rules::RuleSet,
    templates: &crate::reply::templates::Templates,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (topic, route) in &rules.routes {
        if let Some(name) = &route.template {
            let langs = templates.languages_of(name);
            out.insert(topic.clone(), langs);
        }
    }
    out
}

/// `1h05m`-style durations for people.
pub fn human_secs(s: Option<i64>) -> String {
    s.map_or_else(|| "-".into(), crate::sla::due::human)
}

#[cfg(test)]
mod tests;
