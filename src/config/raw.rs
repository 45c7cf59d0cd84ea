//! Serde mirror of the TOML config: no logic, unknown keys refused.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub state_dir: Option<String>,
    /// Directory of rule files; built-in rules when absent.
    pub rules_dir: Option<String>,
    /// Directory of templates; built-in templates when absent.
    pub templates_dir: Option<String>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub outbox: RawOutbox,
    pub smtp: Option<RawSmtp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_message_bytes: Option<i64>,
    pub auto_replies_per_recipient: Option<i64>,
    pub auto_replies_per_ticket: Option<i64>,
    pub auto_replies_per_domain: Option<i64>,
    pub identical_messages: Option<i64>,
    pub breaker_per_minute: Option<i64>,
    pub breaker_cooldown_minutes: Option<i64>,
    pub suppress_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbox {
    pub transport: Option<String>,
    pub dir: Option<String>,
    pub max_age_hours: Option<i64>,
    pub retry_base_seconds: Option<i64>,
    pub retry_max_seconds: Option<i64>,
    pub sensitive_ack: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<String>,
    pub hello_name: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub connections: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
}
