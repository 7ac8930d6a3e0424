//! A ledger directory the process cannot write, as an auditor usually
//! receives it (`chmod -R a-w`, a read-only mount, another user's files).
//! sled opens its files for writing and takes a lock even to read, so such a
//! ledger is read from a private temporary copy; nothing is ever written into
//! the directory given.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use navigo_store_sled::keys::MARKER_FILE;

use super::place::Place;

/// Mode of the private copy's directories and files: the owner's only, as the
/// ledger's content is not the whole machine's to read.
const COPY_DIR_MODE: u32 = 0o700;
const COPY_FILE_MODE: u32 = 0o600;

/// The ledger to open: the ledger itself, or a private copy of it that is
/// removed when this is dropped.
#[derive(Debug)]
pub struct Readable {
    place: Place,
    copy: Option<tempfile::TempDir>,
    bytes: u64,
}

impl Readable {
    /// The ledger to open.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// Where the private copy is and how many bytes it holds, when the
    /// ledger was copied.
    pub fn copied(&self) -> Option<(&Path, u64)> {
        self.copy.as_ref().map(|c| (c.path(), self.bytes))
    }
}

/// `place` itself when the process can write its data directory or when the
/// log is in PostgreSQL (whose server, not this process, holds its files),
/// else a private copy of the directory in the temporary directory
/// (`TMPDIR`).
///
/// # Errors
/// The copy cannot be made (no space, an unreadable file, a symbolic link).
pub fn readable(place: &Place) -> anyhow::Result<Readable> {
    if place.postgres().is_some() || !is_read_only(place.data()) {
        return Ok(Readable {
            place: place.clone(),
            copy: None,
            bytes: 0,
        });
    }
    private_copy(place.data())
}

/// A private copy of `data` in the temporary directory (`TMPDIR`), whether or
/// not the process could write `data`: for a reader that lets sled open a
/// directory which may be damaged, where sled's recovery would rewrite it.
///
/// # Errors
/// The copy cannot be made (no space, an unreadable file, a symbolic link).
pub fn private_copy(data: &Path) -> anyhow::Result<Readable> {
    let copy = tempfile::Builder::new()
        .prefix("navigo-ledger-copy-")
        .tempdir()
        .context("cannot create a private copy of the ledger")?;
    let bytes = copy_tree(data, copy.path()).with_context(|| {
        format!(
            "cannot copy the ledger {} to {}",
            data.display(),
            copy.path().display()
        )
    })?;
    Ok(Readable {
        place: Place::dir(copy.path()),
        copy: Some(copy),
        bytes,
    })
}

/// Whether `data` is a ledger directory this process cannot, or must not,
/// write: the directory or one of its files has no write permission bit, or
/// a file cannot be opened for writing (another owner, a read-only mount).
///
/// Decision: the permission bits count even for a process that could write
/// anyway (root): a directory its owner made read-only is one they do not
/// want written, and it is not the verifier's to decide otherwise. Only a
/// ledger (its marker file present) is ever copied, so that a mistyped
/// `--data /` copies nothing.
pub fn is_read_only(data: &Path) -> bool {
    if !data.join(MARKER_FILE).is_file() {
        return false;
    }
    match fs::metadata(data) {
        Ok(m) if m.permissions().readonly() => true,
        Ok(_) => any_file_read_only(data),
        Err(_) => false,
    }
}

/// Whether a file under `dir` (recursively) cannot be opened for writing.
/// Opening a file for writing, without creating or truncating it, changes
/// nothing in it.
fn any_file_read_only(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                fs::metadata(&path).is_ok_and(|m| m.permissions().readonly())
                    || any_file_read_only(&path)
            }
            Ok(t) if t.is_file() => {
                fs::metadata(&path).is_ok_and(|m| m.permissions().readonly())
                    || OpenOptions::new().write(true).open(&path).is_err()
            }
            _ => false,
        }
    })
}

/// Copies the directory `from` into the existing directory `to`, owner-only
/// and writable; returns the bytes copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    fs::set_permissions(to, fs::Permissions::from_mode(COPY_DIR_MODE))?;
    let mut bytes = 0;
    for entry in fs::read_dir(from).with_context(|| from.display().to_string())? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir(&dst)?;
            bytes += copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            bytes += fs::copy(&src, &dst).with_context(|| src.display().to_string())?;
            fs::set_permissions(&dst, fs::Permissions::from_mode(COPY_FILE_MODE))?;
        } else {
            anyhow::bail!(
                "{} is neither a file nor a directory: a ledger holds none",
                src.display()
            );
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger_like(dir: &Path) {
        fs::write(dir.join(MARKER_FILE), "navigo-ledger store format 2\n").unwrap();
        fs::create_dir(dir.join("blobs")).unwrap();
        fs::write(dir.join("blobs").join("1"), b"blob").unwrap();
        fs::write(dir.join("db"), b"db").unwrap();
    }

    fn make_read_only(path: &Path) {
        for e in fs::read_dir(path).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                make_read_only(&e.path());
            } else {
                fs::set_permissions(e.path(), fs::Permissions::from_mode(0o444)).unwrap();
            }
        }
        fs::set_permissions(path, fs::Permissions::from_mode(0o555)).unwrap();
    }

    #[test]
    fn read_only_copy_a_writable_ledger_is_opened_in_place() {
        let dir = tempfile::tempdir().unwrap();
        ledger_like(dir.path());
        let r = readable(&Place::dir(dir.path())).unwrap();
        assert_eq!(r.place().data(), dir.path());
        assert!(r.copied().is_none());
    }

    #[test]
    fn read_only_copy_a_chmod_a_w_ledger_is_read_from_a_private_copy() {
        // Given a ledger directory made read-only as `chmod -R a-w` does
        // (the permission bits decide, also for root), then it is detected
        // and read from a writable copy holding the same files, removed
        // when dropped.
        let dir = tempfile::tempdir().unwrap();
        ledger_like(dir.path());
        let ledger = dir.path().join("ledger-ro");
        fs::create_dir(&ledger).unwrap();
        ledger_like(&ledger);
        make_read_only(&ledger);
        assert!(is_read_only(&ledger));
        let r = readable(&Place::dir(&ledger)).unwrap();
        let (copy, bytes) = r.copied().map(|(p, b)| (p.to_path_buf(), b)).unwrap();
        assert_eq!(r.place().data(), copy);
        assert_eq!(bytes, 29 + 4 + 2);
        assert_eq!(fs::read(copy.join("blobs").join("1")).unwrap(), b"blob");
        assert!(!fs::metadata(copy.join("db"))
            .unwrap()
            .permissions()
            .readonly());
        drop(r);
        assert!(!copy.exists());
        for d in [&ledger, &ledger.join("blobs")] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn read_only_copy_one_read_only_file_is_enough() {
        let dir = tempfile::tempdir().unwrap();
        ledger_like(dir.path());
        assert!(!is_read_only(dir.path()));
        fs::set_permissions(dir.path().join("db"), fs::Permissions::from_mode(0o444)).unwrap();
        assert!(is_read_only(dir.path()));
    }

    #[test]
    fn read_only_copy_never_copies_what_is_not_a_ledger() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        assert!(!is_read_only(dir.path()));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    }
}
