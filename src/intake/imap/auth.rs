//! SASL for IMAP: PLAIN and XOAUTH2 (Gmail, Microsoft 365). LOGIN needs no
//! authenticator. The XOAUTH2 token is fetched at every login, so a token
//! that has expired since the last connection is replaced by a fresh one.

use crate::config::mailbox::TokenSource;
use std::time::Duration;

/// `AUTHENTICATE PLAIN`: authzid empty, then user and password.
pub(super) struct Plain<'a> {
    pub(super) user: &'a str,
    pub(super) password: &'a str,
}

impl async_imap::Authenticator for Plain<'_> {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("\0{}\0{}", self.user, self.password)
    }
}

/// `AUTHENTICATE XOAUTH2`.
pub(super) struct XOAuth2<'a> {
    pub(super) user: &'a str,
    pub(super) token: &'a str,
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// Read the current access token from its file or command.
pub(super) async fn read_token(source: &TokenSource, timeout: Duration) -> std::io::Result<String> {
    let token = match source {
        TokenSource::File(path) => tokio::fs::read_to_string(path).await?,
        TokenSource::Command(cmd) => {
            let out = tokio::time::timeout(
                timeout,
                tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "token command timed out")
            })??;
            if !out.status.success() {
                return Err(std::io::Error::other(format!(
                    "token command exited with {}",
                    out.status
                )));
            }
            String::from_utf8(out.stdout)
                .map_err(|_| std::io::Error::other("token command printed non-UTF-8"))?
        }
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(std::io::Error::other("the access token is empty"));
    }
    Ok(token)
}
