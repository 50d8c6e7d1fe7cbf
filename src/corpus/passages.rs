//! Splits a Markdown body into sections (by heading) and sections into passages.
//!
//! A passage is what the bot cites, so it must read on its own: about 40–200 words, cut only at
//! block boundaries (paragraph, list, table) and, for a single block over the limit, at sentence
//! boundaries. Lists keep their markers and tables become `cell | cell` lines, so both stay
//! readable as plain text. An HTML comment `<!-- source: URL -->` inside a section sets the link
//! its passages cite; it never appears in passage text.

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
    pub line: usize,
    pub blocks: Vec<String>,
    pub source: Option<(usize, String)>,
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
    let mut current = Section {
        line: 1,
        ..Section::default()
    };
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut seen_title = false;
    let mut buf = String::new();
    let mut heading: Option<(u8, usize, String)> = None;
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut in_meta = false;
    let mut cell = 0usize;

    fn push_block(current: &mut Section, buf: &mut String) {
        let block = buf.trim();
        if !block.is_empty() {
            current.blocks.push(block.to_string());
        }
        buf.clear();
    }

    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_meta = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_meta = false,
            Event::Text(t) if in_meta => {
                out.front_matter = Some((lines.of(range.start), t.to_string()));
            }
            Event::Start(Tag::Heading { level, .. }) => {
                push_block(&mut current, &mut buf);
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
                    line,
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
                if let Some(url) = source_comment(&h) {
                    current.source = Some((lines.of(range.start), url));
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if lists.is_empty() {
                    push_block(&mut current, &mut buf);
                } else {
                    buf.push(' ');
                }
            }
            Event::Start(Tag::List(start)) => {
                if lists.is_empty() {
                    push_block(&mut current, &mut buf);
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    push_block(&mut current, &mut buf);
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
                push_block(&mut current, &mut buf)
            }
            Event::Start(Tag::CodeBlock(_)) | Event::Start(Tag::Table(_)) => {
                push_block(&mut current, &mut buf)
            }
            _ => {}
        }
    }
    push_block(&mut current, &mut buf);
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

/// `<!-- source: URL -->` → `URL`.
fn source_comment(html: &str) -> Option<String> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let url = inner.strip_prefix("source:")?.trim();
    Some(url.to_string())
}

impl Section {
    /// Groups the section's blocks into passages of readable size.
    pub(crate) fn to_passages(&self, doc_slug: &str, url: &str) -> Vec<Passage> {
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
        chunk(&self.blocks)
            .into_iter()
            .enumerate()
            .map(|(i, text)| Passage {
                id: format!("{doc_slug}/{heading_slug}/{}", i + 1),
                section: section.clone(),
                url: url.to_string(),
                text,
                line: self.line,
            })
            .collect()
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
        assert_eq!(ps[2].line, 9);
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

    #[test]
    fn source_comments_set_the_url_and_are_not_text() {
        let md = "## S\n\nText.\n<!-- source: https://y.org/p -->\n\n## T\n\nMore.\n";
        let parsed = parse(md, "d");
        assert_eq!(
            parsed.sections[0].source,
            Some((4, "https://y.org/p".to_string()))
        );
        assert_eq!(parsed.sections[1].source, None);
        assert!(!parsed.sections[0].blocks.join(" ").contains("source"));
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
