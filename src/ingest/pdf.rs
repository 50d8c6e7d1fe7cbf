//! PDF: text with its position and size from `pdf-extract` (on `lopdf`'s parser), rebuilt into
//! lines, paragraphs, lists and tables, page by page.
//!
//! - Page numbers are kept: every page starts with [`Piece::Page`].
//! - Running headers and footers (a line in the top or bottom band of the page, the same on at
//!   least half of the pages once digits are ignored) and bare page numbers are dropped.
//! - Headings come from the outline (bookmarks) when the PDF has one, else from font size:
//!   lines clearly larger than the body text, one level per size.
//! - A line split by wide gaps into the same number of cells as its neighbours is a table row.

use std::collections::{BTreeMap, HashMap, HashSet};

use lopdf::{Document, Object};
use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{squash, Extracted, IngestError, Piece};

/// A line of text as laid out on the page; `y` grows downwards from the top.
#[derive(Debug, Clone)]
struct Line {
    page: u32,
    y: f64,
    size: f64,
    /// Pieces separated by gaps wider than [`CELL_GAP`] font sizes.
    cells: Vec<String>,
    /// Right end of the last character, to place the next one.
    end: f64,
}

impl Line {
    fn text(&self) -> String {
        squash(&self.cells.join(" "))
    }
}

/// A horizontal gap wider than this many font sizes separates table cells.
const CELL_GAP: f64 = 2.0;
/// Baselines further apart than this many font sizes start a new paragraph.
const PARAGRAPH_GAP: f64 = 1.8;
/// The top and bottom of a page where running headers and footers live (share of height).
const BAND: f64 = 0.1;

/// Collects characters into lines, page by page.
#[derive(Default)]
struct Collector {
    page: u32,
    height: f64,
    heights: BTreeMap<u32, f64>,
    lines: Vec<Line>,
    chars: usize,
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.page = page_num;
        self.height = (media_box.ury - media_box.lly).abs();
        self.heights.insert(page_num, self.height);
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        ch: &str,
    ) -> Result<(), OutputError> {
        // Text space to page space: the matrix's scale gives the rendered size.
        let scale = (trm.m11 * trm.m22 - trm.m12 * trm.m21).abs().sqrt();
        let size = (font_size * scale).max(0.1);
        let (x, y) = (trm.m31, self.height - trm.m32);
        let end = x + width * size;
        if ch.trim().is_empty() && ch != " " {
            return Ok(());
        }
        self.chars += 1;
        let same_line = self.lines.last().is_some_and(|l| {
            l.page == self.page && (l.y - y).abs() <= size * 0.5 && x >= l.end - size
        });
        if same_line {
            let line = self.lines.last_mut().expect("checked above");
            let gap = x - line.end;
            if gap > size * CELL_GAP {
                line.cells.push(String::new());
            } else if gap > size * 0.15 {
                if let Some(c) = line.cells.last_mut() {
                    c.push(' ');
                }
            }
            if let Some(c) = line.cells.last_mut() {
                c.push_str(ch);
            }
            line.end = end;
            line.size = line.size.max(size);
        } else {
            self.lines.push(Line {
                page: self.page,
                y,
                size,
                cells: vec![ch.to_string()],
                end,
            });
        }
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

fn unreadable(reason: impl Into<String>) -> IngestError {
    IngestError::unreadable("PDF", reason)
}

pub(super) fn read(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let doc = Document::load_mem(bytes).map_err(|e| {
        let text = e.to_string();
        if text.to_lowercase().contains("decrypt") || text.to_lowercase().contains("password") {
            IngestError::Encrypted
        } else {
            unreadable(format!("malformed or truncated PDF ({text})"))
        }
    })?;
    if doc.is_encrypted() {
        return Err(IngestError::Encrypted);
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err(unreadable("the PDF has no pages"));
    }
    let mut collector = Collector::default();
    pdf_extract::output_doc(&doc, &mut collector)
        .map_err(|e| unreadable(format!("could not extract its text ({e:?})")))?;
    if collector.chars == 0 {
        return Err(IngestError::NoText);
    }
    let mut out = Extracted {
        title: info_string(&doc, b"Title").filter(|t| !t.is_empty()),
        published: info_string(&doc, b"CreationDate").and_then(|d| pdf_date(&d)),
        pages,
        ..Extracted::default()
    };
    let mut lines: Vec<Line> = collector
        .lines
        .into_iter()
        .filter(|l| !l.text().is_empty())
        .collect();
    let dropped = drop_running_lines(&mut lines, &collector.heights);
    if dropped > 0 {
        out.left_out.push(format!(
            "{dropped} running header, footer or page-number line(s)"
        ));
    }
    let headings = match outline(&doc) {
        Some(entries) if !entries.is_empty() => {
            out.headings_from = "the PDF's outline (bookmarks)";
            headings_from_outline(&lines, &entries, &mut out.left_out)
        }
        _ => {
            out.headings_from = "font size (the PDF has no outline)";
            headings_from_size(&lines, &mut out.title)
        }
    };
    out.pieces = assemble(&lines, &headings);
    Ok(out)
}

/// A string from the document information dictionary.
fn info_string(doc: &Document, key: &[u8]) -> Option<String> {
    let info = match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(d) => d,
        _ => return None,
    };
    match info.get(key).ok()? {
        Object::String(bytes, _) => Some(squash(&decode_pdf_string(bytes))),
        _ => None,
    }
}

