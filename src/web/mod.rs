//! The specialists' web console: axum on the daemon's tokio runtime,
//! server-rendered HTML (askama templates, checked at compile time), plain
//! forms that work without JavaScript, assets embedded in the binary.
//!
//! - [`session`]: login, sessions, CSRF and the [`session::Desk`] extractor
//!   that every page goes through (the one permission check).
//! - [`pages`]: the read pages; [`actions`]: the POST handlers, which call
//!   the same [`crate::desk`] functions as the CLI.
//!
//! SQLite calls run on the blocking pool behind one mutex-guarded
//! connection: nothing awaits while it is held.

mod actions;
mod error;
mod pages;
mod privacy;
pub mod session;
mod sla;
mod views;

use crate::clock::Clock;
use crate::reply::templates::Templates;
use crate::rules::RuleSet;
use crate::store::{Store, StoreError};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::WebError;

/// `[web]` in the config, validated.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub listen: SocketAddr,
    /// Mark cookies Secure: set when a TLS proxy fronts the console.
    pub secure_cookies: bool,
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// Failed logins per user name (and per client) within 15 minutes
    /// before further attempts are refused.
    pub max_failed_logins: i64,
    /// `sla.near_breach`: a running clock with less left is at risk.
    pub sla_near_breach: chrono::TimeDelta,
    /// Where the file transport writes replies: forgetting a participant
    /// removes theirs.
    pub outbox_dir: Option<PathBuf>,
    /// Single sign-on by a reverse proxy's header (off by default).
    pub proxy_login: Option<ProxyLogin>,
    /// `[tickets] tag`: specialists' replies carry `[tag #N]` like automatic ones.
    pub site_tag: Option<String>,
}

/// `web.trusted_user_header` from `web.trusted_proxies`: a request from one
/// of those addresses that carries the header is that (existing, enabled)
/// user. From any other peer the header means nothing.
#[derive(Debug, Clone)]
pub struct ProxyLogin {
    pub header: axum::http::HeaderName,
    pub proxies: Vec<std::net::IpAddr>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            idle_timeout: Duration::from_secs(30 * 60),
            max_failed_logins: 5,
            sla_near_breach: chrono::TimeDelta::hours(1),
            outbox_dir: None,
            proxy_login: None,
            site_tag: None,
        }
    }
}

impl WebSettings {
    /// `[web]` of `config` (defaults without one) with what the console
    /// takes from the rest of it.
    pub fn of(config: &crate::config::Config) -> WebSettings {
        let mut s = config.web.clone().unwrap_or_default();
        s.sla_near_breach = config.sla.near_breach;
        s.outbox_dir = Some(config.outbox_dir());
        s.site_tag = config.site_tag.clone();
        s
    }
}

/// What every handler shares.
pub struct App {
    store: Mutex<Store>,
    pub rules: Arc<RuleSet>,
    pub templates: Arc<Templates>,
    pub settings: WebSettings,
    pub clock: Clock,
    /// Wakes whoever delivers the outbox after a reply was queued.
    pub deliver: Option<std::sync::Mutex<std::sync::mpsc::Sender<()>>>,
    assets: views::Assets,
    /// Keys the CSRF tokens of proxy-authenticated users (who have no
    /// session row); new at each start.
    proxy_secret: [u8; 32],
}

impl App {
    pub fn new(
        state_dir: &std::path::Path,
        rules: Arc<RuleSet>,
        templates: Arc<Templates>,
        settings: WebSettings,
        clock: Clock,
    ) -> Result<App, StoreError> {
        let store = Store::open_in(state_dir)?;
        // Statistics for the planner where they are missing or stale (SQLite's
        // advice for long-lived connections): without them the overview and
        // the lists may pick a narrower index and sort.
        store.conn().execute_batch("PRAGMA optimize=0x10002")?;
        Ok(App {
            store: Mutex::new(store),
            rules,
            templates,
            settings,
            clock,
            deliver: None,
            assets: views::Assets::new(),
            proxy_secret: rand::random(),
        })
    }

    /// Run `f` on the store off the async threads, in one transaction.
    async fn tx<T, F>(self: &Arc<Self>, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &rusqlite::Transaction<'_>) -> Result<T, WebError> + Send + 'static,
    {
        self.store_mut(move |app, store| store.transaction(|tx| f(app, tx)))
            .await
    }

    /// Run `f` with the store itself, for work that manages its own
    /// transactions (an erasure ends with a VACUUM).
    async fn store_mut<T, F>(self: &Arc<Self>, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &mut Store) -> Result<T, WebError> + Send + 'static,
    {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = app
                .store
                .lock()
                .map_err(|_| WebError::Internal("store lock poisoned".into()))?;
            f(&app, &mut store)
        })
        .await
        .map_err(|e| WebError::Internal(format!("store task failed: {e}")))?
    }

    fn wake_delivery(&self) {
        if let Some(tx) = &self.deliver {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(());
            }
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(crate::pipeline::error_chain(&e))
    }
}

/// Every route of the console.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/tickets", get(pages::list))
        .route("/search", get(pages::search))
        .route("/due", get(pages::due))
        .route("/tickets/{id}", get(pages::ticket))
        .route("/tickets/{id}/version", get(pages::version))
        .route(
            "/tickets/{id}/messages/{message}/attachments/{sha256}",
            get(pages::attachment),
        )
        .route("/tickets/{id}/claim", post(actions::claim))
        .route("/tickets/{id}/assign", post(actions::assign))
        .route("/tickets/{id}/move", post(actions::move_queue))
        .route("/tickets/{id}/reclassify", post(actions::reclassify))
        .route("/tickets/{id}/note", post(actions::note))
        .route("/tickets/{id}/close", post(actions::close))
        .route("/tickets/{id}/reopen", post(actions::reopen))
        .route("/tickets/{id}/merge", post(actions::merge))
        .route("/tickets/{id}/reply/preview", post(actions::preview))
        .route("/tickets/{id}/reply", post(actions::reply))
        .route("/tickets/{id}/privacy/export", get(privacy::export))
        .route(
            "/tickets/{id}/privacy/forget",
            get(privacy::forget_preview).post(privacy::forget),
        )
        .route("/assets/{name}", get(pages::asset))
        .fallback(pages::not_found)
        .with_state(app)
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(listen = %listener.local_addr()?, "web console listening");
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The state dir's database, for callers that only know the directory.
pub fn db_path(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("helpgate.db")
}
