//! Message rows: the raw bytes, what parsing found and what was decided.

use super::{parse_ts, ts, StoreResult};
use crate::parse::{Attachment, DeliveryReport, ParseNote};
use crate::ticket::{MessageId, TicketId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// The parsed view kept with a message so `tickets show` needs no re-parse.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredBody {
    pub new_text: String,
    pub quoted: Option<String>,
    pub signature: Option<String>,
    /// A forwarded message kept whole (absent in rows stored before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<String>,
    pub html_only: bool,
    pub attachments: Vec<Attachment>,
    pub to: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_report: Option<DeliveryReport>,
}

/// [`StoredBody`] borrowed from the parsed mail: what `prepare` serializes
/// (off the store thread, with no copies). Same fields, same JSON.
#[derive(Debug, Serialize)]
pub struct StoredBodyRef<'a> {
    pub new_text: &'a str,
    pub quoted: Option<&'a str>,
    pub signature: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<&'a str>,
    pub html_only: bool,
    pub attachments: &'a [Attachment],
    pub to: Vec<&'a str>,
    pub date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_report: Option<&'a DeliveryReport>,
}

/// A message not yet stored.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub message_id: &'a str,
    pub content_hash: &'a str,
    pub ticket: Option<TicketId>,
    /// Where it came from: `file:PATH`, `stdin`, `imap:MAILBOX/UID`.
    pub source: &'a str,
    pub received_at: DateTime<Utc>,
    pub from: Option<&'a str>,
    pub subject: &'a str,
    pub language: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub action: &'a str,
    pub reason: &'a str,
    pub notes: &'a [ParseNote],
    /// [`StoredBody`] as JSON.
    pub body: &'a str,
    /// Guard verdict, classification and decision as one JSON object.
    pub classification: Option<&'a str>,
    pub raw: &'a [u8],
}

/// One stored message as listed by `messages list`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    pub id: MessageId,
    pub message_id: String,
    pub ticket: Option<TicketId>,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub from: Option<String>,
    pub subject: String,
    pub language: Option<String>,
    pub topic: Option<String>,
    pub action: String,
    pub reason: String,
    pub notes: Vec<ParseNote>,
    pub size: i64,
    /// Present when the message is a bounce with something known about it.
    pub bounce: Option<BounceFacts>,
}

/// What a bounce says failed, and which of our tickets it hits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BounceFacts {
    /// The address that could not be delivered to.
    pub address: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The ticket whose reply bounced (or the bounce was threaded into).
    pub ticket: Option<TicketId>,
}

impl BounceFacts {
    fn from_columns(
        address: Option<String>,
        status: Option<String>,
        ticket: Option<i64>,
    ) -> Option<Self> {
        let facts = BounceFacts {
            address,
            status,
            ticket: ticket.map(TicketId),
        };
        (facts != BounceFacts::default()).then_some(facts)
    }
}

/// Record what a bounce says on its message row.
pub fn set_bounce(conn: &Connection, id: MessageId, facts: &BounceFacts) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE messages SET bounce_addr = ?2, bounce_status = ?3, bounce_ticket = ?4 WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        facts.address,
        facts.status,
        facts.ticket.map(|t| t.0)
    ])?;
    Ok(())
}

/// A stored message with its body, for `tickets show`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub summary: MessageSummary,
    pub body: StoredBody,
    pub classification: Option<serde_json::Value>,
}

pub fn insert(conn: &Connection, m: &NewMessage<'_>) -> StoreResult<MessageId> {
    conn.prepare_cached(
        "INSERT INTO messages (message_id, content_hash, ticket_id, source, received_at, from_addr,
         subject, language, topic, action, reason, notes, parsed, classification, size, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        m.message_id,
        m.content_hash,
        m.ticket.map(|t| t.0),
        m.source,
        ts(m.received_at),
        m.from,
        m.subject,
        m.language,
        m.topic,
        m.action,
        m.reason,
        serde_json::to_string(m.notes)?,
        m.body,
        m.classification,
        m.raw.len() as i64,
        RawColumn(m.raw)
    ])?;
    let id = conn.last_insert_rowid();
    write_streamed(conn, "messages", id, m.raw)?;
    Ok(MessageId(id))
}

