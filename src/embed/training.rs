//! What the offline trainers of the tuned tops share (`src/bin/train-distress-top.rs`,
//! `src/bin/train-question-top.rs`): the frozen lower layers run once per example, padded
//! batches of their output (grouped by length), the trainable copy of the top layers, a fixed
//! shuffle, F16 rounding, and the `SHA256SUMS` a top's folder is checked against.
//!
//! Invariants:
//! - Deterministic: no randomness but [`shuffle`]'s fixed generator, so a trainer run twice
//!   writes the same files.
//! - What a trainer scores and saves is [`f16_rounded`]: exactly what the bot loads.
//! - Nothing here runs in the bot; it only loads what the trainers wrote.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use sha2::{Digest, Sha256};

use super::encoder::{additive_mask, mean_pool, Encoder, Layer, Mode, Weights};
use super::{hex, model_error, Base};
use crate::{Error, Result};

/// Every text through the embeddings and the frozen layers below `first`, once: what the
/// trainable top layers then read at every epoch.
pub fn trunks(base: &Base, texts: &[&str], first: usize) -> Result<Vec<Tensor>> {
    let ids = super::tokenize(&base.tokenizer, texts)?;
    ids.iter()
        .map(|ids| trunk_of(&base.encoder, ids, first))
        .collect::<candle_core::Result<_>>()
        .map_err(|e| model_error(Path::new(super::MODEL_NAME), e))
}

/// One example's token `ids` through the embeddings and the frozen layers below `first`:
/// (tokens, hidden).
fn trunk_of(encoder: &Encoder, ids: &[u32], first: usize) -> candle_core::Result<Tensor> {
    let t = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
    let mask = additive_mask(&Tensor::ones((1, ids.len()), DType::F32, &Device::Cpu)?)?;
    let x = Encoder::run(
        &encoder.layers[..first],
        &encoder.embed(&t)?,
        &mask,
        Mode::Infer,
    )?;
    x.squeeze(0)?.contiguous()
}

/// The base model's sentence vectors (unit length) for `texts`, computed as
/// [`super::Embedder::embed_batch`] computes them (same batches, layer by layer), without the
/// tuned tops: a trainer can then run where a top's folder is still empty.
pub fn base_vectors(base: &Base, texts: &[&str]) -> Result<Vec<super::Vector>> {
    let ids = super::tokenize(&base.tokenizer, texts)?;
    super::in_length_batches(&ids, |batch| pooled_base(base, batch))
        .map_err(|e| model_error(Path::new(super::MODEL_NAME), e))
}

fn pooled_base(base: &Base, batch: &[&[u32]]) -> candle_core::Result<Vec<super::Vector>> {
    let (ids, mask) = super::pad(batch)?;
    let additive = additive_mask(&mask)?;
    let layers = &base.encoder.layers;
    let mut h = base.encoder.embed(&ids)?;
    for layer in 0..layers.len() {
        h = Encoder::run(&layers[layer..=layer], &h, &additive, Mode::Infer)?;
    }
    Ok(mean_pool(&h, &mask)?
        .to_vec2::<f32>()?
        .into_iter()
        .map(super::unit)
        .collect())
}

/// Pads the trunk outputs of examples `idx` into a batch: (x, 0/1 mask).
pub fn batch(trunk: &[Tensor], idx: &[usize]) -> candle_core::Result<(Tensor, Tensor)> {
    let len = idx
        .iter()
        .map(|&i| trunk[i].dim(0))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let t = len.iter().copied().max().unwrap_or(0);
    let xs = idx
        .iter()
        .zip(&len)
        .map(|(&i, &n)| trunk[i].pad_with_zeros(0, 0, t - n))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mask: Vec<f32> = len
        .iter()
        .flat_map(|&n| (0..t).map(move |j| if j < n { 1.0 } else { 0.0 }))
        .collect();
    Ok((
        Tensor::stack(&xs, 0)?,
        Tensor::from_vec(mask, (idx.len(), t), &Device::Cpu)?,
    ))
}

/// `idx` in groups of at most `size` examples of similar length, shortest first: a batch run
/// as these groups pads each example only to its group's longest instead of the whole batch's,
/// which roughly halves the work for messages of mixed lengths (the examples average about 21
/// tokens; a random 32 of them pad to twice that). Padding never changes an example's output
/// (masked attention and pooling), so a step over the groups, its loss the mean over all of
/// `idx`, is the step over the padded batch.
pub fn by_length(
    trunk: &[Tensor],
    idx: &[usize],
    size: usize,
) -> candle_core::Result<Vec<Vec<usize>>> {
    let mut sorted = idx
        .iter()
        .map(|&i| Ok((trunk[i].dim(0)?, i)))
        .collect::<candle_core::Result<Vec<_>>>()?;
    sorted.sort();
    Ok(sorted
        .chunks(size.max(1))
        .map(|g| g.iter().map(|&(_, i)| i).collect())
        .collect())
}

