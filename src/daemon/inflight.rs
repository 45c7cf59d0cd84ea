//! Mail that killed the process outright (an abort, out of memory, a stack
//! overflow: nothing a panic guard catches) must not kill it again at every
//! restart, or the mailbox is dead until someone deletes the mail by hand
//! (issue 10). Before a batch is parsed, its sources are written to a marker
//! file under `<state_dir>/inflight/`, removed once the batch is prepared.
//! A marker left by a dead process names suspects: a batch holding one is
//! prepared one message at a time, each under a marker of its own, and a
//! message that a single marker names at start-up is quarantined raw
//! without being parsed again.
//!
//! The markers are plain files, not SQLite rows: they are written on the
//! blocking threads that parse, without the store lock, and an abort does
//! not lose what the kernel already has.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker directory and what the last run left in it.
#[derive(Debug)]
pub struct Inflight {
    dir: PathBuf,
    /// Sources of batches the last run did not finish preparing.
    suspects: HashSet<String>,
    /// Sources the last run was preparing alone when it died.
    poison: HashSet<String>,
    next: AtomicU64,
}

/// Why a poison message is quarantined.
pub const REASON: &str =
    "processing this message stopped helpgate in an earlier run (abort, out of memory or stack overflow)";

impl Inflight {
    /// Read what an earlier run left, then start afresh.
    pub fn open(state_dir: &Path) -> Inflight {
        let dir = state_dir.join("inflight");
        let (mut suspects, mut poison) = (HashSet::new(), HashSet::new());
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let single = e.file_name().to_string_lossy().starts_with("single-");
                for line in text.lines().filter(|l| !l.is_empty()) {
                    if single {
                        poison.insert(line.to_string());
                    } else {
                        suspects.insert(line.to_string());
                    }
                }
                let _ = std::fs::remove_file(e.path());
            }
        }
        if !suspects.is_empty() || !poison.is_empty() {
            tracing::warn!(
                suspects = suspects.len(),
                poison = poison.len(),
                "the last run died while parsing: its batch is prepared one message at a time"
            );
        }
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(error = %e, "cannot create the in-flight marker directory");
        }
        Inflight {
            dir,
            suspects,
            poison,
            next: AtomicU64::new(0),
        }
    }

    pub fn is_poison(&self, source: &str) -> bool {
        self.poison.contains(source)
    }

    pub fn is_suspect(&self, source: &str) -> bool {
        self.suspects.contains(source)
    }

    /// Mark `sources` as being prepared until the guard is dropped.
    pub fn mark<'a>(&self, single: bool, sources: impl Iterator<Item = &'a str>) -> Marker {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = if single {
            format!("single-{n}")
        } else {
            format!("batch-{n}")
        };
        let path = self.dir.join(name);
        let text: String = sources.flat_map(|s| [s, "\n"]).collect();
        if let Err(e) = std::fs::write(&path, text) {
            tracing::debug!(error = %e, "cannot write an in-flight marker");
        }
        Marker { path }
    }
}

/// Removes its marker file when dropped (the batch was prepared).
#[derive(Debug)]
pub struct Marker {
    path: PathBuf,
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
