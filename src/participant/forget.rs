//! `helpgate forget PARTICIPANT`: erase a person on request.
//!
//! What goes: raw mail, subjects, texts, attachment names, addresses,
//! names, participant and task IDs, in messages, tickets, events, outbox,
//! suppression, rate-limit state, quarantine and the full-text index. What
//! stays: each message's and ticket's topic, language, action, state,
//! queue and dates, so reports count the same before and after. The
//! erasure itself is recorded with counts only.
//!
//! SQLite keeps old page images around: freed pages, the WAL. So the
//! erasure runs with `secure_delete` (freed content is zeroed), then the
//! WAL is checkpointed and truncated, the file rebuilt by VACUUM, and the
//! WAL truncated again; `Erased::wal_left` says if a reader (a running
//! daemon mid-read) kept the WAL from being emptied.

use crate::store::{ts, Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::BTreeSet;

/// Whom a request is about: every address and participant ID that the
/// given one leads to, and the tickets and messages they touch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Person {
    pub addresses: BTreeSet<String>,
    pub participant_ids: BTreeSet<String>,
    pub tickets: BTreeSet<i64>,
    pub messages: BTreeSet<i64>,
    pub outbox: BTreeSet<i64>,
    /// Message-IDs of those replies: the file transport names its .eml
    /// files after them ([`crate::transport::eml_path`]).
    #[serde(skip)]
    pub outbox_message_ids: BTreeSet<String>,
    pub quarantine: BTreeSet<i64>,
}

/// Find everything held about `who` (an address or a participant ID).
pub fn find(conn: &Connection, who: &str) -> StoreResult<Person> {
    let who = who.trim();
    let mut p = Person::default();
    if who.contains('@') {
        p.addresses.insert(who.to_lowercase());
    } else {
        p.participant_ids.insert(who.to_uppercase());
    }
    // Two rounds: an address leads to IDs and an ID to addresses; a
    // further round would reach people who merely shared an ID. A message
    // the person wrote into someone else's ticket is theirs; that ticket
    // is not.
    for _ in 0..2 {
        for a in p.addresses.clone() {
            collect(
                conn,
                "SELECT id FROM tickets WHERE lower(participant) = ?1",
                &a,
                &mut p.tickets,
            )?;
            collect(
                conn,
                "SELECT id FROM messages WHERE lower(from_addr) = ?1",
                &a,
                &mut p.messages,
            )?;
        }
        for id in p.participant_ids.clone() {
            collect(
                conn,
                "SELECT id FROM tickets WHERE participant_id = ?1",
                &id,
                &mut p.tickets,
            )?;
            collect(
                conn,
                "SELECT id FROM messages WHERE participant_id = ?1",
                &id,
                &mut p.messages,
            )?;
        }
        for t in p.tickets.clone() {
            let t = t.to_string();
            collect(
                conn,
                "SELECT id FROM messages WHERE ticket_id = ?1",
                &t,
                &mut p.messages,
            )?;
            text(
                conn,
                "SELECT lower(participant) FROM tickets WHERE id = ?1 AND participant IS NOT NULL",
                &t,
                &mut p.addresses,
            )?;
            text(
                conn,
                "SELECT participant_id FROM tickets WHERE id = ?1 AND participant_id IS NOT NULL",
                &t,
                &mut p.participant_ids,
            )?;
        }
        for m in p.messages.clone() {
            let m = m.to_string();
            text(
                conn,
                "SELECT participant_id FROM messages WHERE id = ?1 AND participant_id IS NOT NULL",
                &m,
                &mut p.participant_ids,
            )?;
        }
    }
    for t in &p.tickets {
        collect(
            conn,
            "SELECT id FROM outbox WHERE ticket_id = ?1",
            &t.to_string(),
            &mut p.outbox,
        )?;
    }
    for a in &p.addresses {
        collect(
            conn,
            "SELECT id FROM outbox WHERE lower(recipient) = ?1",
            a,
            &mut p.outbox,
        )?;
    }
    for o in &p.outbox {
        text(
            conn,
            "SELECT message_id FROM outbox WHERE id = ?1",
            &o.to_string(),
            &mut p.outbox_message_ids,
        )?;
    }
    // Mail that could not be stored is searched byte for byte.
    for needle in p.addresses.iter().chain(&p.participant_ids) {
        collect(
            conn,
            "SELECT id FROM quarantine WHERE instr(lower(CAST(raw AS TEXT)), lower(?1)) > 0",
            needle,
            &mut p.quarantine,
        )?;
    }
    Ok(p)
}

