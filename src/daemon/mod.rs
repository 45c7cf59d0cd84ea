//! The long-running supervisor behind `helpgate run`: one intake task per
//! mailbox ([`intake`]), the outbox worker, the rules reloader and optional
//! metrics, tied together by a [`CancellationToken`] and a [`TaskTracker`].
//!
//! Shutdown: cancelling the token stops intake at safe points only (while
//! waiting in IDLE or between polls, or between batches: the batch in hand
//! is committed and acknowledged first), then waits for every task up to
//! `daemon.drain_timeout`. Reload: each signal recompiles the rules; a
//! broken set is refused with its errors logged and the last good one stays.
//! The store is synchronous SQLite: every use runs on a blocking thread and
//! the lock is never held across an `.await`.

pub mod intake;
pub mod metrics;
pub mod rules;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{Store, StoreError};
pub use metrics::Metrics;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no [[mailboxes]] configured: nothing to watch (helpgate print-config shows how)")]
    NoMailboxes,
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    #[error("the rules or templates do not load:\n{}", .0.join("\n"))]
    Rules(Vec<String>),
    #[error("cannot listen for metrics on {addr}")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// What every task shares.
pub struct Shared {
    store: Arc<Mutex<Store>>,
    /// Rules and templates; replaced as a whole by a successful reload.
    pub loaded: watch::Receiver<rules::Loaded>,
    pub clock: Clock,
    pub max_message_bytes: u64,
    pub metrics: Arc<Metrics>,
    /// Wakes the outbox worker after a batch that queued replies.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

impl Shared {
    /// Run `f` with the store on a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> T {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .expect("the store lock is poisoned only if a store call panicked");
            f(&mut guard)
        })
        .await
        .expect("store tasks do not panic")
    }
}

/// Run until `shutdown` is cancelled; each message on `reload` reloads the
/// rules. Returns after the drain (or its timeout).
pub async fn run(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
    mut reload: mpsc::Receiver<()>,
) -> Result<(), DaemonError> {
    if config.mailboxes.is_empty() {
        return Err(DaemonError::NoMailboxes);
    }
    // Log in to the mailboxes, open the store and compile the rules side by
    // side: each takes tens of milliseconds.
    let opening: Vec<intake::Opening> = config
        .mailboxes
        .iter()
        .map(|mb| tokio::spawn(intake::connect(mb.clone())))
        .collect();
    let compiling = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || rules::load_all(&config))
    };
    let state_dir = config.state_dir.clone();
    let store = tokio::task::spawn_blocking(move || {
        let mut store = Store::open_in(&state_dir)?;
        store.checkpoint_in_background()?;
        Ok::<_, crate::store::StoreError>(store)
    })
    .await
    .expect("opening the store does not panic")?;
    let loaded = compiling
        .await
        .expect("compiling the rules does not panic")
        .map_err(DaemonError::Rules)?;
    rules::load_trackers(&loaded);
    let (rules_tx, rules_rx) = watch::channel(loaded);
    let metrics = Arc::new(Metrics::default());
    let worker = outbox_worker(&config, &clock).await?;
    let shared = Arc::new(Shared {
        outbox_wake: worker.wake_handle(),
        store: Arc::new(Mutex::new(store)),
        loaded: rules_rx,
        clock,
        max_message_bytes: config.max_message_bytes,
        metrics: metrics.clone(),
    });

    let tracker = TaskTracker::new();
    // Intake is tracked apart so the outbox is stopped only after the last
    // batch is committed: its replies still get their last round.
    let intake_tracker = TaskTracker::new();
    let intake_token = shutdown.child_token();
    if let Some(addr) = config.daemon.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Metrics { addr, source })?;
        info!(%addr, "metrics listening");
        tracker.spawn(metrics::serve(listener, metrics.clone(), shutdown.clone()));
    }
    for (mb, opening) in config.mailboxes.iter().zip(opening) {
        intake_tracker.spawn(intake::run(
            shared.clone(),
            mb.clone(),
            intake_token.clone(),
            Some(opening),
        ));
    }
    // OUTBOX (replies): the sender worker on its own store connection. Its
    // token is cancelled once intake has stopped; it then runs one last
    // bounded round so replies to the last committed messages still go out.
    let outbox_token = CancellationToken::new();
    let outbox_done = outbox_token.clone();
    tracker.spawn(async move {
        if let Err(e) = worker.run(outbox_done).await {
            error!(error = %crate::pipeline::error_chain(&e), "outbox worker stopped");
        }
    });
    info!(mailboxes = config.mailboxes.len(), "helpgate running");

    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(()) = reload.recv() => {
                match rules::load_all(&config) {
                    Ok(mut set) => {
                        rules::keep_trackers(&rules_tx.borrow(), &mut set);
                        rules::load_trackers(&set);
                        rules_tx.send_replace(set);
                        metrics.add(&metrics.reloads, 1);
                        info!("rules reloaded");
                    }
                    Err(errors) => {
                        metrics.add(&metrics.reload_failures, 1);
                        for e in &errors {
                            error!(error = %e, "rule error");
                        }
                        warn!(errors = errors.len(), "rules refused; keeping the last good set");
                    }
                }
            }
        }
    }

    info!(
        timeout_s = config.daemon.drain_timeout.as_secs_f64(),
        "stopping: finishing the mail in hand and draining"
    );
    intake_token.cancel();
    intake_tracker.close();
    let deadline = tokio::time::Instant::now() + config.daemon.drain_timeout;
    let intake_stopped = tokio::time::timeout_at(deadline, intake_tracker.wait())
        .await
        .is_ok();
    outbox_token.cancel();
    tracker.close();
    let rest_stopped = tokio::time::timeout_at(deadline, tracker.wait())
        .await
        .is_ok();
    if intake_stopped && rest_stopped {
        info!("stopped cleanly");
    } else {
        warn!("drain timeout reached; stopping with work left (it is picked up at the next start)");
    }
    Ok(())
}

/// The outbox worker. An `ingest` delivering its replies holds the outbox
/// for moments; a second daemon on the same state dir holds it for good,
/// and is refused after a while.
async fn outbox_worker(
    config: &Config,
    clock: &Clock,
) -> Result<crate::outbox::Worker, StoreError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match crate::outbox::Worker::new(
            &config.state_dir.join("helpgate.db"),
            crate::transport::Transport::from_config(config),
            clock.clone(),
            crate::outbox::Policy::from_config(config),
        ) {
            Err(StoreError::OutboxBusy { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}
