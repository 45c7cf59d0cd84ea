//! Raw bytes -> [`ParsedEmail`]. Never fails and never panics: whatever the
//! input, the caller gets a value, and what was odd is recorded as
//! [`ParseNote`]s. mail-parser types stay inside this module.
//!
//! mail-parser finds the MIME tree, addresses, ids and the date; we decode
//! what participants read and write ourselves, because that is where real
//! mail is broken: `headers` + `encoded_word` (every header, split RFC 2047
//! words, raw 8-bit values), `charset` (labels, fallbacks, NFC), `transfer`
//! (lenient base64/QP), `mime` (which part is the body, attachments),
//! `params` (RFC 2231 names), `html` (HTML to text with quote markers),
//! `flowed` (RFC 3676), `tnef` (winmail.dat), `quote` + `signature` (+ `markers`, the words in 13
//! languages) for the new text, and `dsn` for bounces. `message` ties them
//! together.
//!
//! Note kinds (stable): `not_mail`, `no_message_id`, `no_from`, `no_date`,
//! `charset_fallback`, `raw_8bit_header`, `unparsable_header`, `html_only`,
//! `truncated_base64`, `bad_transfer_encoding`, `body_truncated`,
//! `mime_too_deep`, `tnef_unreadable`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An email address with its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    /// Lower-cased on the domain part only; the local part is kept as sent.
    pub email: String,
}

impl Address {
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// One attachment (or inline non-text part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the decoded content.
    pub sha256: String,
}

/// What was odd about a message. `kind` is a stable snake_case code,
/// `detail` is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseNote {
    pub kind: String,
    pub detail: Option<String>,
}

impl ParseNote {
    pub fn new(kind: &str) -> Self {
        ParseNote {
            kind: kind.to_string(),
            detail: None,
        }
    }

    pub fn with(kind: &str, detail: impl Into<String>) -> Self {
        ParseNote {
            kind: kind.to_string(),
            detail: Some(detail.into()),
        }
    }
}

impl std::fmt::Display for ParseNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{}: {}", self.kind, d),
            None => f.write_str(&self.kind),
        }
    }
}

/// A delivery status report (RFC 3464) or a recognised non-standard bounce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// `failed`, `delayed`, `delivered`, ... when known.
    pub action: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    pub final_recipient: Option<String>,
    /// Message-ID (without angle brackets) of the message that bounced.
    pub original_message_id: Option<String>,
    pub diagnostic: Option<String>,
}

/// The text a human wrote, split from what they quoted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The whole body as text (HTML converted), nothing removed.
    pub full: String,
    /// Only what is new in this message: quoted history and signature removed.
    pub new_text: String,
    /// The quoted history, when any.
    pub quoted: Option<String>,
    /// The signature or "Sent from my iPhone" line, when any.
    pub signature: Option<String>,
    /// A forwarded message (marker line, its headers and text), kept as
    /// such: it is not this conversation's history. When the mail says
    /// nothing else, `new_text` is the forwarded message's text.
    #[serde(default)]
    pub forwarded: Option<String>,
}

/// A parsed message, owned, with everything later stages need.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ParsedEmail {
    /// Message-ID without angle brackets; synthesized from the content hash
    /// when missing (then `message_id_synthesized` is set).
    pub message_id: String,
    pub message_id_synthesized: bool,
    /// In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Decoded subject ("" when missing).
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// Every header, name lower-cased, value decoded and unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// Top-level MIME type, lower case, e.g. `multipart/report`.
    pub content_type: String,
    /// The declared charset of the body part, lower case, when any.
    pub charset: Option<String>,
    pub body: Body,
    /// The body came from HTML only.
    pub html_only: bool,
    pub attachments: Vec<Attachment>,
    /// Present for delivery status notifications and recognised bounces.
    pub delivery_report: Option<DeliveryReport>,
    pub notes: Vec<ParseNote>,
    /// Size of the raw message in bytes.
    pub size: usize,
    /// Hex SHA-256 of the raw bytes.
    pub content_hash: String,
}

impl ParsedEmail {
    /// The first header of that name (case-insensitive), decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name (case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_note(&self, kind: &str) -> bool {
        self.notes.iter().any(|n| n.kind == kind)
    }
}

/// Hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parse `raw` into a [`ParsedEmail`]. Never fails, never panics.
pub fn parse(raw: &[u8]) -> ParsedEmail {
    message::parse(raw)
}

/// The decoded bytes of the attachment listed with this SHA-256 in `raw`'s
/// [`ParsedEmail::attachments`]; `None` when no part has that hash.
pub fn attachment(raw: &[u8], sha256: &str) -> Option<Vec<u8>> {
    message::attachment(raw, sha256)
}

mod attribution;
mod charset;
mod dsn;
mod encoded_word;
mod flowed;
mod headers;
mod html;
mod markers;
mod message;
mod mime;
mod params;
mod prepare;
mod quote;

pub(crate) use quote::is_forward_subject;
mod rtf;
mod signature;
mod tnef;
mod transfer;
