//! One corpus file parsed into a [`Document`]: its TOML front matter checked field by field
//! ([`Meta`]), its body split into passages, every problem reported with its line.
//!
//! Invariants:
//! - Every problem a file has is reported at once, each with the file and the line it is on
//!   (1-based), so an author fixes a file in one pass.
//! - A strategy or background paragraph without its source link is refused: every paragraph is
//!   traceable to the page it came from.

use std::path::Path;

use serde::Deserialize;

use super::{passages, Document, Kind, Meta, Problem};
use crate::text::slugify;

/// Parses one file. `rel` names it in problems and gives the document its slug.
pub fn parse_document(rel: &Path, bytes: &[u8]) -> std::result::Result<Document, Vec<Problem>> {
    let problem = |line: usize, message: String| Problem {
        path: rel.to_path_buf(),
        line,
        message,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return Err(vec![problem(
                line,
                format!(
                    "not valid UTF-8 (bad byte at offset {}): save the file as UTF-8",
                    e.valid_up_to()
                ),
            )]);
        }
    };
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let slug = slugify(&stem);
    if slug.is_empty() {
        return Err(vec![problem(
            0,
            "file name has no letters or digits to make a document id from".into(),
        )]);
    }
    let parsed = passages::parse(text, &slug);
    let mut problems: Vec<Problem> = parsed
        .problems
        .into_iter()
        .map(|(line, m)| problem(line, m))
        .collect();
    let meta = match parsed.front_matter {
        None => {
            problems.insert(
                0,
                problem(
                    1,
                    "missing front matter: the file must open with a `+++` TOML block \
                     (title, source_url, publisher, published, kind)"
                        .into(),
                ),
            );
            None
        }
        Some((line, toml_text)) => match parse_meta(&toml_text) {
            Ok(m) => Some(m),
            Err((offset_line, msg)) => {
                problems.push(problem(line + offset_line, msg));
                None
            }
        },
    };
    let Some(meta) = meta else {
        return Err(problems);
    };
    if parsed.sections.iter().all(|s| s.blocks.is_empty()) {
        problems.push(problem(
            0,
            "empty document: no text after the front matter".into(),
        ));
    }
    let mut passages = Vec::new();
    // Strategy and background documents are what staff act on: every paragraph must name the
    // page its facts came from. A posted resource or a support page may lean on its own link.
    let every_block_sourced = matches!(meta.kind, Kind::Strategy | Kind::Background);
    let mut checked_sources = std::collections::HashSet::new();
    for section in &parsed.sections {
        for block in &section.blocks {
            match &block.source {
                Some((line, url)) if checked_sources.insert(*line) => {
                    if let Err(m) = check_url(url) {
                        problems.push(problem(*line, format!("source comment: {m}")));
                    }
                }
                Some(_) => {}
                None if every_block_sourced => problems.push(problem(
                    block.line,
                    format!(
                        "this paragraph has no source: add `<!-- source: URL -->` on the line \
                         after it, with the page that states its facts ({} documents cite a page \
                         for every paragraph)",
                        meta.kind.as_str()
                    ),
                )),
                None => {}
            }
        }
        passages.extend(section.to_passages(&slug, &meta.source_url));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Document {
        slug,
        path: rel.to_path_buf(),
        meta,
        passages,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    title: String,
    source_url: String,
    publisher: String,
    published: toml::Value,
    kind: Kind,
    #[serde(default)]
    tags: Vec<String>,
    summary: Option<String>,
    posted_at: Option<String>,
    posted_by: Option<String>,
    reviewed: Option<toml::Value>,
    review_due: Option<toml::Value>,
}

/// Parses front matter; an error carries the line within the TOML text (0-based) and a message.
fn parse_meta(toml_text: &str) -> std::result::Result<Meta, (usize, String)> {
    let line_of = |offset: usize| {
        toml_text[..offset.min(toml_text.len())]
            .matches('\n')
            .count()
    };
    let raw: RawMeta = toml::from_str(toml_text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start)).unwrap_or(0);
        (
            line,
            format!("front matter: {}", e.message().trim_end_matches('\n')),
        )
    })?;
    let field_line = |key: &str| {
        toml_text
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .unwrap_or(0)
    };
    for (key, value) in [
        ("title", &raw.title),
        ("publisher", &raw.publisher),
        ("source_url", &raw.source_url),
    ] {
        if value.trim().is_empty() {
            return Err((field_line(key), format!("front matter: `{key}` is empty")));
        }
    }
    check_url(&raw.source_url).map_err(|m| {
        (
            field_line("source_url"),
            format!("front matter: source_url: {m}"),
        )
    })?;
    let date = |key: &str, value: &toml::Value| {
        // A bare TOML integer (`published = 2022`) is refused: it reads as a number, and
        // `20220620` would be a plausible typo for a date.
        let text = match value {
            toml::Value::Datetime(d) if d.date.is_some() && d.time.is_none() => d.to_string(),
            toml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match crate::dates::PartialDate::parse(&text) {
            Some(d) => Ok(d.to_string()),
            None => Err((
                field_line(key),
                format!(
                    "front matter: `{key}` must be a date as YYYY, YYYY-MM or YYYY-MM-DD, \
                     not {value}"
                ),
            )),
        }
    };
    let published = date("published", &raw.published)?;
    let reviewed = raw
        .reviewed
        .as_ref()
        .map(|v| date("reviewed", v))
        .transpose()?;
    let review_due = raw
        .review_due
        .as_ref()
        .map(|v| date("review_due", v))
        .transpose()?;
    Ok(Meta {
        title: raw.title.trim().to_string(),
        source_url: raw.source_url,
        publisher: raw.publisher.trim().to_string(),
        published,
        kind: raw.kind,
        tags: raw.tags,
        summary: raw.summary,
        posted_at: raw.posted_at,
        posted_by: raw.posted_by,
        reviewed,
        review_due,
    })
}

