//! `helpgate run`: the daemon. Signals become a cancellation token
//! (SIGTERM, SIGINT) and reload requests (SIGHUP); exit 0 after the drain.

use super::{load_config, Cli};
use anyhow::Context;
use helpgate::clock::Clock;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_ref().context(
        "helpgate run needs a config file with [[mailboxes]]: pass --config PATH (helpgate print-config shows an example)",
    )?;
    let config = load_config(cli).with_context(|| format!("invalid config {}", path.display()))?;
    // Secrets are read at each connection; one that cannot be read at start
    // is a deployment error better refused now than retried forever.
    if let Err(errors) = config.check_secrets() {
        let all: Vec<String> = errors
            .iter()
            .map(|e| helpgate::pipeline::error_chain(e))
            .collect();
        anyhow::bail!("invalid config {}: {}", path.display(), all.join("; "));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let (reload_tx, reload_rx) = mpsc::channel(4);
        let mut term = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot install SIGHUP handler")?;
        let token = shutdown.clone();
        tokio::spawn(async move {
            // Act first, log second: nothing may keep a signal from taking effect.
            let signal = loop {
                tokio::select! {
                    _ = term.recv() => break "SIGTERM",
                    _ = int.recv() => break "SIGINT",
                    _ = hup.recv() => {
                        let _ = reload_tx.try_send(());
                        tracing::info!(signal = "SIGHUP", "reload requested");
                    }
                }
            };
            token.cancel();
            tracing::info!(signal, "shutdown requested");
        });
        if let Some(web) = config
            .web
            .as_ref()
            .map(|_| helpgate::web::WebSettings::of(&config))
        {
            // The console shares the runtime and stops with the daemon; the
            // daemon delivers what it queues.
            let app = helpgate::web::App::new(
                &config.state_dir,
                std::sync::Arc::new(super::outbox::load_rules(&config)?),
                std::sync::Arc::new(super::outbox::templates(&config)?),
                web.clone(),
                Clock::system(),
            )?;
            let listener = tokio::net::TcpListener::bind(web.listen)
                .await
                .with_context(|| format!("web.listen: cannot listen on {}", web.listen))?;
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let served = helpgate::web::serve(std::sync::Arc::new(app), listener, async move {
                    stop.cancelled().await
                });
                if let Err(e) = served.await {
                    tracing::error!(error = %e, "web console stopped");
                }
            });
        }
        helpgate::daemon::run(config, Clock::system(), shutdown, reload_rx).await?;
        Ok(ExitCode::SUCCESS)
    })
}
