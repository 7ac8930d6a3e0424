//! Where the projection database lives in its directory, and how a rebuild
//! replaces it by a database in a directory of its own.
//!
//! The projection directory (`<ledger>/projections`) is the sled database
//! itself until a rebuild is asked to leave nothing of the previous database
//! behind (an erasure of personal data: sled keeps overwritten and removed
//! values in its segment files until it reclaims them, so rows rewritten as
//! erased, or trees dropped, may still hold the clear text on disk). Such a
//! rebuild writes a new database into `projections/e<n>` ([`open_fresh`]), and
//! [`adopt`] then names it in the file [`CURRENT_DB_FILE`] and deletes every
//! other file and directory of the projection directory, the previous
//! database's files with them.
//!
//! A crash before the pointer is written leaves the previous database current
//! (and the new one unused, deleted by the next adoption); a crash after it
//! leaves the previous files, deleted by the next adoption too.

use std::path::{Path, PathBuf};

use crate::ReplayError;

/// The file of the projection directory naming the subdirectory that holds
/// the database; absent, the directory is the database itself.
pub const CURRENT_DB_FILE: &str = "CURRENT";
/// The first letter of a database subdirectory's name, before its number.
const FRESH_DB_PREFIX: char = 'e';

/// The projection directory of the ledger in `ledger`.
pub fn projection_dir(ledger: &Path) -> PathBuf {
    ledger.join("projections")
}

fn io(path: &Path, e: &std::io::Error) -> ReplayError {
    ReplayError::Corrupt {
        tree: path.display().to_string(),
        why: e.to_string(),
    }
}

/// The number of a database subdirectory's name (`e<n>`).
fn fresh_number(name: &str) -> Option<u64> {
    name.strip_prefix(FRESH_DB_PREFIX)?.parse().ok()
}

/// The directory of the database readers open.
///
/// # Errors
/// The pointer file cannot be read or names no database subdirectory.
pub fn database_dir(ledger: &Path) -> Result<PathBuf, ReplayError> {
    let root = projection_dir(ledger);
    let file = root.join(CURRENT_DB_FILE);
    match std::fs::read_to_string(&file) {
        Ok(name) if fresh_number(name.trim()).is_some() => Ok(root.join(name.trim())),
        Ok(name) => Err(ReplayError::Corrupt {
            tree: file.display().to_string(),
            why: format!("names {name:?}, not a projection database (e1, e2, ...)"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(root),
        Err(e) => Err(io(&file, &e)),
    }
}

/// A new, empty directory for a database, numbered after every one the
/// projection directory holds.
///
/// # Errors
/// The directory cannot be read or the subdirectory made.
pub fn fresh_dir(ledger: &Path) -> Result<PathBuf, ReplayError> {
    let root = projection_dir(ledger);
    std::fs::create_dir_all(&root).map_err(|e| io(&root, &e))?;
    let mut last = 0;
    for entry in std::fs::read_dir(&root).map_err(|e| io(&root, &e))? {
        let entry = entry.map_err(|e| io(&root, &e))?;
        if let Some(n) = entry.file_name().to_str().and_then(fresh_number) {
            last = last.max(n);
        }
    }
    let dir = root.join(format!("{FRESH_DB_PREFIX}{}", last + 1));
    std::fs::create_dir(&dir).map_err(|e| io(&dir, &e))?;
    Ok(dir)
}

/// Makes the database in `fresh` (a [`fresh_dir`], its rows written and
/// flushed) the one readers open, then deletes every other file and
/// directory of the projection directory.
///
/// # Errors
/// A file that cannot be written or deleted: the pointer is written first, so
/// a failure to delete leaves the new database current and the old files for
/// the next adoption.
pub fn adopt(ledger: &Path, fresh: &Path) -> Result<(), ReplayError> {
    let root = projection_dir(ledger);
    let name = fresh
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| fresh_number(n).is_some())
        .ok_or_else(|| ReplayError::Corrupt {
            tree: fresh.display().to_string(),
            why: "not a projection database subdirectory".into(),
        })?
        .to_owned();
    let tmp = root.join(format!("{CURRENT_DB_FILE}.new"));
    write_durably(&tmp, name.as_bytes())?;
    let file = root.join(CURRENT_DB_FILE);
    std::fs::rename(&tmp, &file).map_err(|e| io(&file, &e))?;
    sync_dir(&root)?;
    for entry in std::fs::read_dir(&root).map_err(|e| io(&root, &e))? {
        let entry = entry.map_err(|e| io(&root, &e))?;
        let n = entry.file_name();
        if n == CURRENT_DB_FILE || n.to_str() == Some(name.as_str()) {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io(&path, &e))?;
    }
    sync_dir(&root)
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ReplayError> {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).map_err(|e| io(path, &e))?;
    f.write_all(bytes).map_err(|e| io(path, &e))?;
    f.sync_all().map_err(|e| io(path, &e))
}

fn sync_dir(dir: &Path) -> Result<(), ReplayError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_retention_adopting_a_fresh_projection_database_deletes_every_file_of_the_previous() {
        // Given a projection directory that is a database itself (the layout
        // before any adoption), holding a name in one of its files
        let ledger = std::env::temp_dir().join(format!("navigo-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&ledger);
        let root = projection_dir(&ledger);
        std::fs::create_dir_all(root.join("blobs")).unwrap();
        std::fs::write(root.join("db"), b"Zephyrine").unwrap();
        assert_eq!(database_dir(&ledger).unwrap(), root);
        // When a fresh database is made and adopted, twice
        let first = fresh_dir(&ledger).unwrap();
        adopt(&ledger, &first).unwrap();
        // Then readers open it, and nothing else is left
        assert_eq!(database_dir(&ledger).unwrap(), first);
        let names = |d: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&root), ["CURRENT", "e1"]);
        let second = fresh_dir(&ledger).unwrap();
        assert_eq!(second, root.join("e2"));
        adopt(&ledger, &second).unwrap();
        assert_eq!(names(&root), ["CURRENT", "e2"]);
        assert_eq!(database_dir(&ledger).unwrap(), second);
        // And a pointer naming something else is an error, not a new database
        std::fs::write(root.join(CURRENT_DB_FILE), "../elsewhere").unwrap();
        assert!(database_dir(&ledger).is_err());
        let _ = std::fs::remove_dir_all(&ledger);
    }
}
