//! SQLite storage: tickets, messages (raw bytes kept), outbox, mailbox cursors.
//!
//! One [`Store`] owns one connection. Every change goes through
//! [`Store::transaction`], so a message's outcome (ticket, message row, outbox
//! row, cursor) commits all together or not at all. The database file is
//! created 0600 inside a 0700 state directory: it holds personal data.

mod checkpoint;
pub mod corrections;
pub mod events;
pub mod limits;
pub mod mailboxes;
pub mod messages;
mod migrations;
pub mod outbox;
pub mod quarantine;
pub mod suppression;
pub mod tickets;
// Issue 11: accounts and sessions, the desk's read queries.
pub mod desk;
pub mod users;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Errors from the store. `is_transient` tells an MTA pipe to retry (75).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot prepare state directory {path}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database is at schema version {found}, newer than this helpgate knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot encode stored value")]
    Json(#[from] serde_json::Error),
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: i64 },
    #[error("another helpgate process is delivering this outbox ({path} is locked)")]
    OutboxBusy { path: PathBuf },
}

impl StoreError {
    /// Busy, locked, disk full, I/O: worth retrying later.
    pub fn is_transient(&self) -> bool {
        let code = match self {
            StoreError::Sqlite(e) | StoreError::Open { source: e, .. } => e.sqlite_error_code(),
            StoreError::StateDir { source, .. } => {
                return source.raw_os_error() == Some(libc::ENOSPC)
            }
            _ => None,
        };
        matches!(
            code,
            Some(
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    // A read-only database or state dir (issue 10): an MTA
                    // retries while an admin fixes the permission.
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::PermissionDenied
                    | ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::OutOfMemory
            )
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    // Declared after `conn`, so the writer closes first and the checkpointer's
    // own connection, the last one, folds what is left of the WAL in.
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Store {
    /// Open (creating if needed) `<state_dir>/helpgate.db`, migrating it.
    pub fn open_in(state_dir: &Path) -> StoreResult<Store> {
        if !state_dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(state_dir)
                .map_err(|source| StoreError::StateDir {
                    path: state_dir.to_path_buf(),
                    source,
                })?;
        }
        Self::open(&state_dir.join("helpgate.db"))
    }

    /// Open (creating if needed) the database at `path`, migrating it.
    /// SQLite errors name the file.
    pub fn open(path: &Path) -> StoreResult<Store> {
        // Two processes opening a fresh database (two MTA pipes at once)
        // meet in steps SQLite does not wait in (switching to WAL): the
        // loser retries for a while instead of failing.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Self::open_inner(path) {
                Err(StoreError::Sqlite(e))
                    if matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(StoreError::Sqlite(source)) => {
                    return Err(StoreError::Open {
                        path: path.to_path_buf(),
                        source,
                    })
                }
                other => return other,
            }
        }
    }

    fn open_inner(path: &Path) -> StoreResult<Store> {
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if !existed {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |source| StoreError::StateDir {
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if !existed {
            // A stored message is a few KB (raw mail, parsed view, details):
            // on 16 KB pages it fits one page, and the WAL takes a quarter of
            // the frames (strace: 72k -> 19k writes per 20,000 mails). Only a
            // new database can choose; an old one keeps its own.
            conn.pragma_update(None, "page_size", 16384)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // One message touches more distinct statements than the default 16:
        // a smaller cache would re-parse them for every message.
        conn.set_prepared_statement_cache_capacity(128);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Foreign keys make most writes keep a statement journal, a copy of
        // each 16 KB page a statement changes. On disk, once one statement
        // spilled it, every later one wrote its copies to a temp file: 15 %
        // of ingest's CPU on realistic mail went to those writes (perf).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            checkpointer: None,
        };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// Copy the WAL into the database from a thread of its own instead of in
    /// the commit that crosses the threshold: a bulk import or a busy daemon
    /// never stops writing for it. Meant for the one long-lived writer.
    pub fn checkpoint_in_background(&mut self) -> StoreResult<()> {
        if self.checkpointer.is_none() {
            self.checkpointer = Some(checkpoint::Checkpointer::start(&mut self.conn, &self.path)?);
        }
        Ok(())
    }

    /// Give memory back after a burst of work: this connection's page
    /// cache, then what the allocator holds free.
    pub fn release_memory(&self) {
        if let Err(e) = self.conn.execute_batch("PRAGMA shrink_memory") {
            tracing::debug!(error = %e, "PRAGMA shrink_memory failed");
        }
        trim_heap();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read-only access for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` in one transaction; commit when it returns `Ok`.
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }
}

/// Return the allocator's free pages to the kernel now, instead of after
/// jemalloc's decay time (it decays only while the process allocates, so an
/// idle daemon would keep a backlog's pages).
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: "arena.<MALLCTL_ARENAS_ALL>.purge" reads and writes nothing:
    // every pointer is null and the lengths are zero, as the call requires.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        tracing::debug!(rc, "jemalloc purge failed");
    }
}

/// Timestamps are stored as RFC 3339 UTC text with milliseconds, which sorts.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    stored_ts(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// The form [`ts`] writes, `2026-12-06T07:05:09.123Z`, read by position: a
/// report reads five per ticket (400,000 tickets: 2 million). Anything else
/// is `None`, and [`parse_ts`] falls back to chrono's general parser.
fn stored_ts(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_milli_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
        num(20, 23)?,
    )?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod ts_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_timestamps_read_back_exactly_and_other_forms_still_parse() {
        for t in [
            Utc.timestamp_millis_opt(0).unwrap(),
            Utc.timestamp_millis_opt(1_796_000_123_456).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap(),
        ] {
            assert_eq!(parse_ts(&ts(t)), Some(t), "{}", ts(t));
        }
        let general = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        for s in [
            "2026-12-06T08:05:09+02:00",
            "2026-12-06T07:05:09Z",
            "2026-12-06T07:05:09.5Z",
            "2026-13-06T07:05:09.123Z",
            "2026-02-30T07:05:09.123Z",
            "2026-12-06T07:05:9x.123Z",
            "not a time at all, 24 ch",
        ] {
            assert_eq!(parse_ts(s), general(s), "{s}");
        }
    }
}
