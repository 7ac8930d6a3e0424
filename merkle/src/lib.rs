//! Tamper evidence for the log, as transparency logs give it: an RFC 6962
//! Merkle tree over the records in position order, inclusion and consistency
//! proofs of O(log n) hashes, a second tree over the map of every stream to its
//! head (so that a proof can show a history is complete), and checkpoints
//! signed in the C2SP signed-note format with Ed25519.
//!
//! Everything here is SHA-256 over the canonical record bytes, so that an
//! auditor checks proofs with any language's standard library. The tree
//! arithmetic and the note format come from kept crates (`tlog_tiles`, a port
//! of Go's `sumdb/tlog`, and `signed_note`); this crate names the ledger's
//! leaves, proofs and checkpoint text, and how each is checked.
//!
//! The crate does no I/O: a backend stores the tree's nodes (see
//! [`nodes_for_append`]) and reads them back through [`HashReader`].

mod checkpoint;
mod error;
mod frontier;
mod heads;
mod proof;
mod tree;

pub use checkpoint::{
    generate_key, public_key_of, Checkpoint, CheckpointSigner, CheckpointVerifier,
};
pub use error::MerkleError;
pub use frontier::Frontier;
pub use heads::{check_head, StreamHead, StreamHeads};
pub use proof::{ConsistencyProof, InclusionProof, TreeHead, PROOF_HASHES_MAX};
pub use tlog_tiles::{Error as TlogError, Hash, HashReader, HASH_SIZE};
pub use tree::{
    leaf_hash, nodes_for_append, root, stored_leaf_index, stored_node_count, MemoryTree,
};
