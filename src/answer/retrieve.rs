//! Hybrid retrieval: the lexical ranking (BM25 with field boosts and thesaurus forms, re-ranked
//! by how much of the question each passage covers) and the dense ranking (cosine of the
//! question's sentence vector with every stored passage vector and the phrasings of its
//! section), fused as a weighted sum of the passage's coverage of the question, the similarity
//! and the section model's probability for its section ([`crate::sections`]).
//!
//! Invariants:
//! - Every candidate carries both kinds of evidence (its coverage and its cosine), whichever
//!   side found it, so the decision to answer can weigh them together.
//! - [`Mode::Lexical`] reproduces the ranking from before the dense side existed; `eval` reports
//!   it beside the hybrid one.
//! - Fusion constants are chosen on the dev split of the eval sets only (see `eval`).

use std::collections::HashSet;

use crate::corpus::phrasings::section_of;
use crate::index::{Hit, SearchIndex, SearchRequest};
use crate::quantised::CodedQuery;
use crate::query::{self, Concept};
use crate::Result;

/// How many hits each side contributes before fusion.
pub const DEPTH: usize = 40;
/// Weight of the word evidence: the passage's IDF-weighted coverage of the question (0..1).
/// BM25 finds the lexical candidates; coverage, not the raw BM25 score, is what the mix uses.
const LEXICAL_WEIGHT: f32 = 1.0;
/// Weight of the similarity (0..1). Chosen on dev with the lexical weight: coverage + 3 ×
/// similarity beat reciprocal-rank fusion (k = 1, 2, 5, any weights) and mixes with normalised
/// BM25 on hit@1 and hit@3. With phrasings the
/// dense side is the stronger one (dev hit@1 0.67 against the lexical side's 0.63), and the
/// words decide between passages it finds close.
const DENSE_WEIGHT: f32 = 3.0;
/// Boost for the strategy's own passages when the question names no other document: "when
/// was it launched" is about this strategy, not a background document that mentions a launch.
/// Chosen on dev from 0, 0.1, 0.2, 0.3, 0.5: above 0.1 it cost more right answers than it
/// won ("who wrote the foreword" still goes to Dame Carol Black's foreword: the strategy's
/// launch passage ranks first only from 0.3, and then covers too little of the question).
const STRATEGY_PRIOR: f32 = 0.1;
/// Weight of the section model's probability that the question asks about the passage's
/// section ([`crate::sections`]). Chosen on dev (staff questions' dev split and the first
/// question set) from 1, 2, 3, 4, 6, 8: MRR 0.814 without it, best at 4 (0.831; hit@1 0.683
/// and 0.930, hit@3 0.800 and 0.977), flat from 3 up; 1 and 2 gained less.
const SECTION_WEIGHT: f32 = 4.0;

/// Words too common in this corpus to make a question answerable on their own: a question must
/// match at least one word outside this list.
const GENERIC: &[&str] = &[
    "nhs", "staff", "health", "work", "people", "servic", "organis", "england", "support", "wellb",
    "new", "year", "plan", "look", "help", "make",
];

/// [`GENERIC`] analysed the way the index analyses text.
fn generic_terms(index: &SearchIndex) -> HashSet<String> {
    GENERIC.iter().flat_map(|w| index.analyze(w)).collect()
}

/// The document kind of the strategy itself.
const STRATEGY: &str = "strategy";

/// Which rankings to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Lexical and dense, fused (what the bot does).
    #[default]
    Hybrid,
    /// Lexical only: the ranking before the dense side, kept for comparison in `eval`.
    Lexical,
}

/// One passage found by either side.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The passage, its matched terms and snippet.
    pub hit: Hit,
    /// IDF-weighted share of the question's concepts the passage covers (title half-counts).
    pub coverage: f32,
    /// BM25 × coverage: the lexical score.
    pub lexical: f32,
    /// 1-based rank in the lexical ranking, if the lexical side found it.
    pub lexical_rank: Option<usize>,
    /// Similarity of the question with the passage or a phrasing of its section
    /// ([`SearchIndex::similarity`]; 0 in lexical mode).
    pub cosine: f32,
    /// 1-based rank in the dense ranking, if in its top [`DEPTH`].
    pub dense_rank: Option<usize>,
    /// The section model's probability for the passage's section (0 without one).
    pub section: f32,
    /// The fused score the candidates are ordered by (the lexical score in lexical mode).
    pub fused: f32,
}

