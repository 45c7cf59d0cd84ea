use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the built `helpgate` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_helpgate")
}

/// The repository root (for examples/ and deploy/).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ../shared/corpus beside the checkout, when present.
pub fn corpus() -> Option<PathBuf> {
    let p = repo().join("../shared/corpus");
    p.is_dir().then_some(p)
}

/// A fresh state dir plus a way to run `helpgate --state-dir DIR ...`.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--state-dir").arg(self.state()).args(args);
        c.env_remove("HELPGATE_CONFIG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run helpgate")
    }

    /// Run with `stdin` piped in.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn helpgate");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Run and require exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "helpgate {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Write a mail file into the temp dir and return its path.
    pub fn mail(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text.replace('\n', "\r\n")).unwrap();
        p
    }

    /// `messages list --json` as parsed objects.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        json_lines(&self.ok(&["messages", "list", "--json"]))
    }

    /// `tickets list --json` as parsed objects.
    pub fn tickets(&self) -> Vec<serde_json::Value> {
        json_lines(&self.ok(&["tickets", "list", "--json"]))
    }
}

pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Hits and totals per group, for accuracy tables.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub hit: usize,
    pub n: usize,
}

impl Tally {
    pub fn add(&mut self, ok: bool) {
        self.n += 1;
        self.hit += usize::from(ok);
    }

    pub fn pct(&self) -> f64 {
        if self.n == 0 {
            100.0
        } else {
            100.0 * self.hit as f64 / self.n as f64
        }
    }

    /// "96.2 % (128/133)".
    pub fn show(&self) -> String {
        format!("{:5.1} % ({}/{})", self.pct(), self.hit, self.n)
    }
}

/// RFC 4180 fields of one line (quoted fields with doubled quotes).
pub fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}
