//! Secrets never live in the config file: it holds a reference,
//! `env:NAME` or `file:PATH`. The reference is checked at load, the value
//! read when a connection needs it: a desk command run by a specialist
//! (`status`, `tickets`) must not fail because the password file is
//! readable only by the service's user. `Debug` never prints the value.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("expected a reference \"env:NAME\" or \"file:PATH\", found a literal value (secrets stay out of config files)")]
    Literal,
    #[error("environment variable {name} is not set")]
    MissingEnv { name: String },
    #[error("cannot read secret file {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Env(String),
    File(PathBuf),
}

/// A secret's value, read for one use.
#[derive(Clone, PartialEq, Eq)]
pub struct Revealed(String);

impl Secret {
    /// Parse a reference `env:NAME` or `file:PATH`; a literal is refused.
    pub fn parse(reference: &str) -> Result<Secret, SecretError> {
        if let Some(name) = reference.strip_prefix("env:") {
            return Ok(Secret::Env(name.to_string()));
        }
        if let Some(path) = reference.strip_prefix("file:") {
            return Ok(Secret::File(PathBuf::from(path)));
        }
        Err(SecretError::Literal)
    }

    /// Read the value now (trailing newline of a file stripped).
    pub fn reveal(&self) -> Result<Revealed, SecretError> {
        match self {
            Secret::Env(name) => std::env::var(name)
                .map(Revealed)
                .map_err(|_| SecretError::MissingEnv { name: name.clone() }),
            Secret::File(path) => std::fs::read_to_string(path)
                .map(|text| Revealed(text.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                }),
        }
    }
}

impl Revealed {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_is_refused_and_debug_redacts() {
        assert!(matches!(
            Secret::parse("hunter2"),
            Err(SecretError::Literal)
        ));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        let s = Secret::parse(&format!("file:{}", p.display()))
            .unwrap()
            .reveal()
            .unwrap();
        assert_eq!(s.expose(), "s3cret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn a_reference_is_read_only_when_revealed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("later");
        // Loading a config with this reference succeeds before the file exists ...
        let s = Secret::parse(&format!("file:{}", p.display())).unwrap();
        assert!(matches!(s.reveal(), Err(SecretError::File { .. })));
        // ... and a rotated password is picked up at the next connection.
        std::fs::write(&p, "one\n").unwrap();
        assert_eq!(s.reveal().unwrap().expose(), "one");
        std::fs::write(&p, "two\n").unwrap();
        assert_eq!(s.reveal().unwrap().expose(), "two");
    }
}
