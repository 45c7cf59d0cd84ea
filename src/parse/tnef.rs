//! winmail.dat (application/ms-tnef, [MS-OXTNEF]): Outlook's wrapper
//! around the files and the body of a message. Read here so that a
//! specialist sees the files a participant sent, not one opaque blob.
//!
//! Our own reader, because the one Rust crate (`tnef` 0.1.1, 2019) is
//! unmaintained and indexes its input without bounds checks, and `ytnef`
//! binds a C library that is not on the target systems. It reads only what
//! we show (file names, contents, MIME tags, the plain, HTML or RTF body), every
//! read is bounds-checked, and it stops at the first thing it does not
//! understand, keeping what it found: never panics, never allocates more
//! than the input's size.

/// `0x223E9F78`, little-endian, at the start of every TNEF stream.
const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];
/// More inner files than this are not listed.
const MAX_FILES: usize = 256;

// Attribute ids (low 16 bits of the attribute tag).
const ATT_BODY: u16 = 0x800C;
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_RENDDATA: u16 = 0x9002;
const ATT_MSG_PROPS: u16 = 0x9003;
const ATT_ATTACHMENT: u16 = 0x9005;
const LEVEL_MESSAGE: u8 = 1;

// MAPI property ids.
const PR_BODY: u16 = 0x1000;
const PR_RTF_COMPRESSED: u16 = 0x1009;
const PR_BODY_HTML: u16 = 0x1013;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;

// MAPI property types.
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
const PT_OBJECT: u16 = 0x000D;
const MV_FLAG: u16 = 0x1000;

/// One file inside the TNEF stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TnefFile<'a> {
    pub(super) name: Option<String>,
    pub(super) mime_type: Option<String>,
    pub(super) data: &'a [u8],
}

impl TnefFile<'_> {
    fn set_name(&mut self, name: &str, rank: u8, ranks: &mut u8) {
        let name = name.trim();
        if !name.is_empty() && rank > *ranks {
            self.name = Some(name.to_string());
            *ranks = rank;
        }
    }
}

/// What a TNEF stream holds.
#[derive(Debug, Default)]
pub(super) struct Tnef<'a> {
    pub(super) files: Vec<TnefFile<'a>>,
    /// The plain-text body, when the stream carries one.
    pub(super) body: Option<String>,
    /// The HTML body, when the stream carries one.
    pub(super) html: Option<String>,
    /// The compressed RTF body ([MS-OXRTFCP]), when the stream carries one.
    pub(super) rtf: Option<&'a [u8]>,
}

/// Read a TNEF stream; `None` when it does not start like one.
pub(super) fn read(bytes: &[u8]) -> Option<Tnef<'_>> {
    let mut r = Reader(bytes);
    if r.take(4)? != SIGNATURE {
        return None;
    }
    r.take(2)?; // legacy key
    let mut out = Tnef::default();
    // How good the current file's name is: long name > short > title.
    let mut rank = 0u8;
    while let Some(level) = r.u8() {
        let (Some(tag), Some(len)) = (r.u32(), r.u32()) else {
            break;
        };
        let Some(data) = r.take(len as usize) else {
            break;
        };
        if r.take(2).is_none() {
            break; // checksum
        }
        let id = (tag & 0xFFFF) as u16;
        match id {
            ATT_ATTACH_RENDDATA => {
                if out.files.len() >= MAX_FILES {
                    break;
                }
                out.files.push(TnefFile::default());
                rank = 0;
            }
            ATT_ATTACH_TITLE => {
                if let Some(f) = out.files.last_mut() {
                    f.set_name(&string8(data), 1, &mut rank);
                }
            }
            ATT_ATTACH_DATA => {
                if let Some(f) = out.files.last_mut() {
                    f.data = data;
                }
            }
            ATT_ATTACHMENT => {
                if let Some(f) = out.files.last_mut() {
                    for p in props(data) {
                        match (p.id, &p.value) {
                            (PR_ATTACH_LONG_FILENAME, Value::Text(t)) => {
                                f.set_name(t, 4, &mut rank)
                            }
                            (PR_ATTACH_FILENAME, Value::Text(t)) => f.set_name(t, 3, &mut rank),
                            (PR_DISPLAY_NAME, Value::Text(t)) => f.set_name(t, 2, &mut rank),
                            (PR_ATTACH_MIME_TAG, Value::Text(t)) => {
                                f.mime_type = Some(t.trim().to_ascii_lowercase())
                            }
                            (PR_ATTACH_DATA, Value::Bytes(b)) if f.data.is_empty() => f.data = b,
                            (PR_ATTACH_DATA, Value::Object(b)) if f.data.is_empty() => f.data = b,
                            _ => {}
                        }
                    }
                }
            }
            ATT_BODY if level == LEVEL_MESSAGE => {
                out.body = Some(string8(data)).filter(|b| !b.trim().is_empty());
            }
            ATT_MSG_PROPS if level == LEVEL_MESSAGE => {
                for p in props(data) {
                    match (p.id, p.value) {
                        (PR_BODY, Value::Text(t)) if out.body.is_none() => {
                            out.body = Some(t).filter(|b| !b.trim().is_empty())
                        }
                        (PR_BODY_HTML, Value::Text(t)) => out.html = Some(t),
                        (PR_BODY_HTML, Value::Bytes(b)) => out.html = Some(string8(b)),
                        (PR_RTF_COMPRESSED, Value::Bytes(b)) => out.rtf = Some(b),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// A bounds-checked little-endian cursor.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `n` bytes and the padding to the next multiple of 4.
    fn padded(&mut self, n: usize) -> Option<&'a [u8]> {
        let data = self.take(n)?;
        self.take((4 - n % 4) % 4)?;
        Some(data)
    }
}

enum Value<'a> {
    Text(String),
    Bytes(&'a [u8]),
    /// A PT_OBJECT's data after its 16-byte interface id.
    Object(&'a [u8]),
    Other,
}

struct Prop<'a> {
    id: u16,
    value: Value<'a>,
}

/// The MAPI properties of an attMsgProps / attAttachment attribute, up to
/// the first one that cannot be read.
fn props(data: &[u8]) -> Vec<Prop<'_>> {
    let mut r = Reader(data);
    let mut out = Vec::new();
    let Some(count) = r.u32() else {
        return out;
    };
    for _ in 0..count {
        match prop(&mut r) {
            Some(p) => out.push(p),
            None => break,
        }
    }
    out
}

fn prop<'a>(r: &mut Reader<'a>) -> Option<Prop<'a>> {
    let ptype = r.u16()?;
    let id = r.u16()?;
    if id >= 0x8000 {
        // A named property: GUID, then a number or a UTF-16 name.
        r.take(16)?;
        if r.u32()? == 0 {
            r.u32()?;
        } else {
            let n = r.u32()? as usize;
            r.padded(n)?;
        }
    }
    let base = ptype & !MV_FLAG;
    let variable = matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT);
    let values = if variable || ptype & MV_FLAG != 0 {
        r.u32()? as usize
    } else {
        1
    };
    let mut value = Value::Other;
    for i in 0..values {
        let v = if variable {
            let n = r.u32()? as usize;
            let bytes = r.padded(n)?;
            match base {
                PT_STRING8 => Value::Text(string8(bytes)),
                PT_UNICODE => Value::Text(utf16(bytes)),
                PT_BINARY => Value::Bytes(bytes),
                _ => Value::Object(bytes.get(16..).unwrap_or(&[])),
            }
        } else {
            r.take(fixed_size(base)?)?;
            Value::Other
        };
        if i == 0 {
            value = v;
        }
    }
    Some(Prop { id, value })
}

