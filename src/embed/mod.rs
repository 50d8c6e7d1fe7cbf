//! Sentence embeddings: all-MiniLM-L6-v2 run offline in pure Rust (candle tensors, the encoder
//! in [`encoder`]), and two fine-tuned tops on the same trunk: the distress top ([`tuned`]) and
//! the question top ([`question`]).
//!
//! A text becomes a 384-dimensional unit vector: BERT's last hidden state averaged over the
//! real tokens (padding masked out), then L2-normalised, which is what sentence-transformers
//! does for this model, so the cosine of two vectors is their dot product. A message being
//! screened also gets the distress top's logit, and a question its question vector, from the
//! same pass through the lower layers.
//!
//! Invariants:
//! - The model is read only from the files committed under `models/` (see their NOTICE); nothing
//!   is downloaded. A missing, truncated or altered file is a start-up error naming the file:
//!   every file is checked against the digests in `SHA256SUMS` beside it. There is no fallback
//!   without the model, because distress detection depends on it.
//! - Loaded once per process and shared ([`Embedder::shared`]); it is `Send + Sync` and
//!   stateless apart from a cache of vectors (and distress-top logits) for texts the *index*
//!   embeds (examples and passages, never questions: what a user typed is never kept).
//! - Embedding is blocking CPU work: async callers run it under `spawn_blocking`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use candle_core::Tensor;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::{Error, Result};

pub mod attention;
pub mod encoder;
mod files;
pub mod product;
pub mod question;
pub mod training;
pub mod tuned;

use encoder::{additive_mask, mean_pool, Encoder, Mode};
use question::{QuestionTop, QUESTION_DIR};
use tuned::{DistressTop, OutOfFold};

pub use files::{hex, pad, tokenize, Base};
use files::{model_error, read_checked};

/// The name a failed model pass is reported under (no one file is at fault).
const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Length of every vector.
pub const DIM: usize = 384;
/// The model's window, in tokens (sentence-transformers' `max_seq_length` for this model).
pub const MAX_TOKENS: usize = 256;
/// Texts embedded together; longer batches pad more and gain nothing on 2 cores.
const BATCH: usize = 16;
/// The distress top's folder inside the model folder.
pub const DISTRESS_DIR: &str = "distress";
/// The files of the distress top, listed in its own `SHA256SUMS`.
const DISTRESS_FILES: [&str; 2] = [tuned::WEIGHTS_FILE, tuned::OUT_OF_FOLD_FILE];

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
    encoder: Encoder,
    top: DistressTop,
    question: QuestionTop,
    tokenizer: Tokenizer,
    /// Hex SHA-256 over the model files: which model made a vector.
    id: String,
    /// Hex SHA-256 over the distress top's files: which top made a logit.
    distress_id: String,
    /// Whole words of the tokenizer's vocabulary (no `##` pieces): a list of real words.
    words: HashSet<String>,
    /// Index-time vectors by [`Embedder::key`] (base vectors) or [`Embedder::question_key`].
    cache: Mutex<HashMap<[u8; 32], Arc<[f32]>>>,
    /// Index-time distress-top logits of examples the top never saw, by
    /// [`Embedder::logit_key`].
    logits: Mutex<HashMap<[u8; 32], f32>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("id", &self.id).finish()
    }
}

/// `texts`' entries of `table` under `keys`, computing (in one batch) only those not in it yet:
/// the one fill rule of both of the embedder's index-time caches, vectors and logits.
fn cached_in<V: Clone>(
    table: &Mutex<HashMap<[u8; 32], V>>,
    texts: &[&str],
    keys: &[[u8; 32]],
    compute: impl Fn(&[&str]) -> Result<Vec<V>>,
) -> Result<Vec<V>> {
    let missing: Vec<(usize, &str)> = {
        let table = table.lock().unwrap_or_else(|e| e.into_inner());
        texts
            .iter()
            .enumerate()
            .filter(|(i, _)| !table.contains_key(&keys[*i]))
            .map(|(i, t)| (i, *t))
            .collect()
    };
    let fresh = compute(&missing.iter().map(|(_, t)| *t).collect::<Vec<_>>())?;
    let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
    for ((i, _), v) in missing.iter().zip(fresh) {
        table.insert(keys[*i], v);
    }
    Ok(keys.iter().map(|k| table[k].clone()).collect())
}

