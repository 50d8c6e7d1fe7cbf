//! `/resource add|list|remove` (OH team) and `/reindex` (admins), with the role checks that
//! guard them.
//!
//! Invariants:
//! - Permission is checked here, on every call, from `[roles]` in config; Discord's own command
//!   permissions are never relied on (guild admins can change them).
//! - One reindex at a time. `/reindex` while one runs is told so; a post or removal waits for
//!   the running one and then reindexes, because it must be searchable when the reply says so.
//! - A failed reindex never replaces the served index.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, TryLockError};
use std::time::Duration;

use crate::corpus::{self, Problem};
use crate::index::{self, BuildReport, SearchIndex};
use crate::reply::{Field, Reply, Rich, Tone};
use crate::resources::{self, NewResource, Policy, ResourceError};
use crate::text::truncate_words;
use crate::Error;

use super::{Bot, Caller, Invocation};

/// What a reindex came to.
#[derive(Debug)]
pub enum ReindexOutcome {
    /// Built and now served.
    Done(BuildReport),
    /// Another reindex is running; nothing was done.
    Busy,
    /// The corpus has problems; the previous index is still served.
    Invalid(Vec<Problem>),
    /// Something else failed (disk, index); the previous index is still served.
    Failed(Error),
}

#[derive(Clone, Copy)]
pub(super) enum Need {
    OhTeam,
    Admin,
}

/// Resources listed per page (each is one embed field).
const PAGE_SIZE: usize = 8;

impl Bot {
    /// `None` when `caller` may do what `need` guards; otherwise the refusal to show.
    pub(super) fn refuse(&self, caller: &Caller, need: Need, action: &str) -> Option<Reply> {
        if caller.operator {
            return None;
        }
        let refusal = |text: String| {
            let mut r = Reply::private(Tone::Error, Rich::plain(text));
            r.title = Some("Not allowed".into());
            Some(r)
        };
        if !caller.in_guild {
            return refusal(format!(
                "{action} only works in the server, not in direct messages."
            ));
        }
        let roles = &self.config().roles;
        let has = |ids: &[u64]| caller.roles.iter().any(|r| ids.contains(r));
        match need {
            Need::Admin if has(&roles.admin) => None,
            Need::OhTeam if has(&roles.admin) || has(&roles.oh_team) => None,
            Need::Admin => refusal(format!("{action} needs the admin role.")),
            Need::OhTeam => refusal(format!(
                "{action} needs the OH team role (or the admin role)."
            )),
        }
    }

    /// Rebuilds the index from the corpus and serves it, unless a reindex is already running.
    pub fn reindex(&self) -> ReindexOutcome {
        let guard = match self.reindexing.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => return ReindexOutcome::Busy,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        let outcome = self.reindex_locked(false);
        drop(guard);
        outcome
    }

    /// Like [`Bot::reindex`] but waits for a running reindex (here or in another process, such
    /// as `ohwb-bot index`) to finish first.
    pub fn reindex_wait(&self) -> ReindexOutcome {
        let _guard = self.reindexing.lock().unwrap_or_else(|e| e.into_inner());
        self.reindex_locked(true)
    }

    fn reindex_locked(&self, wait: bool) -> ReindexOutcome {
        let started = std::time::Instant::now();
        let outcome = self.rebuild_and_serve(wait);
        match &outcome {
            ReindexOutcome::Done(_) => self.metrics.record_reindex(true, started.elapsed()),
            ReindexOutcome::Invalid(_) | ReindexOutcome::Failed(_) => {
                self.metrics.record_reindex(false, started.elapsed())
            }
            // Another rebuild was running: that one counts, not this.
            ReindexOutcome::Busy => {}
        }
        outcome
    }

    fn rebuild_and_serve(&self, wait: bool) -> ReindexOutcome {
        let built = if wait {
            index::rebuild(self.corpus_dir(), self.index_dir(), &self.embedder)
        } else {
            index::try_rebuild(self.corpus_dir(), self.index_dir(), &self.embedder)
        };
        let report = match built {
            Ok(r) => r,
            Err(Error::Busy) => return ReindexOutcome::Busy,
            Err(Error::Corpus(problems)) => return ReindexOutcome::Invalid(problems),
            Err(e) => return ReindexOutcome::Failed(e),
        };
        match SearchIndex::open(self.index_dir(), self.embedder.clone()) {
            Ok(new) => {
                self.swap_index(new);
                tracing::info!(
                    documents = report.documents,
                    passages = report.passages,
                    ms = report.elapsed.as_millis() as u64,
                    "reindexed"
                );
                ReindexOutcome::Done(report)
            }
            Err(e) => ReindexOutcome::Failed(e),
        }
    }

    pub(super) fn reindex_command(&self, inv: &Invocation) -> Reply {
        if let Some(r) = self.refuse(&inv.caller, Need::Admin, "Reindexing") {
            return r;
        }
        let outcome = self.reindex();
        let done = matches!(outcome, ReindexOutcome::Done(_));
        let mut reply = reindex_reply(outcome);
        if done {
            reply
                .fields
                .extend(self.share_reindex().map(Bot::unshared_field));
        }
        reply
    }

