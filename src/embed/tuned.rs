//! The distress top: copies of the base model's top layers fine-tuned, with a linear head, to
//! tell a message from someone at risk from a work message that shares its words ("patient took
//! an overdose", "this rota is killing me"). Mean pooling of the frozen model blurs exactly the
//! words that separate them ("I" against "patient"); tuning the top layers lets the vector keep
//! them. Trained offline by `src/bin/train-distress-top.rs` from the reviewed built-in examples
//! and committed under `<model>/distress/`.
//!
//! Invariants:
//! - Loaded with the base model, checked against its own `SHA256SUMS`; missing or damaged is a
//!   start-up error like the base model's (distress detection depends on it).
//! - `out-of-fold.json` holds, for every built-in example, the logit of a top trained without
//!   it (5 folds). Choosing the detector's threshold uses those, never the final top's logit of
//!   an example it was trained on, which would flatter it.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module};
use serde::{Deserialize, Serialize};

use super::encoder::{Config, Layer, Weights};

/// File names in the distress folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Out-of-fold logits of the built-in examples.
pub const OUT_OF_FOLD_FILE: &str = "out-of-fold.json";

/// What `out-of-fold.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutOfFold {
    /// The first base layer the top replaces.
    pub first_layer: usize,
    /// Hex SHA-256 of an example's exact text → logit of the fold model that did not see it.
    pub logits: HashMap<String, f32>,
}

/// The tuned layers and the head.
#[derive(Clone)]
pub struct DistressTop {
    /// Replaces base layers `first..`.
    pub first: usize,
    /// The tuned layers.
    pub layers: Vec<Layer>,
    /// Pooled vector → logit.
    pub head: Linear,
    /// Out-of-fold logits of the built-in examples, by text digest.
    pub out_of_fold: HashMap<String, f32>,
}

/// The key of an example in [`OutOfFold::logits`]: hex SHA-256 of its exact text. The trainer
/// writes and the embedder reads with this one function, so the two cannot drift apart.
pub fn example_key(text: &str) -> String {
    super::hex(&super::Embedder::key(text))
}

/// Name of the head's weight and bias in the safetensors file.
pub const HEAD: &str = "distress_head";

impl DistressTop {
    /// Builds the top from `weights` (F32) for base layers `first..config.num_hidden_layers`.
    pub fn from_weights(
        weights: &Weights,
        config: &Config,
        out_of_fold: OutOfFold,
    ) -> candle_core::Result<DistressTop> {
        let first = out_of_fold.first_layer;
        let layers = (first..config.num_hidden_layers)
            .map(|i| Layer::load(weights, i, config))
            .collect::<candle_core::Result<_>>()?;
        let get = |n: &str| {
            weights
                .get(n)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("missing weight {n}")))
        };
        Ok(DistressTop {
            first,
            layers,
            head: Linear::new(
                get(&format!("{HEAD}.weight"))?,
                Some(get(&format!("{HEAD}.bias"))?),
            ),
            out_of_fold: out_of_fold.logits,
        })
    }

    /// Logits for pooled vectors (batch, hidden).
    pub fn logits(&self, pooled: &Tensor) -> candle_core::Result<Vec<f32>> {
        self.head.forward(pooled)?.squeeze(1)?.to_vec1::<f32>()
    }
}

/// Reads F32 weights from safetensors bytes (F16 on disk is widened).
pub fn weights_from_bytes(bytes: &[u8]) -> candle_core::Result<Weights> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?
        .into_iter()
        .map(|(k, t)| {
            let t = if t.dtype() == DType::F32 || !t.dtype().is_float() {
                t
            } else {
                t.to_dtype(DType::F32)?
            };
            Ok((k, t))
        })
        .collect()
}
