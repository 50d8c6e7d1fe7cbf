//! Discord's HTTP interactions mode: `POST /discord/interactions` on the `[http] listen` server
//! (Discord's "Interactions Endpoint URL"), for running without a gateway connection, and so as
//! several identical instances behind a load balancer.
//!
//! Invariants:
//! - Every request's `X-Signature-Ed25519` over `X-Signature-Timestamp` + body is verified
//!   against `[discord] public_key` before anything else is read; a bad or missing signature,
//!   or a timestamp more than [`MAX_SKEW`] away, is answered 401 and nothing runs.
//! - Commands, autocomplete and button presses go through the same flow as the gateway's
//!   (`flow.rs`): the first response is this request's body; a deferred reply is PATCHed in
//!   over REST (through `discord.proxy_url` when set).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serenity::all::{Http, HttpBuilder, Interaction};

use super::flow::{First, Flow};
use super::Connection;
use crate::commands::Bot;

/// The path Discord posts interactions to.
pub const PATH: &str = "/discord/interactions";

/// How far a request's timestamp may be from now: older ones are replays.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// What the endpoint needs.
pub struct Endpoint {
    flow: Flow,
    http: Arc<Http>,
    key: VerifyingKey,
}

/// Why the endpoint cannot start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not 64 hex digits, or not a valid Ed25519 point.
    #[error("discord.public_key must be the application's public key: 64 hex digits")]
    Invalid,
}

/// The REST client both modes use: the bot token, no pings by default, the proxy if any.
pub(super) fn rest_client(conn: &Connection) -> Http {
    let mut http = HttpBuilder::new(&conn.token)
        .default_allowed_mentions(serenity::all::CreateAllowedMentions::new());
    if !conn.proxy_url.is_empty() {
        // serenity applies the proxy only with its own rate limiter off; the proxy limits instead.
        http = http
            .proxy(conn.proxy_url.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    http.build()
}

/// Parses a public key as the developer portal shows it (64 hex digits).
pub fn parse_public_key(hex: &str) -> Result<VerifyingKey, KeyError> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(KeyError::Invalid);
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| KeyError::Invalid)?;
    }
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid)
}

impl Endpoint {
    /// The endpoint for `bot`, verifying with `public_key` (hex).
    pub fn new(bot: Arc<Bot>, conn: &Connection, public_key: &str) -> Result<Endpoint, KeyError> {
        Ok(Endpoint {
            key: parse_public_key(public_key)?,
            http: Arc::new(rest_client(conn)),
            flow: Flow {
                bot,
                defer_after: conn.defer_after,
                workers: Arc::new(tokio::sync::Semaphore::new(conn.workers.max(1))),
            },
        })
    }

    /// The route, to merge into the HTTP server.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(PATH, post(interactions))
            .with_state(self)
    }

    /// Whether `body` was signed by Discord at `timestamp` (Unix seconds) within the skew.
    fn verified(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(sig), Some(ts)) = (
            header("x-signature-ed25519"),
            header("x-signature-timestamp"),
        ) else {
            return false;
        };
        let fresh = ts.parse::<u64>().is_ok_and(|t| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            now.abs_diff(t) <= MAX_SKEW.as_secs()
        });
        if !fresh || sig.len() != 128 {
            return false;
        }
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            match u8::from_str_radix(&sig[2 * i..2 * i + 2], 16) {
                Ok(v) => *b = v,
                Err(_) => return false,
            }
        }
        let mut message = Vec::with_capacity(ts.len() + body.len());
        message.extend_from_slice(ts.as_bytes());
        message.extend_from_slice(body);
        self.key
            .verify(&message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

fn json(response: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(response) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn interactions(State(e): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    if !e.verified(&headers, &body) {
        tracing::warn!("refused an interaction with a bad or missing signature");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(_) => return (StatusCode::BAD_REQUEST, "not an interaction").into_response(),
    };
    let response = match interaction {
        // Exactly `{"type":1}`, as Discord's endpoint check expects (serenity's Pong adds a
        // null `data`).
        Interaction::Ping(_) => return json(&serde_json::json!({ "type": 1 })),
        Interaction::Command(cmd) => {
            // Edits of a deferred reply are addressed by application id, which a gateway
            // learns on READY; here each interaction carries it.
            e.http.set_application_id(cmd.application_id);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let first: First = Box::new(move |response| {
                Box::pin(async move {
                    tx.send(response)
                        .map_err(|_| serenity::Error::Other("the request was closed"))
                })
            });
            let (flow, http) = (e.flow.clone(), e.http.clone());
            tokio::spawn(async move { flow.command(http, cmd, first).await });
            rx.await.ok()
        }
        Interaction::Autocomplete(cmd) => e.flow.autocomplete(&cmd).await,
        Interaction::Component(c) => e.flow.press(&e.http, &c).await,
        _ => None,
    };
    match response {
        Some(r) => json(&r),
        None => (StatusCode::BAD_REQUEST, "unsupported interaction").into_response(),
    }
}

/// Registers the slash commands over REST, without a gateway: in each of `guild_ids`, or
/// globally when there are none. Returns how many commands were registered (per guild).
pub async fn register(conn: &Connection, application_id: u64) -> serenity::Result<usize> {
    let http = rest_client(conn);
    http.set_application_id(application_id.into());
    let commands = super::command_builders();
    if conn.guild_ids.is_empty() {
        let done = serenity::all::Command::set_global_commands(&http, commands).await?;
        return Ok(done.len());
    }
    let mut count = 0;
    for &g in &conn.guild_ids {
        count = serenity::all::GuildId::new(g)
            .set_commands(&http, commands.clone())
            .await?
            .len();
    }
    Ok(count)
}
