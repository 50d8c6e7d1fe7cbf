//! The command layer: what each command means, independent of any chat.
//!
//! Front ends (the Discord layer, the console) turn user input into an [`Invocation`], call
//! [`Bot::execute`] or [`Bot::autocomplete`], and render the [`Reply`]. Everything a command
//! decides (wording, privacy, what to cite, validation) happens here, once.
//!
//! Invariants:
//! - [`Bot::is_private`] is known before a command runs, so a front end can defer with the right
//!   visibility; the reply it later gets has the same `private` value.
//! - `execute` returns `Err` only for internal failures; anything the user got wrong is an
//!   ordinary reply with [`Tone::Error`] that says what to do instead.
//! - The question text is never logged here.

mod admin;
mod ask;
mod forward;
mod insights;
mod invocation;
mod specs;
mod support;
mod sync;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::embed::{Embedder, QuestionReading};
use crate::index::{self, Freshness, SearchIndex};
use crate::metrics::{IndexGauges, Metrics};
use crate::ratelimit::RateLimiter;
use crate::reply::{Reply, Rich, Tone};
use crate::resources;
use crate::safety::Need;
use crate::store::Store;
use crate::text::truncate_words;
use crate::Result;

pub use admin::ReindexOutcome;
pub use ask::{answer_reply, citation_details, citation_name};
pub use insights::report_reply;
pub use invocation::{Caller, Invocation, Surface, Value};
pub use specs::{specs, CommandSpec, OptionKind, OptionSpec, MAX_QUESTION_CHARS};
pub use support::{crisis_reply, escalation_notice, support_first, SUPPORT_DOC};
pub use sync::{SyncState, SYNC_EVERY};

/// A short id that ties a user-facing error to its log line (front ends log it with the
/// failure and show it in [`error_reply`]).
pub fn reference_id() -> String {
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

/// What a person sees when a command failed inside the bot: an apology and `reference`.
pub fn error_reply(reference: &str) -> Reply {
    Reply::private(
        Tone::Error,
        Rich::plain(format!(
            "Sorry, something went wrong on my side. Please try again in a minute. \
             If it keeps happening, tell your admin the reference {reference}."
        )),
    )
}

/// A suggestion offered while the user types an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Shown to the user (≤ 100 chars).
    pub name: String,
    /// Sent back as the option's value (≤ 100 chars).
    pub value: String,
}

/// At most this many suggestions (Discord's limit).
pub const MAX_CHOICES: usize = 25;

/// The bot's state shared by every front end: configuration and the index being served.
pub struct Bot {
    config: Config,
    corpus_dir: PathBuf,
    index_dir: PathBuf,
    index: RwLock<Arc<SearchIndex>>,
    /// The embedding model, loaded once; every generation served is built with it.
    embedder: Arc<Embedder>,
    /// Held while a reindex runs: one at a time.
    reindexing: Mutex<()>,
    /// When the served index was last compared with `current.json` on disk.
    last_refresh_check: Mutex<Instant>,
    /// Counts for monitoring.
    metrics: Arc<Metrics>,
    /// Questions per person per minute.
    limiter: RateLimiter,
    /// Counts, votes and (opt-in) declined questions.
    store: Store,
    /// Declined questions their askers may still send to the OH team.
    offers: forward::Offers,
    /// The highest shared generation this instance raised itself (`sync.rs`).
    own_generation: std::sync::atomic::AtomicI64,
}

/// How often a served index checks whether another process (`ohwb-bot index`) replaced it.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

impl Bot {
    /// Opens (building when needed) the index for `config`'s paths.
    pub fn open(config: Config) -> Result<Bot> {
        index::apply_limits(&config.index);
        let corpus_dir = config.paths.corpus.clone();
        let index_dir = config.paths.index.clone();
        let embedder = Embedder::shared(&config.paths.model)?;
        let (index, freshness) = index::open_fresh(&corpus_dir, &index_dir, &embedder)?;
        if let Freshness::StaleCorpusInvalid(problems) = &freshness {
            tracing::warn!(
                problems = problems.len(),
                "corpus has problems; serving the previous index"
            );
        }
        Ok(Bot {
            corpus_dir,
            index_dir: index_dir.clone(),
            index: RwLock::new(Arc::new(index)),
            embedder,
            reindexing: Mutex::new(()),
            last_refresh_check: Mutex::new(Instant::now()),
            metrics: Arc::new(Metrics::default()),
            limiter: RateLimiter::new(config.limits.asks_per_minute),
            store: Store::open(&config.database, &config.insights, &index_dir)?,
            offers: Default::default(),
            own_generation: Default::default(),
            config,
        })
    }

    /// The database: counts, votes, the report.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The counters this bot keeps, for a monitoring endpoint.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The metrics text with the served index's gauges.
    pub fn render_metrics(&self) -> String {
        let index = self.index();
        let m = index.manifest();
        self.metrics.render(&IndexGauges {
            built_at: m.built_at,
            passages: m.passage_count() as u64,
            documents: m.documents.len() as u64,
        })
    }

    /// The configuration the bot was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The index currently served. Cheap: a reference count, not a copy. A search keeps the
    /// index it started with even if a reindex swaps in a new one meanwhile.
    pub fn index(&self) -> Arc<SearchIndex> {
        // A poisoned lock only means a writer panicked mid-swap; the Arc inside is still whole.
        self.index.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn swap_index(&self, new: SearchIndex) {
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new);
    }