/// PDF text strings are UTF-16BE with a byte-order mark, or PDFDocEncoding (Latin-1 close
/// enough for titles).
fn decode_pdf_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().map(|&b| b as char).collect()
    }
}

/// `D:20240305120000+00'00'` → `2024-03-05`.
fn pdf_date(s: &str) -> Option<String> {
    let digits: String = s
        .trim()
        .trim_start_matches("D:")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let d = match digits.len() {
        n if n >= 8 => format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..8]),
        6 | 7 => format!("{}-{}", &digits[..4], &digits[4..6]),
        4 | 5 => digits[..4].to_string(),
        _ => return None,
    };
    crate::dates::PartialDate::parse(&d).map(|d| d.to_string())
}

/// Digits hidden, case and spacing folded: "Page 3 of 10" and "Page 4 of 10" match.
fn shape(text: &str) -> String {
    squash(
        &text
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect::<String>()
            .to_lowercase(),
    )
}

fn is_page_number(shape: &str) -> bool {
    let s = shape.replace(['#', ' ', '-', '–', '|', '/'], "");
    s.is_empty() || s == "page" || s == "pageof" || s == "of" || s == "p." || s == "pp."
}

/// Removes running headers and footers and bare page numbers; returns how many lines went.
fn drop_running_lines(lines: &mut Vec<Line>, heights: &BTreeMap<u32, f64>) -> usize {
    let in_band = |l: &Line| {
        let h = heights.get(&l.page).copied().unwrap_or(842.0);
        l.y < h * BAND || l.y > h * (1.0 - BAND)
    };
    let pages = heights.len().max(1);
    let mut seen: HashMap<String, HashSet<u32>> = HashMap::new();
    for l in lines.iter().filter(|l| in_band(l)) {
        seen.entry(shape(&l.text())).or_default().insert(l.page);
    }
    let running: HashSet<String> = seen
        .into_iter()
        .filter(|(_, p)| pages >= 2 && p.len() >= 2 && p.len() * 2 >= pages)
        .map(|(s, _)| s)
        .collect();
    let before = lines.len();
    lines.retain(|l| {
        !(in_band(l) && {
            let s = shape(&l.text());
            running.contains(&s) || is_page_number(&s)
        })
    });
    before - lines.len()
}

/// Outline entries as (level from 2, title, page).
fn outline(doc: &Document) -> Option<Vec<(u8, String, u32)>> {
    let toc = doc.get_toc().ok()?;
    let min = toc.toc.iter().map(|t| t.level).min().unwrap_or(0);
    Some(
        toc.toc
            .into_iter()
            .map(|t| {
                let level = (t.level - min + 2).min(6) as u8;
                (level, squash(&t.title), t.page as u32)
            })
            .filter(|(_, t, _)| !t.is_empty())
            .collect(),
    )
}

/// Which line indexes are headings, and at what level, from the outline. An entry whose text
/// is not found on its page (or anywhere) is reported, not invented.
fn headings_from_outline(
    lines: &[Line],
    entries: &[(u8, String, u32)],
    left_out: &mut Vec<String>,
) -> HashMap<usize, u8> {
    let mut found = HashMap::new();
    for (level, title, page) in entries {
        let want = shape(title);
        let pick = |on_page: bool| {
            lines.iter().enumerate().position(|(i, l)| {
                (!on_page || l.page == *page) && !found.contains_key(&i) && shape(&l.text()) == want
            })
        };
        match pick(true).or_else(|| pick(false)) {
            Some(i) => {
                found.insert(i, *level);
            }
            None => left_out.push(format!(
                "outline entry \"{title}\" (page {page}) was not found in the text"
            )),
        }
    }
    found
}

/// Headings by font size: lines at least 15% larger than the body text and short enough to
/// be a heading. The largest size, used once at the top of page 1, is the title.
fn headings_from_size(lines: &[Line], title: &mut Option<String>) -> HashMap<usize, u8> {
    let key = |s: f64| (s * 2.0).round() as i64;
    let mut weight: HashMap<i64, usize> = HashMap::new();
    for l in lines {
        *weight.entry(key(l.size)).or_default() += l.text().len();
    }
    let Some((&body, _)) = weight.iter().max_by_key(|(k, w)| (**w, -**k)) else {
        return HashMap::new();
    };
    let is_heading =
        |l: &Line| key(l.size) as f64 >= body as f64 * 1.15 && l.text().chars().count() <= 120;
    let mut sizes: Vec<i64> = lines
        .iter()
        .filter(|l| is_heading(l))
        .map(|l| key(l.size))
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    let mut found = HashMap::new();
    let mut first = true;
    for (i, l) in lines.iter().enumerate() {
        if !is_heading(l) {
            first = false;
            continue;
        }
        let rank = sizes.iter().position(|&s| s == key(l.size)).unwrap_or(0);
        let used_once = lines.iter().filter(|m| key(m.size) == key(l.size)).count() == 1;
        if first && rank == 0 && used_once && sizes.len() > 1 {
            // The document's title: not a section.
            if title.is_none() {
                *title = Some(l.text());
            }
            found.insert(i, 1);
        } else {
            let shift = usize::from(sizes.len() > 1 && found.values().any(|&v| v == 1));
            found.insert(i, (rank + 2 - shift).clamp(2, 6) as u8);
        }
        first = false;
    }
    found
}

