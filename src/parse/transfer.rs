//! Content-Transfer-Encoding decoders that never refuse.
//!
//! mail-parser gives up on a part whose base64 is damaged and hands back the
//! raw text; for the body a human wrote we would rather decode what is there
//! and record that it was truncated or dirty.

/// Decoded bytes plus what was wrong with the input.
pub(super) struct Decoded {
    pub(super) bytes: Vec<u8>,
    /// The input ended in the middle of a base64 quantum.
    pub(super) truncated: bool,
    /// Characters outside the alphabet were skipped.
    pub(super) dirty: bool,
}

/// Lenient base64: skips anything outside the alphabet, stops after the
/// padding, decodes a trailing partial group as far as it goes.
pub(super) fn base64(input: &[u8]) -> Decoded {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut dirty = false;
    let mut padded = false;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            b'\r' | b'\n' | b' ' | b'\t' => continue,
            _ => {
                dirty = true;
                continue;
            }
        };
        if padded {
            // Data after the padding is junk, not more content.
            dirty = true;
            break;
        }
        acc = acc << 6 | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    let truncated = match n {
        2 => {
            out.push((acc >> 4) as u8);
            !padded
        }
        3 => {
            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            !padded
        }
        1 => true,
        _ => false,
    };
    Decoded {
        bytes: out,
        truncated,
        dirty,
    }
}

/// Quoted-printable; a broken escape is kept literally.
pub(super) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'=' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hexval(h) << 4 | hexval(l));
                    i += 3;
                }
                _ => {
                    // "=  \r\n": soft break with trailing blanks
                    let mut j = i + 1;
                    while matches!(input.get(j), Some(b' ' | b'\t')) {
                        j += 1;
                    }
                    match input.get(j) {
                        Some(b'\n') => i = j + 1,
                        Some(b'\r') if input.get(j + 1) == Some(&b'\n') => i = j + 2,
                        None if j > i + 1 => i = j,
                        _ => {
                            out.push(b'=');
                            i += 1;
                        }
                    }
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn hexval(c: u8) -> u8 {
    (c as char).to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_clean_dirty_truncated() {
        let d = base64(b"SGVs\r\nbG8=");
        assert_eq!(d.bytes, b"Hello");
        assert!(!d.truncated && !d.dirty);
        let d = base64(b"SGVsbG8gd29y");
        assert_eq!(d.bytes, b"Hello wor");
        let d = base64(b"SGVsbG8gd29yb");
        assert_eq!(d.bytes, b"Hello wor");
        assert!(d.truncated);
        let d = base64(b"SGV*sbG8=");
        assert_eq!(d.bytes, b"Hello");
        assert!(d.dirty);
        let d = base64(b"ecO2dMOkIHZhYW4uCg== ignored");
        assert_eq!(d.bytes, "yötä vaan.\n".as_bytes());
        assert!(d.dirty && !d.truncated);
    }

    #[test]
    fn qp() {
        assert_eq!(quoted_printable(b"caf=C3=A9 =\r\nok"), "café ok".as_bytes());
        assert_eq!(quoted_printable(b"a=\nb"), b"ab");
        assert_eq!(quoted_printable(b"100=%"), b"100=%");
        assert_eq!(quoted_printable(b"x=  \r\ny"), b"xy");
        assert_eq!(quoted_printable(b"=e9t=E9"), vec![0xe9, b't', 0xe9]);
    }
}
