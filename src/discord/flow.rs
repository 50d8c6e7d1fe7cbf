//! What happens to an interaction once it has arrived, by the gateway or by the HTTP endpoint:
//! the command runs on the bounded pool, the first response (the reply, or the "thinking…"
//! deferral) goes out in time, and a deferred reply is edited in later over REST.
//!
//! The two arrival paths differ only in how the first response is sent: the gateway posts it
//! to the interaction callback; the HTTP endpoint returns it as the body of Discord's request.
//! So the first response is handed to a [`First`] sender, and everything after it uses REST.
//!
//! Invariants:
//! - The deferral is sent from the async side at `defer_after`, whatever the queue length: a
//!   command waits for a worker, the deferral never does.
//! - A placeholder's visibility never changes: when it differs from the reply's, it is deleted
//!   and the reply sent as a follow-up. A shared question still queued at the deferral is
//!   deferred privately (the safe side).
//! - Errors reach the user privately with a reference id that ties them to one log line; logs
//!   carry the command, timing and that id, never who asked or what.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serenity::all::{
    ChannelId, CommandInteraction, ComponentInteraction, CreateAllowedMentions,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, Http,
};

use super::{render, translate};
use crate::commands::{error_reply, reference_id, Bot, Invocation};
use crate::reply::{Reply, Rich, Tone};

/// Sends an interaction's first response, once.
pub(super) type First = Box<
    dyn FnOnce(
            CreateInteractionResponse,
        ) -> Pin<Box<dyn Future<Output = serenity::Result<()>> + Send>>
        + Send,
>;

/// The latest a first response (the answer or the "thinking…" deferral) is sent after an
/// interaction arrives; Discord drops an interaction not answered within 3 s.
const DEFER_DEADLINE: Duration = Duration::from_millis(2500);

/// How much longer than `defer_after` a shared question's deferral waits for its distress
/// check, to defer it publicly when the check clears it.
const PRIVACY_GRACE: Duration = Duration::from_millis(500);

/// Everything the flow needs, shared by every interaction.
#[derive(Clone)]
pub(super) struct Flow {
    pub bot: Arc<Bot>,
    pub defer_after: Duration,
    /// Commands running at once (the rest queue here, in arrival order).
    pub workers: Arc<tokio::sync::Semaphore>,
}

impl Flow {
    /// Runs `inv` on the pool; the sender gets the distress check's verdict on privacy as soon
    /// as the command has a worker (only a shared `/ask` needs the check).
    fn spawn(
        &self,
        inv: Invocation,
        shared: bool,
        privacy: tokio::sync::oneshot::Sender<bool>,
    ) -> tokio::task::JoinHandle<Result<crate::Result<Reply>, tokio::task::JoinError>> {
        let (bot, workers) = (self.bot.clone(), self.workers.clone());
        tokio::spawn(async move {
            let _permit = workers.acquire_owned().await;
            tokio::task::spawn_blocking(move || {
                let _ = privacy.send(!shared || bot.is_private(&inv));
                bot.execute(&inv)
            })
            .await
        })
    }

