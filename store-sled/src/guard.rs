//! A guard around sled's recovery. sled, opening a directory whose log holds a
//! message that fails its checksum, takes that message for the end of the log
//! and zeroes every message after it before it reports the corruption: opening
//! a damaged ledger in place would destroy the records `salvage` could have
//! recovered from the raw files. So an orderly close leaves a fingerprint of
//! sled's files (their names, lengths and modification times); an open whose files
//! match it opens in place, since sled then has nothing to recover, and any
//! other open (after a crash, a copy, or a change at rest) first copies sled's
//! files aside, so that whatever sled's recovery cuts stays on disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fs2::FileExt;
use navigo_store::StoreError;

use crate::keys;

/// The fingerprint of sled's files an orderly close leaves in the ledger's
/// directory.
pub const CLOSED_FILE: &str = "NAVIGO-CLOSED";

/// Where sled's files are copied before an open that does not follow an
/// orderly close: a ledger directory of its own (the marker file included), so
/// that `salvage --data` reads it as it is. Only the latest such copy is kept.
pub const BEFORE_RECOVERY_DIR: &str = "before-recovery";

/// Whether a directory entry's name is the copy set aside (or one being made).
pub(crate) fn is_copy_aside(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name == BEFORE_RECOVERY_DIR || name == format!("{BEFORE_RECOVERY_DIR}.partial")
}

/// sled's own files in `dir`, relative and sorted: `conf`, `db`, `snap.*`
/// and `blobs/*`. Everything else in the directory (the marker, the
/// fingerprint, the service's files) is not sled's and is left out.
fn sled_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let text = name.to_string_lossy();
        if text == "conf" || text == "db" || text.starts_with("snap.") {
            files.push(PathBuf::from(&name));
        }
    }
    let blobs = dir.join("blobs");
    if blobs.is_dir() {
        for entry in fs::read_dir(&blobs)? {
            files.push(Path::new("blobs").join(entry?.file_name()));
        }
    }
    files.sort();
    Ok(files)
}

/// One line per sled file: its relative name, length and modification time
/// (nanoseconds since the epoch).
///
/// Decision: the metadata, not a hash of the bytes. Hashing would read the
/// whole log at every open and close (seconds for a region's tens of
/// gigabytes); any write to a file, a crash's included, changes its
/// modification time. What it does not see is a change that restores the
/// time afterwards, which only someone who can write the files already does
/// on purpose, and who could destroy them as easily.
fn fingerprint(dir: &Path, files: &[PathBuf]) -> io::Result<String> {
    let mut text = String::new();
    for file in files {
        let meta = fs::metadata(dir.join(file))?;
        let modified = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        text.push_str(&format!("{} {} {modified}\n", file.display(), meta.len()));
    }
    Ok(text)
}

/// The fingerprint of sled's files in `dir` as they are now, or `None` when
/// they cannot be listed or read.
pub(crate) fn current(dir: &Path) -> Option<String> {
    let files = sled_files(dir).ok()?;
    fingerprint(dir, &files).ok()
}

fn io_error(dir: &Path, what: &str, e: &io::Error) -> StoreError {
    StoreError::Storage(format!("the ledger in {}: {what}: {e}", dir.display()))
}

/// Whether another process holds sled's lock on `db` (then this open will
/// wait for it or fail on it, and must not copy files being written).
fn locked_by_another(dir: &Path) -> bool {
    match fs::File::open(dir.join("db")) {
        Ok(f) => {
            let held = FileExt::try_lock_exclusive(&f).is_err();
            let _ = FileExt::unlock(&f);
            held
        }
        Err(_) => false,
    }
}

/// Called before sled opens `dir`: copies sled's files aside unless they are
/// exactly as an orderly close left them (or there are none yet); says
/// whether it copied them.
///
/// # Errors
/// A file that cannot be read or copied: nothing is opened then.
pub(crate) fn before_open(dir: &Path) -> Result<bool, StoreError> {
    let files = sled_files(dir).map_err(|e| io_error(dir, "listing sled's files", &e))?;
    if files.is_empty() || locked_by_another(dir) {
        return Ok(false);
    }
    let now = fingerprint(dir, &files)
        .map_err(|e| io_error(dir, "reading sled's files' metadata", &e))?;
    if fs::read_to_string(dir.join(CLOSED_FILE)).ok().as_deref() == Some(now.as_str()) {
        return Ok(false);
    }
    copy_aside(dir, &files).map_err(|e| io_error(dir, "copying sled's files aside", &e))?;
    Ok(true)
}

/// What an open that failed after copying sled's files aside adds to its
/// error: where the files are as they were before sled's recovery.
pub(crate) fn kept_aside_note(dir: &Path) -> String {
    let kept = dir.join(BEFORE_RECOVERY_DIR);
    format!(
        "; sled's files as they were before this open are kept in {}: \
         `navigo-ledger salvage --data {} --out FILE` recovers from them",
        kept.display(),
        kept.display()
    )
}

/// Copies `files` and the marker into a fresh `before-recovery.partial`, then
/// puts it in place of the previous copy, so that a copy cut short never
/// stands under the final name.
fn copy_aside(dir: &Path, files: &[PathBuf]) -> io::Result<()> {
    let partial = dir.join(format!("{BEFORE_RECOVERY_DIR}.partial"));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(partial.join("blobs"))?;
    for file in files
        .iter()
        .map(PathBuf::as_path)
        .chain([Path::new(keys::MARKER_FILE)])
    {
        fs::copy(dir.join(file), partial.join(file))?;
    }
    let target = dir.join(BEFORE_RECOVERY_DIR);
    let _ = fs::remove_dir_all(&target);
    fs::rename(&partial, &target)
}

/// Called after an orderly close has flushed: records the fingerprint of
/// sled's files, written under a temporary name and renamed into place.
///
/// # Errors
/// A file that cannot be read, or the fingerprint that cannot be written.
pub(crate) fn after_close(dir: &Path) -> Result<(), StoreError> {
    let write = || -> io::Result<()> {
        let files = sled_files(dir)?;
        let text = fingerprint(dir, &files)?;
        let tmp = dir.join(format!("{CLOSED_FILE}.tmp"));
        fs::write(&tmp, text)?;
        fs::rename(&tmp, dir.join(CLOSED_FILE))
    };
    write().map_err(|e| io_error(dir, "recording sled's files at close", &e))
}
