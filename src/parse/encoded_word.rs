//! RFC 2047 encoded words in header values, decoded leniently.
//!
//! We decode header values ourselves (mail-parser decodes each encoded word
//! on its own) because real mailers split a multi-byte character across two
//! encoded words: adjacent words in the same charset are joined as bytes
//! before the charset is applied. Whitespace between encoded words is
//! dropped (RFC 2047 §6.2); encoded words glued to text are accepted.

use super::charset;
use super::transfer;

/// Decode every encoded word in `value`. Returns the text and whether a
/// charset fallback was needed.
pub(super) fn decode(value: &str) -> (String, Option<String>) {
    if !value.contains("=?") {
        return (value.to_string(), None);
    }
    let mut out = String::with_capacity(value.len());
    let mut fallback = None;
    // Pending bytes of consecutive encoded words sharing a charset.
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_cs = String::new();
    // Whitespace seen after an encoded word; dropped if another follows.
    let mut gap = String::new();
    let mut rest = value;
    let flush = |out: &mut String, pending: &mut Vec<u8>, cs: &str, fb: &mut Option<String>| {
        if pending.is_empty() {
            return;
        }
        let d = charset::decode(pending, Some(cs));
        out.push_str(&d.text);
        if d.fallback.is_some() {
            *fb = d.fallback;
        }
        pending.clear();
    };
    while !rest.is_empty() {
        match parse_word(rest) {
            Some((cs, bytes, used)) => {
                if !pending.is_empty() && !cs.eq_ignore_ascii_case(&pending_cs) {
                    flush(&mut out, &mut pending, &pending_cs, &mut fallback);
                }
                gap.clear();
                pending_cs = cs;
                pending.extend_from_slice(&bytes);
                rest = &rest[used..];
            }
            None => {
                let ch = rest.chars().next().expect("rest is not empty");
                if ch.is_whitespace() && (!pending.is_empty() || !gap.is_empty()) {
                    gap.push(ch);
                } else {
                    flush(&mut out, &mut pending, &pending_cs, &mut fallback);
                    out.push_str(&gap);
                    gap.clear();
                    out.push(ch);
                }
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    flush(&mut out, &mut pending, &pending_cs, &mut fallback);
    out.push_str(&gap);
    (out, fallback)
}

/// Parse one `=?charset?X?text?=` at the start of `s`: (charset, bytes, length).
fn parse_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let cs = &body[..q1];
    if cs.is_empty() || cs.len() > 40 || cs.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    let after = &body[q1 + 1..];
    let mut it = after.chars();
    let enc = it.next()?;
    if it.next()? != '?' {
        return None;
    }
    let text_start = &after[2..];
    let end = text_start.find("?=")?;
    let text = &text_start[..end];
    // A sane encoded word has no line breaks; some mailers put spaces in Q.
    if text.contains('\n') || text.len() > 4096 {
        return None;
    }
    let bytes = match enc {
        'B' | 'b' => transfer::base64(text.as_bytes()).bytes,
        'Q' | 'q' => q_decode(text.as_bytes()),
        _ => return None,
    };
    let used = 2 + q1 + 1 + 2 + end + 2;
    Some((cs.to_string(), bytes, used))
}

fn q_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => match (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'='),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex(c: Option<&u8>) -> Option<u8> {
    (*c? as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_simple_words() {
        assert_eq!(decode("Hello").0, "Hello");
        assert_eq!(
            decode("=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <p@x>").0,
            "Patrik Fältström <p@x>"
        );
        assert_eq!(decode("=?utf-8?B?T2zDoQ==?= Ana").0, "Olá Ana");
        assert_eq!(decode("Re: =?utf-8?q?caf=C3=A9?=").0, "Re: café");
    }

    #[test]
    fn whitespace_between_words_is_dropped() {
        assert_eq!(decode("=?utf-8?q?a?= =?utf-8?q?b?=").0, "ab");
        assert_eq!(decode("=?utf-8?q?a?=\r\n =?utf-8?q?_b?=").0, "a b");
    }

    #[test]
    fn multibyte_char_split_across_words() {
        // "결제" = EA B2 B0 EC A0 9C, split in the middle of the first char.
        let v = "=?UTF-8?B?6rI=?= =?UTF-8?B?sOygnA==?=";
        assert_eq!(decode(v).0, "결제");
        // Same in Q encoding for Chinese GB2312 "付款" = B8 B6 BF EE
        let v = "=?gb2312?Q?=B8?= =?gb2312?Q?=B6=BF=EE?=";
        assert_eq!(decode(v).0, "付款");
    }

    #[test]
    fn legacy_charsets_in_words() {
        assert_eq!(
            decode("=?ks_c_5601-1987?B?vsiz58fPvLy/5A==?=").0,
            "안녕하세요"
        );
        assert_eq!(
            decode("=?ISO-2022-JP?B?GyRCJCo7WUonJCQbKEI=?=").0,
            "お支払い"
        );
        assert_eq!(
            decode("=?windows-1258?Q?Ti=EA=ECng_Vi=EA=F2t?=").0,
            "Tiếng Việt"
        );
    }

    #[test]
    fn broken_words_stay_text() {
        assert_eq!(decode("=?utf-8?x?abc?=").0, "=?utf-8?x?abc?=");
        assert_eq!(decode("=?utf-8?q?unterminated").0, "=?utf-8?q?unterminated");
        assert_eq!(decode("a =? b").0, "a =? b");
    }
}
