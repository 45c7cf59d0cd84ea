//! Every top-level header, in order, name lower-cased, value unfolded and
//! decoded. Values are decoded from the raw bytes (not from mail-parser's
//! typed values) so that every header reads the same way, split encoded
//! words join up, and raw 8-bit legacy-charset values are decoded with one
//! guess per message instead of being mangled.

use super::{charset, encoded_word, ParseNote};
use encoding_rs::Encoding;
use mail_parser::Header;

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
        let unfolded = unfold(raw);
        let text = if unfolded.is_ascii() {
            String::from_utf8_lossy(&unfolded).into_owned()
        } else {
            match String::from_utf8(unfolded) {
                Ok(s) => s,
                Err(e) => {
                    let bytes = e.into_bytes();
                    let enc = self.legacy_encoding();
                    let (s, _) = enc.decode_without_bom_handling(&bytes);
                    self.note_once(
                        "raw_8bit_header",
                        format!("{name}: 8-bit bytes decoded as {}", enc.name()),
                    );
                    s.into_owned()
                }
            }
        };
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

/// Drop the CR/LF of folded lines (the following whitespace stays).
fn unfold(raw: &[u8]) -> Vec<u8> {
    raw.iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
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
