//! `ingest`: turns a real document (PDF, saved HTML page, DOCX, plain text) into a corpus
//! Markdown file an admin reads before indexing.
//!
//! Each reader (`pdf`, `html`, `docx`, `plain`) turns bytes into [`Extracted`]: a title, a
//! date, and [`Piece`]s (headings, paragraphs, lists, tables, page breaks) with boilerplate
//! already dropped. [`markdown`] renders that as a corpus document: front matter filled in,
//! every block covered by a `<!-- source: URL -->` comment (the URL the admin gave), PDF
//! pages marked with `<!-- page: N -->`.
//!
//! Invariants:
//! - Nothing is written unless the whole document was read and its Markdown parses as a valid
//!   corpus document; a bad file gets a message naming the reason and leaves the corpus as it
//!   was. An existing file is never overwritten without `force`.
//! - Text from the file can never become Markdown structure or a comment: [`markdown`] escapes
//!   it, so a document cannot smuggle in a `<!-- source: … -->` of its own.
//! - A panic inside a parsing library is caught and reported as an unreadable file.
//! - Ingesting does not index: the admin reviews the file, then runs `index`.

mod docx;
mod html;
mod markdown;
mod pdf;
mod plain;

use std::path::{Path, PathBuf};

use crate::corpus::Kind;
use crate::dates::PartialDate;

/// Files larger than this are refused before parsing (a corpus document is text; a larger file
/// is almost certainly images or the wrong file).
pub const MAX_INPUT_MIB: u64 = 64;

/// What the admin asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The file to read.
    pub file: PathBuf,
    /// Where the original is published; every passage cites it.
    pub url: String,
    /// Overrides the title found in the file.
    pub title: Option<String>,
    /// Document kind (default background).
    pub kind: Kind,
    /// Overrides the date found in the file (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub published: Option<String>,
    /// Overrides the publisher (default: the link's host).
    pub publisher: Option<String>,
    /// Where to write; default `<corpus>/ingested/<slug>.md`.
    pub out: Option<PathBuf>,
    /// Replace an existing file.
    pub force: bool,
}

/// What was written and what could not be used.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file written.
    pub path: PathBuf,
    /// The format read: "PDF", "HTML", "DOCX" or "text".
    pub format: &'static str,
    /// The title used.
    pub title: String,
    /// The date used.
    pub published: String,
    /// Where the date came from (`--published` or the file's own date).
    pub published_from: &'static str,
    /// Pages read (PDFs; 0 for other formats).
    pub pages: usize,
    /// Headings kept.
    pub headings: usize,
    /// Paragraphs kept.
    pub paragraphs: usize,
    /// Lists kept.
    pub lists: usize,
    /// Tables kept.
    pub tables: usize,
    /// Where headings came from ("the PDF's outline", "font size", "the markup").
    pub headings_from: &'static str,
    /// Things left out, for the admin to check by hand.
    pub left_out: Vec<String>,
}

/// Why a file was not ingested. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the input or writing the output failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A zero-byte file.
    #[error("{0} is empty (0 bytes)")]
    Empty(PathBuf),
    /// Over [`MAX_INPUT_MIB`].
    #[error("{0} is {1} MiB; files over {MAX_INPUT_MIB} MiB are refused")]
    TooLarge(PathBuf, u64),
    /// A password-protected PDF.
    #[error(
        "this PDF is encrypted (password protected): save an unprotected copy and ingest that"
    )]
    Encrypted,
    /// A PDF of images only.
    #[error(
        "this PDF has no text layer (a scanned image?): run it through OCR, or paste its text \
         into a .txt file and ingest that"
    )]
    NoText,
    /// A malformed file, or one the parser crashed on.
    #[error("could not read this {format} file: {reason}")]
    Unreadable {
        /// "PDF", "HTML", "DOCX" or "text".
        format: &'static str,
        /// What went wrong, for the admin.
        reason: String,
    },
    /// Not a format `ingest` reads.
    #[error("unrecognised file: {0}")]
    Unknown(String),
    /// The `--url` is not a citable link.
    #[error("--url: {0}")]
    BadUrl(String),
    /// Something the file does not give and the admin must (title, date).
    #[error("{0}")]
    Missing(String),
    /// The output exists and `--force` was not given.
    #[error("{} already exists: pass --force to replace it, or --out to write elsewhere", .0.display())]
    Exists(PathBuf),
    /// Another corpus file would give the same document id.
    #[error(
        "{} has the same document id `{slug}` as {}: pass --out with another file name", path.display(), other.display()
    )]
    SameSlug {
        /// The file that would be written.
        path: PathBuf,
        /// The document id both would have.
        slug: String,
        /// The corpus file that has it already.
        other: PathBuf,
    },
    /// The rendered Markdown failed the corpus checks (a bug, or an odd title or URL).
    #[error("the Markdown made from this file is not a valid corpus document:\n{0}")]
    Invalid(String),
}

