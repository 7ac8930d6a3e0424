//! The stream-head map: every stream with its version and the position of its
//! last record, sorted by stream, as the leaves of a second tree whose root a
//! checkpoint signs. With it a proof shows that a history is complete: the
//! head says the stream has `version` records, the last at `last_position`,
//! and each of them is proven in the log's tree.

use serde::{Deserialize, Serialize};
use tlog_tiles::Hash;

use crate::tree::leaf_hash;
use crate::{InclusionProof, MemoryTree, MerkleError, TreeHead};

/// One stream's head, as of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamHead {
    /// The stream's name as the log writes it (`contract:<uuid>`, ...).
    pub stream: String,
    /// How many records the stream holds.
    pub version: u64,
    /// The position of its last record.
    pub last_position: u64,
}

impl StreamHead {
    /// The leaf's bytes: one line, so that a verifier rebuilds it from the
    /// three fields without a serializer.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        format!("{} {} {}\n", self.stream, self.version, self.last_position).into_bytes()
    }
}

/// The map of every stream to its head, and its tree.
#[derive(Debug, Clone, Default)]
pub struct StreamHeads {
    heads: Vec<StreamHead>,
    tree: MemoryTree,
}

impl StreamHeads {
    /// The map of the given heads; a stream named twice keeps its highest
    /// version, so that the map is a function of the log whatever the order.
    pub fn new(mut heads: Vec<StreamHead>) -> Self {
        heads.sort_by(|a, b| a.stream.cmp(&b.stream).then(b.version.cmp(&a.version)));
        heads.dedup_by(|later, first| later.stream == first.stream);
        let tree = MemoryTree::from_leaves(heads.iter().map(|h| leaf_hash(&h.leaf_bytes())));
        Self { heads, tree }
    }

    /// How many streams the map holds.
    pub fn len(&self) -> u64 {
        self.tree.size()
    }

    /// Whether the map holds no stream (an empty log).
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Every stream's head, sorted by stream.
    pub fn heads(&self) -> &[StreamHead] {
        &self.heads
    }

    /// The root a checkpoint signs.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The map's tree as a checkpoint states it.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.len(),
            root: self.root(),
        }
    }

    /// The head of `stream` with its proof in the map, or `None` for a stream
    /// the log does not hold.
    pub fn prove(&self, stream: &str) -> Option<(StreamHead, InclusionProof)> {
        let i = self
            .heads
            .binary_search_by(|h| h.stream.as_str().cmp(stream))
            .ok()?;
        let proof = InclusionProof::prove(self.len(), i as u64, &self.tree)
            .expect("a memory tree holds its nodes");
        Some((self.heads[i].clone(), proof))
    }
}

/// Checks that `head` is in the map of `heads` (its count and root, from a
/// signed checkpoint) by `proof`.
///
/// # Errors
/// The proof is not about this head, or does not lead to the root.
pub fn check_head(
    head: &StreamHead,
    proof: &InclusionProof,
    heads: TreeHead,
) -> Result<(), MerkleError> {
    let mismatch = || MerkleError::HeadMismatch {
        stream: head.stream.clone(),
    };
    if proof.leaf != leaf_hash(&head.leaf_bytes()) {
        return Err(mismatch());
    }
    proof.check(heads).map_err(|_| mismatch())
}
