//! The event store: an append-only, hash-chained log of events, behind the async
//! trait [`EventStore`]. This crate is the contract between the ledger and its
//! storage; `navigo-store-sled` (embedded) and `navigo-store-postgres` are its
//! durable implementations, `conformance` (feature `conformance`) is the suite
//! every implementation must pass, `assign` holds what every backend decides the
//! same way (recorded-at instants, idempotency digests), `check` the checks of
//! every record read, and `verify` the report of a whole-log check.
//!
//! Guarantees every implementation gives:
//! - stream sequences start at 1 and are gapless; global positions start at 1 and
//!   are gapless; both are assigned atomically with the version check;
//! - no append is acknowledged before it is durable;
//! - an append with an idempotency key already used with the same content returns
//!   [`AppendOutcome::AlreadyAppended`] and writes nothing; with different content
//!   it is a [`StoreError::IdempotencyConflict`];
//! - recorded-at instants never decrease with position;
//! - every record carries its hash, and each hash covers the previous one.
#![warn(missing_docs)]

use std::ops::RangeInclusive;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_core::Stream;
pub use navigo_events_schema::append::{AppendRequest, ExpectedVersion};
use navigo_events_schema::{Envelope, Hash, StreamId};
use navigo_merkle::{ConsistencyProof, InclusionProof, StreamHeads, TreeHead};

/// One record as an export writes it, read from either backend: each
/// checked (hash, position, link, Merkle leaf) before it is given.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRecord {
    /// Its position in the log.
    pub position: u64,
    /// Its stream.
    pub stream: StreamId,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// Its BLAKE3 hash (of `canonical`), the chain's link.
    pub hash: Hash,
    /// The canonical JSON the hash, and the Merkle leaf, cover.
    pub canonical: Vec<u8>,
}

pub mod assign;
pub mod check;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "faults")]
pub mod faults;
pub mod sealed;
pub mod verify;
#[cfg(feature = "workload")]
pub mod workload;

