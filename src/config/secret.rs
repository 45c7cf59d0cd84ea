//! Secrets never live in the config file: it holds a reference,
//! `env:NAME` or `file:PATH`, resolved at load. `Debug` never prints the value.

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

/// A resolved secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Resolve `env:NAME` or `file:PATH` (trailing newline stripped).
    pub fn resolve(reference: &str) -> Result<Secret, SecretError> {
        if let Some(name) = reference.strip_prefix("env:") {
            return std::env::var(name)
                .map(Secret)
                .map_err(|_| SecretError::MissingEnv {
                    name: name.to_string(),
                });
        }
        if let Some(path) = reference.strip_prefix("file:") {
            let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                path: PathBuf::from(path),
                source,
            })?;
            return Ok(Secret(text.trim_end_matches(['\r', '\n']).to_string()));
        }
        Err(SecretError::Literal)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
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
            Secret::resolve("hunter2"),
            Err(SecretError::Literal)
        ));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        let s = Secret::resolve(&format!("file:{}", p.display())).unwrap();
        assert_eq!(s.expose(), "s3cret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
