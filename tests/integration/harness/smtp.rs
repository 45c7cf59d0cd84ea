//! A blocking SMTP submitter for tests (raw socket, TCP_NODELAY: lettre
//! 0.11.23 stalls ~44 ms per message on Nagle). One session can send many
//! messages.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub(crate) struct SmtpSession {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SmtpSession {
    /// Connect and greet. A greeting that does not come within 10 s (one CI
    /// run waited 30 s for Postfix's banner, cause unknown) is retried on a
    /// fresh connection.
    pub(crate) fn connect(port: u16) -> std::io::Result<SmtpSession> {
        let mut last = None;
        for _ in 0..3 {
            match Self::connect_once(port, Duration::from_secs(10)) {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("three tries"))
    }

    fn connect_once(port: u16, greeting: Duration) -> std::io::Result<SmtpSession> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(greeting))?;
        let mut c = SmtpSession {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        };
        c.expect(220)?;
        c.cmd("EHLO client.example.test", 250)?;
        c.writer.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(c)
    }

    fn expect(&mut self, code: u16) -> std::io::Result<String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("smtp connection closed"));
            }
            all.push_str(&line);
            // "250-..." continues, "250 ..." ends.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        if !all.starts_with(&code.to_string()) {
            return Err(std::io::Error::other(format!(
                "smtp: expected {code}, got {all}"
            )));
        }
        Ok(all)
    }

    fn cmd(&mut self, line: &str, code: u16) -> std::io::Result<String> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.expect(code)
    }

    /// Send one message; the envelope is `from` -> `to`.
    pub(crate) fn send(&mut self, from: &str, to: &[&str], bytes: &[u8]) -> std::io::Result<()> {
        self.cmd(&format!("MAIL FROM:<{from}>"), 250)?;
        for r in to {
            self.cmd(&format!("RCPT TO:<{r}>"), 250)?;
        }
        self.cmd("DATA", 354)?;
        let mut data = Vec::with_capacity(bytes.len() + 16);
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            if line.first() == Some(&b'.') {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data)?;
        self.expect(250)?;
        Ok(())
    }

    pub(crate) fn quit(mut self) {
        let _ = self.cmd("QUIT", 221);
    }
}

/// A plain text mail with the given headers, CRLF line ends.
pub(crate) fn text_mail(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
