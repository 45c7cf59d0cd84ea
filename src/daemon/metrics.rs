//! Prometheus metrics and health on their own loopback listener
//! (`daemon.metrics_listen`, off by default): `/metrics` in the OpenMetrics
//! text format written by prometheus-client, `/healthz` for readiness,
//! served by axum. Counters are atomics bumped by intake; gauges are read
//! from the store at each scrape on a connection of their own, so a scrape
//! never waits behind intake's writes (WAL readers do not block).

use crate::clock::Clock;
use crate::store::{mailboxes, Store};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Counters the daemon's tasks bump.
#[derive(Debug, Default)]
pub struct Metrics {
    pub messages: AtomicU64,
    pub new_tickets: AtomicU64,
    pub follow_ups: AtomicU64,
    pub recorded: AtomicU64,
    pub duplicates: AtomicU64,
    pub quarantined: AtomicU64,
    pub mailbox_errors: AtomicU64,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    /// Set once every task is started; `/healthz` answers 503 before.
    pub ready: AtomicBool,
}

impl Metrics {
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What the store says at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub mailboxes: Vec<MailboxGauge>,
    /// Outbox rows by state.
    pub outbox: Vec<(String, i64)>,
    pub breaker_open: bool,
    /// Open tickets (waiting for a person) by queue.
    pub queues: Vec<(String, i64)>,
    pub sla_breached: i64,
    pub sla_near: i64,
    /// Active alerts by kind.
    pub alerts: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MailboxGauge {
    pub mailbox: String,
    pub lag_seconds: i64,
    pub last_success: Option<DateTime<Utc>>,
}

/// Read the gauges. `near` is the SLA near-breach margin.
pub fn snapshot(
    store: &Store,
    now: DateTime<Utc>,
    near: chrono::TimeDelta,
) -> crate::store::StoreResult<Snapshot> {
    let conn = store.conn();
    let pairs = |sql: &str| -> crate::store::StoreResult<Vec<(String, i64)>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let due = crate::sla::due(conn, now, near)?;
    let counts = crate::sla::due::counts(&due);
    Ok(Snapshot {
        mailboxes: mailboxes::list(conn)?
            .into_iter()
            .map(|m| MailboxGauge {
                lag_seconds: m
                    .pending_since
                    .map_or(0, |t| (now - t).num_seconds().max(0)),
                last_success: m.last_fetch_at,
                mailbox: m.mailbox,
            })
            .collect(),
        outbox: crate::store::outbox::counts(conn)?,
        breaker_open: crate::store::limits::breaker(conn)?.is_some_and(|b| b.is_open(now)),
        queues: pairs(
            "SELECT COALESCE(queue, '-'), COUNT(*) FROM tickets WHERE state = 'open' GROUP BY 1 ORDER BY 1",
        )?,
        sla_breached: counts.breached as i64,
        sla_near: counts.near as i64,
        alerts: pairs("SELECT kind, COUNT(*) FROM alerts WHERE cleared_at IS NULL GROUP BY 1 ORDER BY 1")?,
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Label {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Mailbox {
    mailbox: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

fn counter(registry: &mut Registry, name: &str, help: &str, v: &AtomicU64) {
    let c = Counter::<u64>::default();
    c.inc_by(v.load(Ordering::Relaxed));
    registry.register(name, help, c);
}

fn gauge(registry: &mut Registry, name: &str, help: &str, v: i64) {
    let g = Gauge::<i64>::default();
    g.set(v);
    registry.register(name, help, g);
}

fn family<L, F>(registry: &mut Registry, name: &str, help: &str, rows: &[(String, i64)], label: F)
where
    L: prometheus_client::encoding::EncodeLabelSet
        + Clone
        + std::hash::Hash
        + Eq
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(String) -> L,
{
    let f = Family::<L, Gauge>::default();
    for (k, v) in rows {
        f.get_or_create(&label(k.clone())).set(*v);
    }
    registry.register(name, help, f);
}

/// The metrics text (OpenMetrics), counters and gauges together.
pub fn render(m: &Metrics, s: &Snapshot) -> String {
    let mut r = Registry::default();
    let outcomes = Family::<Outcome, Counter>::default();
    for (outcome, c) in [
        ("new_ticket", &m.new_tickets),
        ("follow_up", &m.follow_ups),
        ("recorded", &m.recorded),
        ("duplicate", &m.duplicates),
        ("quarantined", &m.quarantined),
    ] {
        outcomes
            .get_or_create(&Outcome {
                outcome: outcome.into(),
            })
            .inc_by(c.load(Ordering::Relaxed));
    }
    r.register(
        "helpgate_messages",
        "Messages committed by IMAP intake, by outcome",
        outcomes,
    );
    counter(
        &mut r,
        "helpgate_mailbox_errors",
        "Mailbox sessions that failed (then retried)",
        &m.mailbox_errors,
    );
    counter(
        &mut r,
        "helpgate_rule_reloads",
        "Successful rule reloads",
        &m.reloads,
    );
    counter(
        &mut r,
        "helpgate_rule_reload_failures",
        "Refused rule reloads",
        &m.reload_failures,
    );
    let lag = Family::<Mailbox, Gauge>::default();
    let last = Family::<Mailbox, Gauge>::default();
    for mb in &s.mailboxes {
        let l = Mailbox {
            mailbox: mb.mailbox.clone(),
        };
        lag.get_or_create(&l).set(mb.lag_seconds);
        if let Some(t) = mb.last_success {
            last.get_or_create(&l).set(t.timestamp());
        }
    }
    r.register(
        "helpgate_mailbox_lag_seconds",
        "How long the oldest unprocessed mail has waited (0: caught up)",
        lag,
    );
    r.register(
        "helpgate_mailbox_last_success_timestamp_seconds",
        "Unix time of the last successful fetch",
        last,
    );
    family(
        &mut r,
        "helpgate_outbox",
        "Outbox rows by state",
        &s.outbox,
        |state| StateLabel { state },
    );
    gauge(
        &mut r,
        "helpgate_breaker_open",
        "1 while the automatic-reply circuit breaker stops automatic replies",
        i64::from(s.breaker_open),
    );
    family(
        &mut r,
        "helpgate_queue_open_tickets",
        "Tickets waiting for a person, by queue",
        &s.queues,
        |queue| QueueLabel { queue },
    );
    family(
        &mut r,
        "helpgate_sla_tickets",
        "Tickets whose SLA clock has run out (breached) or is about to (near)",
        &[
            ("breached".into(), s.sla_breached),
            ("near".into(), s.sla_near),
        ],
        |name| Label { name },
    );
    family(
        &mut r,
        "helpgate_alerts_active",
        "Active alerts by kind",
        &s.alerts,
        |kind| KindLabel { kind },
    );
    let mut out = String::new();
    encode(&mut out, &r).expect("encoding into a String cannot fail");
    out
}

/// What the handlers share.
#[derive(Clone)]
pub struct Endpoint {
    pub metrics: Arc<Metrics>,
    /// A connection of the endpoint's own.
    pub store: Arc<Mutex<Store>>,
    pub clock: Clock,
    pub near: chrono::TimeDelta,
}

impl Endpoint {
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store, DateTime<Utc>, chrono::TimeDelta) -> T + Send + 'static,
    ) -> Option<T> {
        let (store, now, near) = (self.store.clone(), self.clock.now(), self.near);
        let job = tokio::task::spawn_blocking(move || {
            let guard = store.lock().ok()?;
            Some(f(&guard, now, near))
        });
        // A store that does not answer within 5 s is not healthy.
        tokio::time::timeout(Duration::from_secs(5), job)
            .await
            .ok()?
            .ok()?
    }
}

async fn metrics(State(e): State<Endpoint>) -> impl IntoResponse {
    let m = e.metrics.clone();
    match e.read(snapshot).await {
        Some(Ok(s)) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            render(&m, &s),
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        )
            .into_response(),
    }
}

async fn healthz(State(e): State<Endpoint>) -> impl IntoResponse {
    if !e.metrics.ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n");
    }
    let ok = e
        .read(|s, _, _| {
            s.conn()
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .is_ok()
        })
        .await;
    match ok {
        Some(true) => (StatusCode::OK, "ok\n"),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        ),
    }
}

pub fn router(e: Endpoint) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(e)
}

