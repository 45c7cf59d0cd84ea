//! `[alerts]` and `[report]`, raw and validated.

use super::sla::{addresses, span};
use super::ConfigError;
use crate::alerts::AlertConfig;
use crate::report::Schedule;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    #[serde(default)]
    pub to: Vec<String>,
    pub from: Option<String>,
    pub every: Option<String>,
    pub window: Option<String>,
    pub baseline_weeks: Option<i64>,
    pub min_expected: Option<f64>,
    pub spike_factor: Option<f64>,
    pub spike_min: Option<i64>,
    pub mailbox_silence: Option<String>,
    pub remail_after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    #[serde(default)]
    pub to: Vec<String>,
    pub from: Option<String>,
    pub weekly: Option<bool>,
    pub project: Option<String>,
}

fn from_for(
    section: &str,
    to: &[String],
    from: Option<String>,
) -> Result<Option<String>, ConfigError> {
    addresses(&format!("{section}.to"), to)?;
    if let Some(f) = &from {
        addresses(&format!("{section}.from"), std::slice::from_ref(f))?;
    }
    if !to.is_empty() && from.is_none() {
        return Err(ConfigError::invalid(
            format!("{section}.from"),
            format!("a From address for mail to {section}.to"),
            "nothing",
        ));
    }
    Ok(from)
}

pub fn alerts_from_raw(raw: RawAlerts) -> Result<AlertConfig, ConfigError> {
    let mut c = AlertConfig {
        from: from_for("alerts", &raw.to, raw.from)?,
        to: raw.to,
        ..AlertConfig::default()
    };
    if let Some(s) = &raw.every {
        c.every = span("alerts.every", s)?;
    }
    if let Some(s) = &raw.window {
        c.window = span("alerts.window", s)?;
    }
    if let Some(s) = &raw.remail_after {
        c.remail_after = span("alerts.remail_after", s)?;
    }
    c.mailbox_silence = raw
        .mailbox_silence
        .as_deref()
        .map(|s| span("alerts.mailbox_silence", s))
        .transpose()?;
    if let Some(n) = raw.baseline_weeks {
        c.baseline_weeks = u32::try_from(n)
            .ok()
            .filter(|n| (1..=52).contains(n))
            .ok_or_else(|| ConfigError::invalid("alerts.baseline_weeks", "1 to 52", n))?;
    }
    if let Some(n) = raw.spike_min {
        c.spike_min = u32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ConfigError::invalid("alerts.spike_min", "1 or more", n))?;
    }
    if let Some(f) = raw.min_expected {
        if !(f.is_finite() && f > 0.0) {
            return Err(ConfigError::invalid(
                "alerts.min_expected",
                "a number above 0",
                f,
            ));
        }
        c.min_expected = f;
    }
    if let Some(f) = raw.spike_factor {
        if !(f.is_finite() && f > 1.0) {
            return Err(ConfigError::invalid(
                "alerts.spike_factor",
                "a number above 1",
                f,
            ));
        }
        c.spike_factor = f;
    }
    Ok(c)
}

pub fn report_from_raw(raw: RawReport) -> Result<Schedule, ConfigError> {
    let from = from_for("report", &raw.to, raw.from)?;
    Ok(Schedule {
        weekly: raw.weekly.unwrap_or(!raw.to.is_empty()),
        to: raw.to,
        from,
        project: raw.project,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, EXAMPLE};
    use std::path::Path;

    /// The commented `[sla]`, `[alerts]` and `[report]` blocks of the
    /// example config, uncommented, load as they read.
    #[test]
    fn the_example_blocks_are_valid() {
        let start = EXAMPLE
            .find("# [sla]")
            .expect("the example has an [sla] block");
        let text: String = EXAMPLE[start..]
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = Config::from_str(&text, Path::new("example"), Path::new("/etc/helpgate")).unwrap();
        assert_eq!(c.sla.policies.len(), 1);
        assert!(c.sla.hours.contains_key("voices"));
        assert_eq!(c.alerts.to, ["crowd@voices.example"]);
        assert_eq!(c.alerts.mailbox_silence, Some(chrono::TimeDelta::hours(12)));
        assert!(c.report.weekly);
    }
}
