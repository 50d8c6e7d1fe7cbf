//! The answer line: the sentence (or introduced list) of the best section's passages that best
//! answers the question, by its words, by its meaning and by the ways staff ask for it (its
//! line phrasings), made readable on its own, and the next best one of the same section when
//! both fit.
//!
//! Invariants:
//! - Every word of a part is copied from one passage of the pool (its sentences, its heading,
//!   or its list items joined with "; "); the caller cites that passage and numbers the part
//!   after it. At most two parts, from two passages of one section.
//! - The pool's first passage and the others of its section (one section is split into a
//!   passage per source, and the answer is often in another source's) give the line, unless
//!   they have nothing that answers and the next cited section clearly does.
//! - A sentence that leans on the one before ("They…", "It…", "The same…") brings it along.
//! - At most [`MAX_SUMMARY_CHARS`] characters, markers included; a second piece is added whole
//!   or not at all.

use std::collections::HashSet;

use super::kinds::{has_answer_type, wants, Wants};
use super::Citation;
use crate::answer_units::{answer_units, list_after, marker_only, AnswerUnit};
use crate::corpus::phrasings::section_of;
use crate::embed::dot;
use crate::index::{SearchIndex, PHRASING_WEIGHT};
use crate::query::{self, Concept};
use crate::text::{sentences, truncate_words};

/// Longest answer line, in characters.
pub const MAX_SUMMARY_CHARS: usize = 420;

/// Weight of a sentence's cosine with the question beside its word coverage (0..1 each).
/// Chosen on dev with the other weights here (0, 0.25, 0.5, 1, 2): words decide, meaning
/// breaks their ties.
const MEANING_WEIGHT: f32 = 0.5;
/// Weight of the question top's vector of the question against a piece's base vector. The
/// question top learns this alongside its sections (`train-question-top`'s sentence objective:
/// a line phrasing's vector must pick its own sentence from its section's pieces), so it can
/// tell "final report" from "interim report" for "finished write up" where the base vectors
/// cannot. Swept on dev (staff dev split, 118 lines, with the top trained at sentence weight
/// 1): 0 0.839, 1 0.856, 2-4 0.881, 6 0.873, 10 0.881. The plateau's low end: from 2.5 up,
/// "how will occupational health services become easier to reach" (the README's first example)
/// took its line from [2]'s sentence naming the area for action over [1]'s saying services
/// should be accessible for all staff; test figures are the same at 2 and 3.
const QUESTION_TOP_WEIGHT: f32 = 2.0;
/// A pick from [1]'s section scoring at least this is good enough; the next section is not
/// looked at.
const GOOD_ENOUGH: f32 = 0.9;
/// How much better the next section's best must score to replace it. Swept on dev after the
/// line began to carry a second piece (staff dev split, 118 lines): 0.25 0.678, 0.35-0.55
/// 0.712-0.720, 0.75 0.703, never 0.695; [1]'s own section now wins more often, and the
/// next section still rescues a line when [1] is the wrong section.
const SECOND_MARGIN: f32 = 0.5;
/// Each later passage of [1]'s section scores this much less than the one before it: [1] is
/// the passage the ranking put first, and wins near-ties.
const PASSAGE_PENALTY: f32 = 0.05;
/// Room kept for the citation marker (" [10]") within [`MAX_SUMMARY_CHARS`].
const MARKER_CHARS: usize = 5;
/// Earlier sentences win near-ties: a passage usually says the main thing first.
const POSITION_PENALTY: f32 = 0.01;
/// Below this many words a sentence brings the next one along for context.
const SHORT_WORDS: usize = 20;
/// Bonus for a sentence holding the kind of thing the question asks for: a date for "when",
/// a number for "how many", a sum in pounds for "how much did it cost" (a "when" answered
/// without a date is almost never right, so these weigh more than a word match; the sum took
/// "cost a year at the time of the Boorman review" from the absence rate to £1.7 billion)...
const ANSWER_TYPE_BONUS: f32 = 0.6;
/// ...and a name for "who", weaker because capitalised words are everywhere ("NHS").
const NAME_BONUS: f32 = 0.3;
/// ...and a word saying whether something goes on ("discontinued", "closed") for "is it still
/// running", weaker too: 0.3 and 0.6 chose the same lines on dev.
const STATUS_BONUS: f32 = 0.3;
/// Openings that refer back to the previous sentence.
const LEANS_BACK: &[&str] = &[
    "they ",
    "it ",
    "its ",
    "this ",
    "these ",
    "those ",
    "that ",
    "the same ",
    "he ",
    "she ",
    "his ",
    "her ",
    "their ",
    "both ",
    "such ",
    "there ",
    "also ",
    "however",
    "instead",
    "in it",
    "in this",
    "in these",
    "here ",
];

