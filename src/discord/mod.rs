//! The Discord front end: connects with serenity, registers the slash commands, and turns
//! interactions into [`Invocation`]s for the command layer and [`Reply`]s into serenity builders.
//!
//! Invariants:
//! - This is the only module that names serenity. It decides nothing a command means; it only
//!   translates and respects Discord's rules (the 3-second deadline, limits, ephemerality).
//! - Commands run under `spawn_blocking`. A command that has not finished after
//!   `discord.defer_after_ms` is deferred (with the visibility `Bot::is_private` gave) and its
//!   reply edited in when ready, so the 3-second deadline is never missed.
//! - Logs carry the command name, timing and a reference id; never a user id, a user name, the
//!   token, or the text of a question.
//! - Every message sets empty `allowed_mentions` (see [`render`]), and the HTTP client's default
//!   does too, as a second guard.

pub mod render;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serenity::all::{
    ChannelId, Command, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    CommandOptionType, ComponentInteraction, Context, CreateAllowedMentions, CreateCommand,
    CreateCommandOption, CreateInteractionResponse, CreateMessage, EventHandler, GatewayIntents,
    GuildId, HttpBuilder, Interaction, Ready, ShardStageUpdateEvent,
};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use serenity::gateway::ConnectionStage;

use crate::commands::{specs, Bot, Caller, Invocation, OptionKind, OptionSpec, Value};
use crate::metrics::Gateway;
use crate::reply::{Reply, Rich, Tone};

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

/// The latest a first response (the answer or the "thinking…" deferral) is sent after an
/// interaction arrives; Discord drops an interaction not answered within 3 s.
const DEFER_DEADLINE: Duration = Duration::from_millis(2500);

