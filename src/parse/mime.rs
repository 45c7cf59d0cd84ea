//! Which MIME parts are the body a human wrote, and which are attachments.
//!
//! Our own walk over mail-parser's part tree, because the rules are ours:
//! text/plain wins in multipart/alternative; in multipart/report only the
//! human-readable first part can be body; digest entries, attached
//! message/rfc822 and DSN parts never are. Attachments are described by name,
//! type, size and SHA-256 of the decoded content; decoded bytes are hashed
//! where mail-parser already holds them and never copied.

use super::{params, transfer, Attachment, ParseNote};
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// The outcome of the walk over one message.
#[derive(Default)]
pub(super) struct Layout {
    /// text/plain parts that make up the body, in order.
    pub(super) text: Vec<usize>,
    /// text/html parts, used only when there is no text/plain part.
    pub(super) html: Vec<usize>,
    pub(super) attachments: Vec<Attachment>,
    /// Parts that belong to a delivery report (delivery-status, returned
    /// message or headers).
    pub(super) report_parts: Vec<usize>,
    pub(super) notes: Vec<ParseNote>,
    /// Body text found inside winmail.dat (plain, HTML or RTF converted), for
    /// a mail that has no other.
    pub(super) tnef_text: Option<String>,
}

/// Lower-case `type/subtype` of a part; `default` when none is declared.
pub(super) fn mime_type(part: &MessagePart<'_>, default: &str) -> String {
    match part.content_type() {
        Some(ct) => {
            let mut s = ct.ctype().to_ascii_lowercase();
            s.push('/');
            s.push_str(&ct.subtype().unwrap_or("").to_ascii_lowercase());
            s
        }
        None => default.to_string(),
    }
}

/// Parts one walk looks at, at most. A mail of real people has a few dozen;
/// the budget keeps a hostile tree (however mail-parser shapes it) linear.
const MAX_PARTS: usize = 10_000;

pub(super) fn walk(msg: &Message<'_>) -> Layout {
    let mut walk = Walk {
        out: Layout::default(),
        // mail-parser can hand back a tree in which a part lists an
        // ancestor (or itself) among its children: without this set the
        // walk revisits parts ~2^64 times (issue 10).
        visited: vec![false; msg.parts.len()],
        budget: MAX_PARTS,
        cut: None,
    };
    if !msg.parts.is_empty() {
        walk.visit(msg, 0, Mode::Body, "text/plain", 0);
    }
    let mut layout = walk.out;
    if let Some(why) = walk.cut {
        layout.notes.push(why);
    }
    layout
}

/// One walk's state: what it found, which parts it has seen, and why it
/// stopped early (one note, however often it was stopped).
struct Walk {
    out: Layout,
    visited: Vec<bool>,
    budget: usize,
    cut: Option<ParseNote>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Text parts found here may be body.
    Body,
    /// Only collect attachments (an unchosen alternative, a digest).
    AttachmentsOnly,
}

