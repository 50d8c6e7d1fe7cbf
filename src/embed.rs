//! Sentence embeddings: all-MiniLM-L6-v2 run offline in pure Rust (candle's BERT).
//!
//! A text becomes a 384-dimensional unit vector: BERT's last hidden state averaged over the
//! real tokens (padding masked out), then L2-normalised, which is what sentence-transformers
//! does for this model, so the cosine of two vectors is their dot product.
//!
//! Invariants:
//! - The model is read only from the files committed under `models/` (see their NOTICE); nothing
//!   is downloaded. A missing, truncated or altered file is a start-up error naming the file:
//!   every file is checked against the digests in `SHA256SUMS` beside it. There is no fallback
//!   without the model, because distress detection depends on it.
//! - Loaded once per process and shared ([`Embedder::shared`]); it is `Send + Sync` and
//!   stateless apart from a cache of vectors for texts the *index* embeds (examples and passages,
//!   never questions: what a user typed is never kept).
//! - Embedding is blocking CPU work: async callers run it under `spawn_blocking`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{Error, Result};

/// Length of every vector.
pub const DIM: usize = 384;
/// The model's window, in tokens (sentence-transformers' `max_seq_length` for this model).
const MAX_TOKENS: usize = 256;
/// Texts embedded together; longer batches pad more and gain nothing on 2 cores.
const BATCH: usize = 16;
/// The files the model needs, all listed in `SHA256SUMS`.
const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// A unit vector of [`DIM`] floats.
pub type Vector = Vec<f32>;

/// Dot product; the cosine for unit vectors. Eight independent running sums let the compiler
/// use SIMD (a single sum must add in order, which it cannot vectorise): the dense scan over
/// 100k passages is this function 100k times.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The loaded model and tokenizer.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    /// Hex SHA-256 over the model files: which model made a vector.
    id: String,
    /// Whole words of the tokenizer's vocabulary (no `##` pieces): a list of real words.
    words: HashSet<String>,
    /// Index-time vectors by a hash of the exact text.
    cache: Mutex<HashMap<[u8; 32], Arc<[f32]>>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).finish()
    }
}

