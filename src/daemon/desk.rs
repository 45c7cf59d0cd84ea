//! The desk's periodic work in the daemon: bring the SLA clocks up to date
//! and escalate breaches (every minute), look for alerts (every
//! `alerts.every`), mail last week's report once (`[report]`). Each pass is
//! one store transaction on a blocking thread; a failed pass is logged and
//! retried at the next tick, never fatal.

use super::Shared;
use crate::config::Config;
use crate::notify::{self, Notice, NotifyError};
use crate::reply::templates::Templates;
use crate::report::period::Period;
use crate::store::ts;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const TICK: Duration = Duration::from_secs(60);

/// Run until cancelled.
pub async fn run(shared: Arc<Shared>, config: Arc<Config>, token: CancellationToken) {
    let mut last_alerts: Option<DateTime<Utc>> = None;
    loop {
        let now = shared.clock.now();
        let alerts_due = last_alerts.is_none_or(|t| now - t >= config.alerts.every);
        if alerts_due {
            last_alerts = Some(now);
        }
        let rules = shared.loaded.borrow().rules.clone();
        let c = config.clone();
        let outcome = shared
            .with_store(move |store| store.transaction(|tx| pass(tx, &c, &rules, now, alerts_due)))
            .await;
        match outcome {
            Ok(mails) if mails > 0 => {
                info!(mails, "desk pass queued mail");
                shared.outbox_wake.notify_one();
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %crate::pipeline::error_chain(&e), "desk pass failed; retried at the next tick")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = token.cancelled() => return,
        }
    }
}

/// One pass; returns how many mails it queued.
pub fn pass(
    conn: &Connection,
    config: &Config,
    rules: &crate::rules::RuleSet,
    now: DateTime<Utc>,
    alerts_due: bool,
) -> Result<usize, NotifyError> {
    crate::sla::sync(conn, &config.sla)?;
    let mut mails = crate::sla::escalate::escalate(conn, &config.sla, now)?.mails;
    if alerts_due {
        let names: Vec<String> = config.mailboxes.iter().map(|m| m.name.clone()).collect();
        let changes = crate::alerts::evaluate(conn, &config.alerts, &names, now)?;
        if !changes.is_empty() {
            info!(
                raised = changes.raised.len(),
                cleared = changes.cleared.len(),
                "alerts changed"
            );
            mails += 1;
        }
    }
    mails += weekly_report(conn, config, rules, now)?;
    Ok(mails)
}

/// Mail last week's report once, to `[report] to`.
fn weekly_report(
    conn: &Connection,
    config: &Config,
    rules: &crate::rules::RuleSet,
    now: DateTime<Utc>,
) -> Result<usize, NotifyError> {
    let s = &config.report;
    let Some(from) = s.from.as_deref().filter(|_| s.weekly && !s.to.is_empty()) else {
        return Ok(0);
    };
    let period = Period::last_week(now);
    let key = format!(
        "{}{}",
        period.label(),
        s.project
            .as_deref()
            .map(|p| format!(":{p}"))
            .unwrap_or_default()
    );
    let sent: Option<String> = conn
        .query_row(
            "SELECT sent_at FROM report_mailings WHERE period = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()
        .map_err(crate::store::StoreError::from)?;
    if sent.is_some() {
        return Ok(0);
    }
    let templates = match &config.templates_dir {
        Some(dir) => Templates::load_dir(dir).unwrap_or_default(),
        None => Templates::builtin(),
    };
    let inputs = crate::report::Inputs {
        project: s.project.clone(),
        coverage: crate::report::coverage(rules, &templates),
    };
    let report = crate::report::build(conn, &period, &inputs, now)?;
    let subject = format!("helpgate weekly report {}", report.period);
    let text = format!(
        "{} messages, {} tickets, resolution rate {:.1} %, {} SLA breaches.\nThe full report is the HTML part of this mail; `helpgate report --week {}` prints it again.\n",
        report.messages,
        report.rates.tickets,
        report.rates.resolution_rate * 100.0,
        report.sla.first_response.len() + report.sla.resolution.len(),
        report.period
    );
    let html = crate::report::to_html(&report);
    let n = notify::queue(
        conn,
        &Notice {
            from,
            to: &s.to,
            subject: &subject,
            text: &text,
            html: Some(&html),
            kind: "report",
            at: now,
        },
    )?
    .len();
    conn.execute(
        "INSERT INTO report_mailings (period, sent_at) VALUES (?1, ?2)",
        params![key, ts(now)],
    )
    .map_err(crate::store::StoreError::from)?;
    Ok(n)
}

/// systemd: READY once every task runs, then WATCHDOG at half the
/// configured interval while the store answers (a wedged store stops the
/// pings, and systemd restarts the service). No-ops outside systemd.
pub async fn watchdog(shared: Arc<Shared>, token: CancellationToken) {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        warn!(error = %e, "cannot tell systemd we are ready");
    }
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) {
        return;
    }
    let every = Duration::from_micros(usec / 2);
    loop {
        let alive = tokio::time::timeout(
            every,
            shared.with_store(|s| {
                s.conn()
                    .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                    .is_ok()
            }),
        )
        .await
        .unwrap_or(false);
        if alive {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
        } else {
            warn!("store does not answer: withholding the systemd watchdog ping");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = token.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn last_weeks_report_is_mailed_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let config = Config {
            report: crate::report::Schedule {
                to: vec!["lead@example.org".into()],
                from: Some("helpgate@example.org".into()),
                weekly: true,
                project: None,
            },
            ..Config::default()
        };
        let rules = crate::rules::RuleSet::builtin();
        let monday: DateTime<Utc> = "2026-11-30T06:00:00Z".parse().unwrap();
        let mails = |store: &mut Store, now: DateTime<Utc>| {
            store
                .transaction(|tx| pass(tx, &config, &rules, now, false))
                .unwrap()
        };
        assert_eq!(mails(&mut store, monday), 1);
        assert_eq!(mails(&mut store, monday + chrono::TimeDelta::minutes(1)), 0);
        assert_eq!(mails(&mut store, monday + chrono::TimeDelta::days(6)), 0);
        // The next Monday brings the next week's.
        assert_eq!(mails(&mut store, monday + chrono::TimeDelta::days(7)), 1);
        let raw: Vec<u8> = store
            .conn()
            .query_row(
                "SELECT raw FROM outbox WHERE kind = 'report' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("Subject: helpgate weekly report 2026-W48"),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/html"));
    }
}