impl Walk {
    fn visit(&mut self, msg: &Message<'_>, id: usize, mode: Mode, default: &str, depth: u32) {
        let Some(part) = msg.parts.get(id) else {
            return;
        };
        if depth > 64 {
            self.cut.get_or_insert(ParseNote::new("mime_too_deep"));
            return;
        }
        if std::mem::replace(&mut self.visited[id], true) {
            self.cut.get_or_insert(ParseNote::with(
                "mime_cycle",
                "a part lists itself or an ancestor among its children; visited once",
            ));
            return;
        }
        if self.budget == 0 {
            self.cut.get_or_insert(ParseNote::with(
                "mime_too_many_parts",
                format!("more than {MAX_PARTS} MIME parts; the rest not read"),
            ));
            return;
        }
        self.budget -= 1;
        let ctype = mime_type(part, default);
        match &part.body {
            PartType::Multipart(children) => {
                let children: Vec<usize> = children.iter().map(|&c| c as usize).collect();
                let sub = ctype.split_once('/').map(|(_, s)| s).unwrap_or("");
                let child_default = if sub == "digest" {
                    "message/rfc822"
                } else {
                    "text/plain"
                };
                match (sub, mode) {
                    ("alternative", Mode::Body) => {
                        let chosen = choose_alternative(msg, &children);
                        for &c in &children {
                            let m = if Some(c) == chosen {
                                Mode::Body
                            } else {
                                Mode::AttachmentsOnly
                            };
                            self.visit(msg, c, m, child_default, depth + 1);
                        }
                    }
                    ("report", Mode::Body) => {
                        for (i, &c) in children.iter().enumerate() {
                            if i == 0 {
                                self.visit(msg, c, Mode::Body, child_default, depth + 1);
                            } else {
                                self.out.report_parts.push(c);
                                self.visit(msg, c, Mode::AttachmentsOnly, child_default, depth + 1);
                            }
                        }
                    }
                    ("digest", _) => {
                        for &c in &children {
                            self.visit(msg, c, Mode::AttachmentsOnly, child_default, depth + 1);
                        }
                    }
                    _ => {
                        for &c in &children {
                            self.visit(msg, c, mode, child_default, depth + 1);
                        }
                    }
                }
            }
            PartType::Text(_) | PartType::Html(_) => {
                let is_html = matches!(part.body, PartType::Html(_)) || ctype == "text/html";
                let body_like = ctype == "text/plain"
                    || ctype == "text/html"
                    || ctype == "text/"
                    || part.is_encoding_problem && ctype.starts_with("text/");
                if mode == Mode::Body && body_like && !is_attachment(part) {
                    if is_html {
                        self.out.html.push(id);
                    } else {
                        self.out.text.push(id);
                    }
                } else if mode == Mode::Body || !body_like || is_attachment(part) {
                    self.out.attachments.push(describe(msg, part, &ctype));
                }
            }
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Message(_) => {
                self.out.attachments.push(describe(msg, part, &ctype));
                expand_tnef(msg, part, &ctype, &mut self.out);
            }
        }
    }
}

/// The alternative to read: the last non-empty text/plain, else the last
/// html, else the last multipart (RFC 2046: best alternative last).
fn choose_alternative(msg: &Message<'_>, children: &[usize]) -> Option<usize> {
    let kind = |c: usize| msg.parts.get(c).map(|p| (p, mime_type(p, "text/plain")));
    let plain = children.iter().rev().copied().find(|&c| {
        kind(c).is_some_and(|(p, t)| {
            t == "text/plain" && matches!(&p.body, PartType::Text(s) if !s.trim().is_empty())
        })
    });
    plain
        .or_else(|| {
            children
                .iter()
                .rev()
                .copied()
                .find(|&c| kind(c).is_some_and(|(_, t)| t == "text/html"))
        })
        .or_else(|| {
            children
                .iter()
                .rev()
                .copied()
                .find(|&c| kind(c).is_some_and(|(p, _)| p.is_multipart()))
        })
        .or_else(|| children.first().copied())
}

fn is_attachment(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"))
        || part.attachment_name().is_some()
}

/// The raw (still transfer-encoded) bytes of a part's body.
pub(super) fn raw_body<'m>(msg: &'m Message<'_>, part: &MessagePart<'_>) -> &'m [u8] {
    let raw = msg.raw_message();
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    &raw[start..end]
}

/// Transfer-decode a part's raw body by its Content-Transfer-Encoding.
pub(super) fn decode_transfer(
    msg: &Message<'_>,
    part: &MessagePart<'_>,
    notes: &mut Vec<ParseNote>,
) -> Vec<u8> {
    decode_transfer_limited(msg, part, notes, usize::MAX)
}

/// As [`decode_transfer`], reading only as much input as `limit` decoded
/// bytes need (at most; the caller truncates), so a huge part is never
/// copied whole.
pub(super) fn decode_transfer_limited(
    msg: &Message<'_>,
    part: &MessagePart<'_>,
    notes: &mut Vec<ParseNote>,
    limit: usize,
) -> Vec<u8> {
    let raw = raw_body(msg, part);
    // base64 needs 4 input bytes per 3 output bytes, plus line breaks.
    let keep = raw.len().min(limit.saturating_mul(3).saturating_add(16));
    let cut = keep < raw.len();
    let raw = &raw[..keep];
    let cte = part
        .content_transfer_encoding()
        .map(|c| c.trim().to_ascii_lowercase());
    match cte.as_deref() {
        Some("base64") => {
            let d = transfer::base64(raw);
            if d.truncated && !cut {
                notes.push(ParseNote::new("truncated_base64"));
            } else if d.dirty {
                notes.push(ParseNote::with("bad_transfer_encoding", "junk in base64"));
            }
            d.bytes
        }
        Some("quoted-printable") => transfer::quoted_printable(raw),
        None | Some("7bit" | "8bit" | "binary" | "") => raw.to_vec(),
        Some(other) => {
            notes.push(ParseNote::with(
                "bad_transfer_encoding",
                format!("unknown Content-Transfer-Encoding {other:?}, read as is"),
            ));
            raw.to_vec()
        }
    }
}

