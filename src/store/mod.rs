//! The database: replies counted per day, answers and the votes on them, and (opt-in) scrubbed
//! declined questions for the coverage report. SQLite under the index directory by default;
//! PostgreSQL when `[database] url` is a `postgres://` URL, which several instances share.
//!
//! The API is blocking, like the command layer that calls it: the store owns a small runtime
//! of its own for sqlx and hands each operation to it, waiting on a channel, so the console,
//! the CLI and the Discord handler's blocking tasks all use it the same way (even a caller
//! inside another runtime, where `block_on` would panic). From async code prefer
//! `spawn_blocking`: a call blocks its thread for the length of one query.
//!
//! Invariants:
//! - No table holds a user id, a name or a question next to who asked it. A voter is a salted
//!   SHA-256 of the platform's user id (the salt is random per install, kept in the database so
//!   every instance sharing it dedupes alike), used only to allow one vote per answer.
//! - Declined questions are stored only when `[insights] record_declined` is on, only after
//!   [`scrub`] has removed emails, phone and NHS numbers and links, and are deleted after
//!   `retention_days`. Distress and help messages are never stored: only counted.
//! - Every write is one statement (an upsert or an insert), so a killed process loses at most
//!   the write in flight.
//! - Migrations (`migrations/*.sql`, compiled in) run on open, in order, each once.

mod migrate;
mod report;
pub mod scrub;
mod shared;
pub use shared::SharedResource;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Row;

use crate::config::{DatabaseConfig, InsightsConfig};
use crate::metrics::Outcome;

pub use report::{DayCounts, DeclinedGroup, PassageVotes, Report};
pub use scrub::scrub;

/// The SQLite file's name in the index directory when no URL is configured.
pub const DEFAULT_FILE: &str = "ohwb-bot.db";

/// How often declined questions past their retention are deleted while running.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// What went wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting, migrating or a query failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The URL is neither SQLite nor PostgreSQL.
    #[error("database.url must start with sqlite:// or postgres:// (got `{0}`)")]
    Scheme(String),
    /// The store's own runtime could not start.
    #[error("database: cannot start its runtime: {0}")]
    Runtime(std::io::Error),
    /// A database task ended without an answer (its runtime is shutting down).
    #[error("database: the operation was interrupted")]
    Interrupted,
}

/// Result of the store's operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What became of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// Stored.
    Recorded,
    /// This person had already voted on this answer; the first vote stands.
    AlreadyVoted,
    /// No such answer (too old, or a forged button).
    UnknownAnswer,
}

/// The open database.
pub struct Store {
    /// `Option` only so `Drop` can shut it down without blocking (it may be dropped on an
    /// async thread).
    runtime: Option<tokio::runtime::Runtime>,
    pool: AnyPool,
    salt: String,
    postgres: bool,
    insights: InsightsConfig,
    last_purge: Mutex<Instant>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Connects, migrates and reads the install's salt (creating it on first use).
async fn connect(url: &str, postgres: bool) -> Result<(AnyPool, String)> {
    let pool = AnyPoolOptions::new()
        // SQLite allows one writer: one connection avoids "database is locked".
        .max_connections(if postgres { 5 } else { 1 })
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    if !postgres {
        sqlx::query("PRAGMA busy_timeout = 5000")
            .execute(&pool)
            .await?;
        // Writes survive a crash once committed, without waiting on every fsync.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    migrate::run(&pool).await?;
    sqlx::query(
        "INSERT INTO ohwb_meta (key, value) VALUES ('salt', $1) ON CONFLICT (key) DO NOTHING",
    )
    .bind(new_id())
    .execute(&pool)
    .await?;
    let salt: String = sqlx::query("SELECT value FROM ohwb_meta WHERE key = 'salt'")
        .fetch_one(&pool)
        .await?
        .try_get(0)?;
    Ok((pool, salt))
}

/// SQLite's "database is locked" / "table is locked" (SQLITE_BUSY, SQLITE_LOCKED).
fn busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("5" | "6" | "517")),
        _ => false,
    }
}

