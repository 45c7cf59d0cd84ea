//! `[notices]`: mail to a queue's team for each new ticket routed there.
//! Errors name the key (`notices.queues.sensitive: ...`).

use super::ConfigError;
use crate::queue_notice::QueueNotices;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotices {
    pub from: Option<String>,
    pub console_url: Option<String>,
    #[serde(default)]
    pub queues: BTreeMap<String, Vec<String>>,
}

fn address(key: &str, a: &str) -> Result<String, ConfigError> {
    a.trim()
        .parse::<lettre::Address>()
        .map(|_| a.trim().to_string())
        .map_err(|_| ConfigError::invalid(key, "an email address", format!("{a:?}")))
}

pub fn from_raw(raw: RawNotices) -> Result<QueueNotices, ConfigError> {
    let mut queues = BTreeMap::new();
    for (queue, to) in raw.queues {
        let key = format!("notices.queues.{queue}");
        if to.is_empty() {
            return Err(ConfigError::invalid(key, "at least one address", "[]"));
        }
        let to = to
            .iter()
            .map(|a| address(&key, a))
            .collect::<Result<Vec<_>, _>>()?;
        queues.insert(queue, to);
    }
    let from = match raw.from {
        Some(f) => address("notices.from", &f)?,
        None if queues.is_empty() => String::new(),
        None => {
            return Err(ConfigError::invalid(
                "notices.from",
                "the sender address of queue notices",
                "nothing",
            ))
        }
    };
    if let Some(u) = &raw.console_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(ConfigError::invalid(
                "notices.console_url",
                "the console's URL, like \"https://desk.example.org\"",
                format!("{u:?}"),
            ));
        }
    }
    Ok(QueueNotices {
        from,
        console_url: raw.console_url,
        queues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let raw = |from: Option<&str>, q: &[(&str, &[&str])]| RawNotices {
            from: from.map(String::from),
            console_url: None,
            queues: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        };
        let ok = from_raw(raw(
            Some("hg@desk.example"),
            &[("sensitive", &["t@desk.example"])],
        ));
        assert_eq!(ok.unwrap().queues["sensitive"], ["t@desk.example"]);
        for (r, key) in [
            (
                raw(None, &[("sensitive", &["t@desk.example"])]),
                "notices.from",
            ),
            (
                raw(Some("hg@desk.example"), &[("sensitive", &["nobody"])]),
                "notices.queues.sensitive",
            ),
            (
                raw(Some("hg@desk.example"), &[("abuse", &[])]),
                "notices.queues.abuse",
            ),
        ] {
            let e = from_raw(r).unwrap_err().to_string();
            assert!(e.starts_with(key), "{e}");
        }
        let e = from_raw(RawNotices {
            console_url: Some("desk.example".into()),
            ..RawNotices::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("notices.console_url"), "{e}");
    }
}