/// Runs `f` over the texts' token `ids` [`BATCH`] at a time, shortest first (a batch pads to
/// its longest text, so similar lengths waste less), and returns its results in the texts'
/// order. The one batching of the model's passes: the embedder's and the trainers' base
/// vectors ([`training::base_vectors`]) must batch alike to agree to the bit.
pub(crate) fn in_length_batches<T: Clone + Default>(
    ids: &[Vec<u32>],
    mut f: impl FnMut(&[&[u32]]) -> candle_core::Result<Vec<T>>,
) -> candle_core::Result<Vec<T>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut out = vec![T::default(); ids.len()];
    for chunk in order.chunks(BATCH) {
        let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
        for (&i, r) in chunk.iter().zip(f(&batch)?) {
            out[i] = r;
        }
    }
    Ok(out)
}

impl Embedder {
    /// Loads the model from `dir` (a folder like `models/all-MiniLM-L6-v2`) and its distress
    /// top from `dir/distress`.
    pub fn load(dir: &Path) -> Result<Embedder> {
        let base = Base::load(dir)?;
        let top_dir = dir.join(DISTRESS_DIR);
        let (files, distress_id) = read_checked(&top_dir, &DISTRESS_FILES)?;
        let oof_path = top_dir.join(tuned::OUT_OF_FOLD_FILE);
        let out_of_fold: OutOfFold = serde_json::from_slice(&files[tuned::OUT_OF_FOLD_FILE])
            .map_err(|e| model_error(&oof_path, e))?;
        let top_path = top_dir.join(tuned::WEIGHTS_FILE);
        let top = tuned::weights_from_bytes(&files[tuned::WEIGHTS_FILE])
            .and_then(|w| DistressTop::from_weights(&w, &base.config, out_of_fold))
            .map_err(|e| model_error(&top_path, e))?;
        if top.first >= base.encoder.layers.len() {
            return Err(model_error(
                &oof_path,
                "first_layer is past the model's layers",
            ));
        }
        let question_dir = dir.join(QUESTION_DIR);
        let (files, question_id) = read_checked(&question_dir, &[question::WEIGHTS_FILE])?;
        let question_path = question_dir.join(question::WEIGHTS_FILE);
        let question = tuned::weights_from_bytes(&files[question::WEIGHTS_FILE])
            .and_then(|w| QuestionTop::from_weights(&w, &base.config))
            .map_err(|e| model_error(&question_path, e))?;
        let words = base
            .tokenizer
            .get_vocab(false)
            .into_keys()
            .filter(|w| !w.starts_with("##") && !w.starts_with('[') && w.len() > 1)
            .collect();
        // One id for all parts: a new top rebuilds what it feeds as a new model would.
        let id = hex(&Sha256::digest(format!(
            "{}+{distress_id}+{question_id}",
            base.id
        )))[..16]
            .to_string();
        Ok(Embedder {
            encoder: base.encoder,
            top,
            question,
            tokenizer: base.tokenizer,
            id,
            distress_id,
            words,
            cache: Mutex::new(HashMap::new()),
            logits: Mutex::new(HashMap::new()),
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

    /// Short hex id of the model files (the base model and both tops); stored with every
    /// vector set so vectors from another model are never compared with these.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Short hex id of the distress top's files; stored with a detector trained on its logits.
    pub fn distress_id(&self) -> &str {
        &self.distress_id
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

    /// The cache key of a text's question vector: distinct from its base vector's.
    pub fn question_key(text: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"question\0");
        h.update(text.as_bytes());
        h.finalize().into()
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

    /// The cached distress-top logit for a key ([`Embedder::logit_key`]), if any.
    pub fn cached_logit(&self, key: &[u8; 32]) -> Option<f32> {
        let logits = self.logits.lock().unwrap_or_else(|e| e.into_inner());
        logits.get(key).copied()
    }

    /// Adds a distress-top logit computed earlier (by this top: the key names it).
    pub fn prime_logit(&self, key: [u8; 32], logit: f32) {
        let mut logits = self.logits.lock().unwrap_or_else(|e| e.into_inner());
        logits.insert(key, logit);
    }

    /// Vectors for texts the index stores (examples, passages), reusing any this process
    /// embedded or loaded before, so rebuilding an unchanged corpus costs nothing.
    pub fn embed_cached(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>> {
        self.cached_as(texts, Embedder::key, |t| self.embed_batch(t))
    }

    /// Question vectors for texts the index learns from (phrasings, out-of-scope examples),
    /// cached like [`Embedder::embed_cached`].
    pub fn question_cached(&self, texts: &[&str]) -> Result<Vec<Arc<[f32]>>> {
        self.cached_as(texts, Embedder::question_key, |t| self.question_batch(t))
    }

    fn cached_as(
        &self,
        texts: &[&str],
        key: fn(&str) -> [u8; 32],
        compute: impl Fn(&[&str]) -> Result<Vec<Vector>>,
    ) -> Result<Vec<Arc<[f32]>>> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| key(t)).collect();
        cached_in(&self.cache, texts, &keys, |t| {
            Ok(compute(t)?.into_iter().map(Into::into).collect())
        })
    }

    /// Vectors for many texts, in order. Texts are sorted by length and embedded in batches,
    /// so little padding is computed.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vector>> {
        Ok(self
            .run(texts, Want::VECTOR)?
            .into_iter()
            .map(|r| r.vector)
            .collect())
    }

    /// Vectors and distress-top logits for the pieces of a message being screened: one pass
    /// through the shared lower layers serves both.
    pub fn screen_batch(&self, texts: &[&str]) -> Result<Vec<(Vector, f32)>> {
        Ok(self
            .run(texts, Want::SCREEN)?
            .into_iter()
            .map(|r| (r.vector, r.distress))
            .collect())
    }

    /// Question vectors ([`question`]) for many texts, in order, each read
    /// [`question::normalise`]d.
    pub fn question_batch(&self, texts: &[&str]) -> Result<Vec<Vector>> {
        let texts: Vec<String> = texts.iter().map(|t| question::normalise(t)).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(self
            .run(&texts, Want::QUESTION)?
            .into_iter()
            .map(|r| r.question)
            .collect())
    }

    /// One question's question vector. Not cached: questions are never kept.
    pub fn embed_question(&self, text: &str) -> Result<Vector> {
        Ok(self.question_batch(&[text])?.pop().unwrap_or_default())
    }

    /// One question's base vector and question vector, from one pass through the lower layers;
    /// both read the [`question::normalise`]d text.
    pub fn read_question(&self, text: &str) -> Result<QuestionReading> {
        let text = question::normalise(text);
        let r = self.run(&[&text], Want::BOTH)?.pop().unwrap_or_default();
        Ok(r.into())
    }

    /// [`Embedder::screen_batch`] for a message's `pieces` and [`Embedder::read_question`] for
    /// the whole `message`, as one pass through the model when the message is one piece (most
    /// are): its normalised text joins the same batch, or is the piece itself when normalising
    /// changes nothing. A longer message is screened and read separately, so the question top
    /// never runs over its many pieces.
    pub fn screen_and_read(
        &self,
        pieces: &[&str],
        message: &str,
    ) -> Result<(Vec<(Vector, f32)>, QuestionReading)> {
        if pieces.len() != 1 {
            return Ok((self.screen_batch(pieces)?, self.read_question(message)?));
        }
        let normal = question::normalise(message);
        let mut texts = vec![pieces[0]];
        if normal != pieces[0] {
            texts.push(&normal);
        }
        let mut readings = self.run(&texts, Want::ALL)?;
        let read = readings.last().cloned().unwrap_or_default();
        readings.truncate(1);
        let screened = readings.into_iter().map(|r| (r.vector, r.distress));
        Ok((screened.collect(), read.into()))
    }

    /// The cache key of a text's distress-top logit: distinct from its vectors', and tied to
    /// this distress top, so a retrained top never reads an older top's logits.
    pub fn logit_key(&self, text: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"distress\0");
        h.update(self.distress_id().as_bytes());
        h.update(b"\0");
        h.update(text.as_bytes());
        h.finalize().into()
    }

    /// Distress-top logits for training examples: the out-of-fold logit of an example the top
    /// was trained on (a top that never saw it), the final top's for any other text (a trust's
    /// examples and `safety/examples-since-top.toml`, which it never saw either). Those are
    /// cached by [`Embedder::logit_key`], and saved with the vectors, so a rebuild does not run
    /// the top over them again.
    pub fn example_logits(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let digests: Vec<String> = texts.iter().map(|t| tuned::example_key(t)).collect();
        let unseen: Vec<&str> = texts
            .iter()
            .zip(&digests)
            .filter(|(_, d)| !self.top.out_of_fold.contains_key(*d))
            .map(|(t, _)| *t)
            .collect();
        let keys: Vec<[u8; 32]> = unseen.iter().map(|t| self.logit_key(t)).collect();
        let fresh = cached_in(&self.logits, &unseen, &keys, |batch| {
            Ok(self
                .run(batch, Want::DISTRESS)?
                .into_iter()
                .map(|r| r.distress)
                .collect())
        })?;
        let mut fresh = fresh.into_iter();
        Ok(digests
            .iter()
            .map(|d| match self.top.out_of_fold.get(d) {
                Some(l) => *l,
                None => fresh.next().unwrap_or_default(),
            })
            .collect())
    }

    /// The out-of-fold logit stored for a built-in example's exact text, if any.
    pub fn out_of_fold(&self, text: &str) -> Option<f32> {
        self.top.out_of_fold.get(&tuned::example_key(text)).copied()
    }

    /// Token ids as the model sees them (truncated to its window).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        tokenize(&self.tokenizer, texts)
    }

