//! Real mail servers for integration tests: [`MailStack`] starts Dovecot
//! (IMAP, IMAPS, LMTP) and Postfix (SMTP, delivering every recipient into
//! that Dovecot over LMTP) from a temp dir on fresh loopback ports. Both run
//! in the foreground in their own process group, owned by the stack, and are
//! stopped on drop. Readiness is polled on the ports, never slept for.
//! Recipe and traps: ../shared/test-servers.md. Needs root (Postfix does)
//! and the Debian packages from `.ci/install-test-deps`.

#![allow(dead_code, clippy::unwrap_used)] // test support code: panics are the failure report

pub(crate) mod daemon;
pub(crate) mod imap;
pub(crate) mod servers;
pub(crate) mod smtp;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use imap::{Fetched, ImapClient};
pub(crate) use smtp::{text_mail, SmtpSession};

/// The password of every test user.
pub(crate) const PASSWORD: &str = "test-pw";

/// The users every stack has (all `@example.test`).
pub(crate) const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "support", "support2", "help", "sales", "crash", "bench",
];

/// A free loopback port for a test server to listen on.
///
/// Not `bind :0`: that hands out a port from the kernel's ephemeral range,
/// where any other test's outgoing connection (helpgate's IMAP/SMTP clients)
/// may take it as its local port before the server binds it, and two calls
/// may even return the same port. One CI run lost Dovecot that way. Ports
/// come instead from below the ephemeral range, in order from a per-process
/// random start (test binaries and benches may run side by side), each
/// checked bindable.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (lo, hi) = listen_range();
    let span = u32::from(hi - lo);
    let _ = NEXT.compare_exchange(
        0,
        1 + (std::process::id().wrapping_mul(2_654_435_761) >> 7) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let port = lo + u16::try_from(offset).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {lo}..{hi}");
}

/// Ports outside the kernel's ephemeral range (Linux default 32768-60999).
fn listen_range() -> (u16, u16) {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    match ephemeral {
        (lo, _) if lo >= 12_000 => (10_000, lo),
        (_, hi) if hi <= 63_000 => (hi + 1, 65_535),
        _ => (20_000, 30_000),
    }
}

/// Wait for a condition, polling; panics with `what` after `timeout`.
pub(crate) fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process in its own process group; the group is stopped on drop.
pub(crate) struct Group {
    child: Child,
    /// Where the child's stderr goes (servers print start-up failures such
    /// as a port in use there, before their own log is open).
    stderr: Option<PathBuf>,
    /// Set once [`Group::stop`] has run: the group id is a reaped pid by
    /// then, which the kernel may hand to an unrelated process group (other
    /// tests' servers are group leaders too), so it is never signalled again.
    stopped: bool,
}

impl Group {
    pub(crate) fn spawn(cmd: &mut Command) -> Group {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Group {
            child,
            stderr: None,
            stopped: false,
        }
    }

    /// A server: its stderr is kept in `stderr` for [`Group::wait_port`].
    pub(crate) fn spawn_server(cmd: &mut Command, stderr: &Path) -> Group {
        let file = std::fs::File::create(stderr).expect("create server stderr file");
        let mut g = Self::spawn(cmd.stderr(file));
        g.stderr = Some(stderr.to_path_buf());
        g
    }

    /// Wait until the server accepts on `port`; if it exits first or does
    /// not come up in 20 s, panic with its exit status, stderr and `log`.
    pub(crate) fn wait_port(&mut self, port: u16, what: &str, log: &Path) {
        if let Err(e) = self.try_wait_port(port, what, log) {
            panic!("{e}");
        }
    }

