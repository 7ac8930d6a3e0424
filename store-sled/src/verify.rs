//! Verification of a whole ledger: every record's hash, the hash chain, gapless
//! positions and stream sequences, never-decreasing recorded-at instants, and the
//! stream and idempotency indexes against the log.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash, StreamId};

use crate::keys::{self, IdemEntry};
use crate::writer::storage;
use navigo_store::{Head, StoreError};

/// What `verify` found.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// Records checked (all of them when the ledger is sound; up to the first bad
    /// one otherwise).
    pub records_checked: u64,
    /// Distinct streams seen.
    pub streams: u64,
    /// The last sound record.
    pub head: Head,
    /// The first problem, if any.
    pub first_bad: Option<BadRecord>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// The first bad position and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    /// The position.
    pub position: u64,
    /// The problem.
    pub problem: Problem,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}: {}", self.position, self.problem)
    }
}

/// What can be wrong with a position.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The record's bytes do not hash to the hash it carries.
    HashMismatch {
        /// The hash stored with the record.
        claimed: Hash,
        /// The hash of its bytes.
        actual: Hash,
    },
    /// The record's previous hash is not the hash of the record before it.
    BrokenLink {
        /// The previous record's hash.
        expected: Hash,
        /// What the record says.
        found: Hash,
    },
    /// No record at this position although a later one exists (or a malformed key).
    Missing {
        /// The next key found, if any.
        next_found: Option<u64>,
    },
    /// The record does not decode.
    Undecodable(String),
    /// The record says another position than its key.
    PositionMismatch {
        /// The position inside the record.
        found: u64,
    },
    /// The stream sequence is not the previous one plus one.
    SequenceGap {
        /// The stream.
        stream: StreamId,
        /// The sequence expected.
        expected: u64,
        /// The sequence found.
        found: u64,
    },
    /// The recorded-at instant is earlier than the previous record's.
    RecordedAtDecreased {
        /// The previous instant.
        previous: DateTime<Utc>,
        /// This record's.
        found: DateTime<Utc>,
    },
    /// The stream index does not point at this record.
    IndexMismatch {
        /// The stream.
        stream: StreamId,
        /// The sequence.
        seq: u64,
        /// Where the index points (none when the entry is missing).
        index_points_to: Option<u64>,
    },
    /// An index entry points past the head or at a record of another stream.
    DanglingIndex {
        /// What the entry is.
        what: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::HashMismatch { claimed, actual } => write!(
                f,
                "hash mismatch: the record claims {claimed}, its bytes hash to {actual}"
            ),
            Problem::BrokenLink { expected, found } => write!(
                f,
                "previous-hash link broken: the previous record's hash is {expected}, this record says {found}"
            ),
            Problem::Missing { next_found: Some(n) } => {
                write!(f, "record missing (gap in the log; next record found at {n})")
            }
            Problem::Missing { next_found: None } => write!(f, "record missing or malformed key"),
            Problem::Undecodable(why) => write!(f, "undecodable record: {why}"),
            Problem::PositionMismatch { found } => {
                write!(f, "the record says position {found}")
            }
            Problem::SequenceGap {
                stream,
                expected,
                found,
            } => write!(f, "stream {stream}: sequence {found}, expected {expected}"),
            Problem::RecordedAtDecreased { previous, found } => write!(
                f,
                "recorded-at {found} is earlier than the previous record's {previous}"
            ),
            Problem::IndexMismatch {
                stream,
                seq,
                index_points_to,
            } => match index_points_to {
                Some(p) => write!(f, "stream index {stream} seq {seq} points to position {p}"),
                None => write!(f, "stream index entry {stream} seq {seq} is missing"),
            },
            Problem::DanglingIndex { what } => write!(f, "dangling index entry: {what}"),
        }
    }
}

/// Why a walk of the tree stopped before its end: the storage failed, or the
/// record at `position` is bad.
enum Stop {
    Storage(StoreError),
    Bad { position: u64, problem: Problem },
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Storage(e)
    }
}

/// The walk of the log: the last good record, and each stream's last sequence.
struct Walk {
    head: Head,
    seqs: HashMap<StreamId, u64>,
}

/// Verifies the whole tree: every record in position order, then the stream
/// index and the idempotency keys against what the records hold.
///
/// # Errors
/// Only a storage failure; every kind of corruption is reported in the report.
pub(crate) fn verify_tree(tree: &sled::Tree) -> Result<VerifyReport, StoreError> {
    let mut walk = Walk {
        head: Head {
            position: 0,
            hash: Hash::GENESIS,
            recorded_at: None,
        },
        seqs: HashMap::new(),
    };
    let outcome = walk
        .records(tree)
        .and_then(|()| walk.stream_index(tree))
        .and_then(|()| walk.idempotency_keys(tree));
    let (records_checked, first_bad) = match outcome {
        Ok(()) => (walk.head.position, None),
        Err(Stop::Storage(e)) => return Err(e),
        Err(Stop::Bad { position, problem }) => (
            position.saturating_sub(1),
            Some(BadRecord { position, problem }),
        ),
    };
    Ok(VerifyReport {
        records_checked,
        streams: walk.seqs.len() as u64,
        head: walk.head,
        first_bad,
    })
}

