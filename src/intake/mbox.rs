//! mbox archives (an old desk's export): one file, many messages, each
//! introduced by a `From sender date` line.
//!
//! Both common flavours are read the same way: a message starts at a
//! `From ` line that opens the file or follows an empty line, and is
//! followed by a header line; `>From ` (mboxrd: `>>From ` ...) loses one `>`.
//! Content-Length headers (mboxcl) are never trusted: a wrong one would
//! swallow or cut the messages after it, while a body line that happens to
//! start with an unescaped `From ` after a blank line and before a header is
//! rare enough to accept.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

/// Longest line looked at when scanning for separators; longer lines are
/// skipped over in pieces (a base64 body without line breaks).
const MAX_LINE: usize = 64 * 1024;

/// Whether the file starts like an mbox (a `From ` postmark line, not a
/// `From:` header). Unreadable files are not; their error comes later.
pub fn looks_like_mbox(path: &Path) -> bool {
    let mut head = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"From ")
}

/// The byte ranges of the messages in an mbox file, separator lines
/// excluded, in file order.
pub fn split(path: &Path) -> std::io::Result<Vec<Range<u64>>> {
    let mut reader = BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let mut ranges = Vec::new();
    let mut line = Vec::with_capacity(256);
    let mut offset = 0u64;
    let mut previous_blank = true;
    // A `From ` line seen, waiting to know whether a header follows.
    let mut pending: Option<(u64, u64)> = None;
    let mut current: Option<u64> = None;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let start = offset;
        offset += n as u64;
        if let Some((sep_start, body_start)) = pending.take() {
            if is_header_line(&line) {
                if let Some(s) = current.replace(body_start) {
                    ranges.push(s..sep_start);
                }
            }
        }
        if previous_blank && line.starts_with(b"From ") {
            pending = Some((start, offset));
        }
        previous_blank = matches!(&line[..], b"\n" | b"\r\n");
    }
    if let Some(s) = current {
        ranges.push(s..offset);
    }
    Ok(ranges)
}

fn is_header_line(line: &[u8]) -> bool {
    match line.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => line[..colon].iter().all(|&b| (33..=126).contains(&b)),
        _ => false,
    }
}

/// Read one message of an mbox: the range, with one `>` taken from
/// `>From ` lines and the blank line the mbox put before the next
/// separator dropped.
pub fn read_message(file: &mut std::fs::File, range: &Range<u64>) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(range.start))?;
    let len = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(len.min(1 << 26));
    file.take(len as u64).read_to_end(&mut bytes)?;
    Ok(unescape(bytes))
}

fn unescape(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.ends_with(b"\r\n\r\n") {
        bytes.truncate(bytes.len() - 2);
    } else if bytes.ends_with(b"\n\n") {
        bytes.truncate(bytes.len() - 1);
    }
    if !bytes.windows(5).any(|w| w == b">From") {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && line[quotes..].starts_with(b"From ") {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("archive.mbox");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    fn messages(path: &Path) -> Vec<String> {
        let mut f = std::fs::File::open(path).unwrap();
        split(path)
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(read_message(&mut f, r).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn separators_escapes_and_lying_content_length() {
        let (_d, p) = archive(
            "From ana@example.com Mon Nov 23 09:12:00 2026\n\
             From: ana@example.com\nSubject: one\nContent-Length: 99999\n\n\
             first body\n>From the archive, escaped once\n>>From twice\n\n\
             From the desk of Ana, not a separator: no header follows\n\n\
             From bob@example.com Mon Nov 23 09:13:00 2026\n\
             From: bob@example.com\nSubject: two\n\nsecond body\n",
        );
        assert!(looks_like_mbox(&p));
        let m = messages(&p);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(
            m[0],
            "From: ana@example.com\nSubject: one\nContent-Length: 99999\n\n\
             first body\nFrom the archive, escaped once\n>From twice\n\n\
             From the desk of Ana, not a separator: no header follows\n"
        );
        assert_eq!(m[1], "From: bob@example.com\nSubject: two\n\nsecond body\n");
    }

    #[test]
    fn an_eml_is_not_an_mbox() {
        let (_d, p) = archive("From: ana@example.com\nSubject: x\n\nhi\n");
        assert!(!looks_like_mbox(&p));
    }
}
