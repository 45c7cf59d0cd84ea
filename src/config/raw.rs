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
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub mailboxes: Vec<RawMailbox>,
    #[serde(default)]
    pub trust: RawTrust,
    #[serde(default)]
    pub tickets: RawTickets,
    /// Issue 11: the web console.
    pub web: Option<super::web::RawWeb>,
    #[serde(default)]
    pub sla: super::sla::RawSla,
    #[serde(default)]
    pub alerts: super::alerts::RawAlerts,
    #[serde(default)]
    pub report: super::alerts::RawReport,
    /// Issue 11: mail to a queue's team for each new ticket.
    #[serde(default)]
    pub notices: super::notices::RawNotices,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    pub authserv_id: Option<OneOrMany>,
    pub unauthenticated: Option<String>,
}

/// A string, or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTickets {
    pub tag: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    pub drain_timeout: Option<String>,
    pub metrics_listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMailbox {
    pub name: Option<String>,
    pub project: Option<String>,
    #[serde(default)]
    pub imap: RawImap,
    #[serde(default)]
    pub auth: RawAuth,
    pub folder: Option<String>,
    pub after_commit: Option<String>,
    pub move_to: Option<String>,
    pub idle: Option<bool>,
    pub poll_interval: Option<String>,
    pub first_start: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImap {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub tls: Option<String>,
    pub allow_insecure: Option<bool>,
    pub ca_file: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub method: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token_file: Option<String>,
    pub token_command: Option<String>,
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
