//! Escalation on breach: once per ticket, clock and due time (a reopened
//! ticket's fresh clock can escalate again), move the ticket to the
//! policy's queue and mail its leads through the outbox.

use super::clock::ClockState;
use super::due::{due, human, DueTicket};
use super::policy::SlaConfig;
use crate::notify::{self, Notice, NotifyError};
use crate::store::{events, ts, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection};

/// What one pass escalated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Escalated {
    pub tickets: Vec<crate::ticket::TicketId>,
    pub mails: usize,
}

fn breached(d: &DueTicket) -> Vec<(&'static str, DateTime<Utc>, i64)> {
    [
        ("first_response", d.clocks.first_response),
        ("resolution", d.clocks.resolution),
    ]
    .into_iter()
    .filter_map(|(name, s)| match s {
        ClockState::Breached { due, over_secs } => Some((name, due, over_secs)),
        _ => None,
    })
    .collect()
}

/// Escalate breaches not escalated before. Call inside a transaction,
/// after [`super::sync`].
pub fn escalate(
    conn: &Connection,
    config: &SlaConfig,
    now: DateTime<Utc>,
) -> Result<Escalated, NotifyError> {
    let mut out = Escalated::default();
    for d in due(conn, now, TimeDelta::zero())? {
        let Some(policy) = config.policy_for(&d.project, d.queue.as_deref(), d.topic.as_deref())
        else {
            continue;
        };
        let Some(esc) = &policy.escalation else {
            continue;
        };
        for (clock, due_at, over) in breached(&d) {
            let fresh = conn
                .execute(
                    "INSERT OR IGNORE INTO sla_escalations (ticket_id, clock, due, at, from_queue)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![d.id.0, clock, ts(due_at), ts(now), d.queue],
                )
                .map_err(StoreError::from)?;
            if fresh == 0 {
                continue;
            }
            let what = format!(
                "{} clock breached {} ago (due {})",
                clock.replace('_', " "),
                human(over),
                due_at.format("%Y-%m-%d %H:%M UTC")
            );
            let mut detail = what.clone();
            if let Some(q) = &esc.queue {
                // The escalation moves the ticket without touching
                // updated_at: the move is not a change to its clocks.
                conn.execute(
                    "UPDATE tickets SET queue = ?2 WHERE id = ?1",
                    params![d.id.0, q],
                )
                .map_err(StoreError::from)?;
                detail = format!("{detail}; moved to queue {q}");
            }
            events::add(conn, d.id, now, "helpgate", "sla_breach", &detail)?;
            if let (false, Some(from)) = (esc.mail.is_empty(), config.mail_from.as_deref()) {
                let subject = format!("SLA breach: ticket {} ({})", d.id.token(), d.project);
                // Ids, queue and clock only: the subject line may be
                // personal and mail to leads goes beyond the console.
                let text = format!(
                    "Ticket {} in project {}, queue {}, topic {}:\n{detail}\n",
                    d.id.token(),
                    d.project,
                    d.queue.as_deref().unwrap_or("-"),
                    d.topic.as_deref().unwrap_or("-"),
                );
                out.mails += notify::queue(
                    conn,
                    &Notice {
                        from,
                        to: &esc.mail,
                        subject: &subject,
                        text: &text,
                        html: None,
                        kind: "sla",
                        at: now,
                    },
                )?
                .len();
            }
            if !out.tickets.contains(&d.id) {
                out.tickets.push(d.id);
            }
        }
    }
    Ok(out)
}
