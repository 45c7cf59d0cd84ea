//! Bytes in a declared (or undeclared, or wrong) charset -> UTF-8 text.
//!
//! Labels resolve through encoding_rs (the WHATWG label table) plus the
//! aliases mail clients really send (`ks_c_5601-1987`, `cp949`, `utf8`,
//! `x-gbk`, ...); UTF-7 goes through mail-parser. When the label is missing,
//! unknown or plainly wrong (declared Latin-1 but the bytes are UTF-8, declared
//! UTF-8 but not valid), the bytes are decoded as UTF-8 when valid, otherwise
//! as the encoding chardetng guesses, and the caller gets a reason to record as
//! a `charset_fallback` note. Output is NFC, so windows-1258 Vietnamese (which
//! encodes tone marks as combining characters) compares equal to UTF-8 text.

use encoding_rs::{Encoding, UTF_8};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// The result of decoding: the text and, when the declared charset was not
/// used as is, why.
pub(super) struct Decoded {
    pub(super) text: String,
    pub(super) fallback: Option<String>,
}

/// Resolve a charset label to an encoding; `None` when unknown (UTF-7 is
/// handled separately by [`decode`]).
pub(super) fn resolve(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    // RFC 2231 language suffix: utf-8*en
    let l = l.split('*').next().unwrap_or(l);
    if let Some(e) = Encoding::for_label_no_replacement(l.as_bytes()) {
        return Some(e);
    }
    let lower = l.to_ascii_lowercase().replace('_', "-");
    let e = match lower.as_str() {
        "utf8" | "utf-8-bom" | "unicode-1-1-utf-8" | "x-utf-8" => UTF_8,
        "ks-c-5601-1987" | "ks-c-5601" | "cp949" | "ms949" | "x-windows-949" | "uhc" | "euckr"
        | "ks-c-5601-1989" | "ksc5601" => encoding_rs::EUC_KR,
        "cp936" | "ms936" | "gb-2312" | "gb2312-80" | "euc-cn" | "x-euc-cn" | "x-gb2312" => {
            encoding_rs::GBK
        }
        "gb-18030" | "gb18030-2000" | "gb18030-2005" | "gb18030-2022" => encoding_rs::GB18030,
        "big5hkscs" | "cp950" | "ms950" | "x-big5" | "big-5" | "big5-eten" => encoding_rs::BIG5,
        "cp932" | "ms932" | "windows-31j" | "sjis" | "x-sjis" | "shift-jis" | "s-jis" => {
            encoding_rs::SHIFT_JIS
        }
        "iso2022jp" | "iso-2022-jp-1" | "iso-2022-jp-2" | "iso-2022-jp-3" => {
            encoding_rs::ISO_2022_JP
        }
        "eucjp" | "x-eucjp" => encoding_rs::EUC_JP,
        "latin1" | "latin-1" | "iso8859-1" | "iso-8859-1:1987" | "8859-1" | "iso88591" | "ansi"
        | "us" | "ascii" | "ansi-x3.4-1968" => encoding_rs::WINDOWS_1252,
        "latin2" | "iso8859-2" => encoding_rs::ISO_8859_2,
        "latin9" | "iso8859-15" => encoding_rs::ISO_8859_15,
        "iso8859-7" | "greek" | "el" => encoding_rs::ISO_8859_7,
        "iso8859-9" | "latin5" | "turkish" => encoding_rs::WINDOWS_1254,
        "cp1250" | "cp1251" | "cp1252" | "cp1253" | "cp1254" | "cp1255" | "cp1256" | "cp1257"
        | "cp1258" => return Encoding::for_label(format!("windows-{}", &lower[2..]).as_bytes()),
        _ => {
            // "windows1258", "iso885915", "win-1251" ...
            let compact: String = lower.chars().filter(|c| *c != '-').collect();
            if let Some(n) = compact
                .strip_prefix("windows")
                .or(compact.strip_prefix("win"))
            {
                return Encoding::for_label(format!("windows-{n}").as_bytes());
            }
            if let Some(n) = compact.strip_prefix("iso8859") {
                return Encoding::for_label(format!("iso-8859-{n}").as_bytes());
            }
            return None;
        }
    };
    Some(e)
}

fn is_utf7(label: &str) -> bool {
    let l = label.trim().trim_matches('"');
    l.eq_ignore_ascii_case("utf-7") || l.eq_ignore_ascii_case("unicode-1-1-utf-7")
}