/// Raw mails above this size are written into their row piecewise
/// ([`write_streamed`]) instead of bound as one value.
pub(crate) const STREAM_RAW_ABOVE: usize = 1 << 20;

/// A raw mail as an SQL value: small ones bound as is, large ones as a
/// zero blob of their length that [`write_streamed`] then fills. Binding a
/// 50 MB mail made SQLite copy it twice (the bound value, then the record
/// it builds), 100 MB on top of the mail itself: the one 50 MB mail's peak
/// RSS was over its 200 MB budget.
pub(crate) struct RawColumn<'a>(pub &'a [u8]);

impl rusqlite::ToSql for RawColumn<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        if self.0.len() > STREAM_RAW_ABOVE {
            Ok(rusqlite::types::ToSqlOutput::ZeroBlob(self.0.len() as u64))
        } else {
            self.0.to_sql()
        }
    }
}

/// Fill the `raw` column of row `id` of `table` that [`RawColumn`] left a
/// zero blob, through SQLite's incremental blob I/O (page by page).
pub(crate) fn write_streamed(
    conn: &Connection,
    table: &str,
    id: i64,
    raw: &[u8],
) -> StoreResult<()> {
    if raw.len() <= STREAM_RAW_ABOVE {
        return Ok(());
    }
    let mut blob = conn.blob_open(rusqlite::MAIN_DB, table, "raw", id, false)?;
    blob.write_at(raw, 0)?;
    Ok(())
}

/// Add stored messages to the search index. The caller does this once per
/// transaction, after its last other statement: FTS5 writes its pending
/// terms to disk at every statement savepoint, so indexing each message
/// as it was inserted wrote one index segment per message and merged them
/// again (a fifth of ingest's CPU on realistic mail). The new text is taken
/// from the stored JSON by SQLite, not parsed twice here.
pub fn index_for_search(conn: &Connection, ids: &[MessageId]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(ids)?;
    conn.prepare_cached(
        "INSERT INTO messages_fts (rowid, subject, new_text)
         SELECT id, subject, json_extract(parsed, '$.new_text') FROM messages
         WHERE id IN (SELECT value FROM json_each(?1))",
    )?
    .execute([list])?;
    Ok(())
}

/// What the store already holds under a Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Nothing.
    New,
    /// This very message (same content): a duplicate.
    Same(MessageId),
    /// Another message with the same Message-ID and different content.
    Reused,
}

/// One look-up for both questions ingest asks of every message: is it a
/// duplicate, and is its Message-ID already taken by other content?
pub fn known(conn: &Connection, message_id: &str, content_hash: &str) -> StoreResult<Known> {
    let mut stmt =
        conn.prepare_cached("SELECT id, content_hash FROM messages WHERE message_id = ?1")?;
    let mut rows = stmt.query([message_id])?;
    let mut seen = Known::New;
    while let Some(r) = rows.next()? {
        let hash: String = r.get(1)?;
        if hash == content_hash {
            return Ok(Known::Same(MessageId(r.get(0)?)));
        }
        seen = Known::Reused;
    }
    Ok(seen)
}

/// The ticket that a message with this Message-ID belongs to: an incoming
/// message or one of our own replies.
pub fn ticket_of(conn: &Connection, message_id: &str) -> StoreResult<Option<TicketId>> {
    // The earliest such message; almost always the only one. Picked here
    // rather than by ORDER BY, which made SQLite build a sorter per look-up.
    let mut earliest: Option<(i64, i64)> = None;
    let mut st = conn.prepare_cached(
        "SELECT id, ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL",
    )?;
    let mut rows = st.query([message_id])?;
    while let Some(r) = rows.next()? {
        let (id, ticket): (i64, i64) = (r.get(0)?, r.get(1)?);
        if earliest.is_none_or(|(e, _)| id < e) {
            earliest = Some((id, ticket));
        }
    }
    if let Some((_, t)) = earliest {
        return Ok(Some(TicketId(t)));
    }
    let ours: Option<Option<i64>> = conn
        .prepare_cached("SELECT ticket_id FROM outbox WHERE message_id = ?1")?
        .query_row([message_id], |r| r.get(0))
        .optional()?;
    Ok(ours.flatten().map(TicketId))
}

