//! Microsoft Teams, through the Bot Framework: `POST /api/messages` on the `[http] listen`
//! server. A front end like the Discord one: it turns an activity into an [`Invocation`]
//! (`activity.rs`), runs it through the one command layer, and renders the [`Reply`] as an
//! Adaptive Card (`card.rs`) sent back through the connector (`connector.rs`).
//!
//! Invariants:
//! - Nothing runs for an activity whose bearer token fails [`auth::Authenticator::check`]
//!   (401) or whose `serviceUrl` is not allowed (403), and the reason logged is a fixed phrase.
//! - A private reply (distress, help, errors) only ever goes to the person's personal chat:
//!   asked in a channel, the channel is told only that a private message was sent.
//! - The request is acknowledged after the reply has been handed to the connector, so an
//!   instance that dies mid-request has acknowledged nothing it did not deliver.
//! - Logs carry the command, timing and whether it was a support reply; never who or what.
//! - Installed in a personal chat, the bot introduces itself once (`help`); it never posts
//!   uninvited into a channel.

pub mod activity;
pub mod auth;
pub mod card;
pub mod connector;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::commands::{error_reply, reference_id, Bot, Invocation};
use crate::config::TeamsConfig;
use crate::reply::{Reply, Tone};
use activity::Activity;
use auth::Authenticator;
use connector::{Connector, ConnectorError};

/// The path the Bot Framework posts activities to (the Azure Bot's messaging endpoint).
pub const PATH: &str = "/api/messages";

/// How often a token naming an unknown key may make the bot fetch the keys again.
pub const KEY_REFRESH: Duration = Duration::from_secs(30);

/// What a channel sees when the reply went to the person's personal chat instead.
pub const SENT_PRIVATELY: &str = "I've sent you a private message.";

/// The Teams endpoint.
pub struct Endpoint {
    bot: Arc<Bot>,
    auth: Authenticator,
    connector: Connector,
    workers: Arc<tokio::sync::Semaphore>,
}

/// Why the endpoint cannot start.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the HTTPS client for Teams: {0}")]
pub struct StartError(#[from] reqwest::Error);

impl Endpoint {
    /// The endpoint for `bot` as configured, with the app secret, running at most `workers`
    /// commands at once.
    pub fn new(
        bot: Arc<Bot>,
        config: &TeamsConfig,
        secret: String,
        workers: usize,
    ) -> Result<Endpoint, StartError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("ohwb-bot/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Endpoint {
            bot,
            auth: Authenticator::new(
                &config.app_id,
                &config.openid_metadata_url,
                http.clone(),
                KEY_REFRESH,
            ),
            connector: Connector::new(
                http,
                &config.app_id,
                secret,
                &config.token_url,
                &config.allowed_service_urls,
            ),
            workers: Arc::new(tokio::sync::Semaphore::new(workers.max(1))),
        })
    }

    /// The route, to merge into the HTTP server.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().route(PATH, post(messages)).with_state(self)
    }

    /// Runs `inv` on the pool; an internal failure becomes the apology with a reference.
    async fn run(&self, inv: Invocation) -> Reply {
        let name = inv.full_name();
        let _permit = self.workers.clone().acquire_owned().await;
        let bot = self.bot.clone();
        let outcome = tokio::task::spawn_blocking(move || bot.execute(&inv)).await;
        match outcome
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(reply) => reply,
            Err(e) => {
                let reference = reference_id();
                tracing::error!(command = %name, reference = %reference, error = %e, "command failed");
                error_reply(&reference)
            }
        }
    }

    /// Sends `reply` for `activity`: into its conversation, or, for a private reply asked
    /// outside the personal chat, to the personal chat, with a notice in the thread when
    /// `notice` (a question expects its answer there; a vote's thanks needs no notice).
    async fn deliver(
        &self,
        activity: &Activity,
        reply: &Reply,
        notice: bool,
    ) -> Result<(), ConnectorError> {
        let (service, conversation) = (&activity.service_url, &activity.conversation.id);
        if reply.private && !activity.is_personal() {
            let chat = self
                .connector
                .personal_chat(
                    service,
                    &activity.recipient.id,
                    &activity.from.id,
                    activity.tenant().as_deref(),
                )
                .await?;
            let private = addressed(card::message(reply), activity, &chat, None);
            self.connector.send(service, &chat, &private).await?;
            if !notice {
                return Ok(());
            }
            let told = addressed(
                card::notice(SENT_PRIVATELY),
                activity,
                conversation,
                Some(&activity.id),
            );
            return self
                .connector
                .reply(service, conversation, &activity.id, &told)
                .await;
        }
        if activity.is_install() {
            // Nothing to answer: the introduction simply starts the chat.
            let hello = addressed(card::message(reply), activity, conversation, None);
            return self.connector.send(service, conversation, &hello).await;
        }
        let answer = addressed(
            card::message(reply),
            activity,
            conversation,
            Some(&activity.id),
        );
        self.connector
            .reply(service, conversation, &activity.id, &answer)
            .await
    }
}

/// `message` addressed as the Bot Framework's own SDKs address a reply: from the bot to the
/// person, in `conversation`, answering `reply_to`. Ids only: no names are sent back.
fn addressed(
    mut message: serde_json::Value,
    to: &Activity,
    conversation: &str,
    reply_to: Option<&str>,
) -> serde_json::Value {
    message["from"] = serde_json::json!({ "id": to.recipient.id });
    message["recipient"] = serde_json::json!({ "id": to.from.id });
    message["conversation"] = serde_json::json!({ "id": conversation });
    if let Some(id) = reply_to {
        message["replyToId"] = serde_json::json!(id);
    }
    message
}

async fn messages(State(e): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization.is_none() {
        tracing::warn!(reason = %auth::AuthError::Missing, "refused a Teams activity");
        return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    }
    let Ok(activity) = serde_json::from_slice::<Activity>(&body) else {
        return (StatusCode::BAD_REQUEST, "not an activity").into_response();
    };
    if let Err(why) = e
        .auth
        .check(authorization, &activity.service_url, &activity.channel_id)
        .await
    {
        tracing::warn!(reason = %why, "refused a Teams activity");
        return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    }
    if !e.connector.allowed(&activity.service_url) {
        tracing::warn!(
            "refused a Teams activity whose serviceUrl is not in teams.allowed_service_urls"
        );
        return (StatusCode::FORBIDDEN, "service URL not allowed").into_response();
    }
    let Some(inv) = activity.invocation() else {
        return StatusCode::OK.into_response();
    };
    let started = Instant::now();
    let name = inv.full_name();
    let notice = inv.command != "feedback";
    let reply = e.run(inv).await;
    let support = reply.tone == Tone::Support;
    let sent = e.deliver(&activity, &reply, notice).await;
    let ms = started.elapsed().as_millis() as u64;
    match sent {
        Ok(()) => {
            tracing::info!(command = %name, ms, support, front_end = "teams", "replied");
            StatusCode::OK.into_response()
        }
        Err(err) => {
            tracing::warn!(command = %name, ms, support, error = %err, "could not send the Teams reply");
            (StatusCode::BAD_GATEWAY, "could not reply").into_response()
        }
    }
}
