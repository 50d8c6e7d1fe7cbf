//! Splits a Markdown body into sections (by heading) and sections into passages.
//!
//! A passage is what the bot cites, so it must read on its own: about 40–200 words, cut only at
//! block boundaries (paragraph, list, table) and, for a single block over the limit, at sentence
//! boundaries. Lists keep their markers and tables become `cell | cell` lines, so both stay
//! readable as plain text.
//!
//! Provenance is kept per block. A comment `<!-- source: URL -->` gives the source of the blocks
//! above it, back to the previous source comment or heading, so a section can mix pages and
//! still cite each paragraph's own. `<!-- page: N -->` (written by `ingest` for PDFs) sets the
//! page of the blocks after it. A passage never spans a change of source or page: what it cites
//! is what every sentence in it came from. Neither comment ever appears in passage text.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::Passage;
use crate::text::{sentences, slugify, word_count};

/// Passages aim to stay under this many words.
pub(crate) const MAX_WORDS: usize = 200;
/// A trailing piece shorter than this joins the previous passage when that stays readable.
pub(crate) const MIN_WORDS: usize = 40;

/// A heading and the text blocks under it (before the next heading of any level).
#[derive(Debug, Default)]
pub(crate) struct Section {
    pub headings: Vec<String>,
    pub blocks: Vec<Block>,
}

/// One paragraph, list, table or code block, with where it came from.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Block {
    pub text: String,
    /// 1-based line where the block starts.
    pub line: usize,
    /// The source comment that covers it: its line and URL.
    pub source: Option<(usize, String)>,
    /// The page of the original document it is on (PDFs).
    pub page: Option<u32>,
}

/// The raw result of parsing one file; `super::parse_document` validates it.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// 1-based line where the TOML text starts, and the text.
    pub front_matter: Option<(usize, String)>,
    pub sections: Vec<Section>,
    pub problems: Vec<(usize, String)>,
}

struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }
    /// 1-based line of a byte offset.
    fn of(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

pub(crate) fn parse(text: &str, _slug: &str) -> Parsed {
    let lines = Lines::new(text);
    let mut out = Parsed::default();
    let options = Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
        | Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH;
    let mut current = Section::default();
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut seen_title = false;
    let mut buf = String::new();
    let mut heading: Option<(u8, usize, String)> = None;
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut in_meta = false;
    let mut cell = 0usize;

    // Where the block being gathered in `buf` starts, and the page it is on.
    let mut block_line = 0usize;
    let mut page: Option<u32> = None;
    let push_block = |current: &mut Section, buf: &mut String, line: usize, page| {
        let block = buf.trim();
        if !block.is_empty() {
            current.blocks.push(Block {
                text: block.to_string(),
                line,
                source: None,
                page,
            });
        }
        buf.clear();
    };

    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        if buf.trim().is_empty() && heading.is_none() && !in_meta {
            block_line = lines.of(range.start);
        }
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_meta = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_meta = false,
            Event::Text(t) if in_meta => {
                out.front_matter = Some((lines.of(range.start), t.to_string()));
            }
            Event::Start(Tag::Heading { level, .. }) => {
                push_block(&mut current, &mut buf, block_line, page);
                heading = Some((level as u8, lines.of(range.start), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                let Some((level, line, title)) = heading.take() else {
                    continue;
                };
                let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                if title.is_empty() {
                    out.problems.push((line, "empty heading".into()));
                    continue;
                }
                // The first top-level heading is the document's title, already in front matter.
                if level == 1 && !seen_title && stack.is_empty() {
                    seen_title = true;
                    continue;
                }
                if !current.blocks.is_empty() {
                    out.sections.push(std::mem::take(&mut current));
                }
                while stack.last().is_some_and(|(l, _)| *l >= level) {
                    stack.pop();
                }
                stack.push((level, title));
                current = Section {
                    headings: stack.iter().map(|(_, t)| t.clone()).collect(),
                    ..Section::default()
                };
            }
            Event::Text(t) | Event::Code(t) => match &mut heading {
                Some((_, _, title)) => title.push_str(&t),
                None => buf.push_str(&t),
            },
            Event::SoftBreak => match &mut heading {
                Some((_, _, title)) => title.push(' '),
                None => buf.push(' '),
            },
            Event::HardBreak => buf.push('\n'),
            Event::Html(h) | Event::InlineHtml(h) => {
                let line = lines.of(range.start);
                match comment(&h) {
                    Some(("source", url)) => {
                        if !lists.is_empty() {
                            out.problems.push((
                                line,
                                "a source comment inside a list: put it after the whole list"
                                    .into(),
                            ));
                            continue;
                        }
                        push_block(&mut current, &mut buf, block_line, page);
                        let unsourced: Vec<&mut Block> = current
                            .blocks
                            .iter_mut()
                            .rev()
                            .take_while(|b| b.source.is_none())
                            .collect();
                        if unsourced.is_empty() {
                            out.problems.push((
                                line,
                                "this source comment has no text above it in its section to \
                                 source: put it on the line after the paragraph it sources"
                                    .into(),
                            ));
                        }
                        for b in unsourced {
                            b.source = Some((line, url.to_string()));
                        }
                    }
                    Some(("page", n)) => match n.parse::<u32>() {
                        Ok(n) if n > 0 => {
                            if lists.is_empty() {
                                push_block(&mut current, &mut buf, block_line, page);
                            }
                            page = Some(n);
                        }
                        _ => out
                            .problems
                            .push((line, format!("page comment: `{n}` is not a page number"))),
                    },
                    _ => {}
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if lists.is_empty() {
                    push_block(&mut current, &mut buf, block_line, page);
                } else {
                    buf.push(' ');
                }
            }
            Event::Start(Tag::List(start)) => {
                if lists.is_empty() {
                    push_block(&mut current, &mut buf, block_line, page);
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    push_block(&mut current, &mut buf, block_line, page);
                }
            }
            Event::Start(Tag::Item) => {
                let trimmed = buf.trim_end().len();
                buf.truncate(trimmed);
                if !buf.is_empty() {
                    buf.push('\n');
                }
                buf.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        buf.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => buf.push_str("- "),
                }
            }
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => cell = 0,
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => buf.push('\n'),
            Event::Start(Tag::TableCell) => {
                if cell > 0 {
                    buf.push_str(" | ");
                }
                cell += 1;
            }
            Event::End(TagEnd::Table) | Event::End(TagEnd::CodeBlock) => {
                push_block(&mut current, &mut buf, block_line, page)
            }
            Event::Start(Tag::CodeBlock(_)) | Event::Start(Tag::Table(_)) => {
                push_block(&mut current, &mut buf, block_line, page)
            }
            _ => {}
        }
    }
    push_block(&mut current, &mut buf, block_line, page);
    if !current.blocks.is_empty() {
        out.sections.push(current);
    }
    if out.front_matter.is_none() && text.trim_start().starts_with("+++") {
        out.problems.push((
            1,
            "front matter opened with `+++` but has no closing `+++` line".into(),
        ));
    }
    out
}

/// `<!-- source: URL -->` → `("source", "URL")`, `<!-- page: 12 -->` → `("page", "12")`;
/// any other comment or HTML → `None`.
fn comment(html: &str) -> Option<(&str, &str)> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    ["source", "page"].into_iter().find_map(|key| {
        let value = inner.strip_prefix(key)?.trim_start().strip_prefix(':')?;
        Some((key, value.trim()))
    })
}

impl Section {
    /// Groups the section's blocks into passages of readable size, never across a change of
    /// source or page. Blocks without a source comment cite `default_url` (the document's).
    pub(crate) fn to_passages(&self, doc_slug: &str, default_url: &str) -> Vec<Passage> {
        let heading_slug = self
            .headings
            .last()
            .map(|h| slugify(h))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "overview".to_string());
        let section = if self.headings.is_empty() {
            vec!["Overview".to_string()]
        } else {
            self.headings.clone()
        };
        let origin = |b: &Block| (b.source.as_ref().map(|(_, u)| u.clone()), b.page);
        let mut out: Vec<Passage> = Vec::new();
        for run in self.blocks.chunk_by(|a, b| origin(a) == origin(b)) {
            let (url, page) = origin(&run[0]);
            let texts: Vec<String> = run.iter().map(|b| b.text.clone()).collect();
            for text in chunk(&texts) {
                out.push(Passage {
                    id: format!("{doc_slug}/{heading_slug}/{}", out.len() + 1),
                    section: section.clone(),
                    url: url.clone().unwrap_or_else(|| default_url.to_string()),
                    page,
                    text,
                    line: run[0].line,
                });
            }
        }
        out
    }
}

