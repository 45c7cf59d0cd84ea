//! Mail that killed the process outright (an abort, out of memory, a stack
//! overflow: nothing a panic guard catches) must not kill it again at every
//! restart, or the mailbox is dead until someone deletes the mail by hand
//! (issue 10). Before a batch is parsed, its sources are written to a marker
//! file under `<state_dir>/inflight/`, removed once the batch is prepared.
//! A marker left by a dead process names suspects: a batch holding one is
//! prepared one message at a time, each under a marker of its own. A
//! message that single markers name at two start-ups in a row is
//! quarantined raw without being parsed again: one death while it was
//! alone may have been a kill -9 or a restart that happened to fall there
//! (the crash test quarantined an innocent mail that way), two are the
//! mail.
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

/// Sources that died once while prepared alone (one per line).
const STRIKES: &str = "strikes";

/// Why a poison message is quarantined.
pub const REASON: &str =
    "processing this message stopped helpgate in an earlier run (abort, out of memory or stack overflow)";

impl Inflight {
    /// Read what an earlier run left, then start afresh.
    pub fn open(state_dir: &Path) -> Inflight {
        let dir = state_dir.join("inflight");
        let strikes_path = dir.join(STRIKES);
        // Sources that died alone at the start-up before this one.
        let earlier: HashSet<String> = std::fs::read_to_string(&strikes_path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let (mut suspects, mut poison, mut strikes) =
            (HashSet::new(), HashSet::new(), HashSet::new());
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name == STRIKES {
                    continue;
                }
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let single = name.starts_with("single-");
                for line in text.lines().filter(|l| !l.is_empty()) {
                    if single && earlier.contains(line) {
                        poison.insert(line.to_string());
                    } else {
                        if single {
                            strikes.insert(line.to_string());
                        }
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
        // Only a strike that a marker renews survives: a mail prepared
        // since is forgiven.
        let text: String = strikes.iter().flat_map(|s| [s.as_str(), "\n"]).collect();
        if let Err(e) = std::fs::write(&strikes_path, text) {
            tracing::debug!(error = %e, "cannot write the in-flight strikes");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a process that died while preparing `source` alone leaves.
    fn died_alone(state: &Path, source: &str) {
        let inflight = Inflight::open(state);
        std::mem::forget(inflight.mark(true, std::iter::once(source)));
    }

    #[test]
    fn a_mail_is_poison_after_two_deaths_alone_in_a_row() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path();
        let batch = Inflight::open(s);
        std::mem::forget(batch.mark(false, ["a", "b"].into_iter()));
        let after_batch = Inflight::open(s);
        assert!(after_batch.is_suspect("a") && !after_batch.is_poison("a"));

        died_alone(s, "a");
        // One death alone: may have been a kill -9 that fell there.
        let once = Inflight::open(s);
        assert!(once.is_suspect("a") && !once.is_poison("a"));
        std::mem::forget(once.mark(true, std::iter::once("a")));
        // Twice in a row: the mail.
        let twice = Inflight::open(s);
        assert!(twice.is_poison("a"));
        assert!(!twice.is_poison("b"));

        // A strike not renewed at the next start-up is forgiven.
        died_alone(s, "c");
        let renewed = Inflight::open(s);
        assert!(!renewed.is_poison("c"));
        drop(renewed);
        let clean = Inflight::open(s);
        assert!(!clean.is_suspect("c"));
        std::mem::forget(clean.mark(true, std::iter::once("c")));
        assert!(!Inflight::open(s).is_poison("c"));
    }
}
