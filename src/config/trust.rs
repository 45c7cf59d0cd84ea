//! `[trust]`: whose word helpgate takes that a sender is who the From header
//! says, and `[tickets]`: the site tag in ticket tokens.

use super::raw::{OneOrMany, RawTickets, RawTrust};
use super::ConfigError;

/// What to do with mail that carries no Authentication-Results of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unauthenticated {
    /// The default while no authserv-id is configured, i.e. the site has
    /// not said which Authentication-Results are its own: answer unless the
    /// nearest (topmost) Authentication-Results reports a failure. Nothing
    /// can be verified here, so only the safe direction is believed: a
    /// forged failure only keeps the forger from being answered.
    #[default]
    UnlessFailed,
    /// Answer it only when no mail server handled it (no Received header):
    /// files an admin imports, such as examples/maildir. Mail that came
    /// through a server goes to a person. The default once an authserv-id
    /// is configured.
    LocalOnly,
    /// Never answer it automatically.
    Hold,
    /// Answer it: for a site whose receiving MTA checks nothing. Anyone can
    /// then make helpgate write to any address (backscatter).
    Answer,
}

/// Validated `[trust]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trust {
    /// Lower case. Authentication-Results headers of other servers are
    /// ignored (RFC 8601 §5): anyone can write one.
    pub authserv_ids: Vec<String>,
    pub unauthenticated: Unauthenticated,
}

pub fn trust(raw: &RawTrust) -> Result<Trust, ConfigError> {
    let ids: Vec<String> = match &raw.authserv_id {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s.clone()],
        Some(OneOrMany::Many(v)) => v.clone(),
    };
    let mut authserv_ids = Vec::new();
    for id in ids {
        let id = id.trim().to_ascii_lowercase();
        if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
            return Err(ConfigError::invalid(
                "trust.authserv_id",
                "the authserv-id your receiving server writes (e.g. \"mx.example.org\")",
                format!("{id:?}"),
            ));
        }
        authserv_ids.push(id);
    }
    let unauthenticated = match raw.unauthenticated.as_deref() {
        None if authserv_ids.is_empty() => Unauthenticated::UnlessFailed,
        None | Some("local-only") => Unauthenticated::LocalOnly,
        Some("unless-failed") => Unauthenticated::UnlessFailed,
        Some("hold") => Unauthenticated::Hold,
        Some("answer") => Unauthenticated::Answer,
        Some(other) => {
            return Err(ConfigError::invalid(
                "trust.unauthenticated",
                "\"unless-failed\", \"local-only\", \"hold\" or \"answer\"",
                format!("{other:?}"),
            ))
        }
    };
    Ok(Trust {
        authserv_ids,
        unauthenticated,
    })
}

/// The site tag of `[tickets] tag`, checked: what stands before `#N` in
/// `[tag #N]`.
pub fn site_tag(raw: &RawTickets) -> Result<Option<String>, ConfigError> {
    match raw.tag.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t)
            if t.len() <= 32
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
        {
            Ok(Some(t.to_string()))
        }
        Some(t) => Err(ConfigError::invalid(
            "tickets.tag",
            "up to 32 letters, digits, '.', '_' or '-'",
            format!("{t:?}"),
        )),
    }
}
