//! Resource links posted by OH teams: atomic storage under `corpus/resources/posted/`, listing
//! and removal. The rules a post must pass first are in [`validate`].
//!
//! A posted resource is an ordinary corpus document (`kind = "resource"`) so it is searchable,
//! reviewable in git and rebuilt by a full reindex like everything else.
//!
//! Invariants:
//! - Nothing is written unless every validation rule passes; a refusal says which rule failed.
//! - A resource file appears whole or not at all: it is written to a hidden temporary file,
//!   fsynced, then renamed into place (and the directory fsynced). The corpus loader skips
//!   hidden files, so a crash mid-write never breaks the next reindex.
//! - Posts and removals serialise on `posted/.lock`, so two posts of the same URL cannot both
//!   pass the duplicate check, and two different posts both land.
//! - User text is stored as literal text: Markdown in a title or summary is escaped when the
//!   file is written, so it reads back exactly as typed and can never become a heading, a
//!   link or a `<!-- source -->` directive.

use std::path::{Path, PathBuf};

use serde::Serialize;

mod validate;

pub use validate::check_url;
use validate::{one_line, refuse_lookalike_title, validate};

use crate::corpus::{self, Kind};
use crate::text::slugify;

/// Where posted resources live, relative to the corpus directory.
pub const POSTED_DIR: &str = "resources/posted";
/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest summary, in characters.
pub const MAX_SUMMARY: usize = 2000;
/// Longest URL, in characters.
pub const MAX_URL: usize = 2048;
/// Most tags on one resource.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 40;

/// Why a resource was refused or could not be stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResourceError {
    /// The input broke a rule; the message says which and what to do.
    #[error("{0}")]
    Invalid(String),
    /// The same link is already posted.
    #[error("that link is already posted as `{id}` ({title})")]
    Duplicate {
        /// The existing resource's id.
        id: String,
        /// Its title.
        title: String,
    },
    /// No resource has this id.
    #[error("no posted resource has the id `{0}`; use /resource list to see them")]
    NotFound(String),
    /// The disk said no.
    #[error("could not store the resource: {0}")]
    Io(String),
}

/// What an OH team member submits.
#[derive(Debug, Clone, Default)]
pub struct NewResource {
    /// The link.
    pub url: String,
    /// Its title.
    pub title: String,
    /// What it is and who it is for.
    pub summary: String,
    /// Comma-separated tags, as typed.
    pub tags: String,
    /// Who posted it (a display name, "console" or "cli"); stored in front matter.
    pub posted_by: String,
}

/// A stored resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Id, also the file stem and the document slug.
    pub id: String,
    /// Title.
    pub title: String,
    /// Link.
    pub url: String,
    /// Summary.
    pub summary: String,
    /// Tags.
    pub tags: Vec<String>,
    /// RFC 3339 time of posting.
    pub posted_at: String,
    /// Who posted it.
    pub posted_by: String,
}

/// Storage rules that come from configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Accept `http://` links as well as `https://`.
    pub allow_http: bool,
}

/// Backslash-escapes every ASCII punctuation character, which CommonMark then reads back as
/// the literal character: stored text can never become Markdown structure.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Serialize)]
struct FrontMatter<'a> {
    title: &'a str,
    source_url: &'a str,
    publisher: &'a str,
    published: &'a str,
    kind: &'a str,
    tags: &'a [String],
    summary: &'a str,
    posted_at: &'a str,
    posted_by: &'a str,
}

/// The directory posted resources live in.
pub fn posted_dir(corpus_dir: &Path) -> PathBuf {
    corpus_dir.join(POSTED_DIR)
}

fn lock(dir: &Path) -> Result<crate::fsutil::LockFile, ResourceError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ResourceError::Io(format!("{}: {e}", dir.display())))?;
    let path = dir.join(".lock");
    crate::fsutil::lock_file(&path, true)
        .map_err(|e| ResourceError::Io(format!("{}: {e}", path.display())))?
        .ok_or_else(|| ResourceError::Io(format!("{}: lock not granted", path.display())))
}

