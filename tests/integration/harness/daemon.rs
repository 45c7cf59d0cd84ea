//! The real `helpgate run` binary against a [`MailStack`]: a temp state dir
//! and config, the process in its own group (killed on drop), its log in a
//! file, and read-only looks into its database.

use super::{wait_for, Group, MailStack, PASSWORD};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Environment variable the configs' `password = "env:..."` points at.
pub(crate) const PW_ENV: &str = "HG_TEST_IMAP_PW";

/// One `[[mailboxes]]` block for user@example.test on the stack.
pub(crate) struct Mailbox<'a> {
    pub(crate) name: &'a str,
    pub(crate) project: &'a str,
    pub(crate) user: &'a str,
    /// `none`, `implicit` or `starttls`.
    pub(crate) tls: &'a str,
    /// Extra lines inside the block (`idle = false`, ...).
    pub(crate) extra: &'a str,
}

impl Mailbox<'_> {
    pub(crate) fn toml(&self, stack: &MailStack) -> String {
        let port = if self.tls == "implicit" {
            stack.imaps_port
        } else {
            stack.imap_port
        };
        format!(
            "[[mailboxes]]\nname = \"{}\"\nproject = \"{}\"\n{}\n\
             [mailboxes.imap]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{}\"\nca_file = \"{}\"\ntimeout = \"10s\"\n\
             [mailboxes.auth]\nuser = \"{}@example.test\"\npassword = \"env:{PW_ENV}\"\n",
            self.name,
            self.project,
            self.extra,
            self.tls,
            stack.cert_path.display(),
            self.user
        )
    }
}

/// The binary `Daemon::start` runs: this build's, unless
/// HELPGATE_DAEMON_BIN names another (benches compare two builds with it).
fn daemon_bin() -> String {
    std::env::var("HELPGATE_DAEMON_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_helpgate").into())
}

pub(crate) struct Daemon {
    pub(crate) dir: tempfile::TempDir,
    group: Option<Group>,
    runs: usize,
    /// "helpgate running" lines in the log before the current run.
    running_before: usize,
}

impl Daemon {
    /// Write `config` (state_dir is added) into a fresh temp dir.
    pub(crate) fn new(config: &str) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("helpgate-daemon-")
            .tempdir()
            .expect("temp dir");
        let mut text = format!("state_dir = \"state\"\n{config}");
        if !config.contains("[trust]") {
            // The test Postfix runs no SPF/DKIM/DMARC milter, so its mail
            // carries no Authentication-Results: this site says so.
            text.push_str("\n[trust]\nunauthenticated = \"answer\"\n");
        }
        std::fs::write(dir.path().join("helpgate.toml"), text).expect("write config");
        Daemon {
            dir,
            group: None,
            runs: 0,
            running_before: 0,
        }
    }

    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.path().join("helpgate.toml")
    }

    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.path().join("state/helpgate.db")
    }

    pub(crate) fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Start `helpgate run` (appending to the log).
    pub(crate) fn start(&mut self) {
        self.start_with_env(&[]);
    }

    /// As [`Daemon::start`], with extra environment variables.
    pub(crate) fn start_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(self.group.is_none(), "already running");
        self.runs += 1;
        self.running_before = self.log().matches("helpgate running").count();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open log");
        self.group = Some(Group::spawn(
            Command::new(daemon_bin())
                .arg("--config")
                .arg(self.config_path())
                .arg("run")
                .env(PW_ENV, PASSWORD)
                .env("HELPGATE_LOG", "helpgate=info")
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(log),
        ));
    }

    pub(crate) fn pid(&self) -> u32 {
        self.group.as_ref().expect("running").pid()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    pub(crate) fn sighup(&self) {
        self.signal("HUP");
    }

    /// SIGTERM and wait for the exit status (up to 30 s).
    pub(crate) fn sigterm(&mut self) -> std::process::ExitStatus {
        // Before its handlers are installed a SIGTERM just kills it: wait
        // until this run says it is running.
        wait_for("the daemon to be running", Duration::from_secs(20), || {
            self.log().matches("helpgate running").count() > self.running_before
        });
        self.signal("TERM");
        let mut g = self.group.take().expect("running");
        g.wait_timeout(Duration::from_secs(30))
            .expect("daemon exits after SIGTERM")
    }

    /// Wait for the daemon to exit by itself (up to `timeout`).
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let mut g = self.group.take().expect("running");
        g.wait_timeout(timeout).expect("daemon exits by itself")
    }

    /// SIGKILL: a crash.
    pub(crate) fn kill9(&mut self) {
        self.signal("KILL");
        let mut g = self.group.take().expect("running");
        let _ = g.wait_timeout(Duration::from_secs(10));
    }

    /// A read-only connection to the daemon's database.
    pub(crate) fn db(&self) -> rusqlite::Connection {
        open_db(&self.db_path())
    }

    /// Number of stored messages (0 before the database exists).
    pub(crate) fn messages(&self) -> i64 {
        if !self.db_path().exists() {
            return 0;
        }
        self.db()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap_or(0)
    }

    pub(crate) fn wait_messages(&self, n: i64, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while self.messages() < n {
            if std::time::Instant::now() >= deadline {
                // Where the rest went: quarantined, or a stuck mailbox.
                panic!(
                    "timed out waiting for {n} stored messages: {} stored; status {}\nlog tail:\n{}",
                    self.messages(),
                    self.status(),
                    self.log().lines().rev().take(20).collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `helpgate status --json` parsed.
    pub(crate) fn status(&self) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_helpgate"))
            .arg("--config")
            .arg(self.config_path())
            .args(["status", "--json"])
            .env(PW_ENV, PASSWORD)
            .output()
            .expect("run status");
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status is JSON")
    }

    /// The status entry of one mailbox.
    pub(crate) fn mailbox_status(&self, name: &str) -> serde_json::Value {
        self.status()["mailboxes"]
            .as_array()
            .expect("mailboxes array")
            .iter()
            .find(|m| m["mailbox"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no status for {name}"))
    }
}

pub(crate) fn open_db(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}