/// Trainable copies of the base layers from `first` up, by weight name, sorted by name.
pub fn layer_vars(base: &Base, first: usize) -> candle_core::Result<Vec<(String, Var)>> {
    let mut names: Vec<&String> = base
        .weights
        .keys()
        .filter(|k| {
            (first..base.config.num_hidden_layers)
                .any(|l| k.starts_with(&format!("encoder.layer.{l}.")))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Ok((name.clone(), Var::from_tensor(&base.weights[name])?)))
        .collect()
}

/// The current values of `vars` by name. The tensors share the variables' storage, so layers
/// built from them follow every optimiser step.
pub fn weights_of(vars: &[(String, Var)]) -> Weights {
    vars.iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect()
}

/// Layers `first..` of the model built from `weights`.
pub fn layers_from(
    base: &Base,
    weights: &Weights,
    first: usize,
) -> candle_core::Result<Vec<Layer>> {
    (first..base.config.num_hidden_layers)
        .map(|i| Layer::load(weights, i, &base.config))
        .collect()
}

/// `weights` rounded through F16, as they are saved and loaded.
pub fn f16_rounded(weights: Weights) -> candle_core::Result<Weights> {
    weights
        .into_iter()
        .map(|(k, t)| Ok((k, t.to_dtype(DType::F16)?.to_dtype(DType::F32)?)))
        .collect()
}

/// Shuffles `order` in place with a fixed linear congruential generator carried in `seed`.
pub fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (*seed >> 33) as usize % (i + 1));
    }
}

/// The tensors to save for `layers` (base layers `first..`), in F16.
pub fn named_f16(layers: &[Layer], first: usize) -> candle_core::Result<HashMap<String, Tensor>> {
    let mut tensors = HashMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for (name, t) in layer.named(first + i) {
            tensors.insert(name, t.to_dtype(DType::F16)?);
        }
    }
    Ok(tensors)
}

/// Writes `SHA256SUMS` in `dir` for the files `names` already there.
pub fn write_sums(dir: &Path, names: &[&str]) -> Result<()> {
    let mut sums = String::new();
    for name in names {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        sums.push_str(&format!("{}  {name}\n", hex(&Sha256::digest(&bytes))));
    }
    let path = dir.join("SHA256SUMS");
    std::fs::write(&path, sums).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::embed::{Embedder, DEFAULT_DIR};

    /// The question top learns against the vectors the index stores; computed here without the
    /// tops, they must be the embedder's to the bit, or the trained sentence choice would be
    /// read against other vectors than it learnt.
    #[test]
    fn base_vectors_are_the_embedders() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
        let texts = [
            "The final report followed in November 2009.",
            "who wrote the foreword",
            "a",
            "Occupational health helps staff stay well at work, and get back to work after illness or injury, with advice for them and their managers.",
        ];
        let ours = base_vectors(&Base::load(&dir).unwrap(), &texts).unwrap();
        let theirs = Embedder::shared(&dir).unwrap().embed_batch(&texts).unwrap();
        assert_eq!(ours, theirs);
        assert!(ours.iter().all(|v| v.len() == 384));
    }

    /// The trainer runs a batch as groups of similar length on the claim that padding never
    /// changes an example's output: each example's pooled output must be the same from its
    /// group as from the whole batch padded to its longest, and the groups must hold each
    /// example once, shortest first.
    #[test]
    fn grouping_a_batch_by_length_changes_no_examples_output() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
        let base = Base::load(&dir).unwrap();
        let texts = [
            "i can't do this anymore",
            "a",
            "how do I refer a colleague to occupational health after a needlestick injury on a night shift",
            "feeling ok",
            "rota is killing me lol",
            "I took a lot of my tablets about an hour ago and I feel strange, I don't know what to do now",
            "hi",
        ];
        let trunk = trunks(&base, &texts, 2).unwrap();
        let layers = &base.encoder.layers[2..];
        let idx: Vec<usize> = vec![4, 0, 2, 6, 1, 5, 3];
        let pooled = |ids: &[usize]| -> Vec<Vec<f32>> {
            let (x, mask) = batch(&trunk, ids).unwrap();
            let y = Encoder::run(layers, &x, &additive_mask(&mask).unwrap(), Mode::Infer).unwrap();
            mean_pool(&y, &mask).unwrap().to_vec2().unwrap()
        };
        let whole: HashMap<usize, Vec<f32>> = idx.iter().copied().zip(pooled(&idx)).collect();
        let groups = by_length(&trunk, &idx, 3).unwrap();
        assert!(groups.iter().all(|g| !g.is_empty() && g.len() <= 3));
        let mut seen: Vec<usize> = groups.concat();
        let lengths: Vec<usize> = seen.iter().map(|&i| trunk[i].dim(0).unwrap()).collect();
        assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");
        seen.sort();
        assert_eq!(seen, (0..texts.len()).collect::<Vec<_>>());
        for g in &groups {
            for (i, v) in g.iter().zip(pooled(g)) {
                let gap = v
                    .iter()
                    .zip(&whole[i])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(gap < 1e-4, "{:?}: {gap}", texts[*i]);
            }
        }
    }
}
