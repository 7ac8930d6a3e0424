//! What the writer's sled batches are made of, and how sled's failures are
//! told to callers: shared by the writer and the Merkle tree it keeps.

use navigo_store::StoreError;

/// One write of a batch: a key and its value.
pub(crate) type KeyValue = (Vec<u8>, Vec<u8>);

/// A sled failure, as the store reports it.
pub(crate) fn storage(e: sled::Error) -> StoreError {
    StoreError::Storage(e.to_string())
}