/// One part of the answer line, without its citation marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Within [`MAX_SUMMARY_CHARS`], markers included, with the other part.
    pub text: String,
    /// The passage it came from: an index into the pool.
    pub source: usize,
}

/// A scored piece of a pool passage.
struct Scored {
    score: f32,
    source: usize,
    unit: AnswerUnit,
}

/// A piece made readable: its text and, for a sentence, the sentences it spans.
struct Span {
    source: usize,
    sentences: Option<(usize, usize)>,
    /// Whether it holds a list (a heading-and-list line, or a lead brought its list along).
    listed: bool,
    text: String,
}

impl Span {
    /// Whether the two share text: the same sentences of one passage, or one holding the other
    /// (a list item is also a sentence of its passage).
    fn overlaps(&self, other: &Span) -> bool {
        if self.text.contains(&other.text) || other.text.contains(&self.text) {
            return true;
        }
        match (self.sentences, other.sentences) {
            (Some((a, b)), Some((c, d))) => self.source == other.source && a <= d && c <= b,
            _ => false,
        }
    }
}

/// Builds the answer line from `pool`: the citations, best first, then passages of the first
/// citation's section that are not cited. `vector` is the question's sentence vector; without
/// it (lexical mode) sentences are scored by their words only.
///
/// The line is the best piece, followed by the next best piece of the same section when it
/// fits: one sentence rarely carries a whole answer ("…at a cost of £1.7 billion a year" is the
/// sentence after the one that names the review). Two pieces of one passage make one part, in
/// the passage's order; pieces of two passages make two parts, each cited. Empty when no
/// passage has a piece.
pub fn answer_line(
    index: &SearchIndex,
    question: &str,
    pool: &[Citation],
    concepts: &[Concept],
    vector: Option<&[f32]>,
    question_vector: Option<&[f32]>,
) -> Vec<Line> {
    let want = wants(question);
    let Some(first) = pool.first() else {
        return Vec::new();
    };
    let first_section = section_of(&first.passage_id);
    let (same, other): (Vec<usize>, Vec<usize>) =
        (0..pool.len()).partition(|&i| section_of(&pool[i].passage_id) == first_section);
    let score_all = |ci: usize| {
        scored_units(
            index,
            ci,
            &pool[ci],
            concepts,
            vector,
            question_vector,
            want,
        )
    };
    let mut group: Vec<Scored> = same
        .iter()
        .enumerate()
        .flat_map(|(k, &i)| {
            score_all(i).into_iter().map(move |mut s| {
                s.score -= PASSAGE_PENALTY * k as f32;
                s
            })
        })
        .collect();
    let top_of = |g: &[Scored]| g.iter().map(|s| s.score).fold(f32::NEG_INFINITY, f32::max);
    if group.is_empty() || top_of(&group) < GOOD_ENOUGH {
        // The next section, only if it is cited (an uncited passage is only ever one of the
        // first section's).
        if let Some(&second) = other.first() {
            let theirs = score_all(second);
            if !group.is_empty()
                && !theirs.is_empty()
                && top_of(&theirs) > top_of(&group) + SECOND_MARGIN
            {
                group = theirs;
            }
        }
    }
    // Stable: the earlier piece (earlier passage, earlier sentence) wins a tie.
    group.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut spans = group.iter().map(|s| span(pool, s));
    let Some(best) = spans.next() else {
        return Vec::new();
    };
    let budget = MAX_SUMMARY_CHARS - MARKER_CHARS;
    let mut parts = vec![Line {
        text: truncate_words(&best.text, budget),
        source: best.source,
    }];
    // A list is the whole answer: a piece after it reads as one more item.
    if best.listed {
        return parts;
    }
    let Some(next) = spans.find(|s| !s.overlaps(&best)) else {
        return parts;
    };
    let chars = |s: &str| s.chars().count();
    if next.source == best.source {
        if chars(&best.text) + 1 + chars(&next.text) <= budget {
            // One passage: keep its order.
            let (a, b) = match (best.sentences, next.sentences) {
                (Some((x, _)), Some((y, _))) if y < x => (&next, &best),
                _ => (&best, &next),
            };
            parts[0].text = format!("{} {}", a.text, b.text);
        }
    } else if chars(&best.text) + 1 + chars(&next.text) + MARKER_CHARS <= budget {
        parts.push(Line {
            text: next.text,
            source: next.source,
        });
    }
    parts
}

