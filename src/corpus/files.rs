//! Which files make up the corpus: a walk of the corpus directory that follows symbolic links
//! staying inside it, reports the entries it will not read, and holds the size limit.
//!
//! Invariants:
//! - Nothing is skipped silently: a `.md` entry that is a link leading outside the corpus, a
//!   broken link, a FIFO, socket or device, or a file over the size limit is a [`Problem`] by
//!   name, so `check` cannot say "corpus OK" while leaving a document out.
//! - Hidden entries (a leading `.`) are not part of the corpus and are passed over.
//! - A directory reached twice through links is walked once: no cycle can hang a build.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Problem;
use crate::{Error, Result};

/// Default limit on one corpus file, in bytes: far above any real document (the strategy is
/// ~100 KB of text), far below what would exhaust memory when indexed.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

static MAX_FILE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_BYTES);

/// Sets the size limit for this process (`[index] max_file_mib` in the config).
pub fn set_max_file_bytes(bytes: u64) {
    MAX_FILE_BYTES.store(bytes.max(1), Ordering::Relaxed);
}

/// The size limit in force.
pub fn max_file_bytes() -> u64 {
    MAX_FILE_BYTES.load(Ordering::Relaxed)
}

/// The corpus's files, sorted, and the `.md` entries that will not be read.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files (directly or through a link inside the corpus), sorted.
    pub files: Vec<PathBuf>,
    /// `.md` entries left out, each with the reason.
    pub problems: Vec<Problem>,
}

/// Walks `root`.
pub fn list(root: &Path) -> Result<Listing> {
    let canonical_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
    let mut listing = Listing::default();
    let mut seen = HashSet::new();
    seen.insert(canonical_root.clone());
    walk(root, root, &canonical_root, &mut seen, &mut listing)?;
    listing.files.sort();
    Ok(listing)
}

fn walk(
    root: &Path,
    dir: &Path,
    canonical_root: &Path,
    seen: &mut HashSet<PathBuf>,
    listing: &mut Listing,
) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let is_md = path.extension().is_some_and(|e| e == "md");
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let mut refuse = |message: &str| {
            if is_md {
                listing.problems.push(Problem {
                    path: rel.clone(),
                    line: 0,
                    message: message.to_string(),
                });
            }
        };
        let ty = entry.file_type().map_err(|e| Error::io(&path, e))?;
        let (ty, target) = if ty.is_symlink() {
            let Ok(target) = path.canonicalize() else {
                refuse("a symbolic link that leads nowhere: not read");
                continue;
            };
            if !target.starts_with(canonical_root) {
                refuse("a symbolic link to a file outside the corpus directory: not read (copy the file in instead)");
                continue;
            }
            let Ok(meta) = std::fs::metadata(&target) else {
                refuse("a symbolic link that cannot be followed: not read");
                continue;
            };
            (meta.file_type(), target)
        } else {
            (ty, path.clone())
        };
        if ty.is_dir() {
            let canonical = target.canonicalize().unwrap_or(target);
            if seen.insert(canonical) {
                walk(root, &path, canonical_root, seen, listing)?;
            }
        } else if ty.is_file() {
            listing.files.push(path);
        } else {
            refuse("not a regular file (a FIFO, socket or device): not read");
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_inside_are_followed_and_the_rest_reported_by_name() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/real.md"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("sub/real.md"), root.join("alias.md")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.md"), root.join("out.md")).unwrap();
        std::os::unix::fs::symlink(root.join("missing.md"), root.join("broken.md")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let fifo = root.join("pipe.md");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let l = list(root).unwrap();
        let names: Vec<String> = l
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["alias.md", "sub/real.md"]);
        let mut refused: Vec<String> = l
            .problems
            .iter()
            .map(|p| p.path.display().to_string())
            .collect();
        refused.sort();
        assert_eq!(refused, ["broken.md", "out.md", "pipe.md"]);
        assert!(l
            .problems
            .iter()
            .any(|p| p.message.contains("outside the corpus")));
    }
}
