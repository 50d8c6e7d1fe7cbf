//! Recognises questions that need support rather than a strategy citation.
//!
//! Two reviewable phrase lists live in the corpus (`corpus/support-phrases.toml`): distress
//! phrases (self-harm, suicide, "can't go on", harm to others, abuse), which get the crisis reply
//! first, and help-seeking phrases ("where can I get support for stress"), which get the local
//! contacts first. Work senses ("suicide prevention training") are listed too and removed before
//! distress phrases are looked for.
//!
//! Invariants:
//! - Matching is on whole words of a normalised text (lowercase, apostrophes dropped, other
//!   punctuation as spaces), so a phrase never matches inside a longer word.
//! - Classification is pure: it logs nothing and stores nothing. What a question said is never
//!   written anywhere by this module or its callers.

use serde::{Deserialize, Serialize};

/// The file name, directly under the corpus directory.
pub const FILE: &str = "support-phrases.toml";

/// What a question needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Crisis signposting first, always private.
    Distress,
    /// Support contacts first.
    Help,
    /// An ordinary question.
    Question,
}

/// The phrase lists, normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phrases {
    /// Distress and risk phrases.
    pub distress: Vec<String>,
    /// Work senses removed before distress phrases are matched.
    pub not_distress: Vec<String>,
    /// Help-seeking phrases.
    pub help: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    distress: RawDistress,
    help: RawHelp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistress {
    phrases: Vec<String>,
    #[serde(default)]
    not_distress: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHelp {
    phrases: Vec<String>,
}

/// Lowercase words with apostrophes removed and other punctuation as spaces, padded with a
/// space at each end so ` phrase ` finds whole words only.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        if matches!(c, '\'' | '’' | '‘' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

fn contains_phrase(text: &str, phrase: &str) -> bool {
    !phrase.is_empty() && text.contains(&format!(" {phrase} "))
}

impl Phrases {
    /// Parses the file; an error carries a 1-based line and a message.
    pub fn parse(text: &str) -> Result<Phrases, (usize, String)> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            (
                crate::corpus::toml_error_line(text, &e),
                format!("support phrases: {}", e.message().trim_end()),
            )
        })?;
        let clean = |list: Vec<String>, what: &str| -> Result<Vec<String>, (usize, String)> {
            let mut out = Vec::new();
            for p in list {
                let n = normalise(&p).trim().to_string();
                if n.is_empty() {
                    return Err((1, format!("support phrases: an empty phrase in {what}")));
                }
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            Ok(out)
        };
        let phrases = Phrases {
            distress: clean(raw.distress.phrases, "[distress] phrases")?,
            not_distress: clean(raw.distress.not_distress, "[distress] not_distress")?,
            help: clean(raw.help.phrases, "[help] phrases")?,
        };
        if phrases.distress.is_empty() {
            return Err((1, "support phrases: [distress] phrases is empty".into()));
        }
        Ok(phrases)
    }

    /// What `question` needs. Distress wins over help.
    pub fn classify(&self, question: &str) -> Need {
        let mut text = normalise(question);
        // Longest work senses first, so "suicide prevention training" goes before
        // "suicide prevention" could leave "training" behind.
        let mut senses: Vec<&String> = self.not_distress.iter().collect();
        senses.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in senses {
            text = text.replace(&format!(" {s} "), " ; ");
        }
        if self.distress.iter().any(|p| contains_phrase(&text, p)) {
            return Need::Distress;
        }
        let full = normalise(question);
        if self.help.iter().any(|p| contains_phrase(&full, p)) {
            return Need::Help;
        }
        Need::Question
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases() -> Phrases {
        Phrases::parse(
            "[distress]\nphrases = [\"cant go on\", \"suicide\", \"self harm\"]\nnot_distress = [\"suicide prevention training\", \"suicide prevention\"]\n[help]\nphrases = [\"get support\"]\n",
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
    fn whole_phrases_only_and_work_senses_removed() {
        let p = phrases();
        assert_eq!(p.classify("I can't go on"), Need::Distress);
        assert_eq!(p.classify("i cant go on anymore"), Need::Distress);
        assert_eq!(p.classify("self-harm"), Need::Distress);
        assert_eq!(
            p.classify("where is suicide prevention training?"),
            Need::Question
        );
        assert_eq!(
            p.classify("suicide prevention training made me think about suicide"),
            Need::Distress
        );
        assert_eq!(p.classify("how do I get support"), Need::Help);
        assert_eq!(
            p.classify("selfharming pharmacists"),
            Need::Question,
            "no matches inside words"
        );
    }

    #[test]
    fn bad_files_are_located() {
        let e = Phrases::parse("[distress]\nphrases = []\n[help]\nphrases = []\n").unwrap_err();
        assert!(e.1.contains("empty"), "{e:?}");
        let e = Phrases::parse("[distress]\nphrases = [\"x\"]\n").unwrap_err();
        assert!(e.1.contains("help"), "{e:?}");
    }
}
