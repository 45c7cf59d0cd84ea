//! Business hours: when an SLA clock runs. Working intervals are built in
//! the project's local time and converted to UTC one at a time, so a
//! daylight-saving change moves the opening hour with the wall clock.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// How far ahead a computation may look for working time: a due date more
/// than ten years out is a misconfiguration, not a deadline.
const HORIZON_DAYS: u32 = 3660;

/// Opening hours in one time zone: the same hours on each working day.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub time_zone: Tz,
    /// Monday first; at least one is set (validated in the config).
    pub days: [bool; 7],
    pub open: NaiveTime,
    /// After `open` (validated).
    pub close: NaiveTime,
}

/// When a clock runs: around the clock, or in business hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hours<'a> {
    Always,
    Business(&'a BusinessHours),
}

impl Hours<'_> {
    /// The instant `work` of running time after `start`.
    pub fn add(self, start: DateTime<Utc>, work: TimeDelta) -> DateTime<Utc> {
        match self {
            Hours::Always => start + work,
            Hours::Business(b) => b.add(start, work),
        }
    }

    /// Running time between `a` and `b` (zero when `b` is not after `a`).
    pub fn between(self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        if b <= a {
            return TimeDelta::zero();
        }
        match self {
            Hours::Always => b - a,
            Hours::Business(h) => h.between(a, b),
        }
    }
}

impl BusinessHours {
    fn is_working(&self, day: Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }

    fn local(&self, day: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        let naive = day.and_time(t);
        // In a spring-forward gap the hour does not exist: take the first
        // instant after it, which is what a person's wall clock shows.
        match self.time_zone.from_local_datetime(&naive).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => self
                .time_zone
                .from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
                .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc)),
        }
    }

    /// Working intervals (UTC) from the local day of `from` onwards.
    fn intervals(
        &self,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&self.time_zone).date_naive();
        (0..HORIZON_DAYS)
            .filter_map(move |i| first.checked_add_days(Days::new(u64::from(i))))
            .filter(|d| self.is_working(d.weekday()))
            .map(|d| (self.local(d, self.open), self.local(d, self.close)))
            .filter(move |(_, close)| *close > from)
    }

    fn add(&self, start: DateTime<Utc>, work: TimeDelta) -> DateTime<Utc> {
        let mut left = work;
        let mut last = start;
        for (open, close) in self.intervals(start) {
            let from = open.max(start);
            let span = close - from;
            if left <= span {
                return from + left;
            }
            left -= span;
            last = close;
        }
        last + left
    }

    fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        let mut sum = TimeDelta::zero();
        for (open, close) in self.intervals(a) {
            if open >= b {
                break;
            }
            sum += close.min(b) - open.max(a);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin_office() -> BusinessHours {
        BusinessHours {
            time_zone: "Europe/Berlin".parse().unwrap(),
            days: [true, true, true, true, true, false, false],
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn four_hours_from_friday_afternoon_end_on_monday_morning() {
        let b = berlin_office();
        let h = Hours::Business(&b);
        // Friday 2026-11-27 15:00 Berlin (14:00 UTC): two hours left on
        // Friday, two more from Monday 09:00 Berlin (08:00 UTC).
        let due = h.add(at("2026-11-27T14:00:00Z"), TimeDelta::hours(4));
        assert_eq!(due, at("2026-11-30T10:00:00Z"));
        assert_eq!(
            h.between(at("2026-11-27T14:00:00Z"), due),
            TimeDelta::hours(4)
        );
        // A weekend of waiting costs no business time.
        assert_eq!(
            h.between(at("2026-11-28T10:00:00Z"), at("2026-11-30T08:00:00Z")),
            TimeDelta::zero()
        );
    }

    #[test]
    fn mail_on_saturday_starts_its_clock_on_monday() {
        let b = berlin_office();
        let due = Hours::Business(&b).add(at("2026-11-28T12:00:00Z"), TimeDelta::minutes(30));
        assert_eq!(due, at("2026-11-30T08:30:00Z"));
    }

    #[test]
    fn opening_hour_follows_daylight_saving() {
        let b = berlin_office();
        // 2026-03-27 is a Friday in winter time (09:00 = 08:00 UTC); on
        // Monday 2026-03-30 summer time has begun (09:00 = 07:00 UTC).
        let due = Hours::Business(&b).add(at("2026-03-27T15:00:00Z"), TimeDelta::hours(2));
        assert_eq!(due, at("2026-03-30T08:00:00Z"));
    }

    #[test]
    fn always_is_wall_time() {
        let h = Hours::Always;
        assert_eq!(
            h.add(at("2026-11-28T12:00:00Z"), TimeDelta::hours(48)),
            at("2026-11-30T12:00:00Z")
        );
    }
}
