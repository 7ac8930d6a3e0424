//! What the tests of personal data search for in a data directory's raw
//! files: clear text that sealing, erasure or a reseal must have removed.

use std::path::{Path, PathBuf};

/// Every file under `dir`, with its bytes.
pub fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

/// Whether `needle` stands in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The forms a clear value takes in a file: as written, and in lower case
/// (the person list's index keys names in lower case).
pub fn forms(clear: &str) -> [Vec<u8>; 2] {
    [clear.as_bytes().to_vec(), clear.to_lowercase().into_bytes()]
}

/// The files of `dir` holding any of `clear`, in any of its forms, each with
/// the value found.
pub fn holding_any(dir: &Path, clear: &[&str]) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (path, bytes) in files(dir) {
        for c in clear {
            for form in forms(c) {
                if contains(&bytes, &form) {
                    out.push((c.to_string(), path.clone()));
                }
            }
        }
    }
    out
}
