//! A privacy request's ticket links to the two things the request asks
//! for, for the participant who wrote it: the data export (the same
//! `export.json` `helpgate export` writes, as a download) and forgetting
//! (a dry-run list of what would go, then an explicit confirmation).
//!
//! Only users allowed on the privacy queue (where the rules route the
//! `privacy` topic) may do either; whom it is about is always the ticket's
//! own participant, never a value from the form. Both are recorded in the
//! ticket's events without personal data.

use super::pages::{self, visible};
use super::session::{Desk, Posted};
use super::views::{self, ForgetPage};
use super::{App, WebError};
use crate::participant::{export, forget};
use crate::store::desk::DeskTicket;
use crate::store::events;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The topic a privacy request is classified as.
const PRIVACY_TOPIC: &str = "privacy";

/// The queue privacy requests are routed to.
fn privacy_queue(app: &App, project: &str) -> String {
    match app.rules.route(project, PRIVACY_TOPIC) {
        Some(r) if r.sensitive => app.rules.sensitive_queue.clone(),
        Some(r) => r
            .queue
            .clone()
            .unwrap_or_else(|| app.rules.default_queue.clone()),
        None => app.rules.sensitive_queue.clone(),
    }
}

/// The participant a privacy ticket is about, when `d` may act on it.
pub(super) fn subject(app: &App, d: &Desk, t: &DeskTicket) -> Option<String> {
    allowed(app, d, t).ok()
}

/// Whom the request is about, or why not: a ticket that is no privacy
/// request (or has no participant left) has no such page (404); a user
/// without the privacy queue may not (403).
fn allowed(app: &App, d: &Desk, t: &DeskTicket) -> Result<String, WebError> {
    if t.topic.as_deref() != Some(PRIVACY_TOPIC) {
        return Err(WebError::NotFound);
    }
    if !d.viewer.can_see(Some(&privacy_queue(app, &t.project))) {
        return Err(WebError::Forbidden(
            "only users with the privacy queue export or erase a participant's data".into(),
        ));
    }
    t.participant.clone().ok_or(WebError::NotFound)
}

/// Every trace of the participant held, as `helpgate export` writes it;
/// sent as a download of `export.json`.
pub(super) async fn export(
    State(app): State<Arc<App>>,
    d: Desk,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let json = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, true)?;
            let who = allowed(app, &d, &t)?;
            let person = forget::find(tx, &who)?;
            // The export writes the raw mails beside export.json; the
            // download is the JSON, so the files live only this long.
            let dir = std::env::temp_dir().join(format!(
                "helpgate-export-{}",
                hex::encode(rand::random::<[u8; 12]>())
            ));
            let written = export::export(tx, &person, &dir);
            let json = std::fs::read(dir.join("export.json"));
            let _ = std::fs::remove_dir_all(&dir);
            let written = written.map_err(|e| {
                WebError::Internal(format!("export: {}", crate::pipeline::error_chain(&e)))
            })?;
            let json = json.map_err(|e| WebError::Internal(format!("export: {e}")))?;
            events::add(
                tx,
                t.id,
                app.clock.now(),
                &d.viewer.name,
                "privacy_export",
                &format!(
                    "data export downloaded by {}: {} tickets, {} messages, {} replies",
                    d.viewer.name, written.tickets, written.messages, written.outbox
                ),
            )?;
            Ok(json)
        })
        .await?;
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"export-ticket-{id}.json\""),
            ),
        ],
        json,
    )
        .into_response())
}

/// The dry run: what forgetting the participant would erase, and the form
/// that does it.
pub(super) async fn forget_preview(
    State(app): State<Arc<App>>,
    d: Desk,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let d2 = d.clone();
    let (t, who, person) = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d2, id, true)?;
            let who = allowed(app, &d2, &t)?;
            let person = forget::find(tx, &who)?;
            Ok((t, who, person))
        })
        .await?;
    Ok(views::html(&ForgetPage {
        c: pages::chrome(&app, &d, ""),
        tokens: person
            .tickets
            .iter()
            .map(|t| crate::ticket::TicketId(*t).token())
            .collect(),
        who,
        person,
        t,
    }))
}

#[derive(Deserialize)]
pub(super) struct ForgetForm {
    #[serde(default)]
    confirm: String,
}

/// Erase the participant, after the explicit confirmation.
pub(super) async fn forget(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<ForgetForm>,
) -> Result<Response, WebError> {
    if p.form.confirm != "1" {
        return Err(WebError::BadRequest(
            "tick the confirmation box to erase the participant's data".into(),
        ));
    }
    let d = p.desk;
    let erased = app
        .store_mut(move |app, store| {
            let (t, who) = store.transaction(|tx| {
                let t = visible(app, tx, &d, id, false)?;
                let who = allowed(app, &d, &t)?;
                Ok::<_, WebError>((t, who))
            })?;
            let person = forget::find(store.conn(), &who)?;
            let now = app.clock.now();
            let erased = forget::forget(
                store,
                &person,
                app.settings.outbox_dir.as_deref(),
                &d.viewer.name,
                now,
            )?;
            let c = &erased.counts;
            let detail = format!(
                "erasure {} by {}: {} tickets, {} messages, {} replies, {} events",
                erased.erasure, d.viewer.name, c.tickets, c.messages, c.outbox, c.events
            );
            store.transaction(|tx| {
                events::add(tx, t.id, now, &d.viewer.name, "privacy_forget", &detail)
            })?;
            Ok(detail)
        })
        .await?;
    let q =
        serde_urlencoded::to_string([("done", format!("Erased: {erased}."))]).unwrap_or_default();
    Ok(Redirect::to(&format!("/tickets/{id}?{q}")).into_response())
}