fn collect(conn: &Connection, sql: &str, arg: &str, out: &mut BTreeSet<i64>) -> StoreResult<()> {
    let mut st = conn.prepare_cached(sql)?;
    for id in st.query_map([arg], |r| r.get::<_, i64>(0))? {
        out.insert(id?);
    }
    Ok(())
}

fn text(conn: &Connection, sql: &str, arg: &str, out: &mut BTreeSet<String>) -> StoreResult<()> {
    let mut st = conn.prepare_cached(sql)?;
    for v in st.query_map([arg], |r| r.get::<_, String>(0))? {
        out.insert(v?);
    }
    Ok(())
}

/// What an erasure changed (also what `erasures.counts` holds).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub tickets: usize,
    pub messages: usize,
    pub outbox: usize,
    pub events: usize,
    pub suppression: usize,
    pub rate_limit_rows: usize,
    pub quarantine: usize,
}

/// The result of [`forget`].
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    pub erasure: i64,
    pub counts: Counts,
    /// Bytes left in the WAL after the final checkpoint (0 = emptied).
    pub wal_left: u64,
    /// Reply files of the file transport removed.
    pub outbox_files: usize,
}

/// Erase `person` (from [`find`]); `actor` goes in the record. Replies
/// the file transport wrote to `outbox_dir` are removed too.
pub fn forget(
    store: &mut Store,
    person: &Person,
    outbox_dir: Option<&std::path::Path>,
    actor: &str,
    now: DateTime<Utc>,
) -> StoreResult<Erased> {
    store.conn().pragma_update(None, "secure_delete", "ON")?;
    let (erasure, counts) = store.transaction(|tx| erase(tx, person, actor, now))?;
    let conn = store.conn();
    conn.execute_batch("INSERT INTO messages_fts(messages_fts) VALUES('optimize')")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.execute_batch("VACUUM")?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    let wal = store.path().with_extension("db-wal");
    let wal_left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    if busy != 0 || wal_left != 0 {
        tracing::warn!(wal_left, "WAL not emptied after an erasure: another connection is reading; run forget again when it is idle");
    }
    let mut files = 0;
    for id in outbox_dir.into_iter().flat_map(|d| {
        person
            .outbox_message_ids
            .iter()
            .map(move |m| crate::transport::eml_path(d, m))
    }) {
        if std::fs::remove_file(&id).is_ok() {
            files += 1;
        }
    }
    Ok(Erased {
        erasure,
        counts,
        wal_left,
        outbox_files: files,
    })
}

fn erase(
    tx: &Connection,
    p: &Person,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(i64, Counts), StoreError> {
    let mut c = Counts::default();
    let empty_body = r#"{"new_text":"","quoted":null,"signature":null,"html_only":false,"attachments":[],"to":[],"date":null}"#;
    for m in &p.messages {
        c.messages += tx.execute(
            "UPDATE messages SET raw = x'', subject = '', from_addr = NULL, parsed = ?2,
               classification = NULL, notes = '[]', reason = 'erased on request',
               participant_id = NULL, task_ids = NULL, bounce_addr = NULL,
               message_id = 'erased-' || id || '@helpgate.invalid',
               content_hash = 'erased-' || id
             WHERE id = ?1",
            params![m, empty_body],
        )?;
        tx.execute("DELETE FROM messages_fts WHERE rowid = ?1", [m])?;
    }
    for t in &p.tickets {
        c.tickets += tx.execute(
            "UPDATE tickets SET participant = NULL, participant_id = NULL, subject = '(erased)' WHERE id = ?1",
            [t],
        )?;
        c.events += tx.execute(
            "UPDATE ticket_events SET detail = '(erased)' WHERE ticket_id = ?1",
            [t],
        )?;
    }
    for o in &p.outbox {
        c.outbox += tx.execute(
            "UPDATE outbox SET raw = x'', recipient = '(erased)', last_error = NULL,
               message_id = 'erased-outbox-' || id WHERE id = ?1",
            [o],
        )?;
    }
    for a in &p.addresses {
        c.suppression += tx.execute("DELETE FROM suppression WHERE lower(address) = ?1", [a])?;
        c.rate_limit_rows +=
            tx.execute("DELETE FROM auto_replies WHERE lower(recipient) = ?1", [a])?;
    }
    for q in &p.quarantine {
        c.quarantine += tx.execute("DELETE FROM quarantine WHERE id = ?1", [q])?;
    }
    tx.execute(
        "INSERT INTO erasures (at, actor, counts) VALUES (?1, ?2, ?3)",
        params![ts(now), actor, serde_json::to_string(&c)?],
    )?;
    Ok((tx.last_insert_rowid(), c))
}
