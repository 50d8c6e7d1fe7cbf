//! Self-attention for a few rows in plain loops, for reading one question: a dozen tokens'
//! queries, keys and values as the products left them (batch × tokens × hidden, row-major),
//! each head read in place. candle's path reshapes and copies each of them per head, and runs
//! two batched products of 12 × 32 × 12 through its general product with its thread pool,
//! about a dozen operations per layer each costing more than the arithmetic.
//!
//! Invariants:
//! - The same function as the encoder's candle path (scaled dot products, the additive mask,
//!   softmax over the keys, the weighted sum of values), up to float rounding; a unit test
//!   checks it against that path.
//! - Only for inference: it carries no gradients.

/// The attention context (batch × tokens × hidden, row-major) of `q`, `k` and `v` (each batch ×
/// tokens × hidden) with `heads` heads; `mask` (batch × tokens) is added to every score of its
/// key, as [`super::encoder::additive_mask`] makes it (0 for a real token, a huge negative number
/// for padding).
///
/// # Panics
/// When the lengths do not fit those shapes (a bug in the caller, never user input).
pub fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: &[f32],
    tokens: usize,
    heads: usize,
) -> Vec<f32> {
    assert!(tokens > 0 && heads > 0 && mask.len().is_multiple_of(tokens));
    let batch = mask.len() / tokens;
    let hidden = q.len() / (batch * tokens).max(1);
    assert!(q.len() == batch * tokens * hidden && k.len() == q.len() && v.len() == q.len());
    assert!(hidden.is_multiple_of(heads));
    let width = hidden / heads;
    let scale = (width as f32).sqrt();
    let mut out = vec![0.0f32; q.len()];
    let mut scores = vec![0.0f32; tokens];
    let at = |b: usize, t: usize, head: usize| (b * tokens + t) * hidden + head * width;
    for b in 0..batch {
        let keep = &mask[b * tokens..(b + 1) * tokens];
        for head in 0..heads {
            for i in 0..tokens {
                let qi = &q[at(b, i, head)..][..width];
                let mut max = f32::NEG_INFINITY;
                for (j, score) in scores.iter_mut().enumerate() {
                    let kj = &k[at(b, j, head)..][..width];
                    let dot: f32 = qi.iter().zip(kj).map(|(x, y)| x * y).sum();
                    *score = dot / scale + keep[j];
                    max = max.max(*score);
                }
                let mut sum = 0.0;
                for score in scores.iter_mut() {
                    *score = (*score - max).exp();
                    sum += *score;
                }
                let o = &mut out[at(b, i, head)..][..width];
                for (j, score) in scores.iter().enumerate() {
                    let p = score / sum;
                    let vj = &v[at(b, j, head)..][..width];
                    for (x, y) in o.iter_mut().zip(vj) {
                        *x += p * y;
                    }
                }
            }
        }
    }
    out
}
