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
    user: &'a str,
    token: &'a str,
    sent: bool,
}

impl<'a> XOAuth2<'a> {
    pub(super) fn new(user: &'a str, token: &'a str) -> XOAuth2<'a> {
        XOAuth2 {
            user,
            token,
            sent: false,
        }
    }
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        // A refused token comes back as a challenge holding the error
        // (JSON); the client must answer it with an empty line to get the
        // tagged NO (Gmail, Microsoft 365), not send the token again.
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
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

#[cfg(test)]
mod tests {
    use super::XOAuth2;
    use async_imap::Authenticator;

    #[test]
    fn xoauth2_sends_the_token_once_and_answers_an_error_challenge_empty() {
        let mut a = XOAuth2::new("help@example.test", "tok");
        assert_eq!(
            a.process(b""),
            "user=help@example.test\x01auth=Bearer tok\x01\x01"
        );
        let error = br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        assert_eq!(a.process(error), "");
    }
}