/// Bytes a fixed-size value takes (padded to 4); `None` for a type we do
/// not know (the rest cannot be read).
fn fixed_size(ptype: u16) -> Option<usize> {
    match ptype {
        0x0001..=0x0004 | 0x000A | 0x000B => Some(4),
        0x0005..=0x0007 | 0x0014 | 0x0040 => Some(8),
        0x0048 => Some(16),
        _ => None,
    }
}

/// An 8-bit string: UTF-8 when it is, else Windows-1252 (Outlook's
/// default ANSI code page); up to the first NUL.
fn string8(bytes: &[u8]) -> String {
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TNEF stream with one file named by title and long name, and a body.
    pub(crate) fn sample() -> Vec<u8> {
        fn attr(out: &mut Vec<u8>, level: u8, tag: u32, data: &[u8]) {
            out.push(level);
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
            let sum: u32 = data.iter().map(|&b| u32::from(b)).sum();
            out.extend_from_slice(&(sum as u16).to_le_bytes());
        }
        let mut t = SIGNATURE.to_vec();
        t.extend_from_slice(&[1, 0]);
        attr(
            &mut t,
            1,
            0x0002_800C,
            b"Please find the recordings attached.\0",
        );
        attr(&mut t, 2, 0x0006_9002, &[0; 14]);
        attr(&mut t, 2, 0x0001_8010, b"RECORD~1.WAV\0");
        attr(&mut t, 2, 0x0006_800F, b"RIFF....WAVEdata");
        let mut props = 2u32.to_le_bytes().to_vec();
        let name: Vec<u8> = "recording 1 (ü).wav\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        props.extend_from_slice(&PT_UNICODE.to_le_bytes());
        props.extend_from_slice(&PR_ATTACH_LONG_FILENAME.to_le_bytes());
        props.extend_from_slice(&1u32.to_le_bytes());
        props.extend_from_slice(&(name.len() as u32).to_le_bytes());
        props.extend_from_slice(&name);
        props.resize(props.len().next_multiple_of(4), 0);
        props.extend_from_slice(&0x0003u16.to_le_bytes());
        props.extend_from_slice(&0x0E20u16.to_le_bytes());
        props.extend_from_slice(&16u32.to_le_bytes());
        attr(&mut t, 2, 0x0006_9005, &props);
        t
    }

    #[test]
    fn names_data_and_body() {
        let bytes = sample();
        let t = read(&bytes).expect("tnef");
        assert_eq!(t.files.len(), 1);
        assert_eq!(t.files[0].name.as_deref(), Some("recording 1 (ü).wav"));
        assert_eq!(t.files[0].data, b"RIFF....WAVEdata");
        assert_eq!(
            t.body.as_deref(),
            Some("Please find the recordings attached.")
        );
        assert!(read(b"not tnef").is_none());
    }

    #[test]
    fn every_truncation_and_flip_is_survived() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            let _ = read(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xFF;
            let _ = read(&b);
        }
    }
}
