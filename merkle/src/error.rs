use thiserror::Error;

/// Why a proof, a checkpoint or the tree's storage was refused. Every variant
/// says what was expected, so that an auditor can tell a forged proof from a
/// proof about another tree.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MerkleError {
    #[error("the inclusion proof of record {index} in a tree of {size} does not lead to the root: the record, the proof or the root was altered")]
    InclusionMismatch { index: u64, size: u64 },
    #[error("the consistency proof from size {old_size} to {new_size} does not hold: the newer tree does not extend the older (rewritten or truncated history), or the proof was altered")]
    ConsistencyMismatch { old_size: u64, new_size: u64 },
    #[error("record {index} is not in a tree of {size} records")]
    OutOfRange { index: u64, size: u64 },
    #[error("a tree of {new_size} records cannot extend one of {old_size}")]
    Shrunk { old_size: u64, new_size: u64 },
    #[error("the tree's stored nodes are missing or unreadable: {0}")]
    Storage(String),
    #[error("a frontier of {size} leaves has {expected} subtree roots, not {got}")]
    MalformedFrontier {
        size: u64,
        expected: usize,
        got: usize,
    },
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    #[error("the checkpoint's signature does not verify with the key {key}: {reason}")]
    BadSignature { key: String, reason: String },
    #[error("malformed key: {0}")]
    MalformedKey(String),
    #[error("the stream-head map proof for {stream} does not lead to the checkpoint's head root")]
    HeadMismatch { stream: String },
}