/// The clock the store reads recorded-at instants from.
///
/// In service the binary passes the system clock; imports and scenario files pass a
/// clock of their own (see [`ManualClock`]). `core` never reads the wall clock itself.
pub trait Clock: Send + Sync {
    /// The current UTC instant.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that says what it is told: for scenario files, imports and tests.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }
    /// Moves the clock to `at` (backwards too: the store clamps the recorded-at
    /// instant to the head's, so that instants never decrease).
    pub fn set(&self, at: DateTime<Utc>) {
        // A poisoned lock only means another thread panicked while holding it; the
        // instant inside is still a valid instant.
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Written now.
    Appended {
        /// Global positions of the events, in order.
        positions: Vec<u64>,
        /// The stream's version after the append.
        stream_version: u64,
    },
    /// The same key and content were appended before: nothing written.
    AlreadyAppended {
        /// Global positions of the events of the first append.
        positions: Vec<u64>,
    },
}

impl AppendOutcome {
    /// The positions, whichever the outcome.
    pub fn positions(&self) -> &[u64] {
        match self {
            AppendOutcome::Appended { positions, .. }
            | AppendOutcome::AlreadyAppended { positions } => positions,
        }
    }
}

/// The head of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Last position (0 for an empty log).
    pub position: u64,
    /// Hash of the last record (genesis for an empty log).
    pub hash: Hash,
    /// Recorded-at of the last record.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Named bounds on what an append may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events in one append request.
    pub events_per_append_max: u32,
    /// Encoded bytes of one event record.
    pub event_bytes_max: u32,
    /// Append requests gathered into one group commit.
    pub batch_appends_max: u32,
    /// Length of an idempotency key.
    pub idempotency_key_bytes_max: u32,
    /// Events gathered into one group commit: the writer stops draining the queue
    /// once the batch holds this many (a single request may exceed it alone, bounded
    /// by `events_per_append_max`).
    pub batch_events_max: u32,
    /// Events of one all-or-nothing multi-stream append
    /// (`SledStore::append_all`, used by `navigo-ledger append`).
    pub atomic_events_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            events_per_append_max: 1_000,
            event_bytes_max: 64 * 1024,
            batch_appends_max: 1_024,
            // Room for a command key of `ledger::COMMAND_KEY_BYTES_MAX` and the
            // suffix the ledger adds to it (`ledger::KEY_SUFFIX_BYTES_MAX`).
            idempotency_key_bytes_max: 256,
            batch_events_max: 10_000,
            atomic_events_max: 100_000,
        }
    }
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the expected version.
    #[error("version conflict on {stream}: expected {expected}, actual {actual}")]
    Conflict {
        /// The stream.
        stream: StreamId,
        /// What the writer expected.
        expected: u64,
        /// The actual version.
        actual: u64,
    },
    /// An idempotency key was reused with different content.
    #[error("idempotency key {key:?} was already used for a different append")]
    IdempotencyConflict {
        /// The key.
        key: String,
    },
    /// An import instant earlier than the head's.
    #[error("out of order: recorded-at {given} is earlier than the head's {head}")]
    OutOfOrder {
        /// The instant given.
        given: DateTime<Utc>,
        /// The head's instant.
        head: DateTime<Utc>,
    },
    /// A named limit was exceeded.
    #[error("{limit} exceeded: {actual} > {max}")]
    LimitExceeded {
        /// The limit's name, e.g. `events_per_append_max`.
        limit: &'static str,
        /// The bound.
        max: u64,
        /// What was asked.
        actual: u64,
    },
    /// An empty append.
    #[error("an append must carry at least one event")]
    Empty,
    /// A stored record does not decode or does not verify.
    #[error("corrupt record at position {position}: {why}")]
    Corrupt {
        /// The position.
        position: u64,
        /// What is wrong.
        why: String,
    },
    /// A sealed record another store wrote that cannot be stored as the next
    /// record of this log ([`EventStore::import_sealed`]): another position,
    /// a previous hash that is not the head's, a stream sequence that does not
    /// follow, an idempotency key already held.
    #[error("record at position {position} refused: {why}")]
    ImportRefused {
        /// The record's position.
        position: u64,
        /// Why it does not follow.
        why: String,
    },
    /// The directory is not a navigo ledger.
    #[error("{path} is not a navigo ledger: {why}")]
    NotALedger {
        /// The path.
        path: String,
        /// Why.
        why: String,
    },
    /// The event could not be encoded.
    #[error("cannot encode event: {0}")]
    Encode(String),
    /// The underlying storage failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The store was shut down.
    #[error("the store is closed")]
    Closed,
    /// The backend does not offer this (a backend without the Merkle tree and
    /// checkpoints, such as a test double; the sled and PostgreSQL stores keep
    /// them).
    #[error("{0} is not supported by this backend yet")]
    Unsupported(&'static str),
}

/// One write of a keyed derived space ([`EventStore::write_derived_entries`]):
/// every entry set or removed, all at once or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DerivedBatch {
    /// Remove every entry of the space before the others are written (a
    /// rebuild from the log starts from an empty space).
    ///
    /// Decision: a backend may remove a large space in steps (the sled store
    /// does, so that a clear's memory does not grow with the space), so a
    /// crash during a clear may leave the space partly emptied, and the
    /// entries of the batch unwritten. What a space's reader trusts must
    /// therefore be written by the batch itself and removed on its own before
    /// a clear (the ledger's states and their meta entry).
    pub clear: bool,
    /// Each key with its new bytes, or `None` to remove it.
    pub entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Entries of a keyed derived space, each key with its bytes, in key order.
pub type DerivedEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// The name of the blob the default keyed methods keep a space in (a backend
/// without keyed derived data of its own).
fn keyed_blob_name(space: &str) -> String {
    format!("keyed:{space}")
}

