//! Issue 13 through the real binary: participant IDs in several languages,
//! a QA tracker in CSV and XLSX answering rejection disputes (or handing
//! them to a person with the rows), `tickets link|merge`, `forget` (no
//! trace left in the database file or its WAL, totals unchanged) and
//! `export`.

use crate::common::{json_lines, path_str, repo, Env};
use serde_json::Value;
use std::path::{Path, PathBuf};

const IDS: &str = r#"
[project.ids]
participant = '(?i)(?-u:\b)(P-?\d{5,8})(?-u:\b)'
task = '(?i)(?-u:\b)(REC-\d{3,10})(?-u:\b)'
merge = "MERGE"
"#;

const TRACKER_CSV: &str = "participant_id,recording_id,status,reason_code,reviewed_on\n\
P-104233,REC-5521,rejected,background_noise,2026-11-20\n\
P-104233,REC-5522,rejected,too_short,2026-11-20\n\
P-104233,REC-5523,accepted,,2026-11-21\n\
P-104233,REC-5524,pending,,\n\
P-777001,REC-9001,rejected,wrong_text,2026-11-19\n";

/// A state dir with a config whose rules are the shipped ones plus ID
/// patterns and (optionally) a tracker for the default project.
struct Desk {
    env: Env,
    config: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

impl Desk {
    fn new(tracker: Option<&str>, merge: &str) -> Desk {
        let env = Env::new();
        let rules = env.dir.path().join("rules");
        copy_dir(&repo().join("rules"), &rules);
        let projects = rules.join("projects.toml");
        let mut text = std::fs::read_to_string(&projects).unwrap();
        // The shipped default project may carry its own [project.ids]:
        // this test's patterns replace it.
        if let Some(i) = text.find("[project.ids]") {
            let end = text[i..].find("\n\n").map_or(text.len(), |e| i + e);
            text.replace_range(i..end, "");
        }
        text.push_str(&IDS.replace("MERGE", merge));
        if let Some(source) = tracker {
            text.push_str(&format!(
                "\n[project.tracker]\n{source}\n\n[project.tracker.columns]\nparticipant = \"participant_id\"\ntask = \"recording_id\"\nstatus = \"status\"\nreason = \"reason_code\"\ndate = \"reviewed_on\"\n"
            ));
        }
        std::fs::write(&projects, text).unwrap();
        let config = env.dir.path().join("helpgate.toml");
        std::fs::write(&config, format!("rules_dir = \"{}\"\n", path_str(&rules))).unwrap();
        Desk { env, config }
    }

    fn with_csv(merge: &str) -> Desk {
        let d = Desk::new(Some("file = \"TRACKER\""), merge);
        let csv = d.env.dir.path().join("tracker.csv");
        std::fs::write(&csv, TRACKER_CSV).unwrap();
        d.point_tracker_to(&csv);
        d
    }

    fn point_tracker_to(&self, path: &Path) {
        let projects = self.env.dir.path().join("rules/projects.toml");
        let text = std::fs::read_to_string(&projects).unwrap();
        std::fs::write(&projects, text.replace("TRACKER", path_str(path))).unwrap();
    }

    fn ok(&self, args: &[&str]) -> String {
        let mut full = vec!["--config", path_str(&self.config)];
        full.extend_from_slice(args);
        self.env.ok(&full)
    }

    fn ingest(&self, name: &str, mail: &str) -> Value {
        let p = self.env.mail(name, mail);
        let out = self.ok(&["ingest", "--json", path_str(&p)]);
        serde_json::from_str(out.trim()).unwrap()
    }

    fn show(&self, id: i64) -> Value {
        serde_json::from_str(
            self.ok(&["tickets", "show", &id.to_string(), "--json"])
                .trim(),
        )
        .unwrap()
    }

    /// The replies written to the file outbox, as text.
    fn replies(&self) -> Vec<String> {
        let dir = self.env.state().join("outbox");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                out.push(decode(&std::fs::read(&p).unwrap()));
            }
        }
        out
    }
}

