//! The read pages: overview, ticket list, search, ticket view, assets.

use super::session::Desk;
use super::views::{self, choices, Chrome, Entry, ListPage, OverviewPage, TicketPage};
use super::{App, WebError};
use crate::store::desk::{self, DeskTicket, Filter, Sort};
use crate::store::{events, messages};
use crate::ticket::{TicketId, TicketState};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

const PER_PAGE: u32 = 50;

pub(super) fn chrome<'a>(app: &'a App, d: &'a Desk, q: &str) -> Chrome<'a> {
    Chrome {
        assets: &app.assets,
        user: &d.viewer.name,
        role: d.viewer.role.as_str(),
        csrf: &d.csrf,
        q: q.to_string(),
    }
}

pub(super) async fn overview(State(app): State<Arc<App>>, d: Desk) -> Result<Response, WebError> {
    let viewer = d.viewer.clone();
    let (o, by_queue) = app
        .tx(move |app, tx| {
            let o = desk::overview(tx, viewer.hidden_queues_json())?;
            let now = app.clock.now();
            let due = super::sla::by_queue(tx, &viewer, now, app.settings.sla_near_breach)?;
            Ok((o, due))
        })
        .await?;
    let total_open = o.queues.iter().map(|q| q.open).sum();
    let sla = o
        .queues
        .iter()
        .map(|q| by_queue.get(&q.queue).copied().unwrap_or_default())
        .collect();
    Ok(views::html(&OverviewPage {
        c: chrome(&app, &d, ""),
        o,
        total_open,
        sla,
    }))
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    participant: String,
    #[serde(default)]
    age_days: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    unassigned: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: u32,
    /// Keyset paging: the cursor of the row the page follows / precedes.
    #[serde(default)]
    after: String,
    #[serde(default)]
    before: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn topics(app: &App) -> Vec<String> {
    let mut t: Vec<String> = app.rules.topics.iter().map(|t| t.id.clone()).collect();
    t.extend(app.rules.routes.keys().cloned());
    t.sort();
    t.dedup();
    t
}

fn languages(app: &App) -> Vec<String> {
    app.rules.languages.iter().map(|l| l.code.clone()).collect()
}

pub(super) async fn list(
    State(app): State<Arc<App>>,
    d: Desk,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let state = match some(&q.state) {
        None => None,
        Some(s) => Some(
            TicketState::parse(&s)
                .ok_or_else(|| WebError::BadRequest(format!("unknown state {s:?}")))?,
        ),
    };
    let sort = match some(&q.sort) {
        None => Sort::default(),
        Some(s) => {
            Sort::parse(&s).ok_or_else(|| WebError::BadRequest(format!("unknown sort {s:?}")))?
        }
    };
    let older_than = match some(&q.age_days) {
        None => None,
        Some(n) => {
            let days: i64 = n
                .parse()
                .map_err(|_| WebError::BadRequest(format!("age_days: not a number: {n:?}")))?;
            Some(app.clock.now() - chrono::Duration::days(days.clamp(0, 3650)))
        }
    };
    let cursor = |s: &str| {
        desk::Cursor::decode(s)
            .ok_or_else(|| WebError::BadRequest(format!("not a list position: {s:?}")))
    };
    let keyset = match (some(&q.after), some(&q.before)) {
        (Some(a), _) => Some(desk::Keyset::After(cursor(&a)?)),
        (None, Some(b)) => Some(desk::Keyset::Before(cursor(&b)?)),
        (None, None) => None,
    };
    let filter = Filter {
        queue: some(&q.queue),
        state,
        topic: some(&q.topic),
        language: some(&q.language),
        mine: (!q.mine.is_empty()).then(|| d.viewer.name.clone()),
        unassigned: !q.unassigned.is_empty(),
        participant: some(&q.participant),
        older_than,
        sort,
        page: q.page,
        per_page: PER_PAGE,
        keyset,
    };
    let hidden = d.viewer.hidden_queues_json().to_string();
    let f = filter.clone();
    let (page, badges) = app
        .tx(move |app, tx| {
            let page = desk::list(tx, &hidden, &f)?;
            let badges = badges(app, tx, &page.tickets)?;
            Ok((page, badges))
        })
        .await?;
    let link = |p: u32, at: (&str, String)| {
        let mut pairs: Vec<(&str, String)> = [
            ("queue", &q.queue),
            ("state", &q.state),
            ("topic", &q.topic),
            ("language", &q.language),
            ("participant", &q.participant),
            ("age_days", &q.age_days),
            ("mine", &q.mine),
            ("unassigned", &q.unassigned),
            ("sort", &q.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect();
        pairs.push(at);
        pairs.push(("page", p.to_string()));
        format!(
            "/tickets?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let queues = crate::desk::queues(&app.rules)
        .into_iter()
        .filter(|x| d.viewer.can_see(Some(x)))
        .collect::<Vec<_>>();
    let states: Vec<String> = ["open", "answered", "recorded", "closed"]
        .map(String::from)
        .to_vec();
    let sorts: Vec<String> = ["oldest", "newest", "id"].map(String::from).to_vec();
    let sort_name = match sort {
        Sort::Oldest => "oldest",
        Sort::Newest => "newest",
        Sort::Id => "id",
    };
    let prev = page.tickets.first().filter(|_| page.more_before).map(|t| {
        link(
            q.page.saturating_sub(1),
            ("before", desk::Cursor::of(t).encode()),
        )
    });
    let next = page.tickets.last().filter(|_| page.more_after).map(|t| {
        link(
            q.page.saturating_add(1),
            ("after", desk::Cursor::of(t).encode()),
        )
    });
    Ok(views::html(&ListPage {
        c: chrome(&app, &d, ""),
        heading: "Tickets".into(),
        total: page.total,
        tickets: page.tickets.into_iter().zip(badges).collect(),
        search: false,
        queues: choices(&queues, filter.queue.as_deref()),
        states: choices(&states, state.map(TicketState::as_str)),
        topics: choices(&topics(&app), filter.topic.as_deref()),
        languages: choices(&languages(&app), filter.language.as_deref()),
        sorts: choices(&sorts, Some(sort_name)),
        mine: filter.mine.is_some(),
        unassigned: filter.unassigned,
        participant: q.participant.clone(),
        age_days: q.age_days.clone(),
        prev,
        next,
        page_no: q.page.saturating_add(1),
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn search(
    State(app): State<Arc<App>>,
    d: Desk,
    Query(s): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let hidden = d.viewer.hidden_queues_json().to_string();
    let words = s.q.clone();
    let (found, badges) = app
        .tx(move |app, tx| {
            let found = desk::search(tx, &hidden, &words, 200)?;
            let badges = badges(app, tx, &found)?;
            Ok((found, badges))
        })
        .await?;
    Ok(plain_list(
        &app,
        &d,
        &s.q,
        format!("Search: {}", s.q),
        found.into_iter().zip(badges).collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct DueQuery {
    #[serde(default)]
    queue: String,
}

/// The tickets whose SLA clock has run out or is about to (what `status`
/// and `tickets list --due` list), of the queues the viewer may see;
/// optionally of one queue (the overview's counts link here).
pub(super) async fn due(
    State(app): State<Arc<App>>,
    d: Desk,
    Query(q): Query<DueQuery>,
) -> Result<Response, WebError> {
    let viewer = d.viewer.clone();
    let queue = some(&q.queue);
    let heading = match &queue {
        Some(name) => format!("SLA breached or at risk: {name}"),
        None => "SLA breached or at risk".to_string(),
    };
    let rows = app
        .tx(move |app, tx| {
            let now = app.clock.now();
            let near = app.settings.sla_near_breach;
            let mut rows = Vec::new();
            for t in crate::sla::due(tx, now, near)? {
                let shown = t.queue.clone().unwrap_or_else(|| "-".into());
                if queue.as_ref().is_some_and(|q| *q != shown) {
                    continue;
                }
                // The same visibility query as every page: a hidden one is absent.
                if let Some(dt) = desk::ticket(tx, viewer.hidden_queues_json(), t.id)? {
                    rows.push((dt, super::sla::worst(&t.clocks)));
                }
                if rows.len() == 500 {
                    break;
                }
            }
            Ok(rows)
        })
        .await?;
    Ok(plain_list(&app, &d, "", heading, rows))
}

/// A list without filters or pages: search results, SLA breaches.
fn plain_list(
    app: &App,
    d: &Desk,
    q: &str,
    heading: String,
    tickets: Vec<(DeskTicket, super::sla::Badge)>,
) -> Response {
    views::html(&ListPage {
        c: chrome(app, d, q),
        heading,
        total: tickets.len() as i64,
        tickets,
        search: true,
        queues: Vec::new(),
        states: Vec::new(),
        topics: Vec::new(),
        languages: Vec::new(),
        sorts: Vec::new(),
        mine: false,
        unassigned: false,
        participant: String::new(),
        age_days: String::new(),
        prev: None,
        next: None,
        page_no: 1,
    })
}

/// Each listed ticket's most pressing SLA clock.
fn badges(
    app: &App,
    tx: &rusqlite::Connection,
    tickets: &[DeskTicket],
) -> Result<Vec<super::sla::Badge>, WebError> {
    let views = super::sla::views(
        tx,
        tickets.iter().map(|t| t.id),
        app.clock.now(),
        app.settings.sla_near_breach,
    )?;
    Ok(views.iter().map(super::sla::worst).collect())
}

/// Whether tickets in this queue are restricted by the rules.
pub(super) fn restricted(app: &App, queue: Option<&str>) -> bool {
    queue.is_some_and(|q| {
        q == app.rules.sensitive_queue || app.rules.queues.get(q).copied().unwrap_or(false)
    })
}

/// The visible ticket or 404; a restricted one gets a view event.
pub(super) fn visible(
    app: &App,
    tx: &rusqlite::Connection,
    d: &Desk,
    id: i64,
    record: bool,
) -> Result<DeskTicket, WebError> {
    let t =
        desk::ticket(tx, d.viewer.hidden_queues_json(), TicketId(id))?.ok_or(WebError::NotFound)?;
    if record && restricted(app, t.queue.as_deref()) {
        crate::desk::record_view(tx, t.id, &d.viewer.name, app.clock.now())?;
    }
    Ok(t)
}

/// What the ticket page shows besides the ticket itself.
pub(super) struct TicketData {
    t: DeskTicket,
    clocks: crate::sla::ClockView,
    entries: Vec<Entry>,
    events: Vec<events::Event>,
    others: Vec<DeskTicket>,
}

fn entries(
    ticket: TicketId,
    thread: Vec<messages::MessageDetail>,
    replies: Vec<desk::SentReply>,
) -> Vec<Entry> {
    let mut out: Vec<(chrono::DateTime<chrono::Utc>, Entry)> = Vec::new();
    for m in thread {
        let s = m.summary;
        let mut facts = format!("decision {}: {}", s.action, s.reason);
        if let Some(tp) = &s.topic {
            facts.push_str(&format!(" · topic {tp}"));
        }
        if let Some(l) = &s.language {
            facts.push_str(&format!(" · language {l}"));
        }
        for n in &s.notes {
            facts.push_str(&format!(" · {n}"));
        }
        out.push((
            s.received_at,
            Entry {
                ours: false,
                anchor: format!("m{}", s.id),
                from: s.from.clone().unwrap_or_else(|| "(no sender)".into()),
                subject: s.subject.clone(),
                date: m.body.date.map(views::when),
                arrived: views::when(s.received_at),
                quoted_lines: m.body.quoted.as_deref().map_or(0, |q| q.lines().count()),
                text: m.body.new_text,
                quoted: m.body.quoted,
                signature: m.body.signature,
                attachments: m
                    .body
                    .attachments
                    .iter()
                    .map(|a| views::AttachmentLink {
                        label: format!(
                            "{} ({}, {} bytes)",
                            a.name.as_deref().unwrap_or("(unnamed)"),
                            a.content_type,
                            a.size
                        ),
                        href: format!(
                            "/tickets/{}/messages/{}/attachments/{}",
                            ticket.0, s.id, a.sha256
                        ),
                    })
                    .collect(),
                facts,
                classification: m
                    .classification
                    .and_then(|c| serde_json::to_string_pretty(&c).ok()),
                state: None,
            },
        ));
    }
    for r in replies {
        let parsed = crate::parse::parse(&r.raw);
        let mut facts = format!("{} reply to {}", r.kind, r.recipient);
        if let Some(t) = &r.template {
            facts.push_str(&format!(" · template {t}"));
        }
        if let Some(e) = &r.last_error {
            facts.push_str(&format!(" · last error: {e}"));
        }
        if let Some(at) = r.sent_at {
            facts.push_str(&format!(" · sent {}", views::when(at)));
        }
        out.push((
            r.created_at,
            Entry {
                ours: true,
                anchor: format!("r{}", r.id),
                from: String::new(),
                subject: parsed.subject,
                date: parsed.date.map(views::when),
                arrived: views::when(r.created_at),
                text: parsed.body.full,
                quoted: None,
                quoted_lines: 0,
                signature: None,
                attachments: Vec::new(),
                facts,
                classification: None,
                state: Some(r.state),
            },
        ));
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, e)| e).collect()
}

pub(super) fn ticket_data(
    app: &App,
    tx: &rusqlite::Connection,
    d: &Desk,
    id: i64,
    record: bool,
) -> Result<TicketData, WebError> {
    let t = visible(app, tx, d, id, record)?;
    let thread = messages::for_ticket(tx, t.id)?;
    let replies = desk::replies(tx, t.id)?;
    let events = events::for_ticket(tx, t.id)?
        .into_iter()
        .filter(|e| e.kind != "reply_key")
        .collect();
    let others = desk::others_of(tx, d.viewer.hidden_queues_json(), &t, 20)?;
    let clocks = crate::sla::due::clocks_of(tx, t.id)?
        .unwrap_or_default()
        .view(app.clock.now(), app.settings.sla_near_breach);
    Ok(TicketData {
        clocks,
        entries: entries(t.id, thread, replies),
        t,
        events,
        others,
    })
}

/// Render the ticket page, with a take-over offer or a notice.
pub(super) fn ticket_page(
    app: &App,
    d: &Desk,
    data: TicketData,
    takeover_from: Option<String>,
    flash: Option<String>,
) -> Response {
    let t = data.t;
    let sensitive = restricted(app, t.queue.as_deref())
        || t.topic
            .as_deref()
            .is_some_and(|tp| app.rules.is_sensitive_topic(&t.project, tp));
    let queues: Vec<String> = crate::desk::queues(&app.rules)
        .into_iter()
        .filter(|q| d.viewer.can_see(Some(q)))
        .collect();
    let topic_template = topic_template(app, &t);
    let page = TicketPage {
        c: chrome(app, d, ""),
        clocks: super::sla::clocks(&data.clocks),
        template_choices: choices(&app.rules.templates, topic_template.as_deref()),
        no_topic_template: topic_template.is_none(),
        privacy_subject: super::privacy::subject(app, d, &t),
        restricted: restricted(app, t.queue.as_deref()),
        sensitive,
        entries: data.entries,
        events: data.events,
        others: data.others,
        languages: choices(&languages(app), t.language.as_deref()),
        queues: choices(&queues, t.queue.as_deref()),
        topics: choices(&topics(app), t.topic.as_deref()),
        may_assign: d.viewer.may_assign(),
        mine: t.claimed_by.as_deref() == Some(d.viewer.name.as_str()),
        takeover_from,
        flash,
        t,
    };
    views::html(&page)
}

/// The template the rules answer the ticket's topic with (or one named
/// after the topic), when the rule set has it: what the reply form offers
/// first. The language list already starts at the ticket's language.
fn topic_template(app: &App, t: &DeskTicket) -> Option<String> {
    let topic = t.topic.as_deref()?;
    app.rules
        .route(&t.project, topic)
        .and_then(|r| r.template.clone())
        .or_else(|| Some(topic.to_string()))
        .filter(|name| app.rules.templates.contains(name))
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct TicketQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn ticket(
    State(app): State<Arc<App>>,
    d: Desk,
    Path(id): Path<i64>,
    Query(q): Query<TicketQuery>,
) -> Result<Response, WebError> {
    let d2 = d.clone();
    let data = app
        .tx(move |app, tx| ticket_data(app, tx, &d2, id, true))
        .await?;
    Ok(ticket_page(&app, &d, data, None, q.done))
}

/// An attachment, always as a download of opaque bytes: a participant's
/// HTML or SVG must never run in the console's origin.
pub(super) async fn attachment(
    State(app): State<Arc<App>>,
    d: Desk,
    Path((id, message, sha256)): Path<(i64, i64, String)>,
) -> Result<Response, WebError> {
    let (name, bytes) = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, true)?;
            let m = messages::for_ticket(tx, t.id)?
                .into_iter()
                .find(|m| m.summary.id.0 == message)
                .ok_or(WebError::NotFound)?;
            let a = m
                .body
                .attachments
                .iter()
                .find(|a| a.sha256 == sha256)
                .ok_or(WebError::NotFound)?;
            let raw = messages::raw(tx, m.summary.id)?.ok_or(WebError::NotFound)?;
            let bytes = crate::parse::attachment(&raw, &sha256).ok_or(WebError::NotFound)?;
            Ok((a.name.clone().unwrap_or_else(|| "attachment".into()), bytes))
        })
        .await?;
    // Quotes, backslashes and control characters cannot end the header value.
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let ascii: String = safe
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let encoded: String = safe
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        "x-content-type-options",
        axum::http::HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&disposition) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The ticket's last change, for the page's "changed since" notice.
pub(super) async fn version(
    State(app): State<Arc<App>>,
    d: Desk,
    Path(id): Path<i64>,
) -> Result<String, WebError> {
    app.tx(move |app, tx| {
        Ok(crate::store::ts(
            visible(app, tx, &d, id, false)?.updated_at,
        ))
    })
    .await
}

pub(super) async fn asset(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    views::asset(&app.assets, &name)
}

pub(super) async fn not_found() -> WebError {
    WebError::NotFound
}
