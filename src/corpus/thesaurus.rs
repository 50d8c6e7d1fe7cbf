//! `corpus/thesaurus.toml`: staff words mapped to the strategy's vocabulary, for query-time
//! expansion. Editable by admins; a reindex picks up changes like any other corpus file.
//!
//! Invariant: keys are normalised to lowercase words separated by single spaces (punctuation
//! dropped), the same way questions are split, so "Sick-note" and "sick note" are one key.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The file name, directly under the corpus directory.
pub const FILE: &str = "thesaurus.toml";

/// Staff word or phrase → strategy words or phrases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thesaurus {
    /// Normalised key → alternatives as written.
    pub entries: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    synonyms: BTreeMap<String, Vec<String>>,
}

/// Lowercase alphanumeric words joined by single spaces.
pub fn normalise(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Thesaurus {
    /// Parses the file; an error carries a 1-based line and a message.
    pub fn parse(text: &str) -> Result<Thesaurus, (usize, String)> {
        let raw: Raw = crate::corpus::parse_toml(text, "thesaurus")?;
        let key_line = |key: &str| {
            text.lines()
                .position(|l| l.contains(&format!("\"{key}\"")) || l.trim_start().starts_with(key))
                .map_or(1, |i| i + 1)
        };
        let mut entries = BTreeMap::new();
        for (key, alts) in raw.synonyms {
            let norm = normalise(&key);
            if norm.is_empty() {
                return Err((
                    key_line(&key),
                    format!("thesaurus: key {key:?} has no letters or digits"),
                ));
            }
            if norm.split(' ').count() > 4 {
                return Err((
                    key_line(&key),
                    format!("thesaurus: key {key:?} is longer than 4 words"),
                ));
            }
            let alts: Vec<String> = alts.into_iter().map(|a| a.trim().to_string()).collect();
            if alts.is_empty() || alts.iter().any(|a| normalise(a).is_empty()) {
                return Err((
                    key_line(&key),
                    format!("thesaurus: {key:?} needs one or more non-empty alternatives"),
                ));
            }
            if entries.insert(norm.clone(), alts).is_some() {
                return Err((
                    key_line(&key),
                    format!("thesaurus: {key:?} is listed twice (as {norm:?})"),
                ));
            }
        }
        Ok(Thesaurus { entries })
    }

    /// Longest key (in words) in the thesaurus.
    pub fn max_key_words(&self) -> usize {
        self.entries
            .keys()
            .map(|k| k.split(' ').count())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_and_errors_located() {
        let t = Thesaurus::parse(
            "[synonyms]\n\"Sick-Note\" = [\"fit note\"]\nmsk = [\"musculoskeletal\"]\n",
        )
        .unwrap();
        assert_eq!(t.entries["sick note"], vec!["fit note"]);
        assert_eq!(t.max_key_words(), 2);
        let e = Thesaurus::parse("[synonyms]\nmsk = [\"musculoskeletal\"]\noh = []\n").unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("alternatives"), "{e:?}");
        let e = Thesaurus::parse("[synonyms]\nmsk = \"musculoskeletal\"\n").unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        let e = Thesaurus::parse("[synonyms]\n\"OH\" = [\"a\"]\noh = [\"b\"]\n").unwrap_err();
        assert!(e.1.contains("twice"), "{e:?}");
    }
}
