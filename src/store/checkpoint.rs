//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL
//! past 1,000 pages, on the writer's thread: in a bulk import that was a fifth
//! of the store thread's time, during which nothing was written. Here the
//! writer's WAL hook only wakes a thread that checkpoints through its own
//! connection in PASSIVE mode, which never blocks the writer. Should that
//! thread fall far behind, the writer checkpoints itself, so the WAL stays
//! bounded whatever happens.

use super::{StoreError, StoreResult};
use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};
use std::os::raw::c_int;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// WAL pages that wake the checkpointer (SQLite's own automatic threshold).
const WAKE_PAGES: c_int = 1000;
/// WAL pages at which the writer stops relying on the checkpointer.
const WRITER_PAGES: c_int = 16 * WAKE_PAGES;

#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    pending: bool,
    stop: bool,
}

impl Signal {
    fn set(&self, f: impl FnOnce(&mut State)) {
        // A poisoned lock only means the other side panicked mid-update of
        // two booleans; the flags are still meaningful.
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
        self.wake.notify_one();
    }
}

pub(super) struct Checkpointer {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Open a second connection to `path` for checkpoints and hook `writer`
    /// to it. The hook replaces the writer's automatic checkpoint.
    pub(super) fn start(writer: &mut Connection, path: &Path) -> StoreResult<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let signal = Arc::new(Signal::default());
        let thread = {
            let signal = signal.clone();
            std::thread::Builder::new()
                .name("checkpoint".into())
                .spawn(move || run(conn, &signal))
                .map_err(|source| StoreError::StateDir {
                    path: path.to_path_buf(),
                    source,
                })?
        };
        let hook = signal.clone();
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages >= WRITER_PAGES {
                wal.checkpoint()?;
            } else if pages >= WAKE_PAGES {
                hook.set(|s| s.pending = true);
            }
            Ok(())
        }))?;
        Ok(Checkpointer {
            signal,
            thread: Some(thread),
        })
    }
}

fn run(conn: Connection, signal: &Signal) {
    loop {
        {
            let mut s = signal.state.lock().unwrap_or_else(|e| e.into_inner());
            while !s.pending && !s.stop {
                s = signal.wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.stop {
                break;
            }
            s.pending = false;
        }
        // A failed checkpoint loses nothing (the pages stay in the WAL); the
        // next wake-up, or the writer's own fallback, tries again.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "background WAL checkpoint failed");
        }
    }
    // Dropping the last connection folds the rest of the WAL into the
    // database, as closing the writer would have.
    drop(conn);
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.set(|s| s.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
