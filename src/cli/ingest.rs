//! `helpgate ingest PATH...`: the embedded default and the MTA-pipe path.

use super::{load_config, open_store, Cli};
use anyhow::Context;
use helpgate::clock::Clock;
use helpgate::intake::files::{self, Item};
use helpgate::intake::RawMessage;
use helpgate::pipeline::{error_chain, Outcome, Pipeline, Prepared};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use helpgate::work::{Job, Queue};

/// Messages per transaction: large enough to amortise the commit (the
/// search index sorts and merges its new terms at every commit: 256 ->
/// 1024 took 5 % of ingest's CPU off on realistic mail), small enough to
/// bound memory (BATCH_BYTES caps it).
const BATCH: usize = 1024;
/// Cap on the bytes held in one batch (big mails go alone). Up to four
/// batches are in hand at once (being read, waiting to be sent, queued,
/// being stored).
const BATCH_BYTES: usize = 32 << 20;
/// Files opened ahead of the one being read (each holds a descriptor).
const READ_AHEAD: usize = 64;

/// One batch, parsed and classified, with the files that could not be read.
struct Batch {
    prepared: Vec<Prepared>,
    errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    messages: u64,
    new_tickets: u64,
    follow_ups: u64,
    recorded: u64,
    duplicates: u64,
    quarantined: u64,
    failed: u64,
}

impl Summary {
    fn add(&mut self, o: &Outcome) {
        self.messages += 1;
        match o {
            Outcome::NewTicket { .. } => self.new_tickets += 1,
            Outcome::FollowUp { .. } => self.follow_ups += 1,
            Outcome::Recorded { .. } => self.recorded += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }
}

pub(crate) fn run(cli: &Cli, paths: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    // Compiling rules and templates takes as long as opening the store and
    // listing a large Maildir: do them side by side.
    let (compiled, opened) = std::thread::scope(|s| {
        let compiled = std::thread::Builder::new()
            .name("compile".into())
            .spawn_scoped(s, || -> anyhow::Result<_> {
                Ok((
                    super::rules::load_rules(&config, None)?,
                    super::outbox::planner(&config)?,
                ))
            })
            .expect("cannot start a thread");
        let opened = open_store(&config).and_then(|mut store| {
            store.checkpoint_in_background()?;
            Ok(store)
        });
        let listed = list(paths);
        (
            compiled.join().expect("compiling never panics"),
            opened.map(|store| (store, listed)),
        )
    });
    let (rules, planner) = compiled?;
    let (mut store, (items, failed)) = opened?;
    let pipeline = Pipeline {
        rules: Arc::new(rules),
        clock: Clock::system(),
        bound_project: None,
        max_message_bytes: config.max_message_bytes,
        replies: Arc::new(planner),
    };
    let bar = progress(items.len());
    let mut summary = Summary {
        failed,
        ..Summary::default()
    };
    // Reading files is a stage of its own; each batch it reads is prepared
    // (parsed, guarded, classified) in chunks by the prepare workers and by
    // this thread, the store, whenever it has no batch to commit; then it
    // commits the batches in order. Reading apart from preparing takes the
    // file I/O off the busiest threads.
    let queue: Queue<Read<'_>, Prepped> = Queue::new();
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Arc<Job<Read<'_>, Prepped>>>(1);
    let prepare = |r: Read<'_>| prepare_one(&pipeline, r);
    // Replies are delivered beside the import, woken after each commit.
    let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let (committed, sent) = std::thread::scope(|s| {
        let (queue, items, prepare, config) = (&queue, &items, &prepare, &config);
        let delivery = std::thread::Builder::new()
            .name("deliver".into())
            .spawn_scoped(s, move || super::outbox::flush_on_wake(config, &wake_rx))
            .expect("cannot start a thread");
        let (drop_tx, drop_rx) = std::sync::mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("free".into())
            .spawn_scoped(s, move || drop_rx.into_iter().for_each(drop))
            .expect("cannot start a thread");
        std::thread::Builder::new()
            .name("read".into())
            .spawn_scoped(s, move || {
                read_all(items, |batch| {
                    let job = Arc::new(Job::new(batch));
                    queue.push(job.clone());
                    job_tx.send(job).is_ok()
                });
                queue.close();
            })
            .expect("cannot start the reader thread");
        // One core's worth of time stays with the store thread, which
        // prepares only when it would wait: a worker on every core made the
        // whole import slower (bench: +8 %).
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1).clamp(1, 8));
        for _ in 0..workers {
            std::thread::Builder::new()
                .name("prepare".into())
                .spawn_scoped(s, move || queue.work(prepare))
                .expect("cannot start a prepare thread");
        }
        let committed = (|| -> anyhow::Result<()> {
            for job in job_rx {
                let batch = Batch::from(job.finish(prepare));
                drop(job);
                for e in &batch.errors {
                    bar.suspend(|| eprintln!("helpgate: {e}"));
                    summary.failed += 1;
                }
                let n = (batch.prepared.len() + batch.errors.len()) as u64;
                let outcomes = pipeline
                    .commit_all(&mut store, &batch.prepared, |_| Ok(()))
                    .with_context(|| {
                        format!(
                            "cannot store in {} ({} messages stored before this one, none after it)",
                            store.path().display(),
                            summary.messages
                        )
                    })?;
                for o in &outcomes {
                    summary.add(o);
                }
                bar.inc(n);
                // A full channel already has the delivery thread coming.
                let _ = wake_tx.try_send(());
                // Freeing a batch (allocated by the prepare threads) costs
                // the store thread a tenth of its time: free it elsewhere.
                let _ = drop_tx.send(batch);
            }
            Ok(())
        })();
        // Closing the wake-up channel makes the delivery thread do a last
        // round, after the last commit.
        drop(wake_tx);
        (committed, delivery.join().expect("delivery never panics"))
    });
    bar.finish_and_clear();
    committed?;
    drop(store);
    let sent = sent?;

    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} messages: {} new tickets, {} follow-ups, {} recorded without ticket, {} duplicates, {} quarantined, {} failed",
            summary.messages,
            summary.new_tickets,
            summary.follow_ups,
            summary.recorded,
            summary.duplicates,
            summary.quarantined,
            summary.failed
        );
        match sent {
            Some(s) if s.sent + s.retried + s.parked > 0 => println!(
                "replies: {} sent, {} to retry later, {} parked",
                s.sent, s.retried, s.parked
            ),
            Some(_) => {}
            None => println!("replies: queued for the helpgate process that delivers this outbox"),
        }
    }
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The messages the paths name, in order, and how many paths failed.
fn list(paths: &[String]) -> (Vec<Item>, u64) {
    let mut items = Vec::new();
    let mut failed = 0u64;
    for p in paths {
        match files::expand(p) {
            Ok(found) => items.extend(found),
            Err(e) => {
                eprintln!("helpgate: {}", error_chain(&e));
                failed += 1;
            }
        }
    }
    (items, failed)
}

