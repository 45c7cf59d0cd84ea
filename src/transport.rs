//! Where outgoing mail leaves helpgate: SMTP (lettre, async) or .eml files.
//! One seam, [`Transport::send`], whose errors say whether retrying helps.
//!
//! SMTP connections are made by hand (a tokio `TcpStream` with
//! TCP_NODELAY, then lettre's `AsyncSmtpConnection`): lettre 0.11.23 never
//! sets TCP_NODELAY, and Nagle then stalls every message ~44 ms waiting for
//! the server's delayed ACK (../shared/test-servers.md §4; fixed upstream
//! in lettre PR #1159, not released here). Each connection is reused across
//! messages and dropped on any error; `smtp.connections` of them send in
//! parallel (an MTA spends most of a message in its own fsyncs).

use crate::config::replies::{Security, SmtpConfig};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Duration;

/// A failed delivery, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 4xx, connection refused, timeout: try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// 5xx or a message the server will never take: park it.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// How mail leaves.
pub enum Transport {
    File {
        dir: PathBuf,
    },
    /// One sender per parallel connection.
    Smtp(Vec<SmtpSender>),
}

/// One message for [`Transport::send_many`].
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub sender: &'a str,
    pub recipient: &'a str,
    pub message_id: &'a str,
    pub raw: &'a [u8],
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::File { dir } => write!(f, "Transport::File({})", dir.display()),
            Transport::Smtp(s) => match s.first() {
                Some(s) => write!(f, "Transport::Smtp({}:{})", s.config.host, s.config.port),
                None => f.write_str("Transport::Smtp(none)"),
            },
        }
    }
}

impl Transport {
    pub fn file(dir: impl Into<PathBuf>) -> Transport {
        Transport::File { dir: dir.into() }
    }

    /// What the config says: SMTP when `[smtp]` is set (and `outbox.transport`
    /// is not "file"), else .eml files in the outbox directory.
    pub fn from_config(config: &crate::config::Config) -> Transport {
        use crate::config::replies::TransportKind;
        match (&config.outbox.transport, &config.smtp) {
            (TransportKind::Smtp, Some(smtp)) => Transport::smtp(smtp.clone()),
            _ => Transport::file(config.outbox_dir()),
        }
    }

    /// SMTP with `config.connections` parallel connections, TCP_NODELAY on.
    pub fn smtp(config: SmtpConfig) -> Transport {
        Self::smtp_with(config, true)
    }

    /// `nodelay: false` reproduces stock lettre (for the benchmark).
    pub fn smtp_with(config: SmtpConfig, nodelay: bool) -> Transport {
        let n = config.connections.max(1);
        let mut senders: Vec<SmtpSender> = (1..n)
            .map(|_| SmtpSender::new(config.clone(), nodelay))
            .collect();
        senders.push(SmtpSender::new(config, nodelay));
        Transport::Smtp(senders)
    }

    /// How many messages one `send_many` round handles at once.
    pub fn lanes(&self) -> usize {
        match self {
            Transport::File { .. } => 32,
            Transport::Smtp(senders) => senders.len().max(1),
        }
    }

