//! Reading a tracker: a CSV export, an XLSX workbook (calamine, the
//! maintained pure-Rust reader; no office suite needed) or the CSV a
//! configured command prints. All or nothing: every problem is collected as
//! `file:row:column: reason` (row 1 is the header; column 0 means the row
//! as a whole), and a file with any problem yields no tracker.

use super::config::{Columns, Source, Statuses, TrackerConfig};
use super::{Row, Status, Tracker};
use calamine::{Data, Reader};
use std::borrow::Cow;
use std::path::Path;

/// One problem in a tracker file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{row}:{column}: {reason}")]
pub struct TrackerError {
    pub origin: String,
    pub row: u64,
    pub column: u64,
    pub reason: String,
}

/// Stop collecting after this many problems: a wrong file yields one per row.
const MAX_ERRORS: usize = 20;

/// Load the tracker `config` describes.
pub fn load(config: &TrackerConfig) -> Result<Tracker, Vec<TrackerError>> {
    match &config.source {
        Source::File(path) => {
            let origin = path.display().to_string();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("xlsx" | "xlsm" | "xls" | "ods") => from_workbook(path, config),
                _ => match std::fs::File::open(path) {
                    Ok(f) => from_csv(
                        &origin,
                        std::io::BufReader::with_capacity(1 << 20, f),
                        config,
                    ),
                    Err(e) => Err(vec![whole(&origin, format!("cannot read: {e}"))]),
                },
            }
        }
        Source::Command(argv) => {
            let origin = format!("command `{}`", argv.join(" "));
            let Some((program, args)) = argv.split_first() else {
                return Err(vec![whole(&origin, "empty command".into())]);
            };
            let out = std::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| vec![whole(&origin, format!("cannot run: {e}"))])?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                return Err(vec![whole(
                    &origin,
                    format!("exited with {}: {}", out.status, stderr.trim()),
                )]);
            }
            from_csv(&origin, out.stdout.as_slice(), config)
        }
    }
}

fn whole(origin: &str, reason: String) -> TrackerError {
    TrackerError {
        origin: origin.to_string(),
        row: 0,
        column: 0,
        reason,
    }
}

/// Column positions of the configured headers.
struct Layout {
    participant: usize,
    task: usize,
    status: usize,
    reason: Option<usize>,
    date: Option<usize>,
    email: Option<usize>,
}

impl Layout {
    fn find(origin: &str, header: &[String], c: &Columns) -> Result<Layout, Vec<TrackerError>> {
        let mut errors = Vec::new();
        let mut pos = |name: &str| {
            let found = header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name.trim()));
            if found.is_none() {
                errors.push(TrackerError {
                    origin: origin.to_string(),
                    row: 1,
                    column: 0,
                    reason: format!(
                        "no column {name:?} in the header (found: {})",
                        header.join(", ")
                    ),
                });
            }
            found
        };
        let participant = pos(&c.participant);
        let task = pos(&c.task);
        let status = pos(&c.status);
        let reason = c.reason.as_deref().map(&mut pos);
        let date = c.date.as_deref().map(&mut pos);
        let email = c.email.as_deref().map(&mut pos);
        match (participant, task, status, errors.is_empty()) {
            (Some(participant), Some(task), Some(status), true) => Ok(Layout {
                participant,
                task,
                status,
                reason: reason.flatten(),
                date: date.flatten(),
                email: email.flatten(),
            }),
            _ => Err(errors),
        }
    }
}

/// Builds rows from cells, collecting problems.
struct Rows<'a> {
    origin: &'a str,
    layout: Layout,
    statuses: &'a Statuses,
    rows: Vec<Row>,
    errors: Vec<TrackerError>,
}

impl Rows<'_> {
    fn push<'c>(&mut self, line: u64, cell: &dyn Fn(usize) -> Cow<'c, str>) {
        if cell_blank(cell, &self.layout) {
            return;
        }
        let mut bad = |column: usize, reason: String| {
            if self.errors.len() < MAX_ERRORS {
                self.errors.push(TrackerError {
                    origin: self.origin.to_string(),
                    row: line,
                    column: column as u64 + 1,
                    reason,
                });
            }
        };
        let l = &self.layout;
        let participant = upper(&cell(l.participant));
        let task = upper(&cell(l.task));
        let status_text = cell(l.status);
        if participant.is_empty() {
            bad(l.participant, "empty participant ID".into());
        }
        if task.is_empty() {
            bad(l.task, "empty task ID".into());
        }
        let status = status_of(self.statuses, &status_text);
        if status.is_none() {
            bad(
                l.status,
                format!(
                    "unknown status {:?} (rejected: {}; accepted: {}; pending: {}; add it under [project.tracker.statuses])",
                    status_text.trim(),
                    self.statuses.rejected.join(", "),
                    self.statuses.accepted.join(", "),
                    self.statuses.pending.join(", ")
                ),
            );
        }
        let opt = |i: Option<usize>| {
            i.map(cell)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(String::into_boxed_str)
        };
        let (reason, date, email) = (opt(l.reason), opt(l.date), opt(l.email));
        if let (Some(status), false, false) = (status, participant.is_empty(), task.is_empty()) {
            self.rows.push(Row {
                line: line.min(u32::MAX as u64) as u32,
                participant: participant.into(),
                task: task.into(),
                status,
                reason,
                date,
                email,
            });
        }
    }

    fn finish(self) -> Result<Tracker, Vec<TrackerError>> {
        if self.errors.is_empty() {
            Ok(Tracker::from_rows(self.origin.to_string(), self.rows))
        } else {
            Err(self.errors)
        }
    }
}

