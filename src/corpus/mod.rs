//! Reads the Markdown corpus under `corpus/` into [`Document`]s made of [`Passage`]s.
//!
//! Each file opens with a TOML front-matter block between `+++` lines (see [`Meta`]); the body is
//! split on its headings into passages by [`passages`]. Loading never stops at the first bad file:
//! [`load`] returns every good document together with a [`Problem`] (file and line) for every bad
//! one, so `ohwb-bot check` and a failed reindex can name them all.
//!
//! Invariants:
//! - A passage id is `<document slug>/<heading slug>/<ordinal>`: it depends only on the file name,
//!   the passage's own heading and its position inside that section, so it survives a reindex
//!   whenever the text above it in that section is unchanged.
//! - Files are visited in sorted path order, so the same corpus always yields the same documents
//!   in the same order.
//! - Only `.md` files are documents; hidden files and directories are skipped.

pub mod files;
pub mod line_phrasings;
pub mod out_of_scope;
pub(crate) mod passages;
pub mod phrasings;
pub mod thesaurus;

pub use line_phrasings::LinePhrasings;
pub use out_of_scope::OutOfScope;
pub use phrasings::Phrasings;
pub use thesaurus::Thesaurus;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::text::slugify;
use crate::{Error, Result};

/// What kind of document a file is; front matter `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The Growing OHWB Together strategy itself.
    Strategy,
    /// A summary of a background document (Boorman, Black, the Framework, the People Plan).
    Background,
    /// A resource link posted by an OH team.
    Resource,
}

impl Kind {
    /// The lowercase name used in front matter and in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Strategy => "strategy",
            Kind::Background => "background",
            Kind::Resource => "resource",
        }
    }

    /// The kind named `name` (as in front matter), or `None`.
    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Strategy, Kind::Background, Kind::Resource]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// A document's front matter, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// Human title, shown in citations.
    pub title: String,
    /// Where the original lives; the link for passages without a source comment (only
    /// outside strategy and background documents, which must source every paragraph).
    pub source_url: String,
    /// Who published the original.
    pub publisher: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: the precision the sources support, no more.
    pub published: String,
    /// Strategy, background or resource.
    pub kind: Kind,
    /// Free-form tags; searchable.
    pub tags: Vec<String>,
    /// One-paragraph summary, shown by `/sources`.
    pub summary: Option<String>,
    /// When a resource was posted (RFC 3339), for posted resources.
    pub posted_at: Option<String>,
    /// Who posted a resource, for posted resources.
    pub posted_by: Option<String>,
    /// When someone last checked the document against its source (a date as above).
    pub reviewed: Option<String>,
    /// When it should next be checked; `check` and `sources` warn once it has passed.
    pub review_due: Option<String>,
}

/// One searchable, citable piece of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Stable id: `<doc slug>/<heading slug>/<ordinal>`.
    pub id: String,
    /// Headings from the top of the document down to this passage (the document's H1 excluded).
    pub section: Vec<String>,
    /// The page that states this passage's facts: the `<!-- source: URL -->` after its
    /// paragraphs, else (outside strategy and background documents) the document's
    /// `source_url`.
    pub url: String,
    /// The page of the original document it is on, for documents ingested from a PDF.
    pub page: Option<u32>,
    /// Plain text (lists and tables flattened to readable lines).
    pub text: String,
    /// Line in the file where the passage's first paragraph starts (1-based).
    pub line: usize,
}

impl Passage {
    /// The section path as shown to users: `Driver › Area`.
    pub fn section_path(&self) -> String {
        self.section.join(" › ")
    }
}

/// A parsed, valid corpus document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// File stem, slugified; unique across the corpus.
    pub slug: String,
    /// Path relative to the corpus directory.
    pub path: PathBuf,
    /// Front matter.
    pub meta: Meta,
    /// Passages in reading order.
    pub passages: Vec<Passage>,
}

/// Something wrong with one corpus file, located to a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as found under the corpus directory.
    pub path: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// What is wrong, in words an editor can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        }
    }
}

/// One problem per line, for error messages.
pub fn format_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole corpus: every valid document, and every problem found on the way.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Valid documents in sorted path order.
    pub documents: Vec<Document>,
    /// Problems, in file order. A document with a problem is not in `documents`, except for
    /// corpus-wide problems (duplicate ids) which name both files.
    pub problems: Vec<Problem>,
    /// Query expansions from `thesaurus.toml` (empty when the file is absent).
    pub thesaurus: Thesaurus,
    /// Ways staff ask for each section, from `phrasings.toml` (empty when absent).
    pub phrasings: Phrasings,
    /// Ways staff ask for single sentences, from `line-phrasings.toml` (empty when absent).
    pub line_phrasings: LinePhrasings,
    /// Questions the documents do not answer, from `out-of-scope.toml` (empty when absent).
    pub out_of_scope: OutOfScope,
    /// The trust's additions to the safety phrases, from `safety/phrases.toml` (`None` when it
    /// is missing or invalid; that is also a problem).
    pub safety_phrases: Option<crate::safety::Phrases>,
    /// The trust's additions to the safety examples, from `safety/examples.toml` (`None` when
    /// it is missing or invalid; that is also a problem).
    pub safety_examples: Option<Vec<crate::safety::Example>>,
}

