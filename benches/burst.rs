//! # Burst benchmark: 500 `/ask`s at once through the real Discord front end
//!
//! For each corpus size (bundled, ~10k, ~100k passages), a bot runs `discord::run` against the
//! fake Discord of the integration tests (REST and gateway on 127.0.0.1) with the default pool
//! (one worker per core) and `defer_after_ms` 1500. 500 interactions are dispatched at once;
//! for each, the time from dispatch to its first response (the answer itself, or the
//! "thinking…" deferral) is measured. Discord drops an interaction not answered within 3 s;
//! the target is no first response later than 2.5 s. Then the time until every answer is in.
//!
//! Then start-up at the same size: a whole `ohwb-bot ask` process with the corpus stat cache
//! (the usual case: nothing changed since the last start) and without it (every corpus file
//! hashed, as before the cache), beside raw tantivy opening the same generation and searching.
//!
//! Passage vectors of the synthetic corpora are deterministic stand-ins (see `answer.rs`).
//! Run with `cargo bench --bench burst`; `OHWB_BENCH_MAX=10000` stops after 10k passages.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;

use ohwb_bot::commands::Bot;
use ohwb_bot::config::Config;
use ohwb_bot::discord::{self, Connection};
use ohwb_bot::embed::Embedder;
use ohwb_bot::index;

// Shared by every bench; each uses only part of it.
#[allow(dead_code)]
mod common;
use common::{percentiles, prime_passage_vectors, synthetic_corpus, QUESTIONS};

#[allow(dead_code)]
#[path = "../tests/integration/fake_discord.rs"]
mod fake_discord;
use fake_discord::{FakeDiscord, Interaction};

