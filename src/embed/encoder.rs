//! The BERT encoder of all-MiniLM-L6-v2, written out so its layers can be run in two parts: a
//! shared trunk (embeddings and the lower layers) and a top. The sentence vector comes from the
//! model's own top; the distress score from a fine-tuned copy of the top layers
//! ([`super::tuned`]), run on the same trunk output, so a message costs one trunk pass for both.
//!
//! Invariants:
//! - [`Mode::Infer`] reproduces candle-transformers' `BertModel` (fused layer norm and softmax)
//!   to float rounding; [`Mode::Train`] computes the same function with differentiable ops, for
//!   the trainer (`src/bin/train-distress-top.rs`).
//! - Weights are plain tensors keyed by their safetensors names (`encoder.layer.N....`), so the
//!   base model and a tuned top load the same way.

use std::collections::HashMap;

use candle_core::{DType, Result, Tensor, D};
use candle_nn::{Linear, Module};
use serde::Deserialize;

/// The parts of `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
}

/// Inference (fused kernels) or training (ops with gradients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fast, no gradients.
    Infer,
    /// Differentiable.
    Train,
}

/// Named weights.
pub type Weights = HashMap<String, Tensor>;

fn get(w: &Weights, name: &str) -> Result<Tensor> {
    w.get(name)
        .cloned()
        .ok_or_else(|| candle_core::Error::Msg(format!("missing weight {name}")))
}

fn linear(w: &Weights, prefix: &str) -> Result<Linear> {
    Ok(Linear::new(
        get(w, &format!("{prefix}.weight"))?,
        Some(get(w, &format!("{prefix}.bias"))?),
    ))
}

/// A layer norm's scale and shift.
#[derive(Clone)]
struct Norm {
    scale: Tensor,
    shift: Tensor,
    eps: f64,
}

impl Norm {
    fn load(w: &Weights, prefix: &str, eps: f64) -> Result<Norm> {
        Ok(Norm {
            scale: get(w, &format!("{prefix}.weight"))?,
            shift: get(w, &format!("{prefix}.bias"))?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        match mode {
            Mode::Infer => candle_nn::ops::layer_norm(x, &self.scale, &self.shift, self.eps as f32),
            Mode::Train => {
                candle_nn::ops::layer_norm_slow(x, &self.scale, &self.shift, self.eps as f32)
            }
        }
    }
}

/// One transformer layer.
#[derive(Clone)]
pub struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
    heads: usize,
}

impl Layer {
    /// Layer `index` from `w`.
    pub fn load(w: &Weights, index: usize, config: &Config) -> Result<Layer> {
        let p = format!("encoder.layer.{index}");
        let eps = config.layer_norm_eps;
        Ok(Layer {
            query: linear(w, &format!("{p}.attention.self.query"))?,
            key: linear(w, &format!("{p}.attention.self.key"))?,
            value: linear(w, &format!("{p}.attention.self.value"))?,
            attention_out: linear(w, &format!("{p}.attention.output.dense"))?,
            attention_norm: Norm::load(w, &format!("{p}.attention.output.LayerNorm"), eps)?,
            intermediate: linear(w, &format!("{p}.intermediate.dense"))?,
            output: linear(w, &format!("{p}.output.dense"))?,
            output_norm: Norm::load(w, &format!("{p}.output.LayerNorm"), eps)?,
            heads: config.num_attention_heads,
        })
    }

    /// The layer's weights under their safetensors names, as layer `index`; for saving.
    pub fn named(&self, index: usize) -> Vec<(String, Tensor)> {
        let p = format!("encoder.layer.{index}");
        let mut out = Vec::new();
        let mut linear = |name: &str, l: &Linear| {
            out.push((format!("{p}.{name}.weight"), l.weight().clone()));
            if let Some(b) = l.bias() {
                out.push((format!("{p}.{name}.bias"), b.clone()));
            }
        };
        linear("attention.self.query", &self.query);
        linear("attention.self.key", &self.key);
        linear("attention.self.value", &self.value);
        linear("attention.output.dense", &self.attention_out);
        linear("intermediate.dense", &self.intermediate);
        linear("output.dense", &self.output);
        for (name, n) in [
            ("attention.output.LayerNorm", &self.attention_norm),
            ("output.LayerNorm", &self.output_norm),
        ] {
            out.push((format!("{p}.{name}.weight"), n.scale.clone()));
            out.push((format!("{p}.{name}.bias"), n.shift.clone()));
        }
        out
    }