/// The piece `s` made readable on its own: with the sentence it leans on, with the next one
/// when it is short, with the list it introduces.
fn span(pool: &[Citation], s: &Scored) -> Span {
    let passage = &pool[s.source].text;
    let unit = &s.unit;
    let (text, sentences, listed) = match unit.whole {
        true => (unit.text.clone(), None, true),
        false => {
            let sents = sentences(passage);
            let si = unit.sentence;
            let (mut from, mut to) = (si, si);
            let mut text = unit.text.clone();
            let mut last = sents.get(si).copied().unwrap_or_default();
            let (prev, next) = context(&sents, unit);
            if let Some(prev) = prev {
                text = format!("{prev} {text}");
                from = si - 1;
            }
            if let Some(next) = next {
                text.push(' ');
                text.push_str(next);
                last = next;
                to = si + 1;
            }
            // "…built on four strategic drivers. They are:" is only useful with its list.
            let list = list_shown(passage, last, &text);
            if let Some(list) = &list {
                text.push(' ');
                text.push_str(list);
            }
            (text, Some((from, to)), list.is_some())
        }
    };
    let text = text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(|c: char| c == '-' || c.is_ascii_digit() || c == '.' || c == ' ')
        .to_string();
    Span {
        source: s.source,
        sentences,
        listed,
        text,
    }
}

/// The sentences a piece is shown with, of its passage's `sents`: the one before when the
/// piece leans on it, the one after when the two are still short. The one rule by which
/// [`span`] shows a piece and [`scored_units`] reads it.
fn context<'a>(sents: &[&'a str], u: &AnswerUnit) -> (Option<&'a str>, Option<&'a str>) {
    if u.whole {
        return (None, None);
    }
    let prev = (u.sentence.checked_sub(1))
        .and_then(|p| sents.get(p).copied())
        .filter(|_| leans_back(&u.text));
    let words =
        u.text.split_whitespace().count() + prev.map_or(0, |p| p.split_whitespace().count());
    // A list's next "sentence" is the next item's number: an item is shown alone.
    let next = sents
        .get(u.sentence + 1)
        .copied()
        .filter(|n| words < SHORT_WORDS && !marker_only(n));
    (prev, next)
}

/// The list a piece is shown with: the one introduced right after `last`, the last sentence
/// of `text` (the piece as shown, with the sentences [`context`] brings). The one rule by which
/// [`span`] shows a list and [`scored_units`] scores a lead with it.
fn list_shown(passage: &str, last: &str, text: &str) -> Option<String> {
    passage
        .find(last)
        .and_then(|i| list_after(passage, i + last.len(), text))
}

fn leans_back(sentence: &str) -> bool {
    let lower = sentence.trim_start().to_lowercase();
    LEANS_BACK.iter().any(|w| lower.starts_with(w))
}