impl Corpus {
    /// Number of passages across all documents.
    pub fn passage_count(&self) -> usize {
        self.documents.iter().map(|d| d.passages.len()).sum()
    }
}

/// Every `.md` file under `dir`, sorted, hidden entries skipped (see [`files::list`] for links
/// and entries that are not regular files).
pub fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = files::list(dir)?.files;
    out.retain(|p| p.extension().is_some_and(|e| e == "md"));
    Ok(out)
}

/// Loads and validates every document under `dir`.
///
/// Fails only when `dir` itself cannot be read; bad files become [`Problem`]s.
pub fn load(dir: &Path) -> Result<Corpus> {
    let mut corpus = Corpus::default();
    let listing = files::list(dir)?;
    corpus.problems.extend(listing.problems);
    let limit = files::max_file_bytes();
    for path in listing
        .files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let rel = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if size > limit {
            corpus.problems.push(Problem {
                path: rel,
                line: 0,
                message: format!(
                    "the file is {:.1} MiB; the limit is {:.1} MiB ([index] max_file_mib): \
                     split it, or raise the limit",
                    size as f64 / 1048576.0,
                    limit as f64 / 1048576.0
                ),
            });
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        match parse_document(&rel, &bytes) {
            Ok(doc) => corpus.documents.push(doc),
            Err(mut problems) => corpus.problems.append(&mut problems),
        }
    }
    check_unique(&mut corpus);
    if let Some(t) = load_side_file(dir, thesaurus::FILE, Thesaurus::parse, &mut corpus.problems)? {
        corpus.thesaurus = t;
    }
    if let Some(p) = load_side_file(dir, phrasings::FILE, Phrasings::parse, &mut corpus.problems)? {
        check_phrasings(&mut corpus, p);
    }
    if let Some(p) = load_side_file(
        dir,
        line_phrasings::FILE,
        LinePhrasings::parse,
        &mut corpus.problems,
    )? {
        check_line_phrasings(&mut corpus, p);
    }
    if let Some(o) = load_side_file(
        dir,
        out_of_scope::FILE,
        OutOfScope::parse,
        &mut corpus.problems,
    )? {
        corpus.out_of_scope = o;
    }
    load_safety_files(dir, &mut corpus)?;
    Ok(corpus)
}

/// Keeps the phrasings of sections that exist; one naming no section is a problem (a heading
/// was renamed, or the id has a typo), reported at its line.
fn check_phrasings(corpus: &mut Corpus, p: Phrasings) {
    let known: std::collections::HashSet<&str> = corpus
        .documents
        .iter()
        .flat_map(|d| d.passages.iter())
        .map(|p| phrasings::section_of(&p.id))
        .collect();
    for (id, _, line) in &p.sections {
        if !known.contains(id.as_str()) {
            corpus.problems.push(Problem {
                path: PathBuf::from(phrasings::FILE),
                line: *line,
                message: format!("phrasings: no section has the id {id:?}"),
            });
        }
    }
    corpus.phrasings = p;
}

/// Keeps the line phrasings; one whose section does not exist, or none of whose section's
/// sentences starts with its `says` (the sentence was reworded), is a problem at its line.
fn check_line_phrasings(corpus: &mut Corpus, p: LinePhrasings) {
    let mut sections: std::collections::HashMap<&str, Vec<&Passage>> = Default::default();
    for x in corpus.documents.iter().flat_map(|d| d.passages.iter()) {
        sections
            .entry(phrasings::section_of(&x.id))
            .or_default()
            .push(x);
    }
    let mut problems = Vec::new();
    for e in &p.entries {
        let message = match sections.get(e.section.as_str()) {
            None => format!("line phrasings: no section has the id {:?}", e.section),
            Some(passages)
                if !passages.iter().any(|x| {
                    let heading = x.section.last().map_or("", String::as_str);
                    crate::answer_units::answer_units(&x.text, heading)
                        .iter()
                        .any(|u| line_phrasings::collapse(&u.text).starts_with(&e.says))
                }) =>
            {
                format!(
                    "line phrasings: no sentence of {:?} starts with {:?}",
                    e.section, e.says
                )
            }
            Some(_) => continue,
        };
        problems.push(Problem {
            path: PathBuf::from(line_phrasings::FILE),
            line: e.line,
            message,
        });
    }
    corpus.problems.append(&mut problems);
    corpus.line_phrasings = p;
}

