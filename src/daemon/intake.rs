//! One intake task per mailbox: connect, catch up by UID in bounded batches,
//! then wait (IDLE, or polling) and catch up again, for ever. Each batch is
//! parsed and classified off the async threads, committed in ONE store
//! transaction together with the mailbox cursor, and only then flagged,
//! moved or deleted on the server. A crash anywhere therefore either loses
//! nothing (the cursor did not move: fetched again, deduplicated) or has
//! already stored the mail. Errors never leave this task: they are logged,
//! recorded for `helpgate status`, and retried with backoff and jitter.

use super::{Metrics, Shared};
use crate::config::mailbox::{FirstStart, MailboxConfig};
use crate::intake::imap::{stream, ImapConnection, ImapError, Selected, Wake};
use crate::intake::RawMessage;
use crate::pipeline::{error_chain, Outcome, Pipeline, PipelineError, Prepared};
use crate::store::mailboxes::{self, Cursor};
use crate::store::StoreError;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn};

/// Messages per fetch + transaction.
pub const BATCH: usize = 500;
/// Bytes per fetch + transaction (large mails go in smaller batches).
pub const BATCH_BYTES: u64 = 32 << 20;
/// Re-issue IDLE well before the 30-minute server limit (RFC 2177: 29 min).
pub const IDLE_MAX: Duration = Duration::from_secs(25 * 60);

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("cannot store mail")]
    Pipeline(#[from] PipelineError),
    #[error("cannot update the mailbox state")]
    Store(#[from] StoreError),
    #[error("cannot load the CA file {path}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Exponential backoff with jitter: 0.5 s doubling to 5 min, x0.5-1.5.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(300);

    fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
    }
}

/// A connection being opened before the rest of the daemon is ready.
pub type Opening = tokio::task::JoinHandle<Result<(ImapConnection, Selected), IntakeError>>;

/// Connect, log in and select the folder.
pub async fn connect(mb: MailboxConfig) -> Result<(ImapConnection, Selected), IntakeError> {
    let tls = stream::tls_config(mb.ca_file.as_deref()).map_err(|source| IntakeError::CaFile {
        path: mb
            .ca_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        source,
    })?;
    Ok(ImapConnection::open(&mb, tls).await?)
}

/// Run one mailbox until `token` is cancelled. Never returns an error.
/// `opening`: the first connection, already on its way (the daemon logs in
/// while it compiles the rules).
pub async fn run(
    shared: Arc<Shared>,
    mb: MailboxConfig,
    token: CancellationToken,
    mut opening: Option<Opening>,
) {
    let mut backoff = Backoff::new();
    while !token.is_cancelled() {
        let result = session(&shared, &mb, &token, &mut backoff, opening.take()).await;
        let e = match result {
            Ok(()) => break,
            Err(e) => e,
        };
        let reason = error_chain(&e);
        shared.metrics.add(&shared.metrics.mailbox_errors, 1);
        let delay = backoff.next_delay();
        warn!(mailbox = %mb.name, error = %reason, retry_in_ms = delay.as_millis() as u64, "mailbox failed");
        let name = mb.name.clone();
        let now = shared.clock.now();
        let recorded = shared
            .with_store(move |s| {
                s.transaction(|tx| mailboxes::record_error(tx, &name, &reason, now))
            })
            .await;
        if let Err(e) = recorded {
            warn!(mailbox = %mb.name, error = %error_chain(&e), "cannot record the mailbox error");
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = token.cancelled() => break,
        }
    }
    info!(mailbox = %mb.name, "intake stopped");
}

/// One connection's life: returns Ok only when cancelled.
async fn session(
    shared: &Arc<Shared>,
    mb: &MailboxConfig,
    token: &CancellationToken,
    backoff: &mut Backoff,
    opening: Option<Opening>,
) -> Result<(), IntakeError> {
    let (mut conn, selected) = match opening {
        Some(task) => tokio::select! {
            r = task => r.expect("connecting never panics")?,
            () = token.cancelled() => return Ok(()),
        },
        None => tokio::select! {
            r = connect(mb.clone()) => r?,
            () = token.cancelled() => return Ok(()),
        },
    };
    backoff.reset();
    let idle = mb.idle && conn.has_idle;
    info!(
        mailbox = %mb.name,
        uidvalidity = selected.uidvalidity,
        exists = selected.exists,
        idle,
        "mailbox connected"
    );
    let mut cursor = reconcile(shared, mb, &mut conn, selected).await?;
    finish_acks(shared, mb, &mut conn, cursor).await?;
    loop {
        if catch_up(shared, mb, &mut conn, &mut cursor, token).await? > 0 {
            // A backlog leaves the allocator and SQLite's page cache at
            // their high-water mark; an idle daemon gives that back.
            shared.with_store(|s| s.release_memory()).await;
        }
        if token.is_cancelled() {
            conn.logout().await;
            return Ok(());
        }
        if idle {
            if conn.idle(IDLE_MAX, token).await? == Wake::Cancelled {
                conn.logout().await;
                return Ok(());
            }
        } else {
            tokio::select! {
                () = tokio::time::sleep(mb.poll_interval) => {}
                () = token.cancelled() => {
                    conn.logout().await;
                    return Ok(());
                }
            }
        }
    }
}