    /// `x` is (batch, tokens, hidden); `mask` is [`additive_mask`]'s.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, mode: Mode) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let head = h / self.heads;
        let split = |y: Tensor| {
            y.reshape((b, t, self.heads, head))?
                .transpose(1, 2)?
                .contiguous()
        };
        // Reading a question multiplies a dozen rows; candle's general product is built for
        // many (see `product`). Training keeps candle's ops, which carry gradients.
        let linear = |l: &Linear, x: &Tensor| match mode {
            Mode::Infer => super::product::apply(l, x),
            Mode::Train => l.forward(x),
        };
        let context = if mode == Mode::Infer && b * t <= super::product::SMALL_ROWS {
            // A question's few rows: each head read in place (see `attention`).
            let rows = |y: Tensor| y.flatten_all()?.to_vec1::<f32>();
            let context = super::attention::attend(
                &rows(linear(&self.query, x)?)?,
                &rows(linear(&self.key, x)?)?,
                &rows(linear(&self.value, x)?)?,
                &rows(mask.clone())?,
                t,
                self.heads,
            );
            Tensor::from_vec(context, (b, t, h), x.device())?
        } else {
            let q = split(linear(&self.query, x)?)?;
            let k = split(linear(&self.key, x)?)?;
            let v = split(linear(&self.value, x)?)?;
            let scores = (q.matmul(&k.t()?)? / (head as f64).sqrt())?.broadcast_add(mask)?;
            let probs = match mode {
                Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
                Mode::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
            };
            probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, t, h))?
        };
        let attended = self
            .attention_norm
            .forward(&(linear(&self.attention_out, &context)? + x)?, mode)?;
        let inner = match mode {
            Mode::Infer => super::product::apply_gelu(&self.intermediate, &attended)?,
            Mode::Train => self.intermediate.forward(&attended)?.gelu_erf()?,
        };
        self.output_norm
            .forward(&(linear(&self.output, &inner)? + &attended)?, mode)
    }
}

/// Token embeddings and every layer of the base model.
#[derive(Clone)]
pub struct Encoder {
    words: Tensor,
    positions: Tensor,
    token_type: Tensor,
    norm: Norm,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
}

impl Encoder {
    /// The whole base model from `w`.
    pub fn load(w: &Weights, config: &Config) -> Result<Encoder> {
        Ok(Encoder {
            words: get(w, "embeddings.word_embeddings.weight")?,
            positions: get(w, "embeddings.position_embeddings.weight")?,
            token_type: get(w, "embeddings.token_type_embeddings.weight")?.narrow(0, 0, 1)?,
            norm: Norm::load(w, "embeddings.LayerNorm", config.layer_norm_eps)?,
            layers: (0..config.num_hidden_layers)
                .map(|i| Layer::load(w, i, config))
                .collect::<Result<_>>()?,
        })
    }

    /// Input embeddings for `ids` (batch, tokens): (batch, tokens, hidden).
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let words = self
            .words
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, ()))?;
        let extra = (self
            .positions
            .narrow(0, 0, t)?
            .broadcast_add(&self.token_type))?;
        self.norm
            .forward(&words.broadcast_add(&extra)?, Mode::Infer)
    }

    /// Runs `layers` over `x`.
    pub fn run(layers: &[Layer], x: &Tensor, mask: &Tensor, mode: Mode) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in layers {
            x = layer.forward(&x, mask, mode)?;
        }
        Ok(x)
    }
}

