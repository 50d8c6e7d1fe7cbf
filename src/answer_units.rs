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
    /// For a sentence that is a list item, the line it is read under: the nearest line before
    /// it that is not an item (the list's lead, "They are:"), or the heading when the list
    /// opens the passage. An item is a fragment ("Fulfilment at work: purpose, …"): what it
    /// is an item of is said only by its lead.
    pub lead: Option<String>,
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
            lead: None,
        });
    }
    // Cut into lines once: every sentence's lead is looked up among them.
    let lines: Vec<&str> = passage
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    units.extend(
        sentences(passage)
            .iter()
            .enumerate()
            .map(|(i, s)| AnswerUnit {
                sentence: i,
                whole: false,
                text: s.to_string(),
                lead: lead_in(&lines, heading, s).map(str::to_string),
            }),
    );
    units
}

/// The lead of `piece` ([`AnswerUnit::lead`]) among a passage's non-empty trimmed `lines`;
/// `None` for a piece that is not a list item.
fn lead_in<'a>(lines: &[&'a str], heading: &'a str, piece: &str) -> Option<&'a str> {
    let piece = piece.trim();
    if piece.is_empty() {
        return None;
    }
    let at = lines.iter().position(|l| l.contains(piece))?;
    item_marker(lines[at])?;
    let lead = lines[..at].iter().rev().find(|l| item_marker(l).is_none());
    Some(lead.copied().unwrap_or(heading))
}

/// Whether `sentence` is only a numbered item's marker ("4."): [`sentences`] cuts "4. Managers
/// and leaders: …" after the number, so a list's markers come out as sentences of their own.
pub fn marker_only(sentence: &str) -> bool {
    let s = sentence.trim();
    s.strip_suffix('.')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Length of a list item's marker ("- ", "3. ") at the start of `line`, if it has one.
fn item_marker(line: &str) -> Option<usize> {
    if let Some(r) = line.strip_prefix("- ") {
        return Some(line.len() - r.len());
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    (digits > 0 && line[digits..].starts_with(". ")).then_some(digits + 2)
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
    let items: Vec<&str> = lines
        .map_while(|l| item_marker(l).map(|m| &l[m..]))
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

    #[test]
    fn list_items_are_read_under_their_lead() {
        let lead = |passage: &str, heading: &str, piece: &str| {
            answer_units(passage, heading)
                .into_iter()
                .find(|u| !u.whole && u.text.trim() == piece)
                .unwrap_or_else(|| {
                    panic!(
                        "{piece:?} is a piece of {:?}",
                        answer_units(passage, heading)
                    )
                })
                .lead
        };
        let p =
            "1. Relationships: working together.\n2. Fulfilment at work: purpose and recognition.";
        assert_eq!(
            lead(
                p,
                "The seven elements",
                "Fulfilment at work: purpose and recognition."
            )
            .as_deref(),
            Some("The seven elements")
        );
        let led =
            "Some background. They are:\n\n1. Growing services.\n2. Growing people.\n\nAfter.";
        assert_eq!(
            lead(led, "H", "Growing people.").as_deref(),
            Some("Some background. They are:")
        );
        // A sentence outside a list has no lead.
        assert_eq!(lead(led, "H", "After."), None);
        assert_eq!(lead(led, "H", "Some background."), None);
        assert_eq!(lead_in(&["- a."], "H", "  "), None);
        // The heading-and-list line is not an item of anything.
        assert!(answer_units(p, "H")
            .iter()
            .all(|u| !u.whole || u.lead.is_none()));
    }

    #[test]
    fn bare_item_numbers_are_recognised() {
        assert!(marker_only("4."));
        assert!(marker_only(" 12. "));
        assert!(!marker_only("."));
        assert!(!marker_only("4. Managers and leaders."));
        assert!(!marker_only("In 2022."));
    }
}
