//! The alert pass on synthetic timelines: a topic that stops and comes
//! back, a spike, a flapping condition; mail counted in the outbox.

use super::{evaluate, AlertConfig};
use crate::clock::Clock;
use crate::store::{tickets, Store};
use crate::ticket::TicketState;
use chrono::{DateTime, TimeDelta, Utc};

fn config() -> AlertConfig {
    AlertConfig {
        to: vec!["crowd@example.org".into()],
        from: Some("helpgate@example.org".into()),
        ..AlertConfig::default()
    }
}

fn ticket(store: &mut Store, topic: &str, at: DateTime<Utc>) {
    store
        .transaction(|tx| {
            tickets::insert(
                tx,
                &tickets::NewTicket {
                    project: "demo".into(),
                    state: TicketState::Answered,
                    queue: None,
                    language: Some("en".into()),
                    topic: Some(topic.into()),
                    participant: None,
                    subject: "s".into(),
                    at,
                },
            )
        })
        .unwrap();
}

fn mails(store: &Store) -> Vec<String> {
    let mut stmt = store
        .conn()
        .prepare("SELECT raw FROM outbox WHERE kind = 'alert' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|r| String::from_utf8_lossy(&r.unwrap()).into_owned())
        .collect()
}

fn pass(store: &mut Store, c: &AlertConfig, clock: &Clock) -> super::Changes {
    let now = clock.now();
    store.transaction(|tx| evaluate(tx, c, &[], now)).unwrap()
}

fn start() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

/// Four weeks of one payment ticket an hour.
fn steady(store: &mut Store, hours: i64) {
    for h in 0..hours {
        ticket(store, "payment", start() + TimeDelta::hours(h));
    }
}

#[test]
fn payment_tickets_stop_then_come_back_one_mail_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    let c = config();
    let weeks4 = 4 * 7 * 24;
    steady(&mut store, weeks4);
    // Mail stops at the end of week 4. Look every 5 minutes for 12 hours.
    let mut raised_at = None;
    for step in 0..(12 * 12) {
        let clock = Clock::fixed(start() + TimeDelta::hours(weeks4) + TimeDelta::minutes(5 * step));
        let ch = pass(&mut store, &c, &clock);
        if !ch.raised.is_empty() {
            assert!(raised_at.is_none(), "raised twice at step {step}");
            assert_eq!(ch.raised[0].key, "stopped:demo:payment");
            raised_at = Some(step);
        }
    }
    // The window is 6 hours: the last ticket falls out of it after 5h05m.
    assert_eq!(raised_at, Some(61));
    assert_eq!(mails(&store).len(), 1, "one mail, not one per pass");
    assert!(mails(&store)[0].contains("demo: no payment tickets in the last window"));
    let active = super::active(store.conn()).unwrap();
    assert_eq!(active.len(), 1);

    // Tickets come back: cleared at the next pass, one mail saying so.
    let back = start() + TimeDelta::hours(weeks4 + 12);
    ticket(&mut store, "payment", back);
    let ch = pass(&mut store, &c, &Clock::fixed(back + TimeDelta::minutes(1)));
    assert_eq!(ch.cleared.len(), 1);
    assert!(super::active(store.conn()).unwrap().is_empty());
    let all = mails(&store);
    assert_eq!(all.len(), 2);
    assert!(all[1].contains("CLEARED"), "{}", all[1]);
    // Nothing more while it stays normal.
    let ch = pass(&mut store, &c, &Clock::fixed(back + TimeDelta::minutes(6)));
    assert!(ch.is_empty());
    assert_eq!(mails(&store).len(), 2);
}

#[test]
fn a_spike_is_raised_and_a_flapping_one_mails_once_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    let c = config();
    let weeks4 = 4 * 7 * 24;
    steady(&mut store, weeks4);
    let now = start() + TimeDelta::hours(weeks4);
    // A failed payout run: 30 payment tickets in half an hour on top of the
    // 5 of the hours before (the same 6 hours held 6, 6, 6 and 1 tickets
    // in the weeks before: the first week started at midnight).
    for i in 0..30 {
        ticket(&mut store, "payment", now + TimeDelta::minutes(i));
    }
    let ch = pass(&mut store, &c, &Clock::fixed(now + TimeDelta::minutes(31)));
    assert_eq!(ch.raised.len(), 1);
    assert_eq!(ch.raised[0].kind, "spike");
    assert!(
        ch.raised[0]
            .detail
            .contains("35 payment tickets in the last window (usually 4.8)"),
        "{:?}",
        ch.raised
    );

    // A condition that comes and goes every pass (parked replies retried
    // and parked again): raised once, cleared once, then quiet until
    // remail_after has passed.
    let mut t = now + TimeDelta::hours(1);
    let before = mails(&store).len();
    for i in 0..48 {
        store
            .conn()
            .execute(
                if i % 2 == 0 {
                    "INSERT INTO breaker (id, tripped_at, until, reason) VALUES (1, ?1, ?2, 'test')"
                } else {
                    "DELETE FROM breaker WHERE ?1 = ?1 AND ?2 = ?2"
                },
                [
                    crate::store::ts(t),
                    crate::store::ts(t + TimeDelta::hours(1)),
                ],
            )
            .unwrap();
        pass(&mut store, &c, &Clock::fixed(t));
        t += TimeDelta::minutes(10);
    }
    let flaps: Vec<String> = mails(&store)[before..]
        .iter()
        .filter(|m| m.contains("circuit breaker"))
        .cloned()
        .collect();
    assert_eq!(
        flaps.len(),
        2,
        "raise + clear in 8 hours of flapping: {flaps:#?}"
    );
}
