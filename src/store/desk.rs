//! The specialists' read queries: queue overview, filtered ticket pages,
//! full-text search, a ticket's replies and its participant's other tickets.
//!
//! Every query takes the viewer's hidden queues (a JSON array, see
//! [`crate::access::Viewer::hidden_queues_json`]) and applies it in SQL, so a
//! restricted ticket is absent from rows and counts alike.

use super::tickets::{self, Ticket};
use super::{parse_ts, ts, StoreResult};
use crate::ticket::{TicketId, TicketState};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

/// The visibility condition on `t`, with the hidden queues as `?1`.
const VISIBLE: &str = "COALESCE(t.queue, '') NOT IN (SELECT value FROM json_each(?1))";

/// One queue's line on the overview.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStats {
    pub queue: String,
    pub open: i64,
    /// Answered, waiting for the participant.
    pub waiting: i64,
    pub unassigned: i64,
    pub oldest_open: Option<DateTime<Utc>>,
}

/// Open tickets of one queue by topic or language.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub queue: String,
    pub key: String,
    pub open: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub queues: Vec<QueueStats>,
    pub by_topic: Vec<Breakdown>,
    pub by_language: Vec<Breakdown>,
}

pub fn overview(conn: &Connection, hidden: &str) -> StoreResult<Overview> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT COALESCE(t.queue, '-'),
            SUM(t.state = 'open'), SUM(t.state = 'answered'),
            SUM(t.state = 'open' AND t.claimed_by IS NULL AND t.assigned_to IS NULL),
            MIN(CASE WHEN t.state = 'open' THEN t.updated_at END)
         FROM tickets t WHERE {VISIBLE} AND t.merged_into IS NULL
         GROUP BY t.queue ORDER BY t.queue"
    ))?;
    let queues = st
        .query_map([hidden], |r| {
            let oldest: Option<String> = r.get(4)?;
            Ok(QueueStats {
                queue: r.get(0)?,
                open: r.get(1)?,
                waiting: r.get(2)?,
                unassigned: r.get(3)?,
                oldest_open: oldest.as_deref().and_then(parse_ts),
            })
        })?
        .collect::<Result<_, _>>()?;
    let breakdown = |col: &str| -> StoreResult<Vec<Breakdown>> {
        let mut st = conn.prepare_cached(&format!(
            "SELECT COALESCE(t.queue, '-'), COALESCE(t.{col}, '-'), COUNT(*) FROM tickets t
             WHERE t.state = 'open' AND {VISIBLE} AND t.merged_into IS NULL
             GROUP BY t.queue, t.{col} ORDER BY t.queue, COUNT(*) DESC"
        ))?;
        let rows = st.query_map([hidden], |r| {
            Ok(Breakdown {
                queue: r.get(0)?,
                key: r.get(1)?,
                open: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    Ok(Overview {
        queues,
        by_topic: breakdown("topic")?,
        by_language: breakdown("language")?,
    })
}

/// A ticket as the desk lists and shows it: the stored ticket plus who
/// it is assigned to and what it was merged into.
#[derive(Debug, Clone, Serialize)]
pub struct DeskTicket {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub assigned_to: Option<String>,
    pub merged_into: Option<TicketId>,
}

impl std::ops::Deref for DeskTicket {
    type Target = Ticket;
    fn deref(&self) -> &Ticket {
        &self.ticket
    }
}

/// The ticket columns, then the desk's own (read by [`row`]).
const COLS: &str = concat!(tickets::ticket_columns!(), ", t.assigned_to, t.merged_into");

fn row(r: &Row<'_>) -> rusqlite::Result<DeskTicket> {
    Ok(DeskTicket {
        ticket: tickets::from_row(r)?,
        assigned_to: r.get(12)?,
        merged_into: r.get::<_, Option<i64>>(13)?.map(TicketId),
    })
}

/// One ticket, or `None` when it does not exist *or* the viewer may not see
/// it: a hidden ticket looks exactly like a missing one.
pub fn ticket(conn: &Connection, hidden: &str, id: TicketId) -> StoreResult<Option<DeskTicket>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM tickets t WHERE t.id = ?2 AND {VISIBLE}"
        ))?
        .query_row(params![hidden, id.0], row)
        .optional()?)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Longest waiting first (least recently updated).
    #[default]
    Oldest,
    Newest,
    Id,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Sort> {
        Some(match s {
            "oldest" => Sort::Oldest,
            "newest" => Sort::Newest,
            "id" => Sort::Id,
            _ => return None,
        })
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Oldest => "t.updated_at ASC, t.id ASC",
            Sort::Newest => "t.updated_at DESC, t.id DESC",
            Sort::Id => "t.id ASC",
        }
    }
}

