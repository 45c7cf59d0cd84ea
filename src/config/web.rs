//! `[web]`: the specialists' console (`helpgate serve`, and `run` when set).

use super::mailbox::parse_duration;
use super::ConfigError;
use crate::web::WebSettings;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub listen: Option<String>,
    pub secure_cookies: Option<bool>,
    pub idle_timeout: Option<String>,
    pub max_failed_logins: Option<i64>,
}

/// Validate `[web]`. A non-loopback address is allowed (a proxy on another
/// host), but then cookies must be marked Secure: the console is meant to be
/// reached through TLS only.
pub fn from_raw(raw: RawWeb) -> Result<WebSettings, ConfigError> {
    let mut s = WebSettings::default();
    if let Some(l) = raw.listen {
        s.listen = l.parse::<SocketAddr>().map_err(|_| {
            ConfigError::invalid(
                "web.listen",
                "an address and port like \"127.0.0.1:8080\"",
                format!("{l:?}"),
            )
        })?;
    }
    s.secure_cookies = raw.secure_cookies.unwrap_or(false);
    if !s.listen.ip().is_loopback() && !s.secure_cookies {
        return Err(ConfigError::invalid(
            "web.secure_cookies",
            "true when web.listen is not a loopback address (serve the console behind TLS)",
            "false",
        ));
    }
    if let Some(t) = raw.idle_timeout {
        s.idle_timeout = parse_duration("web.idle_timeout", &t)?;
    }
    if let Some(n) = raw.max_failed_logins {
        if !(1..=1000).contains(&n) {
            return Err(ConfigError::invalid(
                "web.max_failed_logins",
                "a number from 1 to 1000",
                n,
            ));
        }
        s.max_failed_logins = n;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_loopback_and_refuses_plain_public_listen() {
        let s = from_raw(RawWeb::default()).unwrap();
        assert!(s.listen.ip().is_loopback());
        let e = from_raw(RawWeb {
            listen: Some("0.0.0.0:8080".into()),
            ..RawWeb::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("web.secure_cookies"), "{e}");
        let e = from_raw(RawWeb {
            idle_timeout: Some("soon".into()),
            ..RawWeb::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("web.idle_timeout"), "{e}");
    }
}
