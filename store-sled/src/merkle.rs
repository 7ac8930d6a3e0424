//! The Merkle tree over the log, kept by the store: each record's leaf (SHA-256
//! of its canonical JSON) and the subtrees it completes, stored in index order
//! in groups of [`keys::MERKLE_NODES_PER_GROUP`] under the `G` prefix, in the
//! same sled batch as the records, so that a root or a proof is O(log n)
//! reads and never needs the log re-read. A ledger written before the tree
//! existed gets its nodes computed from its records when it opens; one written
//! with a node a key gets them grouped.

use std::cell::RefCell;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_merkle::{Hash as Node, HashReader, StreamHead, StreamHeads, TlogError, HASH_SIZE};
use navigo_store::StoreError;

use crate::batch::{storage, KeyValue};
use crate::format::Format;
use crate::frame;
use crate::keys::{self, MERKLE_NODES_PER_GROUP as PER_GROUP};

/// The leaf of a stored record (`hash ‖ canonical JSON`): the tree covers the
/// canonical JSON, so that an auditor needs SHA-256 only.
pub(crate) fn leaf_of(record: &[u8]) -> Node {
    navigo_merkle::leaf_hash(record.get(HASH_LEN..).unwrap_or_default())
}

/// The stored nodes, read from the tree, with the nodes of a batch not yet
/// applied laid over them (they follow the stored ones: nodes are added in
/// index order).
pub(crate) struct Nodes<'a> {
    pub(crate) tree: &'a sled::Tree,
    /// The stored hash index of the first pending node.
    first_pending: Option<u64>,
    pending: Vec<Node>,
    /// The last group read, since the nodes a leaf's append reads are mostly
    /// in one group.
    last_group: RefCell<Option<(u64, sled::IVec)>>,
}

impl<'a> Nodes<'a> {
    pub(crate) fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            first_pending: None,
            pending: Vec::new(),
            last_group: RefCell::new(None),
        }
    }

    /// Appends the leaf of the record of 0-based `index`: its nodes are kept
    /// pending until [`Nodes::into_writes`].
    pub(crate) fn append(&mut self, index: u64, leaf: Node) -> Result<(), StoreError> {
        let nodes = navigo_merkle::nodes_for_append(index, leaf, self)
            .map_err(|e| StoreError::Storage(format!("the Merkle tree: {e}")))?;
        for (i, h) in nodes {
            let first = *self.first_pending.get_or_insert(i);
            if i != first + self.pending.len() as u64 {
                return Err(StoreError::Storage(format!(
                    "the Merkle tree: node {i} does not follow the pending ones"
                )));
            }
            self.pending.push(h);
        }
        Ok(())
    }

    /// The writes that store the pending nodes: every group they touch,
    /// whole, the stored nodes before them in their first group included.
    pub(crate) fn into_writes(self) -> Result<Vec<KeyValue>, StoreError> {
        let Some(first) = self.first_pending else {
            return Ok(Vec::new());
        };
        let end = first + self.pending.len() as u64;
        let mut writes = Vec::new();
        let mut group = first / PER_GROUP;
        while group * PER_GROUP < end {
            let (from, to) = (group * PER_GROUP, ((group + 1) * PER_GROUP).min(end));
            let mut value = Vec::with_capacity((to - from) as usize * HASH_SIZE);
            if from < first {
                let kept = (first - from) as usize * HASH_SIZE;
                let stored = self
                    .tree
                    .get(keys::merkle_group_key(group))
                    .map_err(storage)?;
                match stored.as_deref().and_then(|v| v.get(..kept)) {
                    Some(before) => value.extend_from_slice(before),
                    None => {
                        return Err(StoreError::Storage(format!(
                            "the Merkle tree: group {group} lacks the nodes before {first}"
                        )))
                    }
                }
            }
            for i in from.max(first)..to {
                value.extend_from_slice(&self.pending[(i - first) as usize].0);
            }
            writes.push((keys::merkle_group_key(group).to_vec(), value));
            group += 1;
        }
        Ok(writes)
    }

    fn stored(&self, index: u64) -> Result<Node, TlogError> {
        let group = index / PER_GROUP;
        let mut last = self.last_group.borrow_mut();
        if last.as_ref().map(|(g, _)| *g) != Some(group) {
            let value = self
                .tree
                .get(keys::merkle_group_key(group))
                .map_err(|e| TlogError::InvalidInput(e.to_string()))?
                .ok_or(TlogError::IndexesNotInTree)?;
            *last = Some((group, value));
        }
        let value = last
            .as_ref()
            .map(|(_, v)| v)
            .ok_or(TlogError::IndexesNotInTree)?;
        node_in(value, index)
    }
}

/// The node of stored hash index `index` in its group's value.
fn node_in(group: &[u8], index: u64) -> Result<Node, TlogError> {
    if group.len() % HASH_SIZE != 0 {
        return Err(TlogError::MalformedHash);
    }
    let at = (index % PER_GROUP) as usize * HASH_SIZE;
    let bytes: [u8; HASH_SIZE] = group
        .get(at..at + HASH_SIZE)
        .ok_or(TlogError::IndexesNotInTree)?
        .try_into()
        .map_err(|_| TlogError::MalformedHash)?;
    Ok(Node(bytes))
}

