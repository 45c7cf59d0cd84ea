//! `[[mailboxes]]` and `[daemon]`: what the daemon watches and how it stops.
//! Validated here so the intake code never sees a half-valid mailbox:
//! cleartext IMAP only on loopback (unless explicitly allowed), delete only
//! when asked for by name, secret references checked at load (read at use).

use super::raw::{RawDaemon, RawMailbox};
use super::secret::Secret;
use super::ConfigError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_IMAP_TIMEOUT: Duration = Duration::from_secs(60);

/// How the IMAP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plain connect, then STARTTLS before login (port 143).
    StartTls,
    /// No TLS: loopback only unless `allow_insecure`.
    None,
}

/// Where an XOAUTH2 access token comes from. Read again at every login, so
/// an expired token is replaced by whatever the file or command gives now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    /// Run through `sh -c`; the token is its standard output, trimmed.
    Command(String),
}

#[derive(Debug, Clone)]
pub enum ImapAuth {
    Login { user: String, password: Secret },
    Plain { user: String, password: Secret },
    XOAuth2 { user: String, token: TokenSource },
}

impl ImapAuth {
    pub fn user(&self) -> &str {
        match self {
            ImapAuth::Login { user, .. }
            | ImapAuth::Plain { user, .. }
            | ImapAuth::XOAuth2 { user, .. } => user,
        }
    }
}

/// What happens to a message on the server once its outcome is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterCommit {
    /// Flag `\Seen` and keep it (default).
    Seen,
    /// Move it to this folder.
    Move(String),
    /// Flag `\Deleted` and expunge it.
    Delete,
}

/// What to import the very first time a mailbox is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstStart {
    /// Everything already in the folder.
    All,
    /// Only mail that arrives from now on.
    New,
}

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    /// Stable name: the key of its cursor in the store. Renaming a mailbox
    /// starts it afresh (deduplication keeps that harmless).
    pub name: String,
    pub project: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Extra trust root (PEM) besides the public web PKI roots.
    pub ca_file: Option<PathBuf>,
    pub auth: ImapAuth,
    pub folder: String,
    pub after_commit: AfterCommit,
    /// Use IMAP IDLE when the server offers it; `false` forces polling.
    pub idle: bool,
    pub poll_interval: Duration,
    pub first_start: FirstStart,
    /// Limit for every single IMAP command (and each message of a fetch).
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// How long SIGTERM waits for the message in hand and the outbox.
    pub drain_timeout: Duration,
    /// Prometheus text metrics; off unless set. Loopback only.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            metrics_listen: None,
        }
    }
}

/// `30s`, `500ms`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(key: &str, s: &str) -> Result<Duration, ConfigError> {
    let bad = || {
        ConfigError::invalid(
            key,
            "a duration like \"30s\", \"500ms\", \"5m\" or \"1h\"",
            format!("{s:?}"),
        )
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(bad()),
    };
    Ok(d)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn daemon_from_raw(raw: RawDaemon) -> Result<DaemonConfig, ConfigError> {
    let drain_timeout = match raw.drain_timeout {
        Some(s) => parse_duration("daemon.drain_timeout", &s)?,
        None => DEFAULT_DRAIN_TIMEOUT,
    };
    let metrics_listen = match raw.metrics_listen {
        None => None,
        Some(s) => {
            let addr: SocketAddr = s.parse().map_err(|_| {
                ConfigError::invalid(
                    "daemon.metrics_listen",
                    "a loopback address and port like \"127.0.0.1:9187\"",
                    format!("{s:?}"),
                )
            })?;
            if !addr.ip().is_loopback() {
                return Err(ConfigError::invalid(
                    "daemon.metrics_listen",
                    "a loopback address (metrics are not authenticated)",
                    addr,
                ));
            }
            Some(addr)
        }
    };
    Ok(DaemonConfig {
        drain_timeout,
        metrics_listen,
    })
}

