//! Word (DOCX): a zip holding `word/document.xml` (the body) and `docProps/core.xml` (title,
//! dates). Paragraph styles give the structure: `Title`, `Heading1`–`Heading5`, list styles
//! or numbering for lists; tables keep their rows. Headers, footers, comments and tracked
//! deletions live in other parts or elements and are not read.

use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{squash, Extracted, IngestError, Piece};

/// Parts larger than this (uncompressed) are refused: a zip bomb, not a policy document.
const MAX_PART_BYTES: u64 = 64 << 20;

fn unreadable(reason: impl Into<String>) -> IngestError {
    IngestError::unreadable("DOCX", reason)
}

fn part(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> Option<String> {
    let file = zip.by_name(name).ok()?;
    let mut s = String::new();
    file.take(MAX_PART_BYTES).read_to_string(&mut s).ok()?;
    Some(s)
}

pub(super) fn read(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| unreadable(format!("not a readable zip file ({e})")))?;
    let body = part(&mut zip, "word/document.xml").ok_or_else(|| {
        unreadable("no word/document.xml inside: this zip is not a Word document")
    })?;
    let mut out = Extracted {
        headings_from: "the document's heading styles",
        ..Extracted::default()
    };
    if let Some(core) = part(&mut zip, "docProps/core.xml") {
        out.title = element_text(&core, "title").filter(|t| !t.is_empty());
        out.published = element_text(&core, "created")
            .or_else(|| element_text(&core, "modified"))
            .and_then(|d| d.get(..10).map(str::to_string))
            .and_then(|d| crate::dates::PartialDate::parse(&d))
            .map(|d| d.to_string());
    }
    read_body(&body, &mut out).map_err(|e| unreadable(format!("bad XML in the body ({e})")))?;
    Ok(out)
}

/// The text of the first element with this local name.
fn element_text(xml: &str, local: &str) -> Option<String> {
    let mut r = Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == local => inside = true,
            Event::End(e) if inside && e.local_name().as_ref() == local => {
                return Some(squash(&text))
            }
            Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// A paragraph as read: its style, whether it is numbered, its text.
#[derive(Default)]
struct Para {
    style: String,
    numbered: bool,
    text: String,
}

fn read_body(xml: &str, out: &mut Extracted) -> Result<(), quick_xml::Error> {
    let mut r = Reader::from_str(xml);
    let mut para: Option<Para> = None;
    // Table nesting: rows of cells of text; only the outermost table becomes a Table.
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let mut in_text = false;
    let mut deleted = 0usize;
    let mut list: Option<(bool, Vec<String>)> = None;

    let flush_list = |list: &mut Option<(bool, Vec<String>)>, out: &mut Extracted| {
        if let Some((ordered, items)) = list.take() {
            if !items.is_empty() {
                out.pieces.push(Piece::List { ordered, items });
            }
        }
    };

    loop {
        let event = r.read_event()?;
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "w:p" => {
                    para = Some(Para::default());
                    if matches!(event, Event::Empty(_)) {
                        para = None;
                    }
                }
                "w:pStyle" => {
                    if let Some(p) = para.as_mut() {
                        p.style = attr(e, "w:val").unwrap_or_default();
                    }
                }
                "w:numPr" => {
                    if let Some(p) = para.as_mut() {
                        p.numbered = true;
                    }
                }
                "w:t" => in_text = matches!(event, Event::Start(_)),
                "w:tab" | "w:br" | "w:cr" => {
                    if let Some(p) = para.as_mut() {
                        p.text.push(' ');
                    }
                }
                "w:del" if matches!(event, Event::Start(_)) => deleted += 1,
                "w:tbl" if matches!(event, Event::Start(_)) => {
                    if tables.is_empty() {
                        flush_list(&mut list, out);
                    }
                    tables.push(Vec::new());
                }
                "w:tr" if matches!(event, Event::Start(_)) => {
                    if let Some(t) = tables.last_mut() {
                        t.push(Vec::new());
                    }
                }
                "w:tc" if matches!(event, Event::Start(_)) => {
                    if let Some(row) = tables.last_mut().and_then(|t| t.last_mut()) {
                        row.push(String::new());
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_text && deleted == 0 => {
                if let Some(p) = para.as_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) if in_text && deleted == 0 => {
                if let Some(p) = para.as_mut() {
                    if let Ok(Some(c)) = g.resolve_char_ref() {
                        p.text.push(c);
                    } else if let Some(s) =
                        quick_xml::escape::resolve_predefined_entity(&g.xml10_content())
                    {
                        p.text.push_str(s);
                    }
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:del" => deleted = deleted.saturating_sub(1),
                "w:p" => {
                    let Some(p) = para.take() else { continue };
                    let text = squash(&p.text);
                    if text.is_empty() {
                        continue;
                    }
                    // Inside a table a paragraph is cell text.
                    if let Some(cell) = tables
                        .last_mut()
                        .and_then(|t| t.last_mut())
                        .and_then(|r| r.last_mut())
                    {
                        if !cell.is_empty() {
                            cell.push(' ');
                        }
                        cell.push_str(&text);
                        continue;
                    }
                    let style = p.style.to_lowercase();
                    let heading = style
                        .strip_prefix("heading")
                        .and_then(|n| n.trim().parse::<u8>().ok());
                    if style == "title" {
                        flush_list(&mut list, out);
                        if out.title.is_none() {
                            out.title = Some(text);
                        }
                    } else if let Some(n) = heading {
                        flush_list(&mut list, out);
                        out.pieces.push(Piece::Heading((n + 1).min(6), text));
                    } else if p.numbered || style.starts_with("list") {
                        let ordered = style.contains("number");
                        match &mut list {
                            Some((o, items)) if *o == ordered => items.push(text),
                            _ => {
                                flush_list(&mut list, out);
                                list = Some((ordered, vec![text]));
                            }
                        }
                    } else {
                        flush_list(&mut list, out);
                        out.pieces.push(Piece::Paragraph(text));
                    }
                }
                "w:tbl" => {
                    if let Some(rows) = tables.pop() {
                        let rows: Vec<Vec<String>> = rows
                            .into_iter()
                            .filter(|r| r.iter().any(|c| !c.is_empty()))
                            .collect();
                        if let Some(outer) = tables.last_mut() {
                            // A nested table's text joins the cell that holds it.
                            let text = rows
                                .iter()
                                .map(|r| r.join(" "))
                                .collect::<Vec<_>>()
                                .join(" ");
                            if let Some(cell) = outer.last_mut().and_then(|r| r.last_mut()) {
                                cell.push_str(&text);
                            }
                        } else if !rows.is_empty() {
                            out.pieces.push(Piece::Table(rows));
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    flush_list(&mut list, out);
    Ok(())
}