const BURST: usize = 500;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn burst(config: Config) {
    let workers = config.limits.worker_count();
    let bot = Arc::new(Bot::open(config).expect("bot opens"));
    let mut fake = FakeDiscord::start().await;
    let conn = Connection {
        token: "bench".into(),
        proxy_url: fake.rest_url.clone(),
        guild_ids: vec![fake_discord::GUILD_ID],
        defer_after: Duration::from_millis(1500),
        gateway: Default::default(),
        workers,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(discord::run(bot, conn, async move {
        let _ = stopped.await;
    }));
    fake.identified().await;
    fake.expect("registration", |r| r.method == "PUT").await;
    let ask = |q: &str| Interaction::command("ask", &[("question", json!(q))]);
    // One question first, so the model's first-call costs are not in the burst.
    let warm = fake.send(ask(QUESTIONS[0]));
    fake.callback(warm).await;

    let started = Instant::now();
    let sent: HashMap<u64, Instant> = (0..BURST)
        .map(|i| {
            (
                fake.send(ask(QUESTIONS[i % QUESTIONS.len()])),
                Instant::now(),
            )
        })
        .collect();
    let (mut first, mut deferred, mut done) = (Vec::new(), 0, 0);
    let mut last = started;
    while done < BURST {
        let r = fake
            .expect("a reply", |r| {
                r.path.ends_with("/callback") || r.method == "PATCH"
            })
            .await;
        last = r.at;
        if r.method == "PATCH" {
            done += 1;
            continue;
        }
        let id: u64 = r
            .path
            .split('/')
            .nth(4)
            .and_then(|s| s.parse().ok())
            .unwrap();
        first.push(r.at.duration_since(sent[&id]));
        if r.body["type"] == 5 {
            deferred += 1;
        } else {
            done += 1;
        }
    }
    let late = first
        .iter()
        .filter(|d| **d > Duration::from_millis(2500))
        .count();
    let max = first.iter().max().copied().unwrap_or_default();
    let (p50, p99) = percentiles(first);
    println!(
        "| {BURST} at once, {workers} workers | {p50:.0} | {p99:.0} | {:.0} | {late} | {deferred} | {:.1} s |",
        ms(max),
        last.duration_since(started).as_secs_f64()
    );
    let _ = stop.send(());
    let _ = task.await;
}

/// A whole `ohwb-bot ask` process, `runs` times: median wall time in ms. `cold` deletes the
/// corpus stat cache before each run, so every corpus file is hashed as before the cache.
fn whole_process(config: &Config, runs: usize, cold: bool) -> f64 {
    let samples = (0..runs)
        .map(|i| {
            if cold {
                let _ = std::fs::remove_file(config.paths.index.join(index::STAT_CACHE));
            }
            let t = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
                .arg("--corpus")
                .arg(&config.paths.corpus)
                .arg("--index")
                .arg(&config.paths.index)
                .arg("--model")
                .arg(&config.paths.model)
                .args(["ask", "--json", QUESTIONS[i % QUESTIONS.len()]])
                .output()
                .expect("runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed()
        })
        .collect();
    percentiles(samples).0
}

/// Raw tantivy opening the served generation from disk and searching once: median ms.
fn raw_open_and_search(index_dir: &Path, runs: usize) -> f64 {
    let manifest = index::read_manifest(index_dir).unwrap().unwrap();
    let gen = index_dir.join(&manifest.generation);
    let samples = (0..runs)
        .map(|i| {
            let t = Instant::now();
            let idx = tantivy::Index::open_in_dir(&gen).unwrap();
            let schema = idx.schema();
            let text = schema.get_field("text").unwrap();
            let reader = idx.reader().unwrap();
            let parser = QueryParser::for_index(&idx, vec![text]);
            let clean: String = QUESTIONS[i % QUESTIONS.len()]
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                .collect();
            let q = parser.parse_query(&clean).unwrap();
            let hits = reader
                .searcher()
                .search(&q, &TopDocs::with_limit(3).order_by_score())
                .unwrap();
            std::hint::black_box(hits);
            t.elapsed()
        })
        .collect();
    percentiles(samples).0
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join(ohwb_bot::embed::DEFAULT_DIR);
    let embedder = Embedder::shared(&model).unwrap();
    let real = root.join("corpus");
    let max: usize = std::env::var("OHWB_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let bundled = ohwb_bot::corpus::load(&real).unwrap().passage_count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut startup = Vec::new();
    for target in [bundled, 10_000usize, 100_000] {
        if target > max {
            break;
        }
        let synthetic = tempfile::tempdir().unwrap();
        let corpus = if target == bundled {
            real.clone()
        } else {
            synthetic_corpus(&real, synthetic.path(), target.div_ceil(bundled));
            prime_passage_vectors(synthetic.path(), &embedder);
            synthetic.path().to_path_buf()
        };
        let index_dir = tempfile::tempdir().unwrap();
        let report = index::rebuild(&corpus, index_dir.path(), &embedder).unwrap();
        let mut config = Config::default();
        config.paths.corpus = corpus.clone();
        config.paths.index = index_dir.path().to_path_buf();
        config.paths.model = model.clone();
        // Every fake interaction comes from one user: the per-person limit would refuse most.
        config.limits.asks_per_minute = 0;
        println!(
            "\n### {} passages\n\n| burst | first response p50 ms | p99 ms | max ms | later than 2.5 s | deferred | all answered after |\n|---|---|---|---|---|---|---|",
            report.passages
        );
        runtime.block_on(burst(config.clone()));
        startup.push((
            report.passages,
            whole_process(&config, 9, false),
            whole_process(&config, 5, true),
            raw_open_and_search(index_dir.path(), 9),
        ));
    }
    println!("\n### Start-up: a whole `ohwb-bot ask` process (median)\n");
    println!(
        "| passages | with stat cache ms | hashing every file ms | raw tantivy open + search ms |"
    );
    println!("|---|---|---|---|");
    for (passages, warm, cold, raw) in startup {
        println!("| {passages} | {warm:.0} | {cold:.0} | {raw:.1} |");
    }
}
