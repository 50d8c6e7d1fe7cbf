//! The question top: copies of the base model's top layers fine-tuned, offline, to tell apart
//! the questions each section of the bundled documents answers (the phrasings) and questions
//! none of them answers (the out-of-scope examples). Mean pooling of the frozen model groups
//! questions by their wording; the tuned layers group them by what they ask for, so "is OH meant
//! to stop just firefighting" lands beside the prevention section's other phrasings. Trained by
//! `src/bin/train-question-top.rs` and committed under `<model>/question/`.
//!
//! Its vector (pooled, L2-normalised like the base model's) is read only by the section model,
//! which is still trained at `index` from the phrasings, so a trust's own count. Passage
//! vectors, the dense similarity, the scope model and the decline rules built on them stay the
//! base model's (the scope model's thresholds were calibrated on it).
//!
//! Invariants:
//! - Every text is [`normalise`]d before the top reads it, in training and in the bot alike:
//!   a third of the out-of-scope examples end in "?" and almost no phrasing does, so a top
//!   that saw the mark learned it as a sign of being out of scope.
//! - Loaded with the base model and checked against its own `SHA256SUMS`; missing or damaged
//!   is a start-up error like the base model's.
//! - Its first layer is read from the weight names: the file holds layers `first..` of the
//!   base model and nothing else.

use super::encoder::{Config, Layer, Weights};

/// The question top's folder inside the model folder.
pub const QUESTION_DIR: &str = "question";
/// Its weights, in that folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// `text` without question and exclamation marks, a final full stop or surrounding space: how
/// a question is punctuated says nothing about what it asks.
pub fn normalise(text: &str) -> String {
    let kept: String = text.chars().filter(|c| !matches!(c, '?' | '!')).collect();
    kept.trim().trim_end_matches('.').trim_end().to_string()
}

/// The tuned layers.
#[derive(Clone)]
pub struct QuestionTop {
    /// Replaces base layers `first..`.
    pub first: usize,
    /// The tuned layers.
    pub layers: Vec<Layer>,
}

impl QuestionTop {
    /// Builds the top from `weights` (F32): the base layers it holds, from the lowest up.
    pub fn from_weights(weights: &Weights, config: &Config) -> candle_core::Result<QuestionTop> {
        let first = weights
            .keys()
            .filter_map(|k| {
                k.strip_prefix("encoder.layer.")?
                    .split('.')
                    .next()?
                    .parse()
                    .ok()
            })
            .min()
            .filter(|&f: &usize| f < config.num_hidden_layers)
            .ok_or_else(|| candle_core::Error::Msg("no encoder layers in the file".into()))?;
        let layers = (first..config.num_hidden_layers)
            .map(|i| Layer::load(weights, i, config))
            .collect::<candle_core::Result<_>>()?;
        Ok(QuestionTop { first, layers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_dropped_and_words_kept() {
        assert_eq!(normalise(" Is OH free?? "), "Is OH free");
        assert_eq!(normalise("what is it. really!"), "what is it. really");
        assert_eq!(normalise("who wrote it?."), "who wrote it");
        assert_eq!(normalise("e.g. the 2023/24 plan"), "e.g. the 2023/24 plan");
    }
}