/// The stored cursor, adjusted to what SELECT reported: first start (all
/// or only new mail), or a changed UIDVALIDITY (rescan from the start; the
/// pipeline recognises what is already stored).
async fn reconcile(
    shared: &Arc<Shared>,
    mb: &MailboxConfig,
    conn: &mut ImapConnection,
    sel: Selected,
) -> Result<Cursor, IntakeError> {
    let name = mb.name.clone();
    let stored = shared
        .with_store(move |s| mailboxes::cursor(s.conn(), &name))
        .await?;
    let cursor = match stored.uidvalidity {
        Some(v) if v == sel.uidvalidity => return Ok(stored),
        Some(old) => {
            warn!(mailbox = %mb.name, old, new = sel.uidvalidity, "UIDVALIDITY changed: rescanning the folder; stored mail is recognised and not imported twice");
            Cursor {
                uidvalidity: Some(sel.uidvalidity),
                last_uid: 0,
            }
        }
        None => {
            let last_uid = match mb.first_start {
                FirstStart::All => 0,
                FirstStart::New => match sel.uid_next {
                    Some(n) => n.saturating_sub(1),
                    None => conn.new_messages(0).await?.last().map_or(0, |(u, _)| *u),
                },
            };
            info!(mailbox = %mb.name, last_uid, "first start");
            Cursor {
                uidvalidity: Some(sel.uidvalidity),
                last_uid,
            }
        }
    };
    let name = mb.name.clone();
    // A new start or a new UIDVALIDITY: nothing below the cursor awaits an
    // acknowledgement (mail skipped by first_start = "new" is left alone).
    shared
        .with_store(move |s| {
            s.transaction(|tx| {
                mailboxes::set_cursor(tx, &name, cursor)?;
                mailboxes::set_acked(tx, &name, cursor.last_uid)
            })
        })
        .await?;
    Ok(cursor)
}

/// Acknowledge what an earlier session committed but could not flag, move
/// or delete before its connection dropped: every UID between the last
/// acknowledged one and the cursor was committed.
async fn finish_acks(
    shared: &Arc<Shared>,
    mb: &MailboxConfig,
    conn: &mut ImapConnection,
    cursor: Cursor,
) -> Result<(), IntakeError> {
    let name = mb.name.clone();
    let acked = shared
        .with_store(move |s| mailboxes::acked(s.conn(), &name))
        .await?;
    if acked >= cursor.last_uid {
        return Ok(());
    }
    info!(mailbox = %mb.name, from_uid = acked + 1, to_uid = cursor.last_uid, "acknowledging mail committed before the connection dropped");
    conn.ack_range(acked + 1, cursor.last_uid, &mb.after_commit)
        .await?;
    record_acked(shared, &mb.name, cursor.last_uid).await
}

async fn record_acked(shared: &Arc<Shared>, name: &str, uid: u32) -> Result<(), IntakeError> {
    let name = name.to_string();
    shared
        .with_store(move |s| s.transaction(|tx| mailboxes::set_acked(tx, &name, uid)))
        .await?;
    Ok(())
}

