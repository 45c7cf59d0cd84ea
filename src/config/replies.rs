//! The `[limits]` (automatic replies), `[outbox]` and `[smtp]` sections:
//! how replies are rate-limited, retried and delivered.

use super::raw::{RawLimits, RawOutbox, RawSmtp};
use super::secret::Secret;
use super::ConfigError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Loop guard and rate limits for automatic replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Automatic replies to one address per 24 h.
    pub per_recipient: u32,
    /// Automatic replies on one ticket per 24 h.
    pub per_ticket: u32,
    /// Automatic replies to one domain per hour.
    pub per_domain: u32,
    /// Identical messages (sender, subject, body) in 60 s before holding back.
    pub identical_messages: u32,
    /// Automatic replies per minute across all mailboxes that trip the breaker.
    pub breaker_per_minute: u32,
    pub breaker_cooldown: Duration,
    /// How long a hard-bounced address gets no automatic reply.
    pub suppress_for: Duration,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            per_recipient: 3,
            per_ticket: 2,
            per_domain: 100,
            identical_messages: 3,
            breaker_per_minute: 60,
            breaker_cooldown: Duration::from_secs(15 * 60),
            suppress_for: Duration::from_secs(60 * 86_400),
        }
    }
}

/// How outgoing mail leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportKind {
    /// .eml files in `outbox.dir`.
    #[default]
    File,
    Smtp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    pub transport: TransportKind,
    /// For the file transport; `None`: `<state_dir>/outbox`.
    pub dir: Option<PathBuf>,
    /// Transient failures are retried until the reply is this old, then parked.
    pub max_age: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Acknowledge mail routed to the sensitive queue.
    pub sensitive_ack: bool,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            transport: TransportKind::File,
            dir: None,
            max_age: Duration::from_secs(24 * 3600),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            sensitive_ack: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain, then STARTTLS (refused if the server does not offer it).
    StartTls,
    /// No encryption: loopback relays only.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Extra trusted CA certificate (PEM), besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// EHLO name; the support domain is a good choice.
    pub hello_name: String,
    pub timeout: Duration,
    /// Parallel connections the outbox sends over.
    pub connections: usize,
}

fn count(key: &str, v: Option<i64>, default: u32, max: i64) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as u32),
        Some(n) => Err(ConfigError::invalid(
            key,
            format!("a number from 1 to {max}"),
            n,
        )),
    }
}

fn secs(
    key: &str,
    v: Option<i64>,
    default: Duration,
    unit: u64,
    max: i64,
) -> Result<Duration, ConfigError> {
    Ok(match v {
        None => default,
        Some(n) if (1..=max).contains(&n) => Duration::from_secs(n as u64 * unit),
        Some(n) => {
            return Err(ConfigError::invalid(
                key,
                format!("a number from 1 to {max}"),
                n,
            ))
        }
    })
}

pub fn limits(raw: &RawLimits) -> Result<ReplyLimits, ConfigError> {
    let d = ReplyLimits::default();
    Ok(ReplyLimits {
        per_recipient: count(
            "limits.auto_replies_per_recipient",
            raw.auto_replies_per_recipient,
            d.per_recipient,
            1000,
        )?,
        per_ticket: count(
            "limits.auto_replies_per_ticket",
            raw.auto_replies_per_ticket,
            d.per_ticket,
            1000,
        )?,
        per_domain: count(
            "limits.auto_replies_per_domain",
            raw.auto_replies_per_domain,
            d.per_domain,
            1_000_000,
        )?,
        identical_messages: count(
            "limits.identical_messages",
            raw.identical_messages,
            d.identical_messages,
            1000,
        )?,
        breaker_per_minute: count(
            "limits.breaker_per_minute",
            raw.breaker_per_minute,
            d.breaker_per_minute,
            1_000_000,
        )?,
        breaker_cooldown: secs(
            "limits.breaker_cooldown_minutes",
            raw.breaker_cooldown_minutes,
            d.breaker_cooldown,
            60,
            10_080,
        )?,
        suppress_for: secs(
            "limits.suppress_days",
            raw.suppress_days,
            d.suppress_for,
            86_400,
            3650,
        )?,
    })
}

