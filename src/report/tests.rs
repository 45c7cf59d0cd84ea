//! The report's figures against a small store counted by hand (see the
//! table in each comment).

use super::period::Period;
use super::{build, Inputs};
use crate::sla::{Policy, SlaConfig};
use crate::store::{events, messages, outbox, tickets, Store};
use crate::ticket::{TicketId, TicketState};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

struct Desk<'a>(&'a Connection);

impl Desk<'_> {
    fn ticket(&self, project: &str, at_: &str, topic: &str, lang: &str, subject: &str) -> TicketId {
        tickets::insert(
            self.0,
            &tickets::NewTicket {
                project: project.into(),
                state: TicketState::Open,
                queue: Some("general".into()),
                language: Some(lang.into()),
                topic: Some(topic.into()),
                participant: Some("p@example.org".into()),
                subject: subject.into(),
                at: at(at_),
            },
        )
        .unwrap()
    }

    /// A ticket with its first message (same topic, language, subject).
    /// A ticket with its first message (same topic, language, subject).
    fn opened(&self, o: &Opened) -> TicketId {
        let &(project, at_, topic, lang, action, subject) = o;
        let t = self.ticket(project, at_, topic, lang, subject);
        self.message(Some(t), at_, topic, lang, action, subject);
        t
    }

    fn message(
        &self,
        t: Option<TicketId>,
        at_: &str,
        topic: &str,
        lang: &str,
        action: &str,
        subject: &str,
    ) {
        let id = format!("{at_}{topic}{subject}@x");
        messages::insert(
            self.0,
            &messages::NewMessage {
                message_id: &id,
                content_hash: &id,
                ticket: t,
                source: "imap:support/1/1",
                received_at: at(at_),
                from: Some("p@example.org"),
                subject,
                language: Some(lang),
                topic: Some(topic),
                action,
                reason: "test",
                notes: &[],
                body: r#"{"new_text":""}"#,
                classification: None,
                raw: b"x",
            },
        )
        .unwrap();
    }

    fn reply(&self, t: TicketId, at_: &str, kind: &'static str, template: Option<&str>) -> i64 {
        outbox::insert(
            self.0,
            &outbox::NewOutgoing {
                ticket: Some(t),
                cause: None,
                message_id: format!("{t}.{at_}@x"),
                kind,
                template: template.map(String::from),
                sender: "support@example.org".into(),
                recipient: "p@example.org".into(),
                raw: b"x".to_vec(),
                at: at(at_),
            },
        )
        .unwrap()
    }

    fn set(&self, t: TicketId, state: &str, updated: &str) {
        self.0
            .execute(
                "UPDATE tickets SET state = ?2, updated_at = ?3 WHERE id = ?1",
                rusqlite::params![t.0, state, updated],
            )
            .unwrap();
    }
}

fn sla() -> SlaConfig {
    SlaConfig {
        policies: vec![Policy {
            project: None,
            queue: Some("general".into()),
            topic: None,
            first_response: TimeDelta::hours(4),
            resolution: TimeDelta::hours(24),
            auto_reply_counts: true,
            escalation: None,
        }],
        ..SlaConfig::default()
    }
}

/// Week 2026-W48 (Mon 23 Nov - Sun 29 Nov), project demo:
///
/// | ticket | created   | topic, lang   | what happened                                    |
/// |--------|-----------|---------------|--------------------------------------------------|
/// | 1      | 23 09:00  | payment en    | auto reply at once                               |
/// | 2      | 23 10:00  | other de      | human reply 12:00, closed 13:00                  |
/// | 3      | 24 08:00  | other en      | reply by hand (instructions) 14:00 (late),       |
/// |        |           |               | closed 25 08:00, follow-up 26 09:00: reopened    |
/// | 4      | 29 09:00  | payment pt    | nothing yet                                      |
/// | 5      | 27 10:00  | upload en     | reply by hand (instructions) 11:00, parked       |
/// | 6      | 22 09:00  | payment en    | (week before)                                    |
/// | 7      | 24 09:00  | payment en    | project other, auto reply                        |
///
/// plus two machine mails without a ticket: a spam and an out-of-office.
/// `(project, created, topic, language, first action, subject)`, ticket 1 first.
type Opened = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const OPENED: [Opened; 7] = [
    ("demo", "2026-11-23T09:00:00Z", "payment", "en", "auto_reply", "Where is my payout"),
    ("demo", "2026-11-23T10:00:00Z", "other", "de", "human", "Cannot reset my password"),
    ("demo", "2026-11-24T08:00:00Z", "other", "en", "human", "Help: cannot reset my password"),
    ("demo", "2026-11-29T09:00:00Z", "payment", "pt", "human", "Pagamento"),
    ("demo", "2026-11-27T10:00:00Z", "upload_confirmation", "en", "human", "Upload"),
    ("demo", "2026-11-22T09:00:00Z", "payment", "en", "auto_reply", "Payout"),
    ("other", "2026-11-24T09:00:00Z", "payment", "en", "auto_reply", "Payout"),
];

