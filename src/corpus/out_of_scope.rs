//! `out-of-scope.toml`: questions staff ask that the documents do not answer (pay, rotas,
//! passwords, a trust's own OH phone number, this year's funding for one ICB), in groups by
//! kind. With the section phrasings ([`super::Phrasings`]) as the questions the documents do
//! answer, they train the scope model ([`crate::scope`]), which lets the bot answer a question
//! put in other words without answering one it only sounds like.
//!
//! Invariants:
//! - Examples only: never shown, never searched, never an answer.
//! - The file is optional: without it (or without phrasings) there is no scope model and the
//!   decision to answer uses the word and similarity rules alone, which decline more.
//! - A bad entry is reported with its line, like every corpus file.

use serde::Deserialize;

/// File name, relative to the corpus directory.
pub const FILE: &str = "out-of-scope.toml";
/// Longest example accepted, in characters: these are questions, not passages.
const MAX_CHARS: usize = 300;

/// The examples, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutOfScope {
    /// (kind, its questions, 1-based line of its `kind`).
    pub groups: Vec<(String, Vec<String>, usize)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    group: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    kind: String,
    messages: Vec<String>,
}

impl OutOfScope {
    /// Parses the file; the error is (line, message).
    pub fn parse(text: &str) -> Result<OutOfScope, (usize, String)> {
        let raw: Raw = crate::corpus::parse_toml(text, "out-of-scope examples")?;
        let mut groups: Vec<(String, Vec<String>, usize)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for g in raw.group {
            let line = text
                .lines()
                .position(|l| l.contains("kind") && l.contains(&format!("\"{}\"", g.kind)))
                .map_or(1, |i| i + 1);
            if g.kind.trim().is_empty() {
                return Err((line, "out-of-scope examples: a group has no kind".into()));
            }
            let mut messages = Vec::with_capacity(g.messages.len());
            for m in g.messages {
                let m = m.trim().to_string();
                if m.is_empty() {
                    return Err((
                        line,
                        format!(
                            "out-of-scope examples: group {:?} has an empty message",
                            g.kind
                        ),
                    ));
                }
                if m.chars().count() > MAX_CHARS {
                    return Err((
                        line,
                        format!(
                            "out-of-scope examples: {:?}… is longer than {MAX_CHARS} characters",
                            m.chars().take(40).collect::<String>()
                        ),
                    ));
                }
                // A repeat would count twice in training; it is a slip, not an error.
                if seen.insert(crate::text::normalise(&m)) {
                    messages.push(m);
                }
            }
            groups.push((g.kind, messages, line));
        }
        Ok(OutOfScope { groups })
    }

    /// Every question, in file order.
    pub fn questions(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flat_map(|(_, m, _)| m.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_drops_repeats_and_reports_bad_entries_by_line() {
        let ok = OutOfScope::parse(
            "[[group]]\nkind = \"pay\"\nmessages = [\"when is payday\", \"When is PAYDAY?\"]\n\n\
             [[group]]\nkind = \"it\"\nmessages = [\"reset my password\"]\n",
        )
        .unwrap();
        assert_eq!(
            ok.questions().collect::<Vec<_>>(),
            ["when is payday", "reset my password"]
        );
        assert_eq!(ok.groups[1].2, 6);
        let empty = OutOfScope::parse("[[group]]\nkind = \"pay\"\nmessages = [\"  \"]\n");
        assert_eq!(empty.unwrap_err().0, 2);
        let long = format!(
            "[[group]]\nkind = \"x\"\nmessages = [\"{}\"]\n",
            "a".repeat(301)
        );
        assert!(OutOfScope::parse(&long).unwrap_err().1.contains("longer"));
        let unknown = OutOfScope::parse("[[group]]\nkind = \"x\"\nmessage = []\n");
        assert!(unknown.is_err());
    }
}