/// The text of a reply (quoted-printable or base64 body decoded by the
/// crate's own parser, so the test reads what a participant reads).
fn decode(raw: &[u8]) -> String {
    let parsed = helpgate::parse::parse(raw);
    format!("{}\n{}", parsed.subject, parsed.body.new_text)
}

fn mail(from: &str, id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: support@helpgate.example\nSubject: {subject}\n\
         Date: Mon, 23 Nov 2026 09:12:00 +0000\nMessage-ID: <{id}@example.com>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
    )
}

fn pt_dispute(id: &str, recordings: &str) -> String {
    mail(
        "Joana Silva <joana@example.com>",
        id,
        "Gravações recusadas",
        &format!("Olá, sou a participante P-104233. As minhas gravações {recordings} foram recusadas e não entendo o motivo da recusa. Podem explicar por que foram rejeitadas?\n\nObrigada, Joana"),
    )
}

#[test]
fn issue_13_rejection_dispute_in_portuguese_is_answered_with_both_reasons() {
    let d = Desk::with_csv("suggest");
    let r = d.ingest("pt.eml", &pt_dispute("pt1", "REC-5521 e REC-5522"));
    assert_eq!(r["new_tickets"], 1, "{r}");
    let msgs = d.env.messages();
    assert_eq!(msgs[0]["action"], "auto_reply", "{}", msgs[0]);
    assert_eq!(msgs[0]["topic"], "rejection_dispute");
    let replies = d.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0];
    assert!(
        reply.contains("REC-5521: há muito ruído de fundo"),
        "{reply}"
    );
    assert!(
        reply.contains("REC-5522: a gravação é mais curta do que a tarefa pede"),
        "{reply}"
    );
    assert!(reply.contains("(participante P-104233)"), "{reply}");
    assert!(!reply.contains("{"), "no placeholder left: {reply}");
    let t = d.show(1);
    assert_eq!(t["state"], "answered");
    assert_eq!(t["participant_id"], "P-104233");
    assert_eq!(t["task_ids"], serde_json::json!(["REC-5521", "REC-5522"]));
    let events: Vec<&Value> = t["events"].as_array().unwrap().iter().collect();
    assert!(
        events.iter().any(|e| e["kind"] == "tracker"
            && e["detail"]
                .as_str()
                .unwrap()
                .contains("REC-5522 rejected reason too_short")),
        "{events:?}"
    );
}

#[test]
fn issue_13_partly_accepted_dispute_goes_to_a_person_with_the_rows_attached() {
    let d = Desk::with_csv("suggest");
    d.ingest(
        "pt.eml",
        &pt_dispute("pt2", "REC-5521 e REC-5523 e REC-0404"),
    );
    let msgs = d.env.messages();
    assert_eq!(msgs[0]["action"], "human", "{}", msgs[0]);
    let reason = msgs[0]["reason"].as_str().unwrap();
    assert!(reason.contains("REC-5523 is accepted"), "{reason}");
    assert!(reason.contains("REC-0404 not found"), "{reason}");
    assert!(d.replies().is_empty());
    let t = d.show(1);
    assert_eq!(t["state"], "open");
    let tracker = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "tracker")
        .expect("tracker rows attached");
    let detail = tracker["detail"].as_str().unwrap();
    assert!(
        detail
            .contains("row 2: participant P-104233 task REC-5521 rejected reason background_noise"),
        "{detail}"
    );
    assert!(detail.contains("task REC-5523 accepted"), "{detail}");
    // The text view shows them too.
    let text = d.ok(&["tickets", "show", "1"]);
    assert!(text.contains("participant ID P-104233"), "{text}");
    assert!(text.contains("REC-5523 accepted"), "{text}");
}

#[test]
fn issue_13_someone_elses_recording_is_never_explained() {
    let d = Desk::with_csv("suggest");
    // P-104233 asks about REC-9001, which belongs to P-777001.
    d.ingest("pt.eml", &pt_dispute("pt3", "REC-9001"));
    let msgs = d.env.messages();
    assert_eq!(msgs[0]["action"], "human");
    assert!(d.replies().is_empty());
}

