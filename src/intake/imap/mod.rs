//! IMAP intake: one [`ImapConnection`] per mailbox. It connects (implicit
//! TLS, STARTTLS or, on loopback, plain), logs in, SELECTs the folder, finds
//! new mail by UID, fetches it with `BODY.PEEK[]` (nothing is flagged by
//! reading) and acknowledges it (`\Seen`, move, delete) only when the caller
//! says the outcome is committed.
//!
//! async-imap has no timeouts of its own: every command here, and every
//! message of a fetch, runs under `tokio::time::timeout`.

mod auth;
pub mod stream;

use crate::config::mailbox::{AfterCommit, ImapAuth, MailboxConfig, TlsMode};
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use stream::ImapStream;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_util::sync::CancellationToken;

type ImapResult<T> = Result<T, ImapError>;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {host} failed")]
    Tls {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: &'static str, secs: u64 },
    #[error("the server closed the connection before its greeting")]
    NoGreeting,
    #[error("cannot get the XOAUTH2 access token")]
    Token(#[source] std::io::Error),
    #[error("cannot read the password for {user}")]
    Secret {
        user: String,
        #[source]
        source: crate::config::secret::SecretError,
    },
    #[error("login as {user} refused")]
    Login {
        user: String,
        #[source]
        source: async_imap::error::Error,
    },
    #[error("cannot select folder {folder}")]
    Select {
        folder: String,
        #[source]
        source: async_imap::error::Error,
    },
    #[error("the server reported no UIDVALIDITY for {folder}")]
    NoUidValidity { folder: String },
    #[error("IMAP {what} failed")]
    Command {
        what: &'static str,
        #[source]
        source: async_imap::error::Error,
    },
}

impl ImapError {
    /// Credentials were refused: retrying soon will not help much.
    pub fn is_auth(&self) -> bool {
        matches!(self, ImapError::Login { .. } | ImapError::Token(_))
    }
}

/// What a SELECT told us.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    pub uidvalidity: u32,
    /// The UID the next message will get, when the server says.
    pub uid_next: Option<u32>,
    pub exists: u32,
}

/// Why an IDLE round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server announced something: fetch by UID to see what.
    NewData,
    /// Re-issue time reached (servers drop IDLE after 30 min).
    Timeout,
    /// Shutdown asked for.
    Cancelled,
}

/// A logged-in session with the folder selected.
pub struct ImapConnection {
    /// `None` only transiently while IDLE owns the session.
    session: Option<Session<ImapStream>>,
    unsolicited: async_channel::Receiver<UnsolicitedResponse>,
    timeout: Duration,
    pub has_idle: bool,
    has_move: bool,
    has_uidplus: bool,
}

async fn limit<T, E>(
    d: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, E>>,
) -> ImapResult<T>
where
    E: Into<async_imap::error::Error>,
{
    match tokio::time::timeout(d, fut).await {
        Ok(r) => r.map_err(|e| ImapError::Command {
            what,
            source: e.into(),
        }),
        Err(_) => Err(ImapError::Timeout {
            what,
            secs: d.as_secs(),
        }),
    }
}

fn timed_out(d: Duration, what: &'static str) -> ImapError {
    ImapError::Timeout {
        what,
        secs: d.as_secs(),
    }
}

