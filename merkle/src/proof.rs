//! Inclusion and consistency proofs, as values an auditor receives and checks
//! against a root they trust (from a signed checkpoint).

use serde::{Deserialize, Serialize, Serializer};
use tlog_tiles::{Hash, HashReader};

use crate::tree::storage;
use crate::MerkleError;

/// The most hashes a proof may hold: an inclusion proof has at most one per
/// level of the tree (64 for any u64 size), a consistency proof at most two.
/// A longer one is refused before any hashing, so that a hostile proof costs
/// nothing to reject.
pub const PROOF_HASHES_MAX: usize = 128;

/// A tree an auditor trusts: its size and root, as a signed checkpoint states
/// them. A proof is checked against one; a root alone does not bind a size
/// (the proof of a record in the left half reads the same for several sizes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// Proof that the record of 0-based `index` has leaf hash `leaf` in the tree of
/// the first `size` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub size: u64,
    pub index: u64,
    #[serde(serialize_with = "base64_hash")]
    pub leaf: Hash,
    #[serde(serialize_with = "base64_hashes")]
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Reads the proof of record `index` in the tree of `size` records.
    ///
    /// # Errors
    /// An index outside the tree, or a stored node `reader` cannot give.
    pub fn prove<R: HashReader>(size: u64, index: u64, reader: &R) -> Result<Self, MerkleError> {
        if index >= size {
            return Err(MerkleError::OutOfRange { index, size });
        }
        let path = tlog_tiles::prove_record(size, index, reader).map_err(storage)?;
        let leaf = reader
            .read_hashes(&[tlog_tiles::stored_hash_index(0, index)])
            .map_err(storage)?[0];
        Ok(Self {
            size,
            index,
            leaf,
            path,
        })
    }

    /// Checks the proof against a tree the auditor trusts.
    ///
    /// # Errors
    /// The proof is about another size, or does not lead to its root.
    pub fn check(&self, trusted: TreeHead) -> Result<(), MerkleError> {
        let mismatch = MerkleError::InclusionMismatch {
            index: self.index,
            size: self.size,
        };
        if self.size != trusted.size {
            return Err(mismatch);
        }
        if self.index >= self.size {
            return Err(MerkleError::OutOfRange {
                index: self.index,
                size: self.size,
            });
        }
        if self.path.len() > PROOF_HASHES_MAX {
            return Err(mismatch);
        }
        tlog_tiles::check_record(&self.path, self.size, trusted.root, self.index, self.leaf)
            .map_err(|_| mismatch)
    }
}

/// Proof that the tree of `new_size` records extends the tree of `old_size`:
/// the first `old_size` records are unchanged (RFC 6962 consistency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    #[serde(serialize_with = "base64_hashes")]
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Reads the proof that the tree of `new_size` extends that of `old_size`.
    ///
    /// # Errors
    /// `new_size < old_size`, or a stored node `reader` cannot give.
    pub fn prove<R: HashReader>(
        old_size: u64,
        new_size: u64,
        reader: &R,
    ) -> Result<Self, MerkleError> {
        if new_size < old_size {
            return Err(MerkleError::Shrunk { old_size, new_size });
        }
        // The empty tree is a prefix of every tree: nothing to prove.
        let path = if old_size == 0 {
            Vec::new()
        } else {
            tlog_tiles::prove_tree(new_size, old_size, reader).map_err(storage)?
        };
        Ok(Self {
            old_size,
            new_size,
            path,
        })
    }

    /// Checks the proof between the two trees an auditor trusts.
    ///
    /// # Errors
    /// The proof is about other sizes, or the newer tree does not extend the
    /// older one by it.
    pub fn check(&self, old: TreeHead, new: TreeHead) -> Result<(), MerkleError> {
        let (old_size, new_size) = (self.old_size, self.new_size);
        let mismatch = MerkleError::ConsistencyMismatch { old_size, new_size };
        let (old_root, new_root) = (old.root, new.root);
        if (old.size, new.size) != (old_size, new_size) {
            return Err(mismatch);
        }
        if new_size < old_size {
            return Err(MerkleError::Shrunk { old_size, new_size });
        }
        if self.path.len() > PROOF_HASHES_MAX {
            return Err(mismatch);
        }
        if old_size == 0 {
            // Decision: only the empty proof proves the empty tree's
            // consistency, and the old root must be the empty tree's, so that
            // no byte of either goes unchecked.
            let empty = tlog_tiles::tree_hash(0, &crate::MemoryTree::default()).map_err(storage)?;
            return if self.path.is_empty() && old_root == empty {
                Ok(())
            } else {
                Err(mismatch)
            };
        }
        tlog_tiles::check_tree(&self.path, new_size, new_root, old_size, old_root)
            .map_err(|_| mismatch)
    }
}

/// Hashes are written in base64, as checkpoints write them and as the hash
/// type reads them back.
pub(crate) fn base64_hash<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(h)
}

fn base64_hashes<S: Serializer>(hs: &[Hash], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(hs.iter().map(ToString::to_string))
}
