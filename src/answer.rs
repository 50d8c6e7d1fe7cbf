//! Turns a staff question into an [`Answer`]: a short answer line built from the best passage,
//! and numbered citations.
//!
//! Invariants:
//! - Every word of `summary` is copied from a cited passage (its sentences, its heading, or
//!   its list items joined with "; "); nothing is generated.
//! - `answered` is false, and there are no citations, when the best passage does not cover the
//!   question's own content words well enough: a wrong citation given with confidence is worse
//!   than "not covered".
//! - Any input string is a valid question: quotes, operators, field syntax, emoji and very long
//!   text are only words. Nothing here panics on user input.
//! - The result is plain data: rendering (Discord, console, JSON) belongs to the front ends.

use std::collections::HashSet;
use std::ops::Range;

use crate::config::AnswerConfig;
use crate::index::{Hit, SearchIndex};
use crate::query::{self, Concept};
use crate::text::{sentences, truncate_words};
use crate::Result;
/// Longest answer line, in characters.
pub const MAX_SUMMARY_CHARS: usize = 420;

/// Words too common in this corpus to make a question answerable on their own: a question must
/// match at least one word outside this list.
const GENERIC: &[&str] = &[
    "nhs", "staff", "health", "work", "people", "servic", "organis", "england", "support", "wellb",
    "new", "year", "plan", "look", "help", "make",
];

/// A fragment of passage text with the byte ranges of the words that matched the question.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    /// Plain text.
    pub text: String,
    /// Byte ranges into `text`, sorted, non-overlapping.
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The text with each highlight wrapped in `open` … `close` (for example `**` … `**`).
    /// `escape` is applied to every piece of the original text, never to the markers.
    pub fn marked(&self, open: &str, close: &str, escape: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        let mut at = 0;
        for r in &self.highlights {
            if r.start < at || r.end > self.text.len() {
                continue;
            }
            out.push_str(&escape(&self.text[at..r.start]));
            out.push_str(open);
            out.push_str(&escape(&self.text[r.clone()]));
            out.push_str(close);
            at = r.end;
        }
        out.push_str(&escape(&self.text[at..]));
        out
    }
}

/// One cited passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// 1-based position, best first.
    pub rank: usize,
    /// Stable passage id.
    pub passage_id: String,
    /// Document slug (what `source` filters take).
    pub doc_slug: String,
    /// Document title.
    pub document: String,
    /// Section path, `A › B`.
    pub section: String,
    /// Link to the source.
    pub url: String,
    /// Retrieval score (higher is better; comparable only within one answer).
    pub score: f32,
    /// The best fragment, with matched words marked.
    pub snippet: Snippet,
    /// The full passage text.
    pub text: String,
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The question as asked.
    pub question: String,
    /// Whether the corpus covers the question.
    pub answered: bool,
    /// One or two sentences from the best passage, or a "not covered" message.
    pub summary: String,
    /// Best first; empty when not answered.
    pub citations: Vec<Citation>,
    /// How the question was read, for `--explain`.
    pub explain: Explain,
}

/// Why an answer came out as it did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Explain {
    /// How each idea in the question was read: its stems, and any thesaurus or typo
    /// alternatives (`msk → musculoskelet (thesaurus)`).
    pub terms: Vec<String>,
    /// Search terms (own and alternative) the best passage contains.
    pub matched: Vec<String>,
    /// Share of `terms` in `matched`, each term weighted by its rarity (IDF), so that missing a
    /// distinctive word ("parking") counts for more than missing a common one ("hospital").
    pub coverage: f32,
    /// Why the question was declined, if it was.
    pub declined_because: Option<String>,
}

/// What the caller wants besides the question.
#[derive(Debug, Clone, Default)]
pub struct AskOptions {
    /// Restrict to one document slug.
    pub document: Option<String>,
    /// Override the configured number of citations.
    pub top: Option<usize>,
}

