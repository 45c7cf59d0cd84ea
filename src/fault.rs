//! Test-only fault injection, inert unless the environment asks for it:
//! `HELPGATE_FAULT_PANIC=<stage>:<marker>` makes helpgate panic at
//! `<stage>` (`prepare` or `commit` of the pipeline, or `intake`: the
//! daemon's mailbox task itself, outside the per-message guard) for every
//! message whose raw bytes contain `<marker>`; `abort` aborts the process
//! while preparing it (what a memory bomb or a stack overflow does). Integration tests use it to prove that a panic for
//! one mail quarantines that mail and lets the rest of its batch through
//! (issue 10); no production code path sets it, and it is not a flag of
//! any command.

use std::sync::LazyLock;

/// Where in the pipeline a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prepare,
    Commit,
    Intake,
    /// Abort the process at the prepare stage.
    Abort,
}

static FAULT: LazyLock<Option<(Stage, Vec<u8>)>> = LazyLock::new(|| {
    let v = std::env::var("HELPGATE_FAULT_PANIC").ok()?;
    let (stage, marker) = v.split_once(':')?;
    let stage = match stage {
        "prepare" => Stage::Prepare,
        "commit" => Stage::Commit,
        "intake" => Stage::Intake,
        "abort" => Stage::Abort,
        _ => return None,
    };
    (!marker.is_empty()).then(|| (stage, marker.as_bytes().to_vec()))
});

/// Panic here when the environment asks for it for this message.
pub fn maybe_panic(stage: Stage, raw: &[u8]) {
    if let Some((s, marker)) = FAULT.as_ref() {
        let hit = || raw.windows(marker.len()).any(|w| w == marker.as_slice());
        if *s == Stage::Abort && stage == Stage::Prepare && hit() {
            eprintln!("injected abort (HELPGATE_FAULT_PANIC)");
            std::process::abort();
        }
        if *s == stage && hit() {
            panic!("injected fault at {stage:?} (HELPGATE_FAULT_PANIC)");
        }
    }
}

/// The text of a caught panic.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
