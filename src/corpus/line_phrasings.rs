//! `line-phrasings.toml`: for single sentences of a section, ways staff ask for what that
//! sentence says ("when did boorman's finished write up come out" for "The final report …
//! followed in November 2009"). The answer line matches a question against these as well as
//! against the sentence itself, which is how it picks the sentence that answers a question
//! phrased in other words than the document's.
//!
//! Invariants:
//! - Like `phrasings.toml`, these are keys only: never shown, never quoted. The answer line is
//!   always the sentence they point at.
//! - An entry names its sentence by the words it starts with (`says`), not by a position, so
//!   adding a sentence before it does not move it onto another. Every entry must name a
//!   section that exists and a sentence of it (`check` reports one that does not, with its
//!   line): a reworded sentence cannot silently lose or swap its phrasings.
//! - The file is optional: without it, sentences are matched on their own text.

use std::collections::HashMap;

use serde::Deserialize;

use super::phrasings::clean_asks;

/// File name, relative to the corpus directory.
pub const FILE: &str = "line-phrasings.toml";

/// One sentence's phrasings.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The section id (`<doc slug>/<heading slug>`).
    pub section: String,
    /// The words the sentence starts with, whitespace collapsed.
    pub says: String,
    /// Ways staff ask for it.
    pub asks: Vec<String>,
    /// 1-based line of the entry's `says` in the file.
    pub line: usize,
}

/// Every entry, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinePhrasings {
    /// The entries.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    sentence: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    section: String,
    says: String,
    asks: Vec<String>,
}

/// `text` with every run of whitespace made one space, trimmed: how `says` and a sentence are
/// compared, so a line break in the Markdown does not matter.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl LinePhrasings {
    /// Parses the file; the error is (line, message).
    pub fn parse(text: &str) -> Result<LinePhrasings, (usize, String)> {
        let raw: Raw = crate::corpus::parse_toml(text, "line phrasings")?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut searched_from = 0;
        for e in raw.sentence {
            let says = collapse(&e.says);
            // The entry's own `says` line: the first one at or after the previous entry's.
            let line = text
                .lines()
                .enumerate()
                .skip(searched_from)
                .find(|(_, l)| l.trim_start().starts_with("says") && collapse(l).contains(&says))
                .map_or(1, |(i, _)| i + 1);
            searched_from = line;
            let fail = |message: String| Err((line, format!("line phrasings: {message}")));
            if e.section.split('/').count() != 2 {
                return fail(format!(
                    "section {:?} is not a section id (`<document>/<heading slug>`)",
                    e.section
                ));
            }
            if says.split(' ').count() < 3 {
                return fail(format!(
                    "says {says:?} is too short to name one sentence: give its first words"
                ));
            }
            if entries
                .iter()
                .any(|x| x.section == e.section && x.says == says)
            {
                return fail(format!("the sentence {says:?} is listed twice"));
            }
            let asks = match clean_asks(e.asks) {
                Ok(asks) => asks,
                Err(message) => return fail(message),
            };
            entries.push(Entry {
                section: e.section,
                says,
                asks,
                line,
            });
        }
        Ok(LinePhrasings { entries })
    }

    /// The phrasings of the sentence `sentence` of section `section`: those of every entry of
    /// the section whose `says` it starts with.
    pub fn of<'a>(&'a self, section: &str, sentence: &str) -> Vec<&'a str> {
        let entries: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.section == section)
            .collect();
        asks_for(&entries, sentence).collect()
    }

    /// The entries by section id, for looking up the sentences of many passages (a build
    /// looks up every sentence of the corpus: one pass over the entries, not one per sentence).
    pub fn by_section(&self) -> HashMap<&str, Vec<&Entry>> {
        let mut map: HashMap<&str, Vec<&Entry>> = HashMap::new();
        for e in &self.entries {
            map.entry(e.section.as_str()).or_default().push(e);
        }
        map
    }
}

/// The phrasings, among `entries` (one section's), of the sentence `sentence`: those of every
/// entry whose `says` it starts with.
pub fn asks_for<'a: 'b, 'b>(
    entries: &'b [&'a Entry],
    sentence: &str,
) -> impl Iterator<Item = &'a str> + 'b {
    let sentence = collapse(sentence);
    entries
        .iter()
        .filter(move |e| sentence.starts_with(&e.says))
        .flat_map(|e| e.asks.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_a_sentence_by_its_first_words() {
        let file = "[[sentence]]\nsection = \"doc/a\"\nsays = \"The final  report was\"\n\
                    asks = [\"when did the finished write up come out\", \" \"]\n";
        let p = LinePhrasings::parse(file).unwrap();
        assert_eq!(p.entries[0].line, 3);
        let asks = p.of("doc/a", "The final report\nwas published in 2009.");
        assert_eq!(asks, ["when did the finished write up come out"]);
        assert!(p.of("doc/a", "The interim report was out.").is_empty());
        assert!(p.of("doc/b", "The final report was out.").is_empty());
        let grouped = p.by_section();
        assert_eq!(grouped.len(), 1);
        assert_eq!(
            asks_for(&grouped["doc/a"], "The final report was late.").count(),
            1
        );
    }

    #[test]
    fn bad_entries_are_reported_at_their_line() {
        let entry = |section: &str, says: &str| {
            format!("[[sentence]]\nsection = \"{section}\"\nsays = \"{says}\"\nasks = []\n")
        };
        let err = LinePhrasings::parse(&entry("doc", "One two three")).unwrap_err();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("not a section id"));
        assert!(LinePhrasings::parse(&entry("d/a", "Too short"))
            .unwrap_err()
            .1
            .contains("too short"));
        let twice = entry("d/a", "One two three") + &entry("d/a", "One  two three");
        let err = LinePhrasings::parse(&twice).unwrap_err();
        assert_eq!(err.0, 7);
        assert!(err.1.contains("twice"));
        assert!(LinePhrasings::parse("[[sentence]]\nsection = 3\n").is_err());
    }
}
