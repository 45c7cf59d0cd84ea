//! Where mail comes from. Every source hands on [`RawMessage`]s that own
//! their bytes; a source acknowledges a message only after its outcome is
//! committed.

pub mod files;
pub mod imap;
pub mod mbox;

/// One message as received, before parsing.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// Where it came from, for the record: `file:PATH`, `stdin`,
    /// `imap:MAILBOX/UID`.
    pub source: String,
    /// The configured mailbox it arrived in (IMAP intake), for project routing.
    pub mailbox: Option<String>,
    pub bytes: Vec<u8>,
}