/// One file as read: its bytes, or why it is not mail we can store.
struct Read<'a> {
    item: &'a Item,
    read: Result<Vec<u8>, String>,
}

/// One file prepared, or why it could not be.
type Prepped = Result<Prepared, String>;

/// Read the files in order and hand them on in batches; stops when
/// `send` says the store side has stopped.
fn read_all<'a>(items: &'a [Item], mut send: impl FnMut(Vec<Read<'a>>) -> bool) {
    let mut batch: Vec<Read<'a>> = Vec::new();
    let mut bytes_held = 0usize;
    // Files are opened (and the kernel asked to read them) this far ahead.
    let mut ahead = items.iter().map(Item::open_ahead);
    let mut window: std::collections::VecDeque<_> = ahead.by_ref().take(READ_AHEAD).collect();
    for item in items {
        window.extend(ahead.next());
        let opened = window.pop_front().expect("one opened per item");
        // What was read bounds the batch's memory, with no second look at
        // the file's size.
        let read = read_mail(item, opened).map_err(|e| error_chain(&e));
        bytes_held += read.as_ref().map_or(0, Vec::len);
        batch.push(Read { item, read });
        if batch.len() >= BATCH || bytes_held >= BATCH_BYTES {
            if !send(std::mem::take(&mut batch)) {
                return;
            }
            bytes_held = 0;
        }
    }
    if !batch.is_empty() {
        send(batch);
    }
}

fn prepare_one(pipeline: &Pipeline, r: Read<'_>) -> Prepped {
    Ok(pipeline.prepare(RawMessage {
        source: r.item.source(),
        mailbox: None,
        bytes: r.read?,
    }))
}

impl From<Vec<Prepped>> for Batch {
    fn from(results: Vec<Prepped>) -> Batch {
        let mut batch = Batch {
            prepared: Vec::with_capacity(results.len()),
            errors: Vec::new(),
        };
        for r in results {
            match r {
                Ok(p) => batch.prepared.push(p),
                Err(e) => batch.errors.push(e),
            }
        }
        batch
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error("{origin}: not a mail message (no header lines at the start)")]
    NotMail { origin: String },
}

fn read_mail(item: &Item, opened: files::Opened) -> Result<Vec<u8>, ReadError> {
    let bytes = item.read_opened(opened)?;
    if !looks_like_mail(&bytes) {
        return Err(ReadError::NotMail {
            origin: item.source(),
        });
    }
    Ok(bytes)
}

/// Anything whose first line is a header field (or an mbox "From " line)
/// and whose header block has no NUL bytes is mail enough to store.
fn looks_like_mail(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    // Windows editors save a byte-order mark before the first header.
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    // The blank line that ends the header block ("\n\n" or "\n\r\n").
    let header_end = head
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .find(|&(i, _)| matches!(&head[i + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
        .map_or(head.len(), |(i, _)| i);
    if head[..header_end].contains(&0) {
        return false;
    }
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if first_line.starts_with(b"From ") {
        return true;
    }
    match first_line.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => first_line[..colon].iter().all(|&b| (33..=126).contains(&b)),
        _ => false,
    }
}

fn progress(len: usize) -> ProgressBar {
    if len < 500 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {per_sec}, eta {eta}")
            .expect("static template is valid"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::looks_like_mail;

    #[test]
    fn recognises_mail_and_refuses_binary() {
        assert!(looks_like_mail(b"From: a@b\r\nSubject: x\r\n\r\nhi"));
        assert!(looks_like_mail(
            b"Received: from x\n\tby y\nSubject: z\n\nbody"
        ));
        assert!(!looks_like_mail(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!looks_like_mail(b"just some text\nwithout headers"));
        // A NUL anywhere in the header block, not only in its first line.
        assert!(!looks_like_mail(b"From: a@b\r\nX-Junk: \0\r\n\r\nhi"));
        assert!(looks_like_mail(b"From: a@b\r\n\r\nbinary \0 body"));
        // issue 10: a byte-order mark, and classic Mac line ends.
        assert!(looks_like_mail(b"\xEF\xBB\xBFFrom: a@b\r\n\r\nhi"));
        assert!(looks_like_mail(b"From: a@b\rSubject: x\r\rhi"));
    }
}
