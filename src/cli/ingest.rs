//! `helpgate ingest PATH...`: the embedded default and the MTA-pipe path.

use super::{load_config, open_store, Cli};
use helpgate::clock::Clock;
use helpgate::intake::files::{self, Item};
use helpgate::intake::RawMessage;
use helpgate::pipeline::{error_chain, Outcome, Pipeline, Prepared};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

/// Messages per transaction: large enough to amortise the commit, small
/// enough to bound memory.
const BATCH: usize = 256;
/// Cap on the bytes held in one batch (big mails go alone). Up to five
/// batches are in hand at once (read, queued, preparing, queued, storing).
const BATCH_BYTES: usize = 32 << 20;

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
    // Three stages, each a batch ahead of the next: reading files, parsing
    // and classifying (all cores but one), and the store, which commits
    // batch by batch on this thread. Reading apart from preparing takes
    // the file I/O off the busiest thread (perf: prepare, ~45 % of CPU).
    let (read_tx, read_rx) = std::sync::mpsc::sync_channel::<Vec<Read>>(1);
    let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<Batch>(1);
    let committed = std::thread::scope(|s| -> anyhow::Result<()> {
        let pipeline = &pipeline;
        let items = &items;
        let (drop_tx, drop_rx) = std::sync::mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("free".into())
            .spawn_scoped(s, move || drop_rx.into_iter().for_each(drop))
            .expect("cannot start a thread");
        std::thread::Builder::new()
            .name("read".into())
            .spawn_scoped(s, move || {
                let mut batch: Vec<Read> = Vec::new();
                let mut bytes_held = 0usize;
                for item in items {
                    // What was read bounds the batch's memory, with no
                    // second look at the file's size.
                    let read = read_mail(item).map_err(|e| error_chain(&e));
                    bytes_held += read.as_ref().map_or(0, Vec::len);
                    batch.push(Read { item, read });
                    if batch.len() >= BATCH || bytes_held >= BATCH_BYTES {
                        if read_tx.send(std::mem::take(&mut batch)).is_err() {
                            return; // the store side stopped on an error
                        }
                        bytes_held = 0;
                    }
                }
                let _ = read_tx.send(batch);
            })
            .expect("cannot start the reader thread");
        std::thread::Builder::new()
            .name("prepare".into())
            .spawn_scoped(s, move || {
                for reads in read_rx {
                    if batch_tx.send(prepare(pipeline, reads)).is_err() {
                        return;
                    }
                }
            })
            .expect("cannot start the prepare thread");
        for batch in batch_rx {
            for e in &batch.errors {
                bar.suspend(|| eprintln!("helpgate: {e}"));
                summary.failed += 1;
            }
            let n = (batch.prepared.len() + batch.errors.len()) as u64;
            let outcomes = pipeline.commit_all(&mut store, &batch.prepared, |_| Ok(()))?;
            for o in &outcomes {
                summary.add(o);
            }
            bar.inc(n);
            // Freeing a batch (allocated by the prepare threads) costs the
            // store thread a tenth of its time: free it elsewhere.
            let _ = drop_tx.send(batch);
        }
        Ok(())
    });
    bar.finish_and_clear();
    committed?;
    drop(store);
    // Deliver the replies this run queued, so the demo shows them.
    let sent = super::outbox::flush(&config)?;

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
        if sent.sent + sent.retried + sent.parked > 0 {
            println!(
                "replies: {} sent, {} to retry later, {} parked",
                sent.sent, sent.retried, sent.parked
            );
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

/// Parse/classify what was read on all cores but one, keeping the order.
fn prepare(pipeline: &Pipeline, mut reads: Vec<Read<'_>>) -> Batch {
    let one = |r: &mut Read<'_>| -> Result<Prepared, String> {
        let bytes = std::mem::replace(&mut r.read, Ok(Vec::new()))?;
        Ok(pipeline.prepare(RawMessage {
            source: r.item.source(),
            mailbox: None,
            bytes,
        }))
    };
    // One core stays with the store thread, the limit: sharing it with the
    // prepare threads made the whole import slower (bench: +8 %).
    let workers =
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).clamp(1, 8));
    let results: Vec<Result<Prepared, String>> = if reads.len() < 16 || workers < 2 {
        reads.iter_mut().map(one).collect()
    } else {
        let per = reads.len().div_ceil(workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = reads
                .chunks_mut(per)
                .map(|chunk| {
                    std::thread::Builder::new()
                        .name("prepare".into())
                        .spawn_scoped(s, move || chunk.iter_mut().map(one).collect::<Vec<_>>())
                        .expect("cannot start a prepare thread")
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("preparing never panics"))
                .collect()
        })
    };
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

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error("{origin}: not a mail message (no header lines at the start)")]
    NotMail { origin: String },
}

fn read_mail(item: &Item) -> Result<Vec<u8>, ReadError> {
    let bytes = item.read()?;
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
    }
}
