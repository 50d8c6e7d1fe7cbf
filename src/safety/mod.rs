//! Recognises messages that need support rather than a strategy citation: distress first
//! (crisis signposting), then help-seeking (local contacts first).
//!
//! Two layers decide distress, and either is enough:
//! - a classifier ([`classifier`]: logistic regression on the message's sentence vector and
//!   words, trained at index time from labelled examples ([`examples`]), averaged with the
//!   fine-tuned distress top of the model ([`crate::embed::tuned`]); the whole message and each
//!   sentence of a longer one are scored), so it follows meaning, not spelling: "can't see a way
//!   out", "took 30 paracetamol an hour ago", "relapsed with sh last night";
//! - a short list of high-precision phrases ([`phrases`]), matched on word forms.
//!
//! Work senses ("suicide prevention training") only keep a *phrase* from firing on its own; they
//! never suppress a message the classifier scores as distress.
//!
//! Invariants:
//! - Detection never depends on an optional file: the reviewed built-in examples and phrases
//!   (`safety/*.toml` at the crate root) are compiled in; a trust's `corpus/safety/*.toml` add
//!   to them, and a missing or invalid one stops `index` with the file and line.
//! - [`Detector::assess`] is the one decision function; the console, `ask` and every chat front
//!   end call it (through `Bot::need` or the CLI) before any search.
//! - Assessment is pure: it logs nothing and stores nothing. What a message said is never
//!   written anywhere by this module or its callers.

pub mod examples;
pub mod phrases;

use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, QuestionReading};
use crate::Result;

pub use crate::classifier::Classifier;
pub use examples::Example;
pub use phrases::{normalise, Phrases};

/// A trust's phrase file, relative to the corpus directory.
pub const PHRASES_FILE: &str = "safety/phrases.toml";
/// A trust's examples file, relative to the corpus directory.
pub const EXAMPLES_FILE: &str = "safety/examples.toml";
/// The file older versions read; refused so an upgrade cannot silently drop a trust's phrases.
pub const OLD_PHRASES_FILE: &str = "support-phrases.toml";

/// The reviewed phrase list compiled into the program.
pub const BUILTIN_PHRASES: &str = include_str!("../../safety/phrases.toml");
/// The reviewed examples compiled into the program that the distress top was trained on.
pub const BUILTIN_EXAMPLES: &str = include_str!("../../safety/examples.toml");
/// Reviewed examples compiled in and added since the distress top was last trained: the
/// regression learns them at every build, as it does a trust's; the top never saw them.
pub const BUILTIN_EXAMPLES_SINCE_TOP: &str = include_str!("../../safety/examples-since-top.toml");

/// What a message needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Crisis signposting first, always private.
    Distress,
    /// Support contacts first.
    Help,
    /// An ordinary question.
    Question,
}

/// Why a message was classed as it was; for `eval` and tests. Never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The decision.
    pub need: Need,
    /// Highest classifier score over the message and its sentences.
    pub score: f32,
    /// The classifier fired (score at or above its threshold).
    pub by_classifier: bool,
    /// A distress phrase matched (after work senses were removed).
    pub by_phrase: bool,
    /// The whole message read as a question ([`Embedder::screen_and_read`]), which answering
    /// the same message reuses instead of running the model again; `None` from
    /// [`Detector::screen`], whose callers never answer. Held only for the request; never
    /// stored.
    pub reading: Option<QuestionReading>,
}

/// Everything distress detection needs, stored in each index generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    /// Built-in plus the trust's phrases.
    pub phrases: Phrases,
    /// Trained on built-in plus the trust's examples.
    pub classifier: Classifier,
}

/// The whole message, plus each of its sentences when it has more than one: a disclosure
/// inside a long work question is scored on its own, not averaged away. Sentences only, not
/// clauses: on the dev split, splitting at commas too raised false alarms from 16 % to 25 %
/// ("can't go on like this, need a holiday lol") for no recall the phrases did not give.
///
/// At most [`MAX_PIECES`] sentence pieces: a longer message has its sentences joined in runs,
/// in order, so every word is still scored while a hostile 6,000-character message of one-word
/// sentences costs a bounded number of passes of the model.
pub fn pieces(message: &str) -> Vec<String> {
    let mut out = vec![message.trim().to_string()];
    let parts: Vec<&str> = message
        .split(['.', '!', '?', ';', '\n'])
        .map(str::trim)
        .filter(|p| p.split_whitespace().count() >= 3)
        .collect();
    if parts.len() > 1 {
        let per = parts.len().div_ceil(MAX_PIECES);
        out.extend(parts.chunks(per).map(|run| run.join(". ")));
    }
    out
}

/// Most sentence pieces scored besides the whole message.
pub const MAX_PIECES: usize = 24;

