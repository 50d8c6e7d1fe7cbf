//! Crash-safe file operations shared by the index and posted resources: a file appears whole or
//! not at all, and one writer at a time holds a lock file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// A held lock file; the lock is released when this is dropped (or the process dies).
pub(crate) struct LockFile(#[allow(dead_code)] File);

/// Locks `path` (created if missing). With `wait`, blocks until the lock is free; without it,
/// returns `Ok(None)` at once when another holder has it.
pub(crate) fn lock_file(path: &Path, wait: bool) -> std::io::Result<Option<LockFile>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    if wait {
        file.lock()?;
    } else {
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(Some(LockFile(file)))
}

/// Locks `path`, waiting at most `patience`: `Ok(None)` when another holder kept it all that
/// time (a stuck or suspended process must not make every later writer wait forever).
pub(crate) fn lock_file_within(
    path: &Path,
    patience: std::time::Duration,
) -> std::io::Result<Option<LockFile>> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if let Some(lock) = lock_file(path, false)? {
            return Ok(Some(lock));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        // Polling: std offers no blocking lock with a timeout.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Writes `bytes` to `tmp`, fsyncs it, renames it over `dest` and fsyncs the directory, so
/// `dest` is either the old file or the whole new one. `pause` names the test pause point just
/// before the rename (see `testing`).
pub(crate) fn write_atomically(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    pause: &str,
) -> std::io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    crate::testing::pause_point(pause);
    std::fs::rename(tmp, dest)?;
    // Make the rename itself durable before anyone is told the write succeeded.
    if let Some(dir) = dest.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Fsyncs a directory so a removal or rename in it survives a crash. Best effort.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