#[test]
fn issue_13_xlsx_tracker_answers_the_same_dispute() {
    let d = Desk::new(Some("file = \"TRACKER\""), "suggest");
    let xlsx = d.env.dir.path().join("tracker.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in TRACKER_CSV.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    // A recording ID typed as a number must still read as text.
    sheet.write_string(6, 0, "P-104233").unwrap();
    sheet.write_number(6, 1, 7788.0).unwrap();
    sheet.write_string(6, 2, "Rejected").unwrap();
    book.save(&xlsx).unwrap();
    d.point_tracker_to(&xlsx);
    assert!(d.ok(&["tracker", "check"]).contains("6 rows"));
    d.ingest("pt.eml", &pt_dispute("px1", "REC-5521 e REC-5522"));
    let replies = d.replies();
    assert_eq!(replies.len(), 1, "{:?}", d.env.messages());
    assert!(
        replies[0].contains("REC-5522: a gravação é mais curta"),
        "{}",
        replies[0]
    );
}

#[test]
fn issue_13_broken_tracker_is_refused_with_file_row_column() {
    let d = Desk::with_csv("suggest");
    let csv = d.env.dir.path().join("tracker.csv");
    std::fs::write(
        &csv,
        "participant_id,recording_id,status,reason_code,reviewed_on\nP-1,REC-1,rejected,x,\nP-1,REC-2,lost,x,\n",
    )
    .unwrap();
    let out = d
        .env
        .cmd(&["--config", path_str(&d.config), "tracker", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:3: unknown status \"lost\"", csv.display())),
        "{err}"
    );
}

#[test]
fn issue_13_ids_in_several_languages_are_stored_and_usable_in_templates() {
    let d = Desk::new(None, "suggest");
    let cases = [
        ("de", "Zahlung fehlt", "Hallo, meine Teilnehmer-ID ist p-2211009. Wann bekomme ich meine Zahlung für letzte Woche?", "P-2211009"),
        ("zh", "付款问题", "您好，我的编号是Ｐ－７７６６５５，上周的付款什么时候到账？", "P-776655"),
        ("ko", "결제 문의", "안녕하세요. 참가자 번호 P-55512 입니다. 지난주 녹음 보상은 언제 지급되나요?", "P-55512"),
    ];
    for (i, (lang, subject, body, _)) in cases.iter().enumerate() {
        d.ingest(
            &format!("{lang}.eml"),
            &mail(
                &format!("p{i}@example.com"),
                &format!("ids-{lang}"),
                subject,
                body,
            ),
        );
    }
    for (i, (_, _, _, pid)) in cases.iter().enumerate() {
        let t = d.show(i as i64 + 1);
        assert_eq!(t["participant_id"], *pid, "{t}");
    }
}

