//! Instances that share a database (`[database]` PostgreSQL, or `shared = true`) behave as one
//! bot: a resource posted or removed on one, or a `/reindex`, reaches all of them.
//!
//! The instance where it happens writes the change to the database (`store/shared.rs`) before it
//! replies, raising the shared generation; every instance polls the generation
//! ([`Bot::sync_step`], every [`SYNC_EVERY`]), copies the shared resources into its own corpus
//! when it moved, and reindexes.
//!
//! Invariants:
//! - A change is in the database before its reply is sent: an instance that dies after
//!   replying has lost nothing it acknowledged.
//! - An instance does not reindex again for a generation only it raised (it already has).
//! - A resource file on disk that was never shared is left alone; only shared resources are
//!   written or deleted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Bot, ReindexOutcome};
use crate::resources;

/// How often a shared instance looks for changes made by the others.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What the syncer remembers between steps.
#[derive(Debug, Default)]
pub struct SyncState {
    /// The generation last caught up with.
    seen: Option<i64>,
}

impl Bot {
    /// Whether this bot shares changes with other instances.
    pub fn is_shared(&self) -> bool {
        self.config.database.is_shared()
    }

    /// Notes that this instance raised the shared generation to `generation` itself.
    fn raised(&self, generation: i64) {
        self.own_generation.fetch_max(generation, Ordering::SeqCst);
    }

    /// Shares the posted resource `id` (just written here) with the other instances. `None`
    /// when shared (or sharing is off); else what to tell the poster.
    pub(super) fn share_posted(&self, id: &str) -> Option<String> {
        if !self.is_shared() {
            return None;
        }
        let shared = resources::file_text(&self.corpus_dir, id)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                self.store
                    .share_resource(id, &text)
                    .map_err(|e| e.to_string())
            });
        self.after_share(shared)
    }

    /// Tells the other instances that the posted resource `id` was removed here.
    pub(super) fn share_removed(&self, id: &str) -> Option<String> {
        if !self.is_shared() {
            return None;
        }
        let shared = self.store.withdraw_resource(id).map_err(|e| e.to_string());
        self.after_share(shared)
    }

    /// Asks the other instances to reindex too.
    pub(super) fn share_reindex(&self) -> Option<String> {
        if !self.is_shared() {
            return None;
        }
        let shared = self.store.request_reindex().map_err(|e| e.to_string());
        self.after_share(shared)
    }

    /// The field a reply carries when its change could not be shared (`share_*` said why).
    pub(super) fn unshared_field(problem: String) -> crate::reply::Field {
        crate::reply::Field {
            name: "Other instances".into(),
            value: crate::reply::Rich::plain(problem),
        }
    }

    fn after_share(&self, shared: Result<i64, String>) -> Option<String> {
        match shared {
            Ok(generation) => {
                self.raised(generation);
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "could not share a change with the other instances");
                Some(
                    "Done here, but the other instances of the bot could not be told (the \
                     database did not answer); they will not have it until it is done again."
                        .into(),
                )
            }
        }
    }

    /// One step of the syncer: when the shared generation moved, copies the shared resources
    /// into this corpus and reindexes (unless only this instance moved it and no file
    /// changed). Returns the outcome when it reindexed.
    pub fn sync_step(&self, state: &mut SyncState) -> Option<ReindexOutcome> {
        let generation = match self.store.generation() {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the shared generation");
                return None;
            }
        };
        if state.seen == Some(generation) {
            return None;
        }
        let first = state.seen.is_none();
        let shared = match self.store.shared_resources() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the shared resources");
                return None;
            }
        };
        let mut changed = false;
        for r in &shared {
            let text = (!r.removed).then_some(r.body.as_str());
            match resources::apply_shared(&self.corpus_dir, &r.id, text) {
                Ok(c) => changed |= c,
                Err(e) => tracing::warn!(error = %e, "skipped a shared resource"),
            }
        }
        state.seen = Some(generation);
        let own = self.own_generation.load(Ordering::SeqCst) >= generation;
        // At start the index was just opened from this corpus: only new files need a rebuild.
        if !changed && (own || first) {
            return None;
        }
        let outcome = self.reindex_wait();
        if let ReindexOutcome::Done(_) = outcome {
            tracing::info!(generation, "caught up with the other instances");
        }
        Some(outcome)
    }

    /// Runs [`Bot::sync_step`] every [`SYNC_EVERY`] on a background thread until `stop` is
    /// set. Only for a shared database.
    pub fn spawn_syncer(self: &Arc<Self>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        self.spawn_periodic(SYNC_EVERY, stop, |bot, state: &mut SyncState| {
            bot.sync_step(state);
        })
    }
}
