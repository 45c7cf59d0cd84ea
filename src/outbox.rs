//! The sender worker: delivers pending outbox rows through a [`Transport`].
//!
//! Each row is marked `sending` (committed) before the SMTP transaction and
//! `sent` after the server's 250. If helpgate dies between the 250 and that
//! mark, the row is still `sending` at the next start; [`Worker`] puts such
//! rows back to `pending` and sends them again. So a crash at that moment
//! resends a reply **at most once** (the receiver sees the same Message-ID
//! twice; mail clients show it once). Nothing is ever lost: a row leaves
//! the table only as `sent`, `parked` or `bounced`.
//!
//! Only one process delivers a store's outbox at a time (see
//! [`DeliveryLock`]), so the rows put back are never ones another live
//! process is sending: the daemon and `helpgate ingest` run from an MTA
//! pipe may share a state directory.
//!
//! Transient failures retry with exponential backoff and jitter until the
//! row is `max_age` old, then park; permanent (5xx) ones park at once. A
//! parked reply is noted on its ticket, which goes back to a human.

use crate::clock::Clock;
use crate::config::replies::OutboxConfig;
use crate::store::{outbox, suppression, Store, StoreError};
use crate::transport::{backoff, Item, SendError, Transport};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Rows per round.
const BATCH: usize = 200;
/// 250s recorded per transaction.
/// Longest sleep between rounds when nothing is due (new rows appear from
/// other processes, so the worker also polls).
const IDLE_POLL: Duration = Duration::from_secs(2);
/// The last delivery round at shutdown takes at most this long.
pub const FINAL_DRAIN: Duration = Duration::from_secs(5);

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub sent: u64,
    pub retried: u64,
    pub parked: u64,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.parked += o.parked;
    }
}

/// Retry policy, from `[outbox]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_age: Duration,
    pub base: Duration,
    pub max: Duration,
    /// How long an address the server refuses as unknown (5.1.x) gets no
    /// automatic reply (`limits.suppress_days`).
    pub suppress_for: Duration,
}

impl From<&OutboxConfig> for Policy {
    fn from(c: &OutboxConfig) -> Self {
        Policy {
            max_age: c.max_age,
            base: c.retry_base,
            max: c.retry_max,
            suppress_for: crate::config::replies::ReplyLimits::default().suppress_for,
        }
    }
}

impl Policy {
    /// `[outbox]` retry settings and `limits.suppress_days`.
    pub fn from_config(config: &crate::config::Config) -> Policy {
        Policy {
            suppress_for: config.reply_limits.suppress_for,
            ..Policy::from(&config.outbox)
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from(&OutboxConfig::default())
    }
}

/// Delivers the outbox. The daemon runs [`Worker::run`] as a task; `ingest`
/// calls [`deliver_on_wake`].
pub struct Worker {
    store: Store,
    _lock: DeliveryLock,
    transport: Transport,
    clock: Clock,
    policy: Policy,
    wake: Arc<Notify>,
}

impl Worker {
    /// Open the store and put rows a crash left `sending` back to `pending`.
    pub fn new(
        store_path: &Path,
        transport: Transport,
        clock: Clock,
        policy: Policy,
    ) -> Result<Worker, StoreError> {
        // The lock first: a busy outbox costs no store opening.
        let lock = DeliveryLock::try_acquire(store_path)?;
        Self::locked(Store::open(store_path)?, lock, transport, clock, policy)
    }

    /// A worker on `store`; fails with [`StoreError::OutboxBusy`] while
    /// another process delivers the same outbox.
    pub fn with_store(
        store: Store,
        transport: Transport,
        clock: Clock,
        policy: Policy,
    ) -> Result<Worker, StoreError> {
        let lock = DeliveryLock::try_acquire(store.path())?;
        Self::locked(store, lock, transport, clock, policy)
    }

