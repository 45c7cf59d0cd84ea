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

/// A free loopback port: bind :0, read it, close. Small race, never hit.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// Wait until something accepts on `port`.
pub(crate) fn wait_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
        .is_err()
    {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not come up on port {port}; log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(5));
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
}

impl Group {
    pub(crate) fn spawn(cmd: &mut Command) -> Group {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Group { child }
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
        };
        servers::write_dovecot(
            &stack.dovecot_dir(),
            &servers::DovecotPorts {
                imap: stack.imap_port,
                imaps: stack.imaps_port,
                lmtp: stack.lmtp_port,
            },
            &stack.users,
            PASSWORD,
            storage,
        );
        servers::write_postfix(
            &stack.dir.path().join("postfix"),
            stack.smtp_port,
            stack.lmtp_port,
        );
        std::fs::set_permissions(
            stack.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o711),
        )
        .expect("chmod temp dir");
        stack.start_dovecot();
        stack.start_postfix();
        stack
    }

    fn dovecot_dir(&self) -> PathBuf {
        self.dir.path().join("dovecot")
    }

    pub(crate) fn start_dovecot(&mut self) {
        let d = self.dovecot_dir();
        self.dovecot = Some(Group::spawn(
            Command::new("dovecot")
                .arg("-F")
                .arg("-c")
                .arg(d.join("dovecot.conf")),
        ));
        let log = d.join("dovecot.log");
        wait_port(self.imap_port, "dovecot imap", &log);
        wait_port(self.imaps_port, "dovecot imaps", &log);
        wait_port(self.lmtp_port, "dovecot lmtp", &log);
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
        self.postfix = Some(Group::spawn(
            Command::new("/usr/lib/postfix/sbin/master")
                .arg("-c")
                .arg(&etc)
                .arg("-d"),
        ));
        wait_port(
            self.smtp_port,
            "postfix smtpd",
            &self.dir.path().join("postfix/postfix.log"),
        );
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
