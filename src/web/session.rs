//! Login, sessions and CSRF.
//!
//! The session cookie holds 32 random bytes; the store keeps their SHA-256.
//! Cookies are HttpOnly and SameSite=Strict (Secure when configured). Every
//! state-changing form carries the session's CSRF token, checked by
//! [`Posted`] before the form's fields are read; the login form carries a
//! token of its own, double-submitted in a cookie.

use super::views::LoginPage;
use super::{App, WebError};
use crate::access::{self, Viewer};
use crate::store::users;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

const SESSION: &str = "hg_session";
const LOGIN: &str = "hg_login";

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(app: &App, name: &str, value: &str, path: &str, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if app.settings.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are hex and fixed names")
}

/// Equal without an early exit, so timing says nothing about the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A logged-in specialist: who, what they may see, their CSRF token.
/// Extracting it is the one permission gate of every page.
#[derive(Debug, Clone)]
pub struct Desk {
    pub viewer: Viewer,
    pub csrf: String,
    session_hash: String,
}

/// Not logged in (or the session ended): back to the login page.
pub struct LoginRequired {
    expired: bool,
    next: String,
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        let mut to = format!("/login?next={}", urlencode(&self.next));
        if self.expired {
            to.push_str("&expired=1");
        }
        Redirect::to(&to).into_response()
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

impl FromRequestParts<Arc<App>> for Desk {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(d) = parts.extensions.get::<Desk>() {
            return Ok(d.clone());
        }
        if let Some(user) = proxy_user(parts, app) {
            let user = user.map_err(|why| WebError::Forbidden(why.into()).into_response())?;
            let desk = proxy_desk(app, user).await?;
            parts.extensions.insert(desk.clone());
            return Ok(desk);
        }
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let Some(token) = cookie(&parts.headers, SESSION) else {
            return Err(LoginRequired {
                expired: false,
                next,
            }
            .into_response());
        };
        let id_hash = hash(&token);
        let found = app
            .tx(move |app, tx| {
                let now = app.clock.now();
                let Some(s) = users::session(tx, &id_hash)? else {
                    return Ok(Err(false));
                };
                let idle = chrono::Duration::from_std(app.settings.idle_timeout)
                    .unwrap_or(chrono::Duration::MAX);
                if now - s.last_seen > idle {
                    users::delete_session(tx, &id_hash)?;
                    return Ok(Err(true));
                }
                let user = match users::get(tx, &s.user)? {
                    Some(u) if !u.disabled => u,
                    _ => {
                        users::delete_session(tx, &id_hash)?;
                        return Ok(Err(false));
                    }
                };
                users::touch_session(tx, &id_hash, now)?;
                Ok(Ok(Desk {
                    viewer: Viewer::new(&user.name, user.role, &user.queues, &app.rules),
                    csrf: s.csrf,
                    session_hash: id_hash,
                }))
            })
            .await
            .map_err(IntoResponse::into_response)?;
        match found {
            Ok(desk) => {
                parts.extensions.insert(desk.clone());
                Ok(desk)
            }
            Err(expired) => Err(LoginRequired { expired, next }.into_response()),
        }
    }
}

/// The user a trusted proxy names, when single sign-on is configured and
/// the TCP peer is one of the proxies; `None` otherwise (the header of any
/// other peer is ignored, and the normal login applies).
fn proxy_user(parts: &Parts, app: &App) -> Option<Result<String, &'static str>> {
    let sso = app.settings.proxy_login.as_ref()?;
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    // An IPv4 proxy reaching a dual-stack listener shows as ::ffff:a.b.c.d.
    let peer = match peer {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    if !sso.proxies.contains(&peer) {
        return None;
    }
    let mut values = parts.headers.get_all(&sso.header).iter();
    let first = values.next()?;
    // Two values: the proxy appended its own to one the client sent
    // instead of replacing it; which is whose cannot be told.
    if values.next().is_some() {
        return Some(Err("the proxy sent the user header twice"));
    }
    let name = first.to_str().ok()?.trim();
    (!name.is_empty()).then(|| Ok(name.to_string()))
}

