//! Every top-level header, in order, name lower-cased, value unfolded and
//! decoded. Values are decoded from the raw bytes (not from mail-parser's
//! typed values) so that every header reads the same way, split encoded
//! words join up, and raw 8-bit legacy-charset values are decoded with one
//! guess per message instead of being mangled.

use super::{charset, encoded_word, ParseNote};
use encoding_rs::Encoding;
use mail_parser::Header;
use std::borrow::Cow;

/// Decodes raw header values of one message; remembers the legacy charset
/// guess and what had to be noted.
pub(super) struct HeaderDecoder<'a> {
    /// The raw header block, for guessing an 8-bit charset.
    block: &'a [u8],
    /// The declared charset of the body, the best hint for raw 8-bit headers.
    hint: Option<&'static Encoding>,
    legacy: Option<&'static Encoding>,
    pub(super) notes: Vec<ParseNote>,
}

impl<'a> HeaderDecoder<'a> {
    pub(super) fn new(block: &'a [u8], body_charset: Option<&str>) -> Self {
        HeaderDecoder {
            block,
            hint: body_charset
                .and_then(charset::resolve)
                .filter(|e| *e != encoding_rs::UTF_8),
            legacy: None,
            notes: Vec::new(),
        }
    }

    /// Decode one raw value (unfold, 8-bit charset, RFC 2047, NFC).
    pub(super) fn decode(&mut self, name: &str, raw: &[u8]) -> String {
        // Borrow where possible: this runs for every header of every mail.
        let unfolded: Cow<'_, [u8]> = if raw.contains(&b'\n') {
            Cow::Owned(unfold(raw))
        } else {
            Cow::Borrowed(raw)
        };
        let text: Cow<'_, str> = match std::str::from_utf8(&unfolded) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                let enc = self.legacy_encoding();
                let (s, _) = enc.decode_without_bom_handling(&unfolded);
                self.note_once(
                    "raw_8bit_header",
                    format!("{name}: 8-bit bytes decoded as {}", enc.name()),
                );
                Cow::Owned(s.into_owned())
            }
        };
        if !text.contains("=?") {
            return charset::nfc(text.trim().to_string());
        }
        let (decoded, fallback) = encoded_word::decode(&text);
        if let Some(why) = fallback {
            self.note_once("charset_fallback", format!("{name}: {why}"));
        }
        charset::nfc(decoded.trim().to_string())
    }

    fn legacy_encoding(&mut self) -> &'static Encoding {
        if let Some(e) = self.legacy.or(self.hint) {
            return e;
        }
        let eight_bit: Vec<u8> = self
            .block
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_ascii() && std::str::from_utf8(l).is_err())
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect();
        let e = charset::guess(&eight_bit);
        self.legacy = Some(e);
        e
    }

    fn note_once(&mut self, kind: &str, detail: String) {
        if !self.notes.iter().any(|n| n.kind == kind) {
            self.notes.push(ParseNote::with(kind, detail));
        }
    }
}

/// Lines of the header block that are neither `Name: value` nor a folded
/// continuation (an mbox `From ` line first is fine). mail-parser skips
/// them silently; we say so.
pub(super) fn count_unparsable(block: &[u8]) -> usize {
    block
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() || matches!(line[0], b' ' | b'\t') {
                return false;
            }
            if *i == 0 && line.starts_with(b"From ") {
                return false;
            }
            let name_end = line.iter().position(|&b| b == b':');
            !name_end.is_some_and(|e| {
                e > 0
                    && line[..e]
                        .trim_ascii_end()
                        .iter()
                        .all(|&b| (33..=126).contains(&b))
            })
        })
        .count()
}

/// Drop the CR/LF of folded lines (the following whitespace stays).
fn unfold(raw: &[u8]) -> Vec<u8> {
    // Copy whole runs between line breaks: byte-by-byte filtering was a
    // visible share of parsing (Received headers fold on every mail).
    let mut out = Vec::with_capacity(raw.len());
    for run in raw.split(|&b| b == b'\n') {
        out.extend_from_slice(run.strip_suffix(b"\r").unwrap_or(run));
    }
    if out.contains(&b'\r') {
        out.retain(|&b| b != b'\r');
    }
    out
}

/// All headers of a part as (lower-case name, decoded value).
pub(super) fn collect(
    headers: &[Header<'_>],
    raw: &[u8],
    dec: &mut HeaderDecoder<'_>,
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            let name = h.name.as_str().to_ascii_lowercase();
            let start = (h.offset_start as usize).min(raw.len());
            let end = (h.offset_end as usize).clamp(start, raw.len());
            let value = dec.decode(&name, &raw[start..end]);
            (name, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(raw: &[u8]) -> (Vec<(String, String)>, Vec<ParseNote>) {
        let msg = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("test mail parses");
        let mut dec = HeaderDecoder::new(raw, None);
        let h = collect(&msg.parts[0].headers, raw, &mut dec);
        (h, dec.notes)
    }

    #[test]
    fn all_headers_in_order_decoded() {
        let raw = b"Return-Path: <a@b.c>\r\nFrom: =?utf-8?q?Jos=C3=A9?= <j@x.es>\r\nSubject: =?UTF-8?B?6rI=?=\r\n =?UTF-8?B?sOygnA==?= \xeb\xac\xb8\xec\x9d\x98\r\nAuto-Submitted: auto-replied\r\nX-Spam-Score: 5.1\r\nX-Custom: folded\r\n\tvalue\r\n\r\nbody";
        let (h, notes) = headers_of(raw);
        let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "return-path",
                "from",
                "subject",
                "auto-submitted",
                "x-spam-score",
                "x-custom"
            ]
        );
        assert_eq!(h[1].1, "José <j@x.es>");
        assert_eq!(h[2].1, "결제 문의");
        assert_eq!(h[3].1, "auto-replied");
        assert_eq!(h[5].1, "folded\tvalue");
        assert!(notes.is_empty());
    }

    #[test]
    fn unparsable_header_lines_are_counted() {
        assert_eq!(
            count_unparsable(b"From a@b Mon Jan 1\nSubject: x\n folded\n"),
            0
        );
        assert_eq!(
            count_unparsable(b"Subject: x\nthis is not a header\nTo : y\n"),
            1
        );
        assert_eq!(count_unparsable(b"Bad Name: x\n: empty\n"), 2);
    }

    #[test]
    fn raw_8bit_legacy_header_is_guessed_and_noted() {
        let (subj, _, _) = encoding_rs::GBK.encode("关于我的付款问题，请尽快回复");
        let mut raw = b"From: a@b.cn\r\nSubject: ".to_vec();
        raw.extend_from_slice(&subj);
        raw.extend_from_slice(b"\r\n\r\nhi");
        let (h, notes) = headers_of(&raw);
        assert_eq!(h[1].1, "关于我的付款问题，请尽快回复");
        assert_eq!(notes[0].kind, "raw_8bit_header");
    }
}
