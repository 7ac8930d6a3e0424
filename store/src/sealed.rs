//! Records another store of the same log sealed, taken in as they are
//! ([`crate::EventStore::import_sealed`], what `migrate` copies a log with):
//! the checks every backend makes of them, with the same errors at the same
//! records, and what a backend derives from them at append time (stream
//! versions, the idempotency index with its content digests).
//!
//! A record is `hash ‖ canonical JSON`, exactly as the first store wrote it:
//! its position, stream sequence, recorded-at instant and previous hash are
//! kept, so the copy's chain, Merkle tree and checkpoints are the source's.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use navigo_events_schema::envelope::record_as_written;
use navigo_events_schema::{decode_record, Envelope, Hash, StreamId};

use crate::assign::{digest_of, DigestEvent};
use crate::check::check_hash;
use crate::{Head, StoreError};

/// One sealed record, checked (its bytes hash to its hash, it decodes) and
/// placed at the position it says.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The record as decoded.
    pub envelope: Envelope,
    /// `hash ‖ canonical JSON`, as given.
    pub record: Vec<u8>,
}

/// One record to store, at its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedRecord {
    /// Its position.
    pub position: u64,
    /// Its stream.
    pub stream: StreamId,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// `hash ‖ canonical JSON`, byte for byte the source's.
    pub record: Vec<u8>,
}

/// One idempotency entry rebuilt from the records of the append that
/// recorded the key: the contiguous run of records carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// The key.
    pub key: String,
    /// The content digest of the append ([`crate::assign::content_digest`]).
    pub digest: [u8; 32],
    /// Its first position.
    pub first: u64,
    /// How many events it appended.
    pub count: u32,
}

/// What a batch of sealed records writes and leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedBatch {
    /// The records, in position order.
    pub records: Vec<SealedRecord>,
    /// The idempotency entries their appends recorded.
    pub keys: Vec<SealedKey>,
    /// Each stream's version after the batch.
    pub versions: BTreeMap<StreamId, u64>,
    /// The head after the batch.
    pub head: Head,
}

/// An import refused at `position` (the record is not the next one of the log).
fn refused(position: u64, why: String) -> StoreError {
    StoreError::ImportRefused { position, why }
}

/// Checks every record's hash and decodes it; the first must be the record
/// after `head_position`, and each the one after the record before it.
///
/// Decision: the store's append limits (`event_bytes_max` and the others)
/// are not applied: they bound what a writer may add to a log, and these
/// records are in a log already; refusing one would leave a ledger that
/// cannot be moved.
///
/// # Errors
/// [`StoreError::Empty`] for no record; [`StoreError::Corrupt`] naming the
/// position of a record whose bytes do not hash to its hash or that does not
/// decode; [`StoreError::ImportRefused`] for a record not at the next position.
pub fn parse(head_position: u64, records: Vec<Vec<u8>>) -> Result<Vec<Parsed>, StoreError> {
    if records.is_empty() {
        return Err(StoreError::Empty);
    }
    let mut out = Vec::with_capacity(records.len());
    for (expected, record) in (head_position + 1..).zip(records) {
        check_hash(expected, &record)?;
        let envelope = decode_record(&record).map_err(|e| StoreError::Corrupt {
            position: expected,
            why: format!("undecodable: {e}"),
        })?;
        if envelope.position != expected {
            return Err(refused(
                envelope.position,
                format!(
                    "the next position of the log is {expected}, the record says {}",
                    envelope.position
                ),
            ));
        }
        out.push(Parsed { envelope, record });
    }
    Ok(out)
}

/// The streams the records write, once each: the backend reads their
/// versions for [`chain`].
pub fn streams(parsed: &[Parsed]) -> Vec<StreamId> {
    let mut seen = HashSet::new();
    parsed
        .iter()
        .map(|p| p.envelope.stream)
        .filter(|s| seen.insert(*s))
        .collect()
}