fn model_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Model {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads `SHA256SUMS` and checks every model file against it; returns the files' bytes.
fn read_checked(dir: &Path) -> Result<(HashMap<&'static str, Vec<u8>>, String)> {
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
    for name in FILES {
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Embedder {
    /// Loads the model from `dir` (a folder like `models/all-MiniLM-L6-v2`).
    pub fn load(dir: &Path) -> Result<Embedder> {
        let (mut files, id) = read_checked(dir)?;
        let config_path = dir.join("config.json");
        let config: BertConfig = serde_json::from_slice(&files["config.json"])
            .map_err(|e| model_error(&config_path, e))?;
        let weights_path = dir.join("model.safetensors");
        let weights = files.remove("model.safetensors").unwrap_or_default();
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| model_error(&weights_path, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_error(&weights_path, e))?;
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
        let words = tokenizer
            .get_vocab(false)
            .into_keys()
            .filter(|w| !w.starts_with("##") && !w.starts_with('[') && w.len() > 1)
            .collect();
        Ok(Embedder {
            model,
            tokenizer,
            id,
            words,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The process-wide embedder for `dir`, loaded on first use. Every caller in a process
    /// (the bot, each index build, the eval) shares one copy of the weights.
    pub fn shared(dir: &Path) -> Result<Arc<Embedder>> {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Embedder>>>> = OnceLock::new();
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let loaded = LOADED.get_or_init(Default::default);
        // Held while loading, so two threads never load the same model twice.
        let mut map = loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get(&key) {
            return Ok(e.clone());
        }
        let e = Arc::new(Embedder::load(dir)?);
        map.insert(key, e.clone());
        Ok(e)
    }

    /// Short hex id of the model files; stored with every vector set so vectors from another
    /// model are never compared with these.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `word` (lowercase) is a whole word of the model's vocabulary: a real word, not a
    /// typo. The vocabulary has ~20,000 whole English words.
    pub fn is_word(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// One text's vector. Not cached: questions are never kept.
    pub fn embed(&self, text: &str) -> Result<Vector> {
        Ok(self.embed_batch(&[text])?.pop().unwrap_or_default())
    }

    /// The cache key of a text: the SHA-256 of its exact bytes.
    pub fn key(text: &str) -> [u8; 32] {
        Sha256::digest(text.as_bytes()).into()
    }

    /// The cached vector for a key, if any.
    pub fn cached(&self, key: &[u8; 32]) -> Option<Arc<[f32]>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).cloned()
    }

    /// Adds a vector computed earlier (by this model: see [`crate::vectors::load_cache`]).
    pub fn prime(&self, key: [u8; 32], vector: Vector) {
        if vector.len() == DIM {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.insert(key, vector.into());
        }
    }

    /// Vectors for texts the index stores (examples, passages), reusing any this process
    /// embedded or loaded before, so rebuilding an unchanged corpus costs nothing.
    pub fn embed_cached(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| Embedder::key(t)).collect();
        let missing: Vec<(usize, &str)> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            texts
                .iter()
                .enumerate()
                .filter(|(i, _)| !cache.contains_key(&keys[*i]))
                .map(|(i, t)| (i, *t))
                .collect()
        };
        let fresh = self.embed_batch(&missing.iter().map(|(_, t)| *t).collect::<Vec<_>>())?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for ((i, _), v) in missing.iter().zip(fresh) {
            cache.insert(keys[*i], v.into());
        }
        Ok(keys.iter().map(|k| cache[k].clone()).collect())
    }

    /// Vectors for many texts, in order. Texts are sorted by length and embedded in batches,
    /// so little padding is computed.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vector>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| self.error(e))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vector::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&tokenizers::Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, v) in chunk.iter().zip(self.forward(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn error(&self, e: impl std::fmt::Display) -> Error {
        model_error(Path::new("all-MiniLM-L6-v2"), e)
    }

    fn forward(&self, batch: &[&tokenizers::Encoding]) -> Result<Vec<Vector>> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let (mut ids, mut mask) = (Vec::new(), Vec::new());
        for e in batch {
            let n = e.get_ids().len();
            ids.extend_from_slice(e.get_ids());
            ids.extend(std::iter::repeat_n(0u32, len - n));
            mask.extend(std::iter::repeat_n(1u32, n));
            mask.extend(std::iter::repeat_n(0u32, len - n));
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let shape = (batch.len(), len);
            let ids = Tensor::from_vec(ids, shape, &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?;
            summed.broadcast_div(&counts)?.to_vec2::<f32>()
        };
        let pooled = run().map_err(|e| self.error(e))?;
        Ok(pooled
            .into_iter()
            .map(|mut v| {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect())
    }
}

/// Where the committed model lives, relative to the crate root; for tests, benches and the
/// default config.
pub const DEFAULT_DIR: &str = "models/all-MiniLM-L6-v2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_at_any_length() {
        for n in [0, 1, 7, 8, 9, 384] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n = {n}");
        }
    }

    fn model() -> Arc<Embedder> {
        Embedder::shared(&Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR)).unwrap()
    }

    #[test]
    fn vectors_are_unit_length_and_meaningful() {
        let m = model();
        let v = m
            .embed_batch(&[
                "I want to end my life",
                "I keep thinking about killing myself",
                "how do I refer a colleague to occupational health",
                "",
            ])
            .unwrap();
        for x in &v {
            assert_eq!(x.len(), DIM);
            assert!((dot(x, x) - 1.0).abs() < 1e-4);
        }
        assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2);
    }

    #[test]
    fn batching_and_padding_do_not_change_a_vector() {
        let m = model();
        let alone = m.embed("short one").unwrap();
        let batch = m
            .embed_batch(&[
                "a much longer sentence that forces padding of the short one",
                "short one",
            ])
            .unwrap();
        assert!(dot(&alone, &batch[1]) > 0.9999);
        let cached = m.embed_cached(&["short one"]).unwrap();
        assert!(dot(&alone, &cached[0]) > 0.9999);
    }

    #[test]
    fn vocabulary_knows_real_words_not_typos() {
        let m = model();
        for w in ["thinking", "involved", "stopping", "according"] {
            assert!(m.is_word(w), "{w}");
        }
        for w in ["occupatinal", "welbeing", "##ing"] {
            assert!(!m.is_word(w), "{w}");
        }
    }

    #[test]
    fn a_damaged_model_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
        for f in ["SHA256SUMS", "tokenizer.json", "config.json"] {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.safetensors"), "{e}");
        std::fs::write(dir.path().join("model.safetensors"), b"not a model").unwrap();
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("SHA-256"), "{e}");
    }
}
