//! `[web]`: the specialists' console (`helpgate serve`, and `run` when set).

use super::mailbox::parse_duration;
use super::ConfigError;
use crate::web::{ProxyLogin, WebSettings};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub listen: Option<String>,
    pub secure_cookies: Option<bool>,
    pub idle_timeout: Option<String>,
    pub max_failed_logins: Option<i64>,
    pub trusted_user_header: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
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
    s.proxy_login = proxy_login(raw.trusted_user_header, raw.trusted_proxies)?;
    Ok(s)
}

/// Single sign-on through a reverse proxy: both keys or neither. A header
/// honoured from any peer would let anyone who reaches the port name
/// themselves, so the proxies are listed by address.
fn proxy_login(
    header: Option<String>,
    proxies: Option<Vec<String>>,
) -> Result<Option<ProxyLogin>, ConfigError> {
    let (header, proxies) = match (header, proxies) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "web.trusted_proxies",
                "the addresses of the proxies allowed to send web.trusted_user_header",
                "nothing",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "web.trusted_user_header",
                "the header the proxies in web.trusted_proxies name the user in",
                "nothing",
            ))
        }
        (Some(h), Some(p)) => (h, p),
    };
    let name = axum::http::HeaderName::from_bytes(header.trim().as_bytes())
        .ok()
        .filter(|_| !header.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                "web.trusted_user_header",
                "an HTTP header name like \"X-Remote-User\"",
                format!("{header:?}"),
            )
        })?;
    if proxies.is_empty() {
        return Err(ConfigError::invalid(
            "web.trusted_proxies",
            "at least one proxy address",
            "an empty list",
        ));
    }
    let proxies = proxies
        .iter()
        .map(|p| {
            p.trim().parse::<IpAddr>().map_err(|_| {
                ConfigError::invalid(
                    "web.trusted_proxies",
                    "IP addresses like \"127.0.0.1\" or \"::1\"",
                    format!("{p:?}"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(ProxyLogin {
        header: name,
        proxies,
    }))
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

    #[test]
    fn proxy_login_needs_a_header_and_proxy_addresses() {
        let raw = |h: Option<&str>, p: Option<&[&str]>| RawWeb {
            trusted_user_header: h.map(String::from),
            trusted_proxies: p.map(|p| p.iter().map(|s| s.to_string()).collect()),
            ..RawWeb::default()
        };
        let s = from_raw(raw(Some("X-Remote-User"), Some(&["127.0.0.1", "::1"]))).unwrap();
        let p = s.proxy_login.unwrap();
        assert_eq!(p.header.as_str(), "x-remote-user");
        assert_eq!(p.proxies.len(), 2);
        assert!(from_raw(RawWeb::default()).unwrap().proxy_login.is_none());
        for (r, key) in [
            (raw(Some("X-Remote-User"), None), "web.trusted_proxies"),
            (raw(None, Some(&["127.0.0.1"])), "web.trusted_user_header"),
            (
                raw(Some("X Remote"), Some(&["127.0.0.1"])),
                "web.trusted_user_header",
            ),
            (raw(Some("X-Remote-User"), Some(&[])), "web.trusted_proxies"),
            (
                raw(Some("X-Remote-User"), Some(&["proxy.lan"])),
                "web.trusted_proxies",
            ),
        ] {
            let e = from_raw(r).unwrap_err().to_string();
            assert!(e.starts_with(key), "{e}");
        }
    }
}
