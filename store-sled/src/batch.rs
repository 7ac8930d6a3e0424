//! What the writer's sled batches are made of, and how sled's failures are
//! told to callers: shared by the writer and the Merkle tree it keeps.

use navigo_store::StoreError;
use sled::DiskPtr;

/// One write of a batch: a key and its value.
pub(crate) type KeyValue = (Vec<u8>, Vec<u8>);

/// What to do about a damaged ledger, said with every corruption sled reports.
pub const SALVAGE_HINT: &str =
    "run `navigo-ledger salvage --out FILE` to export every record that still verifies and \
     learn exactly which positions are lost";

/// A sled failure, as the store reports it.
pub(crate) fn storage(e: sled::Error) -> StoreError {
    StoreError::Storage(describe(&e))
}

/// A sled failure met reading the key of the record at `position`: a
/// corruption names the position as well as the file.
pub(crate) fn storage_at(position: u64, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            position,
            why: format!("sled cannot read its key: {}", describe(&e)),
        },
        other => storage(other),
    }
}

/// A sled failure in words. sled's own text for a corruption is a debug dump
/// (`Read corrupted data at file offset None backtrace ()`) that names no
/// file: this names the file of the data directory and the offset in it
/// whenever sled gives one, and says what to do.
pub(crate) fn describe(e: &sled::Error) -> String {
    let sled::Error::Corruption { at, .. } = e else {
        return e.to_string();
    };
    let place = match at {
        Some(DiskPtr::Inline(offset)) => format!("sled's file `db` at byte offset {offset}"),
        Some(DiskPtr::Blob(offset, blob)) => format!(
            "sled's blob file `blobs/{blob}` (referenced from `db` at byte offset {offset})"
        ),
        // sled says where only for some reads; what it reads is then one of
        // these.
        None => "sled's files `db`, `conf` or `blobs/*` (sled names no offset)".into(),
    };
    format!("corrupt data in {place}: {SALVAGE_HINT}")
}