impl IngestError {
    /// A file of `format` ("PDF", "DOCX", …) that could not be read, with the reason for the admin.
    pub fn unreadable(format: &'static str, reason: impl Into<String>) -> Self {
        IngestError::Unreadable {
            format,
            reason: reason.into(),
        }
    }
}

/// A document as read, before rendering.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Extracted {
    pub title: Option<String>,
    /// A date found in the file, already `YYYY[-MM[-DD]]`.
    pub published: Option<String>,
    pub pieces: Vec<Piece>,
    pub pages: usize,
    pub headings_from: &'static str,
    pub left_out: Vec<String>,
}

/// One unit of document structure. Text is plain (no Markdown); rendering escapes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Level 2 and below (level 1 is the document title).
    Heading(u8, String),
    Paragraph(String),
    List {
        ordered: bool,
        items: Vec<String>,
    },
    Table(Vec<Vec<String>>),
    /// The pieces after this are on page N (PDFs).
    Page(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Pdf,
    Html,
    Docx,
    Text,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Pdf => "PDF",
            Format::Html => "HTML",
            Format::Docx => "DOCX",
            Format::Text => "text",
        }
    }
}

/// Recognises the format from the bytes (not the file name, which may lie).
fn detect(bytes: &[u8]) -> Result<Format, IngestError> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Format::Docx);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(IngestError::Unknown(
            "not a PDF, DOCX, HTML or UTF-8 text file".into(),
        ));
    };
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = start.chars().take(200).collect::<String>().to_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body")
    {
        return Ok(Format::Html);
    }
    Ok(Format::Text)
}

