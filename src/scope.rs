//! Whether a question is one the documents answer at all, learned from examples: the section
//! phrasings (questions the documents answer, in staff's words) against `out-of-scope.toml`
//! (questions they do not: pay, rotas, a trust's own OH phone number). A question in other
//! words than its passage ("is OH meant to stop just firefighting") shares few words with it
//! and its cosine is modest, but it reads like the phrasings; "how much did our ICB get for OH
//! this year" uses the documents' words but reads like the out-of-scope examples.
//!
//! Invariants:
//! - Trained at index time ([`crate::classifier::fit`], deterministic) and stored in the
//!   generation, like the distress detector; never trained at question time.
//! - It only ever adds a reason to answer ([`crate::answer::decide`]), and only with some
//!   similarity to the best passage as well: without a scope model (no phrasings or no
//!   out-of-scope examples) the bot declines more, never less.
//! - The model's score is tied to the embedding model it was trained with; a generation built
//!   with another model has none.

use serde::{Deserialize, Serialize};

use crate::classifier::{fit, Fit};
use crate::corpus::{OutOfScope, Phrasings};
use crate::embed::Embedder;
use crate::Result;

/// A trained scope model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// The fitted model (in scope is the positive class).
    pub fit: Fit,
    /// The embedding model it was trained with ([`Embedder::id`]).
    pub model: String,
    /// Questions the documents answer that it learned from.
    pub in_scope: usize,
    /// Questions they do not answer that it learned from.
    pub out_of_scope: usize,
}

impl Scope {
    /// Trains on every phrasing (in scope) and every out-of-scope example; `None` when either
    /// side is empty, since one class alone teaches nothing.
    pub fn train(
        embedder: &Embedder,
        phrasings: &Phrasings,
        out_of_scope: &OutOfScope,
    ) -> Result<Option<Scope>> {
        let inside: Vec<&str> = phrasings
            .sections
            .iter()
            .flat_map(|(_, asks, _)| asks.iter().map(String::as_str))
            .collect();
        let outside: Vec<&str> = out_of_scope.questions().collect();
        if inside.is_empty() || outside.is_empty() {
            return Ok(None);
        }
        let texts: Vec<&str> = inside.iter().chain(&outside).copied().collect();
        let vectors = embedder.embed_cached(&texts)?;
        let refs: Vec<&[f32]> = vectors.iter().map(|v| &v[..]).collect();
        let labels: Vec<bool> = (0..texts.len()).map(|i| i < inside.len()).collect();
        Ok(Some(Scope {
            fit: fit(&texts, &refs, &labels),
            model: embedder.id().to_string(),
            in_scope: inside.len(),
            out_of_scope: outside.len(),
        }))
    }

    /// Probability-like score in 0..1 that `question` (with its sentence `vector`) is one the
    /// documents answer. The base model's vector, not the question top's: the scope model's
    /// thresholds were calibrated on it, and with the question top's the veto declined
    /// answerable questions shaped like out-of-scope ones ("how many days does the NHS lose to
    /// sickness" reads like "how many days did my trust lose") for no more out-of-scope
    /// questions declined on dev.
    pub fn score(&self, question: &str, vector: &[f32]) -> f32 {
        self.fit.score(question, vector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn model() -> std::sync::Arc<Embedder> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::embed::DEFAULT_DIR);
        Embedder::shared(&dir).unwrap()
    }

    #[test]
    fn learns_which_questions_the_documents_answer_and_needs_both_sides() {
        let embedder = model();
        let phrasings = Phrasings::parse(
            "[[section]]\nid = \"a/b\"\nasks = [\"what does the strategy want occupational \
             health to become\", \"how will OH services grow over five years\", \"who wrote \
             the wellbeing strategy\", \"what is a wellbeing guardian\"]\n",
        )
        .unwrap();
        let outside = OutOfScope::parse(
            "[[group]]\nkind = \"x\"\nmessages = [\"when is payday\", \"reset my nhsmail \
             password\", \"where can i park\", \"how many days annual leave do i get\"]\n",
        )
        .unwrap();
        let scope = Scope::train(&embedder, &phrasings, &outside)
            .unwrap()
            .unwrap();
        assert_eq!((scope.in_scope, scope.out_of_scope), (4, 4));
        let score = |q: &str| scope.score(q, &embedder.embed(q).unwrap());
        assert!(
            score("what is the plan for occupational health services")
                > score("my payslip is wrong")
        );
        assert!(Scope::train(&embedder, &phrasings, &OutOfScope::default())
            .unwrap()
            .is_none());
        assert!(Scope::train(&embedder, &Phrasings::default(), &outside)
            .unwrap()
            .is_none());
    }
}
