//! # Ask-latency benchmark, with the embedding model
//!
//! Measures what a staff member waits for, on the bundled corpus (73 passages) and on a
//! synthetic one of ~10,000 passages built from it:
//! - the index build (embedding every passage and training the distress classifier);
//! - in-process: opening the index and answering a first question; then steady-state latency
//!   of the distress check alone, the answer alone, and both (what `/ask` does), p50 and p99;
//! - the limit: raw tantivy (default `QueryParser`, no analysis of ours) on the same passages;
//! - a whole `ohwb-bot ask` process: wall time and peak RSS (through `/usr/bin/time`).
//!
//! Run with `cargo bench --bench startup` (release build); set `OHWB_BENCH_SMALL_ONLY=1` to skip
//! the 10k corpus, whose first build embeds every passage (minutes). Figures go in README.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ohwb_bot::answer::{answer, AskOptions};
use ohwb_bot::config::AnswerConfig;
use ohwb_bot::embed::Embedder;
use ohwb_bot::index::{self, SearchIndex};

// Shared by every bench; each uses only part of it.
#[allow(dead_code)]
mod common;
use common::{percentiles, raw_tantivy, synthetic_corpus, time};

const QUESTIONS: &[&str] = &[
    "How will occupational health services become easier to reach?",
    "what are the four strategic drivers",
    "What did the Boorman review find about sickness absence?",
    "what is on the canteen menu today?",
    "is there a multidisciplinary team model",
    "i cant see a way out of this anymore",
];

fn stats(samples: Vec<Duration>) -> String {
    let (p50, p99) = percentiles(samples);
    format!("p50 {p50:.2} ms, p99 {p99:.2} ms")
}

fn whole_process(corpus: &Path, index: &Path, model: &Path) -> String {
    let mut walls = Vec::new();
    let mut rss = 0u64;
    for i in 0..15 {
        let out = Command::new("/usr/bin/time")
            .args([
                "-f",
                "%e %M",
                env!("CARGO_BIN_EXE_ohwb-bot"),
                "ask",
                "--json",
            ])
            .arg("--corpus")
            .arg(corpus)
            .arg("--index")
            .arg(index)
            .arg("--model")
            .arg(model)
            .arg(QUESTIONS[i % QUESTIONS.len()])
            .output();
        let Ok(out) = out else {
            return "skipped: /usr/bin/time not found".into();
        };
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or_default().to_string();
        let mut parts = last.split_whitespace();
        let wall: f64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
        let kb: u64 = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        walls.push(Duration::from_secs_f64(wall));
        rss = rss.max(kb);
    }
    format!("{}, max RSS {:.1} MB", stats(walls), rss as f64 / 1024.0)
}

fn bench(label: &str, corpus: &Path, model: &Path, embedder: &Arc<Embedder>) {
    println!("== {label}");
    let dir = tempfile::tempdir().expect("tempdir");
    // The first build of the 10k corpus embeds every passage (many minutes); its vectors are
    // kept under target/ so later runs measure everything else without paying that again.
    let kept = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-vector-cache")
        .join(label.replace(' ', "-"));
    let cold = std::fs::copy(
        kept.join(ohwb_bot::vectors::CACHE),
        dir.path().join(ohwb_bot::vectors::CACHE),
    )
    .is_err();
    let t = Instant::now();
    let report = index::rebuild(corpus, dir.path(), embedder).expect("corpus builds");
    println!(
        "build: {} documents, {} passages in {:.1} s ({})",
        report.documents,
        report.passages,
        t.elapsed().as_secs_f64(),
        if cold {
            "cold: every passage embedded"
        } else {
            "passage vectors from an earlier run"
        }
    );
    let _ = std::fs::create_dir_all(&kept);
    let _ = std::fs::copy(
        dir.path().join(ohwb_bot::vectors::CACHE),
        kept.join(ohwb_bot::vectors::CACHE),
    );
    let t = Instant::now();
    index::rebuild(corpus, dir.path(), embedder).expect("rebuilds");
    println!(
        "rebuild of an unchanged corpus (vector cache): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let config = AnswerConfig::default();
    let opts = AskOptions::default();
    let cold = time(10, |i| {
        let (index, _) = index::open_fresh(corpus, dir.path(), embedder).expect("opens");
        let q = QUESTIONS[i % QUESTIONS.len()];
        (
            index.assess(q).unwrap(),
            answer(&index, q, &config, &opts).unwrap(),
        )
    });
    println!(
        "open (with freshness check) + distress check + first answer: {}",
        stats(cold)
    );
    let index = SearchIndex::open(dir.path(), embedder.clone()).expect("opens");
    let q = |i: usize| QUESTIONS[i % QUESTIONS.len()];
    println!(
        "distress check alone:  {}",
        stats(time(300, |i| index.assess(q(i)).unwrap()))
    );
    println!(
        "answer alone:          {}",
        stats(time(300, |i| answer(&index, q(i), &config, &opts).unwrap()))
    );
    println!(
        "check + answer (/ask): {}",
        stats(time(300, |i| {
            // As `/ask` does: the answer reuses the check's question vectors.
            let checked = index.assess(q(i)).unwrap();
            let reuse = AskOptions {
                reading: checked.reading.clone(),
                ..AskOptions::default()
            };
            (checked, answer(&index, q(i), &config, &reuse).unwrap())
        }))
    );
    println!(
        "raw tantivy, top 3:    {}",
        stats(raw_tantivy(corpus, QUESTIONS, 300))
    );
    println!(
        "whole `ohwb-bot ask` process: {}",
        whole_process(corpus, dir.path(), model)
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = root.join(ohwb_bot::embed::DEFAULT_DIR);
    let t = Instant::now();
    let embedder = Embedder::shared(&model).expect("model loads");
    println!(
        "model load (with SHA-256 check): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let real = root.join("corpus");
    bench("bundled corpus", &real, &model, &embedder);
    if std::env::var_os("OHWB_BENCH_SMALL_ONLY").is_none() {
        let big = tempfile::tempdir().expect("tempdir");
        let n = synthetic_corpus(&real, big.path(), 137);
        bench(
            &format!("synthetic corpus, {n} paragraphs"),
            big.path(),
            &model,
            &embedder,
        );
    }
}