impl ImapConnection {
    /// Connect, log in and SELECT the mailbox's folder.
    pub async fn open(
        mb: &MailboxConfig,
        tls: Arc<ClientConfig>,
    ) -> ImapResult<(ImapConnection, Selected)> {
        let t = mb.timeout;
        let addr = format!("{}:{}", mb.host, mb.port);
        let tcp = tokio::time::timeout(t, TcpStream::connect((mb.host.as_str(), mb.port)))
            .await
            .map_err(|_| timed_out(t, "the TCP connection"))?
            .map_err(|source| ImapError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let tls_err = |source| ImapError::Tls {
            host: mb.host.clone(),
            source,
        };
        let stream = match mb.tls {
            TlsMode::Implicit => {
                tokio::time::timeout(t, stream::wrap_tls(tcp, &mb.host, tls.clone()))
                    .await
                    .map_err(|_| timed_out(t, "the TLS handshake"))?
                    .map_err(tls_err)?
            }
            TlsMode::StartTls | TlsMode::None => ImapStream::Plain(tcp),
        };
        let mut client = Client::new(stream);
        // async-imap does not read the greeting itself.
        tokio::time::timeout(t, client.read_response())
            .await
            .map_err(|_| timed_out(t, "the server greeting"))?
            .map_err(|source| ImapError::Connect {
                addr: addr.clone(),
                source,
            })?
            .ok_or(ImapError::NoGreeting)?;
        if mb.tls == TlsMode::StartTls {
            limit(
                t,
                "STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let ImapStream::Plain(tcp) = client.into_inner() else {
                unreachable!("STARTTLS starts from a plain stream")
            };
            let stream = tokio::time::timeout(t, stream::wrap_tls(tcp, &mb.host, tls))
                .await
                .map_err(|_| timed_out(t, "the TLS handshake"))?
                .map_err(tls_err)?;
            // No second greeting after STARTTLS.
            client = Client::new(stream);
        }
        let login = |source| ImapError::Login {
            user: mb.auth.user().to_string(),
            source,
        };
        let reveal = |user: &str, password: &crate::config::secret::Secret| {
            password.reveal().map_err(|source| ImapError::Secret {
                user: user.to_string(),
                source,
            })
        };
        let session = match &mb.auth {
            ImapAuth::Login { user, password } => {
                let password = reveal(user, password)?;
                tokio::time::timeout(t, client.login(user, password.expose()))
                    .await
                    .map_err(|_| timed_out(t, "LOGIN"))?
                    .map_err(|(e, _)| login(e))?
            }
            ImapAuth::Plain { user, password } => {
                let password = reveal(user, password)?;
                tokio::time::timeout(
                    t,
                    client.authenticate(
                        "PLAIN",
                        auth::Plain {
                            user,
                            password: password.expose(),
                        },
                    ),
                )
                .await
                .map_err(|_| timed_out(t, "AUTHENTICATE PLAIN"))?
                .map_err(|(e, _)| login(e))?
            }
            ImapAuth::XOAuth2 { user, token } => {
                let token = auth::read_token(token, t).await.map_err(ImapError::Token)?;
                tokio::time::timeout(
                    t,
                    client.authenticate("XOAUTH2", auth::XOAuth2::new(user, &token)),
                )
                .await
                .map_err(|_| timed_out(t, "AUTHENTICATE XOAUTH2"))?
                .map_err(|(e, _)| login(e))?
            }
        };
        let mut session = session;
        let caps = limit(t, "CAPABILITY", session.capabilities()).await?;
        let (has_idle, has_move, has_uidplus) = (
            caps.has_str("IDLE"),
            caps.has_str("MOVE"),
            caps.has_str("UIDPLUS"),
        );
        let mailbox = tokio::time::timeout(t, session.select(&mb.folder))
            .await
            .map_err(|_| timed_out(t, "SELECT"))?
            .map_err(|source| ImapError::Select {
                folder: mb.folder.clone(),
                source,
            })?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| ImapError::NoUidValidity {
                folder: mb.folder.clone(),
            })?;
        let unsolicited = session.unsolicited_responses.clone();
        let conn = ImapConnection {
            session: Some(session),
            unsolicited,
            timeout: t,
            has_idle,
            has_move,
            has_uidplus,
        };
        conn.drain();
        Ok((
            conn,
            Selected {
                uidvalidity,
                uid_next: mailbox.uid_next,
                exists: mailbox.exists,
            },
        ))
    }

    fn session(&mut self) -> &mut Session<ImapStream> {
        self.session
            .as_mut()
            .expect("the session is only taken during IDLE")
    }

    /// Forget queued notifications; returns whether any announced new mail.
    fn drain(&self) -> bool {
        let mut news = false;
        while let Ok(r) = self.unsolicited.try_recv() {
            news |= matches!(
                r,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            );
        }
        news
    }

    /// UIDs and sizes of every message with a UID above `after`, ascending.
    /// (`n+1:*` also returns the last message when its UID is <= n: filtered.)
    pub async fn new_messages(&mut self, after: u32) -> ImapResult<Vec<(u32, u32)>> {
        let t = self.timeout;
        let query = format!("{}:*", after.saturating_add(1));
        let mut found = Vec::new();
        {
            let stream = limit(
                t,
                "UID FETCH (sizes)",
                self.session().uid_fetch(query, "(UID RFC822.SIZE)"),
            )
            .await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = tokio::time::timeout(t, stream.next())
                .await
                .map_err(|_| timed_out(t, "UID FETCH (sizes)"))?
            {
                let f = item.map_err(|source| ImapError::Command {
                    what: "UID FETCH (sizes)",
                    source,
                })?;
                if let Some(uid) = f.uid.filter(|u| *u > after) {
                    found.push((uid, f.size.unwrap_or(0)));
                }
            }
        }
        self.drain();
        found.sort_unstable();
        found.dedup_by_key(|(u, _)| *u);
        Ok(found)
    }

    /// The bytes of these messages (`BODY.PEEK[]`: no flag changes). UIDs
    /// expunged meanwhile are simply missing from the answer.
    pub async fn fetch(&mut self, uids: &[u32]) -> ImapResult<Vec<(u32, Vec<u8>)>> {
        let t = self.timeout;
        let mut out = Vec::with_capacity(uids.len());
        {
            let set = uid_set(uids);
            let stream = limit(
                t,
                "UID FETCH",
                self.session().uid_fetch(set, "(UID BODY.PEEK[])"),
            )
            .await?;
            let mut stream = std::pin::pin!(stream);
            // The limit applies to each message, not to the whole batch.
            while let Some(item) = tokio::time::timeout(t, stream.next())
                .await
                .map_err(|_| timed_out(t, "UID FETCH"))?
            {
                let f = item.map_err(|source| ImapError::Command {
                    what: "UID FETCH",
                    source,
                })?;
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    if uids.binary_search(&uid).is_ok() {
                        out.push((uid, body.to_vec()));
                    }
                }
            }
        }
        self.drain();
        out.sort_unstable_by_key(|(u, _)| *u);
        out.dedup_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// Tell the server these messages are done with: only after commit.
    pub async fn ack(&mut self, uids: &[u32], after: &AfterCommit) -> ImapResult<()> {
        if uids.is_empty() {
            return Ok(());
        }
        self.ack_set(&uid_set(uids), after).await
    }

