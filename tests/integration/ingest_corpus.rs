//! Every file of the shared corpus goes through the real pipeline into a
//! real store: nothing panics, every file is stored, and its raw bytes come
//! back exactly.

use helpgate::clock::Clock;
use helpgate::intake::RawMessage;
use helpgate::pipeline::{Outcome, Pipeline};
use helpgate::rules::RuleSet;
use helpgate::store::{messages, Store};
use std::path::PathBuf;
use std::sync::Arc;

fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_is_stored_and_round_trips() {
    let Some(corpus) = crate::common::corpus() else {
        eprintln!("../shared/corpus not found: corpus test skipped");
        return;
    };
    let mut paths = Vec::new();
    files(&corpus, &mut paths);
    paths.sort();
    assert!(paths.len() > 800, "corpus has {} files", paths.len());

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in(dir.path()).unwrap();
    let pipeline = Pipeline {
        rules: Arc::new(RuleSet::builtin()),
        clock: Clock::fixed_unix(1_790_000_000),
        default_project: "default".into(),
        max_message_bytes: 50 << 20,
        replies: Default::default(),
    };
    let mut stored = Vec::new();
    for chunk in paths.chunks(64) {
        let batch: Vec<RawMessage> = chunk
            .iter()
            .map(|p| RawMessage {
                source: format!("file:{}", p.display()),
                mailbox: None,
                bytes: std::fs::read(p).unwrap(),
            })
            .collect();
        let outcomes = pipeline.process_batch(&mut store, batch).unwrap();
        for (p, o) in chunk.iter().zip(outcomes) {
            let id = match o {
                Outcome::NewTicket { message, .. }
                | Outcome::FollowUp { message, .. }
                | Outcome::Recorded { message, .. }
                | Outcome::Duplicate { message } => message,
                Outcome::Quarantined { reason, .. } => {
                    panic!("{} quarantined: {reason}", p.display())
                }
            };
            stored.push((p.clone(), id));
        }
    }
    for (p, id) in &stored {
        let raw = messages::raw(store.conn(), *id).unwrap().unwrap();
        assert!(
            raw == std::fs::read(p).unwrap(),
            "{} does not round-trip",
            p.display()
        );
    }
    eprintln!("corpus: {} files stored and round-tripped", stored.len());
}
