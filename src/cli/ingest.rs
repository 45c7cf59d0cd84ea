//! `helpgate ingest PATH...`: the embedded default and the MTA-pipe path.

use super::{load_config, open_store, Cli};
use helpgate::clock::Clock;
use helpgate::intake::files::{self, Item};
use helpgate::intake::RawMessage;
use helpgate::pipeline::{error_chain, Outcome, Pipeline};
use helpgate::rules::RuleSet;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

/// Messages per transaction: large enough to amortise the commit, small
/// enough to bound memory.
const BATCH: usize = 256;
/// Cap on the bytes held in one batch (big mails go alone).
const BATCH_BYTES: usize = 64 << 20;

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
    let mut store = open_store(&config)?;
    let pipeline = Pipeline {
        rules: Arc::new(RuleSet::builtin()),
        clock: Clock::system(),
        default_project: "default".to_string(),
        max_message_bytes: config.max_message_bytes,
        replies: Arc::new(super::outbox::planner(&config)?),
    };

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
    let bar = progress(items.len());
    let mut summary = Summary {
        failed,
        ..Summary::default()
    };
    let mut batch: Vec<RawMessage> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut flush = |batch: &mut Vec<RawMessage>, summary: &mut Summary| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() as u64;
        let outcomes = pipeline.process_batch(&mut store, std::mem::take(batch))?;
        for o in &outcomes {
            summary.add(o);
        }
        bar.inc(n);
        Ok(())
    };
    for item in &items {
        let bytes = match read_mail(item) {
            Ok(b) => b,
            Err(e) => {
                bar.suspend(|| eprintln!("helpgate: {}", error_chain(&e)));
                summary.failed += 1;
                bar.inc(1);
                continue;
            }
        };
        batch_bytes += bytes.len();
        batch.push(RawMessage {
            source: item.source(),
            mailbox: None,
            bytes,
        });
        if batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
            if let Err(e) = flush(&mut batch, &mut summary) {
                bar.finish_and_clear();
                return Err(e);
            }
            batch_bytes = 0;
        }
    }
    let last = flush(&mut batch, &mut summary);
    bar.finish_and_clear();
    last?;
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
    let header_end = head
        .windows(2)
        .position(|w| w == b"\n\n" || w == b"\r\n")
        .unwrap_or(head.len());
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
    }
}