/// Decode `bytes` declared as `label` (None: no charset given).
/// Never fails: the worst case is replacement characters.
pub(super) fn decode(bytes: &[u8], label: Option<&str>) -> Decoded {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    if bytes.is_ascii() {
        // Fast path for the common case, but ISO-2022-JP and UTF-7 are
        // 7-bit encodings and must still be decoded.
        match label {
            Some(l) if is_utf7(l) => return plain(utf7(bytes)),
            Some(l) if resolve(l) == Some(encoding_rs::ISO_2022_JP) || bytes.contains(&0x1b) => {}
            Some(l) if resolve(l).is_some_and(|e| e.name().starts_with("UTF-16")) => {}
            _ => return plain(ascii_string(bytes)),
        }
    }
    let Some(label) = label else {
        return match std::str::from_utf8(bytes) {
            Ok(s) => plain(nfc(s.to_owned())),
            Err(_) => guessed(bytes, "no charset declared"),
        };
    };
    if is_utf7(label) {
        return plain(utf7(bytes));
    }
    let Some(enc) = resolve(label) else {
        return match std::str::from_utf8(bytes) {
            Ok(s) => Decoded {
                text: nfc(s.to_owned()),
                fallback: Some(format!("unknown charset {label:?}, decoded as UTF-8")),
            },
            Err(_) => guessed(bytes, &format!("unknown charset {label:?}")),
        };
    };
    if enc == UTF_8 {
        return match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
            Ok(s) => plain(nfc(s.to_owned())),
            Err(_) => guessed(bytes, &format!("declared {label:?} but not valid UTF-8")),
        };
    }
    let single_byte = enc.is_single_byte();
    if single_byte && has_multibyte_utf8(bytes) {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Decoded {
                text: nfc(s.to_owned()),
                fallback: Some(format!("declared {label:?} but the text is UTF-8")),
            };
        }
    }
    match enc.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => plain(nfc(s.into_owned())),
        None => {
            // A multi-byte legacy charset with bytes it cannot contain:
            // mislabelled, most often UTF-8.
            if let Ok(s) = std::str::from_utf8(bytes) {
                return Decoded {
                    text: nfc(s.to_owned()),
                    fallback: Some(format!("declared {label:?} but the text is UTF-8")),
                };
            }
            let (s, _) = enc.decode_without_bom_handling(bytes);
            Decoded {
                text: nfc(s.into_owned()),
                fallback: Some(format!("invalid bytes for {label:?}, replaced")),
            }
        }
    }
}

/// Decode bytes with no trustworthy label: UTF-8 when valid, else a guess.
pub(super) fn decode_unlabelled(bytes: &[u8]) -> Decoded {
    decode(bytes, None)
}

fn plain(text: String) -> Decoded {
    Decoded {
        text,
        fallback: None,
    }
}

fn guessed(bytes: &[u8], why: &str) -> Decoded {
    // Mostly good UTF-8 with a few broken bytes (a cut multi-byte char,
    // a stray Latin-1 byte) stays UTF-8: a legacy guess would garble all.
    let lossy = String::from_utf8_lossy(bytes);
    let bad = lossy.matches('\u{FFFD}').count();
    let good = lossy
        .chars()
        .filter(|c| !c.is_ascii() && *c != '\u{FFFD}')
        .count();
    if good > 0 && good >= 2 * bad {
        return Decoded {
            text: nfc(lossy.into_owned()),
            fallback: Some(format!(
                "{why}; decoded as UTF-8, {bad} invalid byte sequence(s) replaced"
            )),
        };
    }
    let enc = guess(bytes);
    let (s, _) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: nfc(s.into_owned()),
        fallback: Some(format!("{why}; decoded as {}", enc.name())),
    }
}

/// Guess the encoding of non-UTF-8 bytes (chardetng; windows-1252 when in
/// doubt, which is also its default).
pub(super) fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    // A guess over the first 64 KB is as good as over everything.
    det.feed(&bytes[..bytes.len().min(64 * 1024)], true);
    let enc = det.guess(None, chardetng::Utf8Detection::Allow);
    if enc == UTF_8 {
        encoding_rs::WINDOWS_1252
    } else {
        enc
    }
}

/// True when the bytes contain at least one well-formed multi-byte UTF-8
/// sequence: Latin-1 text practically never does.
fn has_multibyte_utf8(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .any(|w| (0xC2..=0xF4).contains(&w[0]) && (0x80..=0xBF).contains(&w[1]))
}

fn ascii_string(bytes: &[u8]) -> String {
    // Checked ASCII by the caller, so this never replaces anything.
    String::from_utf8_lossy(bytes).into_owned()
}

fn utf7(bytes: &[u8]) -> String {
    let decode = mail_parser::decoders::charsets::map::charset_decoder(b"utf-7")
        .expect("mail-parser always knows utf-7");
    nfc(decode(bytes))
}