/// Every answer piece of citation `ci`, scored (word coverage + answer type + meaning, read
/// from the piece itself or its line phrasings).
fn scored_units(
    index: &SearchIndex,
    ci: usize,
    c: &Citation,
    concepts: &[Concept],
    vector: Option<&[f32]>,
    question_vector: Option<&[f32]>,
    want: Wants,
) -> Vec<Scored> {
    let heading = c.section.rsplit(" › ").next().unwrap_or_default();
    let units = answer_units(&c.text, heading);
    // The index embedded these pieces (and their line phrasings) when it was built; a piece
    // count that does not match (a damaged file) leaves the choice to the words alone.
    // The question top's reading of the question against each piece's base vector: the top
    // learnt which sentence a question is after (zero when either vector is missing).
    let mut sentence_fit = vec![0.0f32; units.len()];
    let (meanings, asked): (Vec<f32>, Vec<f32>) = match (vector, index.unit_vectors(&c.passage_id))
    {
        (Some(q), Some(vs)) if vs.pieces.len() == units.len() => {
            if let Some(qt) = question_vector {
                for (f, v) in sentence_fit.iter_mut().zip(&vs.pieces) {
                    *f = dot(qt, v);
                }
            }
            let mut asked = vec![0.0f32; units.len()];
            for (k, v) in &vs.phrasings {
                if let Some(a) = asked.get_mut(*k) {
                    *a = a.max(dot(q, v));
                }
            }
            let meanings = vs.pieces.iter().map(|v| dot(q, v).max(0.0)).collect();
            (meanings, asked)
        }
        _ => (vec![0.0; units.len()], vec![0.0; units.len()]),
    };
    let sents = sentences(&c.text);
    units
        .into_iter()
        .zip(meanings.into_iter().zip(asked))
        .zip(sentence_fit)
        .map(|((u, (meaning, asked)), fit)| {
            // A piece is read as it is shown ([`context`]): with the sentence it leans on,
            // "It has been discontinued" answers "is the coaching still running"...
            let (prev, next) = context(&sents, &u);
            let read = match prev {
                Some(prev) => format!("{prev} {}", u.text),
                None => u.text.clone(),
            };
            let covered = |text: &str| {
                let terms: HashSet<String> = index.analyze(text).into_iter().collect();
                let present: HashSet<&str> = terms.iter().map(String::as_str).collect();
                query::coverage(concepts, &present)
            };
            let mut words = covered(&read);
            if !u.whole {
                // ...a list item that says what a named thing is, under its lead, when the
                // item itself answers part of the question: "Fulfilment at work: purpose, …"
                // is an element of "the seven elements of the health and wellbeing model". An
                // item that is only a name ("Growing our OHWB people.") says no more than
                // the list does...
                if let Some(lead) = &u.lead {
                    if words > 0.0 && u.text.contains(": ") {
                        words = covered(&format!("{lead} {read}"));
                    }
                // ...and a lead with the list it is shown with ([`span`]): an item read under
                // the lead never covers more than the lead and its list.
                } else if let Some(list) = {
                    let shown = [prev, Some(u.text.as_str()), next]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    list_shown(&c.text, next.unwrap_or(&u.text), &shown)
                } {
                    words = covered(&format!("{read} {list}"));
                }
            }
            // ...and the kind of answer may be in the next sentence a short one is shown
            // with: "…lost over 10 million working days a year." then "…at a cost of £1.7
            // billion a year."
            let shown = match next {
                Some(next) => format!("{} {next}", u.text),
                None => u.text.clone(),
            };
            let kind = match (has_answer_type(&shown, want), want) {
                (false, _) => 0.0,
                (true, Wants::Name) => NAME_BONUS,
                (true, Wants::Status) => STATUS_BONUS,
                (true, _) => ANSWER_TYPE_BONUS,
            };
            // A sentence means what it says or what staff ask for with it (its line
            // phrasings), the latter discounted as on the dense side: a question meets another
            // question at a higher cosine than it meets its answer. Added as a second term
            // instead (0.25-3 × on dev: 0.75-0.77 against 0.75 here) it let one phrasing outvote
            // the words: "what happened to the staff mental health hubs" got the hubs' opening,
            // not the sentence saying their funding ended.
            let meaning = meaning.max(PHRASING_WEIGHT * asked);
            let score = words + kind + MEANING_WEIGHT * meaning + QUESTION_TOP_WEIGHT * fit
                - POSITION_PENALTY * u.sentence as f32;
            Scored {
                score,
                source: ci,
                unit: u,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_overlap_on_shared_sentences_or_text() {
        let span = |source, sentences, text: &str| Span {
            source,
            sentences,
            listed: false,
            text: text.into(),
        };
        let a = span(0, Some((2, 3)), "B. C.");
        assert!(a.overlaps(&span(0, Some((3, 4)), "C. D.")));
        assert!(!a.overlaps(&span(0, Some((4, 4)), "D.")));
        // The same sentence numbers in another passage are other sentences.
        assert!(!a.overlaps(&span(1, Some((2, 3)), "X. Y.")));
        // A list item is also a sentence: its text inside the list line overlaps it.
        let list = span(0, None, "Drivers: one; two; three.");
        assert!(list.overlaps(&span(0, Some((5, 5)), "three.")));
        assert!(!list.overlaps(&span(0, Some((5, 5)), "Four.")));
    }

    #[test]
    fn sentences_that_refer_back_are_recognised() {
        assert!(leans_back("They were published in 2022."));
        assert!(leans_back("The same page says more."));
        assert!(leans_back("  It is a roadmap."));
        assert!(!leans_back("Theresa May commissioned it."));
        assert!(!leans_back("Items are listed."));
    }
}