/// A citable link: absolute `http(s)` with a host and no credentials.
pub fn check_url(s: &str) -> std::result::Result<(), String> {
    let url = url::Url::parse(s.trim()).map_err(|e| format!("invalid URL `{s}`: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("URL `{s}` must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("URL `{s}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("URL `{s}` must not contain credentials"));
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A valid document with one sourced section: the fixture the corpus tests vary.
    pub(in crate::corpus) const GOOD: &str = "+++\ntitle = \"T\"\nsource_url = \"https://example.org/t\"\npublisher = \"P\"\npublished = 2023-01-10\nkind = \"strategy\"\ntags = [\"a\"]\n+++\n\n# T\n\n## Section one\n\nSome text here.\n<!-- source: https://example.org/p1 -->\n";

    fn parse(s: &str) -> std::result::Result<Document, Vec<Problem>> {
        parse_document(Path::new("strategy/doc.md"), s.as_bytes())
    }

    #[test]
    fn front_matter_is_parsed() {
        let doc = parse(GOOD).unwrap();
        assert_eq!(doc.slug, "doc");
        assert_eq!(doc.meta.title, "T");
        assert_eq!(doc.meta.published, "2023-01-10");
        assert_eq!(doc.meta.kind, Kind::Strategy);
        assert_eq!(doc.meta.tags, vec!["a"]);
        assert_eq!(doc.passages.len(), 1);
        assert_eq!(doc.passages[0].url, "https://example.org/p1");
        assert_eq!(
            (doc.meta.reviewed.as_deref(), doc.meta.review_due.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn review_dates_are_dates() {
        let s = GOOD.replace(
            "tags",
            "reviewed = \"2026-03\"\nreview_due = 2027-03-01\ntags",
        );
        let doc = parse(&s).unwrap();
        assert_eq!(doc.meta.reviewed.as_deref(), Some("2026-03"));
        assert_eq!(doc.meta.review_due.as_deref(), Some("2027-03-01"));
        let s = GOOD.replace("tags", "review_due = \"next spring\"\ntags");
        let errs = parse(&s).unwrap_err();
        assert!(errs[0].message.contains("review_due"), "{errs:?}");
        assert_eq!(errs[0].line, 7, "{errs:?}");
    }

    /// Strategy and background documents cite a page for every paragraph; `check` names the
    /// file and line of each one without. Other kinds fall back to the document's link.
    #[test]
    fn unsourced_paragraphs_are_refused_in_strategy_and_background_documents() {
        let s = GOOD.replace(
            "<!-- source: https://example.org/p1 -->\n",
            "<!-- source: https://example.org/p1 -->\n\nA second paragraph, unsourced.\n\n## Two\n\n- a list\n- unsourced\n",
        );
        for kind in ["strategy", "background"] {
            let errs = parse(&s.replace("\"strategy\"", &format!("\"{kind}\""))).unwrap_err();
            let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
            assert_eq!(lines, vec![17, 21], "{kind}: {errs:?}");
            assert!(errs[0].message.contains("has no source"), "{errs:?}");
            assert_eq!(errs[0].path, Path::new("strategy/doc.md"));
        }
        let resource = parse(&s.replace("\"strategy\"", "\"resource\"")).unwrap();
        let urls: Vec<&str> = resource.passages.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://example.org/p1",
                "https://example.org/t",
                "https://example.org/t"
            ]
        );
    }

    #[test]
    fn missing_front_matter_is_reported_at_line_1() {
        let errs = parse("# Title\n\nText.\n").unwrap_err();
        assert_eq!(errs[0].line, 1);
        assert!(errs[0].message.contains("missing front matter"), "{errs:?}");
    }

    #[test]
    fn front_matter_errors_name_the_line() {
        let bad = GOOD.replace("kind = \"strategy\"", "kind = \"novel\"");
        let errs = parse(&bad).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 6, "{errs:?}");
        assert!(errs[0].message.contains("novel"), "{errs:?}");

        let missing = GOOD.replace("publisher = \"P\"\n", "");
        let errs = parse(&missing).unwrap_err();
        assert!(errs[0].message.contains("publisher"), "{errs:?}");

        let typo = GOOD.replace("tags", "tag");
        let errs = parse(&typo).unwrap_err();
        assert!(errs[0].message.contains("tag"), "{errs:?}");

        let bad_toml = GOOD.replace("title = \"T\"", "title = T");
        let errs = parse(&bad_toml).unwrap_err();
        assert_eq!(errs[0].line, 2, "{errs:?}");
    }

    #[test]
    fn published_must_be_a_date() {
        for ok in ["\"2022\"", "\"2009-11\"", "2008-03-17"] {
            let s = GOOD.replace("2023-01-10", ok);
            assert!(parse(&s).is_ok(), "{ok}");
        }
        for bad in ["\"last year\"", "\"2022-13\"", "2022"] {
            let s = GOOD.replace("2023-01-10", bad);
            let errs = parse(&s).unwrap_err();
            assert!(errs[0].message.contains("published"), "{bad}: {errs:?}");
        }
    }

    #[test]
    fn invalid_urls_are_refused() {
        for bad in [
            "not a url",
            "ftp://x.org/a",
            "https://user:pw@x.org/",
            "mailto:a@b.c",
        ] {
            let s = GOOD.replace("https://example.org/t", bad);
            let errs = parse(&s).unwrap_err();
            assert!(errs[0].message.contains("source_url"), "{bad}: {errs:?}");
        }
        for bad in [
            "javascript:alert(1)",
            "/relative/page",
            "www.nhs.uk/page",
            "",
        ] {
            let s = GOOD.replace("https://example.org/p1", bad);
            let errs = parse(&s).unwrap_err();
            assert!(
                errs[0].message.contains("source comment"),
                "{bad}: {errs:?}"
            );
            assert_eq!(errs[0].line, 15, "{bad}");
        }
    }

    #[test]
    fn non_utf8_and_empty_files_are_refused() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(b"\nbad \xff byte\n");
        let errs = parse_document(Path::new("x.md"), &bytes).unwrap_err();
        assert!(errs[0].message.contains("UTF-8"), "{errs:?}");
        assert_eq!(errs[0].line, 17);

        let empty = GOOD.split("# T").next().unwrap().to_string();
        let errs = parse(&empty).unwrap_err();
        assert!(errs[0].message.contains("empty document"), "{errs:?}");
    }
}
