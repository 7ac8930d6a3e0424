//! The data directory of a reading command, said on stderr when it is a
//! private copy of a read-only ledger (`crate::app::readonly`).

use crate::app::place::Place;
use crate::app::readonly::{readable, Readable};

/// The ledger to open for `data`; when its data directory is read-only (and
/// holds the log), a private copy, which stderr names.
///
/// # Errors
/// The copy cannot be made.
pub fn open_for_reading(data: &Place) -> anyhow::Result<Readable> {
    let r = readable(data)?;
    if let Some((copy, bytes)) = r.copied() {
        eprintln!(
            "note: {} is read-only; reading a private copy of it ({bytes} bytes) in {}, removed \
             afterwards; nothing is written to {}",
            data.display(),
            copy.display(),
            data.display()
        );
    }
    Ok(r)
}
