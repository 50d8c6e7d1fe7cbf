//! Logistic regression on sentence vectors: distress or not, trained at index time from the
//! labelled examples and stored in the generation.
//!
//! Invariants:
//! - Training is deterministic (fixed folds, fixed iterations, no randomness): the same examples
//!   and model give the same weights, so a rebuilt index behaves exactly as the reviewed one.
//! - The threshold is chosen on out-of-fold scores (k-fold cross-validation), never on the
//!   examples a fold was trained on, as the highest score that keeps recall at the target.
//! - Classes are weighted to count equally, so adding ordinary examples cannot dilute recall.

use serde::{Deserialize, Serialize};

use crate::embed::DIM;

/// Folds for choosing the threshold.
const FOLDS: usize = 5;
/// Gradient steps; enough to converge on a few thousand examples with these settings.
const STEPS: usize = 400;
/// Step size (features are standardised, so one size fits).
const LEARNING_RATE: f32 = 0.5;
/// L2 penalty on the weights: keeps the model from memorising phrasing.
const L2: f32 = 1e-3;

/// A trained classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    /// The fitted model.
    pub fit: Fit,
    /// Scores at or above this are distress.
    pub threshold: f32,
    /// The embedding model the classifier was trained with ([`crate::embed::Embedder::id`]).
    pub model: String,
    /// What training measured, for `eval` and the hazard log.
    pub report: TrainingReport,
}

/// Cross-validated figures from training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    /// Distress examples.
    pub distress: usize,
    /// Ordinary examples.
    pub ordinary: usize,
    /// Recall the threshold was chosen for.
    pub recall_target: f32,
    /// Out-of-fold recall at the chosen threshold.
    pub cv_recall: f32,
    /// Out-of-fold false-alarm rate at the chosen threshold.
    pub cv_false_alarms: f32,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A logistic model on standardised vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// Per-dimension mean of the training vectors.
    pub mean: Vec<f32>,
    /// Per-dimension standard deviation of the training vectors (never 0).
    pub scale: Vec<f32>,
    /// One weight per standardised dimension.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
}

impl Fit {
    /// Probability-like score in 0..1.
    pub fn score(&self, v: &[f32]) -> f32 {
        let z: f32 = v
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((x, m), s), w)| (x - m) / s * w)
            .sum();
        sigmoid(z + self.bias)
    }
}

/// Full-batch gradient descent on the class-weighted logistic loss.
fn fit(xs: &[&[f32]], ys: &[bool]) -> Fit {
    let n = xs.len().max(1) as f32;
    let mut mean = vec![0.0f32; DIM];
    for x in xs {
        mean.iter_mut().zip(*x).for_each(|(m, v)| *m += v / n);
    }
    let mut scale = vec![0.0f32; DIM];
    for x in xs {
        for ((s, v), m) in scale.iter_mut().zip(*x).zip(&mean) {
            *s += (v - m) * (v - m) / n;
        }
    }
    scale.iter_mut().for_each(|s| *s = s.sqrt().max(1e-6));
    let std: Vec<Vec<f32>> = xs
        .iter()
        .map(|x| {
            x.iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((v, m), s)| (v - m) / s)
                .collect()
        })
        .collect();
    let positives = ys.iter().filter(|y| **y).count().max(1) as f32;
    let negatives = ys.iter().filter(|y| !**y).count().max(1) as f32;
    // Each class carries half the total weight.
    let class_weight = |y: bool| if y { 0.5 / positives } else { 0.5 / negatives };
    let mut w = vec![0.0f32; DIM];
    let mut b = 0.0f32;
    let mut grad = vec![0.0f32; DIM];
    for _ in 0..STEPS {
        grad.iter_mut().zip(&w).for_each(|(g, wi)| *g = L2 * wi);
        let mut grad_b = 0.0;
        for (x, &y) in std.iter().zip(ys) {
            let p = sigmoid(x.iter().zip(&w).map(|(a, c)| a * c).sum::<f32>() + b);
            let err = (p - f32::from(u8::from(y))) * class_weight(y);
            grad.iter_mut().zip(x).for_each(|(g, xi)| *g += err * xi);
            grad_b += err;
        }
        w.iter_mut()
            .zip(&grad)
            .for_each(|(wi, g)| *wi -= LEARNING_RATE * g);
        b -= LEARNING_RATE * grad_b;
    }
    Fit {
        mean,
        scale,
        weights: w,
        bias: b,
    }
}