    /// Deliver several messages; results in the same order. SMTP spreads
    /// them over the parallel connections.
    pub async fn send_many(&mut self, items: &[Item<'_>]) -> Vec<Result<(), SendError>> {
        match self {
            Transport::File { dir } => items
                .iter()
                .map(|i| write_eml(dir, i.message_id, i.raw))
                .collect(),
            Transport::Smtp(senders) => {
                let lanes = senders.len().min(items.len()).max(1);
                let futures = senders.iter_mut().take(lanes).enumerate().map(|(lane, s)| {
                    let mine: Vec<(usize, Item<'_>)> = items
                        .iter()
                        .copied()
                        .enumerate()
                        .filter(|(i, _)| i % lanes == lane)
                        .collect();
                    async move {
                        let mut out = Vec::with_capacity(mine.len());
                        for (i, it) in mine {
                            out.push((i, s.send(it.sender, it.recipient, it.raw).await));
                        }
                        out
                    }
                });
                let mut results: Vec<(usize, Result<(), SendError>)> =
                    futures::future::join_all(futures)
                        .await
                        .into_iter()
                        .flatten()
                        .collect();
                results.sort_by_key(|(i, _)| *i);
                results.into_iter().map(|(_, r)| r).collect()
            }
        }
    }

    /// Deliver one message. `message_id` names the .eml file.
    pub async fn send(
        &mut self,
        sender: &str,
        recipient: &str,
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Transport::File { dir } => write_eml(dir, message_id, raw),
            Transport::Smtp(s) => match s.first_mut() {
                Some(s) => s.send(sender, recipient, raw).await,
                None => Err(SendError::Permanent("no SMTP connection configured".into())),
            },
        }
    }

    /// Close any open connection politely.
    pub async fn close(&mut self) {
        if let Transport::Smtp(senders) = self {
            for s in senders {
                s.close().await;
            }
        }
    }
}

fn write_eml(dir: &std::path::Path, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
    let io =
        |e: std::io::Error| SendError::Transient(format!("cannot write to {}: {e}", dir.display()));
    // Replies carry participants' names and addresses: private like the
    // database, wherever `outbox.dir` points.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let path = eml_path(dir, message_id);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{stem}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(raw).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The file a reply with `message_id` is written to by the file transport
/// (`forget` removes it by the same name).
pub fn eml_path(dir: &std::path::Path, message_id: &str) -> std::path::PathBuf {
    let name: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.eml"))
}

/// An SMTP client that keeps one connection open between messages.
pub struct SmtpSender {
    config: SmtpConfig,
    /// Set TCP_NODELAY (always, except in the benchmark's comparison).
    nodelay: bool,
    conn: Option<AsyncSmtpConnection>,
}

impl SmtpSender {
    pub fn new(config: SmtpConfig, nodelay: bool) -> SmtpSender {
        SmtpSender {
            config,
            nodelay,
            conn: None,
        }
    }

    fn tls_parameters(&self) -> Result<TlsParameters, SendError> {
        let mut b = TlsParameters::builder(self.config.host.clone());
        if let Some(ca) = &self.config.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                SendError::Transient(format!("cannot read smtp.ca_file {}: {e}", ca.display()))
            })?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| SendError::Permanent(format!("smtp.ca_file: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| SendError::Permanent(format!("TLS setup: {e}")))
    }

    /// A TCP connection with TCP_NODELAY (unless benchmarking stock lettre).
    async fn tcp(&self) -> Result<tokio::net::TcpStream, SendError> {
        let c = &self.config;
        let tcp = tokio::time::timeout(
            c.timeout,
            tokio::net::TcpStream::connect((c.host.as_str(), c.port)),
        )
        .await
        .map_err(|_| SendError::Transient(format!("connect to {}:{} timed out", c.host, c.port)))?
        .map_err(|e| {
            SendError::Transient(format!("cannot connect to {}:{}: {e}", c.host, c.port))
        })?;
        if self.nodelay {
            tcp.set_nodelay(true)
                .map_err(|e| SendError::Transient(format!("TCP_NODELAY: {e}")))?;
        }
        Ok(tcp)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let c = &self.config;
        let hello = ClientId::Domain(c.hello_name.clone());
        let conn = match c.security {
            Security::Tls => {
                let tcp = self.tcp().await?;
                let tls = tokio::time::timeout(c.timeout, implicit_tls(c, tcp))
                    .await
                    .map_err(|_| SendError::Transient("TLS handshake timed out".into()))??;
                tokio::time::timeout(
                    c.timeout,
                    AsyncSmtpConnection::connect_with_transport(Box::new(tls), &hello),
                )
                .await
                .map_err(|_| SendError::Transient("SMTP greeting timed out".into()))?
                .map_err(classify)?
            }
            Security::StartTls | Security::None => {
                let tcp = self.tcp().await?;
                let mut conn = tokio::time::timeout(
                    c.timeout,
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
                )
                .await
                .map_err(|_| SendError::Transient("SMTP greeting timed out".into()))?
                .map_err(classify)?;
                if c.security == Security::StartTls {
                    if !conn.can_starttls() {
                        return Err(SendError::Transient(format!(
                            "{} does not offer STARTTLS (smtp.security = \"starttls\")",
                            c.host
                        )));
                    }
                    conn.starttls(self.tls_parameters()?, &hello)
                        .await
                        .map_err(classify)?;
                }
                conn
            }
        };
        let mut conn = conn;
        if let (Some(user), Some(pw)) = (&c.username, &c.password) {
            // Read at each connection: a rotated password file is picked up.
            let pw = pw.reveal().map_err(|e| {
                SendError::Transient(format!(
                    "smtp.password: {}",
                    crate::pipeline::error_chain(&e)
                ))
            })?;
            let creds = Credentials::new(user.clone(), pw.expose().to_string());
            // A refused login is a configuration problem, not the reply's:
            // retried with backoff (and shown) rather than parking every
            // reply and sending its ticket to a human.
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(|e| {
                    SendError::Transient(format!(
                        "SMTP login as {user} refused: {}",
                        crate::pipeline::error_chain(&e)
                    ))
                })?;
        }
        Ok(conn)
    }

    pub async fn send(
        &mut self,
        sender: &str,
        recipient: &str,
        raw: &[u8],
    ) -> Result<(), SendError> {
        let envelope = Envelope::new(
            Some(
                sender
                    .parse()
                    .map_err(|e| SendError::Permanent(format!("sender {sender:?}: {e}")))?,
            ),
            vec![recipient
                .parse()
                .map_err(|e| SendError::Permanent(format!("recipient {recipient:?}: {e}")))?],
        )
        .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        let mut conn = match self.conn.take() {
            Some(c) if !c.has_broken() => c,
            _ => self.connect().await?,
        };
        let timeout = self.config.timeout;
        match tokio::time::timeout(timeout, conn.send(&envelope, raw)).await {
            Ok(Ok(_)) => {
                self.conn = Some(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                let err = classify(e);
                // A rejected message leaves the session usable; RSET is
                // implicit in lettre's next MAIL FROM only on a fresh
                // connection, so start over to be safe.
                conn.abort().await;
                Err(err)
            }
            Err(_) => Err(SendError::Transient(format!(
                "SMTP transaction timed out after {} s",
                timeout.as_secs()
            ))),
        }
    }

    pub async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit().await;
        }
    }
}

/// Implicit TLS done here rather than by lettre, so that the socket under
/// it has TCP_NODELAY (lettre's own TLS connect cannot take a socket).
/// Certificates are verified against the public roots plus `ca_file`.
async fn implicit_tls(c: &SmtpConfig, tcp: tokio::net::TcpStream) -> Result<TlsSocket, SendError> {
    use tokio_rustls::rustls::{self, pki_types::ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &c.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            SendError::Transient(format!("cannot read smtp.ca_file {}: {e}", ca.display()))
        })?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| SendError::Permanent(format!("smtp.ca_file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SendError::Permanent(format!("smtp.ca_file: {e}")))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SendError::Permanent(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(c.host.clone())
        .map_err(|e| SendError::Permanent(format!("smtp.host {:?}: {e}", c.host)))?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| SendError::Transient(format!("TLS handshake with {}: {e}", c.host)))?;
    Ok(TlsSocket(tls))
}

/// A rustls client stream lettre can drive as its transport.
struct TlsSocket(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl std::fmt::Debug for TlsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsSocket")
    }
}