/// Runs `f` on `runtime` and waits for its result on a channel (not `block_on`, which panics
/// when the caller is itself inside a runtime).
fn on<T: Send + 'static>(
    runtime: Option<&tokio::runtime::Runtime>,
    f: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let runtime = runtime.ok_or(StoreError::Interrupted)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv().map_err(|_| StoreError::Interrupted)?
}

/// Today in UTC as `YYYY-MM-DD`, `days_ago` days back.
pub fn day(days_ago: u32) -> String {
    let (y, m, d) = crate::dates::civil_from_days(crate::dates::today_days() - days_ago as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A new random id (32 hex characters: 128 bits from the OS's `/dev/urandom`, or from the
/// standard library's randomly keyed hasher where that is missing), for answers, offers,
/// declined questions and the install's salt.
pub fn new_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_os.is_err() {
        use std::hash::BuildHasher;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let h = std::collections::hash_map::RandomState::new().hash_one((nanos, i));
            chunk.copy_from_slice(&h.to_le_bytes());
        }
    }
    crate::index::hex(&bytes)
}

impl Store {
    /// Connects to `[database] url` (or the SQLite file under `index_dir` when it is empty),
    /// creating and migrating the database, and deletes declined questions past retention.
    pub fn open(db: &DatabaseConfig, insights: &InsightsConfig, index_dir: &Path) -> Result<Store> {
        let url = match db.url.trim() {
            "" => {
                let _ = std::fs::create_dir_all(index_dir);
                format!(
                    "sqlite://{}?mode=rwc",
                    index_dir.join(DEFAULT_FILE).display()
                )
            }
            u if u.starts_with("sqlite:") => u.to_string(),
            u if u.starts_with("postgres://") || u.starts_with("postgresql://") => u.to_string(),
            other => {
                let shown = other.split('@').next_back().unwrap_or_default();
                return Err(StoreError::Scheme(shown.to_string()));
            }
        };
        let postgres = url.starts_with("postgres");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ohwb-store")
            .enable_all()
            .build()
            .map_err(StoreError::Runtime)?;
        sqlx::any::install_default_drivers();
        let opened = on(Some(&runtime), async move {
            // Two processes opening a new SQLite file together (two `ask`s, or `serve` and a
            // report) race to create it and switch it to WAL; the loser is told "database is
            // locked" at once, whatever the busy timeout. The first open is retried briefly.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut pause = Duration::from_millis(20);
            loop {
                match connect(&url, postgres).await {
                    Err(StoreError::Sql(e))
                        if !postgres && busy(&e) && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_millis(500));
                    }
                    other => return other,
                }
            }
        });
        let (pool, salt) = match opened {
            Ok(v) => v,
            Err(e) => {
                // Dropping a runtime blocks, which panics on an async thread: shut it down.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let store = Store {
            runtime: Some(runtime),
            pool,
            salt,
            postgres,
            insights: insights.clone(),
            last_purge: Mutex::new(Instant::now()),
        };
        store.purge()?;
        Ok(store)
    }

    /// "PostgreSQL" or "SQLite", for logs (the URL itself may hold a password: never logged).
    pub fn backend(&self) -> &'static str {
        if self.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// Runs `f` on the store's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        on(self.runtime.as_ref(), f)
    }

    /// The salted hash that stands for a person (`key`, e.g. `discord:<user id>`).
    fn voter(&self, key: &str) -> String {
        crate::index::hex(&Sha256::digest(format!("{}\0{key}", self.salt)))
    }

    /// Counts one reply with `outcome` today.
    pub fn count(&self, outcome: Outcome) -> Result<()> {
        let pool = self.pool.clone();
        self.run(async move {
            sqlx::query(
                "INSERT INTO ohwb_daily (day, outcome, n) VALUES ($1, $2, 1) \
                 ON CONFLICT (day, outcome) DO UPDATE SET n = ohwb_daily.n + 1",
            )
            .bind(day(0))
            .bind(outcome.as_str())
            .execute(&pool)
            .await?;
            Ok(())
        })
    }

    /// Remembers an answer that cited `passages`, for votes on it; returns its id (what a
    /// feedback button carries).
    pub fn record_answer(&self, passages: &[String]) -> Result<String> {
        let (pool, id, passages) = (self.pool.clone(), new_id(), passages.join(" "));
        self.run(async move {
            sqlx::query("INSERT INTO ohwb_answers (answer_id, day, passages) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(day(0))
                .bind(passages)
                .execute(&pool)
                .await?;
            Ok(id)
        })
    }

    /// A vote by the person `voter_key` on answer `answer_id`; one per answer per person.
    pub fn vote(&self, answer_id: &str, voter_key: &str, helpful: bool) -> Result<Vote> {
        let (pool, answer_id, voter) = (
            self.pool.clone(),
            answer_id.to_string(),
            self.voter(voter_key),
        );
        self.run(async move {
            let known = sqlx::query("SELECT 1 FROM ohwb_answers WHERE answer_id = $1")
                .bind(&answer_id)
                .fetch_optional(&pool)
                .await?
                .is_some();
            if !known {
                return Ok(Vote::UnknownAnswer);
            }
            let done = sqlx::query(
                "INSERT INTO ohwb_votes (answer_id, voter, helpful, day) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (answer_id, voter) DO NOTHING",
            )
            .bind(&answer_id)
            .bind(voter)
            .bind(helpful as i64)
            .bind(day(0))
            .execute(&pool)
            .await?;
            Ok(if done.rows_affected() == 1 {
                Vote::Recorded
            } else {
                Vote::AlreadyVoted
            })
        })
    }

    /// Stores a declined question, scrubbed, when `[insights] record_declined` is on; says
    /// whether it did. The caller never passes a distress or help message.
    pub fn record_declined(&self, question: &str) -> Result<bool> {
        if !self.insights.record_declined {
            return Ok(false);
        }
        let scrubbed = scrub(question);
        if scrubbed.trim().is_empty() {
            return Ok(false);
        }
        let pool = self.pool.clone();
        self.run(async move {
            sqlx::query("INSERT INTO ohwb_declined (id, day, question) VALUES ($1, $2, $3)")
                .bind(new_id())
                .bind(day(0))
                .bind(scrubbed)
                .execute(&pool)
                .await?;
            Ok(())
        })?;
        let due = {
            let mut last = self.last_purge.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.elapsed() >= PURGE_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.purge()?;
        }
        Ok(true)
    }

    /// Deletes declined questions older than `retention_days`; returns how many.
    pub fn purge(&self) -> Result<u64> {
        let (pool, cutoff) = (self.pool.clone(), day(self.insights.retention_days));
        self.run(async move {
            let done = sqlx::query("DELETE FROM ohwb_declined WHERE day < $1")
                .bind(cutoff)
                .execute(&pool)
                .await?;
            Ok(done.rows_affected())
        })
    }

    /// The report over the last `days` days.
    pub fn report(&self, days: u32) -> Result<Report> {
        let (pool, min_group) = (self.pool.clone(), self.insights.min_group);
        self.run(async move { Ok(report::build(&pool, days, min_group).await?) })
    }

    /// Runs `sql` with text `binds`, for tests that inspect or age what is stored.
    #[doc(hidden)]
    pub fn execute_for_tests(&self, sql: &str, binds: &[&str]) -> Result<u64> {
        let (pool, sql) = (self.pool.clone(), sql.to_string());
        let binds: Vec<String> = binds.iter().map(|b| b.to_string()).collect();
        self.run(async move {
            let mut q = sqlx::query(&sql);
            for b in binds {
                q = q.bind(b);
            }
            Ok(q.execute(&pool).await?.rows_affected())
        })
    }

    /// Every text cell of `table`, for tests that check what is (not) stored.
    #[doc(hidden)]
    pub fn dump_for_tests(&self, table: &str) -> Result<Vec<Vec<String>>> {
        let (pool, sql) = (self.pool.clone(), format!("SELECT * FROM {table}"));
        self.run(async move {
            let rows = sqlx::query(&sql).fetch_all(&pool).await?;
            Ok(rows
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<String, _>(i)
                                .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect())
        })
    }
}