/// Packs blocks greedily into pieces of at most [`MAX_WORDS`], splitting an oversized block at
/// sentences, then folds a short tail into the piece before it.
fn chunk(blocks: &[String]) -> Vec<String> {
    let mut units: Vec<(String, bool)> = Vec::new(); // (text, starts a new block)
    for block in blocks {
        if word_count(block) <= MAX_WORDS {
            units.push((block.clone(), true));
        } else {
            let mut first = true;
            let mut piece = String::new();
            for s in sentences(block) {
                if !piece.is_empty() && word_count(&piece) + word_count(s) > MAX_WORDS {
                    units.push((std::mem::take(&mut piece), first));
                    first = false;
                }
                if !piece.is_empty() {
                    piece.push(' ');
                }
                piece.push_str(s);
            }
            if !piece.is_empty() {
                units.push((piece, first));
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut words = 0;
    for (unit, new_block) in units {
        let n = word_count(&unit);
        match out.last_mut() {
            Some(last) if words + n <= MAX_WORDS => {
                last.push_str(if new_block { "\n\n" } else { " " });
                last.push_str(&unit);
                words += n;
            }
            _ => {
                out.push(unit);
                words = n;
            }
        }
    }
    if out.len() >= 2 {
        let tail = word_count(&out[out.len() - 1]);
        let before = word_count(&out[out.len() - 2]);
        if tail < MIN_WORDS && tail + before <= MAX_WORDS + MAX_WORDS / 4 {
            let last = out.pop().unwrap_or_default();
            if let Some(prev) = out.last_mut() {
                prev.push_str("\n\n");
                prev.push_str(&last);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passages(md: &str) -> Vec<Passage> {
        parse(md, "d")
            .sections
            .iter()
            .flat_map(|s| s.to_passages("d", "https://x.org/"))
            .collect()
    }

    #[test]
    fn heading_paths_follow_nesting() {
        let md = "# Title\n\nIntro.\n\n## Driver A\n\nA text.\n\n### Area 1\n\nOne.\n\n### Area 2\n\nTwo.\n\n## Driver B\n\nB text.\n";
        let ps = passages(md);
        let paths: Vec<String> = ps.iter().map(|p| p.section_path()).collect();
        assert_eq!(
            paths,
            vec![
                "Overview",
                "Driver A",
                "Driver A › Area 1",
                "Driver A › Area 2",
                "Driver B"
            ]
        );
        assert_eq!(ps[2].id, "d/area-1/1");
        assert_eq!(ps[0].id, "d/overview/1");
        assert_eq!(ps[2].line, 11, "the line of the passage's first paragraph");
    }

    #[test]
    fn lists_and_tables_stay_readable() {
        let md = "## S\n\nDrivers:\n\n1. First one.\n2. Second *one*.\n   - nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";
        let ps = passages(md);
        assert_eq!(ps.len(), 1);
        assert_eq!(
            ps[0].text,
            "Drivers:\n\n1. First one.\n2. Second one.\n  - nested\n\na | b\n1 | 2"
        );
    }

    fn sourced(md: &str) -> Vec<(String, Option<u32>, String)> {
        passages(md)
            .into_iter()
            .map(|p| (p.url, p.page, p.text))
            .collect()
    }

    #[test]
    fn a_source_comment_sources_the_blocks_above_it_back_to_the_last_one() {
        let md = "## S\n\nOne.\n\nTwo.\n<!-- source: https://y.org/a -->\n\nThree.\n<!-- source: https://y.org/b -->\n\n## T\n\nMore.\n";
        let parsed = parse(md, "d");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let s = &parsed.sections[0];
        let src = |i: usize| s.blocks[i].source.clone().map(|(_, u)| u);
        assert_eq!(src(0).as_deref(), Some("https://y.org/a"));
        assert_eq!(src(1).as_deref(), Some("https://y.org/a"));
        assert_eq!(src(2).as_deref(), Some("https://y.org/b"));
        assert_eq!(s.blocks[2].source.as_ref().unwrap().0, 9);
        assert_eq!(parsed.sections[1].blocks[0].source, None);
        assert!(!s.blocks.iter().any(|b| b.text.contains("source")));
    }

    /// A passage never mixes sources, however short its pieces: what it cites is what every
    /// sentence in it came from.
    #[test]
    fn passages_split_where_the_source_changes() {
        let md = "## S\n\nAbsence cost £1.7 billion.\n<!-- source: https://y.org/a -->\n\nThe review had 20 recommendations.\n<!-- source: https://y.org/b -->\n";
        let ps = sourced(md);
        assert_eq!(
            ps,
            vec![
                (
                    "https://y.org/a".into(),
                    None,
                    "Absence cost £1.7 billion.".into()
                ),
                (
                    "https://y.org/b".into(),
                    None,
                    "The review had 20 recommendations.".into()
                ),
            ]
        );
        assert_eq!(passages(md)[1].id, "d/s/2");
        assert_eq!(passages(md)[1].line, 6);
    }

    #[test]
    fn page_comments_set_the_page_of_the_blocks_after_them() {
        let md = "<!-- page: 3 -->\n## S\n\nOn three.\n\n<!-- page: 4 -->\n\nOn four.\n\n## T\n\nStill four.\n";
        let ps = sourced(md);
        let pages: Vec<Option<u32>> = ps.iter().map(|p| p.1).collect();
        assert_eq!(pages, vec![Some(3), Some(4), Some(4)]);
        for bad in ["<!-- page: 0 -->", "<!-- page: twelve -->"] {
            let parsed = parse(&format!("## S\n\n{bad}\n\nText.\n"), "d");
            assert_eq!(parsed.problems.len(), 1, "{bad}");
            assert_eq!(parsed.problems[0].0, 3);
        }
    }

    #[test]
    fn misplaced_source_comments_are_problems() {
        for (md, line) in [
            ("## S\n<!-- source: https://y.org/a -->\n\nText.\n", 2),
            ("## S\n\nText.\n<!-- source: https://y.org/a -->\n<!-- source: https://y.org/b -->\n", 5),
            ("## S\n\n- one\n  <!-- source: https://y.org/a -->\n- two\n", 4),
        ] {
            let parsed = parse(md, "d");
            assert_eq!(parsed.problems.len(), 1, "{md}: {:?}", parsed.problems);
            assert_eq!(parsed.problems[0].0, line, "{md}");
        }
    }

    #[test]
    fn long_sections_split_on_paragraphs_within_limits() {
        let para = |n: usize| {
            (0..n)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "."
        };
        let md = format!(
            "## Long\n\n{}\n\n{}\n\n{}\n",
            para(120),
            para(120),
            para(30)
        );
        let ps = passages(&md);
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(ps
            .iter()
            .all(|p| word_count(&p.text) <= MAX_WORDS + MAX_WORDS / 4));
        assert_eq!(ps[1].id, "d/long/2");
        // The 30-word tail joined the passage before it rather than standing alone.
        assert_eq!(word_count(&ps[1].text), 150);
    }

    #[test]
    fn one_huge_paragraph_splits_at_sentences() {
        let sentence = "This sentence has exactly eight words in it. ";
        let md = format!("## Big\n\n{}\n", sentence.repeat(60));
        let ps = passages(&md);
        assert!(ps.len() >= 2);
        for p in &ps {
            assert!(word_count(&p.text) <= MAX_WORDS, "{}", word_count(&p.text));
            assert!(p.text.ends_with('.'));
        }
    }

    #[test]
    fn ids_survive_edits_elsewhere() {
        let before = "## A\n\nAlpha text.\n\n## B\n\nBeta text.\n";
        let after = "## A\n\nAlpha text, now rewritten at length.\n\n## New\n\nInserted.\n\n## B\n\nBeta text.\n";
        let id_of = |md: &str| {
            passages(md)
                .into_iter()
                .find(|p| p.text == "Beta text.")
                .unwrap()
                .id
        };
        assert_eq!(id_of(before), id_of(after));
    }
}
