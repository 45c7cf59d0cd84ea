//! The POST handlers. Each checks the ticket is visible to the viewer (the
//! same query as the pages), calls the [`crate::desk`] function the CLI
//! calls, and answers with a redirect back to the ticket (post/redirect/get).

use super::pages::{self, ticket_data, ticket_page, visible};
use super::session::Posted;
use super::views::{self, PreviewPage};
use super::{App, WebError};
use crate::desk::{self, Claimed, DeskError, ReplyRequest};
use crate::reply::SpecialistBody;
use crate::ticket::TicketState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

/// A fresh key for a reply form: the same key sent twice queues one reply.
pub(super) fn once_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn back(id: i64, done: &str) -> Response {
    let q = serde_urlencoded::to_string([("done", done)]).unwrap_or_default();
    Redirect::to(&format!("/tickets/{id}?{q}")).into_response()
}

#[derive(Deserialize)]
pub(super) struct ClaimForm {
    #[serde(default)]
    force: String,
}

pub(super) async fn claim(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<ClaimForm>,
) -> Result<Response, WebError> {
    let d = p.desk.clone();
    let force = p.form.force == "1";
    let outcome = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, false)?;
            match desk::claim(tx, t.id, &d.viewer.name, force, app.clock.now()) {
                Ok(c) => Ok(Ok(c)),
                Err(DeskError::ClaimedBy { by, .. }) => {
                    Ok(Err((by, ticket_data(app, tx, &d, id, false)?)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match outcome {
        Ok(Claimed::TakenOver { from }) => Ok(back(id, &format!("Taken over from {from}."))),
        Ok(_) => Ok(back(id, "Claimed.")),
        // Someone else holds it: the page again, with an explicit offer.
        Err((by, data)) => Ok((
            StatusCode::CONFLICT,
            ticket_page(&app, &p.desk, data, Some(by), None),
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    to: String,
}

pub(super) async fn assign(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<AssignForm>,
) -> Result<Response, WebError> {
    if !p.desk.viewer.may_assign() {
        return Err(WebError::BadRequest(
            "only a lead or an admin assigns tickets".into(),
        ));
    }
    let d = p.desk;
    let to = p.form.to;
    app.tx(move |app, tx| {
        let t = visible(app, tx, &d, id, false)?;
        Ok(desk::assign(
            tx,
            t.id,
            Some(&to),
            &d.viewer.name,
            app.clock.now(),
        )?)
    })
    .await?;
    Ok(back(id, "Assigned."))
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    queue: String,
}

pub(super) async fn move_queue(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<MoveForm>,
) -> Result<Response, WebError> {
    let d = p.desk;
    let queue = p.form.queue;
    app.tx(move |app, tx| {
        let t = visible(app, tx, &d, id, false)?;
        Ok(desk::move_queue(
            tx,
            &app.rules,
            t.id,
            &queue,
            &d.viewer.name,
            app.clock.now(),
        )?)
    })
    .await?;
    Ok(back(id, "Moved."))
}

#[derive(Deserialize)]
pub(super) struct ReclassifyForm {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    language: String,
}

pub(super) async fn reclassify(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<ReclassifyForm>,
) -> Result<Response, WebError> {
    let d = p.desk;
    let f = p.form;
    let detail = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, false)?;
            let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
            Ok(desk::reclassify(
                tx,
                &app.rules,
                t.id,
                nonempty(&f.topic).as_deref(),
                nonempty(&f.language).as_deref(),
                &d.viewer.name,
                app.clock.now(),
            )?)
        })
        .await?;
    Ok(back(id, &format!("Reclassified: {detail}.")))
}

#[derive(Deserialize)]
pub(super) struct TextForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn note(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<TextForm>,
) -> Result<Response, WebError> {
    if p.form.text.trim().is_empty() {
        return Err(WebError::BadRequest("the note is empty".into()));
    }
    let d = p.desk;
    let text = p.form.text;
    app.tx(move |app, tx| {
        let t = visible(app, tx, &d, id, false)?;
        Ok(desk::note(
            tx,
            t.id,
            &text,
            &d.viewer.name,
            app.clock.now(),
        )?)
    })
    .await?;
    Ok(back(id, "Note added."))
}

async fn set_state(
    app: Arc<App>,
    id: i64,
    p: Posted<super::session::Empty>,
    state: TicketState,
) -> Result<Response, WebError> {
    let d = p.desk;
    app.tx(move |app, tx| {
        let t = visible(app, tx, &d, id, false)?;
        Ok(desk::set_state(
            tx,
            t.id,
            state,
            &d.viewer.name,
            app.clock.now(),
        )?)
    })
    .await?;
    Ok(back(id, &format!("Ticket {state}.")))
}

pub(super) async fn close(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<super::session::Empty>,
) -> Result<Response, WebError> {
    set_state(app, id, p, TicketState::Closed).await
}

pub(super) async fn reopen(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<super::session::Empty>,
) -> Result<Response, WebError> {
    set_state(app, id, p, TicketState::Open).await
}

#[derive(Deserialize)]
pub(super) struct MergeForm {
    into: String,
}

pub(super) async fn merge(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<MergeForm>,
) -> Result<Response, WebError> {
    let into: i64 = p
        .form
        .into
        .trim()
        .trim_start_matches("[#")
        .trim_end_matches(']')
        .parse()
        .map_err(|_| WebError::BadRequest(format!("not a ticket number: {:?}", p.form.into)))?;
    let d = p.desk;
    app.tx(move |app, tx| {
        let a = visible(app, tx, &d, id, false)?;
        let b = visible(app, tx, &d, into, false)?;
        Ok(desk::merge(
            tx,
            a.id,
            b.id,
            &d.viewer.name,
            app.clock.now(),
        )?)
    })
    .await?;
    Ok(back(into, &format!("[#{id}] merged into this ticket.")))
}

#[derive(Deserialize)]
pub(super) struct PreviewForm {
    template: String,
    #[serde(default)]
    lang: String,
}

pub(super) async fn preview(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<PreviewForm>,
) -> Result<Response, WebError> {
    let d = p.desk.clone();
    let f = p.form;
    if f.template.is_empty() {
        return Err(WebError::BadRequest("choose a template to preview".into()));
    }
    let (t, rendered) = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, false)?;
            let lang = (!f.lang.is_empty()).then_some(f.lang.as_str());
            if let Some(l) = lang {
                desk::check_language(&app.rules, l)?;
            }
            let r = crate::reply::preview_specialist_template(
                tx,
                &app.rules,
                &app.templates,
                t.id,
                &f.template,
                lang,
            )
            .map_err(DeskError::from)?;
            Ok((t, r))
        })
        .await?;
    let sensitive = pages::restricted(&app, t.queue.as_deref())
        || t.topic
            .as_deref()
            .is_some_and(|tp| app.rules.is_sensitive_topic(&t.project, tp));
    Ok(views::html(&PreviewPage {
        c: pages::chrome(&app, &p.desk, ""),
        template: rendered.name,
        lang: rendered.lang,
        subject: rendered.subject,
        body: rendered.body,
        once_key: once_key(),
        sensitive,
        t,
    }))
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    once_key: String,
    #[serde(default)]
    confirm_sensitive: String,
}

pub(super) async fn reply(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    p: Posted<ReplyForm>,
) -> Result<Response, WebError> {
    let f = p.form;
    if f.text.trim().is_empty() {
        return Err(WebError::BadRequest("the reply is empty".into()));
    }
    // Browsers send textarea lines with CRLF; the composer wants plain lines.
    let text = f.text.replace("\r\n", "\n");
    let body = if f.template.is_empty() {
        SpecialistBody::Text(text)
    } else {
        SpecialistBody::Edited {
            template: f.template,
            language: f.lang,
            text,
        }
    };
    let req = ReplyRequest {
        body,
        confirm_sensitive: f.confirm_sensitive == "1",
        once_key: (!f.once_key.is_empty()).then_some(f.once_key),
        site_tag: app.settings.site_tag.clone(),
    };
    let d = p.desk;
    let outbox = app
        .tx(move |app, tx| {
            let t = visible(app, tx, &d, id, false)?;
            Ok(desk::reply(
                tx,
                &app.rules,
                &app.templates,
                t.id,
                &req,
                &d.viewer.name,
                app.clock.now(),
            )?)
        })
        .await?;
    app.wake_delivery();
    Ok(back(id, &format!("Reply queued (outbox {outbox}).")))
}
