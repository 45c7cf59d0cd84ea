//! CSV: one long table, one figure per row, so a spreadsheet can pivot it.
//! Columns: `section,key,name,detail,metric,value,tickets` (README).

use super::Report;

fn ids(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `[section, key, name, detail, metric, value, tickets]`.
type Record = [String; 7];

fn rec(head: [&str; 5], value: &dyn ToString, tickets: &[i64]) -> Record {
    let [section, key, name, detail, metric] = head.map(String::from);
    [
        section,
        key,
        name,
        detail,
        metric,
        value.to_string(),
        ids(tickets),
    ]
}

fn records(r: &Report) -> Vec<Record> {
    let mut out = vec![rec(
        [
            "period",
            &r.period,
            r.project.as_deref().unwrap_or(""),
            "",
            "messages",
        ],
        &r.messages,
        &[],
    )];
    for v in &r.volume {
        let head = |m| ["volume", &v.week, &v.topic, &v.language, m];
        out.push(rec(head("tickets"), &v.tickets, &[]));
        out.push(rec(head("messages"), &v.messages, &[]));
    }
    for o in &r.outcomes {
        out.push(rec(
            ["outcome", &o.outcome, "", "", "messages"],
            &o.messages,
            &[],
        ));
        out.push(rec(["outcome", &o.outcome, "", "", "share"], &o.share, &[]));
    }
    for t in &r.times {
        out.push(rec(
            ["time", &t.by, &t.name, "", "tickets"],
            &t.tickets,
            &[],
        ));
        for (clock, d) in [
            ("first_response", &t.first_response),
            ("resolution", &t.resolution),
        ] {
            let head = |m| ["time", &t.by, &t.name, clock, m];
            out.push(rec(head("count"), &d.count, &[]));
            out.push(rec(head("median_secs"), &opt(d.median_secs), &[]));
            out.push(rec(head("p90_secs"), &opt(d.p90_secs), &[]));
        }
    }
    let rt = &r.rates;
    for (metric, value) in [
        ("tickets", rt.tickets as f64),
        ("resolved", rt.resolved as f64),
        ("resolution_rate", rt.resolution_rate),
        ("reopened", rt.reopened as f64),
        ("reopen_rate", rt.reopen_rate),
    ] {
        out.push(rec(["rate", "", "", "", metric], &value, &[]));
    }
    for b in &r.backlog {
        out.push(rec(["backlog", &b.age, "", "", "tickets"], &b.tickets, &[]));
    }
    let (p, s) = (&r.replies, &r.sla);
    for (section, key, metric, n, list) in [
        (
            "replies",
            "parked",
            "replies",
            p.parked,
            &p.parked_tickets[..],
        ),
        (
            "replies",
            "bounced",
            "replies",
            p.bounced,
            &p.bounced_tickets[..],
        ),
        ("sla", "with_policy", "tickets", s.with_policy, &[][..]),
        (
            "sla",
            "first_response",
            "breached",
            s.first_response.len() as u64,
            &s.first_response[..],
        ),
        (
            "sla",
            "resolution",
            "breached",
            s.resolution.len() as u64,
            &s.resolution[..],
        ),
    ] {
        out.push(rec([section, key, "", "", metric], &n, list));
    }
    for g in &r.suggestions {
        out.push(rec(
            ["suggestion", &g.kind, &g.text, "", "tickets"],
            &g.count,
            &g.tickets,
        ));
    }
    out
}

/// The report as CSV text.
pub fn to_csv(r: &Report) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let header = [
        "section", "key", "name", "detail", "metric", "value", "tickets",
    ];
    w.write_record(header)
        .expect("writing CSV to memory cannot fail");
    for record in records(r) {
        w.write_record(&record)
            .expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(w.into_inner().expect("flushing to memory cannot fail"))
        .expect("every field is a Rust string")
}