/// Which tickets a list shows. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub queue: Option<String>,
    pub state: Option<TicketState>,
    pub topic: Option<String>,
    pub language: Option<String>,
    /// Claimed by or assigned to this person.
    pub mine: Option<String>,
    pub unassigned: bool,
    /// Participant address (exact, case-insensitive).
    pub participant: Option<String>,
    /// Updated before this instant (waiting at least so long).
    pub older_than: Option<DateTime<Utc>>,
    pub sort: Sort,
    /// 0-based.
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub tickets: Vec<DeskTicket>,
    pub total: i64,
}

pub fn list(conn: &Connection, hidden: &str, f: &Filter) -> StoreResult<Page> {
    let mut cond = vec![VISIBLE.to_string(), "t.merged_into IS NULL".to_string()];
    let mut args: Vec<Value> = vec![Value::Text(hidden.to_string())];
    let mut eq = |col: &str, v: Option<String>| {
        if let Some(v) = v {
            args.push(Value::Text(v));
            cond.push(format!("{col} = ?{}", args.len()));
        }
    };
    eq("t.queue", f.queue.clone());
    eq("t.state", f.state.map(|s| s.as_str().to_string()));
    eq("t.topic", f.topic.clone());
    eq("t.language", f.language.clone());
    eq(
        "t.participant",
        f.participant.as_ref().map(|p| p.to_lowercase()),
    );
    if let Some(t) = f.older_than {
        args.push(Value::Text(ts(t)));
        cond.push(format!("t.updated_at < ?{}", args.len()));
    }
    if let Some(me) = &f.mine {
        args.push(Value::Text(me.clone()));
        let n = args.len();
        cond.push(format!("(t.claimed_by = ?{n} OR t.assigned_to = ?{n})"));
    }
    if f.unassigned {
        cond.push("t.claimed_by IS NULL AND t.assigned_to IS NULL".into());
    }
    let wh = cond.join(" AND ");
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM tickets t WHERE {wh}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let per = f.per_page.clamp(1, 1_000_000);
    let sql = format!(
        "SELECT {COLS} FROM tickets t WHERE {wh} ORDER BY {} LIMIT {per} OFFSET {}",
        f.sort.order_by(),
        u64::from(f.page) * u64::from(per)
    );
    let tickets = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), row)?
        .collect::<Result<_, _>>()?;
    Ok(Page { tickets, total })
}

/// Words as an FTS5 query: each one quoted, so no input is FTS syntax.
/// `None` when nothing searchable is left.
pub fn fts_query(words: &str) -> Option<String> {
    let terms: Vec<String> = words
        .split_whitespace()
        .take(16)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Tickets whose messages match `words` in subject or new text, most
/// recently updated first.
pub fn search(
    conn: &Connection,
    hidden: &str,
    words: &str,
    limit: u32,
) -> StoreResult<Vec<DeskTicket>> {
    let Some(q) = fts_query(words) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {COLS} FROM tickets t WHERE t.id IN (
            SELECT m.ticket_id FROM messages_fts f JOIN messages m ON m.id = f.rowid
            WHERE messages_fts MATCH ?2 LIMIT 5000)
         AND {VISIBLE} ORDER BY t.updated_at DESC LIMIT {}",
        limit.clamp(1, 500)
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![hidden, q], row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The participant's other visible tickets, newest first.
pub fn others_of(
    conn: &Connection,
    hidden: &str,
    t: &DeskTicket,
    limit: u32,
) -> StoreResult<Vec<DeskTicket>> {
    let Some(p) = &t.participant else {
        return Ok(Vec::new());
    };
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM tickets t WHERE t.participant = ?2 AND t.id != ?3 AND {VISIBLE}
             ORDER BY t.id DESC LIMIT {}",
            limit.clamp(1, 200)
        ))?
        .query_map(params![hidden, p, t.id.0], row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One of our replies on a ticket: its text and where delivery stands.
#[derive(Debug, Clone, Serialize)]
pub struct SentReply {
    pub id: i64,
    pub kind: String,
    pub template: Option<String>,
    pub recipient: String,
    pub state: String,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The message as queued (headers and body, as on the wire).
    pub raw: Vec<u8>,
}

pub fn replies(conn: &Connection, ticket: TicketId) -> StoreResult<Vec<SentReply>> {
    let mut st = conn.prepare_cached(
        "SELECT id, kind, template, recipient, state, last_error, created_at, sent_at, raw
         FROM outbox WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([ticket.0], |r| {
        let created: String = r.get(6)?;
        let sent: Option<String> = r.get(7)?;
        Ok(SentReply {
            id: r.get(0)?,
            kind: r.get(1)?,
            template: r.get(2)?,
            recipient: r.get(3)?,
            state: r.get(4)?,
            last_error: r.get(5)?,
            created_at: parse_ts(&created).unwrap_or_default(),
            sent_at: sent.as_deref().and_then(parse_ts),
            raw: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
