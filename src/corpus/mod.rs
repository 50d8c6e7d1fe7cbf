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

mod document;
pub mod files;
pub mod line_phrasings;
pub mod out_of_scope;
pub(crate) mod passages;
pub mod phrasings;
pub mod thesaurus;

pub use document::{check_url, parse_document};
pub use line_phrasings::LinePhrasings;
pub use out_of_scope::OutOfScope;
pub use phrasings::Phrasings;
pub use thesaurus::Thesaurus;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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

#[cfg(test)]
mod tests {
    use super::document::tests::GOOD;
    use super::*;

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
