//! The HTTP server on `[http] listen`: the monitoring endpoints `GET /healthz` and
//! `GET /metrics` (here), and whatever routes a chat front end adds (Discord's interactions
//! endpoint, `discord::interactions`).
//!
//! Invariants:
//! - Read-only: nothing here changes the bot, so an unauthenticated endpoint on a monitoring
//!   network can do no harm. Bind it to loopback or such a network.
//! - What it shows comes from [`crate::metrics`] and the index manifest: counts and sizes,
//!   never question text or user ids.
//! - Healthy means able to answer: an index is loaded, and, when a chat gateway is part of
//!   this process, that gateway is connected.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::commands::Bot;
use crate::metrics::Gateway;

/// What the endpoints read.
#[derive(Clone)]
struct Shared {
    bot: Arc<Bot>,
    /// `None` when no gateway runs in this process (only the index counts then).
    gateway: Option<Arc<Gateway>>,
}

/// The routes, for [`serve`] and for tests that drive them without a socket.
pub fn router(bot: Arc<Bot>, gateway: Option<Arc<Gateway>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(Shared { bot, gateway })
}

/// Serves `routes` ([`router`], and any a chat front end adds, such as Discord's
/// interactions endpoint) on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    routes: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(s): State<Shared>) -> impl IntoResponse {
    // The bot cannot exist without a loaded index, but one with no passages answers nothing.
    let passages = s.bot.index().manifest().passage_count();
    let problem = if passages == 0 {
        Some("index has no passages")
    } else if s.gateway.as_ref().is_some_and(|g| !g.is_connected()) {
        Some("gateway not connected")
    } else {
        None
    };
    match problem {
        None => (StatusCode::OK, "ok\n".to_string()),
        Some(p) => (StatusCode::SERVICE_UNAVAILABLE, format!("{p}\n")),
    }
}

async fn metrics(State(s): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.bot.render_metrics(),
    )
}
