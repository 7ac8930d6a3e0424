//! The log read out for an export: every record of a window of positions in
//! order, each checked as it is read (its stored hash, its position, its link
//! to the record before it, its leaf in the stored Merkle tree), with what a
//! verifier needs to recompute the tree's root from the window alone (the
//! frontier of the records before it).

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::Hash;
use navigo_merkle::{Frontier, HashReader};
use navigo_store::check::exported_record;
pub use navigo_store::ExportedRecord;
use navigo_store::StoreError;

use crate::batch::storage_at;
use crate::read::{check_hash, unframe_at};
use crate::{keys, merkle, SledStore};

/// The records of positions `next..=to`, each checked before it is returned;
/// the first that does not check ends the iteration with
/// [`StoreError::Corrupt`] naming its position.
pub struct ExportRecords {
    reader: ExportReader,
    next: u64,
    to: u64,
    /// The hash of the record before `next` (the genesis hash before 1).
    prev: Hash,
    failed: bool,
}

/// What an export reads, detached from the store: the log's tree and its
/// durable head when the reader was taken. It borrows nothing, so that an
/// export runs on a thread of its own while the store keeps appending (sled
/// reads are concurrent with the writer); the records appended since are not
/// in its window.
#[derive(Clone)]
pub struct ExportReader {
    tree: sled::Tree,
    format: crate::format::Format,
    head: u64,
}

impl SledStore {
    /// A reader of the log for an export, fixed at the durable head now.
    pub fn export_reader(&self) -> ExportReader {
        ExportReader {
            tree: self.tree.clone(),
            format: self.format,
            head: crate::committed(&self.head).position,
        }
    }

    /// The frontier of the stored Merkle tree of the first `size` records.
    ///
    /// # Errors
    /// A size beyond the durable head, or a node that cannot be read.
    pub fn tree_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        self.within_head(size)?;
        self.export_reader().tree_frontier(size)
    }

    /// The records of positions `from..=to` for an export, checked one by one
    /// as they are read (see [`ExportRecords`]).
    ///
    /// # Errors
    /// `from` is 0, `to` is beyond the durable head, or the record before
    /// `from`, whose hash the first record must link to, does not verify.
    pub fn export_records(&self, from: u64, to: u64) -> Result<ExportRecords, StoreError> {
        self.export_reader().export_records(from, to)
    }
}

impl ExportReader {
    /// The durable head's position when the reader was taken: the last
    /// position it exports.
    pub fn head_position(&self) -> u64 {
        self.head
    }

    fn within_head(&self, size: u64) -> Result<(), StoreError> {
        if size > self.head {
            return Err(crate::tree_error(format!(
                "a tree of {size} records asked of a log of {}",
                self.head
            )));
        }
        Ok(())
    }

    /// The stored Merkle tree's head of the first `size` records.
    ///
    /// # Errors
    /// A size beyond the reader's head, or a node that cannot be read.
    pub fn tree_head(&self, size: u64) -> Result<navigo_merkle::TreeHead, StoreError> {
        self.within_head(size)?;
        let root = navigo_merkle::root(size, &merkle::Nodes::new(&self.tree))
            .map_err(crate::tree_error)?;
        Ok(navigo_merkle::TreeHead { size, root })
    }

    /// The frontier of the stored Merkle tree of the first `size` records.
    ///
    /// # Errors
    /// A size beyond the reader's head, or a node that cannot be read.
    pub fn tree_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        self.within_head(size)?;
        Frontier::of_stored(size, &merkle::Nodes::new(&self.tree))
            .map_err(|e| StoreError::Storage(format!("the Merkle tree: {e}")))
    }

    /// The records of positions `from..=to`, checked one by one as they are
    /// read (see [`ExportRecords`]).
    ///
    /// # Errors
    /// `from` is 0, `to` is beyond the reader's head, or the record before
    /// `from`, whose hash the first record must link to, does not verify.
    pub fn export_records(&self, from: u64, to: u64) -> Result<ExportRecords, StoreError> {
        if from == 0 {
            return Err(StoreError::Storage("positions start at 1".into()));
        }
        self.within_head(to)?;
        let prev = match from - 1 {
            0 => Hash::GENESIS,
            before => self.checked_record(before)?.0,
        };
        Ok(ExportRecords {
            reader: self.clone(),
            next: from,
            to,
            prev,
            failed: false,
        })
    }

    /// The record (`hash ‖ canonical JSON`) at `position` and its hash, the
    /// hash checked.
    fn checked_record(&self, position: u64) -> Result<(Hash, Vec<u8>), StoreError> {
        let stored = self
            .tree
            .get(keys::log_key(position))
            .map_err(|e| storage_at(position, e))?
            .ok_or_else(|| StoreError::Corrupt {
                position,
                why: "record missing below the head".into(),
            })?;
        let record = unframe_at(position, self.format, &stored)?;
        check_hash(position, &record)?;
        let hash = record
            .get(..HASH_LEN)
            .and_then(|h| <[u8; HASH_LEN]>::try_from(h).ok())
            .map(Hash)
            .ok_or_else(|| StoreError::Corrupt {
                position,
                why: "record shorter than its hash".into(),
            })?;
        Ok((hash, record.into_owned()))
    }
}

impl ExportRecords {
    /// The hash the next record must link to: the hash of the record before
    /// it (the genesis hash before position 1).
    pub fn prev_hash(&self) -> Hash {
        self.prev
    }

    fn check(&self, position: u64) -> Result<ExportedRecord, StoreError> {
        let (hash, record) = self.reader.checked_record(position)?;
        let index = navigo_merkle::stored_leaf_index(position - 1);
        let stored_leaf = merkle::Nodes::new(&self.reader.tree)
            .read_hashes(&[index])
            .map_err(|e| StoreError::Corrupt {
                position,
                why: format!("its Merkle leaf cannot be read: {e}"),
            })?;
        let stored_leaf = stored_leaf
            .first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt {
                position,
                why: "its Merkle leaf cannot be read".into(),
            })?;
        exported_record(position, self.prev, hash, record, stored_leaf)
    }
}

impl Iterator for ExportRecords {
    type Item = Result<ExportedRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next > self.to {
            return None;
        }
        let checked = self.check(self.next);
        match &checked {
            Ok(r) => {
                self.prev = r.hash;
                self.next += 1;
            }
            Err(_) => self.failed = true,
        }
        Some(checked)
    }
}