/// Chains the records onto `head`: each links to the hash before it, takes
/// its stream's next sequence (`versions` holds the store's version of every
/// stream of [`streams`]; a stream absent is new) and is recorded no earlier
/// than the record before it. Rebuilds the idempotency entries of their
/// appends: the backend refuses a key it already holds.
///
/// # Errors
/// [`StoreError::ImportRefused`] naming the first record that does not
/// follow; [`StoreError::Encode`] when a digest cannot be computed.
pub fn chain(
    head: &Head,
    parsed: Vec<Parsed>,
    versions: &HashMap<StreamId, u64>,
) -> Result<SealedBatch, StoreError> {
    let mut prev: Hash = head.hash;
    let mut at: Option<DateTime<Utc>> = head.recorded_at;
    let mut out_versions: BTreeMap<StreamId, u64> = BTreeMap::new();
    for p in &parsed {
        let e = &p.envelope;
        if e.prev_hash != prev {
            return Err(refused(
                e.position,
                format!(
                    "its previous hash {} is not the hash {prev} of the log's record before it",
                    e.prev_hash
                ),
            ));
        }
        let version = out_versions
            .get(&e.stream)
            .or_else(|| versions.get(&e.stream))
            .copied()
            .unwrap_or(0);
        if e.stream_seq != version + 1 {
            return Err(refused(
                e.position,
                format!(
                    "it is sequence {} of {}, whose version is {version}",
                    e.stream_seq, e.stream
                ),
            ));
        }
        if at.is_some_and(|h| e.recorded_at < h) {
            return Err(refused(
                e.position,
                format!("recorded at {}, before the record before it", e.recorded_at),
            ));
        }
        out_versions.insert(e.stream, e.stream_seq);
        prev = e.hash;
        at = Some(e.recorded_at);
    }
    let keys = keys_of(&parsed)?;
    let head = Head {
        position: parsed.last().map_or(head.position, |p| p.envelope.position),
        hash: prev,
        recorded_at: at,
    };
    let records = parsed
        .into_iter()
        .map(|p| SealedRecord {
            position: p.envelope.position,
            stream: p.envelope.stream,
            stream_seq: p.envelope.stream_seq,
            record: p.record,
        })
        .collect();
    Ok(SealedBatch {
        records,
        keys,
        versions: out_versions,
        head,
    })
}

/// The idempotency entries of the records' appends: an append's events are
/// contiguous, of one stream, and carry its key, so each maximal run of
/// records of one stream with one key is one append.
///
/// Decision: a run cut by the end of a batch cannot be told from a whole
/// append, so the caller gives whole appends (`migrate` never ends a batch
/// inside a run); a run whose key the store already holds, or a key seen in
/// two runs, is refused rather than merged.
fn keys_of(parsed: &[Parsed]) -> Result<Vec<SealedKey>, StoreError> {
    let mut out: Vec<SealedKey> = Vec::new();
    let mut start = 0;
    while start < parsed.len() {
        let first = &parsed[start].envelope;
        let end = parsed[start..]
            .iter()
            .position(|p| {
                p.envelope.stream != first.stream
                    || p.envelope.idempotency_key != first.idempotency_key
            })
            .map_or(parsed.len(), |n| start + n);
        if let Some(key) = &first.idempotency_key {
            if out.iter().any(|k| &k.key == key) {
                return Err(refused(
                    first.position,
                    format!("idempotency key {key:?} is carried by two appends"),
                ));
            }
            out.push(key_entry(key, &parsed[start..end])?);
        }
        start = end;
    }
    Ok(out)
}

/// The entry of one append's records (all under `key`).
fn key_entry(key: &str, run: &[Parsed]) -> Result<SealedKey, StoreError> {
    let first = &run[0].envelope;
    let written = run
        .iter()
        .map(|p| {
            record_as_written(&p.record).map_err(|e| StoreError::Corrupt {
                position: p.envelope.position,
                why: format!("undecodable: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<DigestEvent<'_>> = run
        .iter()
        .zip(&written)
        .map(|(p, w)| DigestEvent {
            type_name: &w.type_name,
            schema_version: w.schema_version,
            effective_date: p.envelope.effective_date,
            actor: &p.envelope.actor,
            channel: p.envelope.channel,
            data: w.data,
        })
        .collect();
    let count = u32::try_from(run.len()).map_err(|_| {
        refused(
            first.position,
            format!("the append under key {key:?} has over 2^32 events"),
        )
    })?;
    Ok(SealedKey {
        key: key.to_owned(),
        digest: digest_of(&first.stream, &events)?,
        first: first.position,
        count,
    })
}

/// The refusal of a key the store already holds (recorded by an append at
/// `held_first`).
pub fn key_held(key: &SealedKey, held_first: u64) -> StoreError {
    refused(
        key.first,
        format!(
            "idempotency key {:?} is already recorded, by the append at position {held_first}",
            key.key
        ),
    )
}
