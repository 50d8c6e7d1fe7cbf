//! # Model-reading benchmark: what one question costs the model
//!
//! p50 and p99, in one process, of each reading the bot asks of the model for one question:
//! - the base sentence vector alone (six layers);
//! - `screen_batch`: the base vector and the distress top's score (the distress check alone);
//! - `read_question`: the base vector and the question top's vector (what `answer` waits for);
//! - `screen_and_read`: both of those and the distress top's score (what `/ask` waits for).
//!
//! Run with `cargo bench --bench reading`.

use std::path::Path;

use ohwb_bot::embed::Embedder;

// Shared by every bench; each uses only part of it.
#[allow(dead_code)]
mod common;
use common::{percentiles, time, QUESTIONS};

const RUNS: usize = 400;

fn row(name: &str, (p50, p99): (f64, f64)) {
    println!("| {name} | {p50:.2} | {p99:.2} |");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let m = Embedder::shared(&root.join(ohwb_bot::embed::DEFAULT_DIR)).unwrap();
    let q = |i: usize| QUESTIONS[i % QUESTIONS.len()];
    // Warm the allocator and the thread pool before timing.
    for i in 0..20 {
        m.screen_and_read(&[q(i)], q(i)).unwrap();
    }
    println!("| reading | p50 ms | p99 ms |\n|---|---|---|");
    row(
        "base vector",
        percentiles(time(RUNS, |i| m.embed(q(i)).unwrap())),
    );
    row(
        "screen_batch (base + distress top)",
        percentiles(time(RUNS, |i| m.screen_batch(&[q(i)]).unwrap())),
    );
    row(
        "read_question (base + question top)",
        percentiles(time(RUNS, |i| m.read_question(q(i)).unwrap())),
    );
    row(
        "screen_and_read (+ distress top)",
        percentiles(time(RUNS, |i| m.screen_and_read(&[q(i)], q(i)).unwrap())),
    );
}