/// NFC-normalise, cheaply when the text already is (nearly always).
pub(super) fn nfc(s: String) -> String {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s
    } else {
        s.nfc().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1258_vietnamese_is_nfc() {
        // "Tiếng Việt" in windows-1258: ê + combining acute (0xEC), ê + combining dot below (0xF2)
        let bytes = b"Ti\xea\xecng Vi\xea\xf2t";
        let d = decode(bytes, Some("windows-1258"));
        assert_eq!(d.text, "Tiếng Việt");
        assert!(d.fallback.is_none());
        assert_eq!(d.text.chars().count(), 10, "precomposed, not combining");
    }

    #[test]
    fn cjk_charsets() {
        let (gb, _, _) = encoding_rs::GB18030.encode("您好，我的付款还没有到账");
        assert_eq!(decode(&gb, Some("GB2312")).text, "您好，我的付款还没有到账");
        assert_eq!(
            decode(&gb, Some("gb18030")).text,
            "您好，我的付款还没有到账"
        );
        let (big5, _, _) = encoding_rs::BIG5.encode("您好，請問我的錄音");
        assert_eq!(decode(&big5, Some("big5")).text, "您好，請問我的錄音");
        let (kr, _, _) = encoding_rs::EUC_KR.encode("안녕하세요 결제 문의");
        assert_eq!(
            decode(&kr, Some("ks_c_5601-1987")).text,
            "안녕하세요 결제 문의"
        );
        assert_eq!(decode(&kr, Some("cp949")).text, "안녕하세요 결제 문의");
        let (sj, _, _) = encoding_rs::SHIFT_JIS.encode("お支払いについて");
        assert_eq!(decode(&sj, Some("Shift_JIS")).text, "お支払いについて");
        let (jis, _, _) = encoding_rs::ISO_2022_JP.encode("お支払いについて");
        assert!(jis.is_ascii());
        assert_eq!(decode(&jis, Some("iso-2022-jp")).text, "お支払いについて");
    }

    #[test]
    fn mislabelled_and_unknown_fall_back_with_reason() {
        let d = decode("Olá, não recebi".as_bytes(), Some("iso-8859-1"));
        assert_eq!(d.text, "Olá, não recebi");
        assert!(d.fallback.is_some());
        let d = decode(b"Gr\xfc\xdfe aus K\xf6ln", Some("utf-8"));
        assert_eq!(d.text, "Grüße aus Köln");
        assert!(d.fallback.is_some());
        let d = decode(b"caf\xe9", Some("x-no-such-charset"));
        assert_eq!(d.text, "café");
        assert!(d.fallback.unwrap().contains("unknown charset"));
        let d = decode("déjà".as_bytes(), Some("x-unknown"));
        assert_eq!(d.text, "déjà");
        let (kr, _, _) = encoding_rs::EUC_KR.encode("안녕하세요, 녹음 파일이 거절되었습니다");
        let d = decode(&kr, None);
        assert_eq!(d.text, "안녕하세요, 녹음 파일이 거절되었습니다");
        assert!(d.fallback.is_some());
    }

    #[test]
    fn latin_and_greek_and_turkish() {
        assert_eq!(decode(b"M\xfcller", Some("ISO-8859-1")).text, "Müller");
        assert_eq!(
            decode(b"\xc1\xf1\xf7\xe9\xea\xfc", Some("iso-8859-7")).text,
            "Αρχικό"
        );
        assert_eq!(decode(b"\xfeu", Some("windows-1254")).text, "şu");
        assert_eq!(decode(b"M\xfcller", Some("cp1252")).text, "Müller");
        assert_eq!(decode(b"caf\xe9", Some("\"latin1\"")).text, "café");
    }

    #[test]
    fn mostly_utf8_with_a_broken_byte_stays_utf8() {
        let d = decode(
            "Olá, não recebi o pagamento \u{e9}"
                .as_bytes()
                .iter()
                .copied()
                .chain([0xff])
                .collect::<Vec<_>>()
                .as_slice(),
            Some("utf-8"),
        );
        assert!(d.text.starts_with("Olá, não recebi o pagamento é"));
        assert!(d.fallback.is_some());
    }

    #[test]
    fn decomposed_utf8_is_composed() {
        let d = decode("Vie\u{0302}\u{0323}t".as_bytes(), Some("utf-8"));
        assert_eq!(d.text, "Việt");
    }

    #[test]
    fn utf7_and_utf16() {
        assert_eq!(
            decode(b"Hi Mom -+Jjo--!", Some("utf-7")).text,
            "Hi Mom -\u{263a}-!"
        );
        assert_eq!(decode(b"h\0i\0", Some("utf-16le")).text, "hi");
    }
}
