//! Reads a question into [`Concept`]s and turns them into a [`SearchRequest`].
//!
//! A concept is one idea in the question: the user's own words (stemmed) plus alternatives that
//! may stand for them in the corpus, from the thesaurus (`"msk"` → musculoskeletal) or from typo
//! correction (`"preventitive"` → preventative, only for words that are neither in the index nor
//! real English words by the embedding model's vocabulary).
//! Alternatives are searched with less weight than the user's own words, and a passage covers a
//! concept when it contains the user's words or any one alternative.
//!
//! Invariants:
//! - Only analysed terms reach the index; nothing in a question is query syntax.
//! - At most [`MAX_CONCEPTS`] concepts are read, however long the question.

use std::collections::{BTreeMap, HashSet};

use crate::corpus::thesaurus::normalise;
use crate::index::{QueryForm, SearchIndex, SearchRequest};

/// At most this many concepts are taken from a question; the rest is ignored.
pub const MAX_CONCEPTS: usize = 48;
/// Most words of one question the typo corrector looks at.
pub const MAX_TYPO_WORDS: usize = 8;
/// Weight of a thesaurus alternative relative to the user's own words.
pub const THESAURUS_WEIGHT: f32 = 0.6;
/// Weight of a typo correction.
pub const TYPO_WEIGHT: f32 = 0.5;
/// Weight of an adjacent pair of the user's words found side by side.
pub const PHRASE_WEIGHT: f32 = 1.0;
/// How much a typo correction covers of its concept: a guess, so less than the word itself.
pub const TYPO_COVERAGE: f32 = 0.75;
/// Words shorter than this are never typo-corrected (too many near neighbours).
pub const MIN_TYPO_CHARS: usize = 6;

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
    "pls",
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
    "come",
    "comes",
    "came",
    "make",
    "makes",
    "made",
    "anything",
    "going",
    "gonna",
    "wanna",
    "yes",
    "ok",
    "okay",
    "mean",
    "means",
    "actual",
];

/// How a concept's alternatives were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Only the user's words.
    Own,
    /// A thesaurus entry matched.
    Thesaurus,
    /// The word is unknown to the index; close known words stand in.
    Typo,
}

/// One idea in the question.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// The words as typed (lowercased), for explanations.
    pub words: String,
    /// The user's words, analysed; a passage with all of them covers the concept.
    pub stems: Vec<String>,
    /// Alternatives, analysed; a passage with all words of any one covers the concept.
    pub alternatives: Vec<Vec<String>>,
    /// Where the alternatives came from.
    pub source: Source,
    /// How much the concept matters: summed rarity (IDF) of its own words.
    pub weight: f32,
    /// No passage uses any of its own words (in any field). Whether an alternative stands in
    /// for them is `source`'s business.
    pub unused: bool,
}

impl Concept {
    /// 0 when `present` lacks the concept, 1 when it has the user's words or a thesaurus
    /// alternative, slightly less for a typo correction.
    pub fn covered_by(&self, present: &HashSet<&str>) -> f32 {
        let has = |ws: &[String]| !ws.is_empty() && ws.iter().all(|w| present.contains(w.as_str()));
        if has(&self.stems) {
            1.0
        } else if self.alternatives.iter().any(|a| has(a)) {
            if self.source == Source::Typo {
                TYPO_COVERAGE
            } else {
                1.0
            }
        } else {
            0.0
        }
    }

    /// One line for `--explain`.
    pub fn describe(&self) -> String {
        let alts: Vec<String> = self.alternatives.iter().map(|a| a.join(" ")).collect();
        match self.source {
            Source::Own => self.stems.join(" "),
            Source::Thesaurus => format!("{} → {} (thesaurus)", self.words, alts.join(" | ")),
            Source::Typo => format!("{} → {} (typo?)", self.words, alts.join(" | ")),
        }
    }
}

