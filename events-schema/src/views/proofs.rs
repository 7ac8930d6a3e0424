//! Tamper evidence for auditors: the checkpoint signing key, signed
//! checkpoints, inclusion, consistency and stream-completeness proofs, and the
//! check of a log against a checkpoint an auditor kept (`navigo-ledger key`,
//! `checkpoint`, `prove`, `verify --against`, `/v1/checkpoints`,
//! `/v1/proofs/...`). Every hash is SHA-256 written in base64, as the C2SP
//! checkpoint text writes them; the tree is RFC 6962's over the canonical
//! record bytes (`docs/checkpoints.md`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ledger::VerifyView;

/// A checkpoint signing key just created (`navigo-ledger key create --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCreated {
    /// The private key's file (mode 0600).
    pub key_file: String,
    /// The key's name, carried by its signatures.
    pub name: String,
    /// The verifier key to give auditors (signed-note format).
    pub public_key: String,
}

/// One signed checkpoint, as stored by the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointView {
    /// Its number among the ledger's checkpoints, from 1, in the order issued.
    pub number: u64,
    /// The log's name (the checkpoint's first line).
    pub origin: String,
    /// How many records the tree covers.
    pub size: u64,
    /// The tree's root (SHA-256, base64).
    pub root: String,
    /// How many streams the stream-head map holds.
    pub stream_heads: u64,
    /// The stream-head map's root (SHA-256, base64).
    pub stream_heads_root: String,
    /// The recorded-at instant of the last record (RFC 3339), `null` for an
    /// empty log.
    pub last_recorded_at: Option<String>,
    /// The signed note itself: the checkpoint's text, a blank line and its
    /// signature lines; what `verify --against` reads.
    pub signed_note: String,
}

/// Every checkpoint the ledger issued, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointList {
    /// The checkpoints.
    pub checkpoints: Vec<CheckpointView>,
}

/// Proof that one record is in the tree of the first `size` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProofView {
    /// The record's position (its leaf is number `position - 1`).
    pub position: u64,
    /// The tree's size.
    pub size: u64,
    /// The tree's root at that size (base64): check it equals the root of a
    /// checkpoint you trust at that size.
    pub root: String,
    /// The record's leaf: SHA-256 of 0x00 and the canonical record (base64).
    pub leaf: String,
    /// The proof's hashes, leaf side first (base64).
    pub path: Vec<String>,
    /// The canonical record itself (its JSON text), whose leaf hash is `leaf`.
    pub record: String,
}

/// Proof that the tree of `new_size` records extends the tree of `old_size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProofView {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub new_size: u64,
    /// The older tree's root (base64).
    pub old_root: String,
    /// The newer tree's root (base64).
    pub new_root: String,
    /// The proof's hashes (base64).
    pub path: Vec<String>,
}

/// Proof that a stream's history is complete as of a signed checkpoint: its
/// entry in the stream-head map (the stream holds `version` records, the last
/// at `last_position`) with the entry's proof against the map's root the
/// checkpoint signs, and the last record's proof against the checkpoint's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamProofView {
    /// The stream (`kind:uuid`).
    pub stream: String,
    /// How many records the stream holds as of the checkpoint.
    pub version: u64,
    /// The position of its last record.
    pub last_position: u64,
    /// The entry's number in the map (streams sorted by name, from 0).
    pub entry_index: u64,
    /// The entry's leaf: SHA-256 of 0x00 and the line `stream version
    /// last_position\n` (base64).
    pub entry_leaf: String,
    /// The entry's proof against the map's root (base64 hashes).
    pub entry_path: Vec<String>,
    /// The last record's inclusion in the checkpoint's tree.
    pub last_record: InclusionProofView,
    /// The checkpoint both proofs are checked against.
    pub checkpoint: CheckpointView,
}

/// What differs between a log and a checkpoint it should extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Difference {
    /// The log holds fewer records than the checkpoint covers: its tail was
    /// cut or zeroed.
    Size,
    /// The log's first `size` records do not have the checkpoint's root: a
    /// record the checkpoint covers was rewritten.
    Root,
    /// A record the checkpoint covers does not verify on its own (hash,
    /// chain or stored tree), so the log cannot be compared beyond it.
    Record,
}

/// The log against a checkpoint an auditor kept (`navigo-ledger verify
/// --against FILE --key PUBKEY --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgainstView {
    /// The log verifies and extends the checkpoint.
    pub ok: bool,
    /// The checkpoint, once its signature by the key holds.
    pub checkpoint_origin: String,
    /// The size the checkpoint covers.
    pub checkpoint_size: u64,
    /// The checkpoint's root (base64).
    pub checkpoint_root: String,
    /// How many records the log holds.
    pub log_size: u64,
    /// The log's root at the checkpoint's size (base64), `null` when the log
    /// is shorter or does not verify that far.
    pub log_root: Option<String>,
    /// What differs, `null` when nothing does.
    pub difference: Option<Difference>,
    /// The position the difference is at or before (the first missing or
    /// unverified record; for a root, the checkpoint's last position, or the
    /// first position after the last stored checkpoint the log still agrees
    /// with).
    pub position: Option<u64>,
    /// What differs, in words.
    pub message: Option<String>,
    /// The verification of every record and of the chain.
    pub verify: VerifyView,
}

/// One record of a dispute bundle with its inclusion proof in the tree of the
/// bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    /// Its position.
    pub position: u64,
    /// The canonical record (its JSON text).
    pub record: String,
    /// Its inclusion proof's hashes (base64), leaf side first.
    pub path: Vec<String>,
}

/// One stream of a dispute bundle: every record it holds as of the bundle's
/// checkpoint, and its entry in the stream-head map that proves there are no
/// others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleStream {
    /// The stream (`kind:uuid`).
    pub stream: String,
    /// How many records it holds as of the checkpoint.
    pub version: u64,
    /// The position of its last one.
    pub last_position: u64,
    /// Its entry's number in the stream-head map.
    pub entry_index: u64,
    /// Its entry's proof against the map's root (base64 hashes).
    pub entry_path: Vec<String>,
    /// Its records, in sequence from 1.
    pub records: Vec<BundleRecord>,
}

/// Everything needed to settle a dispute about a contract or a person offline
/// (`navigo-ledger bundle ID --known-at T`): the contract's stream (or the
/// person's and that of every contract they hold or pay as known at
/// `known_at`) and the streams their views read (reference data, parties),
/// complete as of a signed checkpoint that covers what was known at
/// `known_at`, and that checkpoint's consistency with the newest one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeBundle {
    /// The contract, for a contract's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// The person, for a person's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A person's bundle: every contract whose records known at `known_at`
    /// name the person as holder or payer (a past payer included), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<String>,
    /// The instant the views are read as known at (RFC 3339).
    pub known_at: String,
    /// The signed note of the oldest kept checkpoint covering every record of
    /// these streams recorded by `known_at`.
    pub checkpoint: String,
    /// The signed note of the newest kept checkpoint.
    pub latest_checkpoint: String,
    /// The proof that the newest checkpoint's tree extends the first's
    /// (base64 hashes).
    pub consistency_path: Vec<String>,
    /// The streams.
    pub streams: Vec<BundleStream>,
}
