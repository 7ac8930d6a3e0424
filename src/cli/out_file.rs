//! The file an auditor's command writes (`export`, `salvage`): written under
//! a temporary name beside `--out` and renamed to it only once complete, so
//! that a failed run leaves nothing under `--out`.
//!
//! Decision: an existing `--out` is refused rather than replaced, so that a
//! run never destroys an earlier file an auditor kept.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::app::error::BadInput;

/// A file being written for `--out`.
pub struct OutFile {
    partial: NamedTempFile,
    out: PathBuf,
}

impl OutFile {
    /// Starts `out` for `command` (named in the refusal), refusing one that
    /// exists.
    ///
    /// # Errors
    /// An existing `out`, or a directory where the temporary file cannot be
    /// made.
    pub fn create(out: &Path, command: &str) -> Result<OutFile, BadInput> {
        if out.symlink_metadata().is_ok() {
            return Err(BadInput(format!(
                "--out {} exists: {command} never replaces a file (remove it or choose another)",
                out.display()
            )));
        }
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let partial = tempfile::Builder::new()
            .prefix(&format!(".navigo-{command}-"))
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|e| BadInput(format!("--out {}: {e}", out.display())))?;
        Ok(OutFile {
            partial,
            out: out.to_path_buf(),
        })
    }

    /// The temporary file, to write to.
    pub fn file(&mut self) -> &mut File {
        self.partial.as_file_mut()
    }

    /// Makes the file durable and renames it to `--out`.
    ///
    /// # Errors
    /// A failed sync, or `--out` made meanwhile by someone else.
    pub fn persist(self) -> anyhow::Result<()> {
        self.partial.as_file().sync_all()?;
        self.partial
            .persist_noclobber(&self.out)
            .map_err(|e| BadInput(format!("--out {}: {}", self.out.display(), e.error)))?;
        Ok(())
    }
}
