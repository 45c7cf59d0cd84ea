//! Specialists' accounts, web sessions and login attempts.
//!
//! Passwords never reach this module: it stores the argon2 PHC string that
//! [`crate::access::hash_password`] made. Session ids are stored hashed, so
//! a copy of the database does not hand out live sessions.

use super::{parse_ts, ts, StoreError, StoreResult};
use crate::access::Role;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A stored account.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Restricted queues this user may see (others are open to all).
    pub queues: Vec<String>,
    pub disabled: bool,
    #[serde(skip)]
    pub password_hash: String,
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    let queues: String = r.get(3)?;
    Ok(User {
        name: r.get(0)?,
        password_hash: r.get(1)?,
        // The CHECK constraint keeps other values out of the table.
        role: Role::parse(&role).unwrap_or(Role::Specialist),
        queues: serde_json::from_str(&queues).unwrap_or_default(),
        disabled: r.get::<_, i64>(4)? != 0,
    })
}

const USER_COLS: &str = "name, password_hash, role, queues, disabled";

pub fn get(conn: &Connection, name: &str) -> StoreResult<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE name = ?1"))?
        .query_row([name], user_row)
        .optional()?)
}

pub fn list(conn: &Connection) -> StoreResult<Vec<User>> {
    let mut st = conn.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))?;
    let rows = st.query_map([], user_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Add an account; an existing name is an error, not an update.
pub fn add(
    conn: &Connection,
    name: &str,
    password_hash: &str,
    role: Role,
    queues: &[String],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO users (name, password_hash, role, queues, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, password_hash, role.as_str(), serde_json::to_string(queues)?, ts(at)],
    )?;
    Ok(())
}

fn changed(n: usize) -> StoreResult<()> {
    if n == 0 {
        return Err(StoreError::NotFound {
            what: "user",
            id: 0,
        });
    }
    Ok(())
}

/// New password; every session of the user ends.
pub fn set_password(conn: &Connection, name: &str, password_hash: &str) -> StoreResult<()> {
    changed(conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE name = ?1",
        params![name, password_hash],
    )?)?;
    conn.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
    Ok(())
}

/// Disable (or enable) an account; disabling ends its sessions.
pub fn set_disabled(conn: &Connection, name: &str, disabled: bool) -> StoreResult<()> {
    changed(conn.execute(
        "UPDATE users SET disabled = ?2 WHERE name = ?1",
        params![name, disabled as i64],
    )?)?;
    if disabled {
        conn.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
    }
    Ok(())
}

/// A stored web session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    pub last_seen: DateTime<Utc>,
}

pub fn create_session(
    conn: &Connection,
    id_hash: &str,
    user: &str,
    csrf: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO sessions (id_hash, user_name, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id_hash, user, csrf, ts(at)],
    )?;
    Ok(())
}

pub fn session(conn: &Connection, id_hash: &str) -> StoreResult<Option<Session>> {
    Ok(conn
        .prepare_cached("SELECT user_name, csrf, last_seen FROM sessions WHERE id_hash = ?1")?
        .query_row([id_hash], |r| {
            let seen: String = r.get(2)?;
            Ok(Session {
                user: r.get(0)?,
                csrf: r.get(1)?,
                last_seen: parse_ts(&seen).unwrap_or_default(),
            })
        })
        .optional()?)
}

pub fn touch_session(conn: &Connection, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1")?
        .execute(params![id_hash, ts(at)])?;
    Ok(())
}

pub fn delete_session(conn: &Connection, id_hash: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
    Ok(())
}

/// Sessions idle since before `before` are gone for good.
pub fn expire_sessions(conn: &Connection, before: DateTime<Utc>) -> StoreResult<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE last_seen < ?1", [ts(before)])?)
}

pub fn record_failed_login(conn: &Connection, key: &str, at: DateTime<Utc>) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO login_attempts (key, at) VALUES (?1, ?2)",
        params![key, ts(at)],
    )?;
    Ok(())
}

pub fn failed_logins_since(conn: &Connection, key: &str, since: DateTime<Utc>) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM login_attempts WHERE key = ?1 AND at >= ?2")?
        .query_row(params![key, ts(since)], |r| r.get(0))?)
}

pub fn clear_failed_logins(conn: &Connection, key: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM login_attempts WHERE key = ?1", [key])?;
    Ok(())
}