/// Validate `mailboxes[i]`.
pub fn mailbox_from_raw(
    i: usize,
    raw: RawMailbox,
    base: &Path,
) -> Result<MailboxConfig, ConfigError> {
    let key = |k: &str| format!("mailboxes[{i}].{k}");
    let required = |k: &str, v: Option<String>| -> Result<String, ConfigError> {
        match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(ConfigError::invalid(key(k), "a non-empty string", "\"\"")),
            None => Err(ConfigError::invalid(key(k), "a value", "nothing")),
        }
    };
    let name = required("name", raw.name)?;
    let project = required("project", raw.project)?;
    let imap = raw.imap;
    let host = required("imap.host", imap.host)?;
    let tls = match imap.tls.as_deref() {
        None | Some("implicit") => TlsMode::Implicit,
        Some("starttls") => TlsMode::StartTls,
        Some("none") => TlsMode::None,
        Some(other) => {
            return Err(ConfigError::invalid(
                key("imap.tls"),
                "\"implicit\", \"starttls\" or \"none\"",
                format!("{other:?}"),
            ))
        }
    };
    if tls == TlsMode::None && !is_loopback(&host) && !imap.allow_insecure.unwrap_or(false) {
        return Err(ConfigError::invalid(
            key("imap.tls"),
            "\"implicit\" or \"starttls\" for a non-loopback host (or imap.allow_insecure = true)",
            "\"none\"",
        ));
    }
    let port = match imap.port {
        None if tls == TlsMode::Implicit => 993,
        None => 143,
        Some(p) if (1..=65535).contains(&p) => p as u16,
        Some(p) => return Err(ConfigError::invalid(key("imap.port"), "1-65535", p)),
    };
    let ca_file = imap.ca_file.map(|f| base.join(f));
    let timeout = match imap.timeout {
        Some(s) => parse_duration(&key("imap.timeout"), &s)?,
        None => DEFAULT_IMAP_TIMEOUT,
    };

    let auth = raw.auth;
    let user = required("auth.user", auth.user)?;
    let secret = |p: Option<String>| -> Result<Secret, ConfigError> {
        let p = required("auth.password", p)?;
        Secret::parse(&p).map_err(|source| ConfigError::Secret {
            key: key("auth.password"),
            source,
        })
    };
    let auth = match auth.method.as_deref() {
        None | Some("login") => ImapAuth::Login {
            user,
            password: secret(auth.password)?,
        },
        Some("plain") => ImapAuth::Plain {
            user,
            password: secret(auth.password)?,
        },
        Some("xoauth2") => {
            let token = match (auth.token_file, auth.token_command) {
                (Some(f), None) => TokenSource::File(base.join(f)),
                (None, Some(c)) => TokenSource::Command(c),
                (f, c) => {
                    return Err(ConfigError::invalid(
                        key("auth"),
                        "exactly one of token_file or token_command for xoauth2",
                        if f.is_some() && c.is_some() {
                            "both"
                        } else {
                            "neither"
                        },
                    ))
                }
            };
            ImapAuth::XOAuth2 { user, token }
        }
        Some(other) => {
            return Err(ConfigError::invalid(
                key("auth.method"),
                "\"login\", \"plain\" or \"xoauth2\"",
                format!("{other:?}"),
            ))
        }
    };

    let folder = raw.folder.unwrap_or_else(|| "INBOX".to_string());
    let after_commit = match (raw.after_commit.as_deref(), raw.move_to) {
        (None | Some("seen"), None) => AfterCommit::Seen,
        (Some("move"), Some(to)) if !to.trim().is_empty() => AfterCommit::Move(to),
        (Some("move"), _) => {
            return Err(ConfigError::invalid(
                key("move_to"),
                "a folder name when after_commit = \"move\"",
                "nothing",
            ))
        }
        (Some("delete"), None) => AfterCommit::Delete,
        (a @ (Some("seen" | "delete") | None), Some(_)) => {
            return Err(ConfigError::invalid(
                key("move_to"),
                "no value unless after_commit = \"move\"",
                format!("a folder with after_commit = {:?}", a.unwrap_or("seen")),
            ))
        }
        (Some(other), _) => {
            return Err(ConfigError::invalid(
                key("after_commit"),
                "\"seen\", \"move\" or \"delete\"",
                format!("{other:?}"),
            ))
        }
    };
    let poll_interval = match raw.poll_interval {
        Some(s) => {
            let d = parse_duration(&key("poll_interval"), &s)?;
            if d < Duration::from_millis(100) {
                return Err(ConfigError::invalid(
                    key("poll_interval"),
                    "at least 100ms",
                    s,
                ));
            }
            d
        }
        None => DEFAULT_POLL_INTERVAL,
    };
    let first_start = match raw.first_start.as_deref() {
        None | Some("all") => FirstStart::All,
        Some("new") => FirstStart::New,
        Some(other) => {
            return Err(ConfigError::invalid(
                key("first_start"),
                "\"all\" or \"new\"",
                format!("{other:?}"),
            ))
        }
    };
    Ok(MailboxConfig {
        name,
        project,
        host,
        port,
        tls,
        ca_file,
        auth,
        folder,
        after_commit,
        idle: raw.idle.unwrap_or(true),
        poll_interval,
        first_start,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        std::env::set_var("HG_TEST_PW", "pw");
        Config::from_str(text, Path::new("t.toml"), Path::new("/etc/helpgate"))
    }

    const OK: &str = r#"
[[mailboxes]]
name = "voices"
project = "voices"
imap = { host = "127.0.0.1", port = 1143, tls = "none" }
auth = { user = "support", password = "env:HG_TEST_PW" }
"#;

    #[test]
    fn minimal_mailbox_gets_defaults() {
        let c = load(OK).unwrap();
        let m = &c.mailboxes[0];
        assert_eq!(m.folder, "INBOX");
        assert_eq!(m.after_commit, AfterCommit::Seen);
        assert_eq!(m.poll_interval, Duration::from_secs(30));
        assert_eq!(m.first_start, FirstStart::All);
        assert!(m.idle);
    }

    #[test]
    fn port_zero_names_the_key() {
        let e = load(&OK.replace("port = 1143", "port = 0")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mailboxes[0].imap.port: expected 1-65535, found 0"
        );
    }

    #[test]
    fn cleartext_to_a_remote_host_is_refused() {
        let e = load(&OK.replace("127.0.0.1", "imap.example.org")).unwrap_err();
        assert!(e.to_string().starts_with("mailboxes[0].imap.tls:"), "{e}");
        let ok = OK.replace("127.0.0.1\"", "imap.example.org\", allow_insecure = true");
        load(&ok).unwrap();
    }

    #[test]
    fn delete_only_when_named_and_move_needs_a_folder() {
        let c = load(&format!("{OK}after_commit = \"delete\"\n")).unwrap();
        assert_eq!(c.mailboxes[0].after_commit, AfterCommit::Delete);
        let e = load(&format!("{OK}after_commit = \"move\"\n")).unwrap_err();
        assert!(e.to_string().starts_with("mailboxes[0].move_to:"), "{e}");
        let c = load(&format!(
            "{OK}after_commit = \"move\"\nmove_to = \"Done\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.mailboxes[0].after_commit,
            AfterCommit::Move("Done".into())
        );
    }

    #[test]
    fn literal_password_is_refused() {
        let e = load(&OK.replace("env:HG_TEST_PW", "hunter2")).unwrap_err();
        assert!(
            e.to_string().starts_with("mailboxes[0].auth.password:"),
            "{e}"
        );
        assert!(!format!("{e:?}{e}").contains("hunter2"));
    }

    /// The documented mailbox block, uncommented, is a valid config.
    #[test]
    fn example_mailbox_block_is_valid() {
        std::env::set_var("HELPGATE_IMAP_PASSWORD", "pw");
        let example = super::super::EXAMPLE;
        let block = &example[example.find("# [[mailboxes]]").unwrap()..];
        let key = regex::Regex::new(r"^# (\[|[a-z_]+ = )").unwrap();
        let text: String = block
            .lines()
            .filter(|l| key.is_match(l))
            .filter(|l| !l.contains("move_to") && !l.contains("token_"))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        let c = load(&text).unwrap();
        let m = &c.mailboxes[0];
        assert_eq!(
            (m.name.as_str(), m.port, m.tls),
            ("voices-support", 993, TlsMode::Implicit)
        );
        assert_eq!(m.ca_file, Some(PathBuf::from("/etc/helpgate/imap-ca.pem")));
        let d = load(
            &example[example.find("[daemon]").unwrap()..]
                .replace("# metrics_listen", "metrics_listen"),
        )
        .unwrap();
        assert!(d.daemon.metrics_listen.is_some());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(
            parse_duration("k", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration("k", "2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("k", "7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("k", "soon").is_err());
    }
}
