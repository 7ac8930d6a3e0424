//! The ledger's own health: the verification of the chain (`navigo-ledger
//! verify --json`, `GET /v1/verify`) and the counts of `navigo-ledger stats
//! --json`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::instant::offset_option;
use crate::Hash;

/// The head of the log: its last record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadView {
    /// The last position (0 for an empty log).
    pub position: u64,
    /// The last record's hash (the genesis hash, all zeros, for an empty log).
    pub hash: Hash,
    /// The last record's recorded-at instant, with a numeric offset; `null`
    /// for an empty log.
    #[serde(with = "offset_option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub recorded_at: Option<DateTime<Utc>>,
}

/// The first record that does not verify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstBad {
    /// Its position.
    pub position: u64,
    /// What is wrong with it.
    pub problem: String,
}

/// The verification of every record and of the chain (`navigo-ledger verify
/// --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyView {
    /// Every record and the chain verify.
    pub ok: bool,
    /// The records checked (those before the first bad one).
    pub records_checked: u64,
    /// The streams seen.
    pub streams: u64,
    /// The last sound record: the head when the ledger verifies.
    pub head: HeadView,
    /// The first record that does not verify.
    pub first_bad: Option<FirstBad>,
}

/// The verification of every record and of the chain as the service answers
/// it (`GET /v1/verify`): the head flattened into two fields, the problem in
/// its debugging form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "VerifyReport")]
pub struct VerifyAnswer {
    /// Every record and the chain verify.
    pub ok: bool,
    /// The records checked (those before the first bad one).
    pub records_checked: u64,
    /// The streams seen.
    pub streams: u64,
    /// The position of the last sound record.
    pub head_position: u64,
    /// The hash of the last sound record.
    pub head_hash: Hash,
    /// The first record that does not verify.
    pub first_bad: Option<FirstBad>,
}

/// The counts of a ledger (`navigo-ledger stats --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsView {
    /// Events in the log.
    pub events: u64,
    /// Streams, of every kind.
    pub streams: u64,
    /// Streams by kind (`contract`, `person`, `catalogue`, `campaign`).
    pub streams_by_kind: BTreeMap<String, u64>,
    /// Idempotency keys recorded.
    pub idempotency_keys: u64,
    /// The head.
    pub head: HeadView,
    /// Bytes the ledger takes on disk.
    pub disk_bytes: u64,
}

/// What `navigo-ledger migrate --json` copied from one store to another: the
/// log record for record (the same bytes, positions and hashes) and the kept
/// checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateView {
    /// The source, as the command names it (a directory, or a database
    /// without its password).
    pub from: String,
    /// The target, named likewise.
    pub to: String,
    /// Records the target held already, a prefix of the source's log (an
    /// interrupted copy resumed after them; 0 for a fresh copy).
    pub records_already_there: u64,
    /// Records copied by this run.
    pub records_copied: u64,
    /// Signed checkpoints copied by this run.
    pub checkpoints_copied: u64,
    /// Signed checkpoints the target keeps now, the source's in its order.
    pub checkpoints: u64,
    /// The target's head: the source's head when the copy is complete.
    pub head: HeadView,
}

/// A log's size and roots: its chain head and its Merkle tree head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogRootsView {
    /// The chain head: the last record's position, BLAKE3 hash and instant.
    pub head: HeadView,
    /// The SHA-256 root (RFC 6962) of the Merkle tree of every record,
    /// hexadecimal.
    pub tree_root: Hash,
}

/// What `navigo-ledger reseal --json` wrote: a new ledger from an old one,
/// its first record tying it to the old log, every personal field sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResealView {
    /// The old ledger, as the command names it.
    pub from: String,
    /// The new ledger, named likewise.
    pub to: String,
    /// The old ledger's records copied (the new ledger holds one more, its
    /// first: `LedgerResealed`).
    pub records_copied: u64,
    /// Personal fields written in clear in the old log (records written
    /// before sealing) and sealed with their person's key in the new one.
    pub fields_sealed: u64,
    /// Personal fields in clear in the old log whose person was erased: their
    /// content is not in the new log (sealed under a key drawn for it and
    /// never kept).
    pub fields_dropped: u64,
    /// Records written by an older version of their event, written again at
    /// the current one.
    pub legacy_records_upgraded: u64,
    /// Persons given a key in the new ledger's key store (registered before
    /// sealing: the old key store had none for them).
    pub keys_made: u64,
    /// The old log's head and root, as `LedgerResealed` records them.
    pub old: LogRootsView,
    /// The new log's head and root.
    pub new: LogRootsView,
}
