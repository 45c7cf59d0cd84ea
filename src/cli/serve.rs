//! `helpgate serve`: the web console alone (the daemon serves it too when
//! `[web]` is configured). It delivers replies queued from the console
//! unless a running daemon holds the outbox.

use super::{load_config, Cli};
use anyhow::Context;
use helpgate::clock::Clock;
use helpgate::web::{App, WebSettings};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn run(cli: &Cli, listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    if !config.state_dir.join("helpgate.db").exists() {
        anyhow::bail!(
            "no helpgate state in {} (no database yet): check --state-dir or the config's state_dir",
            config.state_dir.display()
        );
    }
    let mut settings = WebSettings::of(&config);
    if let Some(l) = listen {
        settings.listen = l;
    }
    let rules = Arc::new(super::outbox::load_rules(&config)?);
    let templates = Arc::new(super::outbox::templates(&config)?);
    let mut app = App::new(
        &config.state_dir,
        rules,
        templates,
        settings.clone(),
        Clock::system(),
    )?;
    let (wake_tx, wake_rx) = std::sync::mpsc::channel();
    app.deliver = Some(std::sync::Mutex::new(wake_tx));
    let delivery_config = config.clone();
    std::thread::spawn(move || {
        if let Err(e) = super::outbox::flush_on_wake(&delivery_config, &wake_rx) {
            tracing::warn!(error = %helpgate::pipeline::error_chain(&*e), "outbox delivery stopped");
        }
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        println!("helpgate web console on http://{}", listener.local_addr()?);
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler installs");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        helpgate::web::serve(Arc::new(app), listener, shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}