    fn run(&self, texts: &[&str], want: Want) -> Result<Vec<Reading>> {
        let ids = self.tokenize(texts)?;
        in_length_batches(&ids, |batch| self.forward(batch, want)).map_err(|e| self.error(e))
    }

    fn error(&self, e: impl std::fmt::Display) -> Error {
        model_error(Path::new(MODEL_NAME), e)
    }

    /// Runs the base layers once, each on the output of the one before, and starts each tuned
    /// top `want` asks for on a thread of its own as soon as the base reaches the layer it
    /// branches off at. The distress top tunes every layer and the question top layers 2-5, so
    /// no layer is shared with the distress top; the question top shares the first two. On two
    /// cores the base and the two tops then overlap instead of the tops running one after the
    /// other on a second thread.
    fn forward(&self, batch: &[&[u32]], want: Want) -> candle_core::Result<Vec<Reading>> {
        let (ids, mask) = pad(batch)?;
        let additive = additive_mask(&mask)?;
        let base = &self.encoder.layers;
        let pooled = |x: &Tensor| -> candle_core::Result<Vec<Vector>> {
            Ok(mean_pool(x, &mask)?
                .to_vec2::<f32>()?
                .into_iter()
                .map(unit)
                .collect())
        };
        // How far the base must run: to the end for the sentence vector, else to the last
        // layer a wanted top branches off at.
        let until = [
            (want.vector, base.len()),
            (want.question, self.question.first),
            (want.distress, self.top.first),
        ]
        .iter()
        .filter(|(w, _)| *w)
        .map(|(_, l)| *l)
        .max()
        .unwrap_or(0)
        .min(base.len());
        let failed = || candle_core::Error::Msg("a tuned top failed".into());
        let (vectors, questions, logits) = std::thread::scope(|s| {
            let mut h = self.encoder.embed(&ids)?;
            let (mut question, mut distress) = (None, None);
            for layer in 0..=until {
                if want.question && layer == self.question.first {
                    let h = h.clone();
                    question = Some(s.spawn(|| {
                        let y =
                            Encoder::run(&self.question.layers, &{ h }, &additive, Mode::Infer)?;
                        pooled(&y)
                    }));
                }
                if want.distress && layer == self.top.first {
                    let h = h.clone();
                    distress = Some(s.spawn(|| {
                        let y = Encoder::run(&self.top.layers, &{ h }, &additive, Mode::Infer)?;
                        self.top.logits(&mean_pool(&y, &mask)?)
                    }));
                }
                if layer < until {
                    h = Encoder::run(&base[layer..=layer], &h, &additive, Mode::Infer)?;
                }
            }
            let vectors = match want.vector {
                true => Some(pooled(&h)?),
                false => None,
            };
            let questions = match question {
                Some(t) => Some(t.join().map_err(|_| failed())??),
                None => None,
            };
            let logits = match distress {
                Some(t) => Some(t.join().map_err(|_| failed())??),
                None => None,
            };
            Ok::<_, candle_core::Error>((vectors, questions, logits))
        })?;
        let mut out = vec![Reading::default(); batch.len()];
        for (r, v) in out.iter_mut().zip(vectors.into_iter().flatten()) {
            r.vector = v;
        }
        for (r, q) in out.iter_mut().zip(questions.into_iter().flatten()) {
            r.question = q;
        }
        for (r, l) in out.iter_mut().zip(logits.into_iter().flatten()) {
            r.distress = l;
        }
        Ok(out)
    }
}