/// The desk of a proxy-authenticated user: an existing, enabled account
/// (never created here), with a CSRF token keyed by this process's secret.
async fn proxy_desk(app: &Arc<App>, user: String) -> Result<Desk, Response> {
    let found = app
        .tx(move |app, tx| {
            Ok(match users::get(tx, &user)? {
                Some(u) if !u.disabled => Ok(Desk {
                    viewer: Viewer::new(&u.name, u.role, &u.queues, &app.rules),
                    csrf: hex::encode(Sha256::digest(
                        [&app.proxy_secret[..], b"csrf:", u.name.as_bytes()].concat(),
                    )),
                    session_hash: String::new(),
                }),
                _ => Err(user),
            })
        })
        .await
        .map_err(IntoResponse::into_response)?;
    found.map_err(|user| {
        tracing::warn!(user = %user, "proxy named an unknown or disabled user");
        WebError::Forbidden(format!(
            "{user:?} is not an enabled console user; an admin adds it with `helpgate users add`"
        ))
        .into_response()
    })
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form from a logged-in specialist whose CSRF token matched.
pub struct Posted<T> {
    pub desk: Desk,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<App>> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let desk = Desk::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|_| WebError::BadRequest("the form is too large".into()).into_response())?;
        let sent: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| WebError::Csrf.into_response())?;
        if !same(&sent.csrf, &desk.csrf) {
            return Err(WebError::Csrf.into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| WebError::BadRequest(format!("bad form: {e}")).into_response())?;
        Ok(Posted { desk, form })
    }
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
}

/// Only a local path is a place to go back to after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

fn login_page(app: &App, next: &str, error: Option<String>, notice: Option<&str>) -> Response {
    let token = random_token();
    let page = LoginPage {
        assets: &app.assets,
        token: &token,
        next,
        error,
        notice: notice.map(str::to_string),
    };
    let mut resp = super::views::html(&page);
    resp.headers_mut()
        .append(SET_COOKIE, set_cookie(app, LOGIN, &token, "/login", None));
    resp
}

pub async fn login_form(
    State(app): State<Arc<App>>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let notice = q
        .expired
        .is_some()
        .then_some("Your session ended after a period of inactivity; please log in again.");
    login_page(&app, &next, None, notice)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(f.next.as_deref());
    match cookie(&headers, LOGIN) {
        Some(t) if same(&t, &f.token) && !t.is_empty() => {}
        _ => return Err(WebError::Csrf),
    }
    let user = f.user.trim().to_string();
    let keys = [format!("user:{user}"), format!("ip:{}", peer.ip())];
    let password = f.password;
    let outcome = app
        .tx(move |app, tx| {
            let now = app.clock.now();
            let window = now - chrono::Duration::minutes(15);
            for k in &keys {
                if users::failed_logins_since(tx, k, window)? >= app.settings.max_failed_logins {
                    return Ok(Err(WebError::Throttled));
                }
            }
            // Argon2 runs here, on the blocking pool, deliberately slow.
            let ok = match users::get(tx, &user)? {
                Some(u) if !u.disabled => access::verify_password(&password, &u.password_hash),
                _ => {
                    // Same work for an unknown name, so timing does not tell.
                    let _ = access::verify_password(&password, DUMMY_HASH);
                    false
                }
            };
            if !ok {
                for k in &keys {
                    users::record_failed_login(tx, k, now)?;
                }
                return Ok(Ok(None));
            }
            users::clear_failed_logins(tx, &keys[0])?;
            let token = random_token();
            users::create_session(tx, &hash(&token), &user, &random_token(), now)?;
            tracing::info!(user = %user, "login");
            Ok(Ok(Some(token)))
        })
        .await?;
    match outcome? {
        None => Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            login_page(
                &app,
                &next,
                Some("Wrong user name or password.".into()),
                None,
            ),
        )
            .into_response()),
        Some(token) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut()
                .append(SET_COOKIE, set_cookie(&app, SESSION, &token, "/", None));
            resp.headers_mut()
                .append(SET_COOKIE, set_cookie(&app, LOGIN, "", "/login", Some(0)));
            Ok(resp)
        }
    }
}

/// A valid argon2id hash of a random string, verified against when the user
/// name is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5LDZkZ3nM1LZ8q2ZqNTu3Zb2o6c3dHnJ1JKVpbmGQ1U";

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(app): State<Arc<App>>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let h = posted.desk.session_hash.clone();
    app.tx(move |_, tx| Ok(users::delete_session(tx, &h)?))
        .await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .append(SET_COOKIE, set_cookie(&app, SESSION, "", "/", Some(0)));
    Ok(resp)
}
