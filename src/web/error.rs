//! One error type for every handler, rendered as a status page.

use crate::desk::DeskError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Missing, or hidden from this viewer: the two look the same.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "the form is out of date or was not sent by this console; reload the page and try again"
    )]
    Csrf,
    #[error("{0}")]
    Conflict(String),
    /// Visible, but this action is not the viewer's to take.
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed logins; wait a few minutes and try again")]
    Throttled,
    #[error("internal error")]
    Internal(String),
}

impl From<DeskError> for WebError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::NoTicket(_) => WebError::NotFound,
            DeskError::Store(s) => s.into(),
            DeskError::ClaimedBy { .. } | DeskError::SensitiveNeedsConfirm(_) => {
                WebError::Conflict(e.to_string())
            }
            other => WebError::BadRequest(crate::pipeline::error_chain(&other)),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Csrf | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(detail) => {
                tracing::error!(error = %detail, "web request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("error"),
            detail: self.to_string(),
        };
        let body = page.render().unwrap_or_else(|_| status.to_string());
        (status, Html(body)).into_response()
    }
}
