//! HTML: one self-contained page (inline CSS and SVG, no scripts, nothing
//! fetched), charts drawn by plotters' SVG backend. Every text from the
//! store is escaped: phrases come from participants' mail.

use super::{human_secs, Report};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const BLUE_BAR: RGBColor = RGBColor(52, 101, 164);

/// Bar orientation: topics have long names and read better side-ways.
#[derive(Clone, Copy, PartialEq)]
enum Bars {
    Up,
    Across,
}

/// A bar chart as an SVG element; a note instead if plotters fails.
fn bars(title: &str, labels: &[String], values: &[f64], unit: &str, dir: Bars) -> String {
    let mut svg = String::new();
    let height = match dir {
        Bars::Up => 260,
        Bars::Across => (60 + 22 * labels.len() as u32).max(160),
    };
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (560, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = values.iter().copied().fold(0.0, f64::max).max(1.0) * 1.15;
        // Integer ranges are inclusive in plotters: n labels, n segments.
        let slots = (0..labels.len().saturating_sub(1)).into_segmented();
        let name = |x: &SegmentValue<usize>| match x {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let value = |v: &f64| format!("{v:.0}");
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(36);
        match dir {
            Bars::Up => {
                let mut chart = builder
                    .y_label_area_size(48)
                    .build_cartesian_2d(slots, 0.0..top)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .light_line_style(WHITE)
                    .y_desc(unit)
                    .x_labels(labels.len().max(1))
                    .x_label_formatter(&name)
                    .y_label_formatter(&value)
                    .draw()?;
                chart.draw_series(values.iter().enumerate().map(|(i, v)| {
                    let (a, b) = (SegmentValue::Exact(i), SegmentValue::Exact(i + 1));
                    let mut r = Rectangle::new([(a, 0.0), (b, *v)], BLUE_BAR.filled());
                    r.set_margin(0, 0, 6, 6);
                    r
                }))?;
            }
            Bars::Across => {
                let mut chart = builder
                    .y_label_area_size(150)
                    .build_cartesian_2d(0.0..top, slots)?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .light_line_style(WHITE)
                    .x_desc(unit)
                    .y_labels(labels.len().max(1))
                    .y_label_formatter(&name)
                    .x_label_formatter(&value)
                    .draw()?;
                chart.draw_series(values.iter().enumerate().map(|(i, v)| {
                    let (a, b) = (SegmentValue::Exact(i), SegmentValue::Exact(i + 1));
                    let mut r = Rectangle::new([(0.0, a), (*v, b)], BLUE_BAR.filled());
                    r.set_margin(3, 3, 0, 0);
                    r
                }))?;
            }
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(
            "<p>chart {} not drawn: {}</p>",
            esc(title),
            esc(&e.to_string())
        ),
    }
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", esc(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn ids(v: &[i64]) -> String {
    v.iter()
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report as one HTML page.
pub fn to_html(r: &Report) -> String {
    let mut topics: std::collections::BTreeMap<&str, u64> = Default::default();
    for v in &r.volume {
        *topics.entry(&v.topic).or_default() += v.tickets;
    }
    // Machine-mail topics (bounce, list, ...) have messages but no tickets.
    let (t_labels, t_values): (Vec<String>, Vec<f64>) = topics
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, v)| (k.to_string(), *v as f64))
        .unzip();
    let (o_labels, o_values): (Vec<String>, Vec<f64>) = r
        .outcomes
        .iter()
        .map(|o| (o.outcome.replace('_', " "), o.share * 100.0))
        .unzip();
    let (b_labels, b_values): (Vec<String>, Vec<f64>) = r
        .backlog
        .iter()
        .map(|b| (b.age.clone(), b.tickets as f64))
        .unzip();
    let title = format!(
        "helpgate report {}{}",
        r.period,
        r.project
            .as_ref()
            .map(|p| format!(" — {p}"))
            .unwrap_or_default()
    );
    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
body{{font-family:sans-serif;margin:2em;max-width:72em;color:#222}}h1{{font-size:1.5em}}h2{{font-size:1.15em;margin-top:1.6em}}\
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left}}\
th{{background:#eee}}.charts{{display:flex;flex-wrap:wrap;gap:1em}}.kpi{{display:inline-block;margin-right:2em}}\
</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    ));
    h.push_str(&format!(
        "<p><span class=\"kpi\">{} messages</span><span class=\"kpi\">{} tickets</span>\
<span class=\"kpi\">resolution rate {:.1} %</span><span class=\"kpi\">reopen rate {:.1} %</span>\
<span class=\"kpi\">SLA breaches {} / {}</span></p>\n",
        r.messages,
        r.rates.tickets,
        r.rates.resolution_rate * 100.0,
        r.rates.reopen_rate * 100.0,
        r.sla.first_response.len() + r.sla.resolution.len(),
        r.sla.with_policy
    ));
    h.push_str("<div class=\"charts\">");
    h.push_str(&bars(
        "Tickets by topic",
        &t_labels,
        &t_values,
        "tickets",
        Bars::Across,
    ));
    h.push_str(&bars(
        "What happened to the mail",
        &o_labels,
        &o_values,
        "% of messages",
        Bars::Up,
    ));
    h.push_str(&bars(
        "Open tickets by age",
        &b_labels,
        &b_values,
        "tickets",
        Bars::Up,
    ));
    h.push_str("</div>\n<h2>Suggestions to reduce tickets</h2>\n");
    if r.suggestions.is_empty() {
        h.push_str("<p>None this period.</p>");
    } else {
        let rows: Vec<Vec<String>> = r
            .suggestions
            .iter()
            .map(|s| vec![s.kind.replace('_', " "), s.text.clone(), ids(&s.tickets)])
            .collect();
        h.push_str(&table(&["kind", "suggestion", "tickets"], &rows));
    }
    h.push_str("\n<h2>Volume by week, topic and language</h2>\n");
    let rows: Vec<Vec<String>> = r
        .volume
        .iter()
        .map(|v| {
            vec![
                v.week.clone(),
                v.topic.clone(),
                v.language.clone(),
                v.tickets.to_string(),
                v.messages.to_string(),
            ]
        })
        .collect();
    h.push_str(&table(
        &["week", "topic", "language", "tickets", "messages"],
        &rows,
    ));
    h.push_str("\n<h2>Outcomes</h2>\n");
    let rows: Vec<Vec<String>> = r
        .outcomes
        .iter()
        .map(|o| {
            vec![
                o.outcome.replace('_', " "),
                o.messages.to_string(),
                format!("{:.1} %", o.share * 100.0),
            ]
        })
        .collect();
    h.push_str(&table(&["outcome", "messages", "share"], &rows));
    h.push_str("\n<h2>First response and resolution times</h2>\n");
    let rows: Vec<Vec<String>> = r
        .times
        .iter()
        .map(|t| {
            vec![
                t.by.clone(),
                t.name.clone(),
                t.tickets.to_string(),
                human_secs(t.first_response.median_secs),
                human_secs(t.first_response.p90_secs),
                human_secs(t.resolution.median_secs),
                human_secs(t.resolution.p90_secs),
            ]
        })
        .collect();
    h.push_str(&table(
        &[
            "by",
            "name",
            "tickets",
            "first response median",
            "p90",
            "resolution median",
            "p90",
        ],
        &rows,
    ));
    h.push_str("\n<h2>Backlog, failed replies, SLA</h2>\n");
    let rows: Vec<Vec<String>> = r
        .backlog
        .iter()
        .map(|b| {
            vec![
                format!("open, {}", b.age),
                b.tickets.to_string(),
                String::new(),
            ]
        })
        .chain([
            vec![
                "replies parked".into(),
                r.replies.parked.to_string(),
                ids(&r.replies.parked_tickets),
            ],
            vec![
                "replies bounced".into(),
                r.replies.bounced.to_string(),
                ids(&r.replies.bounced_tickets),
            ],
            vec![
                "first response late".into(),
                r.sla.first_response.len().to_string(),
                ids(&r.sla.first_response),
            ],
            vec![
                "resolution late".into(),
                r.sla.resolution.len().to_string(),
                ids(&r.sla.resolution),
            ],
        ])
        .collect();
    h.push_str(&table(&["what", "count", "tickets"], &rows));
    h.push_str(&format!(
        "\n<p><small>Generated {} for {} to {} (UTC).</small></p>\n</body></html>\n",
        r.generated_at.format("%Y-%m-%d %H:%M UTC"),
        r.since.format("%Y-%m-%d %H:%M"),
        r.until.format("%Y-%m-%d %H:%M")
    ));
    h
}