/// The message for a question the corpus does not cover.
pub const NOT_COVERED: &str = "The Growing OHWB Together strategy and its background documents \
do not seem to cover that, so I won't guess. Use /sources to see what I can answer from.";
/// The message for a question with no searchable words.
pub const EMPTY_QUESTION: &str =
    "Please ask a question in words, for example: how will occupational health become easier to reach?";

/// Answers `question` from `index`. Blocking: call it under `spawn_blocking` from async code.
pub fn answer(
    index: &SearchIndex,
    question: &str,
    config: &AnswerConfig,
    opts: &AskOptions,
) -> Result<Answer> {
    let top = opts.top.unwrap_or(config.top).clamp(1, 10);
    let concepts = query::analyse(index, question);
    let mut explain = Explain {
        terms: concepts.iter().map(Concept::describe).collect(),
        ..Explain::default()
    };
    let declined = |explain: Explain, summary: &str| Answer {
        question: question.to_string(),
        answered: false,
        summary: summary.to_string(),
        citations: Vec::new(),
        explain,
    };
    if concepts.is_empty() {
        explain.declined_because = Some("the question has no searchable words".into());
        return Ok(declined(explain, EMPTY_QUESTION));
    }
    let request = query::request(&concepts, opts.document.clone(), RERANK_DEPTH);
    let mut hits: Vec<(Hit, f32)> = index
        .search(&request)?
        .into_iter()
        .map(|h| {
            let present: HashSet<&str> = h.matched.iter().map(String::as_str).collect();
            let title: HashSet<&str> = h.matched_title.iter().map(String::as_str).collect();
            let cov = query::coverage_with_title(&concepts, &present, &title);
            (h, cov)
        })
        .collect();
    // BM25 alone lets one frequent word ("health" five times) beat a passage that contains most
    // of the question; weighting by coverage prefers the passage that answers all of it.
    for (h, cov) in &mut hits {
        h.score *= *cov;
    }
    hits.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    hits.truncate(top * 4);
    let Some((best, best_cov)) = hits.first() else {
        explain.declined_because = Some("no passage contains any of the question's words".into());
        return Ok(declined(explain, NOT_COVERED));
    };
    let generic: HashSet<String> = GENERIC.iter().flat_map(|w| index.analyze(w)).collect();
    // A passage must cover an idea of the question that is not just a corpus-wide word: a
    // concept with an own word outside GENERIC, covered by its words or an alternative.
    let specific = |h: &Hit| {
        let present: HashSet<&str> = h.matched.iter().map(String::as_str).collect();
        concepts
            .iter()
            .any(|c| c.stems.iter().any(|s| !generic.contains(s)) && c.covered_by(&present) > 0.0)
    };
    explain.matched = best.matched.clone();
    explain.coverage = *best_cov;
    if !specific(best) {
        explain.declined_because =
            Some("the best passage matches only words common to the whole corpus".into());
        return Ok(declined(explain, NOT_COVERED));
    }
    if explain.coverage < config.min_coverage {
        explain.declined_because = Some(format!(
            "the best passage covers {:.0}% of the question's words (needs {:.0}%)",
            explain.coverage * 100.0,
            config.min_coverage * 100.0
        ));
        return Ok(declined(explain, NOT_COVERED));
    }
    let floor = best.score * config.min_relative_score;
    let cited: Vec<&(Hit, f32)> = hits
        .iter()
        .filter(|(h, cov)| h.score >= floor && *cov >= config.min_coverage / 2.0 && specific(h))
        .take(top)
        .collect();
    let citations: Vec<Citation> = cited
        .iter()
        .enumerate()
        .map(|(i, (h, _))| Citation {
            rank: i + 1,
            passage_id: h.passage_id.clone(),
            doc_slug: h.doc_slug.clone(),
            document: h.document.clone(),
            section: h.section.clone(),
            url: h.url.clone(),
            score: h.score,
            snippet: Snippet {
                text: h.snippet.0.clone(),
                highlights: h.snippet.1.clone(),
            },
            text: h.text.clone(),
        })
        .collect();
    let summary = summarise(index, &citations, &concepts, config.min_coverage);
    Ok(Answer {
        question: question.to_string(),
        answered: true,
        summary,
        citations,
        explain,
    })
}

