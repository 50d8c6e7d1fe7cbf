//! Turns a staff question into an [`Answer`]: a short answer line built from the best passage,
//! and numbered citations.
//!
//! Invariants:
//! - Every sentence in `summary` is copied from a cited passage; nothing is generated.
//! - `answered` is false, and there are no citations, when the best passage does not cover the
//!   question's own content words well enough: a wrong citation given with confidence is worse
//!   than "not covered".
//! - Any input string is a valid question: quotes, operators, field syntax, emoji and very long
//!   text are only words. Nothing here panics on user input.
//! - The result is plain data: rendering (Discord, console, JSON) belongs to the front ends.

use std::collections::HashSet;
use std::ops::Range;

use crate::config::AnswerConfig;
use crate::index::{Hit, QueryTerm, SearchIndex, SearchRequest};
use crate::text::{sentences, truncate_words};
use crate::Result;

/// At most this many distinct words of a question are searched; the rest is ignored.
pub const MAX_QUERY_TERMS: usize = 48;
/// Longest answer line, in characters.
pub const MAX_SUMMARY_CHARS: usize = 420;

/// Words that carry no meaning for retrieval. Question words and pronouns are here because staff
/// phrase questions ("how do I…", "what will my…") while the corpus states facts.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "else",
    "etc",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "give",
    "go",
    "going",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "im",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "like",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "need",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "please",
    "same",
    "say",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "tell",
    "than",
    "thanks",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "use",
    "very",
    "want",
    "was",
    "way",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "s",
    "t",
    "d",
    "ll",
    "re",
    "ve",
    "m",
    "hi",
    "hello",
    "hey",
    "thank",
    "anyone",
    "someone",
    "something",
    "thing",
    "things",
    "really",
    "actually",
    "exactly",
    "currently",
    "today",
    "also",
    "many",
    "lot",
    "lots",
];

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
    /// The question's content terms after stemming, in order.
    pub terms: Vec<String>,
    /// Terms the best passage contains.
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

/// The question's content words: (surface word, analysed term), first occurrence order.
fn content_terms(index: &SearchIndex, question: &str) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for word in question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let lower = word.to_lowercase();
        if STOPWORDS.contains(&lower.as_str()) || lower.chars().count() > 40 {
            continue;
        }
        for term in index.analyze(&lower) {
            if seen.insert(term.clone()) {
                out.push((lower.clone(), term));
            }
        }
        if out.len() >= MAX_QUERY_TERMS {
            break;
        }
    }
    out
}

/// Answers `question` from `index`. Blocking: call it under `spawn_blocking` from async code.
pub fn answer(
    index: &SearchIndex,
    question: &str,
    config: &AnswerConfig,
    opts: &AskOptions,
) -> Result<Answer> {
    let top = opts.top.unwrap_or(config.top).clamp(1, 10);
    let terms = content_terms(index, question);
    let stems: Vec<String> = terms.iter().map(|(_, t)| t.clone()).collect();
    let mut explain = Explain {
        terms: stems.clone(),
        ..Explain::default()
    };
    let declined = |explain: Explain, summary: &str| Answer {
        question: question.to_string(),
        answered: false,
        summary: summary.to_string(),
        citations: Vec::new(),
        explain,
    };
    if stems.is_empty() {
        explain.declined_because = Some("the question has no searchable words".into());
        return Ok(declined(explain, EMPTY_QUESTION));
    }
    let request = SearchRequest {
        terms: stems
            .iter()
            .map(|t| QueryTerm {
                term: t.clone(),
                weight: 1.0,
                fuzzy: 0,
            })
            .collect(),
        phrases: stems
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone(), PHRASE_WEIGHT))
            .collect(),
        document: opts.document.clone(),
        limit: RERANK_DEPTH,
    };
    let mut hits = index.search(&request)?;
    rerank(index, &mut hits, &stems);
    hits.truncate(top * 4);
    let Some(best) = hits.first() else {
        explain.declined_because = Some("no passage contains any of the question's words".into());
        return Ok(declined(explain, NOT_COVERED));
    };
    let generic: HashSet<String> = GENERIC.iter().flat_map(|w| index.analyze(w)).collect();
    let specific = |h: &Hit| h.matched.iter().any(|m| !generic.contains(m));
    explain.matched = best.matched.clone();
    explain.coverage = coverage(index, &best.matched, &stems);
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
    let citations: Vec<Citation> = hits
        .iter()
        .filter(|h| h.score >= floor && specific(h))
        .take(top)
        .enumerate()
        .map(|(i, h)| Citation {
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
    let summary = summarise(index, best, &stems);
    Ok(Answer {
        question: question.to_string(),
        answered: true,
        summary,
        citations,
        explain,
    })
}

/// Weight of an adjacent pair of question words found side by side in a passage.
const PHRASE_WEIGHT: f32 = 0.5;

/// How many BM25 hits are re-ranked by coverage.
const RERANK_DEPTH: usize = 40;

/// Inverse document frequency of an analysed term over passage texts.
fn idf(index: &SearchIndex, term: &str) -> f32 {
    let n = index.num_passages().max(1) as f32;
    (1.0 + n / (1.0 + index.doc_freq(term) as f32)).ln()
}

/// IDF-weighted share of `stems` found in `matched`, in 0..=1.
fn coverage(index: &SearchIndex, matched: &[String], stems: &[String]) -> f32 {
    let total: f32 = stems.iter().map(|t| idf(index, t)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let covered: f32 = stems
        .iter()
        .filter(|t| matched.contains(t))
        .map(|t| idf(index, t))
        .sum();
    covered / total
}

/// Re-orders hits by BM25 times the IDF-weighted share of question terms each passage contains.
/// BM25 alone lets one frequent word ("health" five times) beat a passage that contains most of
/// the question; this coordination factor prefers the passage that answers the whole question.
fn rerank(index: &SearchIndex, hits: &mut [Hit], stems: &[String]) {
    let weights: Vec<(String, f32)> = stems.iter().map(|t| (t.clone(), idf(index, t))).collect();
    let total: f32 = weights
        .iter()
        .map(|(_, w)| w)
        .sum::<f32>()
        .max(f32::EPSILON);
    for h in hits.iter_mut() {
        let covered: f32 = weights
            .iter()
            .filter(|(t, _)| h.matched.contains(t))
            .map(|(_, w)| w)
            .sum();
        h.score *= covered / total;
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
}

/// Picks the sentence of the passage that covers the most question terms (rarer terms count
/// more); a very short pick brings its following sentence along for context.
fn summarise(index: &SearchIndex, hit: &Hit, stems: &[String]) -> String {
    let wanted: HashSet<&str> = stems.iter().map(String::as_str).collect();
    let sents = sentences(&hit.text);
    let scored: Vec<f32> = sents
        .iter()
        .map(|s| {
            let terms: HashSet<String> = index.analyze(s).into_iter().collect();
            terms
                .iter()
                .filter(|t| wanted.contains(t.as_str()))
                .map(|t| idf(index, t))
                .sum()
        })
        .collect();
    // First best sentence wins ties: earlier sentences usually introduce the topic.
    let mut best = 0;
    for (i, s) in scored.iter().enumerate() {
        if *s > scored[best] {
            best = i;
        }
    }
    let mut text = sents.get(best).copied().unwrap_or(&hit.text).to_string();
    if text.split_whitespace().count() < 20 {
        if let Some(next) = sents.get(best + 1) {
            text.push(' ');
            text.push_str(next);
        }
    }
    let text = text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(|c: char| c == '-' || c.is_ascii_digit() || c == '.' || c == ' ')
        .to_string();
    truncate_words(&text, MAX_SUMMARY_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
