//! The period a report covers: an ISO week (`2026-W48`) or dates.

use chrono::{DateTime, Datelike, IsoWeek, NaiveDate, TimeDelta, Utc, Weekday};
use serde::Serialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("{0:?} is not an ISO week like 2026-W48")]
    Week(String),
    #[error("{0:?} is not a date like 2026-11-23")]
    Date(String),
    #[error("--until {until} is not after --since {since}")]
    Empty { since: NaiveDate, until: NaiveDate },
}

/// `[since, until)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists in UTC")
        .and_utc()
}

impl Period {
    /// `2026-W48`: Monday 00:00 to the next Monday 00:00 UTC.
    pub fn week(s: &str) -> Result<Period, PeriodError> {
        let bad = || PeriodError::Week(s.to_string());
        let (y, w) = s.trim().split_once("-W").ok_or_else(bad)?;
        let (y, w) = (y.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?);
        let monday = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).ok_or_else(bad)?;
        Ok(Period {
            since: midnight(monday),
            until: midnight(monday) + TimeDelta::weeks(1),
        })
    }

    /// From the start of `since` to the end of `until` (both dates, UTC).
    pub fn dates(since: &str, until: &str) -> Result<Period, PeriodError> {
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| PeriodError::Date(s.to_string()))
        };
        let (a, b) = (date(since)?, date(until)?);
        if b < a {
            return Err(PeriodError::Empty { since: a, until: b });
        }
        Ok(Period {
            since: midnight(a),
            until: midnight(b) + TimeDelta::days(1),
        })
    }

    /// The last full ISO week before `now`.
    pub fn last_week(now: DateTime<Utc>) -> Period {
        let today = now.date_naive();
        let this_monday =
            today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
        Period {
            since: midnight(this_monday) - TimeDelta::weeks(1),
            until: midnight(this_monday),
        }
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        let len = self.until - self.since;
        Period {
            since: self.since - len,
            until: self.since,
        }
    }

    /// `2026-W48` when the period is exactly one ISO week, else the dates.
    pub fn label(&self) -> String {
        let w = self.since.iso_week();
        if self.until - self.since == TimeDelta::weeks(1) && self.since.weekday() == Weekday::Mon {
            week_label(w)
        } else {
            format!(
                "{} to {}",
                self.since.format("%Y-%m-%d"),
                (self.until - TimeDelta::days(1)).format("%Y-%m-%d")
            )
        }
    }
}

pub fn week_label(w: IsoWeek) -> String {
    format!("{}-W{:02}", w.year(), w.week())
}

/// The ISO week of a stored `YYYY-MM-DD...` timestamp's date.
pub fn week_of_date(day: &str) -> Option<String> {
    NaiveDate::parse_from_str(day.get(..10)?, "%Y-%m-%d")
        .ok()
        .map(|d| week_label(d.iso_week()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_and_dates() {
        let p = Period::week("2026-W48").unwrap();
        assert_eq!(p.since.to_rfc3339(), "2026-11-23T00:00:00+00:00");
        assert_eq!(p.until.to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert_eq!(p.label(), "2026-W48");
        assert!(Period::week("2026-48").is_err());
        assert!(Period::week("2026-W54").is_err());
        let d = Period::dates("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(d.label(), "2026-11-01 to 2026-11-30");
        assert!(Period::dates("2026-11-30", "2026-11-01").is_err());
        let now: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        assert_eq!(Period::last_week(now), p);
        assert_eq!(p.previous().label(), "2026-W47");
    }
}