/// The built-in examples plus a trust's `extra` ones that say something new.
pub fn training_examples(extra: &[Example]) -> Vec<Example> {
    let mut all = examples::builtin();
    let known: std::collections::HashSet<String> = all.iter().map(|e| normalise(&e.text)).collect();
    all.extend(
        extra
            .iter()
            .filter(|e| !known.contains(&normalise(&e.text)))
            .cloned(),
    );
    all
}

impl Detector {
    /// Trains the classifier on `all` examples ([`training_examples`]) and joins the built-in
    /// phrases with `extra_phrases`. Deterministic: the same inputs give the same detector.
    pub fn train(
        embedder: &Embedder,
        extra_phrases: Phrases,
        all: &[Example],
        recall_target: f32,
    ) -> Result<Detector> {
        let mut phrases = Phrases::builtin();
        phrases.extend(extra_phrases);
        let texts: Vec<&str> = all.iter().map(|e| e.text.as_str()).collect();
        let t = std::time::Instant::now();
        let vectors = embedder.embed_cached(&texts)?;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "examples embedded");
        let t = std::time::Instant::now();
        let tuned = embedder.example_logits(&texts)?;
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "distress-top logits read"
        );
        let refs: Vec<&[f32]> = vectors.iter().map(|v| &v[..]).collect();
        let labels: Vec<bool> = all.iter().map(|e| e.distress).collect();
        let classifier =
            Classifier::train(&texts, &refs, &tuned, &labels, recall_target, embedder.id());
        Ok(Detector {
            phrases,
            classifier,
        })
    }

    /// What `message` needs: the one decision every front end uses. The message is also read
    /// as a question in the same pass, for the answer to reuse.
    pub fn assess(&self, embedder: &Embedder, message: &str) -> Result<Assessment> {
        self.check(embedder, message, true)
    }

    /// [`Detector::assess`] for callers that only need the decision (whether a reply will be
    /// private, `eval`): the same decision, without reading the message as a question.
    pub fn screen(&self, embedder: &Embedder, message: &str) -> Result<Assessment> {
        self.check(embedder, message, false)
    }

    fn check(&self, embedder: &Embedder, message: &str, read: bool) -> Result<Assessment> {
        // "su\u{200B}icide" or ANSI codes must not hide a word from the model or the phrases.
        let cleaned = crate::text::clean_input(message);
        let message = cleaned.as_str();
        let pieces = pieces(message);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (screened, reading) = match read {
            true => {
                let (s, r) = embedder.screen_and_read(&refs, message)?;
                (s, Some(r))
            }
            false => (embedder.screen_batch(&refs)?, None),
        };
        Ok(self.decide(message, &pieces, screened, reading))
    }

    /// [`Detector::assess`] once the message's [`pieces`] are embedded and screened.
    fn decide(
        &self,
        message: &str,
        pieces: &[String],
        screened: Vec<(Vec<f32>, f32)>,
        reading: Option<QuestionReading>,
    ) -> Assessment {
        let score = pieces
            .iter()
            .zip(&screened)
            .map(|(p, (v, tuned))| self.classifier.score(p, v, *tuned))
            .fold(0.0f32, f32::max);
        let by_classifier = score >= self.classifier.threshold;
        let by_phrase = self.phrases.distress_in(message);
        let need = if by_classifier || by_phrase {
            Need::Distress
        } else if self.phrases.help_in(message) {
            Need::Help
        } else {
            Need::Question
        };
        Assessment {
            need,
            score,
            by_classifier,
            by_phrase,
            reading,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_also_scored_sentence_by_sentence() {
        assert_eq!(pieces("i cant go on"), vec!["i cant go on"]);
        let p =
            pieces("what does the strategy say about wellbeing? honestly i dont want to be alive");
        assert_eq!(p.len(), 3);
        assert_eq!(p[2], "honestly i dont want to be alive");
        assert_eq!(
            pieces("cant go on like this, need a holiday lol").len(),
            1,
            "commas do not split: a clause alone loses the tone of the message"
        );
        assert_eq!(pieces("hi. ok").len(), 1, "fragments are not scored alone");
    }

    #[test]
    fn a_very_long_message_is_scored_in_a_bounded_number_of_pieces() {
        let mut m: Vec<String> = (0..300).map(|i| format!("rota line number {i}")).collect();
        m[250] = "i took all my tablets".into();
        let p = pieces(&m.join(". "));
        assert!(p.len() <= MAX_PIECES + 1, "{}", p.len());
        assert!(p[1..].iter().any(|x| x.contains("i took all my tablets")));
        assert!(p[1..].iter().any(|x| x.contains("rota line number 299")));
    }

    #[test]
    fn builtin_lists_are_valid_and_not_empty() {
        let p = Phrases::builtin();
        assert!(!p.distress.is_empty() && !p.help.is_empty());
        assert!(!examples::builtin().is_empty());
    }
}