impl Walk {
    /// Every record, in position order, each checked and chained to the one
    /// before; the head moves past each good one.
    fn records(&mut self, tree: &sled::Tree) -> Result<(), Stop> {
        for (expected, item) in (1u64..).zip(tree.scan_prefix([keys::LOG])) {
            let (k, v) = item.map_err(storage)?;
            let bad = |problem| Stop::Bad {
                position: expected,
                problem,
            };
            let env = record_at(expected, &k, &v).map_err(bad)?;
            self.check_chain(&env).map_err(bad)?;
            let index = tree
                .get(keys::stream_key(&env.stream, env.stream_seq))
                .map_err(storage)?;
            let points_to = index.as_deref().and_then(keys::be_u64);
            if points_to != Some(expected) {
                return Err(bad(Problem::IndexMismatch {
                    stream: env.stream,
                    seq: env.stream_seq,
                    index_points_to: points_to,
                }));
            }
            self.seqs.insert(env.stream, env.stream_seq);
            self.head = Head {
                position: expected,
                hash: env.hash,
                recorded_at: Some(env.recorded_at),
            };
        }
        Ok(())
    }

    /// A record follows the head: it links to the head's hash, is recorded no
    /// earlier, and takes its stream's next sequence.
    fn check_chain(&self, env: &Envelope) -> Result<(), Problem> {
        if env.prev_hash != self.head.hash {
            return Err(Problem::BrokenLink {
                expected: self.head.hash,
                found: env.prev_hash,
            });
        }
        if let Some(previous) = self.head.recorded_at {
            if env.recorded_at < previous {
                return Err(Problem::RecordedAtDecreased {
                    previous,
                    found: env.recorded_at,
                });
            }
        }
        let last = self.seqs.get(&env.stream).copied().unwrap_or(0);
        if env.stream_seq != last + 1 {
            return Err(Problem::SequenceGap {
                stream: env.stream,
                expected: last + 1,
                found: env.stream_seq,
            });
        }
        Ok(())
    }

    /// Every record has its index entry (checked with the records); an index
    /// entry beyond those is dangling.
    fn stream_index(&self, tree: &sled::Tree) -> Result<(), Stop> {
        for item in tree.scan_prefix([keys::STREAM]) {
            let (k, v) = item.map_err(storage)?;
            let entry = keys::parse_stream_key(&k);
            let ok = match entry {
                Some((stream, seq)) => self.seqs.get(&stream).is_some_and(|last| seq <= *last),
                None => false,
            };
            if !ok {
                let pos = keys::be_u64(&v).unwrap_or(self.head.position + 1);
                let what = match entry {
                    Some((s, q)) => format!("stream {s} seq {q} -> position {pos}"),
                    None => format!("malformed stream index key {}", hex::encode(&k)),
                };
                return Err(Stop::Bad {
                    position: pos,
                    problem: Problem::DanglingIndex { what },
                });
            }
        }
        Ok(())
    }

    /// An idempotency entry names positions at or before the head.
    fn idempotency_keys(&self, tree: &sled::Tree) -> Result<(), Stop> {
        let head = self.head.position;
        for item in tree.scan_prefix([keys::IDEM]) {
            let (k, v) = item.map_err(storage)?;
            let entry = IdemEntry::decode(&v);
            let ok = entry.is_some_and(|e| {
                e.count >= 1 && e.first >= 1 && e.first + u64::from(e.count) - 1 <= head
            });
            if !ok {
                let key = String::from_utf8_lossy(&k[1..]).into_owned();
                return Err(Stop::Bad {
                    position: entry.map_or(head + 1, |e| e.first),
                    problem: Problem::DanglingIndex {
                        what: format!("idempotency key {key:?}"),
                    },
                });
            }
        }
        Ok(())
    }
}

/// The record stored under log key `k` as the record at position `expected`:
/// at its key, its bytes hashing to the hash it claims, decodable, and saying
/// its own position.
fn record_at(expected: u64, k: &[u8], v: &[u8]) -> Result<Envelope, Problem> {
    let pos = keys::log_key_position(k);
    if pos != Some(expected) {
        return Err(Problem::Missing { next_found: pos });
    }
    let (claimed, actual) = record_hashes(v).map_err(|e| Problem::Undecodable(e.to_string()))?;
    if claimed != actual {
        return Err(Problem::HashMismatch { claimed, actual });
    }
    let env = decode_record(v).map_err(|e| Problem::Undecodable(e.to_string()))?;
    if env.position != expected {
        return Err(Problem::PositionMismatch {
            found: env.position,
        });
    }
    Ok(env)
}
