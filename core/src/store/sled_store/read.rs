//! Reading: every record read is checked on the way out (its hash, its position,
//! its link to the previous record in `read_all`), so that corruption surfaces as
//! a clear [`StoreError::Corrupt`] instead of a wrong projection.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use futures_core::Stream;
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash};

use super::keys;
use super::writer::storage;
use crate::store::{Head, StoreError};

/// Records read from sled per poll of the `read_all` stream once its buffer is empty.
pub const READ_ALL_CHUNK_RECORDS: usize = 512;

/// Checks and decodes the record stored at `position`.
pub(crate) fn check_record(position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    check_hash(position, bytes)?;
    decode_at(position, bytes)
}

/// Checks that a record's bytes hash to the hash it claims.
fn check_hash(position: u64, bytes: &[u8]) -> Result<(), StoreError> {
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
fn decode_at(position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
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

/// Bytes of verified records a store keeps (`VerifiedRecords`); when full, it
/// forgets them all and starts again (the next read of each hashes it again).
pub const VERIFIED_RECORDS_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The records whose hash this store has checked, with their bytes, by position.
///
/// `read_stream` returns a record only if its bytes hash to the hash it claims.
/// Hashing is a fifth of a stream read (BLAKE3 over every byte, issue 4 §8), and
/// per-contract projections read the same streams again and again: a record
/// whose bytes are exactly the bytes already verified at that position hashes
/// to the same value, so comparing the bytes (a memory comparison, many times
/// cheaper) keeps the check. Bytes that differ in any way (a record changed on
/// disk since) are hashed again, and a mismatch is reported as before.
#[derive(Debug, Default)]
pub(crate) struct VerifiedRecords {
    records: std::collections::HashMap<u64, sled::IVec>,
    bytes: usize,
}

impl VerifiedRecords {
    /// Forgets every record.
    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    fn holds(&self, position: u64, bytes: &[u8]) -> bool {
        self.records
            .get(&position)
            .is_some_and(|v| v.as_ref() == bytes)
    }

    fn insert(&mut self, position: u64, bytes: sled::IVec) {
        if self.bytes + bytes.len() > VERIFIED_RECORDS_BYTES_MAX {
            self.clear();
        }
        self.bytes += bytes.len();
        if let Some(old) = self.records.insert(position, bytes) {
            self.bytes -= old.len();
        }
    }
}

/// [`check_record`], hashing only bytes not verified before at that position
/// (see [`VerifiedRecords`]).
pub(crate) fn check_record_once(
    position: u64,
    bytes: &sled::IVec,
    verified: &RwLock<VerifiedRecords>,
) -> Result<Envelope, StoreError> {
    let known = match verified.read() {
        Ok(v) => v.holds(position, bytes),
        Err(p) => p.into_inner().holds(position, bytes),
    };
    if !known {
        check_hash(position, bytes)?;
        match verified.write() {
            Ok(mut v) => v.insert(position, bytes.clone()),
            Err(p) => p.into_inner().insert(position, bytes.clone()),
        }
    }
    decode_at(position, bytes)
}

/// The hash a stored record claims (its first 32 bytes).
pub(crate) fn claimed_hash(position: u64, bytes: &[u8]) -> Result<Hash, StoreError> {
    if bytes.len() <= HASH_LEN {
        return Err(StoreError::Corrupt {
            position,
            why: format!("record truncated to {} bytes", bytes.len()),
        });
    }
    let mut h = [0u8; HASH_LEN];
    h.copy_from_slice(&bytes[..HASH_LEN]);
    Ok(Hash(h))
}

/// The committed head, as readers see it.
pub(crate) fn committed(head: &RwLock<Head>) -> Head {
    match head.read() {
        Ok(h) => *h,
        Err(p) => *p.into_inner(),
    }
}

/// The stream behind `read_all`: reads the log in chunks from sled, checks each
/// record and its link to the previous one, and ends at the head that was durable
/// when the stream was created (a follower calls `read_all` again from where it
/// stopped).
pub(crate) struct ReadAll {
    tree: sled::Tree,
    next: u64,
    end: u64,
    prev: Option<Hash>,
    buf: VecDeque<Result<Envelope, StoreError>>,
    done: bool,
}

impl ReadAll {
    pub(crate) fn new(tree: sled::Tree, head: &Arc<RwLock<Head>>, from: u64) -> ReadAll {
        let end = committed(head).position;
        ReadAll {
            tree,
            next: from.max(1),
            end,
            prev: None,
            buf: VecDeque::new(),
            done: false,
        }
    }

    /// Fills the buffer with the next chunk; sets `done` at the end or on error.
    fn fill(&mut self) {
        if self.next > self.end {
            self.done = true;
            return;
        }
        if self.prev.is_none() {
            let prev = if self.next == 1 {
                Ok(Hash::GENESIS)
            } else {
                let p = self.next - 1;
                match self.tree.get(keys::log_key(p)) {
                    Ok(Some(b)) => claimed_hash(p, &b),
                    Ok(None) => Err(StoreError::Corrupt {
                        position: p,
                        why: "record missing (gap in the log)".into(),
                    }),
                    Err(e) => Err(storage(e)),
                }
            };
            match prev {
                Ok(h) => self.prev = Some(h),
                Err(e) => {
                    self.buf.push_back(Err(e));
                    self.done = true;
                    return;
                }
            }
        }
        let range = keys::log_key(self.next)..=keys::log_key(self.end);
        for item in self.tree.range(range).take(READ_ALL_CHUNK_RECORDS) {
            let r = item.map_err(storage).and_then(|(k, v)| {
                let expected = self.next;
                if keys::log_key_position(&k) != Some(expected) {
                    return Err(StoreError::Corrupt {
                        position: expected,
                        why: "record missing (gap in the log)".into(),
                    });
                }
                let env = check_record(expected, &v)?;
                if Some(env.prev_hash) != self.prev {
                    return Err(StoreError::Corrupt {
                        position: expected,
                        why: "previous-hash link broken".into(),
                    });
                }
                Ok(env)
            });
            match r {
                Ok(env) => {
                    self.prev = Some(env.hash);
                    self.next += 1;
                    self.buf.push_back(Ok(env));
                }
                Err(e) => {
                    self.buf.push_back(Err(e));
                    self.done = true;
                    return;
                }
            }
        }
        if self.buf.is_empty() {
            // The range ended before `end`: the records up to the head must exist.
            self.buf.push_back(Err(StoreError::Corrupt {
                position: self.next,
                why: "record missing (gap in the log)".into(),
            }));
            self.done = true;
        }
    }
}

impl Stream for ReadAll {
    type Item = Result<Envelope, StoreError>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.buf.is_empty() && !this.done {
            this.fill();
        }
        Poll::Ready(this.buf.pop_front())
    }
}