pub(crate) fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// Inverse document frequency of a term found in `freq` of `n` passages; unknown terms get
/// the most.
fn idf(n: f32, freq: u64) -> f32 {
    (1.0 + n / (1.0 + freq as f32)).ln()
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), stopping early
/// once it exceeds `max`.
fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
            row_min = row_min.min(cur[j]);
        }
        if row_min > max {
            return None;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// Known words within edit distance of an unknown one: the closest, most common first, up to 2.
fn corrections(index: &SearchIndex, surface: &str, stem: &str) -> Vec<Vec<String>> {
    let len = surface.chars().count();
    if len < MIN_TYPO_CHARS || surface.chars().any(|c| c.is_ascii_digit()) {
        return Vec::new();
    }
    let max = if len <= 7 { 1 } else { 2 };
    let mut found: Vec<(usize, u64, &String)> = index
        .vocabulary()
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .filter_map(|w| distance(stem, w, max).map(|d| (d, w)))
        .map(|(d, w)| (d, index.any_field_freq(w), w))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found
        .into_iter()
        .take(2)
        .map(|(_, _, w)| vec![w.clone()])
        .collect()
}

fn analyse_words(index: &SearchIndex, words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words.iter().filter(|w| !is_stopword(w)) {
        for t in index.analyze(w) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Reads the question into concepts, in order, without duplicates.
pub fn analyse(index: &SearchIndex, question: &str) -> Vec<Concept> {
    let thesaurus: &BTreeMap<String, Vec<String>> = &index.manifest().thesaurus;
    let max_key = thesaurus
        .keys()
        .map(|k| k.split(' ').count())
        .max()
        .unwrap_or(0);
    let normalised = normalise(question);
    let words: Vec<&str> = normalised.split(' ').filter(|w| !w.is_empty()).collect();
    let mut concepts: Vec<Concept> = Vec::new();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    // Each distinct word is analysed once, and only so many may be typo-corrected: the cost of
    // a question is bounded whatever it repeats ("xyzzyq " × 1,000).
    let mut seen_words: HashSet<&str> = HashSet::new();
    let mut typo_budget = MAX_TYPO_WORDS;
    let mut i = 0;
    while i < words.len() && concepts.len() < MAX_CONCEPTS {
        let mut matched = None;
        for k in (1..=max_key.min(words.len() - i)).rev() {
            let key = words[i..i + k].join(" ");
            if let Some(alts) = thesaurus.get(&key) {
                matched = Some((k, key, alts));
                break;
            }
        }
        let concept = if let Some((k, key, alts)) = matched {
            i += k;
            let own: Vec<&str> = key.split(' ').collect();
            let mut stems = analyse_words(index, &own);
            if stems.is_empty() {
                // A key made only of stopwords ("come out") still stands for its alternatives.
                stems = own.iter().flat_map(|w| index.analyze(w)).collect();
            }
            let alternatives: Vec<Vec<String>> = alts
                .iter()
                .map(|a| {
                    let n = normalise(a);
                    analyse_words(index, &n.split(' ').collect::<Vec<_>>())
                })
                .filter(|a| !a.is_empty())
                .collect();
            Concept {
                words: key,
                stems,
                alternatives,
                source: Source::Thesaurus,
                weight: 0.0,
                unused: false,
            }
        } else {
            let w = words[i];
            i += 1;
            if is_stopword(w) || w.chars().count() > 40 || !seen_words.insert(w) {
                continue;
            }
            let stems = index.analyze(w);
            let Some(stem) = stems.first().cloned() else {
                continue;
            };
            // Only a word that is neither in the index nor a real English word (a whole word
            // of the model's vocabulary) may be a typo: "thinking" is never "corrected" to
            // "this", nor "according" to "record".
            let typo =
                typo_budget > 0 && index.any_field_freq(&stem) == 0 && !index.embedder().is_word(w);
            let alternatives = if typo {
                typo_budget -= 1;
                corrections(index, w, &stem)
            } else {
                Vec::new()
            };
            let source = if alternatives.is_empty() {
                Source::Own
            } else {
                Source::Typo
            };
            Concept {
                words: w.to_string(),
                stems,
                alternatives,
                source,
                weight: 0.0,
                unused: false,
            }
        };
        if concept.stems.is_empty() || !seen.insert(concept.stems.clone()) {
            continue;
        }
        concepts.push(concept);
    }
    let n = index.num_passages().max(1) as f32;
    for c in &mut concepts {
        let freqs: Vec<u64> = c.stems.iter().map(|s| index.any_field_freq(s)).collect();
        c.weight = freqs.iter().map(|&f| idf(n, f)).sum();
        c.unused = freqs.iter().all(|&f| f == 0);
    }
    concepts
}

/// The search for a set of concepts: one group per concept, whose forms are the user's own
/// words (weight 1) and each alternative (weighted lower).
pub fn request(concepts: &[Concept], document: Option<String>, limit: usize) -> SearchRequest {
    let mut phrases = Vec::new();
    let groups = concepts
        .iter()
        .map(|c| {
            let alt_weight = if c.source == Source::Typo {
                TYPO_WEIGHT
            } else {
                THESAURUS_WEIGHT
            };
            let mut forms = vec![QueryForm {
                terms: c.stems.clone(),
                weight: 1.0,
            }];
            for a in &c.alternatives {
                forms.push(QueryForm {
                    terms: a.clone(),
                    weight: alt_weight,
                });
                for pair in a.windows(2) {
                    phrases.push((pair[0].clone(), pair[1].clone(), PHRASE_WEIGHT * alt_weight));
                }
            }
            forms
        })
        .collect();
    // Adjacent words inside a concept, then across neighbouring concepts in any of their forms
    // ("5 year" → five year), so a passage with the same wording ranks above scattered words.
    for c in concepts {
        for pair in c.stems.windows(2) {
            phrases.push((pair[0].clone(), pair[1].clone(), PHRASE_WEIGHT));
        }
    }
    for pair in concepts.windows(2) {
        let (left, right) = (&pair[0], &pair[1]);
        let lasts = std::iter::once(&left.stems)
            .chain(&left.alternatives)
            .filter_map(|f| f.last());
        for l in lasts {
            let firsts = std::iter::once(&right.stems)
                .chain(&right.alternatives)
                .filter_map(|f| f.first());
            for r in firsts {
                let own = left.stems.last() == Some(l) && right.stems.first() == Some(r);
                let w = if own {
                    PHRASE_WEIGHT
                } else {
                    PHRASE_WEIGHT * THESAURUS_WEIGHT
                };
                phrases.push((l.clone(), r.clone(), w));
            }
        }
    }
    SearchRequest {
        groups,
        phrases,
        document,
        limit,
    }
}

/// IDF-weighted share of the concepts that `present` covers, in 0..=1.
pub fn coverage(concepts: &[Concept], present: &HashSet<&str>) -> f32 {
    coverage_with_title(concepts, present, &HashSet::new())
}

/// Credit for a concept found only in the document's title: it places the passage in the right
/// document ("what did Boorman find…") without showing the passage itself is about it.
pub const TITLE_CREDIT: f32 = 0.5;

/// Like [`coverage`], with concepts found only in the document title (`title`) half covered.
pub fn coverage_with_title(
    concepts: &[Concept],
    present: &HashSet<&str>,
    title: &HashSet<&str>,
) -> f32 {
    let total: f32 = concepts.iter().map(|c| c.weight).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let both: HashSet<&str> = present.union(title).copied().collect();
    concepts
        .iter()
        .map(|c| {
            c.weight
                * c.covered_by(present)
                    .max(TITLE_CREDIT * c.covered_by(&both))
        })
        .sum::<f32>()
        / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(distance("prevent", "prevnet", 1), Some(1));
        assert_eq!(distance("recomend", "recommend", 1), Some(1));
        assert_eq!(distance("kitten", "sitting", 2), None);
        assert_eq!(distance("kitten", "sitting", 3), Some(3));
        assert_eq!(distance("abc", "abcdef", 2), None);
    }

    #[test]
    fn coverage_counts_alternatives() {
        let c = Concept {
            words: "msk".into(),
            stems: vec!["msk".into()],
            alternatives: vec![vec!["musculoskelet".into()]],
            source: Source::Thesaurus,
            weight: 2.0,
            unused: false,
        };
        let other = Concept {
            words: "absence".into(),
            stems: vec!["absenc".into()],
            alternatives: vec![],
            source: Source::Own,
            weight: 1.0,
            unused: false,
        };
        let both = [c, other];
        let present: HashSet<&str> = ["musculoskelet", "absenc"].into_iter().collect();
        assert_eq!(coverage(&both, &present), 1.0);
        let present: HashSet<&str> = ["absenc"].into_iter().collect();
        assert!((coverage(&both, &present) - 1.0 / 3.0).abs() < 1e-6);
    }
}