/// A question as answering reads it, both vectors of its [`question::normalise`]d text: the
/// sentence vector (passages, the scope model) and the question vector (the section model).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuestionReading {
    /// The base model's sentence vector.
    pub vector: Vector,
    /// The question top's vector ([`question`]).
    pub question: Vector,
}

impl From<Reading> for QuestionReading {
    fn from(r: Reading) -> QuestionReading {
        QuestionReading {
            vector: r.vector,
            question: r.question,
        }
    }
}

/// Which parts of a reading a caller needs.
#[derive(Clone, Copy)]
struct Want {
    vector: bool,
    distress: bool,
    question: bool,
}

impl Want {
    const VECTOR: Want = Want {
        vector: true,
        distress: false,
        question: false,
    };
    const SCREEN: Want = Want {
        distress: true,
        ..Want::VECTOR
    };
    const DISTRESS: Want = Want {
        vector: false,
        distress: true,
        question: false,
    };
    const QUESTION: Want = Want {
        vector: false,
        distress: false,
        question: true,
    };
    const BOTH: Want = Want {
        vector: true,
        ..Want::QUESTION
    };
    const ALL: Want = Want {
        vector: true,
        distress: true,
        question: true,
    };
}

/// What one pass gives a text; the parts not asked for stay empty.
#[derive(Clone, Default)]
struct Reading {
    vector: Vector,
    distress: f32,
    question: Vector,
}

