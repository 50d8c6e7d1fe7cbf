//! Reviewed phrase lists: high-precision distress phrases (OR-ed with the classifier), work senses
//! that keep a phrase from firing on its own, and help-seeking phrases.
//!
//! Invariants:
//! - Matching is on whole words of a normalised text (lowercase, apostrophes dropped, other
//!   punctuation as spaces), so a phrase never matches inside a longer word.
//! - Matching is on word forms: both the phrase and the message are stemmed, so "ending my life"
//!   and "taking my own life" match "end my life" and "take my own life".
//! - The built-in list (`safety/phrases.toml`, compiled in) is always present; a trust's
//!   `corpus/safety/phrases.toml` only adds to it. Matching is pure: it logs and stores nothing.

use serde::{Deserialize, Serialize};
use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, WhitespaceTokenizer};

/// The phrase lists, normalised and stemmed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phrases {
    /// Distress and risk phrases: any one gives the crisis reply.
    pub distress: Vec<String>,
    /// Work senses removed before distress phrases are matched (never before the classifier).
    pub not_distress: Vec<String>,
    /// Help-seeking phrases.
    pub help: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    distress: RawDistress,
    #[serde(default)]
    help: RawHelp,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDistress {
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    not_distress: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHelp {
    #[serde(default)]
    phrases: Vec<String>,
}

pub use crate::text::normalise;

/// [`normalise`], then every word stemmed (English Snowball), padded the same way.
pub fn word_forms(s: &str) -> String {
    let mut analyzer = TextAnalyzer::builder(WhitespaceTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build();
    let normal = normalise(s);
    let mut stream = analyzer.token_stream(&normal);
    let mut out = String::from(" ");
    while let Some(t) = stream.next() {
        out.push_str(&t.text);
        out.push(' ');
    }
    out
}

fn contains_phrase(text: &str, phrase: &str) -> bool {
    !phrase.is_empty() && text.contains(&format!(" {phrase} "))
}

impl Phrases {
    /// Parses a phrase file; an error carries a 1-based line and a message. Every list may be
    /// empty (a trust's file that adds nothing); [`Phrases::builtin`] is never empty.
    pub fn parse(text: &str) -> Result<Phrases, (usize, String)> {
        let raw: Raw = crate::corpus::parse_toml(text, "safety phrases")?;
        let clean = |list: Vec<String>, what: &str| -> Result<Vec<String>, (usize, String)> {
            let mut out = Vec::new();
            for p in list {
                let n = word_forms(&p).trim().to_string();
                if n.is_empty() {
                    let line = text
                        .lines()
                        .position(|l| l.contains(&format!("\"{p}\"")))
                        .map_or(1, |i| i + 1);
                    return Err((line, format!("safety phrases: an empty phrase in {what}")));
                }
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            Ok(out)
        };
        Ok(Phrases {
            distress: clean(raw.distress.phrases, "[distress] phrases")?,
            not_distress: clean(raw.distress.not_distress, "[distress] not_distress")?,
            help: clean(raw.help.phrases, "[help] phrases")?,
        })
    }

    /// The reviewed list compiled into the program (`safety/phrases.toml`).
    pub fn builtin() -> Phrases {
        Phrases::parse(super::BUILTIN_PHRASES).expect("the built-in phrase list parses")
    }

    /// Adds `other`'s phrases that are not already here.
    pub fn extend(&mut self, other: Phrases) {
        for (mine, theirs) in [
            (&mut self.distress, other.distress),
            (&mut self.not_distress, other.not_distress),
            (&mut self.help, other.help),
        ] {
            for p in theirs {
                if !mine.contains(&p) {
                    mine.push(p);
                }
            }
        }
    }

    /// Whether a distress phrase occurs once work senses are removed.
    pub fn distress_in(&self, message: &str) -> bool {
        let mut text = word_forms(message);
        // Longest work senses first, so "suicide prevention training" goes before
        // "suicide prevention" could leave "training" behind.
        let mut senses: Vec<&String> = self.not_distress.iter().collect();
        senses.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in senses {
            text = text.replace(&format!(" {s} "), " ; ");
        }
        self.distress.iter().any(|p| contains_phrase(&text, p))
    }

    /// Whether a help-seeking phrase occurs.
    pub fn help_in(&self, message: &str) -> bool {
        let text = word_forms(message);
        self.help.iter().any(|p| contains_phrase(&text, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases() -> Phrases {
        Phrases::parse(
            "[distress]\nphrases = [\"cant go on\", \"end my life\", \"take my own life\", \"self harm\"]\nnot_distress = [\"self harm training\", \"self harm\"]\n[help]\nphrases = [\"get support\"]\n",
        )
        .unwrap()
    }

    #[test]
    fn normalising_drops_apostrophes_and_punctuation() {
        assert_eq!(normalise("I CAN'T go on..."), " i cant go on ");
        assert_eq!(normalise("can’t"), " cant ");
        assert_eq!(normalise(""), " ");
    }

    #[test]
    fn phrases_match_other_forms_of_their_words() {
        let p = phrases();
        assert!(p.distress_in("I'm thinking about ending my life"));
        assert!(p.distress_in("taking my own life seems the only way"));
        assert!(p.distress_in("i cant go on anymore"));
        assert!(!p.distress_in("the end of my life as a student nurse"));
    }

    #[test]
    fn the_builtin_list_holds_the_spellings_the_model_reads_weakly() {
        // The model scored "cannot cope any more" 0.14 against a threshold of 0.39, and "i cant
        // cope anymore" 0.95: the phrases hold every spelling of it.
        let p = Phrases::builtin();
        for m in [
            "cant cope any more with work and home",
            "I cannot cope any more",
            "can't cope anymore",
        ] {
            assert!(p.distress_in(m), "{m}");
        }
        assert!(!p.distress_in("I can't cope with this rota"));
    }

    #[test]
    fn whole_words_only_and_work_senses_removed() {
        let p = phrases();
        assert!(!p.distress_in("where is self-harm training?"));
        assert!(
            p.distress_in("after the self harm training i want to end my life"),
            "a work sense never hides another phrase"
        );
        assert!(p.help_in("how do I get support"));
        assert!(
            !p.distress_in("selfharming pharmacists"),
            "no matches inside words"
        );
    }

    #[test]
    fn bad_files_are_located_and_lists_extend() {
        let e = Phrases::parse("[distress]\nphrases = [\"ok\", \"...\"]\n").unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        assert!(e.1.contains("empty"), "{e:?}");
        let e = Phrases::parse("[distress]\nphrase = []\n").unwrap_err();
        assert!(e.1.contains("phrase"), "{e:?}");
        let mut p = Phrases::builtin();
        let before = p.distress.len();
        p.extend(Phrases::parse("[distress]\nphrases = [\"our local phrase\"]\n").unwrap());
        assert_eq!(p.distress.len(), before + 1);
        assert!(p.distress_in("this is our local phrase"));
    }
}