#[test]
fn issue_13_link_merge_suggestion_and_automatic_merge() {
    let d = Desk::new(None, "suggest");
    let body = "Hello, my participant ID is P-300300. Recording REC-111 was rejected, why was it rejected?";
    d.ingest(
        "a.eml",
        &mail("Ana <ana@example.com>", "m1", "Rejected recording", body),
    );
    d.ingest(
        "b.eml",
        &mail(
            "Ana <ana@example.com>",
            "m2",
            "Rejected recording again",
            body,
        ),
    );
    let second = d.show(2);
    assert_eq!(second["linked"][0]["id"], 1, "{second}");
    assert!(
        second["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "merge_suggested"),
        "{second}"
    );
    d.ok(&["tickets", "merge", "2", "1", "--as", "sam"]);
    let first = d.show(1);
    assert_eq!(first["thread"].as_array().unwrap().len(), 2);
    assert_eq!(d.show(2)["merged_into"], 1);
    assert_eq!(d.show(2)["state"], "closed");

    // A ticket without an ID gets one from a specialist.
    d.ingest(
        "c.eml",
        &mail(
            "Bo <bo@example.com>",
            "m3",
            "Question",
            "Hello, a question about my account please.",
        ),
    );
    d.ok(&["tickets", "link", "3", "p-300300", "--as", "sam"]);
    assert_eq!(d.show(3)["participant_id"], "P-300300");

    // Automatic merge: the same address, the same participant, the same topic.
    let auto = Desk::new(None, "auto");
    auto.ingest(
        "a.eml",
        &mail("Ana <ana@example.com>", "n1", "Rejected recording", body),
    );
    auto.ingest(
        "b.eml",
        &mail(
            "Ana <ana@example.com>",
            "n2",
            "Rejected recording again",
            body,
        ),
    );
    // Another address naming the same ID is not merged into Ana's ticket.
    auto.ingest(
        "c.eml",
        &mail("Eve <eve@example.com>", "n3", "Rejected recording", body),
    );
    let tickets = auto.env.tickets();
    let open: Vec<&Value> = tickets.iter().filter(|t| t["state"] != "closed").collect();
    assert_eq!(open.len(), 2, "{tickets:?}");
    assert_eq!(auto.show(1)["thread"].as_array().unwrap().len(), 2);
    assert_eq!(auto.show(2)["merged_into"], 1);
}

/// Per topic, language and action: what a report counts.
fn totals(d: &Desk) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = d
        .env
        .messages()
        .iter()
        .map(|m| {
            (
                m["topic"].to_string(),
                m["language"].to_string(),
                m["action"].to_string(),
            )
        })
        .chain(d.env.tickets().iter().map(|t| {
            (
                t["topic"].to_string(),
                t["state"].to_string(),
                t["created_at"].to_string(),
            )
        }))
        .collect();
    v.sort();
    v
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn issue_13_forget_leaves_no_trace_and_totals_unchanged() {
    let d = Desk::with_csv("suggest");
    let phrase = "minha avó ouviu tudo";
    d.ingest("pt.eml", &pt_dispute("f1", "REC-5521 e REC-5522"));
    d.ingest(
        "pt2.eml",
        &mail(
            "Joana Silva <joana@example.com>",
            "f2",
            "Pagamento",
            &format!("Olá, quando recebo o pagamento da semana passada? {phrase}. P-104233"),
        ),
    );
    d.ingest(
        "other.eml",
        &mail(
            "Bruno <bruno@example.com>",
            "f3",
            "Pagamento",
            "Olá, quando recebo o pagamento da semana passada?",
        ),
    );
    let before = totals(&d);
    let db = d.env.state().join("helpgate.db");
    let bytes = || {
        let mut b = std::fs::read(&db).unwrap();
        b.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
        b
    };
    assert!(contains(&bytes(), "joana@example.com"));
    assert!(contains(&bytes(), phrase));

    // A dry run lists and changes nothing.
    let dry = d.ok(&["forget", "joana@example.com", "--dry-run"]);
    assert!(dry.contains("tickets 2"), "{dry}");
    assert!(contains(&bytes(), phrase));

    let out = d.ok(&["forget", "joana@example.com", "--as", "dpo", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["erased"]["counts"]["messages"], 2, "{v}");
    assert_eq!(v["erased"]["wal_left"], 0, "{v}");
    let all = bytes();
    for needle in [
        "joana@example.com",
        "Joana",
        phrase,
        "P-104233",
        "REC-5522",
        "Gravações recusadas",
    ] {
        assert!(
            !contains(&all, needle),
            "{needle:?} still in the database or WAL"
        );
    }
    assert!(
        contains(&all, "bruno@example.com"),
        "the other person stays"
    );
    // The reply files the file transport wrote go too; Bruno's stays.
    assert_eq!(
        v["erased"]["outbox_files"], v["erased"]["counts"]["outbox"],
        "{v}"
    );
    let replies = d.replies();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| !r.contains("Joana") && !r.contains("REC-55")),
        "{replies:?}"
    );
    assert_eq!(totals(&d), before, "report totals changed");
    let erasures = json_lines(&d.ok(&["forget", "joana@example.com", "--json"]));
    assert_eq!(erasures[0]["found"], false);
}

#[test]
fn issue_13_export_writes_json_and_the_raw_mails() {
    let d = Desk::with_csv("suggest");
    d.ingest("pt.eml", &pt_dispute("e1", "REC-5521 e REC-5522"));
    let out = d.env.dir.path().join("export");
    d.ok(&["export", "P-104233", "--out", path_str(&out)]);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("export.json")).unwrap()).unwrap();
    assert_eq!(doc["addresses"][0], "joana@example.com");
    assert_eq!(doc["tickets"][0]["participant_id"], "P-104233");
    let raw = std::fs::read(out.join("messages/1.eml")).unwrap();
    assert_eq!(raw, std::fs::read(d.env.dir.path().join("pt.eml")).unwrap());
    assert_eq!(doc["outbox"].as_array().unwrap().len(), 1);
    assert!(out.join("outbox").read_dir().unwrap().count() == 1);
}