/// The file name, repaired from the raw headers where mail-parser could
/// not decode it (RFC 2231 continuations, split RFC 2047 words, 8-bit).
fn file_name(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let parsed = part.attachment_name();
    if parsed.is_some_and(|n| !n.contains('\u{FFFD}') && !n.contains("=?")) {
        return parsed.map(str::to_string);
    }
    let raw = msg.raw_message();
    let from_raw = [
        (HeaderName::ContentDisposition, "filename"),
        (HeaderName::ContentType, "name"),
    ]
    .into_iter()
    .find_map(|(header, param)| {
        let h = part.headers.iter().find(|h| h.name == header)?;
        let start = (h.offset_start as usize).min(raw.len());
        let end = (h.offset_end as usize).clamp(start, raw.len());
        params::param(&raw[start..end], param)
    });
    from_raw.or_else(|| parsed.map(str::to_string))
}

/// The decoded bytes of the part that [`describe`] listed with this
/// SHA-256: the same decoding, so a stored attachment entry finds its part
/// again in the raw mail without storing the bytes twice.
pub(super) fn attachment_bytes(msg: &Message<'_>, sha256: &str) -> Option<Vec<u8>> {
    msg.parts.iter().find_map(|part| {
        let bytes = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Text(_) | PartType::Html(_) => decode_transfer(msg, part, &mut Vec::new()),
            PartType::Multipart(_) => return None,
        };
        (hash(&bytes) == sha256).then_some(bytes)
    })
}

fn describe(msg: &Message<'_>, part: &MessagePart<'_>, ctype: &str) -> Attachment {
    let name = file_name(msg, part).or_else(|| {
        // A forwarded message: name it after its subject.
        part.message()
            .and_then(|m| m.subject())
            .map(|s| format!("{s}.eml"))
    });
    let (size, sha256) = match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => (b.len(), hash(b)),
        PartType::Message(m) => (m.raw_message().len(), hash(m.raw_message())),
        PartType::Text(_) | PartType::Html(_) | PartType::Multipart(_) => {
            let bytes = decode_transfer(msg, part, &mut Vec::new());
            (bytes.len(), hash(&bytes))
        }
    };
    Attachment {
        name: name.map(|n| super::charset::nfc(n.trim().to_string())),
        content_type: ctype.to_string(),
        size: size as u64,
        sha256,
    }
}

/// The files (and body text) inside a winmail.dat, listed after it.
fn expand_tnef(msg: &Message<'_>, part: &MessagePart<'_>, ctype: &str, out: &mut Layout) {
    let named_winmail =
        || file_name(msg, part).is_some_and(|n| n.trim().eq_ignore_ascii_case("winmail.dat"));
    if ctype != "application/ms-tnef" && ctype != "application/vnd.ms-tnef" && !named_winmail() {
        return;
    }
    let (PartType::Binary(bytes) | PartType::InlineBinary(bytes)) = &part.body else {
        return;
    };
    let Some(tnef) = super::tnef::read(bytes) else {
        out.notes.push(ParseNote::with(
            "tnef_unreadable",
            "winmail.dat is not a TNEF stream",
        ));
        return;
    };
    for f in &tnef.files {
        out.attachments.push(Attachment {
            name: f.name.clone().map(super::charset::nfc),
            content_type: f
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: f.data.len() as u64,
            sha256: hash(f.data),
        });
    }
    if out.tnef_text.is_none() {
        out.tnef_text = tnef
            .body
            .or_else(|| tnef.html.map(|h| super::html::to_text(&h).text))
            .or_else(|| tnef.rtf.and_then(super::rtf::compressed_to_text));
    }
}

fn hash(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn issue_10_a_part_cycle_is_walked_once_with_one_note() {
        let raw = include_bytes!("../../tests/fixtures/hostile/mime-part-cycle.eml");
        let started = std::time::Instant::now();
        let email = crate::parse::parse(raw);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        let cuts: Vec<_> = email
            .notes
            .iter()
            .filter(|n| n.kind.starts_with("mime_"))
            .collect();
        assert_eq!(cuts.len(), 1, "{:?}", email.notes);
        assert!(email.attachments.len() < 10, "{:?}", email.attachments);
    }
}