/// The highest threshold whose recall on `scores` of distress examples reaches `target`.
pub fn threshold_for_recall(distress_scores: &[f32], target: f32) -> f32 {
    let mut s = distress_scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    if s.is_empty() {
        return 0.5;
    }
    let keep = ((target * s.len() as f32).ceil() as usize).clamp(1, s.len());
    s[keep - 1]
}

impl Classifier {
    /// Trains on `vectors` with labels `distress`, choosing the threshold by cross-validation for
    /// `recall_target`.
    pub fn train(vectors: &[&[f32]], distress: &[bool], recall_target: f32, model: &str) -> Self {
        let mut oof = vec![0.0f32; vectors.len()];
        for fold in 0..FOLDS {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for (i, (x, y)) in vectors.iter().zip(distress).enumerate() {
                if i % FOLDS != fold {
                    xs.push(*x);
                    ys.push(*y);
                }
            }
            let f = fit(&xs, &ys);
            for (i, x) in vectors.iter().enumerate() {
                if i % FOLDS == fold {
                    oof[i] = f.score(x);
                }
            }
        }
        let pos: Vec<f32> = oof
            .iter()
            .zip(distress)
            .filter(|(_, d)| **d)
            .map(|(s, _)| *s)
            .collect();
        let neg: Vec<f32> = oof
            .iter()
            .zip(distress)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| *s)
            .collect();
        let threshold = threshold_for_recall(&pos, recall_target);
        let rate = |s: &[f32]| {
            s.iter().filter(|x| **x >= threshold).count() as f32 / s.len().max(1) as f32
        };
        let report = TrainingReport {
            distress: pos.len(),
            ordinary: neg.len(),
            recall_target,
            cv_recall: rate(&pos),
            cv_false_alarms: rate(&neg),
        };
        Classifier {
            fit: fit(vectors, distress),
            threshold,
            model: model.to_string(),
            report,
        }
    }

    /// Probability-like score in 0..1 that `vector` shows distress.
    pub fn score(&self, vector: &[f32]) -> f32 {
        self.fit.score(vector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters around opposite directions, with some spread.
    fn data() -> (Vec<Vec<f32>>, Vec<bool>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..60 {
            let y = i % 2 == 0;
            let mut v = vec![0.0f32; DIM];
            v[0] = if y { 1.0 } else { -1.0 };
            v[1 + i % 7] = 0.3 * ((i as f32).sin());
            v[10] = (i as f32 * 0.37).cos();
            xs.push(v);
            ys.push(y);
        }
        (xs, ys)
    }

    #[test]
    fn separable_classes_are_learned_and_training_is_deterministic() {
        let (xs, ys) = data();
        let refs: Vec<&[f32]> = xs.iter().map(|v| v.as_slice()).collect();
        let c = Classifier::train(&refs, &ys, 0.95, "m");
        for (x, y) in refs.iter().zip(&ys) {
            assert_eq!(c.score(x) >= c.threshold, *y);
        }
        assert!(c.report.cv_recall >= 0.95 && c.report.cv_false_alarms < 0.1);
        assert_eq!(c, Classifier::train(&refs, &ys, 0.95, "m"));
    }

    #[test]
    fn threshold_keeps_the_target_share_of_distress_scores() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.1];
        assert_eq!(threshold_for_recall(&scores, 0.8), 0.6);
        assert_eq!(threshold_for_recall(&scores, 1.0), 0.1);
        assert_eq!(threshold_for_recall(&scores, 0.2), 0.9);
        assert_eq!(threshold_for_recall(&[], 0.9), 0.5);
    }
}
