//! The pieces an answer line is chosen from: each sentence of a passage, and, for a passage
//! that is a list, the list introduced by its heading ("The seven elements: …; …"). The index
//! embeds these pieces when it is built and the answer builder scores them, so both must cut a
//! passage the same way: this module is the one place that does.
//!
//! Invariants:
//! - Pure functions of the passage text and heading; the order of the pieces is stable.
//! - Every piece's text is copied from the passage (or its heading): nothing is generated.

use crate::text::sentences;

/// One candidate for an answer line.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerUnit {
    /// Index of the sentence in [`sentences`] of the passage (0 for a list line).
    pub sentence: usize,
    /// Whether this is the heading-and-list line, used whole.
    pub whole: bool,
    /// The text.
    pub text: String,
}

/// The pieces of `passage` (whose section heading is `heading`), list line first.
pub fn answer_units(passage: &str, heading: &str) -> Vec<AnswerUnit> {
    let mut units = Vec::new();
    // A passage that is only a list ("The seven elements…" → "1. …") is introduced by its
    // heading: "Heading: item; item; …" is its answer line.
    if let Some(list) = list_after(passage, 0, ":") {
        units.push(AnswerUnit {
            sentence: 0,
            whole: true,
            text: format!("{heading}: {list}"),
        });
    }
    units.extend(
        sentences(passage)
            .iter()
            .enumerate()
            .map(|(i, s)| AnswerUnit {
                sentence: i,
                whole: false,
                text: s.to_string(),
            }),
    );
    units
}

/// The list that `picked` introduces, flattened: either `picked` ends with ':' or the next
/// line of `passage` (from byte `from`) is a short lead ending with ':'. List items that name
/// a thing before a colon ("Relationships: supporting each other…") keep just the name.
pub fn list_after(passage: &str, from: usize, picked: &str) -> Option<String> {
    let rest = passage.get(from..)?;
    let mut lines = rest.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut out = String::new();
    if !picked.trim_end().ends_with(':') {
        let lead = lines.next()?;
        if !lead.ends_with(':') || lead.split_whitespace().count() > 25 {
            return None;
        }
        out.push_str(lead);
        out.push(' ');
    }
    let marker = |l: &str| -> Option<usize> {
        if let Some(r) = l.strip_prefix("- ") {
            return Some(l.len() - r.len());
        }
        let digits = l.chars().take_while(char::is_ascii_digit).count();
        (digits > 0 && l[digits..].starts_with(". ")).then_some(digits + 2)
    };
    let items: Vec<&str> = lines
        .map_while(|l| marker(l).map(|m| &l[m..]))
        .map(|item| item.split_once(": ").map_or(item, |(name, _)| name))
        .map(|item| item.trim_end_matches('.'))
        .collect();
    if items.is_empty() {
        return None;
    }
    out.push_str(&items.join("; "));
    out.push('.');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introduced_lists_are_flattened_into_the_answer_line() {
        let p = "There are two drivers. They are:\n\n1. Growing services.\n2. Growing people: the OH workforce.\n\nMore text.";
        let end = p.find("drivers.").unwrap() + "drivers.".len();
        assert_eq!(
            list_after(p, end, "There are two drivers.").as_deref(),
            Some("They are: Growing services; Growing people.")
        );
        let end = p.find("They are:").unwrap() + "They are:".len();
        assert_eq!(
            list_after(p, end, "They are:").as_deref(),
            Some("Growing services; Growing people.")
        );
        assert_eq!(list_after("No list. Here.", 8, "No list."), None);
    }

    #[test]
    fn a_list_passage_starts_with_its_heading_line() {
        let u = answer_units("1. First.\n2. Second: more.", "Steps");
        assert_eq!(u[0].text, "Steps: First; Second.");
        assert!(u[0].whole);
        assert!(u.iter().skip(1).all(|x| !x.whole));
        let plain = answer_units("One. Two.", "H");
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].sentence, 1);
    }
}
