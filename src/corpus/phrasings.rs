//! `phrasings.toml`: for each section, ways staff might ask for what it says, in their own
//! words ("who on the board looks out for staff welfare" for the wellbeing guardian section).
//! The dense side of retrieval matches a question against these as well as against the
//! passage itself, which is how a question that shares no word with a passage still finds it.
//!
//! Invariants:
//! - Phrasings are retrieval keys only: never shown, never quoted, never an answer line. The
//!   answer always comes from the passage they point at.
//! - Every entry names a section that exists (`check` reports one that does not, with its
//!   line), so a renamed heading cannot leave phrasings pointing nowhere unnoticed.
//! - The file is optional: without it, sections are matched on their own text.

use serde::Deserialize;

/// File name, relative to the corpus directory.
pub const FILE: &str = "phrasings.toml";
/// Longest phrasing accepted, in characters: these are questions, not passages.
const MAX_CHARS: usize = 300;

/// Phrasings by section id (`<doc slug>/<heading slug>`), in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phrasings {
    /// (section id, its phrasings, 1-based line of its `id`).
    pub sections: Vec<(String, Vec<String>, usize)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    section: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: String,
    asks: Vec<String>,
}

impl Phrasings {
    /// Parses the file; the error is (line, message).
    pub fn parse(text: &str) -> Result<Phrasings, (usize, String)> {
        let raw: Raw = crate::corpus::parse_toml(text, "phrasings")?;
        let mut sections: Vec<(String, Vec<String>, usize)> = Vec::new();
        for s in raw.section {
            let line = text
                .lines()
                .position(|l| l.contains(&format!("\"{}\"", s.id)))
                .map_or(1, |i| i + 1);
            if s.id.split('/').count() != 2 {
                return Err((
                    line,
                    format!(
                        "phrasings: id {:?} is not a section id (`<document>/<heading slug>`)",
                        s.id
                    ),
                ));
            }
            if sections.iter().any(|(id, _, _)| *id == s.id) {
                return Err((
                    line,
                    format!("phrasings: section {:?} is listed twice", s.id),
                ));
            }
            let asks = clean_asks(s.asks).map_err(|e| (line, format!("phrasings: {e}")))?;
            sections.push((s.id, asks, line));
        }
        Ok(Phrasings { sections })
    }

    /// The phrasings of section `id`, if any.
    pub fn of(&self, id: &str) -> &[String] {
        self.sections
            .iter()
            .find(|(s, _, _)| s == id)
            .map_or(&[], |(_, asks, _)| asks.as_slice())
    }
}

/// `asks` trimmed, blank ones dropped, or why one is refused (too long for a question). Shared
/// by this file and `line-phrasings.toml`, which hold the same kind of entry.
pub(crate) fn clean_asks(asks: Vec<String>) -> Result<Vec<String>, String> {
    let asks: Vec<String> = asks
        .into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    match asks.iter().find(|a| a.chars().count() > MAX_CHARS) {
        Some(long) => Err(format!(
            "{:?}… is longer than {MAX_CHARS} characters",
            long.chars().take(40).collect::<String>()
        )),
        None => Ok(asks),
    }
}

/// The section id of a passage id (`doc/heading/n` → `doc/heading`).
pub fn section_of(passage_id: &str) -> &str {
    passage_id.rsplit_once('/').map_or(passage_id, |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_reports_bad_ones_by_line() {
        let p =
            Phrasings::parse("[[section]]\nid = \"doc/a\"\nasks = [\"who is it for\", \" \"]\n")
                .unwrap();
        assert_eq!(p.of("doc/a"), ["who is it for".to_string()]);
        assert!(p.of("doc/b").is_empty());
        let err = Phrasings::parse("[[section]]\nid = \"doc\"\nasks = []\n").unwrap_err();
        assert_eq!(err.0, 2);
        let twice = "[[section]]\nid = \"d/a\"\nasks = []\n[[section]]\nid = \"d/a\"\nasks = []\n";
        assert!(Phrasings::parse(twice).unwrap_err().1.contains("twice"));
        assert!(Phrasings::parse("[[section]]\nid = 3\n").is_err());
        assert_eq!(section_of("doc/a/2"), "doc/a");
    }
}