pub fn outbox(
    raw: &RawOutbox,
    smtp: Option<&SmtpConfig>,
    base: &Path,
) -> Result<OutboxConfig, ConfigError> {
    let d = OutboxConfig::default();
    let transport = match raw.transport.as_deref() {
        None if smtp.is_some() => TransportKind::Smtp,
        None | Some("file") => TransportKind::File,
        Some("smtp") if smtp.is_some() => TransportKind::Smtp,
        Some("smtp") => {
            return Err(ConfigError::invalid(
                "outbox.transport",
                "an [smtp] section for \"smtp\"",
                "none",
            ))
        }
        Some(other) => {
            return Err(ConfigError::invalid(
                "outbox.transport",
                "\"file\" or \"smtp\"",
                format!("{other:?}"),
            ))
        }
    };
    let dir = match raw.dir.as_deref() {
        None => None,
        Some(s) if s.trim().is_empty() => {
            return Err(ConfigError::invalid(
                "outbox.dir",
                "a directory path",
                "an empty string",
            ))
        }
        Some(s) => Some(base.join(s)),
    };
    let retry_base = secs(
        "outbox.retry_base_seconds",
        raw.retry_base_seconds,
        d.retry_base,
        1,
        86_400,
    )?;
    let retry_max = secs(
        "outbox.retry_max_seconds",
        raw.retry_max_seconds,
        d.retry_max,
        1,
        7 * 86_400,
    )?;
    if retry_max < retry_base {
        return Err(ConfigError::invalid(
            "outbox.retry_max_seconds",
            "at least outbox.retry_base_seconds",
            retry_max.as_secs(),
        ));
    }
    Ok(OutboxConfig {
        transport,
        dir,
        max_age: secs(
            "outbox.max_age_hours",
            raw.max_age_hours,
            d.max_age,
            3600,
            24 * 30,
        )?,
        retry_base,
        retry_max,
        sensitive_ack: raw.sensitive_ack.unwrap_or(d.sensitive_ack),
    })
}

pub fn smtp(raw: &RawSmtp, base: &Path) -> Result<SmtpConfig, ConfigError> {
    let host = match raw.host.as_deref().map(str::trim) {
        Some(h) if !h.is_empty() => h.to_string(),
        Some(_) => {
            return Err(ConfigError::invalid(
                "smtp.host",
                "a host name",
                "an empty string",
            ))
        }
        None => return Err(ConfigError::invalid("smtp.host", "a host name", "nothing")),
    };
    let security = match raw.security.as_deref() {
        None | Some("starttls") => Security::StartTls,
        Some("tls") => Security::Tls,
        Some("none") => Security::None,
        Some(other) => {
            return Err(ConfigError::invalid(
                "smtp.security",
                "\"tls\", \"starttls\" or \"none\"",
                format!("{other:?}"),
            ))
        }
    };
    let default_port = match security {
        Security::Tls => 465,
        Security::StartTls => 587,
        Security::None => 25,
    };
    let port = match raw.port {
        None => default_port,
        Some(p) if (1..=65535).contains(&p) => p as u16,
        Some(p) => {
            return Err(ConfigError::invalid(
                "smtp.port",
                "a port from 1 to 65535",
                p,
            ))
        }
    };
    let password = match &raw.password {
        None => None,
        Some(r) => Some(Secret::parse(r).map_err(|source| ConfigError::Secret {
            key: "smtp.password".into(),
            source,
        })?),
    };
    if password.is_some() != raw.username.is_some() {
        return Err(ConfigError::invalid(
            "smtp.username",
            "smtp.username and smtp.password together",
            "only one of them",
        ));
    }
    Ok(SmtpConfig {
        host,
        port,
        security,
        username: raw.username.clone(),
        password,
        ca_file: raw.ca_file.as_deref().map(|f| base.join(f)),
        hello_name: raw
            .hello_name
            .clone()
            .unwrap_or_else(|| "localhost".to_string()),
        timeout: secs(
            "smtp.timeout_seconds",
            raw.timeout_seconds,
            Duration::from_secs(30),
            1,
            600,
        )?,
        connections: count("smtp.connections", raw.connections, 4, 64)? as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_key_named_errors() {
        assert_eq!(
            limits(&RawLimits::default()).unwrap(),
            ReplyLimits::default()
        );
        let e = limits(&RawLimits {
            auto_replies_per_recipient: Some(0),
            ..RawLimits::default()
        })
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("limits.auto_replies_per_recipient: expected"),
            "{e}"
        );
        let e = smtp(
            &RawSmtp {
                host: Some("mx".into()),
                username: Some("u".into()),
                password: Some("hunter2".into()),
                ..RawSmtp::default()
            },
            Path::new("/"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("smtp.password: expected a reference"),
            "{e}"
        );
    }

    #[test]
    fn smtp_section_selects_the_smtp_transport() {
        let s = smtp(
            &RawSmtp {
                host: Some("127.0.0.1".into()),
                security: Some("none".into()),
                ..RawSmtp::default()
            },
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.port, 25);
        let o = outbox(&RawOutbox::default(), Some(&s), Path::new("/")).unwrap();
        assert_eq!(o.transport, TransportKind::Smtp);
        let o = outbox(&RawOutbox::default(), None, Path::new("/")).unwrap();
        assert_eq!(o.transport, TransportKind::File);
    }
}