impl tokio::io::AsyncRead for TlsSocket {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsSocket {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let msg = crate::pipeline::error_chain(&e);
    let permanent = e.is_permanent();
    drop(e);
    if permanent {
        SendError::Permanent(msg)
    } else {
        SendError::Transient(msg)
    }
}

/// How long to wait before retry number `attempt` (1-based): exponential
/// from `base`, capped at `max`, with ±20 % jitter so that a queue of
/// failures does not hit the server in lockstep.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let capped = exp.min(max.as_secs_f64());
    let j = 1.0 + (jitter.clamp(0.0, 1.0) - 0.5) * 0.4;
    Duration::from_secs_f64(capped * j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Duration::from_secs(30);
        let m = Duration::from_secs(3600);
        assert_eq!(backoff(1, b, m, 0.5), b);
        assert_eq!(backoff(3, b, m, 0.5), Duration::from_secs(120));
        assert_eq!(backoff(20, b, m, 0.5), m);
        assert!(backoff(1, b, m, 0.0) < b && backoff(1, b, m, 1.0) > b);
    }

    #[test]
    fn file_transport_writes_one_eml_per_message() {
        let d = tempfile::tempdir().unwrap();
        write_eml(
            d.path(),
            "helpgate.t1.x@voices.example",
            b"Subject: x\r\n\r\nhi\r\n",
        )
        .unwrap();
        let f = d.path().join("helpgate.t1.x@voices.example.eml");
        assert_eq!(std::fs::read(f).unwrap(), b"Subject: x\r\n\r\nhi\r\n");
    }
}
