//! `helpgate export PARTICIPANT DIR`: everything held about a person (a
//! data access request): `export.json` plus each stored mail byte for byte
//! (`messages/<id>.eml`) and each reply we wrote (`outbox/<id>.eml`).

use crate::participant::forget::Person;
use crate::participant::link;
use crate::store::{events, messages, tickets, StoreError};
use crate::ticket::{MessageId, TicketId};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the store")]
    Store(#[from] StoreError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Written {
    pub tickets: usize,
    pub messages: usize,
    pub outbox: usize,
}

/// Write the export of `person` into `dir` (created; must be empty or new).
pub fn export(conn: &Connection, person: &Person, dir: &Path) -> Result<Written, ExportError> {
    let write = |path: PathBuf, bytes: &[u8]| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ExportError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| ExportError::Write { path, source })
    };
    let mut out = Written::default();
    let mut ticket_list = Vec::new();
    for &id in &person.tickets {
        let t = TicketId(id);
        let Some(ticket) = tickets::get(conn, t)? else {
            continue;
        };
        let mut v = serde_json::to_value(&ticket).map_err(StoreError::from)?;
        let links = link::links(conn, t)?;
        v["participant_id"] = json!(links.participant_id);
        v["task_ids"] = json!(links.task_ids);
        v["events"] =
            serde_json::to_value(events::for_ticket(conn, t)?).map_err(StoreError::from)?;
        ticket_list.push(v);
        out.tickets += 1;
    }
    let mut message_list = Vec::new();
    for &id in &person.messages {
        let (detail, pid, tasks) = message(conn, id)?;
        if let Some(raw) = messages::raw(conn, MessageId(id))? {
            write(dir.join("messages").join(format!("{id}.eml")), &raw)?;
        }
        let mut v = detail;
        v["participant_id"] = json!(pid);
        v["task_ids"] = tasks.map_or(Value::Null, |t| {
            serde_json::from_str(&t).unwrap_or(Value::Null)
        });
        v["raw_file"] = json!(format!("messages/{id}.eml"));
        message_list.push(v);
        out.messages += 1;
    }
    let mut outbox_list = Vec::new();
    for &id in &person.outbox {
        let row = conn
            .query_row(
                "SELECT ticket_id, kind, template, recipient, state, created_at, sent_at, raw FROM outbox WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        json!({
                            "id": id,
                            "ticket": r.get::<_, Option<i64>>(0)?,
                            "kind": r.get::<_, String>(1)?,
                            "template": r.get::<_, Option<String>>(2)?,
                            "recipient": r.get::<_, String>(3)?,
                            "state": r.get::<_, String>(4)?,
                            "created_at": r.get::<_, String>(5)?,
                            "sent_at": r.get::<_, Option<String>>(6)?,
                            "raw_file": format!("outbox/{id}.eml"),
                        }),
                        r.get::<_, Vec<u8>>(7)?,
                    ))
                },
            )
            .optional()
            .map_err(StoreError::from)?;
        if let Some((v, raw)) = row {
            write(dir.join("outbox").join(format!("{id}.eml")), &raw)?;
            outbox_list.push(v);
            out.outbox += 1;
        }
    }
    let mut suppression = Vec::new();
    for a in &person.addresses {
        let mut st = conn
            .prepare("SELECT address, reason, until, created_at FROM suppression WHERE lower(address) = ?1")
            .map_err(StoreError::from)?;
        let rows = st
            .query_map(params![a], |r| {
                Ok(json!({
                    "address": r.get::<_, String>(0)?,
                    "reason": r.get::<_, String>(1)?,
                    "until": r.get::<_, String>(2)?,
                    "created_at": r.get::<_, String>(3)?,
                }))
            })
            .map_err(StoreError::from)?;
        for row in rows {
            suppression.push(row.map_err(StoreError::from)?);
        }
    }
    let doc = json!({
        "addresses": person.addresses,
        "participant_ids": person.participant_ids,
        "tickets": ticket_list,
        "messages": message_list,
        "outbox": outbox_list,
        "suppression": suppression,
        "quarantine": person.quarantine,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(StoreError::from)?;
    write(dir.join("export.json"), text.as_bytes())?;
    Ok(out)
}

fn message(
    conn: &Connection,
    id: i64,
) -> Result<(Value, Option<String>, Option<String>), StoreError> {
    let (pid, tasks) = conn.query_row(
        "SELECT participant_id, task_ids FROM messages WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        },
    )?;
    let ticket: Option<i64> =
        conn.query_row("SELECT ticket_id FROM messages WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    let detail = match ticket {
        Some(t) => messages::for_ticket(conn, TicketId(t))?
            .into_iter()
            .find(|m| m.summary.id == MessageId(id))
            .map(serde_json::to_value)
            .transpose()?,
        None => None,
    };
    let detail = match detail {
        Some(d) => d,
        None => messages::list(conn)?
            .into_iter()
            .find(|m| m.id == MessageId(id))
            .map(serde_json::to_value)
            .transpose()?
            .unwrap_or(Value::Null),
    };
    Ok((detail, pid, tasks))
}
