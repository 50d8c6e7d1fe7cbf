//! `ohwb-bot serve` and `ohwb-bot register`: wires the bot to Discord (gateway, HTTP
//! interactions endpoint, or both) and Microsoft Teams, the HTTP server and the corpus watcher,
//! and stops them all on SIGTERM or Ctrl-C.
//!
//! Invariants:
//! - Everything that can be refused is refused before the slow start (the token, the public
//!   key, the listen address), naming the setting.
//! - The Discord token and the Teams secret are read from the environment only and handed to
//!   their front ends; never logged.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use ohwb_bot::commands::Bot;
use ohwb_bot::config::{Config, DiscordMode};
use ohwb_bot::discord::{self, interactions::Endpoint};
use ohwb_bot::teams;

/// A secret from the environment variable `var` names (never from a file); `what` says where
/// it comes from, for the error when it is missing.
fn secret(var: &str, what: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => bail!(
            "the environment variable {var} is not set: put {what} there (it is read from the \
             environment only, never from a file)"
        ),
    }
}

/// The Discord bot token, from `[discord] token_env`.
fn token(config: &Config) -> Result<String> {
    secret(
        &config.discord.token_env,
        "the bot token from the Discord developer portal",
    )
}

fn connection(config: &Config, token: String) -> discord::Connection {
    let d = &config.discord;
    discord::Connection {
        token,
        proxy_url: d.proxy_url.clone(),
        guild_ids: d.guild_ids.clone(),
        defer_after: Duration::from_millis(d.defer_after_ms),
        gateway: Arc::new(ohwb_bot::metrics::Gateway::default()),
        workers: config.limits.worker_count(),
    }
}

/// `serve`: `open` opens the bot (building the index when needed).
pub fn run(config: &Config, open: impl FnOnce() -> Result<Bot>) -> Result<ExitCode> {
    let mode = config.discord.mode;
    if mode == DiscordMode::Off && !config.teams.enabled() {
        bail!("nothing to serve: discord.mode is off and teams.app_id is not set");
    }
    // With Discord off there is no token to read; the connection is then only settings.
    let token = match mode {
        DiscordMode::Off => String::new(),
        _ => token(config)?,
    };
    let conn = connection(config, token);
    let teams_secret = match config.teams.enabled() {
        true => Some(secret(
            &config.teams.secret_env,
            "the Azure Bot's client secret",
        )?),
        false => None,
    };
    // Bound before anything slow, so a taken port is reported at once, naming the setting.
    let listener = match config.http.listen.as_str() {
        "" => None,
        addr => Some(
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .with_context(|| format!("http.listen {addr}: cannot listen there"))?,
        ),
    };
    let bot = Arc::new(open()?);
    let teams = match teams_secret {
        Some(secret) => Some(Arc::new(
            teams::Endpoint::new(bot.clone(), &config.teams, secret, conn.workers)
                .context("teams")?,
        )),
        None => None,
    };
    let endpoint = match mode {
        DiscordMode::Gateway | DiscordMode::Off => None,
        DiscordMode::Http | DiscordMode::Both => Some(Arc::new(
            Endpoint::new(bot.clone(), &conn, &config.discord.public_key)
                .context("discord.public_key")?,
        )),
    };
    let stop_watcher = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = config.index.watch.then(|| {
        let every = Duration::from_millis(config.index.watch_interval_ms);
        tracing::info!(
            interval_ms = config.index.watch_interval_ms,
            "watching the corpus for changes"
        );
        bot.spawn_watcher(every, stop_watcher.clone())
    });
    // With a shared database, changes made on the other instances are caught up with here.
    let syncer = bot.is_shared().then(|| {
        tracing::info!(
            every_ms = ohwb_bot::commands::SYNC_EVERY.as_millis() as u64,
            "sharing posted resources and reindexes with the other instances"
        );
        bot.spawn_syncer(stop_watcher.clone())
    });
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
        let gateway =
            matches!(mode, DiscordMode::Gateway | DiscordMode::Both).then(|| conn.gateway.clone());
        let server = match listener {
            Some(listener) => {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let mut routes = ohwb_bot::http::router(bot.clone(), gateway);
                if let Some(e) = endpoint {
                    routes = routes.merge(e.router());
                    tracing::info!(
                        path = discord::interactions::PATH,
                        "serving Discord interactions over HTTP"
                    );
                }
                if let Some(t) = teams {
                    routes = routes.merge(t.router());
                    tracing::info!(path = teams::PATH, "serving Microsoft Teams activities");
                }
                tracing::info!(addr = %listener.local_addr()?, "serving /healthz and /metrics");
                let stopped = async {
                    let _ = stopped.await;
                };
                Some(tokio::spawn(ohwb_bot::http::serve(
                    listener, routes, stopped,
                )))
            }
            None => None,
        };
        let result = if matches!(mode, DiscordMode::Http | DiscordMode::Off) {
            shutdown_signal().await;
            tracing::info!("shutting down");
            Ok(())
        } else {
            discord::run(bot, conn, shutdown_signal()).await
        };
        let _ = stop_server.send(());
        if let Some(s) = server {
            if let Ok(Err(e)) = s.await {
                tracing::warn!(error = %e, "the HTTP server stopped with an error");
            }
        }
        anyhow::Ok(result?)
    });
    stop_watcher.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in [watcher, syncer].into_iter().flatten() {
        w.thread().unpark();
        let _ = w.join();
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `register`: the slash commands, over REST.
pub fn register(config: &Config) -> Result<ExitCode> {
    let conn = connection(config, token(config)?);
    let app = config.discord.application_id;
    if app == 0 {
        bail!("set discord.application_id (developer portal, General Information) to register");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let n = runtime
        .block_on(discord::interactions::register(&conn, app))
        .context("could not register the commands")?;
    let place = if conn.guild_ids.is_empty() {
        "globally (Discord may take up to an hour to show them)".to_string()
    } else {
        format!("in {} guild(s)", conn.guild_ids.len())
    };
    println!("registered {n} commands {place}");
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
