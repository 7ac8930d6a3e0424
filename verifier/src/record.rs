//! What the verifier reads of a canonical record (docs/storage-format.md,
//! *The record*): its position, stream, stream sequence and the hash of the
//! record before it. The bytes themselves are what the hashes cover; these
//! fields tie them to the place an export line or a proof claims.

use serde::Deserialize;

use crate::Invalid;

/// The fields of a canonical record the verifier checks; the others are
/// covered by the hashes and left to the ledger's rules.
#[derive(Debug, Deserialize)]
pub struct RecordHead {
    pub position: u64,
    pub stream: String,
    pub stream_seq: u64,
    pub prev_hash: String,
    pub recorded_at: String,
}

/// The record's head.
///
/// # Errors
/// Bytes that are not a JSON object with these fields.
pub fn head(bytes: &[u8]) -> Result<RecordHead, Invalid> {
    serde_json::from_slice(bytes).map_err(|e| Invalid::new(format!("the record: {e}")))
}

/// 64 lowercase hex digits, as every hash of a record is written.
pub fn is_hex_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The genesis hash: the `prev_hash` of position 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