/// The trust's safety files are required: distress detection must never change because a file
/// went missing, so a missing one is a problem like a broken document.
fn load_safety_files(dir: &Path, corpus: &mut Corpus) -> Result<()> {
    use crate::safety::{examples, Phrases, EXAMPLES_FILE, OLD_PHRASES_FILE, PHRASES_FILE};
    if dir.join(OLD_PHRASES_FILE).exists() {
        corpus.problems.push(Problem {
            path: PathBuf::from(OLD_PHRASES_FILE),
            line: 0,
            message: format!(
                "this file is no longer read: move your own phrases to {PHRASES_FILE} (the \
                 reviewed defaults are now built in) and delete it"
            ),
        });
    }
    corpus.safety_phrases =
        load_side_file(dir, PHRASES_FILE, Phrases::parse, &mut corpus.problems)?;
    corpus.safety_examples = load_side_file(
        dir,
        EXAMPLES_FILE,
        |t| examples::parse(t, false),
        &mut corpus.problems,
    )?;
    for (name, missing) in [
        (PHRASES_FILE, corpus.safety_phrases.is_none()),
        (EXAMPLES_FILE, corpus.safety_examples.is_none()),
    ] {
        let located = corpus.problems.iter().any(|p| p.path == Path::new(name));
        if missing && !located {
            corpus.problems.push(Problem {
                path: PathBuf::from(name),
                line: 0,
                message: "missing: distress detection needs this trust file (it may add \
                          nothing; copy it from the bundled corpus/safety/)"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Reads a TOML file beside the documents (`thesaurus.toml`, `safety/*.toml`). Absent: `None`.
/// Unparsable: `None` plus a located problem, like a bad document.
fn load_side_file<T>(
    dir: &Path,
    name: &str,
    parse: impl Fn(&str) -> std::result::Result<T, (usize, String)>,
    problems: &mut Vec<Problem>,
) -> Result<Option<T>> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|_| (1, format!("{name}: not valid UTF-8")))
        .and_then(parse);
    match parsed {
        Ok(t) => Ok(Some(t)),
        Err((line, message)) => {
            problems.push(Problem {
                path: PathBuf::from(name),
                line,
                message,
            });
            Ok(None)
        }
    }
}

/// Parses a side file's TOML; a syntax or shape error becomes (line, "`what`: message"), the
/// form every corpus file reports problems in.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> std::result::Result<T, (usize, String)> {
    toml::from_str(text).map_err(|e| {
        (
            toml_error_line(text, &e),
            format!("{what}: {}", e.message().trim_end()),
        )
    })
}

/// 1-based line of a TOML parse error in `text`, for problems that name file and line.
fn toml_error_line(text: &str, e: &toml::de::Error) -> usize {
    let offset = e.span().map_or(0, |s| s.start).min(text.len());
    1 + text[..offset].matches('\n').count()
}

/// Duplicate document slugs or passage ids make citations ambiguous; both files are named.
fn check_unique(corpus: &mut Corpus) {
    use std::collections::HashMap;
    let mut slugs: HashMap<&str, &Path> = HashMap::new();
    let mut ids: HashMap<&str, (&Path, usize)> = HashMap::new();
    let mut problems = Vec::new();
    for doc in &corpus.documents {
        if let Some(first) = slugs.insert(&doc.slug, &doc.path) {
            problems.push(Problem {
                path: doc.path.clone(),
                line: 0,
                message: format!(
                    "duplicate document slug `{}` (also {}): rename one file",
                    doc.slug,
                    first.display()
                ),
            });
        }
        for p in &doc.passages {
            if let Some((first, line)) = ids.insert(&p.id, (&doc.path, p.line)) {
                problems.push(Problem {
                    path: doc.path.clone(),
                    line: p.line,
                    message: format!(
                        "duplicate passage id `{}` (also {}:{}): give the heading a distinct name",
                        p.id,
                        first.display(),
                        line
                    ),
                });
            }
        }
    }
    corpus.problems.extend(problems);
}

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
mod tests {
    use super::*;

    const GOOD: &str = "+++\ntitle = \"T\"\nsource_url = \"https://example.org/t\"\npublisher = \"P\"\npublished = 2023-01-10\nkind = \"strategy\"\ntags = [\"a\"]\n+++\n\n# T\n\n## Section one\n\nSome text here.\n<!-- source: https://example.org/p1 -->\n";

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

    #[test]
    fn duplicate_ids_are_found_across_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("a/doc.md"), GOOD).unwrap();
        std::fs::write(dir.path().join("b/doc.md"), GOOD).unwrap();
        let corpus = load(dir.path()).unwrap();
        let text = format_problems(&corpus.problems);
        assert!(text.contains("duplicate document slug"), "{text}");
        assert!(
            text.contains("duplicate passage id `doc/section-one/1`"),
            "{text}"
        );
    }
}
