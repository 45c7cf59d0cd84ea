//! The bytes mail-parser reads, fixed where real mail breaks its
//! assumptions. The stored raw message is never changed: these are copies,
//! and the content hash and size are taken from the original.
//!
//! - A UTF-8 byte-order mark before the first header (Windows editors save
//!   .eml files so) hides the first header and, with it, the header block.
//! - Classic Mac mail ends its lines with a bare CR; mail-parser knows only
//!   LF and CRLF and read such mail as one header line and no body.
//! - RFC 2046 §5.1.1: a boundary delimiter starts a line. mail-parser takes
//!   `--boundary` anywhere, so a text that quotes its own boundary in the
//!   middle of a line (or after a blank) was cut there. Such occurrences
//!   are masked in a same-length copy that only mail-parser reads; our own
//!   decoders read the unmasked text at the same offsets.

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// More distinct boundaries than this are not masked (a message with
/// hundreds of nested multiparts is not one a person wrote).
const MAX_BOUNDARIES: usize = 64;

static DASHES: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(["--"]).expect("a valid pattern"));
static BOUNDARY_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))"#)
        .expect("valid regex")
});

/// The message as mail-parser should see it: without a leading BOM and
/// with CRLF line ends where the mail used bare CRs. Borrowed when nothing
/// needed fixing (nearly always).
pub(super) fn normalize(raw: &[u8]) -> Cow<'_, [u8]> {
    let raw = raw.strip_prefix(BOM).unwrap_or(raw);
    if !bare_cr_lines(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut rest = raw;
    while let Some(i) = rest.iter().position(|&b| b == b'\r') {
        out.extend_from_slice(&rest[..=i]);
        if rest.get(i + 1) != Some(&b'\n') {
            out.push(b'\n');
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// The first line end of the message is a CR not followed by LF.
fn bare_cr_lines(raw: &[u8]) -> bool {
    match raw.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) => raw[i] == b'\r' && raw.get(i + 1) != Some(&b'\n'),
        None => false,
    }
}

/// A same-length copy of `text` in which every `--boundary` that does not
/// start a line is masked, or `None` when there is none (nearly always).
pub(super) fn mask_inline_boundaries(text: &[u8]) -> Option<Vec<u8>> {
    let mut boundaries: Vec<Vec<u8>> = Vec::new();
    // Where the parameters stand: a boundary value may itself contain
    // another one ("--x" beside "x").
    let mut params = Vec::new();
    for c in BOUNDARY_PARAM.captures_iter(text) {
        params.push(c.get(0).map_or(0..0, |m| m.range()));
        let b = c.get(1).or(c.get(2)).map_or(&b""[..], |m| m.as_bytes());
        let b = b.trim_ascii();
        if !b.is_empty()
            && boundaries.len() < MAX_BOUNDARIES
            && !boundaries.iter().any(|x| x[2..] == *b)
        {
            let mut d = b"--".to_vec();
            d.extend_from_slice(b);
            boundaries.push(d);
        }
    }
    if boundaries.is_empty() {
        return None;
    }
    let starts_line = |at: usize| at == 0 || text[at - 1] == b'\n';
    let line_start = |at: usize| {
        text[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
    };
    let mut masked: Option<Vec<u8>> = None;
    // Every "--" that begins a boundary string: one searcher built once
    // (a searcher for each mail's boundaries cost more to build than to
    // run), vectorised, so a 50 MB attachment is skimmed, not stepped.
    let hits = DASHES
        .find_overlapping_iter(text)
        .map(|m| m.start())
        .filter(|&at| boundaries.iter().any(|d| text[at..].starts_with(d)));
    for at in hits {
        if starts_line(at) || params.iter().any(|r| r.contains(&at)) {
            continue;
        }
        // Part of a real delimiter line ("----x" is "--" + "--x").
        let ls = line_start(at);
        if boundaries.iter().any(|d| text[ls..].starts_with(d)) {
            continue;
        }
        let copy = masked.get_or_insert_with(|| text.to_vec());
        // Any two bytes that are not "--" end the match for mail-parser.
        copy[at] = b'_';
        copy[at + 1] = b'_';
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_bare_cr_are_fixed_and_others_borrowed() {
        let crlf = b"From: a@b\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(matches!(normalize(crlf), Cow::Borrowed(_)));
        assert!(matches!(normalize(b"From: a@b\n\nx"), Cow::Borrowed(_)));
        let mut bom = BOM.to_vec();
        bom.extend_from_slice(crlf);
        assert_eq!(&*normalize(&bom), crlf);
        assert_eq!(
            &*normalize(b"From: a@b\rSubject: x\r\rbody\r"),
            b"From: a@b\r\nSubject: x\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn only_delimiters_at_line_start_stay() {
        let text = b"Content-Type: multipart/mixed; boundary=\"b 1\"\r\n\r\n--b 1\r\n\r\n\
                     text with --b 1 inside\r\n  --b 1 indented\r\n--b 1--\r\n";
        let m = mask_inline_boundaries(text).expect("masked");
        assert_eq!(m.len(), text.len());
        let s = String::from_utf8(m).unwrap();
        assert_eq!(s.matches("--b 1").count(), 2, "{s}");
        assert!(s.contains("text with __b 1 inside"));
        assert!(mask_inline_boundaries(
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nok\r\n--x--"
        )
        .is_none());
        // "--" + "--x" is a delimiter of boundary "--x", not a masked "--x".
        let nested = b"boundary=\"--x\"; boundary=x\r\n\r\n----x\r\nhi\r\n----x--\r\n";
        assert!(mask_inline_boundaries(nested).is_none());
    }
}