fn fixture() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    store
        .transaction(|tx| -> crate::store::StoreResult<()> {
            let d = Desk(tx);
            let t: Vec<TicketId> = OPENED.iter().map(|o| d.opened(o)).collect();
            let close = |t: TicketId, when: &str| {
                events::add(tx, t, at(when), "ann", "close", "state closed")
            };
            d.reply(t[0], "2026-11-23T09:00:00Z", "auto", Some("en/payment"));
            d.set(t[0], "answered", "2026-11-23T09:00:00.000Z");

            d.reply(t[1], "2026-11-23T12:00:00Z", "human", None);
            close(t[1], "2026-11-23T13:00:00Z")?;
            d.set(t[1], "closed", "2026-11-23T13:00:00.000Z");

            d.reply(
                t[2],
                "2026-11-24T14:00:00Z",
                "human",
                Some("en/instructions"),
            );
            close(t[2], "2026-11-25T08:00:00Z")?;
            d.message(
                Some(t[2]),
                "2026-11-26T09:00:00Z",
                "other",
                "en",
                "human",
                "Re: still",
            );
            d.set(t[2], "open", "2026-11-26T09:00:00.000Z");

            let parked = d.reply(
                t[4],
                "2026-11-27T11:00:00Z",
                "human",
                Some("en/instructions"),
            );
            outbox::park(tx, parked, "550 no such user", at("2026-11-27T11:01:00Z"))?;
            d.set(t[4], "answered", "2026-11-27T11:00:00.000Z");

            d.set(t[5], "answered", "2026-11-22T09:00:00.000Z");

            d.message(None, "2026-11-26T09:00:00Z", "spam", "en", "ignore", "WIN");
            d.message(
                None,
                "2026-11-26T10:00:00Z",
                "autoreply",
                "en",
                "ignore",
                "Away",
            );
            Ok(())
        })
        .unwrap();
    let config = sla();
    store
        .transaction(|tx| crate::sla::sync(tx, &config))
        .unwrap();
    (dir, store)
}

fn inputs(project: Option<&str>) -> Inputs {
    let mut coverage = std::collections::BTreeMap::new();
    coverage.insert("payment".to_string(), ["en", "de"].map(String::from).into());
    Inputs {
        project: project.map(String::from),
        coverage,
    }
}

