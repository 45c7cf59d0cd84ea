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
///
/// The indexes map a key's hash to the first row with it and chain the
/// rest through `next_*`: no allocation per key or per row beyond the row
/// itself (a million-row file loads in about half the time a map of
/// owned keys to vectors took). Rows found by hash are compared with the
/// key, so a hash collision only costs a comparison.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Where it came from, for messages.
    pub origin: String,
    rows: Vec<Row>,
    by_task: HashMap<u64, u32>,
    next_task: Vec<u32>,
    by_participant: HashMap<u64, u32>,
    next_participant: Vec<u32>,
}

const END: u32 = u32::MAX;

fn key(s: &str) -> u64 {
    use std::hash::BuildHasher;
    // Fixed keys: the index is built and probed in one process, and a
    // sender who could force collisions only makes a chain longer.
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(s)
}

impl Tracker {
    pub fn from_rows(origin: String, rows: Vec<Row>) -> Tracker {
        let n = rows.len();
        let mut by_task = HashMap::with_capacity(n);
        let mut by_participant = HashMap::with_capacity(n / 8);
        let mut next_task = vec![END; n];
        let mut next_participant = vec![END; n];
        // Back to front, so each key's head is its first row and the chain
        // runs in file order, with one map insert per row and index.
        for (i, r) in rows.iter().enumerate().rev() {
            let at = i as u32;
            next_task[i] = by_task.insert(key(&r.task), at).unwrap_or(END);
            next_participant[i] = by_participant
                .insert(key(&r.participant), at)
                .unwrap_or(END);
        }
        Tracker {
            origin,
            rows,
            by_task,
            next_task,
            by_participant,
            next_participant,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows for a task ID (upper case).
    pub fn task<'a>(&'a self, task: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.walk(self.by_task.get(&key(task)), &self.next_task)
            .filter(move |r| &*r.task == task)
    }

    /// Rows for a participant ID (upper case).
    pub fn participant<'a>(&'a self, participant: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.walk(
            self.by_participant.get(&key(participant)),
            &self.next_participant,
        )
        .filter(move |r| &*r.participant == participant)
    }

    fn walk<'a>(
        &'a self,
        head: Option<&u32>,
        next: &'a [u32],
    ) -> impl Iterator<Item = &'a Row> + 'a {
        let mut at = head.copied().unwrap_or(END);
        std::iter::from_fn(move || {
            if at == END {
                return None;
            }
            let row = &self.rows[at as usize];
            at = next[at as usize];
            Some(row)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u32, p: &str, task: &str) -> Row {
        Row {
            line,
            participant: p.into(),
            task: task.into(),
            status: Status::Pending,
            reason: None,
            date: None,
            email: None,
        }
    }

    #[test]
    fn rows_with_one_key_come_back_in_file_order() {
        let t = Tracker::from_rows(
            "t".into(),
            vec![
                row(2, "P-1", "A"),
                row(3, "P-2", "B"),
                row(4, "P-1", "A"),
                row(5, "P-1", "C"),
            ],
        );
        let lines = |it: &mut dyn Iterator<Item = &Row>| it.map(|r| r.line).collect::<Vec<_>>();
        assert_eq!(lines(&mut t.task("A")), [2, 4]);
        assert_eq!(lines(&mut t.participant("P-1")), [2, 4, 5]);
        assert_eq!(lines(&mut t.task("Z")), Vec::<u32>::new());
    }
}