/// Every posted resource, in id order. Files that fail to parse are skipped here (and reported
/// by `check` and reindex).
pub fn list(corpus_dir: &Path) -> Result<Vec<Resource>, ResourceError> {
    let dir = posted_dir(corpus_dir);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let files = corpus::markdown_files(&dir).map_err(|e| ResourceError::Io(e.to_string()))?;
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let rel = f.strip_prefix(corpus_dir).unwrap_or(&f);
        let Ok(doc) = corpus::parse_document(rel, &bytes) else {
            continue;
        };
        if doc.meta.kind != Kind::Resource {
            continue;
        }
        out.push(Resource {
            id: doc.slug.clone(),
            title: doc.meta.title.clone(),
            url: doc.meta.source_url.clone(),
            summary: doc.meta.summary.clone().unwrap_or_default(),
            tags: doc.meta.tags.clone(),
            posted_at: doc.meta.posted_at.clone().unwrap_or_default(),
            posted_by: doc.meta.posted_by.clone().unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Validates and stores a resource; returns it with its new id. Does not reindex.
pub fn add(
    corpus_dir: &Path,
    new: &NewResource,
    policy: Policy,
) -> Result<Resource, ResourceError> {
    let v = validate(new, policy)?;
    refuse_lookalike_title(corpus_dir, &v.title)?;
    let dir = posted_dir(corpus_dir);
    let _lock = lock(&dir)?;
    let key = crate::links::duplicate_key(&v.url);
    for existing in list(corpus_dir)? {
        let same =
            url::Url::parse(&existing.url).is_ok_and(|u| crate::links::duplicate_key(&u) == key);
        if same {
            return Err(ResourceError::Duplicate {
                id: existing.id,
                title: existing.title,
            });
        }
    }
    remove_stale_temp_files(&dir);
    let now = time_now();
    let id = new_id(&v.title, &key, &now);
    let published = now[..10].to_string();
    let host = v.url.host_str().unwrap_or_default().to_string();
    let posted_by = one_line(&new.posted_by);
    let fm = FrontMatter {
        title: &v.title,
        source_url: v.url.as_str(),
        publisher: &host,
        published: &published,
        kind: "resource",
        tags: &v.tags,
        summary: &v.summary,
        posted_at: &now,
        posted_by: &posted_by,
    };
    let toml_text = toml::to_string(&fm).map_err(|e| ResourceError::Io(e.to_string()))?;
    // The title lives in front matter (it is the citation's document name); the body is the
    // summary under a fixed heading, so a citation reads "Title › Summary".
    let body = format!(
        "+++\n{toml_text}+++\n\n## Summary\n\n{}\n",
        md_escape(&v.summary)
    );
    // The written file must read back as the same resource; refuse rather than store garbage.
    let rel = Path::new(POSTED_DIR).join(format!("{id}.md"));
    if let Err(problems) = corpus::parse_document(&rel, body.as_bytes()) {
        return Err(ResourceError::Invalid(format!(
            "the resource could not be stored as valid text: {}",
            corpus::format_problems(&problems)
        )));
    }
    write_atomically(&dir, &format!("{id}.md"), body.as_bytes())?;
    Ok(Resource {
        id,
        title: v.title.clone(),
        url: v.url.to_string(),
        summary: v.summary.clone(),
        tags: v.tags.clone(),
        posted_at: now.clone(),
        posted_by: posted_by.clone(),
    })
}

/// Whether `id` can name a posted resource's file: a non-empty slug of lower-case letters,
/// digits and dashes (never a path).
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The stored file of the posted resource `id`, to share with other instances.
pub fn file_text(corpus_dir: &Path, id: &str) -> Result<String, ResourceError> {
    if !is_plain_id(id) {
        return Err(ResourceError::NotFound(crate::text::truncate_words(
            id, 100,
        )));
    }
    let path = posted_dir(corpus_dir).join(format!("{id}.md"));
    std::fs::read_to_string(&path)
        .map_err(|e| ResourceError::Io(format!("{}: {e}", path.display())))
}

/// Makes this corpus's copy of a resource another instance shared match it: writes `text` as
/// `<id>.md` when the file is missing or differs, or deletes the file when `text` is `None`.
/// Returns whether anything changed. What comes from the database is checked like a post: the
/// id must be a plain slug and the text must read back as a resource document.
pub fn apply_shared(
    corpus_dir: &Path,
    id: &str,
    text: Option<&str>,
) -> Result<bool, ResourceError> {
    if !is_plain_id(id) {
        return Err(ResourceError::Invalid(format!(
            "a shared resource has an id that is not a plain name: {}",
            crate::text::truncate_words(id, 100)
        )));
    }
    let dir = posted_dir(corpus_dir);
    let _lock = lock(&dir)?;
    let name = format!("{id}.md");
    let path = dir.join(&name);
    let current = std::fs::read_to_string(&path).ok();
    match text {
        None if current.is_none() => Ok(false),
        None => {
            std::fs::remove_file(&path)
                .map_err(|e| ResourceError::Io(format!("{}: {e}", path.display())))?;
            crate::fsutil::sync_dir(&dir);
            Ok(true)
        }
        Some(t) if current.as_deref() == Some(t) => Ok(false),
        Some(t) => {
            let rel = Path::new(POSTED_DIR).join(&name);
            match corpus::parse_document(&rel, t.as_bytes()) {
                Ok(doc) if doc.meta.kind == Kind::Resource => {}
                _ => {
                    return Err(ResourceError::Invalid(format!(
                        "the shared resource {id} is not a valid resource document"
                    )))
                }
            }
            write_atomically(&dir, &name, t.as_bytes())?;
            Ok(true)
        }
    }
}

/// Deletes a posted resource by id. Does not reindex.
pub fn remove(corpus_dir: &Path, id: &str) -> Result<Resource, ResourceError> {
    let dir = posted_dir(corpus_dir);
    let _lock = lock(&dir)?;
    let id = id.trim();
    let found = list(corpus_dir)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ResourceError::NotFound(crate::text::truncate_words(id, 100)))?;
    let path = dir.join(format!("{}.md", found.id));
    std::fs::remove_file(&path)
        .map_err(|e| ResourceError::Io(format!("{}: {e}", path.display())))?;
    crate::fsutil::sync_dir(&dir);
    Ok(found)
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ResourceError> {
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    crate::fsutil::write_atomically(&tmp, &dir.join(name), bytes, "resource-temp-written")
        .map_err(|e| ResourceError::Io(e.to_string()))?;
    crate::testing::pause_point("resource-renamed");
    Ok(())
}

/// Temporary files left by a process that died mid-write; safe to delete under the lock.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `r-<title slug>-<hash>`: readable in a listing, unique per post.
fn new_id(title: &str, key: &str, now: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut slug = slugify(title);
    slug.truncate(40);
    let slug = slug.trim_end_matches('-');
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(now.as_bytes());
    h.update(std::process::id().to_le_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    if slug.is_empty() {
        format!("r-{hex}")
    } else {
        format!("r-{slug}-{hex}")
    }
}

/// Current UTC time as RFC 3339 with nanoseconds (so two posts in one second differ).
fn time_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = crate::dates::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str) -> NewResource {
        NewResource {
            url: url.into(),
            title: "Back care guide".into(),
            summary: "Exercises for staff with back pain.".into(),
            tags: "msk, back".into(),
            posted_by: "tester".into(),
        }
    }

    #[test]
    fn posting_times_are_rfc3339_with_nanoseconds() {
        assert_eq!(time_now().len(), 30);
    }

    #[test]
    fn duplicates_are_found_after_normalising() {
        let a = url::Url::parse("https://WWW.NHS.uk/page/?utm_source=x#top").unwrap();
        let b = url::Url::parse("http://www.nhs.uk/page").unwrap();
        assert_eq!(
            crate::links::duplicate_key(&a),
            crate::links::duplicate_key(&b)
        );
        let c = url::Url::parse("https://www.nhs.uk/page?id=2").unwrap();
        assert_ne!(
            crate::links::duplicate_key(&a),
            crate::links::duplicate_key(&c)
        );
    }

    #[test]
    fn markdown_and_mentions_are_stored_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = new("https://example.org/a");
        n.title = "# Heading **bold** @everyone <!-- source: https://evil -->".into();
        n.summary = "[link](https://evil) `code`\n\n## not a heading".into();
        let r = add(dir.path(), &n, Policy::default()).unwrap();
        let corpus = corpus::load(dir.path()).unwrap();
        // Only the trust's safety files are missing from this bare corpus.
        assert!(
            corpus.problems.iter().all(|p| p.path.starts_with("safety")),
            "{:?}",
            corpus.problems
        );
        let doc = &corpus.documents[0];
        assert_eq!(doc.slug, r.id);
        assert_eq!(
            doc.meta.title,
            "# Heading **bold** @everyone <!-- source: https://evil -->"
        );
        assert_eq!(doc.passages.len(), 1);
        assert_eq!(
            doc.passages[0].url, "https://example.org/a",
            "no smuggled source"
        );
        assert_eq!(
            doc.passages[0].text,
            "[link](https://evil) `code` ## not a heading"
        );
        assert_eq!(doc.passages[0].section, vec!["Summary".to_string()]);
    }

    #[test]
    fn list_and_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let a = add(dir.path(), &new("https://example.org/a"), Policy::default()).unwrap();
        let b = add(dir.path(), &new("https://example.org/b"), Policy::default()).unwrap();
        assert_ne!(a.id, b.id);
        let dup = add(
            dir.path(),
            &new("https://EXAMPLE.org/a/#x"),
            Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            dup,
            ResourceError::Duplicate {
                id: a.id.clone(),
                title: a.title.clone()
            }
        );
        assert_eq!(list(dir.path()).unwrap().len(), 2);
        assert_eq!(remove(dir.path(), &a.id).unwrap().id, a.id);
        assert_eq!(list(dir.path()).unwrap(), vec![b]);
        assert!(matches!(
            remove(dir.path(), &a.id),
            Err(ResourceError::NotFound(_))
        ));
    }
}