    fn policy(&self) -> Policy {
        Policy {
            allow_http: self.config().resources.allow_http,
        }
    }

    pub(super) fn resource_add(&self, inv: &Invocation) -> Reply {
        if let Some(r) = self.refuse(&inv.caller, Need::OhTeam, "Posting resources") {
            return r;
        }
        let new = NewResource {
            url: inv.str("url").unwrap_or_default().to_string(),
            title: inv.str("title").unwrap_or_default().to_string(),
            summary: inv.str("summary").unwrap_or_default().to_string(),
            tags: inv.str("tags").unwrap_or_default().to_string(),
            posted_by: inv.caller.name.clone(),
        };
        let saved = match resources::add(self.corpus_dir(), &new, self.policy()) {
            Ok(r) => r,
            Err(e) => return resource_error(e),
        };
        tracing::info!(id = %saved.id, "resource posted");
        let unshared = self.share_posted(&saved.id);
        let preview = Rich::plain(format!("[1] {} › Summary\n", saved.title))
            .link("Open the link", saved.url.clone());
        let mut fields = vec![Field {
            name: "It will be cited as".into(),
            value: preview,
        }];
        let body = match self.reindex_wait() {
            ReindexOutcome::Done(_) => Rich::plain("Saved and searchable now. Its id is ")
                .strong(saved.id.clone())
                .text("."),
            other => {
                fields.push(Field {
                    name: "Not searchable yet".into(),
                    value: reindex_reply(other).body,
                });
                Rich::plain("Saved as ")
                    .strong(saved.id.clone())
                    .text(", but the index could not be rebuilt, so answers cannot cite it yet.")
            }
        };
        fields.extend(unshared.map(Bot::unshared_field));
        Reply {
            title: Some("Resource saved".into()),
            fields,
            ..Reply::private(Tone::Info, body)
        }
    }

    pub(super) fn resource_remove(&self, inv: &Invocation) -> Reply {
        if let Some(r) = self.refuse(&inv.caller, Need::OhTeam, "Removing resources") {
            return r;
        }
        let id = inv.str("id").unwrap_or_default();
        let removed = match resources::remove(self.corpus_dir(), id) {
            Ok(r) => r,
            Err(e) => return resource_error(e),
        };
        tracing::info!(id = %removed.id, "resource removed");
        let unshared = self.share_removed(&removed.id);
        let tail = match self.reindex_wait() {
            ReindexOutcome::Done(_) => " Answers no longer cite it.".to_string(),
            other => format!(
                " The index could not be rebuilt yet, so answers may still cite it: {}",
                reindex_reply(other).body.plain_text()
            ),
        };
        let mut r = Reply::private(
            Tone::Info,
            Rich::plain("Removed ")
                .strong(removed.id)
                .text(format!(" ({}).{tail}", removed.title)),
        );
        r.title = Some("Resource removed".into());
        r.fields.extend(unshared.map(Bot::unshared_field));
        r
    }

    pub(super) fn resource_list(&self, inv: &Invocation) -> Reply {
        let all = match resources::list(self.corpus_dir()) {
            Ok(l) => l,
            Err(e) => return resource_error(e),
        };
        let tag = inv
            .str("tag")
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let list: Vec<_> = all
            .into_iter()
            .filter(|r| tag.as_ref().is_none_or(|t| r.tags.contains(t)))
            .collect();
        let pages = list.len().div_ceil(PAGE_SIZE).max(1);
        let page = inv.int("page").unwrap_or(1).clamp(1, pages as i64) as usize;
        let fields = list
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|r| Field {
                name: r.title.clone(),
                value: Rich::new().link("Open", r.url.clone()).text(format!(
                    " · id {}{}\n{}",
                    r.id,
                    if r.tags.is_empty() {
                        String::new()
                    } else {
                        format!(" · tags: {}", r.tags.join(", "))
                    },
                    truncate_words(&r.summary, 300)
                )),
            })
            .collect();
        let body = match (&tag, list.len()) {
            (Some(t), 0) => Rich::plain(format!("No posted resources have the tag “{t}”.")),
            (None, 0) => Rich::plain("No resources have been posted yet."),
            (Some(t), n) => Rich::plain(format!("{n} resources tagged “{t}”.")),
            (None, n) => Rich::plain(format!("{n} posted resources.")),
        };
        Reply {
            title: Some("Posted resources".into()),
            fields,
            footer: (pages > 1).then(|| {
                format!(
                    "Page {page} of {pages}. Add page:{} for more.",
                    page % pages + 1
                )
            }),
            ..Reply::private(Tone::Info, body)
        }
    }

    /// One step of the corpus watcher: notices a change, and reindexes once the corpus has
    /// stayed the same for one more step (so a burst of edits costs one reindex). Returns the
    /// outcome when it reindexed.
    pub fn watch_step(&self, state: &mut WatchState) -> Option<ReindexOutcome> {
        let fp = index::fingerprint(self.corpus_dir(), self.index_dir()).ok()?;
        if state.last_seen.as_deref() != Some(fp.as_str()) {
            state.last_seen = Some(fp);
            return None;
        }
        if self.index().manifest().fingerprint == fp
            || state.failed_for.as_deref() == Some(fp.as_str())
        {
            return None;
        }
        let outcome = self.reindex();
        match &outcome {
            ReindexOutcome::Invalid(p) => {
                tracing::warn!(
                    problems = p.len(),
                    "corpus changed but has problems; still serving the previous index:\n{}",
                    corpus::format_problems(p)
                );
                state.failed_for = Some(fp);
            }
            ReindexOutcome::Failed(e) => tracing::warn!(error = %e, "automatic reindex failed"),
            _ => {}
        }
        Some(outcome)
    }

    /// Runs [`Bot::watch_step`] every `interval` on a background thread until `stop` is set.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        interval: Duration,
        stop: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<()> {
        self.spawn_periodic(interval, stop, |bot, state: &mut WatchState| {
            bot.watch_step(state);
        })
    }

    /// Runs `step` every `interval` on a background thread, with state kept between steps,
    /// until `stop` is set (unpark the thread to stop it without waiting out the interval).
    pub(super) fn spawn_periodic<S: Default + 'static>(
        self: &Arc<Self>,
        interval: Duration,
        stop: Arc<AtomicBool>,
        step: fn(&Bot, &mut S),
    ) -> std::thread::JoinHandle<()> {
        let bot = Arc::clone(self);
        std::thread::spawn(move || {
            let mut state = S::default();
            while !stop.load(Ordering::Relaxed) {
                step(&bot, &mut state);
                std::thread::park_timeout(interval);
            }
        })
    }
}

