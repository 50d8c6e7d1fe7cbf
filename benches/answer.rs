//! # Answer-latency benchmark: hybrid retrieval at 73, 10k and 100k passages
//!
//! For each corpus size, in one process and on the same passages, p50 and p99 of:
//! - raw tantivy: the default `QueryParser` over the passage text, top 3 (the limit);
//! - the bot's lexical path alone (`Mode::Lexical`: analysis, thesaurus, typo correction,
//!   BM25 with boosts, coverage re-ranking, decline, answer line from words);
//! - embedding the question (one forward pass of the model);
//! - the dense scan (exact similarity with every passage and phrasing);
//! - the whole answer (`Mode::Hybrid`, the model included: what `/ask` waits for after the
//!   distress check).
//!
//! The synthetic corpora repeat the bundled paragraphs (each made unique) in many documents.
//! Their passage vectors are not computed by the model (100k passages would take over an
//! hour on 2 cores): the build cache is primed with deterministic unit vectors. The dense scan
//! costs the same whatever the vectors hold, and the question is still embedded by the model.
//!
//! Run with `cargo bench --bench answer`; `OHWB_BENCH_MAX=10000` stops after 10k passages.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ohwb_bot::answer::{answer, AskOptions, Mode};
use ohwb_bot::config::AnswerConfig;
use ohwb_bot::embed::Embedder;
use ohwb_bot::index::{self, SearchIndex};

// Shared by every bench; each uses only part of it.
#[allow(dead_code)]
mod common;
use common::{percentiles, prime_passage_vectors, raw_tantivy, synthetic_corpus, time, QUESTIONS};

const RUNS: usize = 200;

fn timed<T>(f: impl FnMut(usize) -> T) -> (f64, f64) {
    percentiles(time(RUNS, f))
}

fn row(name: &str, (p50, p99): (f64, f64), raw: (f64, f64)) {
    println!(
        "| {name} | {p50:.2} | {p99:.2} | {:.1}x | {:.1}x |",
        p50 / raw.0,
        p99 / raw.1
    );
}

fn bench(corpus: &Path, embedder: &Arc<Embedder>) {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let report = index::rebuild(corpus, dir.path(), embedder).unwrap();
    let index = SearchIndex::open(dir.path(), embedder.clone()).unwrap();
    println!(
        "\n### {} passages (built in {:.1} s)\n\n| step | p50 ms | p99 ms | p50 / raw | p99 / raw |\n|---|---|---|---|---|",
        report.passages,
        t.elapsed().as_secs_f64()
    );
    let config = AnswerConfig::default();
    let q = |i: usize| QUESTIONS[i % QUESTIONS.len()];
    let raw = percentiles(raw_tantivy(corpus, QUESTIONS, RUNS));
    row("raw tantivy, top 3", raw, raw);
    let lexical = AskOptions {
        mode: Mode::Lexical,
        ..AskOptions::default()
    };
    row(
        "lexical path alone",
        timed(|i| answer(&index, q(i), &config, &lexical).unwrap()),
        raw,
    );
    row(
        "question embedding",
        timed(|i| embedder.embed(q(i)).unwrap()),
        raw,
    );
    let vectors: Vec<Vec<f32>> = QUESTIONS
        .iter()
        .map(|x| embedder.embed(x).unwrap())
        .collect();
    row(
        "dense scan",
        timed(|i| index.dense(&vectors[i % vectors.len()], None, 40)),
        raw,
    );
    row(
        "whole answer (hybrid)",
        timed(|i| answer(&index, q(i), &config, &AskOptions::default()).unwrap()),
        raw,
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let embedder = Embedder::shared(&root.join(ohwb_bot::embed::DEFAULT_DIR)).unwrap();
    let real = root.join("corpus");
    let max: usize = std::env::var("OHWB_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    bench(&real, &embedder);
    // Copies of the bundled passages to reach about 10k and 100k (the bundled count changes
    // as the corpus does: 73 passages once, 180 since passages were split by source).
    let bundled = ohwb_bot::corpus::load(&real).unwrap().passage_count();
    for target in [10_000usize, 100_000] {
        if target > max {
            break;
        }
        let copies = target.div_ceil(bundled);
        let big = tempfile::tempdir().unwrap();
        synthetic_corpus(&real, big.path(), copies);
        prime_passage_vectors(big.path(), &embedder);
        bench(big.path(), &embedder);
    }
}
