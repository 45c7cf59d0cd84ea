//! A small blocking IMAP client for tests: enough to seed mailboxes (APPEND,
//! MULTIAPPEND), read them back and recreate folders. Independent of the
//! code under test on purpose (it must not share its bugs). Plain text on
//! loopback only; every read has a timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One message read back: its UID, flags and bytes.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) uid: u32,
    pub(crate) flags: String,
    pub(crate) bytes: Vec<u8>,
}

pub(crate) struct ImapClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

/// Untagged lines of a response; literals are inlined into `literals`.
#[derive(Debug, Default)]
pub(crate) struct Response {
    pub(crate) lines: Vec<String>,
    /// (index of the line the literal belongs to, bytes)
    pub(crate) literals: Vec<(usize, Vec<u8>)>,
    pub(crate) status: String,
}

impl ImapClient {
    pub(crate) fn connect(port: u16, user: &str, password: &str) -> std::io::Result<ImapClient> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = ImapClient {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
            tag: 0,
        };
        let mut greeting = String::new();
        c.reader.read_line(&mut greeting)?;
        let r = c.command(&format!("LOGIN {} {}", quote(user), quote(password)))?;
        if !r.status.starts_with("OK") {
            return Err(std::io::Error::other(format!("login failed: {}", r.status)));
        }
        Ok(c)
    }

    /// Send a command and read until its tagged answer.
    pub(crate) fn command(&mut self, cmd: &str) -> std::io::Result<Response> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.writer
            .write_all(format!("{tag} {cmd}\r\n").as_bytes())?;
        self.read_until(&tag)
    }

    fn read_until(&mut self, tag: &str) -> std::io::Result<Response> {
        let mut r = Response::default();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            // A line ending in {n} announces a literal of n bytes.
            while let Some(n) = literal_len(&line) {
                let mut buf = vec![0u8; n];
                self.reader.read_exact(&mut buf)?;
                r.literals.push((r.lines.len(), buf));
                let mut rest = String::new();
                self.reader.read_line(&mut rest)?;
                line.push_str("<lit>");
                line.push_str(&rest);
            }
            let line = line.trim_end().to_string();
            if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                r.status = status.to_string();
                return Ok(r);
            }
            r.lines.push(line);
        }
    }

    pub(crate) fn ok(&mut self, cmd: &str) -> Response {
        let r = self.command(cmd).expect("imap command");
        assert!(r.status.starts_with("OK"), "{cmd}: {}", r.status);
        r
    }

    /// APPEND one message (LITERAL+: no round trip for the literal).
    pub(crate) fn append(&mut self, folder: &str, bytes: &[u8]) {
        self.multiappend(folder, &[bytes.to_vec()]);
    }

    /// MULTIAPPEND: all messages in one APPEND command, one transaction.
    pub(crate) fn multiappend(&mut self, folder: &str, messages: &[Vec<u8>]) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut out = format!("{tag} APPEND {}", quote(folder)).into_bytes();
        for m in messages {
            out.extend_from_slice(format!(" {{{}+}}\r\n", m.len()).as_bytes());
            out.extend_from_slice(m);
        }
        out.extend_from_slice(b"\r\n");
        self.writer.write_all(&out).expect("write APPEND");
        let r = self.read_until(&tag).expect("APPEND answer");
        assert!(r.status.starts_with("OK"), "APPEND: {}", r.status);
    }

    /// SELECT (read-write) and return UIDVALIDITY.
    pub(crate) fn select(&mut self, folder: &str) -> u32 {
        let r = self.ok(&format!("SELECT {}", quote(folder)));
        r.lines
            .iter()
            .find_map(|l| {
                l.split("[UIDVALIDITY ")
                    .nth(1)
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|n| n.parse().ok())
            })
            .expect("UIDVALIDITY in SELECT answer")
    }

    /// Number of messages in a folder (STATUS, no SELECT needed).
    pub(crate) fn count(&mut self, folder: &str) -> usize {
        let r = self.ok(&format!("STATUS {} (MESSAGES)", quote(folder)));
        r.lines
            .iter()
            .find_map(|l| {
                l.split("MESSAGES ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches(')').split(')').next())
                    .and_then(|n| n.trim().parse().ok())
            })
            .expect("MESSAGES in STATUS answer")
    }

    /// Every message of a folder with flags and bytes, by UID order.
    pub(crate) fn fetch_all(&mut self, folder: &str) -> Vec<Fetched> {
        self.select(folder);
        let r = self.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])");
        let mut out = Vec::new();
        for (i, line) in r.lines.iter().enumerate() {
            if !line.contains(" FETCH ") {
                continue;
            }
            // A FETCH without UID is Dovecot telling this session that
            // another one (the daemon) changed flags: not an answer.
            let Some(uid) = line
                .split("UID ")
                .nth(1)
                .and_then(|s| s.split([' ', ')']).next())
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let flags = line
                .split("FLAGS (")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .unwrap_or("")
                .to_string();
            let bytes = r
                .literals
                .iter()
                .find(|(l, _)| *l == i)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            out.push(Fetched { uid, flags, bytes });
        }
        out.sort_by_key(|f| f.uid);
        out
    }

    pub(crate) fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

fn literal_len(line: &str) -> Option<usize> {
    let t = line.trim_end();
    let inner = t.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..].trim_end_matches('+').parse().ok()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
