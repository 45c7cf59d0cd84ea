//! MIME header parameters (`filename`, `name`) read from the raw header,
//! for the cases mail-parser gets wrong: RFC 2231 continuations where only
//! the first segment names the charset, RFC 2047 words split inside a
//! quoted name, raw 8-bit names. Used only as a repair, so it can be small.

use super::{charset, encoded_word};

/// The value of parameter `name` in a raw header value, decoded.
pub(super) fn param(raw: &[u8], name: &str) -> Option<String> {
    let text: String = String::from_utf8_lossy(raw).replace(['\r', '\n'], "");
    let mut plain: Option<String> = None;
    // (index, extended, value)
    let mut segments: Vec<(u32, bool, String)> = Vec::new();
    for piece in split_params(&text).into_iter().skip(1) {
        let Some((key, value)) = piece.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = unquote(value.trim());
        let Some(rest) = key.strip_prefix(name) else {
            continue;
        };
        match rest {
            "" => plain = Some(value),
            "*" => segments.push((0, true, value)),
            _ => {
                let Some(idx) = rest.strip_prefix('*') else {
                    continue;
                };
                let (idx, ext) = match idx.strip_suffix('*') {
                    Some(i) => (i, true),
                    None => (idx, false),
                };
                if let Ok(i) = idx.parse() {
                    segments.push((i, ext, value));
                }
            }
        }
    }
    if segments.is_empty() {
        let v = plain?;
        let decoded = if v.contains("=?") {
            encoded_word::decode(&v).0
        } else {
            v
        };
        return Some(charset::nfc(decoded));
    }
    segments.sort_by_key(|s| s.0);
    let mut label: Option<String> = None;
    let mut bytes = Vec::new();
    for (n, (_, ext, value)) in segments.iter().enumerate() {
        let mut v = value.as_str();
        if *ext && n == 0 {
            let mut parts = v.splitn(3, '\'');
            if let (Some(cs), Some(_lang), Some(rest)) = (parts.next(), parts.next(), parts.next())
            {
                label = Some(cs.to_string()).filter(|c| !c.is_empty());
                v = rest;
            }
        }
        if *ext {
            bytes.extend(percent_decode(v.as_bytes()));
        } else {
            bytes.extend_from_slice(v.as_bytes());
        }
    }
    Some(charset::decode(&bytes, label.as_deref()).text)
}

/// Split on ';' outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"') {
        Some(inner) => inner
            .strip_suffix('"')
            .unwrap_or(inner)
            .replace("\\\"", "\""),
        None => v.to_string(),
    }
}

fn percent_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = (b[i + 1] as char).to_digit(16);
            let l = (b[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_quoted_encoded_and_continued() {
        assert_eq!(
            param(b"attachment; filename=\"a b.pdf\"", "filename").as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            param(
                b"attachment; filename*=UTF-8''%E5%90%88%E5%90%8C.pdf",
                "filename"
            )
            .as_deref(),
            Some("合同.pdf")
        );
        assert_eq!(
            param(b"attachment;\r\n filename*0*=iso-8859-1''Fran%E7ais_;\r\n filename*1*=R%E9sum%E9.doc", "filename")
                .as_deref(),
            Some("Français_Résumé.doc")
        );
        assert_eq!(
            param(
                b"application/pdf; name=\"=?UTF-8?B?6rI=?= =?UTF-8?B?sOygnA==?=.pdf\"",
                "name"
            )
            .as_deref(),
            Some("결제.pdf")
        );
        assert_eq!(
            param(
                b"attachment; filename*1=\"b\"; filename*0=\"a\"",
                "filename"
            )
            .as_deref(),
            Some("ab")
        );
        assert_eq!(param(b"attachment", "filename"), None);
        assert_eq!(param(b"x; filename*=%", "filename").as_deref(), Some("%"));
    }
}