/// Fetch and commit everything above the cursor, batch by batch. Stops
/// between batches when cancelled (the batch in hand is finished).
/// Returns how many new messages it found.
async fn catch_up(
    shared: &Arc<Shared>,
    mb: &MailboxConfig,
    conn: &mut ImapConnection,
    cursor: &mut Cursor,
    token: &CancellationToken,
) -> Result<usize, IntakeError> {
    let mut found_total = 0;
    loop {
        let found = conn.new_messages(cursor.last_uid).await?;
        let pending = !found.is_empty();
        let name = mb.name.clone();
        let now = shared.clock.now();
        shared
            .with_store(move |s| {
                s.transaction(|tx| mailboxes::record_fetch(tx, &name, now, pending))
            })
            .await?;
        if !pending {
            return Ok(found_total);
        }
        found_total += found.len();
        // Batch i is committed on a blocking thread while batch i+1 is
        // fetched; batch i is acknowledged only once its commit is done.
        let mut in_flight: Option<InFlight> = None;
        for batch in plan(&found) {
            if token.is_cancelled() {
                break;
            }
            let messages = match conn.fetch(&batch).await {
                Ok(m) => m,
                Err(e) => {
                    // Let the commit land before the next session reads the cursor.
                    if let Some(f) = in_flight.take() {
                        let _ = f.commit.await;
                    }
                    return Err(e.into());
                }
            };
            let last = *batch.last().expect("batches are never empty");
            let fetched: Vec<u32> = messages.iter().map(|(u, _)| *u).collect();
            // Parse and classify this batch while the previous one commits.
            let prepared = prepare(
                shared,
                &mb.name,
                &mb.project,
                cursor.uidvalidity.unwrap_or(0),
                messages,
            );
            if let Some(f) = in_flight.take() {
                finish(shared, f, mb, conn, cursor).await?;
            }
            let commit = tokio::spawn(commit(
                shared.clone(),
                mb.name.clone(),
                cursor.uidvalidity.unwrap_or(0),
                last,
                prepared,
            ));
            in_flight = Some(InFlight {
                commit,
                fetched,
                last,
            });
        }
        if let Some(f) = in_flight.take() {
            finish(shared, f, mb, conn, cursor).await?;
        }
        if token.is_cancelled() {
            return Ok(found_total);
        }
    }
}

/// A batch being committed: its UIDs to acknowledge afterwards.
struct InFlight {
    commit: tokio::task::JoinHandle<Result<(), IntakeError>>,
    fetched: Vec<u32>,
    last: u32,
}

/// Wait for the commit, move the cursor, then acknowledge on the server.
async fn finish(
    shared: &Arc<Shared>,
    f: InFlight,
    mb: &MailboxConfig,
    conn: &mut ImapConnection,
    cursor: &mut Cursor,
) -> Result<(), IntakeError> {
    f.commit.await.expect("commit tasks do not panic")?;
    cursor.last_uid = f.last;
    // Only now may the server see the mail as handled.
    conn.ack(&f.fetched, &mb.after_commit).await?;
    record_acked(shared, &mb.name, f.last).await
}

