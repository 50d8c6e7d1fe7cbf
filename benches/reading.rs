//! # Model-reading benchmark: what one question costs the model
//!
//! p50 and p99, in one process, of each reading the bot asks of the model for one question:
//! - the base sentence vector alone (six layers);
//! - `screen_batch`: the base vector and the distress top's score (the distress check alone);
//! - `read_question`: the base vector and the question top's vector (what `answer` waits for);
//! - `screen_and_read`: both of those and the distress top's score (what `/ask` waits for).
//!
//! Then each of a layer's three shapes of product with a weight matrix, for a 12-token question,
//! by candle's general product (the limit to beat, in the same run) and by `embed::product`,
//! which the readings above use.
//!
//! Run with `cargo bench --bench reading`.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::{Linear, Module};
use ohwb_bot::embed::{product, Embedder};

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
    println!("\n| one product, 12 tokens × k → n | candle p50 / p99 ms | `embed::product` p50 / p99 ms |");
    println!("|---|---|---|");
    for (k, n) in [(384, 384), (384, 1536), (1536, 384)] {
        let x = Tensor::from_vec(spread(12 * k, 37), (1, 12, k), &Device::Cpu).unwrap();
        let layer = Linear::new(
            Tensor::from_vec(spread(n * k, 53), (n, k), &Device::Cpu).unwrap(),
            Some(Tensor::from_vec(spread(n, 7), n, &Device::Cpu).unwrap()),
        );
        let (c50, c99) = percentiles(time(RUNS, |_| layer.forward(&x).unwrap()));
        let (o50, o99) = percentiles(time(RUNS, |_| product::apply(&layer, &x).unwrap()));
        println!("| 12 × {k} → {n} | {c50:.3} / {c99:.3} | {o50:.3} / {o99:.3} |");
    }
}

/// `len` values spread over [-1, 1], deterministically.
fn spread(len: usize, step: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * step % 101) as f32 - 50.0) / 50.0)
        .collect()
}
