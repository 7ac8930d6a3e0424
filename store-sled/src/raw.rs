//! Raw access to a closed ledger's tree, in its own format: for tools that
//! inspect or edit stored records below the store's checks (the tampering
//! tests, the dictionary trainer, benchmarks). Nothing here checks a hash.

use std::path::Path;

use navigo_store::StoreError;

use crate::format::Format;
use crate::writer::storage;
use crate::{check_marker, frame, keys, open_db};

/// A ledger's sled database opened without a store (no writer thread).
pub struct RawLedger {
    db: sled::Db,
    tree: sled::Tree,
    format: Format,
}

impl RawLedger {
    /// Opens the ledger in `path` with the sled settings of its format (sled
    /// refuses other settings), waiting for sled's file lock as
    /// [`crate::SledStore::open`] does.
    ///
    /// # Errors
    /// Not a ledger, or a storage failure.
    pub fn open(path: &Path) -> Result<RawLedger, StoreError> {
        let format = check_marker(path)?;
        let (db, tree) = open_db(path, format)?;
        Ok(RawLedger { db, tree, format })
    }

    /// The ledger's tree.
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// The ledger's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The record (`hash ‖ canonical JSON`) stored at `position`, unframed;
    /// `None` when there is none.
    ///
    /// # Errors
    /// A storage failure, or stored bytes that do not unframe.
    pub fn record(&self, position: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(stored) = self.tree.get(keys::log_key(position)).map_err(storage)? else {
            return Ok(None);
        };
        let record = frame::unframe(self.format, &stored)
            .map_err(|why| StoreError::Corrupt { position, why })?;
        Ok(Some(record.into_owned()))
    }

    /// Stores `record` (`hash ‖ canonical JSON`, taken as it is, hash unchecked)
    /// at `position`, framed in the ledger's format.
    ///
    /// # Errors
    /// A storage failure, or a record shorter than a hash.
    pub fn put_record(&self, position: u64, record: &[u8]) -> Result<(), StoreError> {
        let stored = frame::frame(self.format, record).map_err(StoreError::Encode)?;
        self.tree
            .insert(keys::log_key(position), stored.as_ref())
            .map_err(storage)?;
        Ok(())
    }

    /// Removes every node of the Merkle tree, leaving the ledger as one written
    /// before the store kept it: the next `open` computes the tree from the
    /// records as they are then. Returns how many keys were removed (groups of
    /// nodes, and single nodes of the earlier layout).
    ///
    /// # Errors
    /// A storage failure.
    pub fn remove_merkle_tree(&self) -> Result<u64, StoreError> {
        let mut n = 0;
        for prefix in [keys::MERKLE, keys::MERKLE_PER_NODE] {
            for k in self.tree.scan_prefix([prefix]).keys() {
                self.tree.remove(k.map_err(storage)?).map_err(storage)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Flushes every edit to disk.
    ///
    /// # Errors
    /// A storage failure.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(storage)?;
        Ok(())
    }
}
