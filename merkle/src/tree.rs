//! The Merkle tree over the log. Its nodes are kept as tlog stores them: each
//! complete subtree's hash once, at a "stored hash index", written when its
//! last leaf is appended and never rewritten. Appending leaf n writes at most
//! log2(n) + 1 hashes, and any root or proof is O(log n) reads of them.

use tlog_tiles::{Hash, HashReader};

use crate::MerkleError;

/// The tree's leaf for a record: RFC 6962's leaf hash, SHA-256(0x00 ‖ the
/// canonical record bytes). The leaf is over the canonical bytes, not over
/// the chain's BLAKE3 hash, so that a verifier needs SHA-256 only.
pub fn leaf_hash(record: &[u8]) -> Hash {
    tlog_tiles::record_hash(record)
}

/// The nodes to store, as (stored hash index, hash), when the record of
/// 0-based index `n` (position n + 1) is appended with leaf hash `leaf`:
/// the leaf itself and every subtree it completes. `reader` must return the
/// nodes already stored for the first `n` records.
///
/// # Errors
/// A node of the first `n` records that `reader` cannot give.
pub fn nodes_for_append<R: HashReader>(
    n: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<(u64, Hash)>, MerkleError> {
    let hashes = tlog_tiles::stored_hashes_for_record_hash(n, leaf, reader).map_err(storage)?;
    let first = tlog_tiles::stored_hash_index(0, n);
    Ok((first..).zip(hashes).collect())
}

/// The stored hash index of the leaf of the record of 0-based index `n`.
pub fn stored_leaf_index(n: u64) -> u64 {
    tlog_tiles::stored_hash_index(0, n)
}

/// How many nodes a tree of `size` records stores (about two per record).
pub fn stored_node_count(size: u64) -> u64 {
    tlog_tiles::stored_hash_count(size)
}

/// The root of the tree of the first `size` records (RFC 6962: the empty
/// tree's root is SHA-256 of nothing).
///
/// # Errors
/// A stored node `reader` cannot give.
pub fn root<R: HashReader>(size: u64, reader: &R) -> Result<Hash, MerkleError> {
    tlog_tiles::tree_hash(size, reader).map_err(storage)
}

pub(crate) fn storage(e: tlog_tiles::Error) -> MerkleError {
    MerkleError::Storage(e.to_string())
}

/// A tree held in memory: the stored nodes in index order. Used for the
/// stream-head map (built whole at each checkpoint), by verifiers and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    nodes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    /// A tree of the given leaf hashes, in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::default();
        for leaf in leaves {
            tree.append(leaf);
        }
        tree
    }

    /// Appends one leaf.
    pub fn append(&mut self, leaf: Hash) {
        // A memory tree holds every node it ever stored: nothing can be missing.
        let nodes = nodes_for_append(self.size, leaf, self).expect("a memory tree holds its nodes");
        self.nodes.extend(nodes.into_iter().map(|(_, h)| h));
        self.size += 1;
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        root(self.size, self).expect("a memory tree holds its nodes")
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.nodes.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}
