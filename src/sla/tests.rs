//! Clocks kept in the store: sync after changes, breaches listed,
//! escalation once.

use super::{due, escalate::escalate, sync, Escalation, Policy, SlaConfig};
use crate::store::{events, tickets, Store};
use crate::ticket::{TicketId, TicketState};
use chrono::{DateTime, TimeDelta, Utc};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn config() -> SlaConfig {
    SlaConfig {
        policies: vec![Policy {
            project: None,
            queue: Some("sensitive".into()),
            topic: None,
            first_response: TimeDelta::hours(2),
            resolution: TimeDelta::hours(8),
            auto_reply_counts: false,
            escalation: Some(Escalation {
                queue: Some("leads".into()),
                mail: vec!["lead@example.org".into()],
            }),
        }],
        mail_from: Some("helpgate@example.org".into()),
        ..SlaConfig::default()
    }
}

fn open(store: &mut Store, queue: &str, when: &str) -> TicketId {
    store
        .transaction(|tx| {
            tickets::insert(
                tx,
                &tickets::NewTicket {
                    project: "demo".into(),
                    state: TicketState::Open,
                    queue: Some(queue.into()),
                    language: None,
                    topic: Some("appeal".into()),
                    participant: None,
                    subject: "s".into(),
                    at: at(when),
                },
            )
        })
        .unwrap()
}

#[test]
fn breaches_are_listed_and_escalated_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    let c = config();
    let t = open(&mut store, "sensitive", "2026-12-01T08:00:00Z");
    let other = open(&mut store, "general", "2026-12-01T08:00:00Z");
    assert_eq!(store.transaction(|tx| sync(tx, &c)).unwrap(), 2);
    // A later pass refolds only tickets at or after the watermark (the
    // instant itself again: a change in the same millisecond is not lost).
    let third = open(&mut store, "general", "2026-12-01T09:00:00Z");
    // Here: the two tickets of 08:00 (the watermark) and the new one.
    assert_eq!(store.transaction(|tx| sync(tx, &c)).unwrap(), 3);
    assert!(super::due::clocks_of(store.conn(), third)
        .unwrap()
        .is_some());

    let near = due(
        store.conn(),
        at("2026-12-01T09:30:00Z"),
        TimeDelta::hours(1),
    )
    .unwrap();
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].id, t);
    assert!(near[0].clocks.first_response.is_near());
    assert!(!near[0].is_breached());

    let late = at("2026-12-01T10:30:00Z");
    let e = store.transaction(|tx| escalate(tx, &c, late)).unwrap();
    assert_eq!(e.tickets, [t]);
    assert_eq!(e.mails, 1);
    let moved = tickets::get(store.conn(), t).unwrap().unwrap();
    assert_eq!(moved.queue.as_deref(), Some("leads"));
    let history = events::for_ticket(store.conn(), t).unwrap();
    assert!(history[0]
        .detail
        .starts_with("first response clock breached 30m ago"));
    // The next pass finds the same breach already escalated.
    let again = store.transaction(|tx| escalate(tx, &c, late + TimeDelta::minutes(5)));
    assert_eq!(again.unwrap(), Default::default());
    assert!(due(store.conn(), late, TimeDelta::zero())
        .unwrap()
        .iter()
        .all(|d| d.id != other));

    // A reply by a person stops the first-response clock at the next sync.
    store
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO outbox (ticket_id, message_id, kind, recipient, raw, state,
                 next_attempt_at, created_at) VALUES (?1, 'm@x', 'human', 'p@x', x'00', 'sent', ?2, ?2)",
                rusqlite::params![t.0, "2026-12-01T11:00:00.000Z"],
            )?;
            tickets::set_state(tx, t, TicketState::Answered, at("2026-12-01T11:00:00Z"))
        })
        .unwrap();
    store.transaction(|tx| sync(tx, &c)).unwrap();
    // Moved to `leads`, which has no policy: the ticket keeps the clocks of
    // the queue it breached in.
    let clocks = super::due::clocks_of(store.conn(), t).unwrap().unwrap();
    assert_eq!(clocks.first_response_due, Some(at("2026-12-01T10:00:00Z")));
    assert_eq!(clocks.first_response_at, Some(at("2026-12-01T11:00:00Z")));
    assert_eq!(clocks.paused_at, Some(at("2026-12-01T11:00:00Z")));
}
