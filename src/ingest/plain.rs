//! Plain text: paragraphs are separated by blank lines; a short first line followed by a blank
//! line is the title. Lines starting "- " or "* " form lists.

use super::{squash, Extracted, IngestError, Piece};

pub(super) fn read(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        IngestError::unreadable(
            "text",
            format!(
                "not UTF-8 (bad byte at offset {}): save it as UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let mut out = Extracted {
        headings_from: "none (plain text has no headings)",
        ..Extracted::default()
    };
    let mut blocks = text
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .peekable();
    if let Some(first) = blocks.peek() {
        if !first.contains('\n') && first.chars().count() <= 120 {
            out.title = Some(squash(first));
            blocks.next();
        }
    }
    for block in blocks {
        let lines: Vec<&str> = block.lines().map(str::trim).collect();
        fn bullet(l: &str) -> Option<&str> {
            l.strip_prefix("- ").or_else(|| l.strip_prefix("* "))
        }
        if lines.iter().all(|l| bullet(l).is_some()) {
            out.pieces.push(Piece::List {
                ordered: false,
                items: lines.iter().filter_map(|l| bullet(l)).map(squash).collect(),
            });
        } else {
            out.pieces.push(Piece::Paragraph(squash(block)));
        }
    }
    Ok(out)
}
