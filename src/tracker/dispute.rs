//! What the tracker says about one mail: a rejection dispute or an upload
//! question. Pure: the rows, the IDs the mail names and who sent it in, a
//! [`Finding`] out.
//!
//! A participant ID is text the sender typed, so it proves nothing on its
//! own: a row is only used when its participant matches the mail's single
//! participant ID, and, where the tracker has an address column, the sender
//! is that address. Anything short of a clear answer goes to a person.

use super::{Row, Status, Tracker};
use serde::Serialize;

/// One recording in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recording {
    pub id: String,
    pub status: Status,
    pub reason: Option<String>,
    pub date: Option<String>,
}

/// What a template may list and count (see templates/README.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    pub recordings: Vec<Recording>,
    pub received: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub pending: usize,
}

/// The tracker's verdict on a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Every recording the mail names was found, rejected, with a reason
    /// code a text exists for: answer with these facts.
    Answer(Facts),
    /// A person decides; `why` in one sentence, the rows they should see.
    Person { why: String, rows: Vec<Row> },
}

/// The mail as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The participant IDs the mail names (one expected).
    pub participants: &'a [String],
    pub tasks: &'a [String],
    /// The sender's address.
    pub sender: Option<&'a str>,
}

fn visible(row: &Row, participant: &str, sender: Option<&str>) -> bool {
    *row.participant == *participant
        && match (&row.email, sender) {
            (None, _) => true,
            (Some(e), Some(s)) => e.eq_ignore_ascii_case(s),
            (Some(_), None) => false,
        }
}

/// A rejection dispute. `known_reason` says whether a reason code has a
/// text in the language the answer would be written in.
pub fn rejection(t: &Tracker, asked: &Asked<'_>, known_reason: &dyn Fn(&str) -> bool) -> Finding {
    let person = |why: String, rows: Vec<Row>| Finding::Person { why, rows };
    let participant = match asked.participants {
        [one] => one.as_str(),
        [] => return person("the mail names no participant ID".into(), Vec::new()),
        many => {
            return person(
                format!("the mail names {} participant IDs", many.len()),
                Vec::new(),
            )
        }
    };
    if asked.tasks.is_empty() {
        let own: Vec<Row> = t
            .participant(participant)
            .filter(|r| visible(r, participant, asked.sender))
            .cloned()
            .collect();
        let why = if own.is_empty() {
            format!(
                "participant {participant} is not in the tracker and the mail names no recording"
            )
        } else {
            "the mail names no recording ID".into()
        };
        return person(why, own);
    }
    let mut facts = Facts::default();
    // Rows are copied only for a person, who sees them.
    let mut rows: Vec<&Row> = Vec::new();
    let mut problems = Vec::new();
    for task in asked.tasks {
        let found: Vec<&Row> = t
            .task(task)
            .filter(|r| visible(r, participant, asked.sender))
            .collect();
        rows.extend(&found);
        match found.as_slice() {
            [] => problems.push(format!("{task} not found for {participant}")),
            [r] => match (r.status, r.reason.as_deref()) {
                (Status::Rejected, Some(code)) if known_reason(code) => {
                    facts.recordings.push(Recording {
                        id: task.clone(),
                        status: r.status,
                        reason: Some(code.to_string()),
                        date: r.date.as_deref().map(str::to_string),
                    });
                }
                (Status::Rejected, Some(code)) => {
                    problems.push(format!("{task} has reason code {code:?} with no text"))
                }
                (Status::Rejected, None) => problems.push(format!("{task} has no reason code")),
                (s, _) => problems.push(format!("{task} is {}", s.as_str())),
            },
            more => problems.push(format!("{task} has {} rows", more.len())),
        }
    }
    if !problems.is_empty() {
        return person(
            format!("tracker: {}", problems.join("; ")),
            rows.into_iter().cloned().collect(),
        );
    }
    facts.rejected = facts.recordings.len();
    facts.received = facts.recordings.len();
    Finding::Answer(facts)
}

