//! A project's QA tracker: the rows that say which recording of which
//! participant was accepted or rejected, and why.
//!
//! - [`config`]: what rules/projects.toml says about the tracker.
//! - [`load`]: CSV, XLSX (calamine) or a command's CSV -> [`Tracker`], or
//!   every problem as `file:row:column: reason`.
//! - [`registry`]: the loaded trackers, reloaded when a file changes or on
//!   SIGHUP; a broken file is refused and the last good one kept.
//! - [`dispute`]: what the rows say about one mail (answer or person).
//!
//! Rows are indexed by task and by participant ID (upper case, as
//! [`crate::participant::ids`] stores them), so a lookup is two hash probes.

pub mod config;
pub mod dispute;
pub mod load;
pub mod registry;

pub use config::TrackerConfig;
pub use load::TrackerError;
pub use registry::Registry;

use serde::Serialize;
use std::collections::HashMap;

/// What a row's status cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Rejected,
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Pending => "pending",
        }
    }
}

/// One tracker row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// 1-based row in the file (the header is row 1).
    pub line: u32,
    pub participant: Box<str>,
    pub task: Box<str>,
    pub status: Status,
    pub reason: Option<Box<str>>,
    pub date: Option<Box<str>>,
    #[serde(skip)]
    pub email: Option<Box<str>>,
}

impl Row {
    /// One line for a ticket event: what a specialist needs to see.
    pub fn describe(&self) -> String {
        format!(
            "row {}: participant {} task {} {}{}{}",
            self.line,
            self.participant,
            self.task,
            self.status.as_str(),
            self.reason
                .as_deref()
                .map(|r| format!(" reason {r}"))
                .unwrap_or_default(),
            self.date
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
        )
    }
}

/// A loaded tracker: immutable, shared behind an `Arc`.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Where it came from, for messages.
    pub origin: String,
    rows: Vec<Row>,
    by_task: HashMap<Box<str>, Vec<u32>>,
    by_participant: HashMap<Box<str>, Vec<u32>>,
}

impl Tracker {
    pub fn from_rows(origin: String, rows: Vec<Row>) -> Tracker {
        let mut by_task: HashMap<Box<str>, Vec<u32>> = HashMap::with_capacity(rows.len());
        let mut by_participant: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            let i = i as u32;
            by_task.entry(r.task.clone()).or_default().push(i);
            by_participant
                .entry(r.participant.clone())
                .or_default()
                .push(i);
        }
        Tracker {
            origin,
            rows,
            by_task,
            by_participant,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows for a task ID (upper case).
    pub fn task(&self, task: &str) -> impl Iterator<Item = &Row> {
        self.ids(self.by_task.get(task))
    }

    /// Rows for a participant ID (upper case).
    pub fn participant(&self, participant: &str) -> impl Iterator<Item = &Row> {
        self.ids(self.by_participant.get(participant))
    }

    fn ids<'a>(&'a self, ids: Option<&'a Vec<u32>>) -> impl Iterator<Item = &'a Row> {
        ids.into_iter().flatten().map(|&i| &self.rows[i as usize])
    }
}