/// The entries of a keyed space kept as one blob (the default keyed methods):
/// each entry is its key's length (u32 BE), the key, its value's length (u32
/// BE), the value. `None` when the blob does not decode: the space is then
/// treated as empty, and its reader rebuilds it.
fn decode_keyed_blob(bytes: &[u8]) -> Option<std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
    fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let out = rest.get(4..4 + len)?;
        *rest = &rest[4 + len..];
        Some(out)
    }
    let mut rest = bytes;
    let mut out = std::collections::BTreeMap::new();
    while !rest.is_empty() {
        let k = take(&mut rest)?;
        let v = take(&mut rest)?;
        out.insert(k.to_vec(), v.to_vec());
    }
    Some(out)
}

fn encode_keyed_blob(
    entries: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in entries {
        for part in [k, v] {
            let len = u32::try_from(part.len())
                .map_err(|_| StoreError::Encode("a derived entry is over 4 GiB".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    Ok(out)
}

/// An async stream of envelopes in position order.
pub type EnvelopeStream<'a> = Pin<Box<dyn Stream<Item = Result<Envelope, StoreError>> + Send + 'a>>;

/// The next item of a store stream ([`EventStore::read_all`]), `None` at its end:
/// the one way the ledger, the HTTP service and the default
/// [`EventStore::read_log`] drain it.
pub async fn next_envelope(s: &mut EnvelopeStream<'_>) -> Option<Result<Envelope, StoreError>> {
    std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await
}

/// The event store.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends events to one stream, atomically and durably.
    ///
    /// # Errors
    /// [`StoreError::Conflict`], [`StoreError::IdempotencyConflict`],
    /// [`StoreError::OutOfOrder`], [`StoreError::LimitExceeded`], or a storage failure.
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError>;

    /// [`EventStore::append`], returning with the outcome the envelopes stored
    /// now, as [`EventStore::read_stream`] would return them (none when the
    /// outcome is `AlreadyAppended`). This default reads them back; a store that
    /// knows what it assigned builds them instead.
    ///
    /// # Errors
    /// As [`EventStore::append`], or a failure reading the events back.
    async fn append_stored(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
        let stream = request.stream;
        let n = u64::try_from(request.events.len()).unwrap_or(u64::MAX);
        let outcome = self.append(request).await?;
        let stored = match &outcome {
            AppendOutcome::Appended { stream_version, .. } => {
                let from = stream_version.saturating_sub(n) + 1;
                self.read_stream(stream, from..=*stream_version).await?
            }
            AppendOutcome::AlreadyAppended { .. } => Vec::new(),
        };
        Ok((outcome, stored))
    }

    /// Stores `records` (each `hash ‖ canonical JSON`, sealed by another
    /// store of this log) as they are at the next positions, all or none, and
    /// returns the new head: what `migrate` copies a log with, keeping every
    /// position, sequence, instant and hash, where [`EventStore::append`]
    /// would assign new ones. Each record must be the one after the head (its
    /// position, its previous hash the head's hash, its stream's next
    /// sequence, an instant no earlier than the head's) and hash to its hash;
    /// what the store derives at append time is derived from them (stream
    /// versions, the idempotency index: give an append's records in one call,
    /// [`sealed`]; the Merkle tree). This default stores nothing.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming a record that does not verify,
    /// [`StoreError::ImportRefused`] naming one that does not follow,
    /// [`StoreError::Empty`], a storage failure, or
    /// [`StoreError::Unsupported`]; nothing is written then.
    async fn import_sealed(&self, records: Vec<Vec<u8>>) -> Result<Head, StoreError> {
        let _ = records;
        Err(StoreError::Unsupported("storing sealed records (migrate)"))
    }

    /// Reads a stream's events whose sequence is in `range`, in order.
    ///
    /// # Errors
    /// A storage failure or a corrupt record.
    async fn read_stream(
        &self,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Envelope>, StoreError>;

    /// Every event from `from_position` on, in position order.
    fn read_all(&self, from_position: u64) -> EnvelopeStream<'_>;

    /// Every event from `from_position` through the head at the time of the call,
    /// in position order, in one vector, with every check of
    /// [`EventStore::read_all`] and the same error at the same record. For the
    /// commands that fold the whole log (rebuild, check-projections, audit):
    /// an implementation may read faster than the stream, e.g. on several threads
    /// (`SledStore::read_all_parallel`). The default drains
    /// `read_all`.
    ///
    /// # Errors
    /// A storage failure or a corrupt record (the first in position order).
    async fn read_log(&self, from_position: u64) -> Result<Vec<Envelope>, StoreError> {
        let mut all = self.read_all(from_position);
        let mut out = Vec::new();
        while let Some(item) = next_envelope(&mut all).await {
            out.push(item?);
        }
        Ok(out)
    }

    /// Makes ready at once what the appends of `requests`, submitted next,
    /// need before any of them is written: a store that seals personal data
    /// makes the keys of every person they name, with one flush for all,
    /// instead of one flush per append. The appends stay what they are (each
    /// still atomic, durable and checked on its own); nothing is appended
    /// here. The default has nothing to make ready.
    ///
    /// # Errors
    /// A storage failure: none of `requests` is to be appended then.
    async fn prepare_appends(&self, requests: &mut [AppendRequest]) -> Result<(), StoreError> {
        let _ = requests;
        Ok(())
    }

    /// The head of the log.
    ///
    /// # Errors
    /// A storage failure.
    async fn head(&self) -> Result<Head, StoreError>;

    /// A stream's current version (0 when it does not exist).
    ///
    /// # Errors
    /// A storage failure.
    async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError>;

    /// Seals `request`'s personal fields as an append would store them, so that
    /// a caller folding its events before the append (a batch judged against
    /// events not yet durable) folds, and later writes into its derived data,
    /// the ciphertext the log will hold rather than the clear values. The
    /// append seals what is still clear and leaves sealed fields as they are.
    /// This default, for a store that keeps no keys, leaves them clear.
    ///
    /// # Errors
    /// The key store cannot be written, or no randomness.
    fn seal_ahead(&self, request: &mut AppendRequest) -> Result<(), StoreError> {
        let _ = request;
        Ok(())
    }

    /// The idempotency keys recorded that start with `prefix`, in key order, each
    /// with the positions of the append it made; at most `keys_max` of them. The
    /// ledger reads the keys of one command here instead of holding every key in
    /// memory. This default walks the whole log (a backend without a key index);
    /// a backend with one reads the index.
    ///
    /// # Errors
    /// A storage failure or a corrupt record.
    async fn idempotency_keys(
        &self,
        prefix: &str,
        keys_max: usize,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        let mut found: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        let mut all = self.read_all(1);
        while let Some(env) = next_envelope(&mut all).await {
            let env = env?;
            if let Some(k) = env.idempotency_key.filter(|k| k.starts_with(prefix)) {
                found.entry(k).or_default().push(env.position);
            }
        }
        Ok(found.into_iter().take(keys_max).collect())
    }

    /// Derived data stored under `name` by [`EventStore::write_derived`], or
    /// `None`. Derived data (snapshots of folded state) lives apart from the log,
    /// outside the hash chain, and is never trusted: its reader verifies it and
    /// rebuilds it from the log when it does not verify. This default keeps
    /// none.
    ///
    /// # Errors
    /// A storage failure.
    async fn read_derived(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = name;
        Ok(None)
    }

    /// Replaces the derived data stored under `name`, atomically: a reader sees
    /// the old bytes or the new ones, never a mix. This default keeps nothing
    /// (a backend without room for derived data folds the log at every open).
    ///
    /// # Errors
    /// A storage failure.
    async fn write_derived(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let _ = (name, bytes);
        Ok(())
    }

    /// The entries of the keyed derived space `space` under each of `keys`, in
    /// the order asked (`None` for a key without one). Keyed derived data (the
    /// ledger's folded states, one entry each) is derived data as
    /// [`EventStore::read_derived`]'s: never trusted, verified by its reader.
    /// This default reads the space kept whole in one blob
    /// ([`EventStore::read_derived`]); a backend with keyed storage reads only
    /// the keys asked.
    ///
    /// # Errors
    /// A storage failure.
    async fn read_derived_entries(
        &self,
        space: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let blob = self.read_derived(&keyed_blob_name(space)).await?;
        let all = blob
            .as_deref()
            .and_then(decode_keyed_blob)
            .unwrap_or_default();
        Ok(keys.iter().map(|k| all.get(k).cloned()).collect())
    }

    /// Every entry of the keyed derived space `space` whose key starts with
    /// `prefix`, in key order (the ledger reads its indexes at open this way).
    /// This default reads the blob of [`EventStore::read_derived_entries`].
    ///
    /// # Errors
    /// A storage failure.
    async fn scan_derived_entries(
        &self,
        space: &str,
        prefix: &[u8],
    ) -> Result<DerivedEntries, StoreError> {
        let blob = self.read_derived(&keyed_blob_name(space)).await?;
        let all = blob
            .as_deref()
            .and_then(decode_keyed_blob)
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect())
    }

    /// Applies `batch` to the keyed derived space `space` atomically and
    /// durably: a reader sees every entry of the batch or none, so that entries
    /// written with the meta entry that names the position they cover are
    /// consistent with it. This default rewrites the space's blob whole
    /// (atomic as [`EventStore::write_derived`] is).
    ///
    /// # Errors
    /// A storage failure; nothing of the batch is applied then.
    async fn write_derived_entries(
        &self,
        space: &str,
        batch: &DerivedBatch,
    ) -> Result<(), StoreError> {
        let name = keyed_blob_name(space);
        let mut all = if batch.clear {
            Default::default()
        } else {
            let blob = self.read_derived(&name).await?;
            blob.as_deref()
                .and_then(decode_keyed_blob)
                .unwrap_or_default()
        };
        for (k, v) in &batch.entries {
            match v {
                Some(v) => all.insert(k.clone(), v.clone()),
                None => all.remove(k),
            };
        }
        self.write_derived(&name, &encode_keyed_blob(&all)?).await
    }

    /// The Merkle tree (RFC 6962, SHA-256 over the canonical records) of the
    /// first `size` records: its size and root, what a checkpoint signs. This
    /// default keeps no tree.
    ///
    /// # Errors
    /// A size beyond the head, an unreadable node, or
    /// [`StoreError::Unsupported`].
    async fn tree_head(&self, size: u64) -> Result<TreeHead, StoreError> {
        let _ = size;
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }

    /// The proof that the record at `position` is in the tree of the first
    /// `size` records, with the canonical record whose leaf it proves.
    ///
    /// # Errors
    /// A position or size beyond the head, an unreadable node or record, or
    /// [`StoreError::Unsupported`].
    async fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<(InclusionProof, Vec<u8>), StoreError> {
        let _ = (size, position);
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }

    /// The proof that the tree of `new` records extends the tree of `old`.
    ///
    /// # Errors
    /// `new` beyond the head or below `old`, an unreadable node, or
    /// [`StoreError::Unsupported`].
    async fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        let _ = (old, new);
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }

    /// The map of every stream to its head (version and last position) as of
    /// the first `size` records: what a checkpoint commits to.
    ///
    /// # Errors
    /// A size beyond the head, a storage failure, or
    /// [`StoreError::Unsupported`].
    async fn stream_heads(&self, size: u64) -> Result<StreamHeads, StoreError> {
        let _ = size;
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }

    /// Keeps a signed checkpoint (a C2SP signed note) for good and returns
    /// its number (from 1, in the order kept). Checkpoints are evidence: none
    /// is ever replaced or removed, and they live apart from the log.
    ///
    /// # Errors
    /// A storage failure, or [`StoreError::Unsupported`].
    async fn keep_checkpoint(&self, signed_note: &[u8]) -> Result<u64, StoreError> {
        let _ = signed_note;
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }

    /// Every checkpoint kept, oldest first (the first is number 1).
    ///
    /// # Errors
    /// A storage failure, or [`StoreError::Unsupported`].
    async fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Err(StoreError::Unsupported(TAMPER_EVIDENCE))
    }
}

/// What a backend without the Merkle tree does not offer.
const TAMPER_EVIDENCE: &str = "the Merkle tree over the log (checkpoints and proofs)";
