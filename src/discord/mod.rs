//! The Discord front end: connects with serenity, registers the slash commands, and turns
//! interactions into [`Invocation`]s for the command layer and [`Reply`]s into serenity builders.
//! `mod.rs` is the gateway connection; [`interactions`] is the HTTP endpoint; both hand each
//! interaction to `flow.rs`; `translate.rs` maps Discord's shapes to the command layer's and
//! [`render`] the other way.
//!
//! Invariants:
//! - This is the only module that names serenity. It decides nothing a command means; it only
//!   translates and respects Discord's rules (the 3-second deadline, limits, ephemerality).
//! - Commands run on a bounded pool under `spawn_blocking`. A command that has not finished
//!   after `discord.defer_after_ms` is deferred and its reply edited in when ready, so the
//!   3-second deadline is never missed, however long the queue.
//! - Logs carry the command name, timing and a reference id; never a user id, a user name, the
//!   token, or the text of a question.
//! - Every message sets empty `allowed_mentions` (see [`render`]), and the HTTP client's default
//!   does too, as a second guard.

mod flow;
pub mod interactions;
pub mod render;
mod translate;

pub use translate::command_builders;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    Command, Context, EventHandler, GatewayIntents, GuildId, Interaction, Ready,
    ShardStageUpdateEvent,
};
use serenity::async_trait;
use serenity::builder::Builder as _;
use serenity::client::ClientBuilder;
use serenity::gateway::ConnectionStage;

use crate::commands::Bot;
use crate::metrics::Gateway;
use flow::{First, Flow};

/// What can stop the Discord front end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// serenity could not connect or lost the connection for good.
    #[error("discord: {0}")]
    Client(#[from] Box<serenity::Error>),
}

impl From<serenity::Error> for Error {
    fn from(e: serenity::Error) -> Self {
        Error::Client(Box::new(e))
    }
}

/// Connection settings, resolved by the caller from config and environment.
#[derive(Clone)]
pub struct Connection {
    /// The bot token (without the `Bot ` prefix). Never logged.
    pub token: String,
    /// REST proxy base URL, or empty for discord.com.
    pub proxy_url: String,
    /// Guilds to register commands in; empty registers globally.
    pub guild_ids: Vec<u64>,
    /// Defer a command's reply when it runs longer than this.
    pub defer_after: Duration,
    /// Set while the gateway is connected, for the health endpoint.
    pub gateway: Arc<Gateway>,
    /// Commands run at once; more wait in a queue (their deferrals are still sent on time).
    pub workers: usize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("token", &"<redacted>")
            .field("proxy_url", &self.proxy_url)
            .field("guild_ids", &self.guild_ids)
            .field("defer_after", &self.defer_after)
            .field("gateway", &self.gateway)
            .field("workers", &self.workers)
            .finish()
    }
}

/// How long shutdown waits for Discord to acknowledge the gateway close. serenity's shard runner
/// notices the request within its 0.5 s read timeout, so 2 s covers a healthy round trip.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs the bot until `shutdown` completes (pass `tokio::signal::ctrl_c()`-like futures), then
/// closes the gateway connection cleanly.
pub async fn run(
    bot: Arc<Bot>,
    conn: Connection,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let http = interactions::rest_client(&conn);
    let handler = Handler {
        flow: Flow {
            bot,
            defer_after: conn.defer_after,
            workers: Arc::new(tokio::sync::Semaphore::new(conn.workers.max(1))),
        },
        guild_ids: conn.guild_ids.clone(),
        gateway: conn.gateway.clone(),
    };
    let client = ClientBuilder::new_with_http(http, GatewayIntents::empty()).event_handler(handler);
    let mut client = client.await?;
    let shards = client.shard_manager.clone();
    tokio::select! {
        result = client.start() => result?,
        () = shutdown => {
            tracing::info!("shutting down: closing the gateway connection");
            // serenity waits up to 5 s for Discord to answer the close frame, then warns. The
            // frame has been sent by the time it waits (Discord marks the bot offline on it), so a
            // silent peer (a dead network path) is no reason to hold a service stop any longer.
            if tokio::time::timeout(CLOSE_GRACE, shards.shutdown_all()).await.is_err() {
                tracing::info!(
                    grace_ms = CLOSE_GRACE.as_millis() as u64,
                    "Discord did not answer the close in time; leaving without waiting"
                );
            }
        }
    }
    Ok(())
}

struct Handler {
    flow: Flow,
    guild_ids: Vec<u64>,
    gateway: Arc<Gateway>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        // Ready (below) marks the first connection; this follows drops and reconnects.
        let up = event.new == ConnectionStage::Connected;
        if up != self.gateway.is_connected() {
            tracing::info!(connected = up, "gateway connection changed");
        }
        self.gateway.set_connected(up);
    }

    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(guilds = ready.guilds.len(), "connected to Discord");
        self.gateway.set_connected(true);
        let commands = command_builders();
        if self.guild_ids.is_empty() {
            match Command::set_global_commands(&ctx.http, commands).await {
                Ok(c) => tracing::info!(count = c.len(), "registered global slash commands"),
                Err(e) => tracing::error!(error = %e, "could not register global slash commands"),
            }
        } else {
            for &g in &self.guild_ids {
                match GuildId::new(g)
                    .set_commands(&ctx.http, commands.clone())
                    .await
                {
                    Ok(c) => tracing::info!(
                        guild = g,
                        count = c.len(),
                        "registered guild slash commands"
                    ),
                    Err(e) => {
                        tracing::error!(guild = g, error = %e, "could not register guild slash commands")
                    }
                }
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let (name, response) = match interaction {
            Interaction::Command(cmd) => {
                let (http, reply_to) = (ctx.http.clone(), cmd.clone());
                let first: First = Box::new(move |response| {
                    Box::pin(async move { reply_to.create_response(&http, response).await })
                });
                self.flow.command(ctx.http.clone(), cmd, first).await;
                return;
            }
            Interaction::Autocomplete(cmd) => {
                let response = self.flow.autocomplete(&cmd).await;
                (
                    cmd.data.name.clone(),
                    response.map(|r| (r, cmd.id, cmd.token)),
                )
            }
            Interaction::Component(c) => {
                let response = self.flow.press(&ctx.http, &c).await;
                ("button".to_string(), response.map(|r| (r, c.id, c.token)))
            }
            _ => return,
        };
        if let Some((response, id, token)) = response {
            if let Err(e) = response.execute(&ctx.http, (id, &token)).await {
                tracing::warn!(command = %name, error = %e, "could not send the response");
            }
        }
    }
}