/// Upload status: counts of the participant's recordings, or `None` when
/// the tracker does not know the participant.
pub fn uploads(t: &Tracker, asked: &Asked<'_>) -> Option<Facts> {
    let [participant] = asked.participants else {
        return None;
    };
    let mut facts = Facts::default();
    for r in t
        .participant(participant)
        .filter(|r| visible(r, participant, asked.sender))
    {
        facts.received += 1;
        match r.status {
            Status::Accepted => facts.accepted += 1,
            Status::Rejected => facts.rejected += 1,
            Status::Pending => facts.pending += 1,
        }
    }
    (facts.received > 0).then_some(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u32, p: &str, task: &str, status: Status, reason: Option<&str>) -> Row {
        Row {
            line,
            participant: p.into(),
            task: task.into(),
            status,
            reason: reason.map(Into::into),
            date: None,
            email: None,
        }
    }

    fn tracker() -> Tracker {
        Tracker::from_rows(
            "t.csv".into(),
            vec![
                row(2, "P-1", "REC-1", Status::Rejected, Some("noise")),
                row(3, "P-1", "REC-2", Status::Rejected, Some("too_short")),
                row(4, "P-1", "REC-3", Status::Accepted, None),
                row(5, "P-2", "REC-4", Status::Rejected, Some("noise")),
                row(6, "P-1", "REC-5", Status::Rejected, Some("mystery")),
            ],
        )
    }

    fn ask<'a>(p: &'a [String], t: &'a [String]) -> Asked<'a> {
        Asked {
            participants: p,
            tasks: t,
            sender: Some("ana@example.test"),
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn all_found_and_rejected_is_an_answer() {
        let known = |c: &str| c != "mystery";
        let f = rejection(
            &tracker(),
            &ask(&s(&["P-1"]), &s(&["REC-1", "REC-2"])),
            &known,
        );
        let Finding::Answer(facts) = f else {
            panic!("{f:?}")
        };
        let ids: Vec<_> = facts.recordings.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["REC-1", "REC-2"]);
    }

    #[test]
    fn partly_accepted_unknown_code_or_someone_elses_goes_to_a_person() {
        let known = |c: &str| c != "mystery";
        for (tasks, expect) in [
            (s(&["REC-1", "REC-3"]), "REC-3 is accepted"),
            (s(&["REC-5"]), "no text"),
            (s(&["REC-4"]), "REC-4 not found for P-1"),
            (s(&["REC-9"]), "REC-9 not found"),
        ] {
            match rejection(&tracker(), &ask(&s(&["P-1"]), &tasks), &known) {
                Finding::Person { why, .. } => assert!(why.contains(expect), "{why}"),
                other => panic!("{tasks:?}: {other:?}"),
            }
        }
        assert!(matches!(
            rejection(
                &tracker(),
                &ask(&s(&["P-1", "P-2"]), &s(&["REC-1"])),
                &known
            ),
            Finding::Person { .. }
        ));
    }

    #[test]
    fn an_address_column_hides_rows_from_other_senders() {
        let mut rows = vec![row(2, "P-1", "REC-1", Status::Rejected, Some("noise"))];
        rows[0].email = Some("ana@example.test".into());
        let t = Tracker::from_rows("t".into(), rows);
        let p = s(&["P-1"]);
        let tasks = s(&["REC-1"]);
        let mut a = ask(&p, &tasks);
        assert!(matches!(rejection(&t, &a, &|_| true), Finding::Answer(_)));
        a.sender = Some("mallory@example.test");
        assert!(matches!(
            rejection(&t, &a, &|_| true),
            Finding::Person { .. }
        ));
    }

    #[test]
    fn upload_counts() {
        let f = uploads(&tracker(), &ask(&s(&["P-1"]), &[])).unwrap();
        assert_eq!(
            (f.received, f.accepted, f.rejected, f.pending),
            (4, 1, 3, 0)
        );
        assert!(uploads(&tracker(), &ask(&s(&["P-9"]), &[])).is_none());
    }
}
