//! What a verification of a whole log found: the report every backend's
//! `verify` returns, naming the first bad position and what is wrong with it.

use std::fmt;

use chrono::{DateTime, Utc};
use navigo_events_schema::{Hash, StreamId};

use crate::Head;

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
    /// A node of the Merkle tree a backend keeps over the log is missing or is
    /// not what the records give: the tree (or a record it covered) was altered.
    TreeNode {
        /// The node's stored hash index.
        index: u64,
        /// Missing, or the hash found against the hash the records give.
        why: String,
    },
    /// The head a backend stores beside the log (its position and hash) is not
    /// the log's last record.
    HeadMismatch {
        /// The position the stored head names.
        stored_position: u64,
        /// The hash the stored head names.
        stored_hash: Hash,
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
            Problem::TreeNode { index, why } => {
                write!(f, "Merkle tree node {index} does not match the records: {why}")
            }
            Problem::HeadMismatch {
                stored_position,
                stored_hash,
            } => write!(
                f,
                "the stored head names position {stored_position} with hash {stored_hash}, \
                 which is not the log's last record"
            ),
        }
    }
}
