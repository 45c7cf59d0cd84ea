//! `[sla]`: policies and business hours, raw and validated. Errors name the
//! key (`sla.policy[1].first_response: ...`).

use super::ConfigError;
use crate::sla::hours::BusinessHours;
use crate::sla::{Escalation, Policy, SlaConfig};
use chrono::{NaiveTime, TimeDelta};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    pub near_breach: Option<String>,
    pub mail_from: Option<String>,
    #[serde(default)]
    pub policy: Vec<RawPolicy>,
    #[serde(default)]
    pub hours: Vec<RawHours>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub project: Option<String>,
    pub queue: Option<String>,
    pub topic: Option<String>,
    pub first_response: Option<String>,
    pub resolution: Option<String>,
    pub auto_reply_counts: Option<bool>,
    pub escalate_to_queue: Option<String>,
    #[serde(default)]
    pub escalate_mail: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    pub project: Option<String>,
    pub time_zone: Option<String>,
    pub days: Option<Vec<String>>,
    pub open: Option<String>,
    pub close: Option<String>,
}

/// `30m`, `4h`, `3d` (days are 24 hours of the clock's running time).
pub fn span(key: &str, s: &str) -> Result<TimeDelta, ConfigError> {
    let d = match s.trim().strip_suffix('d') {
        Some(days) => super::mailbox::parse_duration(key, &format!("{days}h"))? * 24,
        None => super::mailbox::parse_duration(key, s)?,
    };
    if d.is_zero() {
        return Err(ConfigError::invalid(
            key,
            "a duration above zero",
            format!("{s:?}"),
        ));
    }
    TimeDelta::from_std(d)
        .map_err(|_| ConfigError::invalid(key, "a shorter duration", format!("{s:?}")))
}

fn required(key: String, v: &Option<String>) -> Result<&str, ConfigError> {
    v.as_deref()
        .ok_or_else(|| ConfigError::invalid(key, "a value", "nothing"))
}

fn address(key: &str, a: &str) -> Result<(), ConfigError> {
    a.parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| ConfigError::invalid(key, "an email address", format!("{a:?}")))
}

/// Validate a list of addresses named `key`.
pub fn addresses(key: &str, list: &[String]) -> Result<(), ConfigError> {
    for (i, a) in list.iter().enumerate() {
        address(&format!("{key}[{i}]"), a)?;
    }
    Ok(())
}

fn time(key: String, s: &str) -> Result<NaiveTime, ConfigError> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| ConfigError::invalid(key, "a time like \"09:00\"", format!("{s:?}")))
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn hours(i: usize, raw: &RawHours) -> Result<(String, BusinessHours), ConfigError> {
    let key = |k: &str| format!("sla.hours[{i}].{k}");
    let project = required(key("project"), &raw.project)?.to_string();
    let tz_name = required(key("time_zone"), &raw.time_zone)?;
    let time_zone = tz_name.parse().map_err(|_| {
        ConfigError::invalid(
            key("time_zone"),
            "an IANA time zone like \"Europe/Berlin\"",
            format!("{tz_name:?}"),
        )
    })?;
    let mut days = [false; 7];
    let names = raw
        .days
        .clone()
        .unwrap_or_else(|| DAYS[..5].iter().map(|d| d.to_string()).collect());
    for (j, d) in names.iter().enumerate() {
        let Some(n) = DAYS.iter().position(|x| x.eq_ignore_ascii_case(d)) else {
            return Err(ConfigError::invalid(
                format!("sla.hours[{i}].days[{j}]"),
                "one of mon, tue, wed, thu, fri, sat, sun",
                format!("{d:?}"),
            ));
        };
        days[n] = true;
    }
    if !days.contains(&true) {
        return Err(ConfigError::invalid(
            key("days"),
            "at least one day",
            "none",
        ));
    }
    let open = time(key("open"), raw.open.as_deref().unwrap_or("09:00"))?;
    let close = time(key("close"), raw.close.as_deref().unwrap_or("17:00"))?;
    if close <= open {
        return Err(ConfigError::invalid(
            key("close"),
            format!("a time after open ({})", open.format("%H:%M")),
            close.format("%H:%M"),
        ));
    }
    Ok((
        project,
        BusinessHours {
            time_zone,
            days,
            open,
            close,
        },
    ))
}