    /// [`Self::ack`] for every message in `first..=last` still in the folder.
    pub async fn ack_range(
        &mut self,
        first: u32,
        last: u32,
        after: &AfterCommit,
    ) -> ImapResult<()> {
        if first == 0 || first > last {
            return Ok(());
        }
        self.ack_set(&format!("{first}:{last}"), after).await
    }

    async fn ack_set(&mut self, set: &str, after: &AfterCommit) -> ImapResult<()> {
        let t = self.timeout;
        match after {
            AfterCommit::Seen => self.store_flags(set, "+FLAGS.SILENT (\\Seen)").await?,
            AfterCommit::Move(folder) if self.has_move => {
                limit(t, "UID MOVE", self.session().uid_mv(set, folder)).await?;
            }
            AfterCommit::Move(folder) => {
                limit(t, "UID COPY", self.session().uid_copy(set, folder)).await?;
                self.store_flags(set, "+FLAGS.SILENT (\\Deleted)").await?;
                self.expunge(set).await?;
            }
            AfterCommit::Delete => {
                self.store_flags(set, "+FLAGS.SILENT (\\Deleted)").await?;
                self.expunge(set).await?;
            }
        }
        self.drain();
        Ok(())
    }

    async fn store_flags(&mut self, set: &str, flags: &str) -> ImapResult<()> {
        let t = self.timeout;
        let stream = limit(t, "UID STORE", self.session().uid_store(set, flags)).await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = tokio::time::timeout(t, stream.next())
            .await
            .map_err(|_| timed_out(t, "UID STORE"))?
        {
            item.map_err(|source| ImapError::Command {
                what: "UID STORE",
                source,
            })?;
        }
        Ok(())
    }

    /// UID EXPUNGE (only ours) when the server has UIDPLUS, else EXPUNGE.
    async fn expunge(&mut self, set: &str) -> ImapResult<()> {
        let t = self.timeout;
        if self.has_uidplus {
            let stream = limit(t, "UID EXPUNGE", self.session().uid_expunge(set)).await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = tokio::time::timeout(t, stream.next())
                .await
                .map_err(|_| timed_out(t, "UID EXPUNGE"))?
            {
                item.map_err(|source| ImapError::Command {
                    what: "UID EXPUNGE",
                    source,
                })?;
            }
        } else {
            let stream = limit(t, "EXPUNGE", self.session().expunge()).await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = tokio::time::timeout(t, stream.next())
                .await
                .map_err(|_| timed_out(t, "EXPUNGE"))?
            {
                item.map_err(|source| ImapError::Command {
                    what: "EXPUNGE",
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// NOOP: lets a polling client see new mail and proves the link is up.
    pub async fn noop(&mut self) -> ImapResult<()> {
        let t = self.timeout;
        limit(t, "NOOP", self.session().noop()).await?;
        self.drain();
        Ok(())
    }

    /// Wait in IDLE for up to `max` (or until `token` is cancelled). The
    /// caller must fetch by UID afterwards whatever the result: a
    /// notification is a hint, not a list. Mail that arrived since the last
    /// fetch is announced before the server's `+ idling` and lands in the
    /// unsolicited queue: it ends the round at once.
    pub async fn idle(&mut self, max: Duration, token: &CancellationToken) -> ImapResult<Wake> {
        let t = self.timeout;
        let session = self
            .session
            .take()
            .expect("the session is only taken during IDLE");
        let mut handle = session.idle();
        limit(t, "IDLE", handle.init()).await?;
        let wake = if self.drain() {
            Wake::NewData
        } else {
            let (fut, _stop) = handle.wait_with_timeout(max);
            tokio::select! {
                r = tokio::time::timeout(max, fut) => match r {
                    Ok(Ok(IdleResponse::NewData(_))) => Wake::NewData,
                    Ok(Ok(IdleResponse::Timeout)) | Err(_) => Wake::Timeout,
                    // The stream ended (connection closed) unless we stopped it:
                    // DONE below fails and the caller reconnects.
                    Ok(Ok(IdleResponse::ManualInterrupt)) if token.is_cancelled() => Wake::Cancelled,
                    Ok(Ok(IdleResponse::ManualInterrupt)) => Wake::NewData,
                    Ok(Err(source)) => return Err(ImapError::Command { what: "IDLE", source }),
                },
                () = token.cancelled() => Wake::Cancelled,
            }
        };
        // DONE can hang on a dead connection: limited like everything else.
        let session = limit(t, "DONE", handle.done()).await?;
        self.session = Some(session);
        self.drain();
        Ok(wake)
    }

    /// LOGOUT, best effort (shutdown).
    pub async fn logout(mut self) {
        let t = self.timeout;
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(t.min(Duration::from_secs(5)), s.logout()).await;
        }
    }
}

/// `1:3,7,9:10` from ascending UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }
}