    /// [`Group::wait_port`], with the failure report as the error.
    pub(crate) fn try_wait_port(
        &mut self,
        port: u16,
        what: &str,
        log: &Path,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let addr = ([127, 0, 0, 1], port).into();
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                let stderr = self
                    .stderr
                    .as_ref()
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_default();
                let how = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => "is still running".to_string(),
                };
                return Err(format!(
                    "{what} did not come up on port {port}: it {how}\nstderr:\n{stderr}\nlog:\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal_group(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }

    /// Wait for the process itself to exit.
    pub(crate) fn wait_timeout(&mut self, d: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + d;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM the group, wait up to 3 s, then SIGKILL it.
    pub(crate) fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            self.signal_group("KILL");
            return;
        }
        self.signal_group("TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // Children of the master may linger a moment: make sure.
                self.signal_group("KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.signal_group("KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Dovecot + Postfix on loopback, in a temp dir.
pub(crate) struct MailStack {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) imap_port: u16,
    pub(crate) imaps_port: u16,
    pub(crate) lmtp_port: u16,
    pub(crate) smtp_port: u16,
    /// The servers' self-signed certificate: use it as the only CA.
    pub(crate) cert_path: PathBuf,
    pub(crate) users: Vec<String>,
    dovecot: Option<Group>,
    postfix: Option<Group>,
    storage: servers::Storage,
    /// Lines appended to dovecot.conf (an OAuth2 passdb, ...).
    dovecot_extra: String,
}

impl MailStack {
    /// Dovecot + Postfix with the [`USERS`].
    pub(crate) fn start() -> MailStack {
        Self::start_with_users(USERS)
    }

    /// Dovecot + Postfix; `users` are local parts in example.test.
    pub(crate) fn start_with_users(users: &[&str]) -> MailStack {
        Self::start_with(users, servers::Storage::Maildir)
    }

    /// Dovecot (storing mail as `storage`) + Postfix.
    pub(crate) fn start_with(users: &[&str], storage: servers::Storage) -> MailStack {
        assert!(
            servers::is_root(),
            "the mail stack needs root (Postfix refuses to run otherwise)"
        );
        let dir = tempfile::Builder::new()
            .prefix("helpgate-mail-")
            .tempdir()
            .expect("temp dir");
        let users: Vec<String> = users.iter().map(|u| format!("{u}@example.test")).collect();
        servers::make_cert(&dir.path().join("dovecot/tls"));
        let mut stack = MailStack {
            cert_path: dir.path().join("dovecot/tls/cert.pem"),
            imap_port: free_port(),
            imaps_port: free_port(),
            lmtp_port: free_port(),
            smtp_port: free_port(),
            users,
            dir,
            dovecot: None,
            postfix: None,
            storage,
            dovecot_extra: String::new(),
        };
        std::fs::set_permissions(
            stack.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o711),
        )
        .expect("chmod temp dir");
        // A Dovecot that does not come up at first start is reported and
        // started again on fresh ports (once in a CI run one did not, with an
        // empty log); a restart later keeps its ports and must succeed.
        let mut attempt = 1;
        while let Err(e) = stack.try_start_dovecot() {
            assert!(attempt < 3, "{e}");
            eprintln!("harness: {e}\nharness: starting Dovecot again on fresh ports");
            attempt += 1;
            (stack.imap_port, stack.imaps_port, stack.lmtp_port) =
                (free_port(), free_port(), free_port());
        }
        servers::write_postfix(
            &stack.dir.path().join("postfix"),
            stack.smtp_port,
            stack.lmtp_port,
        );
        stack.start_postfix();
        stack
    }

    /// Dovecot that also takes XOAUTH2/OAUTHBEARER logins, checking each
    /// token with GET `introspection_url` (`Authorization: Bearer TOKEN`);
    /// the JSON answer's `email` must be the user logging in.
    pub(crate) fn start_with_oauth2(introspection_url: &str) -> MailStack {
        let mut stack = Self::start();
        let conf = stack.dovecot_dir().join("oauth2.conf.ext");
        std::fs::write(
            &conf,
            format!(
                "introspection_mode = auth\nintrospection_url = {introspection_url}\n\
                 username_attribute = email\n"
            ),
        )
        .expect("write oauth2.conf.ext");
        stack.dovecot_extra += &format!(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
            conf.display()
        );
        stack.restart_dovecot();
        stack
    }

    /// Let Dovecot authenticate SMTP clients for Postfix (`smtpd_sasl_type
    /// = dovecot`) on a loopback port, which is returned.
    pub(crate) fn enable_sasl(&mut self) -> u16 {
        let port = free_port();
        self.dovecot_extra += &format!(
            "service auth {{\n  inet_listener sasl {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n"
        );
        self.restart_dovecot();
        port
    }

    fn dovecot_dir(&self) -> PathBuf {
        self.dir.path().join("dovecot")
    }

    /// Start Dovecot on the stack's ports (panics if it does not come up).
    pub(crate) fn start_dovecot(&mut self) {
        if let Err(e) = self.try_start_dovecot() {
            panic!("{e}");
        }
    }

    /// Write Dovecot's config for the stack's ports and start it.
    fn try_start_dovecot(&mut self) -> Result<(), String> {
        let d = self.dovecot_dir();
        servers::write_dovecot(
            &d,
            &servers::DovecotPorts {
                imap: self.imap_port,
                imaps: self.imaps_port,
                lmtp: self.lmtp_port,
            },
            &self.users,
            PASSWORD,
            self.storage,
        );
        if !self.dovecot_extra.is_empty() {
            let conf = d.join("dovecot.conf");
            let mut text = std::fs::read_to_string(&conf).expect("read dovecot.conf");
            text.push_str(&self.dovecot_extra);
            std::fs::write(&conf, text).expect("write dovecot.conf");
        }
        let mut g = Group::spawn_server(
            Command::new("dovecot")
                .arg("-F")
                .arg("-c")
                .arg(d.join("dovecot.conf")),
            &d.join("dovecot.stderr"),
        );
        let log = d.join("dovecot.log");
        g.try_wait_port(self.imap_port, "dovecot imap", &log)?;
        g.try_wait_port(self.imaps_port, "dovecot imaps", &log)?;
        g.try_wait_port(self.lmtp_port, "dovecot lmtp", &log)?;
        self.dovecot = Some(g);
        Ok(())
    }

    pub(crate) fn stop_dovecot(&mut self) {
        if let Some(mut g) = self.dovecot.take() {
            g.stop();
        }
        // Its listeners are gone once nothing accepts any more.
        wait_for("dovecot to stop", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", self.imap_port)).is_err()
        });
    }

    /// Stop and start Dovecot on the same ports (mail is kept).
    pub(crate) fn restart_dovecot(&mut self) {
        self.stop_dovecot();
        self.start_dovecot();
    }

    fn start_postfix(&mut self) {
        let etc = self.dir.path().join("postfix/etc");
        let mut g = Group::spawn_server(
            Command::new("/usr/lib/postfix/sbin/master")
                .arg("-c")
                .arg(&etc)
                .arg("-d"),
            &self.dir.path().join("postfix/master.stderr"),
        );
        g.wait_port(
            self.smtp_port,
            "postfix smtpd",
            &self.dir.path().join("postfix/postfix.log"),
        );
        self.postfix = Some(g);
    }

    /// `user` -> `user@example.test` unless it already has a domain.
    pub(crate) fn address(user: &str) -> String {
        if user.contains('@') {
            user.to_string()
        } else {
            format!("{user}@example.test")
        }
    }

    /// A logged-in IMAP session (plain, loopback).
    pub(crate) fn imap(&self, user: &str) -> ImapClient {
        ImapClient::connect(self.imap_port, &Self::address(user), PASSWORD).expect("imap login")
    }

    /// Submit one mail through Postfix (delivered via LMTP into Dovecot).
    pub(crate) fn send(&self, from: &str, to: &str, bytes: &[u8]) {
        let mut s = SmtpSession::connect(self.smtp_port).expect("smtp connect");
        s.send(&Self::address(from), &[&Self::address(to)], bytes)
            .expect("smtp send");
        s.quit();
    }

    /// An SMTP session for sending many mails.
    pub(crate) fn smtp(&self) -> SmtpSession {
        SmtpSession::connect(self.smtp_port).expect("smtp connect")
    }

    /// APPEND one message straight into a folder (no Postfix).
    pub(crate) fn append(&self, user: &str, folder: &str, bytes: &[u8]) {
        let mut c = self.imap(user);
        c.append(folder, bytes);
        c.logout();
    }

    /// MULTIAPPEND many messages in chunks of 1,000 (one command each).
    pub(crate) fn multiappend(&self, user: &str, folder: &str, messages: &[Vec<u8>]) {
        let mut c = self.imap(user);
        for chunk in messages.chunks(1000) {
            c.multiappend(folder, chunk);
        }
        c.logout();
    }

    /// Messages in a user's folder, with flags and bytes.
    pub(crate) fn fetch_all(&self, user: &str, folder: &str) -> Vec<Fetched> {
        let mut c = self.imap(user);
        let all = c.fetch_all(folder);
        c.logout();
        all
    }

    /// Number of messages in a user's folder.
    pub(crate) fn count(&self, user: &str, folder: &str) -> usize {
        let mut c = self.imap(user);
        let n = c.count(folder);
        c.logout();
        n
    }

    /// Wait until a user's folder holds at least `n` messages.
    pub(crate) fn wait_count(&self, user: &str, folder: &str, n: usize, timeout: Duration) {
        let mut c = self.imap(user);
        wait_for(&format!("{n} messages in {user}/{folder}"), timeout, || {
            c.count(folder) >= n
        });
        c.logout();
    }

    /// Create a folder (ignores "already exists").
    pub(crate) fn create_folder(&self, user: &str, folder: &str) {
        let mut c = self.imap(user);
        let _ = c.command(&format!("CREATE \"{folder}\""));
        c.logout();
    }

    /// Delete and create a (non-INBOX) folder: empty, new UIDVALIDITY.
    pub(crate) fn recreate_folder(&self, user: &str, folder: &str) {
        let mut c = self.imap(user);
        let _ = c.command(&format!("DELETE \"{folder}\""));
        c.ok(&format!("CREATE \"{folder}\""));
        c.logout();
    }

    /// Keep a folder's messages but make Dovecot forget its UIDs (as after a
    /// server migration): Dovecot is stopped, the folder's uid list and
    /// indexes removed, Dovecot started; the folder then has a new
    /// UIDVALIDITY and renumbered UIDs.
    pub(crate) fn reset_uidvalidity(&mut self, user: &str, folder: &str) {
        assert_eq!(
            self.storage,
            servers::Storage::Maildir,
            "edits Maildir files"
        );
        self.stop_dovecot();
        let addr = Self::address(user);
        let (local, domain) = addr.split_once('@').expect("address");
        let mut maildir = self
            .dovecot_dir()
            .join("mail")
            .join(domain)
            .join(local)
            .join("Maildir");
        if folder != "INBOX" {
            maildir = maildir.join(format!(".{folder}"));
        }
        for entry in std::fs::read_dir(&maildir).expect("maildir exists") {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("dovecot-uidlist") || name.starts_with("dovecot.index") {
                std::fs::remove_file(entry.path()).expect("remove index file");
            }
        }
        // The uid list records UIDVALIDITY as the current time in seconds:
        // make sure the new one differs.
        std::thread::sleep(Duration::from_millis(1100));
        self.start_dovecot();
    }

    pub(crate) fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.dovecot_dir().join("dovecot.log")).unwrap_or_default()
    }

    pub(crate) fn postfix_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix/postfix.log")).unwrap_or_default()
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        if let Some(mut g) = self.postfix.take() {
            g.stop();
        }
        if let Some(mut g) = self.dovecot.take() {
            g.stop();
        }
    }
}