/// Serve `/metrics` and `/healthz` until cancelled.
pub async fn serve(listener: TcpListener, e: Endpoint, token: CancellationToken) {
    let shutdown = async move { token.cancelled().await };
    if let Err(err) = axum::serve(listener, router(e))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(error = %err, "metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_every_family_with_its_values() {
        let m = Metrics::default();
        m.add(&m.new_tickets, 3);
        m.add(&m.reload_failures, 1);
        let s = Snapshot {
            mailboxes: vec![MailboxGauge {
                mailbox: "support".into(),
                lag_seconds: 12,
                last_success: Some("2026-12-01T10:00:00Z".parse().unwrap()),
            }],
            outbox: vec![("parked".into(), 2), ("sent".into(), 40)],
            breaker_open: true,
            queues: vec![("general".into(), 5), ("sensitive".into(), 1)],
            sla_breached: 2,
            sla_near: 1,
            alerts: vec![("stopped".into(), 1)],
        };
        let text = render(&m, &s);
        for line in [
            "# TYPE helpgate_messages counter",
            "# HELP helpgate_outbox Outbox rows by state.",
            "helpgate_messages_total{outcome=\"new_ticket\"} 3",
            "helpgate_messages_total{outcome=\"follow_up\"} 0",
            "helpgate_rule_reload_failures_total 1",
            "helpgate_mailbox_lag_seconds{mailbox=\"support\"} 12",
            "helpgate_mailbox_last_success_timestamp_seconds{mailbox=\"support\"} 1796119200",
            "helpgate_outbox{state=\"parked\"} 2",
            "helpgate_breaker_open 1",
            "helpgate_queue_open_tickets{queue=\"sensitive\"} 1",
            "helpgate_sla_tickets{name=\"breached\"} 2",
            "helpgate_alerts_active{kind=\"stopped\"} 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