/// The attention mask as BERT adds it to the scores: 0 for real tokens, a large negative number
/// for padding; `mask` is (batch, tokens) of 1 and 0 in F32. Result: (batch, 1, 1, tokens).
pub fn additive_mask(mask: &Tensor) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    ((mask - 1.0)? * f32::MAX as f64)?.reshape((b, 1, 1, t))
}

/// Mean of the hidden states `x` (batch, tokens, hidden) over the real tokens of `mask`.
pub fn mean_pool(x: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    x.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&mask.sum(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// `len` values spread over [-scale, scale], deterministically.
    fn spread(len: usize, step: usize, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * step % 101) as f32 - 50.0) / 50.0 * scale)
            .collect()
    }

    /// One layer of the model's shape (hidden 384, 12 heads, middle 1536), made-up weights.
    fn layer() -> Layer {
        let (h, m) = (384, 1536);
        let mut w = Weights::new();
        let mut put = |name: &str, shape: &[usize], step: usize, scale: f32| {
            let len = shape.iter().product();
            let t = Tensor::from_vec(spread(len, step, scale), shape, &Device::Cpu).unwrap();
            w.insert(format!("encoder.layer.0.{name}"), t);
        };
        for (i, name) in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
        ]
        .iter()
        .enumerate()
        {
            put(&format!("{name}.weight"), &[h, h], 37 + i * 6, 0.1);
            put(&format!("{name}.bias"), &[h], 11 + i, 0.1);
        }
        put("attention.output.dense.weight", &[h, h], 29, 0.1);
        put("attention.output.dense.bias", &[h], 13, 0.1);
        put("intermediate.dense.weight", &[m, h], 31, 0.1);
        put("intermediate.dense.bias", &[m], 17, 0.1);
        put("output.dense.weight", &[h, m], 43, 0.05);
        put("output.dense.bias", &[h], 19, 0.1);
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(&format!("{name}.weight"), &[h], 7, 1.0);
            put(&format!("{name}.bias"), &[h], 5, 0.1);
        }
        let config = Config {
            hidden_size: h,
            num_attention_heads: 12,
            num_hidden_layers: 1,
            layer_norm_eps: 1e-12,
        };
        Layer::load(&w, 0, &config).unwrap()
    }

    #[test]
    fn a_few_rows_read_as_the_general_path_reads_them() {
        // Inference on at most 32 rows takes `product` and `attention`; training mode takes
        // candle's ops throughout. A padded batch of two checks the mask is honoured.
        let layer = layer();
        let (b, t) = (2, 7);
        let x = Tensor::from_vec(spread(b * t * 384, 23, 1.0), (b, t, 384), &Device::Cpu).unwrap();
        let real = [1f32, 1., 1., 1., 1., 1., 1., 1., 1., 1., 1., 0., 0., 0.];
        let mask =
            additive_mask(&Tensor::from_vec(real.to_vec(), (b, t), &Device::Cpu).unwrap()).unwrap();
        let run = |mask: &Tensor, mode: Mode| -> Vec<f32> {
            let y = layer.forward(&x, mask, mode).unwrap();
            y.flatten_all().unwrap().to_vec1().unwrap()
        };
        let fast = run(&mask, Mode::Infer);
        let general = run(&mask, Mode::Train);
        assert_eq!(fast.len(), general.len());
        let worst = fast
            .iter()
            .zip(&general)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "largest difference {worst}");
        // And the answer depends on the mask: the padded keys are not read.
        let open = Tensor::zeros((b, 1, 1, t), DType::F32, &Device::Cpu).unwrap();
        let unmasked = run(&open, Mode::Infer);
        assert!(fast[t * 384..]
            .iter()
            .zip(&unmasked[t * 384..])
            .any(|(p, q)| (p - q).abs() > 1e-3));
        assert!(fast[..t * 384]
            .iter()
            .zip(&unmasked[..t * 384])
            .all(|(p, q)| (p - q).abs() < 1e-6));
    }
}
