//! Outlook's compressed RTF body ([MS-OXRTFCP], inside winmail.dat) to
//! plain text: LZFu decompression, then a small RTF reader that keeps the
//! text and drops formatting, tables of fonts and colours, pictures and
//! the HTML tags an `\fromhtml` body wraps its text in. Bounded and
//! never panicking, like the TNEF reader.

/// The dictionary every LZFu stream starts from.
const PRELOAD: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
const COMPRESSED: u32 = 0x7546_5A4C; // "LZFu"
const UNCOMPRESSED: u32 = 0x414C_454D; // "MELA"
/// Decompressed RTF beyond this is not read (a body, not a document).
const MAX_RTF: usize = 4 << 20;

/// The text of a PR_RTF_COMPRESSED value; `None` when it is not one.
pub(super) fn compressed_to_text(bytes: &[u8]) -> Option<String> {
    let rtf = decompress(bytes)?;
    let text = to_text(&rtf);
    (!text.trim().is_empty()).then_some(text)
}

fn decompress(bytes: &[u8]) -> Option<Vec<u8>> {
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(i..i + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let raw_size = (word(4)? as usize).min(MAX_RTF);
    let data = bytes.get(16..)?;
    match word(8)? {
        UNCOMPRESSED => Some(data[..raw_size.min(data.len())].to_vec()),
        COMPRESSED => Some(lzfu(data, raw_size)),
        _ => None,
    }
}

fn lzfu(data: &[u8], limit: usize) -> Vec<u8> {
    let mut dict = [0u8; 4096];
    dict[..PRELOAD.len()].copy_from_slice(PRELOAD);
    let mut write = PRELOAD.len();
    let mut out = Vec::with_capacity(limit.min(data.len() * 8));
    let mut i = 0;
    'stream: while i < data.len() && out.len() < limit {
        let control = data[i];
        i += 1;
        for bit in 0..8 {
            if control & (1 << bit) == 0 {
                let Some(&b) = data.get(i) else {
                    break 'stream;
                };
                i += 1;
                out.push(b);
                dict[write] = b;
                write = (write + 1) % 4096;
            } else {
                let Some(pair) = data.get(i..i + 2) else {
                    break 'stream;
                };
                i += 2;
                let reference = usize::from(u16::from_be_bytes([pair[0], pair[1]]));
                let (offset, len) = (reference >> 4, (reference & 0xF) + 2);
                if offset == write {
                    break 'stream;
                }
                for k in 0..len {
                    let b = dict[(offset + k) % 4096];
                    out.push(b);
                    dict[write] = b;
                    write = (write + 1) % 4096;
                }
            }
            if out.len() >= limit {
                break 'stream;
            }
        }
    }
    out.truncate(limit);
    out
}

/// Destinations whose text is not the body.
const SKIPPED: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "footer",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "themedata",
    "datastore",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// Characters after `\uN` that stand in for it (`\ucN`).
    uc: usize,
}

/// The text of an RTF document.
pub(super) fn to_text(rtf: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut text = String::new();
    let flush = |out: &mut Vec<u8>, text: &mut String| {
        if !out.is_empty() {
            text.push_str(&encoding_rs::WINDOWS_1252.decode(out).0);
            out.clear();
        }
    };
    let mut stack: Vec<Group> = Vec::new();
    let mut g = Group { skip: false, uc: 1 };
    // `\htmlrtf` ... `\htmlrtf0`: RTF-only text of an \fromhtml body.
    let mut html_rtf = false;
    // Characters still to drop after a `\u`.
    let mut drop = 0usize;
    let mut i = 0;
    while i < rtf.len() {
        let c = rtf[i];
        i += 1;
        match c {
            b'{' => {
                if stack.len() < 256 {
                    stack.push(g);
                }
                // "{\*\dest ...}": an ignorable destination.
                if rtf.get(i..i + 2) == Some(b"\\*") {
                    g.skip = true;
                }
            }
            b'}' => {
                if let Some(prev) = stack.pop() {
                    g = prev;
                }
            }
            b'\\' => {
                let Some(&next) = rtf.get(i) else { break };
                if next.is_ascii_alphabetic() {
                    let start = i;
                    while rtf.get(i).is_some_and(u8::is_ascii_alphabetic) {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&rtf[start..i]).unwrap_or("");
                    let num_start = i;
                    if rtf.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while rtf.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&rtf[num_start..i])
                        .ok()
                        .and_then(|n| n.parse().ok());
                    if rtf.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    let visible = !g.skip && !html_rtf;
                    match word {
                        "par" | "line" if visible => out.push(b'\n'),
                        "tab" if visible => out.push(b'\t'),
                        "htmlrtf" => html_rtf = param != Some(0),
                        "uc" => g.uc = param.unwrap_or(1).clamp(0, 8) as usize,
                        "u" => {
                            if visible {
                                flush(&mut out, &mut text);
                                let n = param.unwrap_or(0);
                                let n = if n < 0 { n + 65536 } else { n };
                                text.push(char::from_u32(n as u32).unwrap_or('\u{FFFD}'));
                            }
                            drop = g.uc;
                        }
                        w if SKIPPED.contains(&w) => g.skip = true,
                        _ => {}
                    }
                    continue;
                }
                i += 1;
                match next {
                    b'\'' => {
                        let hex = rtf.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                        i += 2;
                        if drop > 0 {
                            drop -= 1;
                        } else if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            if !g.skip && !html_rtf {
                                out.push(b);
                            }
                        }
                    }
                    b'\\' | b'{' | b'}' if !g.skip && !html_rtf => {
                        if drop > 0 {
                            drop -= 1;
                        } else {
                            out.push(next);
                        }
                    }
                    b'~' if !g.skip && !html_rtf => out.push(b' '),
                    _ => {}
                }
            }
            b'\r' | b'\n' => {}
            _ => {
                if drop > 0 {
                    drop -= 1;
                } else if !g.skip && !html_rtf {
                    out.push(c);
                }
            }
        }
    }
    flush(&mut out, &mut text);
    text.retain(|c| !c.is_control() || c == '\n' || c == '\t');
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_is_the_specified_dictionary() {
        assert_eq!(PRELOAD.len(), 207);
    }

    #[test]
    fn the_specification_example_decompresses() {
        // [MS-OXRTFCP] 3.1.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n"
        let compressed: &[u8] = &[
            0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5,
            0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42,
            0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0,
            0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
        ];
        let rtf = decompress(compressed).expect("lzfu");
        assert_eq!(rtf, b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n");
        assert_eq!(to_text(&rtf), "hello world");
    }

    #[test]
    fn text_escapes_unicode_and_skipped_groups() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\colortbl;\red0;}\pard Ol\'e1,\par n\u227?o recebi {\*\htmltag84 <b>}o {\htmlrtf x\htmlrtf0 }pagamento.\par}";
        assert_eq!(to_text(rtf), "Olá,\nnão recebi o pagamento.");
    }

    #[test]
    fn junk_never_panics() {
        for junk in [&b""[..], b"\\", b"{\\'", b"{\\u-", b"\\'zz", b"}}}{{{"] {
            let _ = to_text(junk);
        }
        let mut seed = 7u32;
        for _ in 0..2000 {
            let mut b = vec![0u8; (seed % 64) as usize];
            for x in &mut b {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *x = (seed >> 16) as u8;
            }
            let _ = compressed_to_text(&b);
            let _ = to_text(&b);
        }
    }
}