/// Reads `req.file`, writes the Markdown document, and says what it did.
pub fn ingest(corpus_dir: &Path, req: &Request) -> Result<Report, IngestError> {
    let url = req.url.trim();
    crate::corpus::check_url(url).map_err(IngestError::BadUrl)?;
    let meta = std::fs::metadata(&req.file).map_err(|e| IngestError::Io(req.file.clone(), e))?;
    if meta.len() == 0 {
        return Err(IngestError::Empty(req.file.clone()));
    }
    if meta.len() > MAX_INPUT_MIB << 20 {
        return Err(IngestError::TooLarge(req.file.clone(), meta.len() >> 20));
    }
    if let Some(p) = &req.published {
        if PartialDate::parse(p).is_none() {
            return Err(IngestError::Missing(format!(
                "--published `{p}` is not a date as YYYY, YYYY-MM or YYYY-MM-DD"
            )));
        }
    }
    let bytes = std::fs::read(&req.file).map_err(|e| IngestError::Io(req.file.clone(), e))?;
    let format = detect(&bytes)?;
    let extracted = isolate(format, || match format {
        Format::Pdf => pdf::read(&bytes),
        Format::Html => html::read(&bytes),
        Format::Docx => docx::read(&bytes),
        Format::Text => plain::read(&bytes),
    })?;
    if !extracted
        .pieces
        .iter()
        .any(|p| !matches!(p, Piece::Page(_)))
    {
        return Err(match format {
            Format::Pdf => IngestError::NoText,
            _ => IngestError::unreadable(format.name(), "no text found"),
        });
    }

    let title = req
        .title
        .clone()
        .or(extracted.title.clone())
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| IngestError::Missing("no title found in the file: pass --title".into()))?;
    let (published, published_from) =
        match (&req.published, &extracted.published) {
            (Some(p), _) => (p.trim().to_string(), "--published"),
            (None, Some(p)) => (p.clone(), "the file's own date"),
            (None, None) => return Err(IngestError::Missing(
                "no date found in the file: pass --published YYYY[-MM[-DD]] (when the original \
                 was published)"
                    .into(),
            )),
        };
    let publisher = req
        .publisher
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| host_of(url));

    let slug = crate::text::slugify(&title);
    let slug = if slug.is_empty() {
        "document".to_string()
    } else {
        slug.chars()
            .take(60)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string()
    };
    let path = match &req.out {
        Some(p) => p.clone(),
        None => corpus_dir.join("ingested").join(format!("{slug}.md")),
    };
    let file_name = req
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc = markdown::Header {
        title: &title,
        url,
        publisher: &publisher,
        published: &published,
        kind: req.kind,
        origin: &format!("{} ({})", file_name, format.name()),
        ingested_on: &PartialDate::today().to_string(),
    };
    let text = markdown::render(&doc, &extracted.pieces);

    // The result must be a valid corpus document before anything is written.
    let rel = path.strip_prefix(corpus_dir).unwrap_or(&path);
    crate::corpus::parse_document(rel, text.as_bytes())
        .map_err(|problems| IngestError::Invalid(crate::corpus::format_problems(&problems)))?;
    if path.exists() && !req.force {
        return Err(IngestError::Exists(path));
    }
    let own_slug = crate::text::slugify(
        &path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    if let Ok(files) = crate::corpus::markdown_files(corpus_dir) {
        if let Some(other) = files.iter().find(|f| {
            *f != &path
                && f.file_stem()
                    .map(|s| crate::text::slugify(&s.to_string_lossy()))
                    == Some(own_slug.clone())
        }) {
            return Err(IngestError::SameSlug {
                path: path.clone(),
                slug: own_slug,
                other: other.clone(),
            });
        }
    }
    write(&path, text.as_bytes()).map_err(|e| IngestError::Io(path.clone(), e))?;

    let count = |f: fn(&Piece) -> bool| extracted.pieces.iter().filter(|p| f(p)).count();
    Ok(Report {
        path,
        format: format.name(),
        title,
        published,
        published_from,
        pages: extracted.pages,
        headings: count(|p| matches!(p, Piece::Heading(..))),
        paragraphs: count(|p| matches!(p, Piece::Paragraph(_))),
        lists: count(|p| matches!(p, Piece::List { .. })),
        tables: count(|p| matches!(p, Piece::Table(_))),
        headings_from: extracted.headings_from,
        left_out: extracted.left_out,
    })
}

/// Runs a reader with panics caught: PDF libraries in particular can panic on unusual files,
/// and one bad file must not take the process down.
fn isolate(
    format: Format,
    read: impl FnOnce() -> Result<Extracted, IngestError>,
) -> Result<Extracted, IngestError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(result) => result,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser failed".into());
            Err(IngestError::unreadable(
                format.name(),
                format!("the parser crashed ({reason})"),
            ))
        }
    }
}

/// Creates the parent directory and writes the file whole (a crash leaves the old file or
/// none, never half a document).
fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("md.tmp-{}", std::process::id()));
    let result = crate::fsutil::write_atomically(&tmp, path, bytes, "ingest-written");
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `https://www.england.nhs.uk/x` → `england.nhs.uk`.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Collapses runs of whitespace (including newlines and no-break spaces) to single spaces.
pub(crate) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(detect(b"%PDF-1.7\n...").unwrap(), Format::Pdf);
        assert_eq!(detect(b"PK\x03\x04rest").unwrap(), Format::Docx);
        assert_eq!(
            detect(b"\xef\xbb\xbf<!DOCTYPE html><html>").unwrap(),
            Format::Html
        );
        assert_eq!(detect(b"  <HTML><body>x").unwrap(), Format::Html);
        assert_eq!(detect(b"Plain words.\n").unwrap(), Format::Text);
        assert!(matches!(
            detect(b"\xff\xfe\x00bin"),
            Err(IngestError::Unknown(_))
        ));
    }

    #[test]
    fn a_panicking_reader_is_an_unreadable_file() {
        let r = isolate(Format::Pdf, || panic!("bad font"));
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("could not read this PDF") && e.contains("bad font"),
            "{e}"
        );
    }

    #[test]
    fn publisher_defaults_to_the_host() {
        assert_eq!(host_of("https://www.england.nhs.uk/a/b"), "england.nhs.uk");
    }
}
