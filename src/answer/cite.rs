//! Citations: a candidate passage made into what the user sees (document, section, page link,
//! date, snippet), and the answer line's source placed among them.
//!
//! Invariants:
//! - The answer line always ends with the number of the citation it came from, and that
//!   citation is in the list: a line from a passage of the best section that was not cited is
//!   cited as [2], pushing the last one out so there are never more than `top`.
//! - Ranks are 1, 2, 3… in list order.

use super::line::Line;
use super::retrieve::Candidate;
use super::{Citation, Snippet};
use crate::index::{SearchIndex, SearchRequest};

/// `c` as a citation (ranked later by [`with_line`]).
pub fn citation(
    index: &SearchIndex,
    request: &SearchRequest,
    c: &Candidate,
    semantic: bool,
) -> Citation {
    Citation {
        rank: 0,
        passage_id: c.hit.passage_id.clone(),
        doc_slug: c.hit.doc_slug.clone(),
        document: c.hit.document.clone(),
        kind: c.hit.kind.clone(),
        section: c.hit.section.clone(),
        url: match c.hit.page {
            Some(n) => format!("{}#page={n}", c.hit.url),
            None => c.hit.url.clone(),
        },
        page: c.hit.page,
        dated: index.document_dated(&c.hit.doc_slug).to_string(),
        score: if semantic { c.fused } else { c.lexical },
        snippet: {
            let (text, highlights) = index.snippet(request, &c.hit.text);
            Snippet { text, highlights }
        },
        text: c.hit.text.clone(),
    }
}

/// The answer line with its marker, and the citations: the first `cited` of `pool`, with the
/// line's source cited as [2] when it is one of the uncited rest.
pub fn with_line(
    mut pool: Vec<Citation>,
    cited: usize,
    line: Option<Line>,
    top: usize,
) -> (String, Vec<Citation>) {
    let mut rest = pool.split_off(cited.min(pool.len()));
    let mut citations = pool;
    let at = match &line {
        Some(l) if l.source >= citations.len() && l.source - citations.len() < rest.len() => {
            let source = rest.swap_remove(l.source - citations.len());
            let at = 1.min(citations.len());
            citations.insert(at, source);
            citations.truncate(top.max(at + 1));
            at
        }
        Some(l) => l.source,
        None => 0,
    };
    for (i, c) in citations.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    let summary = line.map_or_else(String::new, |l| format!("{} [{}]", l.text, at + 1));
    (summary, citations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cite(id: &str) -> Citation {
        Citation {
            rank: 0,
            passage_id: id.into(),
            doc_slug: "d".into(),
            document: "D".into(),
            kind: "strategy".into(),
            section: "S".into(),
            url: String::new(),
            page: None,
            dated: String::new(),
            score: 0.0,
            snippet: Snippet {
                text: String::new(),
                highlights: Vec::new(),
            },
            text: String::new(),
        }
    }

    fn ids(c: &[Citation]) -> Vec<(usize, &str)> {
        c.iter().map(|c| (c.rank, c.passage_id.as_str())).collect()
    }

    #[test]
    fn an_uncited_source_is_cited_second_and_the_list_keeps_its_length() {
        let pool = vec![cite("d/a/1"), cite("d/b/1"), cite("d/c/1"), cite("d/a/2")];
        let line = Line {
            text: "It started in 2014.".into(),
            source: 3,
        };
        let (summary, c) = with_line(pool, 3, Some(line), 3);
        assert_eq!(summary, "It started in 2014. [2]");
        assert_eq!(ids(&c), vec![(1, "d/a/1"), (2, "d/a/2"), (3, "d/b/1")]);
    }

    #[test]
    fn a_cited_source_keeps_its_number_and_the_rest_is_dropped() {
        let pool = vec![cite("d/a/1"), cite("d/b/1"), cite("d/a/2")];
        let line = Line {
            text: "Yes.".into(),
            source: 1,
        };
        let (summary, c) = with_line(pool.clone(), 2, Some(line), 3);
        assert_eq!(summary, "Yes. [2]");
        assert_eq!(ids(&c), vec![(1, "d/a/1"), (2, "d/b/1")]);
        let (summary, c) = with_line(pool, 2, None, 3);
        assert_eq!(summary, "");
        assert_eq!(c.len(), 2);
    }
}
