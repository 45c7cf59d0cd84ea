//! Configuration in two phases: [`raw::RawConfig`] mirrors the TOML, then
//! [`Config::from_raw`] validates every key. Errors name the key, what was
//! expected and what was found. A missing config file is an error; helpgate
//! never writes one for the user (`print-config` shows the example).

pub mod alerts;
pub mod mailbox;
pub mod notices;
pub mod raw;
pub mod replies;
pub mod secret;
pub mod sla;
pub mod trust;
pub mod web;

use mailbox::{DaemonConfig, MailboxConfig};
use raw::RawConfig;
use std::path::{Path, PathBuf};

/// The commented example config, kept identical to deploy/helpgate.example.toml.
pub const EXAMPLE: &str = include_str!("../../deploy/helpgate.example.toml");

pub const DEFAULT_STATE_DIR: &str = "./helpgate-data";
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 50 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax or an unknown / mistyped key; the message carries line and column.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{key}: expected {expected}, found {found}")]
    Invalid {
        key: String,
        expected: String,
        found: String,
    },
    #[error("{key}: {source}")]
    Secret {
        key: String,
        #[source]
        source: secret::SecretError,
    },
}

impl ConfigError {
    pub fn invalid(
        key: impl Into<String>,
        expected: impl Into<String>,
        found: impl std::fmt::Display,
    ) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub state_dir: PathBuf,
    /// `None`: the rules compiled into the binary.
    pub rules_dir: Option<PathBuf>,
    /// `None`: the templates compiled into the binary.
    pub templates_dir: Option<PathBuf>,
    pub max_message_bytes: u64,
    pub log_format: LogFormat,
    /// Automatic-reply limits (`[limits]`).
    pub reply_limits: replies::ReplyLimits,
    pub outbox: replies::OutboxConfig,
    /// `[smtp]`, when replies go out by SMTP.
    pub smtp: Option<replies::SmtpConfig>,
    /// IMAP mailboxes the daemon watches (`helpgate run`).
    pub mailboxes: Vec<MailboxConfig>,
    pub daemon: DaemonConfig,
    /// `[trust]`: whose Authentication-Results count.
    pub trust: trust::Trust,
    /// `[tickets] tag`: `[tag #N]` in subjects; `None`: `[#N]`.
    pub site_tag: Option<String>,
    /// `[web]`: the console `run` serves too; `None` when absent.
    pub web: Option<crate::web::WebSettings>,
    /// `[sla]`: clocks per queue / project / topic.
    pub sla: crate::sla::SlaConfig,
    /// `[alerts]`: volume and health alerts.
    pub alerts: crate::alerts::AlertConfig,
    /// `[report]`: the weekly report by mail.
    pub report: crate::report::Schedule,
    /// `[notices]`: mail to a queue's team for each new ticket.
    pub notices: crate::queue_notice::QueueNotices,
}

impl Config {
    /// Every secret the config refers to, with its key.
    pub fn secrets(&self) -> Vec<(String, &secret::Secret)> {
        let mut out = Vec::new();
        for (i, mb) in self.mailboxes.iter().enumerate() {
            if let mailbox::ImapAuth::Login { password, .. }
            | mailbox::ImapAuth::Plain { password, .. } = &mb.auth
            {
                out.push((format!("mailboxes[{i}].auth.password"), password));
            }
        }
        if let Some(pw) = self.smtp.as_ref().and_then(|s| s.password.as_ref()) {
            out.push(("smtp.password".to_string(), pw));
        }
        out
    }

    /// Read every secret once: what `run` needs at start, named by key.
    pub fn check_secrets(&self) -> Result<(), Vec<ConfigError>> {
        let errors: Vec<ConfigError> = self
            .secrets()
            .into_iter()
            .filter_map(|(key, s)| {
                s.reveal()
                    .err()
                    .map(|source| ConfigError::Secret { key, source })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Where the file transport writes: `outbox.dir` or `<state_dir>/outbox`.
    pub fn outbox_dir(&self) -> PathBuf {
        self.outbox
            .dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("outbox"))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            rules_dir: None,
            templates_dir: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            log_format: LogFormat::Text,
            reply_limits: replies::ReplyLimits::default(),
            outbox: replies::OutboxConfig::default(),
            smtp: None,
            mailboxes: Vec::new(),
            daemon: DaemonConfig::default(),
            trust: trust::Trust::default(),
            site_tag: None,
            web: None,
            sla: crate::sla::SlaConfig::default(),
            alerts: crate::alerts::AlertConfig::default(),
            report: crate::report::Schedule::default(),
            notices: crate::queue_notice::QueueNotices::default(),
        }
    }
}

impl Config {
    /// Read and validate the config file at `path`. Relative directories in
    /// it are taken relative to the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_str(&text, path, base)
    }

