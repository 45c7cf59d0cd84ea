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

pub mod desk;
pub mod inflight;
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
    /// A task died of a bug. The daemon stopped (after draining the rest)
    /// so that its supervisor restarts it, instead of living on without it.
    #[error("the {task} task panicked: {reason}")]
    TaskPanicked { task: String, reason: String },
}

/// The first task that panicked, shared by the supervised tasks.
type Crashed = Arc<Mutex<Option<(String, String)>>>;

/// Run `fut` as task `name`; a panic is logged, recorded in `crashed` and
/// stops the daemon (`shutdown`), which then exits non-zero.
fn supervised(
    name: String,
    fut: impl std::future::Future<Output = ()> + Send + 'static,
    crashed: Crashed,
    shutdown: CancellationToken,
    on_panic: impl FnOnce(String) -> futures::future::BoxFuture<'static, ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    use futures::FutureExt;
    async move {
        if let Err(payload) = std::panic::AssertUnwindSafe(fut).catch_unwind().await {
            let reason = crate::fault::panic_text(&*payload);
            error!(task = %name, reason = %reason, "task panicked: stopping the daemon");
            on_panic(format!("the {name} task panicked: {reason}")).await;
            crashed
                .lock()
                .expect("the crash record is never held across a panic")
                .get_or_insert((name, reason));
            shutdown.cancel();
        }
    }
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
    /// Markers of batches being parsed (mail that killed the process).
    pub inflight: Arc<inflight::Inflight>,
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
        inflight: Arc::new(inflight::Inflight::open(&config.state_dir)),
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
        let state_dir = config.state_dir.clone();
        let own = tokio::task::spawn_blocking(move || Store::open_in(&state_dir))
            .await
            .expect("opening the store does not panic")?;
        let endpoint = metrics::Endpoint {
            metrics: metrics.clone(),
            store: Arc::new(Mutex::new(own)),
            clock: shared.clock.clone(),
            near: config.sla.near_breach,
        };
        info!(%addr, "metrics listening");
        tracker.spawn(metrics::serve(listener, endpoint, shutdown.clone()));
    }
    let crashed: Crashed = Arc::default();
    tracker.spawn(desk::run(
        shared.clone(),
        Arc::new(config.clone()),
        shutdown.clone(),
    ));
    for (mb, opening) in config.mailboxes.iter().zip(opening) {
        // A panic shows in `helpgate status` as the mailbox's last error.
        let (record_to, name) = (shared.clone(), mb.name.clone());
        let record = move |reason: String| -> futures::future::BoxFuture<'static, ()> {
            Box::pin(async move {
                let now = record_to.clock.now();
                let stored = std::panic::AssertUnwindSafe(record_to.with_store(move |s| {
                    s.transaction(|tx| {
                        crate::store::mailboxes::record_error(tx, &name, &reason, now)
                    })
                }));
                use futures::FutureExt;
                if !matches!(stored.catch_unwind().await, Ok(Ok(()))) {
                    warn!("cannot record the panic in the store");
                }
            })
        };
        intake_tracker.spawn(supervised(
            format!("intake {}", mb.name),
            intake::run(
                shared.clone(),
                mb.clone(),
                intake_token.clone(),
                Some(opening),
            ),
            crashed.clone(),
            shutdown.clone(),
            record,
        ));
    }
    // OUTBOX (replies): the sender worker on its own store connection. Its
    // token is cancelled once intake has stopped; it then runs one last
    // bounded round so replies to the last committed messages still go out.
    let outbox_token = CancellationToken::new();
    let outbox_done = outbox_token.clone();
    tracker.spawn(supervised(
        "outbox".to_string(),
        async move {
            if let Err(e) = worker.run(outbox_done).await {
                error!(error = %crate::pipeline::error_chain(&e), "outbox worker stopped");
            }
        },
        crashed.clone(),
        shutdown.clone(),
        |_| Box::pin(async {}),
    ));
    metrics
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracker.spawn(desk::watchdog(shared.clone(), shutdown.clone()));
    if config.trust.authserv_ids.is_empty() {
        warn!(
            "trust.authserv_id is not set: senders cannot be verified, and automatic replies go \
             to every sender whose nearest Authentication-Results reports no failure; set it to \
             the authserv-id your receiving server writes"
        );
    }
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
    let crash = crashed
        .lock()
        .expect("the crash record is never held across a panic")
        .take();
    if let Some((task, reason)) = crash {
        error!(task = %task, "stopped after a task panicked: exiting non-zero so the supervisor restarts helpgate");
        return Err(DaemonError::TaskPanicked { task, reason });
    }
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
