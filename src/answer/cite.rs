//! Citations: a candidate passage made into what the user sees (document, section, page link,
//! date, snippet), and the answer line's source placed among them.
//!
//! Invariants:
//! - Each part of the answer line ends with the number of the citation it came from, and that
//!   citation is in the list: a part from a passage of the best section that was not cited is
//!   cited right after [1], pushing the last others out so there are never more than `top`.
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

/// The answer line with its markers, and the citations: the first `cited` of `pool`, with each
/// part's source cited right after [1] when it is one of the uncited rest.
pub fn with_line(
    mut pool: Vec<Citation>,
    cited: usize,
    line: Vec<Line>,
    top: usize,
) -> (String, Vec<Citation>) {
    // Sources by passage id: positions move as uncited sources are brought in.
    let parts: Vec<(String, String)> = line
        .into_iter()
        .filter_map(|l| Some((l.text, pool.get(l.source)?.passage_id.clone())))
        .collect();
    let mut rest = pool.split_off(cited.min(pool.len()));
    let mut citations = pool;
    let mut at = 1.min(citations.len());
    for (_, id) in &parts {
        if let Some(k) = rest.iter().position(|c| &c.passage_id == id) {
            citations.insert(at, rest.swap_remove(k));
            at += 1;
        }
    }
    // Never more than `top`: the last citations that are no part's source make room.
    while citations.len() > top {
        match citations
            .iter()
            .rposition(|c| !parts.iter().any(|(_, id)| id == &c.passage_id))
        {
            Some(k) => {
                citations.remove(k);
            }
            None => break,
        }
    }
    for (i, c) in citations.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    let summary = parts
        .iter()
        .filter_map(|(text, id)| {
            let rank = citations.iter().find(|c| &c.passage_id == id)?.rank;
            Some(format!("{text} [{rank}]"))
        })
        .collect::<Vec<_>>()
        .join(" ");
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
        let (summary, c) = with_line(pool, 3, vec![line], 3);
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
        let (summary, c) = with_line(pool.clone(), 2, vec![line], 3);
        assert_eq!(summary, "Yes. [2]");
        assert_eq!(ids(&c), vec![(1, "d/a/1"), (2, "d/b/1")]);
        let (summary, c) = with_line(pool, 2, Vec::new(), 3);
        assert_eq!(summary, "");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn each_part_is_numbered_after_its_own_source_and_both_stay_cited() {
        let part = |text: &str, source| Line {
            text: text.into(),
            source,
        };
        let pool = vec![
            cite("d/a/1"),
            cite("d/b/1"),
            cite("d/c/1"),
            cite("d/a/2"),
            cite("d/a/3"),
        ];
        // Two uncited sources come right after [1]; the others make room, in reverse order.
        let (summary, c) = with_line(pool.clone(), 3, vec![part("A.", 4), part("B.", 3)], 3);
        assert_eq!(summary, "A. [2] B. [3]");
        assert_eq!(ids(&c), vec![(1, "d/a/1"), (2, "d/a/3"), (3, "d/a/2")]);
        // A cited source pushed past `top` by an inserted one is kept, not its neighbour.
        let (summary, c) = with_line(pool, 3, vec![part("A.", 3), part("C.", 2)], 3);
        assert_eq!(summary, "A. [2] C. [3]");
        assert_eq!(ids(&c), vec![(1, "d/a/1"), (2, "d/a/2"), (3, "d/c/1")]);
    }
}