impl HashReader for Nodes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Node>, TlogError> {
        indexes
            .iter()
            .map(|&i| match self.first_pending {
                Some(first) if i >= first => self
                    .pending
                    .get((i - first) as usize)
                    .copied()
                    .ok_or(TlogError::IndexesNotInTree),
                _ => self.stored(i),
            })
            .collect()
    }
}

/// The stored node of stored hash index `index`.
///
/// # Errors
/// Missing (`IndexesNotInTree`), malformed, or a storage failure.
pub(crate) fn stored_node(tree: &sled::Tree, index: u64) -> Result<Node, TlogError> {
    Nodes::new(tree).stored(index)
}

/// How many nodes are stored: those of every group before the last, and the
/// last group's.
fn stored_count(tree: &sled::Tree) -> Result<u64, StoreError> {
    Ok(match tree.scan_prefix([keys::MERKLE]).next_back() {
        None => 0,
        Some(item) => {
            let (k, v) = item.map_err(storage)?;
            keys::be_u64(&k[1..]).map_or(0, |g| g * PER_GROUP + (v.len() / HASH_SIZE) as u64)
        }
    })
}

/// How many records the stored tree covers: the largest size whose nodes are
/// all stored (nodes are written in order, so the count of stored nodes says it).
pub(crate) fn covered(tree: &sled::Tree, head: u64) -> Result<u64, StoreError> {
    let stored = stored_count(tree)?;
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

/// Nodes of the earlier layout converted per sled batch: a multiple of the
/// group size, so that each batch writes whole groups and an interrupted
/// conversion resumes where it stopped.
const CONVERT_NODES_PER_BATCH: u64 = 160 * PER_GROUP;

/// Converts the tree of a ledger written with one node a key (`T`) to groups
/// (`G`), a batch of whole groups at a time, each batch writing its groups
/// and removing their `T` keys atomically, then flushes. The nodes are moved
/// as they are; `verify` checks them against the records as before.
///
/// # Errors
/// A storage failure, or a `T` key out of order (a gap in the nodes).
pub(crate) fn group_per_node_keys(db: &sled::Db, tree: &sled::Tree) -> Result<(), StoreError> {
    let mut converted = false;
    while let Some(first) = tree.scan_prefix([keys::MERKLE_PER_NODE]).next() {
        let (k, _) = first.map_err(storage)?;
        let from = keys::be_u64(&k[1..]).unwrap_or(0);
        let to = from + CONVERT_NODES_PER_BATCH;
        let mut nodes = Nodes::new(tree);
        let mut batch = sled::Batch::default();
        let range = keys::merkle_per_node_key(from)..keys::merkle_per_node_key(to);
        for (i, item) in (from..).zip(tree.range(range)) {
            let (k, v) = item.map_err(storage)?;
            let node: [u8; HASH_SIZE] = v.as_ref().try_into().map_err(|_| {
                StoreError::Storage(format!("the Merkle tree: node {i} is not a hash"))
            })?;
            if keys::be_u64(&k[1..]) != Some(i) {
                return Err(StoreError::Storage(format!(
                    "the Merkle tree: node {i} missing among the per-node keys"
                )));
            }
            nodes.first_pending.get_or_insert(i);
            nodes.pending.push(Node(node));
            batch.remove(k);
        }
        for (k, v) in nodes.into_writes()? {
            batch.insert(k, v);
        }
        tree.apply_batch(batch).map_err(storage)?;
        converted = true;
    }
    if converted {
        db.flush().map_err(storage)?;
    }
    Ok(())
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
            nodes.append(next, leaf_of(&record))?;
            next += 1;
        }
        if next < last {
            return Err(StoreError::Corrupt {
                position: next + 1,
                why: "record missing below the head".into(),
            });
        }
        for (k, v) in nodes.into_writes()? {
            batch.insert(k, v);
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
pub(crate) fn stream_heads(
    tree: &sled::Tree,
    format: Format,
    size: u64,
) -> Result<StreamHeads, StoreError> {
    let malformed = |k: &[u8]| StoreError::Corrupt {
        position: 0,
        why: format!("malformed stream index entry {}", hex::encode(k)),
    };
    let index = crate::stream_index::StreamIndex::of(format);
    let mut heads = Vec::new();
    let mut from = vec![keys::STREAM];
    while let Some(item) = tree.range(from.clone()..).next() {
        let (k, _) = item.map_err(storage)?;
        if k.first() != Some(&keys::STREAM) {
            break;
        }
        let (stream, _) = keys::parse_stream_key(&k).ok_or_else(|| malformed(&k))?;
        if let Some((version, last_position)) = index.last_at_or_below(tree, &stream, size)? {
            heads.push(StreamHead {
                stream: stream.to_string(),
                version,
                last_position,
            });
        }
        from = after_stream(&keys::stream_prefix(&stream));
    }
    Ok(StreamHeads::new(heads))
}
