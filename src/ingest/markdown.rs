//! Renders an extracted document as corpus Markdown.
//!
//! Invariants:
//! - Text from the file is escaped, so it is always text: no heading, list, emphasis, link or
//!   HTML (and so no `<!-- source: … -->`) can come from a document's own words.
//! - Every block is covered by a source comment (one before each heading and one at the end),
//!   so `check` finds no unsourced paragraph in a strategy or background document.

use super::Piece;
use crate::corpus::Kind;

/// Front matter and provenance for the rendered file.
pub(super) struct Header<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub publisher: &'a str,
    pub published: &'a str,
    pub kind: Kind,
    /// "guide.pdf (PDF)".
    pub origin: &'a str,
    pub ingested_on: &'a str,
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub(super) fn render(h: &Header<'_>, pieces: &[Piece]) -> String {
    let mut out = String::new();
    out.push_str("+++\n");
    out.push_str(&format!("title = {}\n", toml_str(h.title)));
    out.push_str(&format!("source_url = {}\n", toml_str(h.url)));
    out.push_str(&format!("publisher = {}\n", toml_str(h.publisher)));
    out.push_str(&format!("published = {}\n", toml_str(h.published)));
    out.push_str(&format!("kind = {}\n", toml_str(h.kind.as_str())));
    out.push_str("tags = []\n");
    out.push_str("+++\n\n");
    out.push_str(&format!(
        "<!-- Made by `ohwb-bot ingest` from {} on {}. Read it against the original, fix \
         anything wrong, then run `ohwb-bot index`. -->\n\n",
        comment_safe(h.origin),
        h.ingested_on
    ));
    out.push_str(&format!("# {}\n\n", escape(h.title)));
    let source = format!("<!-- source: {} -->\n\n", comment_safe(h.url));
    // Blocks since the last source comment: a comment with none above it is refused by the
    // parser, so one is only written when there is something to source.
    let mut unsourced = false;
    for piece in pieces {
        match piece {
            Piece::Heading(level, text) => {
                if unsourced {
                    out.push_str(&source);
                    unsourced = false;
                }
                let level = (*level).clamp(2, 6) as usize;
                out.push_str(&format!("{} {}\n\n", "#".repeat(level), escape(text)));
            }
            Piece::Paragraph(text) => {
                out.push_str(&escape_block(text));
                out.push_str("\n\n");
                unsourced = true;
            }
            Piece::List { ordered, items } => {
                for (i, item) in items.iter().enumerate() {
                    if *ordered {
                        out.push_str(&format!("{}. {}\n", i + 1, escape_block(item)));
                    } else {
                        out.push_str(&format!("- {}\n", escape_block(item)));
                    }
                }
                out.push('\n');
                unsourced = true;
            }
            Piece::Table(rows) => {
                let width = rows.iter().map(Vec::len).max().unwrap_or(0);
                for (i, row) in rows.iter().enumerate() {
                    let cells: Vec<String> = (0..width)
                        .map(|c| escape(row.get(c).map_or("", String::as_str)))
                        .collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                    if i == 0 {
                        out.push_str(&format!("|{}\n", "---|".repeat(width)));
                    }
                }
                out.push('\n');
                unsourced = true;
            }
            Piece::Page(n) => {
                // Source what came before first, so each comment sits by its own text.
                if unsourced {
                    out.push_str(&source);
                    unsourced = false;
                }
                out.push_str(&format!("<!-- page: {n} -->\n\n"));
            }
        }
    }
    if unsourced {
        out.push_str(&source);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Makes text inert Markdown wherever it is placed: characters that open inline structure
/// (emphasis, code, links, HTML, tables, strikethrough, entities, heading closers) are
/// backslash-escaped, and line breaks become spaces (a block is one line).
pub(super) fn escape(text: &str) -> String {
    let text = super::squash(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// [`escape`] for text that starts a line of its own (a paragraph): a leading `-`, `+`, `=`
/// or `1.`/`1)` would start a list or underline a heading.
pub(super) fn escape_block(text: &str) -> String {
    let mut out = escape(text);
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    }
    if let Some(end) = out.find(|c: char| !c.is_ascii_digit()) {
        if end > 0 && matches!(out[end..].chars().next(), Some('.') | Some(')')) {
            out.insert(end, '\\');
        }
    }
    out
}

/// Text placed inside an HTML comment must not close it.
fn comment_safe(s: &str) -> String {
    s.replace("--", "- -").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_text_cannot_become_markup() {
        for hostile in [
            "<!-- source: https://evil.example/ -->",
            "# not a heading",
            "- not a list",
            "1. not a list",
            "[link](https://evil.example/) **bold** `code` | cell |",
            "@everyone <script>",
            "+ plus",
            "===",
            "2) two",
        ] {
            let md = format!("## S\n\n{}\n", escape_block(hostile));
            let parsed = crate::corpus::passages::parse(&md, "d");
            assert_eq!(parsed.sections.len(), 1, "{hostile}");
            let block = &parsed.sections[0].blocks[0];
            assert_eq!(block.text, hostile, "{hostile}");
            assert_eq!(block.source, None, "{hostile}");
        }
        // Inside a heading or a list item, text stays text too, and ordinary punctuation is
        // left readable for the admin who reviews the file.
        let md = format!(
            "## {}\n\n- {}\n",
            escape("2.1 Who #"),
            escape("self-referral <b>")
        );
        let parsed = crate::corpus::passages::parse(&md, "d");
        assert_eq!(parsed.sections[0].headings, vec!["2.1 Who #"]);
        assert_eq!(parsed.sections[0].blocks[0].text, "- self-referral <b>");
        assert_eq!(escape("2.1 self-referral"), "2.1 self-referral");
    }
}
