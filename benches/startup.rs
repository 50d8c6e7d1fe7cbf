//! # Startup-to-first-answer benchmark
//!
//! Measures what a staff member waits for: opening an existing index and answering one
//! question (the `ask` path without process start-up), then steady-state answer latency.
//! Run with `cargo bench --bench startup`. Figures are quoted in README.md.

use std::path::Path;
use std::time::{Duration, Instant};

use ohwb_bot::answer::{answer, AskOptions};
use ohwb_bot::config::AnswerConfig;
use ohwb_bot::index::{self, SearchIndex};

const QUESTIONS: &[&str] = &[
    "How will occupational health services become easier to reach?",
    "what are the four strategic drivers",
    "What did the Boorman review find about sickness absence?",
    "what is on the canteen menu today?",
    "is there a multidisciplinary team model",
];

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (p(0.5), p(0.95), ms(*samples.last().unwrap()))
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let embedder = ohwb_bot::embed::Embedder::shared(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(ohwb_bot::embed::DEFAULT_DIR),
    )
    .expect("model loads");
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let report = index::rebuild(&corpus, dir.path(), &embedder).expect("corpus builds");
    println!(
        "build: {} documents, {} passages in {:.1} ms",
        report.documents,
        report.passages,
        t.elapsed().as_secs_f64() * 1000.0
    );

    let config = AnswerConfig::default();
    let opts = AskOptions::default();
    let mut cold = Vec::new();
    for i in 0..30 {
        let t = Instant::now();
        let (index, _) = index::open_fresh(&corpus, dir.path(), &embedder).expect("opens");
        let a = answer(&index, QUESTIONS[i % QUESTIONS.len()], &config, &opts).expect("answers");
        std::hint::black_box(a);
        cold.push(t.elapsed());
    }
    let (p50, p95, max) = stats(cold);
    println!("open (with freshness check) + first answer: p50 {p50:.2} ms, p95 {p95:.2} ms, max {max:.2} ms");

    let index = SearchIndex::open(dir.path(), embedder.clone()).expect("opens");
    let mut warm = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        let a = answer(&index, QUESTIONS[i % QUESTIONS.len()], &config, &opts).expect("answers");
        std::hint::black_box(a);
        warm.push(t.elapsed());
    }
    let (p50, p95, max) = stats(warm);
    println!("answer on an open index: p50 {p50:.2} ms, p95 {p95:.2} ms, max {max:.2} ms");
}
