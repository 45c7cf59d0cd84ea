//! Template structs (one per page, HTML in src/web/html) and the embedded
//! stylesheet, served under a content hash so it can be cached for good.

use crate::store::desk::{DeskTicket, Overview};
use crate::store::events::Event;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

pub(super) const STYLE: &str = include_str!("assets/style.css");
pub(super) const LIVE: &str = include_str!("assets/live.js");

/// Embedded assets and their hashed names.
pub(super) struct Assets {
    pub(super) style: String,
    pub(super) live: String,
}

fn hashed(stem: &str, ext: &str, content: &str) -> String {
    let h = hex::encode(Sha256::digest(content.as_bytes()));
    format!("{stem}-{}.{ext}", &h[..12])
}

impl Assets {
    pub(super) fn new() -> Assets {
        Assets {
            style: hashed("style", "css", STYLE),
            live: hashed("live", "js", LIVE),
        }
    }
}

/// Render a page; a template error is a 500 page, not a panic.
pub(super) fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => super::WebError::Internal(format!("template: {e}")).into_response(),
    }
}

/// The top bar every logged-in page has.
pub(super) struct Chrome<'a> {
    pub(super) assets: &'a Assets,
    pub(super) user: &'a str,
    pub(super) role: &'static str,
    pub(super) csrf: &'a str,
    pub(super) q: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage<'a> {
    pub(super) assets: &'a Assets,
    pub(super) token: &'a str,
    pub(super) next: &'a str,
    pub(super) error: Option<String>,
    pub(super) notice: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub(super) struct OverviewPage<'a> {
    pub(super) c: Chrome<'a>,
    pub(super) o: Overview,
    pub(super) total_open: i64,
    /// Per queue of `o.queues`, in order: tickets breached, near a breach.
    pub(super) sla: Vec<(usize, usize)>,
}

/// A select's options and which one is chosen.
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) selected: bool,
}

pub(super) fn choices(values: &[String], current: Option<&str>) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v.clone(),
            selected: Some(v.as_str()) == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "list.html")]
pub(super) struct ListPage<'a> {
    pub(super) c: Chrome<'a>,
    pub(super) heading: String,
    /// Each ticket with its most pressing SLA clock.
    pub(super) tickets: Vec<(DeskTicket, super::sla::Badge)>,
    pub(super) total: i64,
    pub(super) search: bool,
    pub(super) queues: Vec<Choice>,
    pub(super) states: Vec<Choice>,
    pub(super) topics: Vec<Choice>,
    pub(super) languages: Vec<Choice>,
    pub(super) sorts: Vec<Choice>,
    pub(super) mine: bool,
    pub(super) unassigned: bool,
    pub(super) participant: String,
    pub(super) age_days: String,
    pub(super) prev: Option<String>,
    pub(super) next: Option<String>,
    pub(super) page_no: u32,
}

/// An attachment as listed, with its download link.
pub(super) struct AttachmentLink {
    pub(super) label: String,
    pub(super) href: String,
}

/// One entry of a ticket's thread: a participant's message or our reply.
pub(super) struct Entry {
    pub(super) ours: bool,
    pub(super) anchor: String,
    pub(super) from: String,
    pub(super) subject: String,
    /// The mail's own Date header, when it had one.
    pub(super) date: Option<String>,
    /// When it reached us (or when we queued it).
    pub(super) arrived: String,
    pub(super) text: String,
    pub(super) quoted: Option<String>,
    pub(super) quoted_lines: usize,
    pub(super) signature: Option<String>,
    pub(super) attachments: Vec<AttachmentLink>,
    /// Incoming: decision and reason; ours: template and delivery state.
    pub(super) facts: String,
    pub(super) classification: Option<String>,
    pub(super) state: Option<String>,
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub(super) struct TicketPage<'a> {
    pub(super) c: Chrome<'a>,
    pub(super) t: DeskTicket,
    pub(super) clocks: Vec<(&'static str, super::sla::Badge)>,
    /// Templates, the one for the ticket's topic selected.
    pub(super) template_choices: Vec<Choice>,
    pub(super) no_topic_template: bool,
    /// Privacy request: the participant whose data export and forget act on.
    pub(super) privacy_subject: Option<String>,
    pub(super) restricted: bool,
    pub(super) sensitive: bool,
    pub(super) entries: Vec<Entry>,
    pub(super) events: Vec<Event>,
    pub(super) others: Vec<DeskTicket>,
    pub(super) languages: Vec<Choice>,
    pub(super) queues: Vec<Choice>,
    pub(super) topics: Vec<Choice>,
    pub(super) may_assign: bool,
    pub(super) mine: bool,
    pub(super) takeover_from: Option<String>,
    pub(super) flash: Option<String>,
}

#[derive(Template)]
#[template(path = "forget.html")]
pub(super) struct ForgetPage<'a> {
    pub(super) c: Chrome<'a>,
    pub(super) t: DeskTicket,
    pub(super) who: String,
    pub(super) person: crate::participant::forget::Person,
    pub(super) tokens: Vec<String>,
}

#[derive(Template)]
#[template(path = "preview.html")]
pub(super) struct PreviewPage<'a> {
    pub(super) c: Chrome<'a>,
    pub(super) t: DeskTicket,
    pub(super) template: String,
    pub(super) lang: String,
    pub(super) subject: String,
    pub(super) body: String,
    pub(super) once_key: String,
    pub(super) sensitive: bool,
}

/// The embedded stylesheet and script under their hashed names; anything
/// else is not found.
pub(super) fn asset(assets: &Assets, name: &str) -> Response {
    let (ctype, body) = if name == assets.style {
        ("text/css; charset=utf-8", STYLE)
    } else if name == assets.live {
        ("text/javascript; charset=utf-8", LIVE)
    } else {
        return super::WebError::NotFound.into_response();
    };
    (
        StatusCode::OK,
        [
            ("content-type", ctype),
            ("cache-control", "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

pub(super) fn when(t: impl std::borrow::Borrow<chrono::DateTime<chrono::Utc>>) -> String {
    t.borrow().format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

/// The exact stored timestamp (what `/tickets/{id}/version` answers).
pub(super) fn stamp(t: impl std::borrow::Borrow<chrono::DateTime<chrono::Utc>>) -> String {
    crate::store::ts(*t.borrow())
}
