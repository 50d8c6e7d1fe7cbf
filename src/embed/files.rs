//! The model's files on disk: every file checked against the `SHA256SUMS` beside it before a
//! byte of it is used, and the base model's parts ([`Base`]) and tokenizer read from them.
//!
//! Invariants:
//! - A missing, truncated or altered file is an [`Error::Model`] naming the file, never a
//!   fallback: distress detection depends on the model.
//! - The tokenizer never pads (batches are padded by [`pad`], with a mask) and truncates to
//!   [`MAX_TOKENS`], the model's window.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use super::encoder::{Config as EncoderConfig, Encoder, Weights};
use super::{tuned, MAX_TOKENS};
use crate::{Error, Result};

/// The files the model needs, all listed in `SHA256SUMS`.
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

pub(super) fn model_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Model {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads `SHA256SUMS` and checks every model file against it; returns the files' bytes.
pub(super) fn read_checked(
    dir: &Path,
    names: &[&'static str],
) -> Result<(HashMap<&'static str, Vec<u8>>, String)> {
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).map_err(|e| {
        model_error(
            &sums_path,
            format!("{e}; the model folder must hold the files committed under models/"),
        )
    })?;
    let expected: HashMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(digest, name)| (name.trim(), digest.trim()))
        .collect();
    let mut files = HashMap::new();
    let mut id = Sha256::new();
    for &name in names {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| model_error(&path, e))?;
        let digest = hex(&Sha256::digest(&bytes));
        match expected.get(name) {
            Some(want) if *want == digest => {}
            Some(_) => {
                return Err(model_error(
                    &path,
                    "does not match its SHA-256 in SHA256SUMS: the file is damaged or was \
                     replaced; restore it from the repository (or scripts/make-model.py)",
                ))
            }
            None => return Err(model_error(&sums_path, format!("no digest for {name}"))),
        }
        id.update(digest.as_bytes());
        files.insert(name, bytes);
    }
    Ok((files, hex(&id.finalize())[..16].to_string()))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base model's parts, checked against `SHA256SUMS`: what [`Embedder::load`] and the
/// distress-top trainer start from.
pub struct Base {
    /// The encoder, every layer.
    pub encoder: Encoder,
    /// Its configuration.
    pub config: EncoderConfig,
    /// The weights by name (F32).
    pub weights: Weights,
    /// The tokenizer, unpadded, truncated to [`MAX_TOKENS`].
    pub tokenizer: Tokenizer,
    /// [`Embedder::id`].
    pub id: String,
}

impl Base {
    /// Reads and checks the base model in `dir`.
    pub fn load(dir: &Path) -> Result<Base> {
        let (files, id) = read_checked(dir, &FILES)?;
        let config_path = dir.join("config.json");
        let config: EncoderConfig = serde_json::from_slice(&files["config.json"])
            .map_err(|e| model_error(&config_path, e))?;
        let weights_path = dir.join("model.safetensors");
        let weights = tuned::weights_from_bytes(&files["model.safetensors"])
            .map_err(|e| model_error(&weights_path, e))?;
        let encoder =
            Encoder::load(&weights, &config).map_err(|e| model_error(&weights_path, e))?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_bytes(&files["tokenizer.json"])
            .map_err(|e| model_error(&tokenizer_path, e))?;
        // The shipped tokenizer pads to 128 tokens; batches are padded here, with a mask.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| model_error(&tokenizer_path, e))?;
        Ok(Base {
            encoder,
            config,
            weights,
            tokenizer,
            id,
        })
    }
}

/// Token ids of `texts` (with BERT's `[CLS]` and `[SEP]`).
pub fn tokenize(tokenizer: &Tokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
    let encodings = tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|e| model_error(Path::new("tokenizer.json"), e))?;
    Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
}

/// Pads token ids to one length: (ids, mask), both (batch, tokens); the mask is F32 1/0.
pub fn pad(batch: &[&[u32]]) -> candle_core::Result<(Tensor, Tensor)> {
    let len = batch.iter().map(|e| e.len()).max().unwrap_or(0);
    let (mut ids, mut mask) = (Vec::new(), Vec::new());
    for e in batch {
        ids.extend_from_slice(e);
        ids.extend(std::iter::repeat_n(0u32, len - e.len()));
        mask.extend(std::iter::repeat_n(1f32, e.len()));
        mask.extend(std::iter::repeat_n(0f32, len - e.len()));
    }
    let shape = (batch.len(), len);
    Ok((
        Tensor::from_vec(ids, shape, &Device::Cpu)?,
        Tensor::from_vec(mask, shape, &Device::Cpu)?,
    ))
}
