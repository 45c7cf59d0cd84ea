//! `helpgate report` over a realistic store (the 217 mails of the e2e set,
//! specialists' replies and a close), in all three formats, and the HTML
//! opened in headless Chromium: the screenshot is kept in the target dir
//! (and copied to docs/report.png with HELPGATE_KEEP_SCREENSHOT=1).

use crate::common::{path_str, repo, Env};
use std::path::Path;
use std::process::Command;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn lines_json(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The e2e set, two answered by hand with a template, one closed.
fn desk() -> Env {
    let env = Env::new();
    let maildir = repo().join("tests/fixtures/e2e/maildir");
    ok(&env.run(&["ingest", path_str(&maildir)]));
    let open = lines_json(&ok(
        &env.run(&["tickets", "list", "--state", "open", "--json"])
    ));
    assert!(open.len() >= 3, "the e2e set routes mail to people");
    for t in &open[..2] {
        let id = t["id"].to_string();
        ok(&env.run(&[
            "tickets",
            "reply",
            &id,
            "--template",
            "instructions",
            "--as",
            "ann",
        ]));
    }
    ok(&env.run(&[
        "tickets",
        "close",
        &open[0]["id"].to_string(),
        "--as",
        "ann",
    ]));
    env
}

fn today() -> String {
    helpgate::clock::Clock::system()
        .now()
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn report_json_csv_and_html_over_a_realistic_store() {
    let env = desk();
    let day = today();
    let period = ["--since", day.as_str(), "--until", day.as_str()];
    let json = ok(&env.run(&[&["report", "--format", "json"][..], &period].concat()));
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Every message of the store arrived today (ingest stamps arrival).
    let stored = lines_json(&ok(&env.run(&["messages", "list", "--json"]))).len() as u64;
    assert_eq!(r["messages"], stored);
    let by_outcome: u64 = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(by_outcome, stored);
    let volume: u64 = r["volume"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(volume, stored);
    assert_eq!(r["rates"]["resolved"], 1);
    let general = r["times"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["by"] == "queue" && t["name"] == "general")
        .expect("a general queue");
    assert!(general["first_response"]["count"].as_u64().unwrap() >= 2);
    let manual = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "manual_template")
        .expect("templates sent by hand are suggested");
    assert_eq!(manual["count"], 2);

    let csv = ok(&env.run(&[&["report", "--format", "csv"][..], &period].concat()));
    assert!(csv.starts_with("section,key,name,detail,metric,value,tickets\n"));
    assert!(csv.contains(&format!("period,{day} to {day},,,messages,{stored},")));

    let html_path = env.dir.path().join("report.html");
    ok(&env.run(
        &[
            &["report", "--format", "html", "-o", path_str(&html_path)][..],
            &period,
        ]
        .concat(),
    ));
    screenshot(&html_path);
}

/// Open the page in headless Chromium: the browser's DOM has the three
/// charts as SVG with their bars, and the screenshot is a full page.
fn screenshot(html: &Path) {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "headless Chromium is a test prerequisite"
    );
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().unwrap();
    let browser = |args: &[&str]| {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let dom = String::from_utf8(browser(&["--dump-dom"]).stdout).unwrap();
    assert_eq!(dom.matches("<svg").count(), 3, "three charts in the DOM");
    assert!(dom.matches("<rect").count() > 10, "bars drawn");
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&png);
    browser(&[
        &format!("--screenshot={}", png.display()),
        "--window-size=1200,900",
    ]);
    let bytes = std::fs::read(&png).expect("Chromium wrote the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1200);
    // A blank page compresses to a few KB; charts and tables do not.
    assert!(bytes.len() > 30_000, "{} bytes", bytes.len());
    if std::env::var_os("HELPGATE_KEEP_SCREENSHOT").is_some() {
        std::fs::create_dir_all(repo().join("docs")).unwrap();
        std::fs::copy(&png, repo().join("docs/report.png")).unwrap();
    }
}

/// `tickets list --due --json` and `status --json` list the tickets whose
/// clocks a policy runs (here: the sensitive queue, 1 hour; near breach
/// 2 hours, so every one is near at once).
#[test]
fn due_tickets_and_status_json_show_the_clocks() {
    let env = Env::new();
    let config = env.dir.path().join("helpgate.toml");
    std::fs::write(
        &config,
        "[sla]\nnear_breach = \"2h\"\n[[sla.policy]]\nqueue = \"sensitive\"\nfirst_response = \"1h\"\nresolution = \"2h\"\n",
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.arg("--config").arg(&config);
        ok(&c.output().unwrap())
    };
    ok(&env.run(&[
        "ingest",
        path_str(&repo().join("tests/fixtures/e2e/maildir")),
    ]));
    let sensitive: Vec<i64> = lines_json(&ok(&env.run(&[
        "tickets",
        "list",
        "--queue",
        "sensitive",
        "--json",
    ])))
    .iter()
    .map(|t| t["id"].as_i64().unwrap())
    .collect();
    assert!(!sensitive.is_empty());
    let due = lines_json(&with_config(&["tickets", "list", "--due", "--json"]));
    let mut ids: Vec<i64> = due.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, sensitive);
    for d in &due {
        assert_eq!(d["queue"], "sensitive");
        let fr = &d["clocks"]["first_response"];
        assert!(fr["state"] == "running" || fr["state"] == "breached", "{d}");
        if fr["state"] == "running" {
            assert_eq!(fr["near"], true);
            assert!(fr["left_secs"].as_i64().unwrap() <= 3600);
        }
    }
    let status: serde_json::Value =
        serde_json::from_str(&with_config(&["status", "--json"])).unwrap();
    let counted =
        status["sla"]["breached"].as_u64().unwrap() + status["sla"]["near"].as_u64().unwrap();
    assert_eq!(counted, sensitive.len() as u64);
    assert_eq!(status["sla_due"].as_array().unwrap().len(), sensitive.len());
    assert_eq!(status["alerts"], serde_json::json!([]));
}
