//! Signed checkpoints, kept for good in a sled tree of their own,
//! [`CHECKPOINTS_TREE_NAME`], beside the log's: a checkpoint is evidence of
//! what the log held when it was signed, so none is ever replaced or removed.
//! Not derived data (it cannot be rebuilt from the log: it carries a
//! signature) and not in the chain (it is about the chain).
//!
//! | key | value |
//! |---|---|
//! | number (u64 BE, from 1) | the signed note's bytes, exactly as signed |

use navigo_store::StoreError;

use crate::batch::storage;
use crate::keys;

/// The sled tree of checkpoints.
pub const CHECKPOINTS_TREE_NAME: &[u8] = b"navigo-checkpoints";

/// Keeps `signed_note` under the next number and flushes; returns the number.
/// Two writers never take the same number: the insert is a compare-and-swap
/// on a key that must be absent, retried with the next number.
///
/// # Errors
/// A storage failure.
pub fn keep(db: &sled::Db, tree: &sled::Tree, signed_note: &[u8]) -> Result<u64, StoreError> {
    loop {
        let last = match tree.last().map_err(storage)? {
            None => 0,
            Some((k, _)) => keys::be_u64(&k).ok_or_else(|| malformed(&k))?,
        };
        let number = last + 1;
        let swapped = tree
            .compare_and_swap(
                number.to_be_bytes(),
                None as Option<&[u8]>,
                Some(signed_note),
            )
            .map_err(storage)?;
        if swapped.is_ok() {
            db.flush().map_err(storage)?;
            return Ok(number);
        }
    }
}

/// Every checkpoint kept, oldest first.
///
/// # Errors
/// A storage failure, or a number missing in the sequence.
pub fn all(tree: &sled::Tree) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    for (expected, item) in (1u64..).zip(tree.iter()) {
        let (k, v) = item.map_err(storage)?;
        if keys::be_u64(&k) != Some(expected) {
            return Err(StoreError::Storage(format!(
                "the checkpoints: number {expected} is missing (found key {})",
                hex::encode(&k)
            )));
        }
        out.push(v.to_vec());
    }
    Ok(out)
}

fn malformed(k: &[u8]) -> StoreError {
    StoreError::Storage(format!("the checkpoints: malformed key {}", hex::encode(k)))
}