    /// Serves a generation another process built (`ohwb-bot index`), checked at most once a
    /// second. A failure to open it keeps the current one.
    fn refresh_if_rebuilt(&self) {
        {
            let mut last = self
                .last_refresh_check
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < REFRESH_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.refresh_now();
    }

    /// Serves the generation named by `current.json` if it differs from the one served. Called
    /// at most once a second by `execute`; public so tools and tests need not wait.
    pub fn refresh_now(&self) {
        let served = self.index().manifest().generation.clone();
        match index::read_manifest(&self.index_dir) {
            Ok(Some(m)) if m.generation != served => {
                match SearchIndex::open(&self.index_dir, self.embedder.clone()) {
                    Ok(new) => {
                        tracing::info!(
                            passages = new.manifest().passage_count(),
                            "serving an index rebuilt elsewhere"
                        );
                        self.swap_index(new);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a new index appeared but could not be opened")
                    }
                }
            }
            _ => {}
        }
    }

    /// What a question needs: crisis signposting, support contacts, or an answer
    /// ([`SearchIndex::screen`]: the one decision every front end uses, without reading the
    /// question for an answer).
    ///
    /// Fails safe: should the model ever fail on a message, the message is treated as
    /// distress, because a needless crisis reply costs far less than a missed one.
    pub fn need(&self, question: &str) -> Need {
        fail_safe(self.index().screen(question)).0
    }

    /// [`Bot::need`], with the question's vectors when the check computed them (for the
    /// answer to reuse).
    pub(crate) fn assess(&self, question: &str) -> (Need, Option<QuestionReading>) {
        fail_safe(self.index().assess(question))
    }

    /// Whether the reply to `inv` will be private; known before running it. A question that
    /// shows distress is always private, even with `share:true`.
    pub fn is_private(&self, inv: &Invocation) -> bool {
        match inv.command.as_str() {
            "ask" => {
                !inv.flag("share")
                    || self.need(inv.str("question").unwrap_or_default()) == Need::Distress
            }
            _ => true,
        }
    }

    /// Runs a command. Blocking (searches, may reindex): call it under `spawn_blocking`.
    pub fn execute(&self, inv: &Invocation) -> Result<Reply> {
        crate::testing::fail_point("execute")?;
        self.refresh_if_rebuilt();
        let mut reply = match (inv.command.as_str(), inv.subcommand.as_deref()) {
            ("ask", _) => {
                let started = Instant::now();
                let (reply, outcome) = self.ask(inv)?;
                if let Some(o) = outcome {
                    self.metrics.record_ask(o, started.elapsed());
                }
                reply
            }
            ("sources", _) => self.sources(),
            ("help", _) => ask::help(inv.surface),
            ("resource", Some("add")) => self.resource_add(inv),
            ("resource", Some("list")) => self.resource_list(inv),
            ("resource", Some("remove")) => self.resource_remove(inv),
            ("reindex", _) => self.reindex_command(inv),
            ("feedback", _) => self.feedback(inv),
            ("forward", _) => self.forward(inv),
            ("report", _) => self.report_command(inv),
            _ => Reply::private(
                Tone::Error,
                Rich::plain(format!(
                    "I don't know the command /{}. Try /help.",
                    inv.full_name()
                )),
            ),
        };
        // Same as `is_private(inv)`, without a second distress check: `ask` set its reply's
        // privacy from the check it made (a crisis reply is always private); every other
        // command is private.
        reply.private = reply.private || inv.command != "ask" || !inv.flag("share");
        Ok(reply)
    }

    /// Suggestions for the option being typed. Never fails: unknown input gives no choices.
    pub fn autocomplete(&self, inv: &Invocation, option: &str, partial: &str) -> Vec<Choice> {
        let needle = partial.trim().to_lowercase();
        let matches = |title: &str, id: &str| {
            needle.is_empty() || title.to_lowercase().contains(&needle) || id.contains(&needle)
        };
        match (inv.command.as_str(), inv.subcommand.as_deref(), option) {
            ("ask", _, "source") => self
                .index()
                .manifest()
                .documents
                .iter()
                .filter(|d| d.kind != "resource" && matches(&d.title, &d.slug))
                .take(MAX_CHOICES)
                .map(|d| Choice {
                    name: truncate_words(&d.title, 100),
                    value: truncate_words(&d.slug, 100),
                })
                .collect(),
            ("resource", Some("remove"), "id") => resources::list(&self.corpus_dir)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| matches(&r.title, &r.id))
                .take(MAX_CHOICES)
                .map(|r| Choice {
                    name: truncate_words(&format!("{} ({})", r.title, r.id), 100),
                    value: r.id.chars().take(100).collect(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Where the corpus lives.
    pub fn corpus_dir(&self) -> &PathBuf {
        &self.corpus_dir
    }

    /// Where the index lives.
    pub fn index_dir(&self) -> &PathBuf {
        &self.index_dir
    }
}

/// The need and reading of a distress check; a check that failed counts as distress (see
/// [`Bot::need`]), logged without the message.
fn fail_safe(checked: Result<crate::safety::Assessment>) -> (Need, Option<QuestionReading>) {
    match checked {
        Ok(a) => (a.need, a.reading),
        Err(e) => {
            tracing::error!(error = %e, "distress check failed; replying as for distress");
            (Need::Distress, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_fit_discord_rules() {
        for s in specs() {
            assert!(s.name.len() <= 32 && s.name.chars().all(|c| c.is_ascii_lowercase()));
            assert!((1..=100).contains(&s.description.len()), "{}", s.name);
            assert!(s.options.len() <= 25);
            for o in &s.options {
                assert!((1..=100).contains(&o.description.len()), "{}", o.name);
            }
            // Discord requires required options first.
            let first_optional = s
                .options
                .iter()
                .position(|o| !o.required)
                .unwrap_or(s.options.len());
            assert!(s.options[first_optional..].iter().all(|o| !o.required));
        }
    }
}