    /// Validate config text; `path` is only used in messages.
    pub fn from_str(text: &str, path: &Path, base: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: syntax_message(text, &e),
        })?;
        Self::from_raw(raw, base)
    }

    pub fn from_raw(raw: RawConfig, base: &Path) -> Result<Config, ConfigError> {
        let dir = |key: &str, v: Option<String>| -> Result<Option<PathBuf>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s) if s.trim().is_empty() => Err(ConfigError::invalid(
                    key,
                    "a directory path",
                    "an empty string",
                )),
                Some(s) => Ok(Some(base.join(s))),
            }
        };
        let max = match raw.limits.max_message_bytes {
            None => DEFAULT_MAX_MESSAGE_BYTES,
            Some(n) if (1024..=1 << 40).contains(&n) => n as u64,
            Some(n) => {
                return Err(ConfigError::invalid(
                    "limits.max_message_bytes",
                    "a size in bytes from 1024 to 2^40",
                    n,
                ))
            }
        };
        let log_format = match raw.log.format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "log.format",
                    "\"text\" or \"json\"",
                    format!("{other:?}"),
                ))
            }
        };
        let smtp = raw
            .smtp
            .as_ref()
            .map(|s| replies::smtp(s, base))
            .transpose()?;
        let outbox = replies::outbox(&raw.outbox, smtp.as_ref(), base)?;
        let reply_limits = replies::limits(&raw.limits)?;
        let mut mailboxes: Vec<MailboxConfig> = Vec::new();
        for (i, m) in raw.mailboxes.into_iter().enumerate() {
            let m = mailbox::mailbox_from_raw(i, m, base)?;
            if mailboxes.iter().any(|o| o.name == m.name) {
                return Err(ConfigError::invalid(
                    format!("mailboxes[{i}].name"),
                    "a name no other mailbox has",
                    format!("{:?}", m.name),
                ));
            }
            mailboxes.push(m);
        }
        let daemon = mailbox::daemon_from_raw(raw.daemon)?;
        let sla = sla::from_raw(raw.sla)?;
        let alerts = alerts::alerts_from_raw(raw.alerts)?;
        let report = alerts::report_from_raw(raw.report)?;
        let trust = trust::trust(&raw.trust)?;
        let site_tag = trust::site_tag(&raw.tickets)?;
        let web = raw.web.map(web::from_raw).transpose()?;
        let notices = notices::from_raw(raw.notices)?;
        Ok(Config {
            notices,
            sla,
            alerts,
            report,
            web,
            trust,
            site_tag,
            reply_limits,
            outbox,
            smtp,
            mailboxes,
            daemon,
            state_dir: dir("state_dir", raw.state_dir)?
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            rules_dir: dir("rules_dir", raw.rules_dir)?,
            templates_dir: dir("templates_dir", raw.templates_dir)?,
            max_message_bytes: max,
            log_format,
        })
    }
}

/// `line L, column C: message` from a toml error.
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_str(text, Path::new("t.toml"), Path::new("/etc/helpgate"))
    }

    #[test]
    fn example_config_is_valid() {
        load(EXAMPLE).unwrap();
    }

    #[test]
    fn bad_value_names_key_expected_and_found() {
        let e = load("[limits]\nmax_message_bytes = 0\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "limits.max_message_bytes: expected a size in bytes from 1024 to 2^40, found 0"
        );
    }

    #[test]
    fn unknown_key_is_refused_with_line() {
        let e = load("state_dir = \"x\"\nstate_dri = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml: line 2, column 1: unknown field `state_dri`"),
            "{e}"
        );
    }

    #[test]
    fn relative_dirs_follow_the_config_file() {
        let c = load("state_dir = \"data\"\n").unwrap();
        assert_eq!(c.state_dir, PathBuf::from("/etc/helpgate/data"));
    }
}