/// The columns [`summary`] reads, in its order.
const SUMMARY_COLUMNS: &str = "id, message_id, ticket_id, source, received_at, from_addr, subject,
    language, topic, action, reason, notes, size, bounce_addr, bounce_status, bounce_ticket";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageSummary> {
    let received: String = r.get(4)?;
    let notes: String = r.get(11)?;
    Ok(MessageSummary {
        id: MessageId(r.get(0)?),
        message_id: r.get(1)?,
        ticket: r.get::<_, Option<i64>>(2)?.map(TicketId),
        source: r.get(3)?,
        received_at: parse_ts(&received).unwrap_or_default(),
        from: r.get(5)?,
        subject: r.get(6)?,
        language: r.get(7)?,
        topic: r.get(8)?,
        action: r.get(9)?,
        reason: r.get(10)?,
        notes: serde_json::from_str(&notes).unwrap_or_default(),
        size: r.get(12)?,
        bounce: BounceFacts::from_columns(r.get(13)?, r.get(14)?, r.get(15)?),
    })
}

/// Every stored message in arrival order.
pub fn list(conn: &Connection) -> StoreResult<Vec<MessageSummary>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM messages ORDER BY id"
    ))?;
    let rows = stmt.query_map([], summary)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A ticket's messages in arrival order, with bodies.
pub fn for_ticket(conn: &Connection, ticket: TicketId) -> StoreResult<Vec<MessageDetail>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS}, parsed, classification
         FROM messages WHERE ticket_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([ticket.0], |r| {
        let parsed: String = r.get(16)?;
        let class: Option<String> = r.get(17)?;
        Ok(MessageDetail {
            summary: summary(r)?,
            body: serde_json::from_str(&parsed).unwrap_or_default(),
            classification: class.and_then(|c| serde_json::from_str(&c).ok()),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The original bytes, exactly as received.
pub fn raw(conn: &Connection, id: MessageId) -> StoreResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT raw FROM messages WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?)
}

/// Ids and raw bytes of every stored message, for replays (`rules diff`).
pub fn all_raw(conn: &Connection, mut f: impl FnMut(MessageId, Vec<u8>)) -> StoreResult<()> {
    let mut stmt = conn.prepare("SELECT id, raw FROM messages ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        f(MessageId(r.get(0)?), r.get(1)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_body_writes_the_json_the_owned_one_reads() {
        let owned = StoredBody {
            new_text: "Olá, \"não\" recebi".into(),
            quoted: Some("> antes".into()),
            signature: None,
            forwarded: Some("---------- Forwarded message ---------\nOi".into()),
            html_only: true,
            attachments: vec![Attachment {
                name: Some("a.wav".into()),
                content_type: "audio/wav".into(),
                size: 3,
                sha256: "ab".into(),
            }],
            to: vec!["support@example.test".into()],
            date: parse_ts("2026-11-23T09:00:00Z"),
            delivery_report: Some(DeliveryReport {
                action: Some("failed".into()),
                ..DeliveryReport::default()
            }),
        };
        let borrowed = StoredBodyRef {
            new_text: &owned.new_text,
            quoted: owned.quoted.as_deref(),
            signature: None,
            forwarded: owned.forwarded.as_deref(),
            html_only: true,
            attachments: &owned.attachments,
            to: owned.to.iter().map(String::as_str).collect(),
            date: owned.date,
            delivery_report: owned.delivery_report.as_ref(),
        };
        let json = serde_json::to_string(&borrowed).unwrap();
        assert_eq!(json, serde_json::to_string(&owned).unwrap());
        let back: StoredBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back.attachments[0].name.as_deref(), Some("a.wav"));
    }
}
