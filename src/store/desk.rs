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

/// `''` is how the counters spell "none"; the console shows `-`.
fn shown(key: String) -> String {
    if key.is_empty() {
        "-".into()
    } else {
        key
    }
}

/// Read from the counters migration 7 keeps (a few hundred rows), not from
/// the tickets: aggregating 300,000 tickets three times took 176-304 ms.
pub fn overview(conn: &Connection, hidden: &str) -> StoreResult<Overview> {
    let mut st = conn.prepare_cached(
        "SELECT c.queue, SUM(CASE WHEN c.state = 'open' THEN c.n ELSE 0 END),
            SUM(CASE WHEN c.state = 'answered' THEN c.n ELSE 0 END),
            SUM(CASE WHEN c.state = 'open' AND c.unassigned THEN c.n ELSE 0 END)
         FROM desk_counts c WHERE c.queue NOT IN (SELECT value FROM json_each(?1))
         GROUP BY c.queue HAVING SUM(c.n) > 0 ORDER BY c.queue",
    )?;
    let counted: Vec<(String, i64, i64, i64)> = st
        .query_map([hidden], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    // The oldest open ticket of a queue: the first entry of its
    // (queue, state, updated_at) index.
    let mut oldest = conn.prepare_cached(
        "SELECT t.updated_at FROM tickets t
         WHERE t.queue IS ?1 AND t.state = 'open' AND t.merged_into IS NULL
         ORDER BY t.updated_at LIMIT 1",
    )?;
    let mut queues = Vec::with_capacity(counted.len());
    for (queue, open, waiting, unassigned) in counted {
        let key = (!queue.is_empty()).then_some(queue.as_str());
        let at: Option<String> = oldest.query_row([key], |r| r.get(0)).optional()?;
        queues.push(QueueStats {
            queue: shown(queue),
            open,
            waiting,
            unassigned,
            oldest_open: at.as_deref().and_then(parse_ts),
        });
    }
    let breakdown = |col: &str| -> StoreResult<Vec<Breakdown>> {
        let mut st = conn.prepare_cached(&format!(
            "SELECT c.queue, c.{col}, SUM(c.n) FROM desk_counts c
             WHERE c.state = 'open' AND c.queue NOT IN (SELECT value FROM json_each(?1))
             GROUP BY c.queue, c.{col} HAVING SUM(c.n) > 0
             ORDER BY c.queue, SUM(c.n) DESC, c.{col}"
        ))?;
        let rows = st.query_map([hidden], |r| {
            Ok(Breakdown {
                queue: shown(r.get(0)?),
                key: shown(r.get(1)?),
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

    fn reverse_order_by(self) -> &'static str {
        match self {
            Sort::Oldest => "t.updated_at DESC, t.id DESC",
            Sort::Newest => "t.updated_at ASC, t.id ASC",
            Sort::Id => "t.id DESC",
        }
    }
}

/// Where a list page starts: just after or just before a row, by that
/// row's sort key. Paging by key reads one page of an index wherever it is;
/// OFFSET read (and skipped) every row before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyset {
    After(Cursor),
    Before(Cursor),
}

/// A row's place in every sort: its update time (as stored) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub updated_at: String,
    pub id: i64,
}

impl Cursor {
    pub fn of(t: &DeskTicket) -> Cursor {
        Cursor {
            updated_at: ts(t.updated_at),
            id: t.id.0,
        }
    }

    /// `2026-11-23T09:00:00.000Z_42`, as it travels in a URL.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.updated_at, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (at, id) = s.rsplit_once('_')?;
        parse_ts(at)?;
        Some(Cursor {
            updated_at: at.to_string(),
            id: id.parse().ok()?,
        })
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
    /// 0-based; used only without `keyset`.
    pub page: u32,
    pub per_page: u32,
    pub keyset: Option<Keyset>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub tickets: Vec<DeskTicket>,
    pub total: i64,
    /// Rows exist before the first / after the last of this page.
    pub more_before: bool,
    pub more_after: bool,
}

/// The total of a filter the counters can answer (queue, state, topic,
/// language, unassigned); `None` for the others.
fn counted_total(conn: &Connection, hidden: &str, f: &Filter) -> StoreResult<Option<i64>> {
    if f.mine.is_some() || f.participant.is_some() || f.older_than.is_some() {
        return Ok(None);
    }
    let mut cond = vec!["c.queue NOT IN (SELECT value FROM json_each(?1))".to_string()];
    let mut args: Vec<Value> = vec![Value::Text(hidden.to_string())];
    for (col, v) in [
        ("c.queue", f.queue.clone()),
        ("c.state", f.state.map(|s| s.as_str().to_string())),
        ("c.topic", f.topic.clone()),
        ("c.language", f.language.clone()),
    ] {
        if let Some(v) = v {
            args.push(Value::Text(v));
            cond.push(format!("{col} = ?{}", args.len()));
        }
    }
    if f.unassigned {
        cond.push("c.unassigned".into());
    }
    let n = conn
        .prepare_cached(&format!(
            "SELECT COALESCE(SUM(c.n), 0) FROM desk_counts c WHERE {}",
            cond.join(" AND ")
        ))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    Ok(Some(n))
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
    let total = match counted_total(conn, hidden, f)? {
        // Nothing to page through: no need to look for rows.
        Some(0) => {
            return Ok(Page {
                tickets: Vec::new(),
                total: 0,
                more_before: false,
                more_after: false,
            })
        }
        Some(n) => n,
        None => conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM tickets t WHERE {}",
                cond.join(" AND ")
            ))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?,
    };
    // Going back reads the page in reverse order from its first row.
    let backwards = matches!(f.keyset, Some(Keyset::Before(_)));
    if let Some(Keyset::After(c) | Keyset::Before(c)) = &f.keyset {
        args.push(Value::Text(c.updated_at.clone()));
        let at = args.len();
        args.push(Value::Integer(c.id));
        let id = args.len();
        // Ascending in the sort's own order: "after" is greater.
        let greater = matches!(f.sort, Sort::Oldest | Sort::Id) != backwards;
        let (op, op_eq) = if greater { (">", ">=") } else { ("<", "<=") };
        cond.push(match f.sort {
            Sort::Id => format!("t.id {op} ?{id}"),
            _ => format!(
                "t.updated_at {op_eq} ?{at} AND (t.updated_at {op} ?{at} OR t.id {op} ?{id})"
            ),
        });
    }
    let per = f.per_page.clamp(1, 1_000_000);
    let order = if backwards {
        f.sort.reverse_order_by()
    } else {
        f.sort.order_by()
    };
    let offset = if f.keyset.is_none() {
        u64::from(f.page) * u64::from(per)
    } else {
        0
    };
    // One row more than a page says whether another page follows.
    let sql = format!(
        "SELECT {COLS} FROM tickets t WHERE {} ORDER BY {order} LIMIT {} OFFSET {offset}",
        cond.join(" AND "),
        u64::from(per) + 1
    );
    let mut tickets: Vec<DeskTicket> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), row)?
        .collect::<Result<_, _>>()?;
    let more = tickets.len() > per as usize;
    tickets.truncate(per as usize);
    if backwards {
        tickets.reverse();
    }
    let (more_before, more_after) = match f.keyset {
        None => (offset > 0, more),
        Some(Keyset::After(_)) => (true, more),
        Some(Keyset::Before(_)) => (more, true),
    };
    Ok(Page {
        tickets,
        total,
        more_before,
        more_after,
    })
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