#[test]
fn issue_13_rules_check_names_a_bad_id_pattern() {
    let d = Desk::new(None, "sometimes");
    let projects = d.env.dir.path().join("rules/projects.toml");
    let text = std::fs::read_to_string(&projects)
        .unwrap()
        .replace("(P-?", "(P-?[");
    std::fs::write(&projects, text).unwrap();
    let out = d
        .env
        .run(&["rules", "check", path_str(&d.env.dir.path().join("rules"))]);
    assert!(!out.status.success());
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        err.contains("projects.toml:") && err.contains("invalid regex"),
        "{err}"
    );
    assert!(
        err.contains("merge: expected off, suggest or auto"),
        "{err}"
    );
}

#[test]
fn issue_13_upload_question_is_answered_with_the_trackers_counts() {
    let d = Desk::with_csv("suggest");
    d.ingest(
        "up.eml",
        &mail(
            "Joana <joana@example.com>",
            "u1",
            "Did my uploads arrive?",
            "Hi, I am P-104233. I uploaded my recordings yesterday, did you receive them? Upload confirmation please.",
        ),
    );
    let msgs = d.env.messages();
    assert_eq!(msgs[0]["topic"], "upload_confirmation", "{}", msgs[0]);
    assert_eq!(msgs[0]["action"], "auto_reply");
    let replies = d.replies();
    assert_eq!(replies.len(), 1);
    let r = &replies[0];
    assert!(r.contains("We have received 4 of your recordings."), "{r}");
    assert!(r.contains("Still being checked: 1 "), "{r}");
    assert!(r.contains("Accepted: 1."), "{r}");
    assert!(r.contains("Not accepted: 2;"), "{r}");
    // Someone the tracker does not know gets the general answer.
    d.ingest(
        "up2.eml",
        &mail(
            "Bo <bo@example.com>",
            "u2",
            "Did my uploads arrive?",
            "Hi, I am P-999999. I uploaded my recordings yesterday, did you receive them? Upload confirmation please.",
        ),
    );
    let replies = d.replies();
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().any(|r| !r.contains("We have received")));
}

#[test]
fn a_merge_suggestion_names_a_few_tickets_however_many_mails_name_the_id() {
    // Anyone may name one participant ID in any number of mails: the
    // suggestion on each new ticket lists the ten oldest, not every one.
    let d = Desk::new(None, "suggest");
    let maildir = d.env.dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for i in 0..14 {
        let body = format!(
            "My participant ID is P-300300. Recording REC-{i}11 was rejected, why was it rejected?"
        );
        let text = mail(
            "Ana <ana@example.com>",
            &format!("m{i}"),
            &format!("Rejected recording {i}"),
            &body,
        );
        std::fs::write(
            maildir
                .join("new")
                .join(format!("17900000{i:02}.M{i}P1.test")),
            text.replace('\n', "\r\n"),
        )
        .unwrap();
    }
    d.ok(&["ingest", path_str(&maildir)]);
    let last = d.show(14);
    let events = last["events"].as_array().unwrap();
    let suggestion = events
        .iter()
        .find(|e| e["kind"] == "merge_suggested")
        .unwrap_or_else(|| panic!("{last}"));
    let detail = suggestion["detail"].as_str().unwrap();
    assert!(
        detail.contains("[#1]") && detail.contains("[#10]"),
        "{detail}"
    );
    assert!(
        !detail.contains("[#11]") && detail.contains("and more"),
        "{detail}"
    );
    // With fewer than ten, all of them and no "more".
    let fifth = d.show(5);
    let detail = fifth["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "merge_suggested")
        .and_then(|e| e["detail"].as_str())
        .unwrap()
        .to_string();
    assert!(
        detail.contains("[#4]") && !detail.contains("more"),
        "{detail}"
    );
}