/// Split (uid, size) into batches of at most BATCH messages and
/// BATCH_BYTES bytes (a single larger message goes alone).
fn plan(found: &[(u32, u32)]) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in found {
        if !cur.is_empty() && (cur.len() >= BATCH || bytes + u64::from(size) > BATCH_BYTES) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes += u64::from(size);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A batch being parsed and classified on the blocking pool, with the
/// pipeline (rules and templates as loaded when it was fetched) that will
/// store it.
struct Preparing {
    pipeline: Pipeline,
    uids: Vec<u32>,
    task: tokio::task::JoinHandle<Vec<Prepared>>,
}

/// Start parsing and classifying a fetched batch on all cores, without the
/// store.
fn prepare(
    shared: &Shared,
    name: &str,
    project: &str,
    uidvalidity: u32,
    messages: Vec<(u32, Vec<u8>)>,
) -> Preparing {
    let loaded = shared.loaded.borrow().clone();
    let pipeline = Pipeline {
        rules: loaded.rules,
        clock: shared.clock.clone(),
        bound_project: Some(project.to_string()),
        max_message_bytes: shared.max_message_bytes,
        replies: loaded.replies,
    };
    let uids: Vec<u32> = messages.iter().map(|(u, _)| *u).collect();
    let raws = messages
        .into_iter()
        .map(|(uid, bytes)| RawMessage {
            source: format!("imap:{name}/{uidvalidity}/{uid}"),
            mailbox: Some(name.to_string()),
            bytes,
        })
        .collect();
    let preparer = pipeline.clone();
    let inflight = shared.inflight.clone();
    let task = tokio::task::spawn_blocking(move || prepare_marked(&preparer, &inflight, raws));
    Preparing {
        pipeline,
        uids,
        task,
    }
}

/// Prepare a batch under an in-flight marker; a batch the last run died
/// preparing goes one message at a time, and the message it died on is
/// quarantined without being parsed again.
fn prepare_marked(
    pipeline: &Pipeline,
    inflight: &super::inflight::Inflight,
    raws: Vec<RawMessage>,
) -> Vec<Prepared> {
    let suspect = raws
        .iter()
        .any(|r| inflight.is_suspect(&r.source) || inflight.is_poison(&r.source));
    if !suspect {
        let _marker = inflight.mark(false, raws.iter().map(|r| r.source.as_str()));
        return pipeline.prepare_all(raws);
    }
    raws.into_iter()
        .map(|r| {
            if inflight.is_poison(&r.source) {
                warn!(source = %r.source, "quarantined: it stopped helpgate in an earlier run");
                return Pipeline::failed(r, super::inflight::REASON.to_string());
            }
            let _marker = inflight.mark(true, std::iter::once(r.source.as_str()));
            pipeline.prepare(r)
        })
        .collect()
}

/// Store a prepared batch and move the cursor to `last`, all in one
/// transaction, on a blocking thread.
async fn commit(
    shared: Arc<Shared>,
    name: String,
    uidvalidity: u32,
    last: u32,
    batch: Preparing,
) -> Result<(), IntakeError> {
    let metrics = shared.metrics.clone();
    let Preparing {
        pipeline,
        uids,
        task,
    } = batch;
    let prepared = task.await.expect("prepare never panics");
    for p in &prepared {
        crate::fault::maybe_panic(crate::fault::Stage::Intake, &p.raw.bytes);
    }
    let (stored, prepared) = shared
        .with_store(move |store| {
            let cursor = Cursor {
                uidvalidity: Some(uidvalidity),
                last_uid: last,
            };
            let stored = pipeline.commit_all(store, &prepared, |tx| {
                mailboxes::set_cursor(tx, &name, cursor)
            });
            if let Ok(outcomes) = &stored {
                // Logged once committed: a rolled-back try logs nothing.
                for (uid, outcome) in uids.iter().zip(outcomes) {
                    let span = info_span!("message", mailbox = %name, imap.uid = uid, ticket.id = tracing::field::Empty);
                    let _enter = span.enter();
                    if let Some(t) = ticket_of(outcome) {
                        span.record("ticket.id", t);
                    }
                    info!(outcome = outcome_name(outcome), "message stored");
                }
            }
            // Freed by the caller, not under the store lock.
            (stored, prepared)
        })
        .await;
    drop(prepared);
    let outcomes: Vec<Outcome> = stored?;
    count(&metrics, &outcomes);
    if outcomes
        .iter()
        .any(|o| matches!(o, Outcome::NewTicket { .. } | Outcome::FollowUp { .. }))
    {
        // Replies queued with these tickets go out now, not at the next poll.
        shared.outbox_wake.notify_one();
    }
    Ok(())
}

fn ticket_of(o: &Outcome) -> Option<i64> {
    match o {
        Outcome::NewTicket { ticket, .. } | Outcome::FollowUp { ticket, .. } => Some(ticket.0),
        _ => None,
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::NewTicket { .. } => "new_ticket",
        Outcome::FollowUp { .. } => "follow_up",
        Outcome::Recorded { .. } => "recorded",
        Outcome::Duplicate { .. } => "duplicate",
        Outcome::Quarantined { .. } => "quarantined",
    }
}

fn count(m: &Metrics, outcomes: &[Outcome]) {
    for o in outcomes {
        let c = match o {
            Outcome::NewTicket { .. } => &m.new_tickets,
            Outcome::FollowUp { .. } => &m.follow_ups,
            Outcome::Recorded { .. } => &m.recorded,
            Outcome::Duplicate { .. } => &m.duplicates,
            Outcome::Quarantined { .. } => &m.quarantined,
        };
        m.add(c, 1);
    }
    m.add(&m.messages, outcomes.len() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let found: Vec<(u32, u32)> = (1..=1200).map(|u| (u, 100)).collect();
        let p = plan(&found);
        assert_eq!(
            p.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![500, 500, 200]
        );
        let big = [(1, 30 << 20), (2, 30 << 20), (3, 10)];
        assert_eq!(plan(&big), vec![vec![1], vec![2, 3]]);
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new();
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(750));
        for _ in 0..20 {
            assert!(b.next_delay() <= Backoff::MAX.mul_f64(1.5));
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(750));
    }
}