#[test]
fn figures_match_the_hand_count() {
    let (_dir, store) = fixture();
    let week = Period::week("2026-W48").unwrap();
    let now = at("2026-12-02T10:00:00Z");
    let r = build(store.conn(), &week, &inputs(Some("demo")), now).unwrap();

    assert_eq!(r.messages, 6);
    let vol: Vec<(&str, &str, u64, u64)> = r
        .volume
        .iter()
        .map(|v| (v.topic.as_str(), v.language.as_str(), v.tickets, v.messages))
        .collect();
    assert_eq!(
        vol,
        [
            ("other", "de", 1, 1),
            ("other", "en", 1, 2),
            ("payment", "en", 1, 1),
            ("payment", "pt", 1, 1),
            ("upload_confirmation", "en", 1, 1)
        ]
    );
    assert!(r.volume.iter().all(|v| v.week == "2026-W48"));

    let general = r
        .times
        .iter()
        .find(|t| t.by == "queue" && t.name == "general")
        .unwrap();
    assert_eq!(general.tickets, 5);
    // First responses 0 s (1), 2 h (2), 6 h (3); 5's reply was parked.
    assert_eq!(general.first_response.count, 3);
    assert_eq!(general.first_response.median_secs, Some(7200));
    assert_eq!(general.first_response.p90_secs, Some(21600));
    // Resolved: 2 after 3 h (3 was reopened).
    assert_eq!(general.resolution.count, 1);
    assert_eq!(general.resolution.median_secs, Some(10800));
    let other = r
        .times
        .iter()
        .find(|t| t.by == "topic" && t.name == "other")
        .unwrap();
    assert_eq!(other.first_response.median_secs, Some(7200));

    assert_eq!(r.rates.tickets, 5);
    assert_eq!(r.rates.resolved, 1);
    assert_eq!(r.rates.resolution_rate, 0.2);
    assert_eq!(r.rates.reopened, 1);
    assert_eq!(r.rates.reopen_rate, 0.5);

    // Open at the end of the week: 3 (5.7 days) and 4 (15 hours).
    let backlog: Vec<u64> = r.backlog.iter().map(|b| b.tickets).collect();
    assert_eq!(backlog, [1, 0, 1, 0, 0]);

    assert_eq!((r.replies.parked, r.replies.bounced), (1, 0));
    assert_eq!(r.replies.parked_tickets, [5]);

    assert_eq!(r.sla.with_policy, 5);
    assert_eq!(r.sla.first_response, [3, 4, 5]);
    assert_eq!(r.sla.resolution, [3, 5]);

    let s: Vec<(&str, &str, &[i64])> = r
        .suggestions
        .iter()
        .map(|s| (s.kind.as_str(), s.text.as_str(), s.tickets.as_slice()))
        .collect();
    assert!(s.contains(&(
        "recurring_phrase",
        "\"reset my password\" recurs in 2 tickets a person answered: a topic rule or template?",
        &[2, 3][..]
    )), "{s:#?}");
    assert!(s.contains(&(
        "manual_template",
        "template instructions was sent by hand 2 times: answer these automatically?",
        &[3, 5][..]
    )));
    assert!(s.contains(&(
        "rising_topic",
        "other rose from 0 to 2 tickets",
        &[2, 3][..]
    )));
    assert!(
        !s.iter().any(|x| x.1.starts_with("payment rose")),
        "1 -> 2 is no rise"
    );
    assert!(s.contains(&(
        "missing_translation",
        "1 payment tickets in pt, which has no payment template",
        &[4][..]
    )));
}

#[test]
fn outcomes_count_every_message_without_a_project() {
    let (_dir, store) = fixture();
    let week = Period::week("2026-W48").unwrap();
    let r = build(
        store.conn(),
        &week,
        &inputs(None),
        at("2026-12-02T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(r.messages, 9);
    let o: Vec<(&str, u64, f64)> = r
        .outcomes
        .iter()
        .map(|o| (o.outcome.as_str(), o.messages, o.share))
        .collect();
    assert_eq!(
        o,
        [
            ("auto_reply", 2, 0.2222),
            ("human", 5, 0.5556),
            ("escalate", 0, 0.0),
            ("ignored_machine", 1, 0.1111),
            ("ignored_spam", 1, 0.1111)
        ]
    );
}

#[test]
fn csv_json_and_html_carry_the_figures() {
    let (_dir, store) = fixture();
    let week = Period::week("2026-W48").unwrap();
    let r = build(
        store.conn(),
        &week,
        &inputs(Some("demo")),
        at("2026-12-02T10:00:00Z"),
    )
    .unwrap();

    let csv = super::to_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "section,key,name,detail,metric,value,tickets");
    assert!(lines.contains(&"rate,,,,reopen_rate,0.5,"), "{csv}");
    assert!(lines.contains(&"volume,2026-W48,other,en,messages,2,"));
    assert!(lines.contains(&"sla,first_response,,,breached,3,3 4 5"));
    assert!(lines.contains(&"time,queue,general,first_response,p90_secs,21600,"));

    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["period"], "2026-W48");
    assert_eq!(json["rates"]["reopen_rate"], 0.5);
    assert_eq!(json["replies"]["parked_tickets"][0], 5);

    let html = super::to_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    // Self-contained: nothing to run, nothing fetched (the only URL is
    // the SVG namespace, which is a name).
    for fetch in ["<script", "<link", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    assert!(html.contains("Tickets by topic"));
    assert!(html.contains("&quot;reset my password&quot;"));
}