/// How much longer than `defer_after` a shared question's deferral waits for its distress
/// check, to defer it publicly when the check clears it.
const PRIVACY_GRACE: Duration = Duration::from_millis(500);

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
    let mut http =
        HttpBuilder::new(&conn.token).default_allowed_mentions(CreateAllowedMentions::new());
    if !conn.proxy_url.is_empty() {
        // serenity applies the proxy only with its own rate limiter off; the proxy limits instead.
        http = http
            .proxy(conn.proxy_url.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let handler = Handler {
        bot,
        guild_ids: conn.guild_ids.clone(),
        defer_after: conn.defer_after,
        gateway: conn.gateway.clone(),
        workers: Arc::new(tokio::sync::Semaphore::new(conn.workers.max(1))),
    };
    let client =
        ClientBuilder::new_with_http(http.build(), GatewayIntents::empty()).event_handler(handler);
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
    bot: Arc<Bot>,
    guild_ids: Vec<u64>,
    defer_after: Duration,
    gateway: Arc<Gateway>,
    /// Commands running at once (the rest queue here, in arrival order).
    workers: Arc<tokio::sync::Semaphore>,
}

fn option_builder(o: &OptionSpec) -> CreateCommandOption {
    let kind = match o.kind {
        OptionKind::String => CommandOptionType::String,
        OptionKind::Boolean => CommandOptionType::Boolean,
        OptionKind::Integer => CommandOptionType::Integer,
    };
    let mut b = CreateCommandOption::new(kind, o.name, o.description).required(o.required);
    if o.autocomplete {
        b = b.set_autocomplete(true);
    }
    if let Some(n) = o.max_length {
        b = b.max_length(n);
    }
    if o.kind == OptionKind::Integer {
        b = b.min_int_value(1);
    }
    b
}

/// The slash commands as Discord registers them.
pub fn command_builders() -> Vec<CreateCommand> {
    specs()
        .into_iter()
        .filter(|spec| spec.registered)
        .map(|spec| {
            let options = if spec.subcommands.is_empty() {
                spec.options.iter().map(option_builder).collect()
            } else {
                spec.subcommands
                    .iter()
                    .map(|sub| {
                        sub.options.iter().fold(
                            CreateCommandOption::new(
                                CommandOptionType::SubCommand,
                                sub.name,
                                sub.description,
                            ),
                            |b, o| b.add_sub_option(option_builder(o)),
                        )
                    })
                    .collect()
            };
            CreateCommand::new(spec.name)
                .description(spec.description)
                .set_options(options)
        })
        .collect()
}

fn option_values(
    opts: &[CommandDataOption],
    out: &mut std::collections::BTreeMap<String, Value>,
    subcommand: &mut Option<String>,
) {
    for o in opts {
        let value = match &o.value {
            CommandDataOptionValue::String(s) => Value::Str(without_mentions(s)),
            CommandDataOptionValue::Boolean(b) => Value::Bool(*b),
            CommandDataOptionValue::Integer(n) => Value::Int(*n),
            CommandDataOptionValue::Autocomplete { value, .. } => Value::Str(value.clone()),
            CommandDataOptionValue::SubCommand(inner) => {
                *subcommand = Some(o.name.clone());
                option_values(inner, out, subcommand);
                continue;
            }
            _ => continue,
        };
        out.insert(o.name.clone(), value);
    }
}

/// `text` without Discord's mention syntax (`<@id>`, `<@!id>`, `<@&id>`, `<#id>`,
/// `@everyone`, `@here`): they name people and channels, not what is asked, and their digits
/// would otherwise count as words of the question.
fn without_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let body = tail[1..].split('>').next().unwrap_or_default();
        let id = body.trim_start_matches(['@', '!', '&', '#']);
        let is_mention = body.len() > id.len()
            && !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && tail.len() > body.len() + 1;
        if is_mention {
            rest = &tail[body.len() + 2..];
        } else {
            out.push('<');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out.split(' ')
        .filter(|w| {
            !matches!(
                w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@'),
                "@everyone" | "@here"
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name a person shows in the server: their nickname, else their display name, else
/// their user name.
fn display_name(member: Option<&serenity::all::Member>, user: &serenity::all::User) -> String {
    member
        .and_then(|m| m.nick.clone())
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone())
}

/// The command layer's view of an interaction: roles and a display name, no ids.
fn invocation(cmd: &CommandInteraction) -> Invocation {
    let mut options = std::collections::BTreeMap::new();
    let mut subcommand = None;
    option_values(&cmd.data.options, &mut options, &mut subcommand);
    let name = display_name(cmd.member.as_deref(), &cmd.user);
    Invocation {
        command: cmd.data.name.clone(),
        subcommand,
        options,
        caller: Caller {
            roles: cmd
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            in_guild: cmd.guild_id.is_some(),
            operator: false,
            name,
            person_key: format!("discord:{}", cmd.user.id),
        },
    }
}

/// A short id that ties a user-facing error to its log line.
fn reference_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:08x}", h.finish() as u32)
}

fn error_reply(reference: &str) -> Reply {
    Reply::private(
        Tone::Error,
        Rich::plain(format!(
            "Sorry, something went wrong on my side. Please try again in a minute. \
             If it keeps happening, tell your admin the reference {reference}."
        )),
    )
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
        match interaction {
            Interaction::Command(cmd) => self.on_command(&ctx, cmd).await,
            Interaction::Autocomplete(cmd) => self.on_autocomplete(&ctx, cmd).await,
            Interaction::Component(c) => self.on_component(&ctx, c).await,
            _ => {}
        }
    }
}

impl Handler {
    async fn on_command(&self, ctx: &Context, cmd: CommandInteraction) {
        let started = Instant::now();
        let inv = invocation(&cmd);
        let name = inv.full_name();
        // Only a shared `/ask` can be public, and only once the distress check has cleared it;
        // everything else is private from the start, with no model run needed to know it.
        let shared = inv.command == "ask" && inv.flag("share");
        let (privacy_tx, mut privacy) = tokio::sync::oneshot::channel::<bool>();
        let (bot, workers) = (self.bot.clone(), self.workers.clone());
        // The command waits its turn on the bounded pool; this task (and so the deferral
        // below) does not, so a burst cannot make a deferral late.
        let mut task = tokio::spawn(async move {
            let _permit = workers.acquire_owned().await;
            tokio::task::spawn_blocking(move || {
                let _ = privacy_tx.send(!shared || bot.is_private(&inv));
                bot.execute(&inv)
            })
            .await
        });
        // A zero wait means "always defer first" (useful behind slow proxies, and in tests).
        let outcome = if self.defer_after.is_zero() {
            Err(())
        } else {
            tokio::time::timeout(self.defer_after, &mut task)
                .await
                .map_err(|_| ())
        };
        let (deferred, placeholder_private, joined) = match outcome {
            Ok(joined) => (false, true, joined),
            Err(_) => {
                // A shared ask's distress check runs first once it has a worker: wait for it a
                // little (never past the deferral deadline), then, if it is still queued,
                // defer privately, the safe side; a public answer then replaces the placeholder.
                let private = if shared {
                    let wait = (self.defer_after + PRIVACY_GRACE).min(DEFER_DEADLINE);
                    tokio::time::timeout_at((started + wait).into(), &mut privacy)
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(true)
                } else {
                    true
                };
                let defer = if private {
                    cmd.defer_ephemeral(&ctx.http).await
                } else {
                    cmd.defer(&ctx.http).await
                };
                if let Err(e) = defer {
                    tracing::warn!(command = %name, error = %e, "could not defer the reply");
                }
                (true, private, task.await)
            }
        };
        let reply = match joined
            .map_err(|e| e.to_string())
            .and_then(|inner| inner.map_err(|e| e.to_string()))
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                let reference = reference_id();
                tracing::error!(command = %name, reference = %reference, error = %e, "command failed");
                error_reply(&reference)
            }
            Err(e) => {
                let reference = reference_id();
                tracing::error!(command = %name, reference = %reference, error = %e, "command panicked");
                error_reply(&reference)
            }
        };
        // A placeholder's visibility cannot change. When it differs from the reply's (a public
        // deferral for a reply that must be private, or a private one for a shared answer),
        // it is deleted and the reply sent as a follow-up with its own visibility.
        let sent = if !deferred {
            cmd.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(render::message(&reply)),
            )
            .await
        } else if reply.private != placeholder_private {
            if let Err(e) = cmd.delete_response(&ctx.http).await {
                tracing::warn!(command = %name, error = %e, "could not remove the placeholder");
            }
            cmd.create_followup(&ctx.http, render::followup(&reply))
                .await
                .map(|_| ())
        } else {
            cmd.edit_response(&ctx.http, render::edit(&reply))
                .await
                .map(|_| ())
        };
        let ms = started.elapsed().as_millis() as u64;
        // For support replies only the fact is logged: no text, no user, not even which list.
        let support = reply.tone == Tone::Support;
        match sent {
            Ok(()) => tracing::info!(command = %name, ms, deferred, support, "replied"),
            Err(e) => {
                tracing::warn!(command = %name, ms, deferred, support, error = %e, "could not send the reply")
            }
        }
        if reply.escalate {
            self.escalate(ctx).await;
        }
    }

    /// Tells the wellbeing team's private channel that crisis support was shown: the configured
    /// notice only, never who or what.
    async fn escalate(&self, ctx: &Context) {
        let channel = self.bot.config().support.escalation_channel_id;
        if channel == 0 {
            return;
        }
        let notice = crate::commands::escalation_notice(self.bot.config());
        let message = CreateMessage::new()
            .content(render::escape(&crate::text::truncate_words(&notice, 1900)))
            .allowed_mentions(CreateAllowedMentions::new());
        match ChannelId::new(channel)
            .send_message(&ctx.http, message)
            .await
        {
            Ok(_) => tracing::info!("wellbeing team notified of a support reply"),
            Err(e) => tracing::warn!(error = %e, "could not notify the wellbeing team"),
        }
    }

    /// A press on a button under a reply: "Helpful" / "Not helpful" becomes `/feedback`,
    /// "Send to the OH team" becomes `/forward` (and the post to the OH team's channel).
    async fn on_component(&self, ctx: &Context, c: ComponentInteraction) {
        let mut options = std::collections::BTreeMap::new();
        let command = match render::parse_press(&c.data.custom_id) {
            Some(render::Press::Feedback { vote, answer }) => {
                options.insert("vote".to_string(), Value::Str(vote.to_string()));
                options.insert("answer".to_string(), Value::Str(answer.to_string()));
                "feedback"
            }
            Some(render::Press::Forward { offer, named }) => {
                options.insert("id".to_string(), Value::Str(offer.to_string()));
                options.insert("name".to_string(), Value::Bool(named));
                "forward"
            }
            None => return,
        };
        let name = display_name(c.member.as_ref(), &c.user);
        let inv = Invocation {
            command: command.into(),
            subcommand: None,
            options,
            caller: Caller {
                roles: Vec::new(),
                in_guild: c.guild_id.is_some(),
                operator: false,
                name,
                person_key: format!("discord:{}", c.user.id),
            },
        };
        let (bot, workers) = (self.bot.clone(), self.workers.clone());
        let joined = tokio::spawn(async move {
            let _permit = workers.acquire_owned().await;
            tokio::task::spawn_blocking(move || bot.execute(&inv)).await
        })
        .await;
        let mut reply = match joined {
            Ok(Ok(Ok(reply))) => reply,
            _ => {
                let reference = reference_id();
                tracing::error!(command, reference = %reference, "button press failed");
                error_reply(&reference)
            }
        };
        if let Some(post) = reply.forward.take() {
            if let Err(e) = self.post_to_oh_team(ctx, &post).await {
                tracing::warn!(error = %e, "could not send a question to the OH team");
                reply = Reply::private(
                    Tone::Error,
                    Rich::plain(
                        "Sorry, your question could not be sent to the OH team just now. \
                         Please contact them directly.",
                    ),
                );
            }
        }
        let response = CreateInteractionResponse::Message(render::message(&reply));
        match c.create_response(&ctx.http, response).await {
            Ok(()) => tracing::info!(command, "replied"),
            Err(e) => tracing::warn!(command, error = %e, "could not send the reply"),
        }
    }

    /// Posts a question the asker chose to send to `[escalation] channel_id`: escaped, no
    /// mentions, within Discord's message limit.
    async fn post_to_oh_team(&self, ctx: &Context, post: &str) -> Result<(), serenity::Error> {
        let channel = self.bot.config().escalation.channel_id;
        if channel == 0 {
            // Never offered without a channel; a forged press gets nowhere.
            return Err(serenity::Error::Other("no [escalation] channel_id"));
        }
        let message = CreateMessage::new()
            .content(render::escape(&crate::text::truncate_words(post, 1900)))
            .allowed_mentions(CreateAllowedMentions::new());
        ChannelId::new(channel)
            .send_message(&ctx.http, message)
            .await?;
        tracing::info!("a declined question was sent to the OH team at the asker's request");
        Ok(())
    }

    async fn on_autocomplete(&self, ctx: &Context, cmd: CommandInteraction) {
        let Some(focused) = cmd.data.autocomplete() else {
            return;
        };
        let inv = invocation(&cmd);
        // Autocomplete cannot be deferred and reads the corpus directory for resources: keep
        // it off the async threads like every other command.
        let bot = self.bot.clone();
        let (option, partial) = (focused.name.to_string(), focused.value.to_string());
        let choices =
            tokio::task::spawn_blocking(move || bot.autocomplete(&inv, &option, &partial))
                .await
                .unwrap_or_default();
        let response = CreateInteractionResponse::Autocomplete(render::choices(&choices));
        if let Err(e) = cmd.create_response(&ctx.http, response).await {
            tracing::warn!(command = %cmd.data.name, error = %e, "could not send suggestions");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_syntax_is_not_part_of_a_question() {
        assert_eq!(
            without_mentions("@everyone how <@6000> do i <@!12> ask <@&5> in <#77>? @here"),
            "how  do i  ask  in ?"
        );
        assert_eq!(
            without_mentions("a <b> and 3 < 4 and <@x>"),
            "a <b> and 3 < 4 and <@x>"
        );
        assert_eq!(without_mentions("trailing <@"), "trailing <@");
        assert_eq!(without_mentions("email me@here.com"), "email me@here.com");
    }
}