/// `v` scaled to length 1.
fn unit(mut v: Vector) -> Vector {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
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
        // A whole base model without its distress top is refused too, naming the folder.
        std::fs::copy(
            src.join("model.safetensors"),
            dir.path().join("model.safetensors"),
        )
        .unwrap();
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("distress") && e.contains("SHA256SUMS"), "{e}");
        let top = dir.path().join(DISTRESS_DIR);
        std::fs::create_dir(&top).unwrap();
        for f in ["SHA256SUMS", tuned::WEIGHTS_FILE, tuned::OUT_OF_FOLD_FILE] {
            std::fs::copy(src.join(DISTRESS_DIR).join(f), top.join(f)).unwrap();
        }
        // ...and so is one without its question top.
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(QUESTION_DIR) && e.contains("SHA256SUMS"), "{e}");
        let question_top = dir.path().join(QUESTION_DIR);
        std::fs::create_dir(&question_top).unwrap();
        for f in ["SHA256SUMS", question::WEIGHTS_FILE] {
            std::fs::copy(src.join(QUESTION_DIR).join(f), question_top.join(f)).unwrap();
        }
        assert_eq!(Embedder::load(dir.path()).unwrap().id(), model().id());
        std::fs::write(question_top.join(question::WEIGHTS_FILE), b"damaged").unwrap();
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(question::WEIGHTS_FILE) && e.contains("SHA-256"),
            "{e}"
        );
        std::fs::copy(
            src.join(QUESTION_DIR).join(question::WEIGHTS_FILE),
            question_top.join(question::WEIGHTS_FILE),
        )
        .unwrap();
        std::fs::write(top.join(tuned::OUT_OF_FOLD_FILE), b"{}").unwrap();
        let e = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(tuned::OUT_OF_FOLD_FILE) && e.contains("SHA-256"),
            "{e}"
        );
    }

    #[test]
    fn the_question_top_reads_what_a_question_asks_for() {
        let m = model();
        // Two ways to ask who on the board looks after staff wellbeing, sharing no content
        // word, and a question the documents do not answer that shares a word.
        let texts = [
            "who on the board is responsible for staff wellbeing",
            "is there an exec welfare champ",
            "what time does the staff canteen open",
        ];
        let q = m.question_batch(&texts).unwrap();
        let b = m.embed_batch(&texts).unwrap();
        let cos = |v: &[Vector], i: usize, j: usize| dot(&v[i], &v[j]);
        // The paraphrase comes closer than the base model puts it, the canteen moves away.
        assert!(cos(&q, 0, 1) > cos(&b, 0, 1) + 0.1);
        assert!(cos(&q, 0, 2) < cos(&b, 0, 2) - 0.1);
        assert!(cos(&q, 0, 1) > cos(&q, 0, 2) + 0.3);
        // One pass gives both vectors, the same as two.
        let r = m.read_question(texts[1]).unwrap();
        assert!(dot(&r.vector, &b[1]) > 0.9999 && dot(&r.question, &q[1]) > 0.9999);
        assert!((dot(&r.question, &r.question) - 1.0).abs() < 1e-4);
        // Screening a message and reading it as a question in one pass gives what each gives
        // alone, whether or not normalising changes the text.
        for message in [texts[1], "is there an exec welfare champ?"] {
            let (screened, read) = m.screen_and_read(&[message], message).unwrap();
            let alone = m.screen_batch(&[message]).unwrap();
            let asked = m.read_question(message).unwrap();
            assert!(dot(&screened[0].0, &alone[0].0) > 0.9999);
            assert!((screened[0].1 - alone[0].1).abs() < 1e-3);
            assert!(dot(&read.vector, &asked.vector) > 0.9999);
            assert!(dot(&read.question, &asked.question) > 0.9999);
        }
    }

    #[test]
    fn the_distress_top_reads_who_is_at_risk() {
        let m = model();
        let s = m
            .screen_batch(&[
                "i took 30 paracetamol an hour ago",
                "a patient took 30 paracetamol an hour ago, what is the protocol",
                "this rota is killing me lol",
            ])
            .unwrap();
        assert!(s[0].1 > 0.0, "{s:?}");
        // The same words about a patient read lower. Since the top learnt round 10's border
        // examples it leans to recall (a patient's overdose +1.2 against the writer's own far
        // higher); the served decision mixes it with the regression, and this message is not
        // flagged (tests/integration/safety.rs checks work senses through the binary).
        assert!(s[1].1 < s[0].1 - 2.0, "{:?}", (s[0].1, s[1].1));
        assert!(s[2].1 < 0.0, "{}", s[2].1);
        // Screening gives the same sentence vector as plain embedding.
        let plain = m.embed("i took 30 paracetamol an hour ago").unwrap();
        assert!(dot(&plain, &s[0].0) > 0.9999);
    }

    #[test]
    fn logits_of_examples_the_top_never_saw_are_the_final_tops_and_cached() {
        let m = model();
        let text = "a message no example file holds: my locker key snapped in the lock";
        assert!(m.out_of_fold(text).is_none());
        let key = m.logit_key(text);
        let first = m.example_logits(&[text]).unwrap()[0];
        let screened = m.screen_batch(&[text]).unwrap()[0].1;
        assert!((first - screened).abs() < 1e-4, "{first} vs {screened}");
        assert_eq!(m.cached_logit(&key), Some(first));
        assert!(m.cached(&key).is_none(), "a logit is not a vector");
        assert_eq!(m.example_logits(&[text]).unwrap()[0], first);
        assert_ne!(
            key,
            Embedder::key(text),
            "never mistaken for the text's vector"
        );
    }

    #[test]
    fn every_example_the_top_was_trained_on_has_an_out_of_fold_logit() {
        // Fails when safety/examples.toml changed without retraining the top
        // (cargo run --release --bin train-distress-top); examples added since go in
        // safety/examples-since-top.toml.
        let m = model();
        let missing: Vec<String> = crate::safety::examples::top_training()
            .into_iter()
            .filter(|e| m.out_of_fold(&e.text).is_none())
            .map(|e| e.text)
            .collect();
        assert!(
            missing.is_empty(),
            "{} without: {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        // Those added since were never seen by the top: none of them has one (there are none
        // right after a retraining).
        let top: std::collections::HashSet<String> = crate::safety::examples::top_training()
            .into_iter()
            .map(|e| e.text)
            .collect();
        let since: Vec<_> = crate::safety::examples::builtin()
            .into_iter()
            .filter(|e| !top.contains(&e.text))
            .collect();
        assert!(since.iter().all(|e| m.out_of_fold(&e.text).is_none()));
    }
}