/// How many BM25 hits are re-ranked by coverage.
const RERANK_DEPTH: usize = 40;

/// The answer line: the sentence of the first two citations that covers the question best
/// (rarer words count more), marked with its citation number. A very short pick brings its
/// next sentence along for context.
fn summarise(
    index: &SearchIndex,
    citations: &[Citation],
    concepts: &[Concept],
    min_cov: f32,
) -> String {
    // (score, citation, sentence index, or a whole list line)
    let mut best: Option<(f32, usize, usize, Option<String>)> = None;
    for (ci, c) in citations.iter().take(2).enumerate() {
        // The second citation must earn its place: it needs clearly better coverage.
        let penalty = if ci == 0 { 1.0 } else { 0.8 };
        let score_of = |s: &str| {
            let terms: HashSet<String> = index.analyze(s).into_iter().collect();
            let present: HashSet<&str> = terms.iter().map(String::as_str).collect();
            query::coverage(concepts, &present) * penalty
        };
        // A passage that is only a list ("The seven elements…" → "1. …") is introduced by its
        // heading: "Heading: item; item; …" is its answer line.
        if let Some(list) = list_after(&c.text, 0, ":") {
            let heading = c.section.rsplit(" › ").next().unwrap_or_default();
            let line = format!("{heading}: {list}");
            let score = score_of(&line);
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, ci, 0, Some(line)));
            }
        }
        for (si, s) in sentences(&c.text).iter().enumerate() {
            let score = score_of(s);
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, ci, si, None));
            }
        }
    }
    let Some((score, ci, si, whole)) = best else {
        return String::new();
    };
    let (ci, si, whole) = if score <= 0.0 || (ci > 0 && score < min_cov / 2.0) {
        (0, 0, None)
    } else {
        (ci, si, whole)
    };
    let sents = sentences(&citations[ci].text);
    let text = match whole {
        Some(line) => line,
        None => {
            let mut text = sents.get(si).copied().unwrap_or_default().to_string();
            let mut last = sents.get(si).copied().unwrap_or_default();
            if text.split_whitespace().count() < 20 {
                if let Some(next) = sents.get(si + 1) {
                    text.push(' ');
                    text.push_str(next);
                    last = next;
                }
            }
            // "…built on four strategic drivers. They are:" is only useful with its list.
            let passage = &citations[ci].text;
            if let Some(end) = passage.find(last).map(|i| i + last.len()) {
                if let Some(list) = list_after(passage, end, &text) {
                    text.push(' ');
                    text.push_str(&list);
                }
            }
            text
        }
    };
    let text = text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(|c: char| c == '-' || c.is_ascii_digit() || c == '.' || c == ' ')
        .to_string();
    let marker = format!(" [{}]", ci + 1);
    format!(
        "{}{marker}",
        truncate_words(&text, MAX_SUMMARY_CHARS - marker.len())
    )
}

/// The list that `picked` introduces, flattened: either `picked` ends with ':' or the next
/// line of `passage` (from byte `from`) is a short lead ending with ':'. List items that name
/// a thing before a colon ("Relationships: supporting each other…") keep just the name.
fn list_after(passage: &str, from: usize, picked: &str) -> Option<String> {
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
    fn marked_snippets_escape_text_but_not_markers() {
        let s = Snippet {
            text: "a *b* c".into(),
            highlights: std::iter::once(2..5).collect(),
        };
        assert_eq!(
            s.marked("**", "**", |t| t.replace('*', "\\*")),
            "a **\\*b\\*** c"
        );
        let bad = Snippet {
            text: "abc".into(),
            highlights: std::iter::once(1..9).collect(),
        };
        assert_eq!(bad.marked("[", "]", str::to_string), "abc");
    }
}
