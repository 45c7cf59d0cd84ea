//! `helpgate report` over a store of 1,000,000 messages (400,000 tickets
//! over eight weeks, replies, closes, follow-ups), and the SLA pass that
//! brings their clocks up to date. Prints the figures; goal: a report over
//! the whole store in <= 2 s.
//!
//! `cargo bench --bench report [-- MESSAGES]`

use chrono::{DateTime, TimeDelta, Utc};
use helpgate::report::period::Period;
use helpgate::sla::{Policy, SlaConfig};
use helpgate::store::{ts, Store};
use rusqlite::params;
use std::time::Instant;

const TOPICS: [&str; 10] = [
    "payment",
    "upload_confirmation",
    "instructions",
    "account",
    "privacy",
    "appeal",
    "abuse",
    "rejection_dispute",
    "other",
    "spam",
];
const LANGS: [&str; 6] = ["en", "pt", "de", "ko", "vi", "zh"];
const PHRASES: [&str; 4] = [
    "my recordings are not showing in the dashboard",
    "how do I change the payout email",
    "the app crashes when I start a session",
    "I did not receive the confirmation code",
];

/// CPU seconds (user + system) the process has used, all threads (the
/// report reads on two), from /proc/self/stat: on a shared machine wall time includes waiting
/// for the cores, CPU time does not. Clock ticks of 1/100 s (Linux).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the line, 12 and 13 after "pid (comm)".
    (tick(11) + tick(12)) / 100.0
}

/// A small deterministic generator (no dependence on the rand version).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn fill(store: &mut Store, messages: u64, start: DateTime<Utc>) -> (u64, f64) {
    let t0 = Instant::now();
    let mut rng = Lcg(42);
    let span = TimeDelta::weeks(8).num_seconds() as u64;
    let raw = vec![b'x'; 1500];
    let mut tickets = 0u64;
    store
        .transaction(|tx| -> helpgate::store::StoreResult<()> {
            let mut ticket = tx.prepare("INSERT INTO tickets (project, state, queue, language, topic, participant, subject, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'p@example.org', ?6, ?7, ?8)")?;
            let mut message = tx.prepare("INSERT INTO messages (message_id, content_hash, ticket_id, source, received_at, from_addr, subject, language, topic, action, reason, notes, parsed, size, raw) VALUES (?1, ?1, ?2, 'imap:support/1/1', ?3, 'p@example.org', ?4, ?5, ?6, ?7, 'bench', '[]', ?8, 1500, ?9)")?;
            let mut reply = tx.prepare("INSERT INTO outbox (ticket_id, message_id, kind, template, recipient, raw, state, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, 'p@example.org', x'00', 'sent', ?5, ?5)")?;
            let mut event = tx.prepare("INSERT INTO ticket_events (ticket_id, at, actor, kind, detail) VALUES (?1, ?2, 'ann', 'close', 'state closed')")?;
            let mut n = 0u64;
            while n < messages {
                let created = start + TimeDelta::seconds(rng.next(span) as i64);
                let topic = TOPICS[rng.next(TOPICS.len() as u64) as usize];
                let lang = LANGS[rng.next(LANGS.len() as u64) as usize];
                let auto = matches!(topic, "payment" | "upload_confirmation" | "instructions") && rng.next(10) < 7;
                let (action, state, queue) = match (topic, auto) {
                    ("spam", _) => ("ignore", "recorded", None),
                    (_, true) => ("auto_reply", "answered", Some("general")),
                    ("privacy" | "appeal" | "abuse", _) => ("escalate", "open", Some("sensitive")),
                    _ => ("human", "open", Some("general")),
                };
                let subject = if topic == "other" { PHRASES[rng.next(4) as usize] } else { topic };
                ticket.execute(params!["demo", state, queue, lang, topic, subject, ts(created), ts(created)])?;
                let id = tx.last_insert_rowid();
                tickets += 1;
                let body = format!("{{\"new_text\":\"{subject}\"}}");
                let follow_ups = rng.next(4);
                for k in 0..=follow_ups {
                    if n >= messages {
                        break;
                    }
                    let at = created + TimeDelta::hours(k as i64 * 20);
                    let act = if k == 0 { action } else { "human" };
                    message.execute(params![format!("{n}@bench"), id, ts(at), subject, lang, topic, act, body, raw])?;
                    n += 1;
                }
                if auto {
                    reply.execute(params![id, format!("a{id}@bench"), "auto", format!("{lang}/{topic}"), ts(created)])?;
                } else if action != "ignore" && rng.next(10) < 8 {
                    let at = created + TimeDelta::minutes(30 + rng.next(3000) as i64);
                    let template = (rng.next(3) == 0).then(|| format!("{lang}/instructions"));
                    reply.execute(params![id, format!("h{id}@bench"), "human", template, ts(at)])?;
                    if rng.next(10) < 6 {
                        event.execute(params![id, ts(at + TimeDelta::hours(2))])?;
                    }
                }
            }
            Ok(())
        })
        .expect("filling the bench store");
    (tickets, t0.elapsed().as_secs_f64())
}

fn main() {
    let messages: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_in(dir.path()).expect("store");
    let start: DateTime<Utc> = "2026-10-05T00:00:00Z".parse().expect("date");
    let (tickets, fill_s) = fill(&mut store, messages, start);
    println!("store: {messages} messages, {tickets} tickets, filled in {fill_s:.1} s");
    let sla = SlaConfig {
        policies: vec![Policy {
            project: None,
            queue: None,
            topic: None,
            first_response: TimeDelta::hours(8),
            resolution: TimeDelta::hours(72),
            auto_reply_counts: true,
            escalation: None,
        }],
        ..SlaConfig::default()
    };
    let (t, cpu) = (Instant::now(), cpu_secs());
    let n = store
        .transaction(|tx| helpgate::sla::sync(tx, &sla))
        .expect("sync");
    let (sync_s, sync_cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu);
    println!(
        "sla sync, all {n} tickets: {sync_s:.2} s wall, {sync_cpu:.2} s CPU ({:.1} us CPU per ticket)",
        sync_cpu * 1e6 / n as f64
    );
    let now = start + TimeDelta::weeks(9);
    let inputs = helpgate::report::Inputs::default();
    let whole = Period {
        since: start,
        until: start + TimeDelta::weeks(8),
    };
    let week = Period::week("2026-W44").expect("week");
    for (name, p) in [("8 weeks (all messages)", whole), ("one week", week)] {
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let (t, c) = (Instant::now(), cpu_secs());
            let r = helpgate::report::build(store.conn(), &p, &inputs, now).expect("report");
            times.push(t.elapsed().as_secs_f64());
            cpu.push(cpu_secs() - c);
            last = Some(r);
        }
        times.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let r = last.expect("three runs");
        let t = Instant::now();
        let html = helpgate::report::to_html(&r);
        let html_s = t.elapsed().as_secs_f64();
        println!(
            "report {name}: {} messages, {} tickets: build wall min {:.2} s, median {:.2} s; CPU median {:.2} s; html {:.3} s ({} KB)",
            r.messages,
            r.rates.tickets,
            times[0],
            times[1],
            cpu[1],
            html_s,
            html.len() / 1024
        );
    }
}