    /// Holding the lock, put back the rows a crash left `sending`.
    fn locked(
        store: Store,
        lock: DeliveryLock,
        transport: Transport,
        clock: Clock,
        policy: Policy,
    ) -> Result<Worker, StoreError> {
        let n = outbox::recover_sending(store.conn())?;
        if n > 0 {
            tracing::warn!(rows = n, "outbox rows were left sending by a crash; sending them again (at most one duplicate each)");
        }
        Ok(Worker {
            store,
            _lock: lock,
            transport,
            clock,
            policy,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Call `notify_one()` on this after queuing a reply (e.g. after an
    /// IMAP batch) to make [`Worker::run`] deliver at once instead of at
    /// its next poll.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Deliver until `shutdown` is cancelled; then one last round for what
    /// is due (bounded by [`FINAL_DRAIN`]), so replies to the last messages
    /// committed before the shutdown still go out.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), StoreError> {
        loop {
            if shutdown.is_cancelled() {
                self.drain(FINAL_DRAIN).await?;
                return Ok(());
            }
            let stats = self.deliver_due().await?;
            let wait = if stats.sent + stats.retried + stats.parked > 0 {
                Duration::ZERO
            } else {
                self.until_next_due()?.min(IDLE_POLL)
            };
            if wait > Duration::ZERO {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// Deliver what is due now until nothing is, or `timeout` passes.
    pub async fn drain(&mut self, timeout: Duration) -> Result<Stats, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut total = Stats::default();
        loop {
            let round = tokio::time::timeout_at(deadline, self.deliver_due()).await;
            match round {
                Ok(Ok(s)) if s == Stats::default() => break,
                Ok(Ok(s)) => total.add(s),
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
            // Only rows due now: retries scheduled later wait for the daemon.
            if total.retried > 0 && self.until_next_due()? > Duration::ZERO {
                break;
            }
        }
        self.transport.close().await;
        Ok(total)
    }

    fn until_next_due(&self) -> Result<Duration, StoreError> {
        Ok(match outbox::next_due(self.store.conn())? {
            None => IDLE_POLL,
            Some(at) => (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO),
        })
    }

    /// One round: every row due now, once. The round's rows are marked
    /// `sending` in one transaction before the first SMTP transaction, and
    /// the 250s are recorded after each round of `lanes()` sends; a crash in between leaves rows
    /// `sending`, which the next start sends once more (see the module docs).
    pub async fn deliver_due(&mut self) -> Result<Stats, StoreError> {
        let now = self.clock.now();
        // Selected and claimed in one write transaction.
        let rows = self.store.transaction(|tx| {
            let rows = outbox::due(tx, now, BATCH)?;
            rows.iter()
                .try_for_each(|r| outbox::mark_sending(tx, r.id))?;
            Ok::<_, StoreError>(rows)
        })?;
        let mut stats = Stats::default();
        if rows.is_empty() {
            return Ok(stats);
        }
        // One SMTP round per lane count: every 250 is recorded right after its
        // round, so a crash resends at most the few replies of one round.
        let mut sent: Vec<i64> = Vec::new();
        for chunk in rows.chunks(self.transport.lanes()) {
            let items: Vec<Item<'_>> = chunk
                .iter()
                .map(|r| Item {
                    sender: &r.sender,
                    recipient: &r.recipient,
                    message_id: &r.message_id,
                    raw: &r.raw,
                })
                .collect();
            let results = self.transport.send_many(&items).await;
            for (row, result) in chunk.iter().zip(results) {
                let now = self.clock.now();
                match result {
                    Ok(()) => {
                        tracing::debug!(outbox = row.id, "reply delivered");
                        sent.push(row.id);
                        stats.sent += 1;
                    }
                    Err(SendError::Permanent(e)) => {
                        tracing::warn!(outbox = row.id, error = %e, "reply refused; parked");
                        let until = now
                            + chrono::Duration::from_std(self.policy.suppress_for)
                                .expect("suppression is at most ten years");
                        self.store.transaction(|tx| {
                            outbox::park(tx, row.id, &e, now)?;
                            if unknown_address(&e) {
                                suppression::add(tx, &row.recipient, &e, now, until)?;
                            }
                            Ok::<_, StoreError>(())
                        })?;
                        stats.parked += 1;
                    }
                    Err(SendError::Transient(e)) => {
                        let age = (now - row.queued_at).to_std().unwrap_or(Duration::ZERO);
                        if age >= self.policy.max_age {
                            let why = format!(
                                "gave up after {} attempts over {} h: {e}",
                                row.attempts + 1,
                                age.as_secs() / 3600
                            );
                            tracing::warn!(outbox = row.id, error = %e, "reply too old; parked");
                            self.store
                                .transaction(|tx| outbox::park(tx, row.id, &why, now))?;
                            stats.parked += 1;
                        } else {
                            let wait = backoff(
                                (row.attempts + 1) as u32,
                                self.policy.base,
                                self.policy.max,
                                rand::random::<f64>(),
                            );
                            let next =
                                now + chrono::Duration::from_std(wait).expect("backoff is capped");
                            tracing::info!(outbox = row.id, error = %e, retry_in_s = wait.as_secs(), "reply delivery failed; will retry");
                            outbox::reschedule(self.store.conn(), row.id, next, &e)?;
                            stats.retried += 1;
                        }
                    }
                }
            }
            self.record_sent(&mut sent)?;
        }
        self.record_sent(&mut sent)?;
        Ok(stats)
    }

    fn record_sent(&mut self, sent: &mut Vec<i64>) -> Result<(), StoreError> {
        if sent.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        self.store.transaction(|tx| {
            sent.iter()
                .try_for_each(|id| outbox::mark_sent(tx, *id, now))
        })?;
        sent.clear();
        Ok(())
    }

    /// The store, for tests and status.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// A refusal that says the address does not exist (enhanced status 5.1.x,
/// e.g. `550 5.1.1 user unknown`): as good as a hard bounce.
fn unknown_address(error: &str) -> bool {
    error
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|w| w.starts_with("5.1.") && w.len() >= 5)
}

/// The right to deliver one store's outbox: an exclusive `flock` on
/// `outbox.lock` beside the database. The kernel releases it when the
/// holder exits, however it exits, so a row found `sending` by the next
/// holder was left by a process that is gone, never by one still talking to
/// the SMTP server (which would make the reply go out twice).
#[derive(Debug)]
pub struct DeliveryLock {
    _file: std::fs::File,
}

impl DeliveryLock {
    /// Take the lock for the database at `store_path`, or fail with
    /// [`StoreError::OutboxBusy`] if another process holds it.
    pub fn try_acquire(store_path: &Path) -> Result<DeliveryLock, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = store_path.with_file_name("outbox.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StoreError::StateDir {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DeliveryLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::OutboxBusy { path }),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::StateDir { path, source }),
        }
    }
}

/// Synchronous delivery on a small runtime of its own: everything due each
/// time `wake` signals, and once more when it closes (a closed `wake`: one
/// round). `helpgate ingest` delivers beside its import this way. Each
/// round is bounded by `timeout`. `Ok(None)`: another process (a running
/// daemon) held the outbox throughout and delivers these replies itself.
pub fn deliver_on_wake(
    store_path: PathBuf,
    transport: Transport,
    clock: Clock,
    policy: Policy,
    timeout: Duration,
    wake: &std::sync::mpsc::Receiver<()>,
) -> Result<Option<Stats>, StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| StoreError::StateDir {
            path: store_path.clone(),
            source,
        })?;
    rt.block_on(async move {
        let mut parts = Some((transport, clock, policy));
        let mut worker: Option<Worker> = None;
        let mut total = Stats::default();
        let mut last = false;
        loop {
            // Blocking in the runtime's only task is fine: nothing else
            // runs on it.
            if !last && wake.recv().is_err() {
                last = true;
            }
            if worker.is_none() {
                let lock = match DeliveryLock::try_acquire(&store_path) {
                    Ok(lock) => Some(lock),
                    // Another ingest may be about to finish; a daemon
                    // delivers within its poll interval. Either way these
                    // rows go out: wait until they have, or the holder lets
                    // go, for a while.
                    Err(StoreError::OutboxBusy { .. }) if last => {
                        match wait_for_holder(&store_path).await? {
                            Some(lock) => Some(lock),
                            None => return Ok(None),
                        }
                    }
                    Err(StoreError::OutboxBusy { .. }) => None,
                    Err(e) => return Err(e),
                };
                if let Some(lock) = lock {
                    let (transport, clock, policy) = parts.take().expect("used once");
                    let store = Store::open(&store_path)?;
                    worker = Some(Worker::locked(store, lock, transport, clock, policy)?);
                }
            }
            if let Some(w) = worker.as_mut() {
                total.add(w.drain(timeout).await?);
            }
            if last {
                return Ok(Some(total));
            }
        }
    })
}

/// While another process holds the outbox: the lock once it is free, or
/// `None` once nothing is due any more (the holder sent it) or after twice
/// the daemon's poll interval.
async fn wait_for_holder(store_path: &Path) -> Result<Option<DeliveryLock>, StoreError> {
    let store = Store::open(store_path)?;
    let deadline = tokio::time::Instant::now() + 2 * IDLE_POLL;
    loop {
        match DeliveryLock::try_acquire(store_path) {
            Ok(lock) => return Ok(Some(lock)),
            Err(StoreError::OutboxBusy { .. }) => {}
            Err(e) => return Err(e),
        }
        let now = chrono::Utc::now();
        if outbox::due(store.conn(), now, 1)?.is_empty() || tokio::time::Instant::now() >= deadline
        {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{unknown_address, DeliveryLock, StoreError};

    #[test]
    fn one_holder_of_the_outbox_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("helpgate.db");
        let first = DeliveryLock::try_acquire(&db).unwrap();
        assert!(matches!(
            DeliveryLock::try_acquire(&db),
            Err(StoreError::OutboxBusy { .. })
        ));
        drop(first);
        DeliveryLock::try_acquire(&db).expect("free once the holder is gone");
    }

    #[test]
    fn recognises_unknown_address_refusals() {
        assert!(unknown_address(
            "permanent error (550): 5.1.1 <x@y>: Recipient address rejected: User unknown"
        ));
        assert!(!unknown_address(
            "permanent error (552): 5.3.4 Message size exceeds fixed limit"
        ));
        assert!(!unknown_address("550 spam"));
    }
}
