//! Volume and health alerts (`[alerts]`): topics that stopped or spiked
//! against the same hours of previous weeks, silent mailboxes, a tripped
//! breaker, parked replies. Each pass ([`evaluate`]) gathers the facts,
//! detects the conditions (pure, [`detect`]), reconciles them with the
//! stored alerts ([`state`]) and mails one digest of what was raised or
//! cleared through the outbox.

pub mod detect;
pub mod gather;
pub mod state;

use crate::notify::{self, Notice, NotifyError};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;
pub use state::{active, Alert, Changes};

/// The `[alerts]` section, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertConfig {
    pub to: Vec<String>,
    pub from: Option<String>,
    /// How often the daemon looks.
    pub every: TimeDelta,
    /// The window compared with the same hours of previous weeks.
    pub window: TimeDelta,
    pub baseline_weeks: u32,
    /// "Stopped" needs at least this many tickets usually in the window.
    pub min_expected: f64,
    pub spike_factor: f64,
    pub spike_min: u32,
    /// No mail from a mailbox for this long is an alert; `None`: off.
    pub mailbox_silence: Option<TimeDelta>,
    pub remail_after: TimeDelta,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            to: Vec::new(),
            from: None,
            every: TimeDelta::minutes(5),
            window: TimeDelta::hours(6),
            baseline_weeks: 4,
            min_expected: 3.0,
            spike_factor: 3.0,
            spike_min: 10,
            mailbox_silence: None,
            remail_after: TimeDelta::hours(24),
        }
    }
}

/// The conditions that hold at `now`.
pub fn conditions(
    conn: &Connection,
    config: &AlertConfig,
    mailboxes: &[String],
    now: DateTime<Utc>,
) -> crate::store::StoreResult<Vec<detect::Condition>> {
    let volumes = gather::volumes(conn, now, config)?;
    let mut out = detect::volume(
        &volumes,
        config.min_expected,
        config.spike_factor,
        config.spike_min,
    );
    if let Some(silence) = config.mailbox_silence {
        out.extend(gather::silent_mailboxes(conn, mailboxes, now, silence)?);
    }
    out.extend(gather::breaker(conn, now)?);
    out.extend(gather::parked(conn)?);
    Ok(out)
}

/// One pass: detect, reconcile, mail one digest. Call in a transaction.
pub fn evaluate(
    conn: &Connection,
    config: &AlertConfig,
    mailboxes: &[String],
    now: DateTime<Utc>,
) -> Result<Changes, NotifyError> {
    let holding = conditions(conn, config, mailboxes, now)?;
    let changes = state::reconcile(conn, &holding, now, config.remail_after)?;
    if let (false, false, Some(from)) = (changes.is_empty(), config.to.is_empty(), &config.from) {
        let (subject, text) = digest(&changes);
        notify::queue(
            conn,
            &Notice {
                from,
                to: &config.to,
                subject: &subject,
                text: &text,
                html: None,
                kind: "alert",
                at: now,
            },
        )?;
    }
    Ok(changes)
}

fn digest(c: &Changes) -> (String, String) {
    let subject = match (c.raised.as_slice(), c.cleared.len()) {
        ([one], 0) => format!("helpgate alert: {}", one.detail),
        ([], n) => format!("helpgate: {n} alert(s) cleared"),
        (r, 0) => format!("helpgate: {} alerts", r.len()),
        (r, n) => format!("helpgate: {} alert(s), {n} cleared", r.len()),
    };
    let mut text = String::new();
    for a in &c.raised {
        text.push_str(&format!("RAISED   {}\n", a.detail));
    }
    for a in &c.cleared {
        text.push_str(&format!(
            "CLEARED  {} (since {})\n",
            a.detail,
            a.since.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    (subject, text)
}

#[cfg(test)]
mod tests;