    /// A slash command: the reply in time, or a deferral then the reply.
    pub async fn command(&self, http: Arc<Http>, cmd: CommandInteraction, first: First) {
        let started = Instant::now();
        let inv = translate::invocation(&cmd);
        let name = inv.full_name();
        // Only a shared `/ask` can be public, and only once the distress check has cleared it;
        // everything else is private from the start, with no model run needed to know it.
        let shared = inv.command == "ask" && inv.flag("share");
        let (privacy_tx, mut privacy) = tokio::sync::oneshot::channel::<bool>();
        let mut task = self.spawn(inv, shared, privacy_tx);
        let mut first = Some(first);
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
            Err(()) => {
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
                let defer = CreateInteractionResponseMessage::new().ephemeral(private);
                let send = first.take().expect("the first response is sent once");
                if let Err(e) = send(CreateInteractionResponse::Defer(defer)).await {
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
        let sent = match first.take() {
            Some(send) => send(CreateInteractionResponse::Message(render::message(&reply))).await,
            None if reply.private != placeholder_private => {
                if let Err(e) = cmd.delete_response(&*http).await {
                    tracing::warn!(command = %name, error = %e, "could not remove the placeholder");
                }
                cmd.create_followup(&*http, render::followup(&reply))
                    .await
                    .map(|_| ())
            }
            None => cmd
                .edit_response(&*http, render::edit(&reply))
                .await
                .map(|_| ()),
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
            self.escalate(&http).await;
        }
    }

    /// Tells the wellbeing team's private channel that crisis support was shown: the configured
    /// notice only, never who or what.
    async fn escalate(&self, http: &Http) {
        let channel = self.bot.config().support.escalation_channel_id;
        if channel == 0 {
            return;
        }
        let notice = crate::commands::escalation_notice(self.bot.config());
        match post(http, channel, &notice).await {
            Ok(()) => tracing::info!("wellbeing team notified of a support reply"),
            Err(e) => tracing::warn!(error = %e, "could not notify the wellbeing team"),
        }
    }

    /// A press on one of our buttons: its reply, after the post to the OH team's channel
    /// that "Send to the OH team" asks for (so the asker is never told of a post that failed).
    /// `None` for a button that is not ours.
    pub async fn press(
        &self,
        http: &Http,
        c: &ComponentInteraction,
    ) -> Option<CreateInteractionResponse> {
        let inv = translate::press_invocation(c)?;
        let command = inv.command.clone();
        let (tx, _) = tokio::sync::oneshot::channel();
        let mut reply = match self.spawn(inv, false, tx).await {
            Ok(Ok(Ok(reply))) => reply,
            _ => {
                let reference = reference_id();
                tracing::error!(command, reference = %reference, "button press failed");
                error_reply(&reference)
            }
        };
        if let Some(text) = reply.forward.take() {
            let channel = self.bot.config().escalation.channel_id;
            if let Err(e) = post(http, channel, &text).await {
                tracing::warn!(error = %e, "could not send a question to the OH team");
                reply = Reply::private(
                    Tone::Error,
                    Rich::plain(
                        "Sorry, your question could not be sent to the OH team just now. \
                         Please contact them directly.",
                    ),
                );
            } else {
                tracing::info!(
                    "a declined question was sent to the OH team at the asker's request"
                );
            }
        }
        tracing::info!(command, "replied");
        Some(CreateInteractionResponse::Message(render::message(&reply)))
    }

    /// Suggestions while typing an option.
    pub async fn autocomplete(
        &self,
        cmd: &CommandInteraction,
    ) -> Option<CreateInteractionResponse> {
        let focused = cmd.data.autocomplete()?;
        let inv = translate::invocation(cmd);
        // Autocomplete cannot be deferred and reads the corpus directory for resources: keep
        // it off the async threads like every other command.
        let bot = self.bot.clone();
        let (option, partial) = (focused.name.to_string(), focused.value.to_string());
        let choices =
            tokio::task::spawn_blocking(move || bot.autocomplete(&inv, &option, &partial))
                .await
                .unwrap_or_default();
        Some(CreateInteractionResponse::Autocomplete(render::choices(
            &choices,
        )))
    }
}

/// Posts `text` to `channel`: escaped, no mentions, within Discord's message limit.
async fn post(http: &Http, channel: u64, text: &str) -> serenity::Result<()> {
    if channel == 0 {
        // Never offered without a channel; a forged press gets nowhere.
        return Err(serenity::Error::Other("no channel configured"));
    }
    let message = CreateMessage::new()
        .content(render::escape(&crate::text::truncate_words(text, 1900)))
        .allowed_mentions(CreateAllowedMentions::new());
    ChannelId::new(channel).send_message(http, message).await?;
    Ok(())
}
