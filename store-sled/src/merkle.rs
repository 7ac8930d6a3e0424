//! The Merkle tree over the log, kept by the store: each record's leaf (SHA-256
//! of its canonical JSON) and the subtrees it completes, written under the `T`
//! prefix in the same sled batch as the record, so that a root or a proof is
//! O(log n) reads and never needs the log re-read. A ledger written before the
//! tree existed gets its nodes computed from its records when it opens.

use std::collections::HashMap;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_merkle::{Hash as Node, HashReader, StreamHead, StreamHeads, HASH_SIZE};
use navigo_store::StoreError;

use crate::batch::{storage, KeyValue};
use crate::format::Format;
use crate::frame;
use crate::keys;

/// The leaf of a stored record (`hash ‖ canonical JSON`): the tree covers the
/// canonical JSON, so that an auditor needs SHA-256 only.
pub(crate) fn leaf_of(record: &[u8]) -> Node {
    navigo_merkle::leaf_hash(record.get(HASH_LEN..).unwrap_or_default())
}

/// The stored nodes, read from the tree, with the nodes of a batch not yet
/// applied laid over them.
pub(crate) struct Nodes<'a> {
    pub(crate) tree: &'a sled::Tree,
    pub(crate) pending: HashMap<u64, Node>,
}

impl<'a> Nodes<'a> {
    pub(crate) fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            pending: HashMap::new(),
        }
    }

    /// Appends the leaf of the record of 0-based `index`: its nodes are kept
    /// pending and returned as the writes that store them.
    pub(crate) fn append(&mut self, index: u64, leaf: Node) -> Result<Vec<KeyValue>, StoreError> {
        let nodes = navigo_merkle::nodes_for_append(index, leaf, self)
            .map_err(|e| StoreError::Storage(format!("the Merkle tree: {e}")))?;
        Ok(nodes
            .into_iter()
            .map(|(i, h)| {
                self.pending.insert(i, h);
                (keys::merkle_key(i).to_vec(), h.0.to_vec())
            })
            .collect())
    }
}

impl HashReader for Nodes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Node>, navigo_merkle::TlogError> {
        indexes
            .iter()
            .map(|i| match self.pending.get(i) {
                Some(h) => Ok(*h),
                None => stored_node(self.tree, *i),
            })
            .collect()
    }
}

fn stored_node(tree: &sled::Tree, index: u64) -> Result<Node, navigo_merkle::TlogError> {
    let v = tree
        .get(keys::merkle_key(index))
        .map_err(|e| navigo_merkle::TlogError::InvalidInput(e.to_string()))?
        .ok_or(navigo_merkle::TlogError::IndexesNotInTree)?;
    let bytes: [u8; HASH_SIZE] = v
        .as_ref()
        .try_into()
        .map_err(|_| navigo_merkle::TlogError::MalformedHash)?;
    Ok(Node(bytes))
}

/// How many records the stored tree covers: the largest size whose nodes are
/// all stored (nodes are written in order, so the count of stored nodes says it).
pub(crate) fn covered(tree: &sled::Tree, head: u64) -> Result<u64, StoreError> {
    let stored = match tree.scan_prefix([keys::MERKLE]).next_back() {
        None => 0,
        Some(item) => {
            let (k, _) = item.map_err(storage)?;
            keys::be_u64(&k[1..]).map_or(0, |i| i + 1)
        }
    };
    // The largest n ≤ head with stored_node_count(n) ≤ stored.
    let (mut lo, mut hi) = (0u64, head);
    while lo < hi {
        let mid = hi - (hi - lo) / 2;
        if navigo_merkle::stored_node_count(mid) <= stored {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// Records the tree's nodes read per sled batch while catching up.
const CATCH_UP_RECORDS_PER_BATCH: u64 = 10_000;

/// Computes and stores the nodes of every record the tree does not cover yet
/// (a ledger written before the tree, or by a version that did not keep it),
/// from the records themselves, and flushes. The records are not touched.
///
/// # Errors
/// A storage failure, or a record that does not unframe (verify names it).
pub(crate) fn catch_up(
    db: &sled::Db,
    tree: &sled::Tree,
    format: Format,
    head: u64,
) -> Result<(), StoreError> {
    let mut next = covered(tree, head)?;
    while next < head {
        let last = (next + CATCH_UP_RECORDS_PER_BATCH).min(head);
        let mut nodes = Nodes::new(tree);
        let mut batch = sled::Batch::default();
        for item in tree.range(keys::log_key(next + 1)..=keys::log_key(last)) {
            let (_, v) = item.map_err(storage)?;
            let record = frame::unframe(format, &v).map_err(|e| StoreError::Corrupt {
                position: next + 1,
                why: e,
            })?;
            for (k, v) in nodes.append(next, leaf_of(&record))? {
                batch.insert(k, v);
            }
            next += 1;
        }
        if next < last {
            return Err(StoreError::Corrupt {
                position: next + 1,
                why: "record missing below the head".into(),
            });
        }
        tree.apply_batch(batch).map_err(storage)?;
    }
    db.flush().map_err(storage)?;
    Ok(())
}

/// The canonical record at `position` (the bytes its leaf covers), once its
/// stored hash holds.
///
/// # Errors
/// A record missing below the head, undecodable or not matching its hash.
pub(crate) fn canonical_record(
    tree: &sled::Tree,
    format: Format,
    position: u64,
) -> Result<Vec<u8>, StoreError> {
    let stored = tree
        .get(keys::log_key(position))
        .map_err(storage)?
        .ok_or_else(|| StoreError::Corrupt {
            position,
            why: "record missing below the head".into(),
        })?;
    let record = crate::read::unframe_at(position, format, &stored)?;
    crate::read::check_hash(position, &record)?;
    Ok(record.get(HASH_LEN..).unwrap_or_default().to_vec())
}

/// The first key after every stream index key of the stream of `prefix`:
/// index keys are the prefix and an 8-byte sequence, so the prefix followed
/// by nine 0xFF bytes sorts after all of them.
fn after_stream(prefix: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&[0xFF; 9]);
    k
}

/// The map of every stream to its head as of the first `size` records: for
/// each stream of the index, its last entry at a position within `size`.
/// It reads one index entry per stream (a few more for a stream appended to
/// after `size`), jumping from stream to stream, never the records.
///
/// # Errors
/// A storage failure or a malformed index entry.
pub(crate) fn stream_heads(tree: &sled::Tree, size: u64) -> Result<StreamHeads, StoreError> {
    let malformed = |k: &[u8]| StoreError::Corrupt {
        position: 0,
        why: format!("malformed stream index entry {}", hex::encode(k)),
    };
    let mut heads = Vec::new();
    let mut from = vec![keys::STREAM];
    while let Some(item) = tree.range(from.clone()..).next() {
        let (k, _) = item.map_err(storage)?;
        if k.first() != Some(&keys::STREAM) {
            break;
        }
        let (stream, _) = keys::parse_stream_key(&k).ok_or_else(|| malformed(&k))?;
        let prefix = keys::stream_prefix(&stream);
        for entry in tree.scan_prefix(prefix).rev() {
            let (k, v) = entry.map_err(storage)?;
            let (_, seq) = keys::parse_stream_key(&k).ok_or_else(|| malformed(&k))?;
            let position = keys::be_u64(&v).ok_or_else(|| malformed(&k))?;
            if position <= size {
                heads.push(StreamHead {
                    stream: stream.to_string(),
                    version: seq,
                    last_position: position,
                });
                break;
            }
        }
        from = after_stream(&prefix);
    }
    Ok(StreamHeads::new(heads))
}
