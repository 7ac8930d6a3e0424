//! Decoding of the rows every part of the store reads: the head row and a
//! stored stream kind. Kept apart from the writer so that the tree, the
//! readers and `verify` read them without depending on the writer.

use chrono::{DateTime, Utc};
use navigo_events_schema::{Hash, StreamKind};
use navigo_store::{Head, StoreError};
use tokio_postgres::Row;

use crate::error::{pg, to_u64};

/// The head row: position, hash, recorded-at.
///
/// # Errors
/// [`StoreError::Corrupt`] for a negative position, a hash that is not 32
/// bytes or an instant that does not parse; a storage failure.
pub(crate) fn parse_head(row: &Row) -> Result<Head, StoreError> {
    let position: i64 = row.try_get(0).map_err(pg)?;
    let position = to_u64(position, 0, "head position")?;
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let hash: &[u8] = row.try_get(1).map_err(pg)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt(format!("the head row's hash has {} bytes", hash.len())))?;
    let at: Option<&str> = row.try_get(2).map_err(pg)?;
    let recorded_at = match at {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|e| corrupt(format!("the head row's instant {s:?}: {e}")))?
                .with_timezone(&Utc),
        ),
    };
    Ok(Head {
        position,
        hash: Hash(hash),
        recorded_at,
    })
}

/// A stream kind as stored (`StreamKind::as_str`).
pub(crate) fn parse_kind(s: &str) -> Option<StreamKind> {
    StreamKind::ALL.into_iter().find(|k| k.as_str() == s)
}
