//! What rules/projects.toml `[project.tracker]` says about a project's QA
//! tracker, validated (see rules/README.md).

use std::path::PathBuf;

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A CSV or XLSX export (by extension: `.xlsx`/`.xlsm` is a workbook,
    /// anything else CSV).
    File(PathBuf),
    /// A program (argv, no shell) that prints CSV on stdout.
    Command(Vec<String>),
}

/// Header names of the columns helpgate reads; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub participant: String,
    pub task: String,
    pub status: String,
    pub reason: Option<String>,
    pub date: Option<String>,
    /// The participant's address: when configured, a row is only shown to
    /// mail from that address.
    pub email: Option<String>,
}

/// Which status cell values mean what (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses {
    pub rejected: Vec<String>,
    pub accepted: Vec<String>,
    pub pending: Vec<String>,
}

impl Default for Statuses {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Statuses {
            rejected: v(&["rejected", "declined"]),
            accepted: v(&["accepted", "approved"]),
            pending: v(&["pending", "received", "in review", "in_review", "uploaded"]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerConfig {
    pub source: Source,
    /// XLSX: the sheet to read (default: the first).
    pub sheet: Option<String>,
    pub columns: Columns,
    pub statuses: Statuses,
}