fn policy(i: usize, raw: RawPolicy) -> Result<Policy, ConfigError> {
    let key = |k: &str| format!("sla.policy[{i}].{k}");
    let first_response = span(
        &key("first_response"),
        required(key("first_response"), &raw.first_response)?,
    )?;
    let resolution = span(
        &key("resolution"),
        required(key("resolution"), &raw.resolution)?,
    )?;
    if resolution < first_response {
        return Err(ConfigError::invalid(
            key("resolution"),
            "at least the first_response target",
            raw.resolution.unwrap_or_default(),
        ));
    }
    addresses(&key("escalate_mail"), &raw.escalate_mail)?;
    let escalation =
        (raw.escalate_to_queue.is_some() || !raw.escalate_mail.is_empty()).then_some(Escalation {
            queue: raw.escalate_to_queue,
            mail: raw.escalate_mail,
        });
    Ok(Policy {
        project: raw.project,
        queue: raw.queue,
        topic: raw.topic,
        first_response,
        resolution,
        auto_reply_counts: raw.auto_reply_counts.unwrap_or(false),
        escalation,
    })
}

pub fn from_raw(raw: RawSla) -> Result<SlaConfig, ConfigError> {
    let mut c = SlaConfig::default();
    if let Some(s) = &raw.near_breach {
        c.near_breach = span("sla.near_breach", s)?;
    }
    if let Some(a) = &raw.mail_from {
        address("sla.mail_from", a)?;
    }
    c.mail_from = raw.mail_from;
    for (i, h) in raw.hours.iter().enumerate() {
        let (project, hours) = hours(i, h)?;
        if c.hours.insert(project.clone(), hours).is_some() {
            return Err(ConfigError::invalid(
                format!("sla.hours[{i}].project"),
                "a project no other [[sla.hours]] names",
                format!("{project:?}"),
            ));
        }
    }
    for (i, p) in raw.policy.into_iter().enumerate() {
        let p = policy(i, p)?;
        if p.escalation.as_ref().is_some_and(|e| !e.mail.is_empty()) && c.mail_from.is_none() {
            return Err(ConfigError::invalid(
                "sla.mail_from",
                format!("a From address for the escalation mail of sla.policy[{i}]"),
                "nothing",
            ));
        }
        c.policies.push(p);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn load(text: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_str(text, Path::new("t.toml"), Path::new("/etc/helpgate"))
    }

    #[test]
    fn policies_and_hours_load() {
        let c = load(
            r#"
[sla]
near_breach = "2h"
mail_from = "helpgate@example.org"
[[sla.policy]]
queue = "sensitive"
first_response = "4h"
resolution = "3d"
escalate_to_queue = "leads"
escalate_mail = ["lead@example.org"]
[[sla.hours]]
project = "demo"
time_zone = "Europe/Berlin"
days = ["mon", "tue", "wed", "thu", "fri"]
open = "09:00"
close = "17:30"
"#,
        )
        .unwrap();
        let p = &c.sla.policies[0];
        assert_eq!(p.resolution.num_hours(), 72);
        assert_eq!(c.sla.near_breach.num_hours(), 2);
        assert!(c.sla.hours.contains_key("demo"));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[[sla.policy]]\nresolution = \"1h\"\n", "sla.policy[0].first_response: expected a value, found nothing"),
            ("[[sla.policy]]\nfirst_response = \"4h\"\nresolution = \"1h\"\n", "sla.policy[0].resolution: expected at least the first_response target, found 1h"),
            ("[[sla.policy]]\nfirst_response = \"soon\"\nresolution = \"1h\"\n", "sla.policy[0].first_response: expected a duration like \"30s\", \"500ms\", \"5m\" or \"1h\", found \"soon\""),
            ("[[sla.hours]]\nproject = \"p\"\ntime_zone = \"Mars/Olympus\"\n", "sla.hours[0].time_zone: expected an IANA time zone like \"Europe/Berlin\", found \"Mars/Olympus\""),
            ("[[sla.hours]]\nproject = \"p\"\ntime_zone = \"UTC\"\ndays = [\"fri\", \"caturday\"]\n", "sla.hours[0].days[1]: expected one of mon, tue, wed, thu, fri, sat, sun, found \"caturday\""),
            ("[[sla.hours]]\nproject = \"p\"\ntime_zone = \"UTC\"\nopen = \"18:00\"\n", "sla.hours[0].close: expected a time after open (18:00), found 17:00"),
            ("[[sla.policy]]\nfirst_response = \"1h\"\nresolution = \"1h\"\nescalate_mail = [\"lead\"]\n", "sla.policy[0].escalate_mail[0]: expected an email address, found \"lead\""),
            ("[[sla.policy]]\nfirst_response = \"1h\"\nresolution = \"1h\"\nescalate_mail = [\"lead@example.org\"]\n", "sla.mail_from: expected a From address for the escalation mail of sla.policy[0], found nothing"),
        ];
        for (text, want) in cases {
            assert_eq!(load(text).unwrap_err().to_string(), want, "{text}");
        }
    }
}
