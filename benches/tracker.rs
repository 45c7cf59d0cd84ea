//! `cargo bench --bench tracker [-- ROWS]`: load a tracker of ROWS rows
//! (default 1,000,000) from CSV, then time what a mail adds: the registry
//! look-up and the rejection check for two recordings, and ID extraction
//! from a typical mail. Goals (issue 13): load <= 2 s, look-up < 5 us.

use helpgate::participant::ids::IdRules;
use helpgate::rules::{Project, RuleSet};
use helpgate::tracker::config::{Columns, Source, Statuses, TrackerConfig};
use helpgate::tracker::dispute::{self, Asked};
use helpgate::tracker::Registry;
use std::io::Write;
use std::time::Instant;

/// CPU time of this thread in seconds (/proc/thread-self/schedstat, ns):
/// on a shared machine, what the load itself costs.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tracker.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(
            f,
            "participant_id,recording_id,status,reason_code,reviewed_on"
        )
        .expect("write");
        let reasons = ["background_noise", "too_short", "wrong_text", "clipped"];
        for i in 0..rows {
            let status = ["rejected", "accepted", "pending"][i % 3];
            let reason = if i % 3 == 0 { reasons[i % 4] } else { "" };
            writeln!(
                f,
                "P-{:06},REC-{:08},{status},{reason},2026-11-{:02}",
                i / 20,
                i,
                1 + i % 28
            )
            .expect("write");
        }
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let project = Project {
        id: "voices".into(),
        tracker: Some(TrackerConfig {
            source: Source::File(path.clone()),
            sheet: None,
            columns: Columns {
                participant: "participant_id".into(),
                task: "recording_id".into(),
                status: "status".into(),
                reason: Some("reason_code".into()),
                date: Some("reviewed_on".into()),
                email: None,
            },
            statuses: Statuses::default(),
        }),
        ..Project::default()
    };
    let rules = RuleSet {
        projects: vec![project.clone()],
        ..RuleSet::builtin()
    };
    let mut loads = Vec::new();
    let mut cpu = Vec::new();
    let registry = Registry::default();
    for _ in 0..3 {
        let (t, c) = (Instant::now(), thread_cpu());
        let errors = registry.reload_all(&rules);
        assert!(errors.is_empty(), "{errors:?}");
        loads.push(t.elapsed().as_secs_f64());
        cpu.push(thread_cpu() - c);
    }
    loads.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "load {rows} rows ({:.1} MB CSV): wall median {:.3} s (min {:.3}, max {:.3}); CPU median {:.3} s (min {:.3})",
        size as f64 / 1e6,
        loads[1],
        loads[0],
        loads[2],
        cpu[1],
        cpu[0]
    );

    let mails = 200_000;
    let participants: Vec<Vec<String>> = (0..mails)
        .map(|i| vec![format!("P-{:06}", (i * 3 * 7) % rows / 20)])
        .collect();
    let tasks: Vec<Vec<String>> = (0..mails)
        .map(|i| {
            let r = (i * 3 * 7) % rows;
            vec![format!("REC-{r:08}"), format!("REC-{:08}", r + 3)]
        })
        .collect();
    let known = |_: &str| true;
    let t = Instant::now();
    let mut answered = 0usize;
    for i in 0..mails {
        let tracker = registry.get(&project).expect("loaded");
        let asked = Asked {
            participants: &participants[i],
            tasks: &tasks[i],
            sender: Some("ana@example.test"),
        };
        if matches!(
            dispute::rejection(&tracker, &asked, &known),
            dispute::Finding::Answer(_)
        ) {
            answered += 1;
        }
    }
    let per = t.elapsed().as_secs_f64() / mails as f64 * 1e6;
    println!("look-up (registry + rejection check, 2 recordings): {per:.2} us per mail ({answered} of {mails} answerable)");

    let ids = IdRules {
        participant: Some(regex::Regex::new(r"(?i)(?-u:\b)(P-?\d{5,8})(?-u:\b)").expect("regex")),
        task: Some(regex::Regex::new(r"(?i)(?-u:\b)(REC-\d{3,10})(?-u:\b)").expect("regex")),
        ..IdRules::default()
    };
    let text = "Olá, sou a participante P-104233. As minhas gravações REC-5521 e REC-5522 foram recusadas e não entendo o motivo da recusa. Podem explicar por que foram rejeitadas? Obrigada, Joana. ".repeat(8);
    let t = Instant::now();
    let n = 20_000;
    for _ in 0..n {
        std::hint::black_box(ids.extract(["Gravações recusadas", text.as_str()]));
    }
    println!(
        "ID extraction, {} B mail: {:.2} us per mail",
        text.len(),
        t.elapsed().as_secs_f64() / n as f64 * 1e6
    );
}
