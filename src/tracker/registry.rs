//! The loaded trackers of every project. A tracker is loaded on first use
//! (or by [`Registry::load_all`] at start), reloaded when its file's size or
//! modification time changes (checked at most once a second) and on
//! [`Registry::reload_all`] (SIGHUP). A reload that fails is refused with
//! every error logged, and the last good tracker stays in use.
//!
//! Loading happens outside the lock: a million-row reload does not hold up
//! mail for other projects, and mail for the same project uses the old
//! tracker until the new one is ready.

use super::config::{Source, TrackerConfig};
use super::load::{self, TrackerError};
use super::Tracker;
use crate::rules::{Project, RuleSet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

const RECHECK: Duration = Duration::from_secs(1);

type Stamp = (Option<SystemTime>, u64);

#[derive(Debug)]
struct Slot {
    config: TrackerConfig,
    tracker: Option<Arc<Tracker>>,
    /// File stamp of the last load attempt (good or refused).
    stamp: Option<Stamp>,
    checked: Option<Instant>,
    loading: bool,
}

impl Slot {
    fn new(config: &TrackerConfig) -> Slot {
        Slot {
            config: config.clone(),
            tracker: None,
            stamp: None,
            checked: None,
            loading: false,
        }
    }
}

/// Shared by the pipeline's threads; cheap to clone behind an `Arc`.
#[derive(Debug, Default)]
pub struct Registry {
    slots: Mutex<HashMap<String, Slot>>,
}

fn stamp(config: &TrackerConfig) -> Option<Stamp> {
    match &config.source {
        Source::File(p) => std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len())),
        Source::Command(_) => None,
    }
}

impl Registry {
    /// The current tracker of `project`, loading or reloading it first
    /// when needed. `None`: no tracker configured, or none loaded yet
    /// because every attempt failed.
    pub fn get(&self, project: &Project) -> Option<Arc<Tracker>> {
        let config = project.tracker.as_ref()?;
        let (current, reload) = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = slots
                .entry(project.id.clone())
                .or_insert_with(|| Slot::new(config));
            if slot.config != *config {
                // The rules changed the tracker: start over.
                *slot = Slot::new(config);
            }
            let due = slot.checked.is_none_or(|t| t.elapsed() >= RECHECK);
            let reload = !slot.loading
                && (slot.checked.is_none()
                    || (due && matches!(config.source, Source::File(_)) && {
                        slot.checked = Some(Instant::now());
                        stamp(config) != slot.stamp
                    }));
            if reload {
                slot.loading = true;
            }
            (slot.tracker.clone(), reload)
        };
        if !reload {
            return current;
        }
        let _ = self.reload(&project.id, config);
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.get(&project.id).and_then(|s| s.tracker.clone())
    }

    /// Load `config` now for `project`; on error keep the last good tracker.
    fn reload(&self, project: &str, config: &TrackerConfig) -> Result<usize, Vec<TrackerError>> {
        let before = stamp(config);
        let loaded = load::load(config);
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots
            .entry(project.to_string())
            .or_insert_with(|| Slot::new(config));
        slot.loading = false;
        slot.stamp = before;
        slot.checked = Some(Instant::now());
        match loaded {
            Ok(t) => {
                let n = t.len();
                tracing::info!(project, rows = n, origin = %t.origin, "tracker loaded");
                let old = slot.tracker.replace(Arc::new(t));
                drop(slots);
                // Freeing a million rows takes a tenth of a second: not
                // on the thread that handles mail.
                if let Some(old) = old {
                    std::thread::spawn(move || drop(old));
                }
                Ok(n)
            }
            Err(errors) => {
                for e in &errors {
                    tracing::warn!(project, error = %e, kept_last_good = slot.tracker.is_some(), "tracker refused");
                }
                Err(errors)
            }
        }
    }

    /// Load every project's tracker now (daemon start, SIGHUP). Returns the
    /// errors of the trackers that were refused; the others are in use.
    pub fn reload_all(&self, rules: &RuleSet) -> Vec<TrackerError> {
        let mut errors = Vec::new();
        for p in &rules.projects {
            if let Some(config) = &p.tracker {
                {
                    // Marked as loading first: mail meanwhile uses the last
                    // good rows (or none) instead of starting a second load.
                    let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                    if slots.get(&p.id).is_some_and(|s| s.config != *config) {
                        slots.remove(&p.id);
                    }
                    slots
                        .entry(p.id.clone())
                        .or_insert_with(|| Slot::new(config))
                        .loading = true;
                }
                if let Err(mut e) = self.reload(&p.id, config) {
                    errors.append(&mut e);
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::config::{Columns, Statuses};

    fn project(path: &std::path::Path) -> Project {
        Project {
            id: "voices".into(),
            tracker: Some(TrackerConfig {
                source: Source::File(path.to_path_buf()),
                sheet: None,
                columns: Columns {
                    participant: "participant".into(),
                    task: "task".into(),
                    status: "status".into(),
                    reason: Some("reason".into()),
                    date: None,
                    email: None,
                },
                statuses: Statuses::default(),
            }),
            ..Project::default()
        }
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "participant,task,status,reason\nP-1,REC-1,rejected,noise\n",
        )
        .unwrap();
        let p = project(&path);
        let reg = Registry::default();
        assert_eq!(reg.get(&p).unwrap().len(), 1);

        std::fs::write(
            &path,
            "participant,task,status,reason\nP-1,REC-1,rejected,noise\nP-1,REC-2,accepted,\n",
        )
        .unwrap();
        // The stamp is checked at most once a second; SIGHUP loads at once.
        let rules = RuleSet {
            projects: vec![p.clone()],
            ..RuleSet::builtin()
        };
        assert!(reg.reload_all(&rules).is_empty());
        assert_eq!(reg.get(&p).unwrap().len(), 2);

        std::fs::write(
            &path,
            "participant,task,status,reason\nP-1,,rejected,noise,extra\n",
        )
        .unwrap();
        let errors = reg.reload_all(&rules);
        assert_eq!(
            errors[0].to_string(),
            format!("{}:2:0: 5 fields where the header has 4", path.display())
        );
        assert_eq!(reg.get(&p).unwrap().len(), 2, "the last good tracker stays");

        // The change is noticed without SIGHUP too, once the second is up.
        std::fs::write(&path, "participant,task,status,reason\n").unwrap();
        {
            let mut slots = reg.slots.lock().unwrap();
            slots.get_mut("voices").unwrap().checked = Some(Instant::now() - RECHECK);
        }
        assert_eq!(reg.get(&p).unwrap().len(), 0);
    }
}