/// Both rankings, fused.
#[derive(Debug, Clone, Default)]
pub struct Retrieved {
    /// Best first by `fused`.
    pub candidates: Vec<Candidate>,
    /// How far (in standard deviations) the best cosine stands above the mean cosine over the
    /// passages searched: an on-topic question that no passage answers scores alike on many.
    pub standout: f32,
    /// Mean and standard deviation of the cosines over the passages searched, so any
    /// candidate's own standout can be judged ([`standout_of`]).
    pub cosine_spread: (f32, f32),
    /// The lexical request, for snippets of the passages cited.
    pub request: SearchRequest,
    /// [`GENERIC`] analysed, for the caller's check that a passage covers a specific word.
    pub generic: HashSet<String>,
}

/// Finds candidates for `concepts` (and, in hybrid mode, the question's sentence `vector` and
/// its `question_vector` for the section model).
pub fn retrieve(
    index: &SearchIndex,
    concepts: &[Concept],
    vector: Option<&[f32]>,
    question_vector: Option<&[f32]>,
    document: Option<String>,
    mode: Mode,
) -> Result<Retrieved> {
    let request = query::request(concepts, document.clone(), DEPTH);
    let generic = generic_terms(index);
    let mut lexical: Vec<Candidate> = index
        .search(&request)?
        .into_iter()
        .map(|h| candidate(concepts, h))
        .collect();
    // BM25 alone lets one frequent word ("health" five times) beat a passage that contains most
    // of the question; weighting by coverage prefers the passage that answers all of it.
    lexical.sort_by(|a, b| b.lexical.total_cmp(&a.lexical));
    for (i, c) in lexical.iter_mut().enumerate() {
        c.lexical_rank = Some(i + 1);
        c.fused = c.lexical;
    }
    let vector = match (mode, vector) {
        (Mode::Hybrid, Some(v)) => v,
        _ => {
            return Ok(Retrieved {
                candidates: lexical,
                standout: 0.0,
                cosine_spread: (0.0, 0.0),
                request,
                generic,
            })
        }
    };
    let dense = index.dense(vector, document.as_deref(), DEPTH);
    let standout = match dense.best.first() {
        Some((_, best)) if dense.std > 0.0 => (best - dense.mean) / dense.std,
        _ => 0.0,
    };
    let known: HashSet<String> = lexical.iter().map(|c| c.hit.passage_id.clone()).collect();
    let missing: Vec<&str> = dense
        .best
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| !known.contains(*id))
        .collect();
    let mut all = lexical;
    // Whether the question names a document other than the strategy by a word of its title
    // that is not common to the whole corpus ("boorman", "framework", "carol black").
    let names_other = all.iter().any(|c| {
        c.hit.kind != STRATEGY && c.hit.matched_title.iter().any(|t| !generic.contains(t))
    });
    all.extend(
        index
            .passages(&missing, &request)?
            .into_iter()
            .map(|h| candidate(concepts, h)),
    );
    let sections = question_vector
        .map(|q| index.section_probabilities(q))
        .unwrap_or_default();
    let coded = CodedQuery::new(vector);
    for c in &mut all {
        c.cosine = index.similarity(&coded, &c.hit.passage_id);
        c.dense_rank = dense
            .best
            .iter()
            .position(|(id, _)| *id == c.hit.passage_id)
            .map(|r| r + 1);
        c.section = sections
            .get(section_of(&c.hit.passage_id))
            .copied()
            .unwrap_or(0.0);
        c.fused =
            LEXICAL_WEIGHT * c.coverage + DENSE_WEIGHT * c.cosine + SECTION_WEIGHT * c.section;
        if c.hit.kind == STRATEGY && !names_other {
            c.fused *= 1.0 + STRATEGY_PRIOR;
        }
    }
    all.sort_by(|a, b| b.fused.total_cmp(&a.fused));
    Ok(Retrieved {
        candidates: all,
        standout,
        cosine_spread: (dense.mean, dense.std),
        request,
        generic,
    })
}

/// How far a candidate's own cosine stands above the mean, given [`Retrieved::cosine_spread`]
/// and [`Retrieved::standout`] (the best candidate's, which bounds it): a passage further down
/// is judged on its own similarity.
pub fn standout_of(spread: (f32, f32), best: f32, cosine: f32) -> f32 {
    let (mean, std) = spread;
    if std > 0.0 {
        ((cosine - mean) / std).min(best)
    } else {
        0.0
    }
}

fn candidate(concepts: &[Concept], hit: Hit) -> Candidate {
    let present: HashSet<&str> = hit.matched.iter().map(String::as_str).collect();
    let title: HashSet<&str> = hit.matched_title.iter().map(String::as_str).collect();
    let coverage = query::coverage_with_title(concepts, &present, &title);
    Candidate {
        lexical: hit.score * coverage,
        hit,
        coverage,
        lexical_rank: None,
        cosine: 0.0,
        dense_rank: None,
        section: 0.0,
        fused: 0.0,
    }
}
