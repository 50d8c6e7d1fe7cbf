//! Which section a question asks about, learned from the phrasings: multinomial logistic
//! regression from a question's sentence vector to the sections the phrasings name. Nearest
//! phrasing alone (the dense side's similarity) ties a question to whichever single phrasing
//! it happens to resemble; a model fitted on all of a section's phrasings against every other
//! section's learns what sets the sections apart ("who looks out for staff on the board" is
//! the wellbeing guardian, not the board's other duties), and retrieval adds its probability to
//! the fused score.
//!
//! Invariants:
//! - Trained at index time, deterministically (fixed steps, no randomness), and stored in the
//!   generation with the embedding model's id; scored only with that model.
//! - A section with no phrasings gets probability 0: the model can only raise a section the
//!   reviewed phrasings describe, never push one out.

use serde::{Deserialize, Serialize};

use crate::classifier::Adam;
use crate::corpus::Phrasings;
use crate::embed::{dot, Embedder, DIM};
use crate::Result;

/// Full-batch Adam steps.
const STEPS: usize = 200;
/// Adam's step size.
const LEARNING_RATE: f32 = 0.05;
/// Inverse regularisation strength (scikit-learn's `C`): the L2 penalty is `1 / (C n)`. Chosen
/// on dev with the fusion weight: 10 and 100 did the same, 1 was too smooth to help.
const C: f32 = 10.0;

/// A trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionModel {
    /// Section ids, in class order.
    pub sections: Vec<String>,
    /// One row of [`DIM`] weights per section.
    pub weights: Vec<f32>,
    /// One intercept per section.
    pub bias: Vec<f32>,
    /// The embedding model it was trained with ([`Embedder::id`]).
    pub model: String,
}

fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    logits.iter_mut().for_each(|l| *l /= sum);
}

impl SectionModel {
    /// Trains on every phrasing, labelled with its section; `None` with fewer than two
    /// sections, where there is nothing to tell apart.
    pub fn train(embedder: &Embedder, phrasings: &Phrasings) -> Result<Option<SectionModel>> {
        let sections: Vec<String> = phrasings
            .sections
            .iter()
            .filter(|(_, asks, _)| !asks.is_empty())
            .map(|(id, _, _)| id.clone())
            .collect();
        if sections.len() < 2 {
            return Ok(None);
        }
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for (k, id) in sections.iter().enumerate() {
            for a in phrasings.of(id) {
                texts.push(a.as_str());
                labels.push(k);
            }
        }
        let vectors = embedder.question_cached(&texts)?;
        let xs: Vec<&[f32]> = vectors.iter().map(|v| &v[..]).collect();
        let (weights, bias) = fit(&xs, &labels, sections.len());
        Ok(Some(SectionModel {
            sections,
            weights,
            bias,
            model: embedder.id().to_string(),
        }))
    }

    /// Each section's probability for a question's question vector
    /// ([`Embedder::embed_question`]), in [`Self::sections`] order.
    pub fn probabilities(&self, vector: &[f32]) -> Vec<f32> {
        let mut p: Vec<f32> = self
            .bias
            .iter()
            .enumerate()
            .map(|(k, b)| b + dot(&self.weights[k * DIM..(k + 1) * DIM], vector))
            .collect();
        softmax(&mut p);
        p
    }
}

/// Softmax regression with an L2 penalty by full-batch Adam; returns (weights, biases).
fn fit(xs: &[&[f32]], labels: &[usize], classes: usize) -> (Vec<f32>, Vec<f32>) {
    let n = xs.len().max(1);
    let l2 = 1.0 / (C * n as f32);
    let dims = classes * (DIM + 1); // weights row by row, then the biases
    let mut w = vec![0.0f32; dims];
    let mut adam = Adam::new(dims, LEARNING_RATE);
    let mut grad = vec![0.0f32; dims];
    let mut p = vec![0.0f32; classes];
    let bias_at = classes * DIM;
    for _ in 0..STEPS {
        for (g, wi) in grad[..bias_at].iter_mut().zip(&w) {
            *g = l2 * wi;
        }
        grad[bias_at..].iter_mut().for_each(|g| *g = 0.0);
        for (x, &y) in xs.iter().zip(labels) {
            for (k, pk) in p.iter_mut().enumerate() {
                *pk = w[bias_at + k] + dot(&w[k * DIM..(k + 1) * DIM], x);
            }
            softmax(&mut p);
            for (k, pk) in p.iter().enumerate() {
                let err = (pk - f32::from(u8::from(k == y))) / n as f32;
                for (g, f) in grad[k * DIM..(k + 1) * DIM].iter_mut().zip(x.iter()) {
                    *g += err * f;
                }
                grad[bias_at + k] += err;
            }
        }
        adam.step(&mut w, &grad);
    }
    (w[..bias_at].to_vec(), w[bias_at..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes around three axes, with some spread.
    #[test]
    fn learns_separable_sections_deterministically() {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..60 {
            let y = i % 3;
            let mut v = vec![0.0f32; DIM];
            v[y] = 1.0;
            v[3 + i % 5] = 0.3 * (i as f32).sin();
            xs.push(v);
            ys.push(y);
        }
        let refs: Vec<&[f32]> = xs.iter().map(|v| v.as_slice()).collect();
        let (weights, bias) = fit(&refs, &ys, 3);
        let model = SectionModel {
            sections: vec!["a/x".into(), "b/y".into(), "c/z".into()],
            weights,
            bias,
            model: "m".into(),
        };
        for (x, y) in refs.iter().zip(&ys) {
            let p = model.probabilities(x);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, *y);
        }
        assert_eq!(
            fit(&refs, &ys, 3),
            (model.weights.clone(), model.bias.clone())
        );
    }
}