/// Trimmed, upper case; ASCII IDs (nearly all) without the Unicode path.
fn upper(s: &str) -> String {
    let s = s.trim();
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.to_uppercase()
    }
}

/// Rows whose cells are all empty are spacing, not data.
fn cell_blank<'c>(cell: &dyn Fn(usize) -> Cow<'c, str>, l: &Layout) -> bool {
    [Some(l.participant), Some(l.task), Some(l.status), l.reason]
        .into_iter()
        .flatten()
        .all(|i| cell(i).trim().is_empty())
}

fn status_of(s: &Statuses, text: &str) -> Option<Status> {
    let t = text.trim();
    let is = |list: &[String]| list.iter().any(|v| v.eq_ignore_ascii_case(t));
    if is(&s.rejected) {
        Some(Status::Rejected)
    } else if is(&s.accepted) {
        Some(Status::Accepted)
    } else if is(&s.pending) {
        Some(Status::Pending)
    } else {
        None
    }
}

/// CSV with a header row; `,` or `;` (Excel in many locales writes `;`),
/// chosen by the header line; a UTF-8 BOM is skipped.
pub fn from_csv(
    origin: &str,
    mut input: impl std::io::BufRead,
    config: &TrackerConfig,
) -> Result<Tracker, Vec<TrackerError>> {
    let head = input
        .fill_buf()
        .map_err(|e| vec![whole(origin, format!("cannot read: {e}"))])?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|&&b| b == b';').count()
        > first_line.iter().filter(|&&b| b == b',').count()
    {
        b';'
    } else {
        b','
    };
    if bom {
        input.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(input);
    let csv_err = |e: &csv::Error| {
        let (row, column) = match e.kind() {
            csv::ErrorKind::UnequalLengths { pos, .. } => (pos.as_ref().map_or(0, |p| p.line()), 0),
            csv::ErrorKind::Utf8 { pos, err } => {
                (pos.as_ref().map_or(0, |p| p.line()), err.field() as u64 + 1)
            }
            _ => (e.position().map_or(0, |p| p.line()), 0),
        };
        TrackerError {
            origin: origin.to_string(),
            row,
            column,
            reason: csv_reason(e),
        }
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(vec![csv_err(&e)]),
    };
    let layout = Layout::find(origin, &header, &config.columns)?;
    let mut rows = Rows {
        origin,
        layout,
        statuses: &config.statuses,
        rows: Vec::new(),
        errors: Vec::new(),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let record = &record;
                rows.push(line, &|i| Cow::Borrowed(record.get(i).unwrap_or("")));
            }
            Err(e) => {
                rows.errors.push(csv_err(&e));
                break;
            }
        }
        if rows.errors.len() >= MAX_ERRORS {
            break;
        }
    }
    rows.finish()
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 (save the export as UTF-8 CSV)".into(),
        _ => e.to_string(),
    }
}

/// The configured sheet (or the first) of a workbook.
fn from_workbook(path: &Path, config: &TrackerConfig) -> Result<Tracker, Vec<TrackerError>> {
    let origin = path.display().to_string();
    let mut book = calamine::open_workbook_auto(path)
        .map_err(|e| vec![whole(&origin, format!("cannot open workbook: {e}"))])?;
    let range = match &config.sheet {
        Some(name) => book.worksheet_range(name).map_err(|e| {
            vec![whole(
                &origin,
                format!(
                    "cannot read sheet {name:?}: {e} (sheets: {})",
                    book.sheet_names().join(", ")
                ),
            )]
        })?,
        None => match book.worksheet_range_at(0) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(vec![whole(&origin, format!("cannot read sheet: {e}"))]),
            None => return Err(vec![whole(&origin, "the workbook has no sheet".into())]),
        },
    };
    let origin = format!("{origin}[{}]", config.sheet.as_deref().unwrap_or("sheet 1"));
    // Rows are numbered as the spreadsheet shows them.
    let first_row = range.start().map_or(0, |(r, _)| r as u64) + 1;
    let mut lines = range.rows();
    let header: Vec<String> = match lines.next() {
        Some(h) => h.iter().map(cell_text).collect(),
        None => return Err(vec![whole(&origin, "the sheet is empty".into())]),
    };
    let layout = Layout::find(&origin, &header, &config.columns)?;
    let mut rows = Rows {
        origin: &origin,
        layout,
        statuses: &config.statuses,
        rows: Vec::new(),
        errors: Vec::new(),
    };
    for (i, cells) in lines.enumerate() {
        rows.push(first_row + 1 + i as u64, &|c| {
            Cow::Owned(cells.get(c).map(cell_text).unwrap_or_default())
        });
        if rows.errors.len() >= MAX_ERRORS {
            break;
        }
    }
    rows.finish()
}

/// A cell as the text a person sees: whole numbers without `.0` (IDs are
/// often typed as numbers), dates as YYYY-MM-DD.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}
