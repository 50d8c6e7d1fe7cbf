//! The corpus fingerprint: one hash of every corpus file's path and bytes, which says whether
//! the served index was built from the corpus as it is now.
//!
//! Hashing every byte on every start costs most of a short-lived `ask` at scale (hundreds of
//! milliseconds at 1M passages), so each file's hash is remembered in `index/stat-cache.json`
//! with its size and modification time, and only files whose size or time changed are read.
//!
//! Invariants:
//! - The cache is a hint: missing, unreadable or from another version, it is ignored and
//!   rewritten; the fingerprint is the same with or without it.
//! - A cached hash is trusted only for a file last modified well before the cache was written
//!   ([`RACY_WINDOW`]), so an edit in the same clock tick as a hash, with the same size, is
//!   not missed (git's "racy clean" rule).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{hex, INDEX_MARK, SCHEMA_VERSION};
use crate::corpus;
use crate::{Error, Result};

/// The cache's file name in the index directory.
pub const STAT_CACHE: &str = "stat-cache.json";

/// A file modified this close to (or after) the cache's writing is hashed again next time.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What the cache remembers of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    len: u64,
    mtime_ns: u128,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    /// [`SCHEMA_VERSION`] when written; another version's cache is ignored.
    schema_version: u32,
    /// When it was written (ns since the epoch).
    written_ns: u128,
    /// By path relative to the corpus directory.
    files: HashMap<String, Entry>,
}

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_nanos()
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn read_cache(index_dir: &Path) -> Cache {
    std::fs::read(index_dir.join(STAT_CACHE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Cache>(&b).ok())
        .filter(|c| c.schema_version == SCHEMA_VERSION)
        .unwrap_or_default()
}

/// Best effort: a cache that cannot be written only means hashing again next time. Written
/// only into a directory already claimed as an index, never into one a build would then
/// refuse as "not empty and not an index".
fn write_cache(index_dir: &Path, cache: &Cache) {
    if !index_dir.join(INDEX_MARK).is_file() {
        return;
    }
    let Ok(bytes) = serde_json::to_vec(cache) else {
        return;
    };
    // Per process, so two writers never share a temporary; a build removes one left behind.
    let tmp = index_dir.join(format!("{STAT_CACHE}.tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, index_dir.join(STAT_CACHE)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!(error = %e, "could not write the corpus stat cache");
    }
}

/// Hashes every file under `corpus_dir` (paths and bytes) with [`SCHEMA_VERSION`], reading
/// only the files whose size or modification time differs from `index_dir`'s stat cache.
pub fn fingerprint(corpus_dir: &Path, index_dir: &Path) -> Result<String> {
    let listing = corpus::files::list(corpus_dir)?;
    let limit = corpus::files::max_file_bytes();
    let old = read_cache(index_dir);
    let trusted_before = old.written_ns.saturating_sub(RACY_WINDOW.as_nanos());
    let started = now_ns();
    let mut new = Cache {
        schema_version: SCHEMA_VERSION,
        written_ns: started,
        files: HashMap::with_capacity(listing.files.len()),
    };
    let mut reread = 0usize;
    let mut h = Sha256::new();
    h.update(SCHEMA_VERSION.to_le_bytes());
    for f in &listing.files {
        let rel = f.strip_prefix(corpus_dir).unwrap_or(f).to_string_lossy();
        h.update(rel.as_bytes());
        h.update([0]);
        let meta = std::fs::metadata(f).map_err(|e| Error::io(f, e))?;
        let (len, mtime) = (meta.len(), mtime_ns(&meta));
        h.update(len.to_le_bytes());
        if len > limit {
            // Never read whole: the load refuses it anyway. Its time still changes the
            // fingerprint when it changes.
            h.update(mtime.to_le_bytes());
            continue;
        }
        let cached = old
            .files
            .get(rel.as_ref())
            .filter(|e| e.len == len && e.mtime_ns == mtime && mtime < trusted_before);
        let sha = match cached {
            Some(e) => e.sha256.clone(),
            None => {
                reread += 1;
                let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
                hex(&Sha256::digest(&bytes))
            }
        };
        h.update(sha.as_bytes());
        new.files.insert(
            rel.into_owned(),
            Entry {
                len,
                mtime_ns: mtime,
                sha256: sha,
            },
        );
    }
    // Entries left out are part of what was built from: fixing one must trigger a build.
    for p in &listing.problems {
        h.update(p.path.to_string_lossy().as_bytes());
        h.update([1]);
    }
    // Rewritten when anything was read (or files went away), so the next start reads less.
    if reread > 0 || new.files.len() != old.files.len() {
        write_cache(index_dir, &new);
    }
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_mtime(path: &Path, ago: Duration) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - ago).unwrap();
    }

    #[test]
    fn same_fingerprint_with_or_without_the_cache_and_edits_are_seen() {
        let corpus = tempfile::tempdir().unwrap();
        let index = tempfile::tempdir().unwrap();
        let a = corpus.path().join("a.md");
        std::fs::write(&a, "one").unwrap();
        std::fs::write(corpus.path().join("b.md"), "two").unwrap();
        set_mtime(&a, Duration::from_secs(60));
        set_mtime(&corpus.path().join("b.md"), Duration::from_secs(60));
        let unclaimed = fingerprint(corpus.path(), index.path()).unwrap();
        assert!(
            !index.path().join(STAT_CACHE).exists(),
            "nothing is written into a directory that is not an index yet"
        );
        std::fs::write(index.path().join(INDEX_MARK), "").unwrap();
        let first = fingerprint(corpus.path(), index.path()).unwrap();
        assert_eq!(first, unclaimed);
        assert!(index.path().join(STAT_CACHE).exists());
        // From the cache: the same.
        assert_eq!(fingerprint(corpus.path(), index.path()).unwrap(), first);
        // Without any cache (another index directory): the same.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(fingerprint(corpus.path(), other.path()).unwrap(), first);

        // Same size, same old modification time, different bytes: the cache would hide it, so
        // this proves the cached hash is really what is used...
        let old_time = std::fs::metadata(&a).unwrap().modified().unwrap();
        std::fs::write(&a, "uno").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(old_time)
            .unwrap();
        let stale = fingerprint(corpus.path(), index.path()).unwrap();
        // ...whereas any real edit changes the time, and is seen.
        std::fs::write(&a, "uno").unwrap();
        let edited = fingerprint(corpus.path(), index.path()).unwrap();
        assert_ne!(edited, first);
        assert_eq!(stale, first, "an untouched stat reuses the cached hash");
        assert_eq!(fingerprint(corpus.path(), other.path()).unwrap(), edited);
    }

    #[test]
    fn a_file_edited_in_the_caches_own_moment_is_hashed_again() {
        let corpus = tempfile::tempdir().unwrap();
        let index = tempfile::tempdir().unwrap();
        let a = corpus.path().join("a.md");
        std::fs::write(&a, "one").unwrap();
        std::fs::write(index.path().join(INDEX_MARK), "").unwrap();
        let first = fingerprint(corpus.path(), index.path()).unwrap();
        // Rewritten at once with the same size and (forced) the same time: racy, so re-read.
        let meta = std::fs::metadata(&a).unwrap();
        std::fs::write(&a, "two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        assert_ne!(fingerprint(corpus.path(), index.path()).unwrap(), first);
    }

    #[test]
    fn a_damaged_cache_is_ignored() {
        let corpus = tempfile::tempdir().unwrap();
        let index = tempfile::tempdir().unwrap();
        std::fs::write(corpus.path().join("a.md"), "one").unwrap();
        std::fs::write(index.path().join(INDEX_MARK), "").unwrap();
        let first = fingerprint(corpus.path(), index.path()).unwrap();
        std::fs::write(index.path().join(STAT_CACHE), b"{not json").unwrap();
        assert_eq!(fingerprint(corpus.path(), index.path()).unwrap(), first);
    }
}
