//! Who may see what: roles, the restricted queues a viewer lacks, and
//! password hashing.
//!
//! Every desk query takes a [`Viewer`] and filters with
//! [`Viewer::hidden_queues_json`], so a restricted ticket is missing from
//! lists, counts and search alike, instead of each page remembering to
//! check. A single ticket is checked with [`Viewer::can_see`].

use crate::rules::RuleSet;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde::Serialize;
use std::collections::BTreeSet;

/// A specialist works tickets; a lead also assigns and merges; an admin
/// sees every queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Specialist,
    Lead,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Specialist => "specialist",
            Role::Lead => "lead",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "specialist" => Role::Specialist,
            "lead" => Role::Lead,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// The person looking: name, role and the restricted queues they lack.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub role: Role,
    hidden: BTreeSet<String>,
    hidden_json: String,
}

impl Viewer {
    /// `queues` are the restricted queues granted to the user; an admin has
    /// them all. Queues the rules mark restricted and not granted are hidden.
    pub fn new(name: &str, role: Role, queues: &[String], rules: &RuleSet) -> Viewer {
        let hidden: BTreeSet<String> = rules
            .queues
            .iter()
            .filter(|(_, restricted)| **restricted)
            .map(|(q, _)| q.clone())
            .chain(std::iter::once(rules.sensitive_queue.clone()))
            .filter(|q| role != Role::Admin && !queues.contains(q))
            .collect();
        let hidden_json = serde_json::to_string(&hidden).unwrap_or_else(|_| "[]".into());
        Viewer {
            name: name.to_string(),
            role,
            hidden,
            hidden_json,
        }
    }

    /// Whether a ticket in `queue` is visible to this viewer.
    pub fn can_see(&self, queue: Option<&str>) -> bool {
        queue.is_none_or(|q| !self.hidden.contains(q))
    }

    /// The hidden queues as a JSON array, for `NOT IN (SELECT value FROM json_each(?))`.
    pub fn hidden_queues_json(&self) -> &str {
        &self.hidden_json
    }

    pub fn may_assign(&self) -> bool {
        self.role != Role::Specialist
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// An argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the stored PHC string; a malformed hash
/// never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_and_rejects_others() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(hash_password("").is_err());
    }

    #[test]
    fn restricted_queue_hidden_unless_granted() {
        let rules = RuleSet::builtin();
        let plain = Viewer::new("ana", Role::Specialist, &[], &rules);
        assert!(!plain.can_see(Some("sensitive")));
        assert!(plain.can_see(Some("general")));
        assert!(plain.can_see(None));
        assert!(plain.hidden_queues_json().contains("sensitive"));
        let granted = Viewer::new("bo", Role::Specialist, &["sensitive".into()], &rules);
        assert!(granted.can_see(Some("sensitive")));
        assert_eq!(granted.hidden_queues_json(), "[]");
        let admin = Viewer::new("root", Role::Admin, &[], &rules);
        assert!(admin.can_see(Some("sensitive")));
    }
}