/// A line starting with a bullet character: the item text.
fn bullet(text: &str) -> Option<&str> {
    let t = text.trim_start();
    ["•", "●", "▪", "◦", "– ", "- ", "* ", "o "]
        .iter()
        .find_map(|b| t.strip_prefix(b))
        .map(str::trim_start)
}

/// Joins a wrapped line onto the text before it, mending words hyphenated at the line end.
fn join_line(text: &mut String, next: &str) {
    let mends = text.ends_with('-')
        && text.chars().rev().nth(1).is_some_and(|c| c.is_alphabetic())
        && next.chars().next().is_some_and(|c| c.is_lowercase());
    if mends {
        text.pop();
    } else if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(next);
}

/// Builds pieces from laid-out lines.
fn assemble(lines: &[Line], headings: &HashMap<usize, u8>) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut page = 0u32;
    let mut para = String::new();
    let mut items: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |out: &mut Vec<Piece>,
                 para: &mut String,
                 items: &mut Vec<String>,
                 rows: &mut Vec<Vec<String>>| {
        if !para.is_empty() {
            out.push(Piece::Paragraph(std::mem::take(para)));
        }
        if !items.is_empty() {
            out.push(Piece::List {
                ordered: false,
                items: std::mem::take(items),
            });
        }
        if !rows.is_empty() {
            let rows = std::mem::take(rows);
            if rows.len() >= 2 {
                out.push(Piece::Table(rows));
            } else {
                out.push(Piece::Paragraph(rows[0].join(" ")));
            }
        }
    };
    let mut prev: Option<&Line> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.page != page {
            flush(&mut out, &mut para, &mut items, &mut rows);
            page = line.page;
            out.push(Piece::Page(page));
            prev = None;
        }
        let text = line.text();
        if let Some(&level) = headings.get(&i) {
            flush(&mut out, &mut para, &mut items, &mut rows);
            if level >= 2 {
                out.push(Piece::Heading(level, text));
            }
            prev = Some(line);
            continue;
        }
        let gap_break = prev.is_some_and(|p| line.y - p.y > p.size.max(line.size) * PARAGRAPH_GAP);
        let cells: Vec<String> = line
            .cells
            .iter()
            .map(|c| squash(c))
            .filter(|c| !c.is_empty())
            .collect();
        if cells.len() >= 2 {
            if !rows.is_empty() && rows[0].len() != cells.len() {
                flush(&mut out, &mut para, &mut items, &mut rows);
            }
            if !para.is_empty() || !items.is_empty() {
                flush(&mut out, &mut para, &mut items, &mut rows);
            }
            rows.push(cells);
        } else if let Some(item) = bullet(&text) {
            if !para.is_empty() || !rows.is_empty() {
                flush(&mut out, &mut para, &mut items, &mut rows);
            }
            items.push(item.to_string());
        } else if !items.is_empty() && !gap_break {
            // A wrapped list item.
            if let Some(last) = items.last_mut() {
                join_line(last, &text);
            }
        } else {
            if gap_break || !rows.is_empty() || !items.is_empty() {
                flush(&mut out, &mut para, &mut items, &mut rows);
            }
            join_line(&mut para, &text);
        }
        prev = Some(line);
    }
    flush(&mut out, &mut para, &mut items, &mut rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_keep_their_precision() {
        assert_eq!(
            pdf_date("D:20240305120000+00'00'").as_deref(),
            Some("2024-03-05")
        );
        assert_eq!(pdf_date("D:202403").as_deref(), Some("2024-03"));
        assert_eq!(pdf_date("D:2024").as_deref(), Some("2024"));
        assert_eq!(pdf_date("yesterday"), None);
        assert_eq!(pdf_date("D:20241345"), None);
    }

    #[test]
    fn page_furniture_shapes() {
        assert!(is_page_number(&shape("Page 3 of 10")));
        assert!(is_page_number(&shape("- 12 -")));
        assert!(!is_page_number(&shape("3 Health surveillance")));
        assert_eq!(shape("Page 3  of 10"), shape("page 4 of 10"));
    }

    #[test]
    fn wrapped_lines_mend_hyphenated_words_only() {
        let mut s = "occupa-".to_string();
        join_line(&mut s, "tional health");
        assert_eq!(s, "occupational health");
        let mut s = "well-".to_string();
        join_line(&mut s, "Being");
        assert_eq!(s, "well- Being");
        let mut s = "ends.".to_string();
        join_line(&mut s, "next");
        assert_eq!(s, "ends. next");
    }
}
