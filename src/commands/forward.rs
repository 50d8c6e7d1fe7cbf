//! Sending a question the documents do not cover to the OH team: offered under a "not
//! covered" answer when `[escalation] channel_id` is set, and done only when the asker presses
//! "Send to the OH team" (or "Send with my name").
//!
//! Invariants:
//! - Nothing is sent without the asker's press; the asker is shown exactly what was sent.
//! - Their name goes only with "Send with my name".
//! - Never offered on a distress or help reply (those return before an answer is tried).
//! - The question waits in memory only (never the database, never a log), for at most
//!   [`OFFER_TTL`], and is sent at most once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::reply::{Reply, Rich, Tone};
use crate::text::truncate_words;

use super::{Bot, Invocation};

/// How long an offer can be taken up (Discord's interaction tokens last 15 minutes too).
pub const OFFER_TTL: Duration = Duration::from_secs(15 * 60);
/// Offers held at once; past this the oldest is dropped.
const MAX_OFFERS: usize = 1000;
/// Longest question forwarded, in characters (Discord messages hold 2000).
const MAX_FORWARD_CHARS: usize = 1500;

/// Questions the asker may still choose to send, by offer id.
#[derive(Default)]
pub(super) struct Offers(Mutex<HashMap<String, (Instant, String)>>);

impl Offers {
    fn offer(&self, question: &str) -> String {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (at, _)| now.duration_since(*at) < OFFER_TTL);
        if map.len() >= MAX_OFFERS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let id = crate::store::new_id();
        map.insert(id.clone(), (now, question.to_string()));
        id
    }

    fn take(&self, id: &str) -> Option<String> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (at, q) = map.remove(id)?;
        (at.elapsed() < OFFER_TTL).then_some(q)
    }
}

impl Bot {
    /// Offers to send `question` to the OH team, when an escalation channel is configured.
    pub(super) fn offer_forward(&self, question: &str, reply: &mut Reply) {
        if self.config().escalation.channel_id != 0 {
            reply.forward_offer = Some(self.offers.offer(question));
        }
    }

    /// `/forward id:<offer> [name:true]`: the asker chose to send their question.
    pub(super) fn forward(&self, inv: &Invocation) -> Reply {
        let id = inv.str("id").unwrap_or_default();
        let Some(question) = self.offers.take(id) else {
            let mut r = Reply::private(
                Tone::Error,
                Rich::plain(
                    "That question was already sent, or the offer has expired (after 15 \
                     minutes). Ask again to get a new one.",
                ),
            );
            r.title = Some("Nothing sent".into());
            return r;
        };
        let question = truncate_words(&question, MAX_FORWARD_CHARS);
        let name = inv
            .flag("name")
            .then(|| inv.caller.name.trim())
            .filter(|n| !n.is_empty());
        let post = match name {
            Some(n) => format!(
                "{n} asked the OHWB bot a question the documents do not cover:\n“{question}”"
            ),
            None => format!(
                "A colleague asked the OHWB bot a question the documents do not cover (they \
                 chose not to share their name):\n“{question}”"
            ),
        };
        let mut r = Reply::private(
            Tone::Info,
            Rich::plain(format!(
                "Sent to the OH team {}:\n“{question}”",
                if name.is_some() {
                    "with your name"
                } else {
                    "without your name"
                }
            )),
        );
        r.title = Some("Sent to the OH team".into());
        r.forward = Some(post);
        r
    }
}
