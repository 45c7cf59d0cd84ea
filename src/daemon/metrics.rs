//! Counters for the optional Prometheus text endpoint (`daemon.metrics_listen`,
//! loopback only, off by default). Plain atomics: no metrics crate needed
//! for a handful of counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
}

impl Metrics {
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        s.push_str(
            "# HELP helpgate_messages_total Messages committed by IMAP intake, by outcome.\n",
        );
        s.push_str("# TYPE helpgate_messages_total counter\n");
        for (outcome, c) in [
            ("new_ticket", &self.new_tickets),
            ("follow_up", &self.follow_ups),
            ("recorded", &self.recorded),
            ("duplicate", &self.duplicates),
            ("quarantined", &self.quarantined),
        ] {
            s.push_str(&format!(
                "helpgate_messages_total{{outcome=\"{outcome}\"}} {}\n",
                get(c)
            ));
        }
        for (name, help, c) in [
            (
                "helpgate_mailbox_errors_total",
                "Mailbox sessions that failed (then retried).",
                &self.mailbox_errors,
            ),
            (
                "helpgate_rule_reloads_total",
                "Successful rule reloads.",
                &self.reloads,
            ),
            (
                "helpgate_rule_reload_failures_total",
                "Refused rule reloads.",
                &self.reload_failures,
            ),
        ] {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                get(c)
            ));
        }
        s
    }
}

/// Answer every connection with the metrics, until cancelled.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, token: CancellationToken) {
    loop {
        let (mut sock, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
            () = token.cancelled() => return,
        };
        let body = metrics.render();
        tokio::spawn(async move {
            // Read (and ignore) the request head; any path gets the metrics.
            let mut buf = [0u8; 1024];
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), sock.read(&mut buf)).await;
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}
