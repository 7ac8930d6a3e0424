//! The checks every backend makes of a record it reads, with the same errors
//! at the same records: its bytes hash to the hash it claims, it decodes (with
//! upcasting), it says the position it is stored under, and in the log each
//! record links to the one before it.

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash};

use crate::{ExportedRecord, StoreError};

/// Checks and decodes the record stored at `position`.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `position`: a hash mismatch, an undecodable
/// record, or a record that says another position.
pub fn check_record(position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    check_hash(position, bytes)?;
    decode_at(position, bytes)
}

/// Checks that a record's bytes hash to the hash it claims.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `position`.
pub fn check_hash(position: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let (claimed, actual) = record_hashes(bytes).map_err(|e| corrupt(e.to_string()))?;
    if claimed != actual {
        return Err(corrupt(format!(
            "hash mismatch: the record claims {claimed}, its bytes hash to {actual}"
        )));
    }
    Ok(())
}

/// Decodes the record stored at `position` and checks that it says so.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `position`.
pub fn decode_at(position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let env = decode_record(bytes).map_err(|e| corrupt(format!("undecodable: {e}")))?;
    if env.position != position {
        return Err(corrupt(format!(
            "the record stored under position {position} says position {}",
            env.position
        )));
    }
    Ok(env)
}

/// Checks the chain: a record's previous hash is the hash of the record before
/// it (`prev`; `None` when unknown, which no record matches).
///
/// # Errors
/// [`StoreError::Corrupt`] naming the record's position.
pub fn check_link(prev: Option<Hash>, env: &Envelope) -> Result<(), StoreError> {
    if Some(env.prev_hash) != prev {
        return Err(StoreError::Corrupt {
            position: env.position,
            why: "previous-hash link broken".into(),
        });
    }
    Ok(())
}

/// One record of an export: `record` (`hash ‖ canonical JSON`, its hash
/// `hash` already checked) stored at `position` says that position, links to
/// `prev`, and its leaf in the stored Merkle tree is `stored_leaf`. Both
/// backends' exports give their records through it, so that an export names
/// the same fault at the same record whichever holds the log.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `position`.
pub fn exported_record(
    position: u64,
    prev: Hash,
    hash: Hash,
    mut record: Vec<u8>,
    stored_leaf: navigo_merkle::Hash,
) -> Result<ExportedRecord, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let env = decode_at(position, &record)?;
    if env.prev_hash != prev {
        return Err(corrupt(format!(
            "chain broken: prev_hash {} but the record before hashes to {prev}",
            env.prev_hash
        )));
    }
    let canonical = record.split_off(HASH_LEN.min(record.len()));
    if navigo_merkle::leaf_hash(&canonical) != stored_leaf {
        return Err(corrupt(
            "its leaf in the stored Merkle tree is not SHA-256(0x00 ‖ record)".into(),
        ));
    }
    Ok(ExportedRecord {
        position,
        stream: env.stream,
        stream_seq: env.stream_seq,
        hash,
        canonical,
    })
}

/// The error of a position missing below the head.
pub fn gap(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        why: "record missing (gap in the log)".into(),
    }
}
