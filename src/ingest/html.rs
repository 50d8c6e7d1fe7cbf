//! HTML saved from a browser: the page's main content, without navigation, headers, footers,
//! cookie banners, scripts or forms.
//!
//! The content root is `<main>`, else `<article>`, else `<body>`. Inside it, elements that are
//! page furniture by tag (nav, header, footer, aside, form, script…), by ARIA role, or by an
//! id/class that names a banner, cookie notice, breadcrumb or menu are skipped with everything
//! inside them. Headings `h2`–`h6` keep their level; the first `h1` is the title.

use scraper::{ElementRef, Html, Node, Selector};

use super::{squash, Extracted, IngestError, Piece};

const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "button", "iframe", "svg", "select", "input", "dialog", "figure",
];
const SKIP_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "search",
    "complementary",
    "dialog",
    "alertdialog",
];
/// Words in an id or class that mark page furniture.
const SKIP_MARKS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "breadcrumb",
    "skip-link",
    "skiplink",
    "navbar",
    "menu",
    "newsletter",
    "share",
    "social",
    "related",
    "sidebar",
    "footer",
    "header",
    "feedback",
];

pub(super) fn read(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let text = String::from_utf8_lossy(bytes);
    let doc = Html::parse_document(&text);
    let sel = |s: &str| Selector::parse(s).expect("valid selector");
    let root = doc
        .select(&sel("main"))
        .next()
        .or_else(|| doc.select(&sel("article")).next())
        .or_else(|| doc.select(&sel("body")).next())
        .unwrap_or_else(|| doc.root_element());
    let mut out = Extracted {
        headings_from: "the page's markup",
        ..Extracted::default()
    };
    let mut skipped = 0usize;
    walk(root, &mut out, &mut skipped);
    if out.title.is_none() {
        out.title = doc
            .select(&sel("title"))
            .next()
            .map(|t| squash(&t.text().collect::<String>()))
            // "Page | Site" → "Page": the site's name is not the document's.
            .map(|t| t.split(" | ").next().unwrap_or_default().trim().to_string())
            .filter(|t| !t.is_empty());
    }
    out.published = [
        "meta[property='article:published_time']",
        "meta[name='dcterms.created']",
        "meta[name='DC.date']",
        "meta[name='date']",
        "meta[itemprop='datePublished']",
    ]
    .iter()
    .filter_map(|s| doc.select(&sel(s)).next())
    .filter_map(|m| m.value().attr("content"))
    .chain(
        doc.select(&sel("time[datetime]"))
            .filter_map(|t| t.value().attr("datetime")),
    )
    .find_map(date_prefix);
    if skipped > 0 {
        out.left_out.push(format!(
            "{skipped} page furniture element(s) (navigation, header, footer, banners, forms)"
        ));
    }
    Ok(out)
}

/// `2024-03-05T09:00:00Z` → `2024-03-05`.
fn date_prefix(s: &str) -> Option<String> {
    let d = s.trim().get(..10)?;
    crate::dates::PartialDate::parse(d).map(|d| d.to_string())
}

fn is_furniture(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if SKIP_TAGS.contains(&v.name()) {
        return true;
    }
    if v.attr("role")
        .is_some_and(|r| SKIP_ROLES.contains(&r.trim()))
    {
        return true;
    }
    if v.attr("hidden").is_some() || v.attr("aria-hidden") == Some("true") {
        return true;
    }
    let marks = format!(
        "{} {}",
        v.attr("id").unwrap_or_default(),
        v.attr("class").unwrap_or_default()
    )
    .to_lowercase();
    SKIP_MARKS.iter().any(|m| marks.contains(m))
}

fn text_of(el: ElementRef<'_>) -> String {
    squash(&el.text().collect::<String>())
}

fn walk(el: ElementRef<'_>, out: &mut Extracted, skipped: &mut usize) {
    for child in el.children() {
        let Some(child) = ElementRef::wrap(child) else {
            continue;
        };
        if is_furniture(&child) {
            *skipped += 1;
            continue;
        }
        match child.value().name() {
            "h1" if out.title.is_none() => {
                out.title = Some(text_of(child)).filter(|t| !t.is_empty())
            }
            h @ ("h1" | "h2" | "h3" | "h4" | "h5" | "h6") => {
                let level = h[1..].parse::<u8>().unwrap_or(2).max(2);
                let t = text_of(child);
                if !t.is_empty() {
                    out.pieces.push(Piece::Heading(level, t));
                }
            }
            "p" | "blockquote" | "pre" | "address" | "dd" | "dt" => {
                let t = text_of(child);
                if !t.is_empty() {
                    out.pieces.push(Piece::Paragraph(t));
                }
            }
            list @ ("ul" | "ol") => {
                let items: Vec<String> = child
                    .children()
                    .filter_map(ElementRef::wrap)
                    .filter(|li| li.value().name() == "li" && !is_furniture(li))
                    .map(text_of)
                    .filter(|t| !t.is_empty())
                    .collect();
                if !items.is_empty() {
                    out.pieces.push(Piece::List {
                        ordered: list == "ol",
                        items,
                    });
                }
            }
            "table" => {
                let rows: Vec<Vec<String>> = child
                    .select(&Selector::parse("tr").expect("valid selector"))
                    .map(|tr| {
                        tr.children()
                            .filter_map(ElementRef::wrap)
                            .filter(|c| matches!(c.value().name(), "td" | "th"))
                            .map(text_of)
                            .collect::<Vec<_>>()
                    })
                    .filter(|r| r.iter().any(|c| !c.is_empty()))
                    .collect();
                if !rows.is_empty() {
                    out.pieces.push(Piece::Table(rows));
                }
            }
            _ => {
                // A container (div, section…): its loose text is a paragraph, its elements are
                // walked in order.
                let loose: String = child
                    .children()
                    .filter_map(|n| match n.value() {
                        Node::Text(t) => Some(t.to_string()),
                        _ => None,
                    })
                    .collect();
                if !squash(&loose).is_empty() && !has_blocks(child) {
                    out.pieces.push(Piece::Paragraph(text_of(child)));
                } else {
                    walk(child, out, skipped);
                }
            }
        }
    }
}

/// Whether an element holds block-level children (then its loose text is walked piecewise).
fn has_blocks(el: ElementRef<'_>) -> bool {
    el.children().filter_map(ElementRef::wrap).any(|c| {
        matches!(
            c.value().name(),
            "p" | "div"
                | "ul"
                | "ol"
                | "table"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "section"
                | "article"
                | "blockquote"
        )
    })
}
