//! The only place that reads the wall clock, so tests can pin time.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;

/// Source of "now". The daemon uses [`Clock::system`]; tests use [`Clock::fixed`].
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    /// A clock that always answers `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock(Arc::new(move || at))
    }

    /// A fixed clock from a unix timestamp in seconds.
    pub fn fixed_unix(secs: i64) -> Self {
        let at = Utc
            .timestamp_opt(secs, 0)
            .single()
            .expect("fixed_unix takes a valid timestamp");
        Self::fixed(at)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}