/// What the watcher remembers between steps.
#[derive(Debug, Default)]
pub struct WatchState {
    last_seen: Option<String>,
    /// A corpus state that failed to index; not retried until it changes.
    failed_for: Option<String>,
}

fn resource_error(e: ResourceError) -> Reply {
    let (title, tone) = match &e {
        ResourceError::Io(_) => ("Could not save", Tone::Error),
        ResourceError::Duplicate { .. } => ("Already posted", Tone::Error),
        ResourceError::NotFound(_) => ("Not found", Tone::Error),
        ResourceError::Invalid(_) => ("Not saved", Tone::Error),
    };
    if let ResourceError::Io(detail) = &e {
        tracing::error!(error = %detail, "resource storage failed");
    }
    let text = match &e {
        ResourceError::Io(_) => "The resource could not be saved because of a storage problem on the bot's host. Nothing was stored; please try again later.".to_string(),
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get(..1) {
                s = first.to_uppercase() + &s[1..];
            }
            if matches!(other, ResourceError::Invalid(_)) {
                s.push_str(". Nothing was stored.");
            }
            s
        }
    };
    let mut r = Reply::private(tone, Rich::plain(text));
    r.title = Some(title.into());
    r
}

/// The admin's report of a reindex.
pub fn reindex_reply(outcome: ReindexOutcome) -> Reply {
    match outcome {
        ReindexOutcome::Done(report) => {
            let c = &report.changes;
            let mut fields = Vec::new();
            for (name, list) in [
                ("Added", &c.added),
                ("Updated", &c.updated),
                ("Removed", &c.removed),
            ] {
                if !list.is_empty() {
                    fields.push(Field {
                        name: name.into(),
                        value: Rich::plain(truncate_words(&list.join(", "), 1000)),
                    });
                }
            }
            let mut r = Reply::private(
                Tone::Info,
                Rich::plain(format!(
                    "Reindexed {} documents into {} passages in {:.2} s.{}",
                    report.documents,
                    report.passages,
                    report.elapsed.as_secs_f64(),
                    if fields.is_empty() {
                        " Nothing changed."
                    } else {
                        ""
                    }
                )),
            );
            r.title = Some("Reindex complete".into());
            r.fields = fields;
            r
        }
        ReindexOutcome::Busy => {
            let mut r = Reply::private(Tone::Info, Rich::plain("A reindex is already running. Answers keep coming from the current index; try again when it has finished."));
            r.title = Some("Reindex already running".into());
            r
        }
        ReindexOutcome::Invalid(problems) => {
            let fields = problems
                .iter()
                .take(20)
                .map(|p| Field {
                    name: truncate_words(&p.path.display().to_string(), 200),
                    value: Rich::plain(if p.line > 0 {
                        format!("line {}: {}", p.line, p.message)
                    } else {
                        p.message.clone()
                    }),
                })
                .collect();
            let mut r = Reply::private(
                Tone::Error,
                Rich::plain(format!(
                    "The corpus has {} problem(s), so the index was not replaced; answers still come from the previous index. Fix these files and reindex again.",
                    problems.len()
                )),
            );
            r.title = Some("Reindex failed".into());
            r.fields = fields;
            r
        }
        ReindexOutcome::Failed(e) => {
            tracing::error!(error = %e, "reindex failed");
            let mut r = Reply::private(Tone::Error, Rich::plain("The index could not be rebuilt because of a problem on the bot's host (see its log). Answers still come from the previous index."));
            r.title = Some("Reindex failed".into());
            r
        }
    }
}
