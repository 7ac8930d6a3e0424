//! Verification of a whole ledger: every record's hash, the hash chain, gapless
//! positions and stream sequences, never-decreasing recorded-at instants, and the
//! stream and idempotency indexes against the log.

use std::collections::HashMap;

use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash, StreamId};

use crate::format::Format;
use crate::frame;
use crate::keys::{self, IdemEntry};
use crate::stream_index::{Item, StreamIndex};
use crate::writer::storage;
pub use navigo_store::verify::{BadRecord, Problem, VerifyReport};
use navigo_store::{Head, StoreError};

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
    format: Format,
    /// The records the Merkle tree covers: all of them once the ledger was
    /// opened by a version that keeps it (a ledger from before the tree, read
    /// here without being opened, has none yet; opening computes them).
    tree_covered: u64,
    head: Head,
    seqs: HashMap<StreamId, u64>,
}

/// Verifies the whole tree: every record in position order, then the stream
/// index and the idempotency keys against what the records hold.
///
/// # Errors
/// Only a storage failure; every kind of corruption is reported in the report.
pub(crate) fn verify_tree(tree: &sled::Tree, format: Format) -> Result<VerifyReport, StoreError> {
    let last = match tree.scan_prefix([keys::LOG]).next_back() {
        Some(item) => keys::log_key_position(&item.map_err(storage)?.0).unwrap_or(0),
        None => 0,
    };
    let mut walk = Walk {
        format,
        tree_covered: crate::merkle::covered(tree, last)?,
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
            // A corruption sled meets reading the next key is reported at
            // the position that key must hold.
            let (k, v) = item.map_err(|e| crate::batch::storage_at(expected, e))?;
            let bad = |problem| Stop::Bad {
                position: expected,
                problem,
            };
            let (env, leaf) = record_at(self.format, expected, &k, &v).map_err(bad)?;
            self.check_chain(&env).map_err(bad)?;
            if expected <= self.tree_covered {
                check_tree_nodes(tree, expected - 1, leaf).map_err(bad)?;
            }
            // A malformed block points at no record: the mismatch names it.
            let points_to =
                match StreamIndex::of(self.format).position(tree, &env.stream, env.stream_seq) {
                    Err(StoreError::Corrupt { .. }) => None,
                    other => other?,
                };
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
        for item in StreamIndex::of(self.format).all(tree) {
            let (position, what) = match item? {
                Item::Entry(e) if self.seqs.get(&e.stream).is_some_and(|last| e.seq <= *last) => {
                    continue
                }
                Item::Entry(e) => (
                    e.position,
                    format!(
                        "stream {} seq {} -> position {}",
                        e.stream, e.seq, e.position
                    ),
                ),
                Item::Malformed(why) => (self.head.position + 1, why),
            };
            return Err(Stop::Bad {
                position,
                problem: Problem::DanglingIndex { what },
            });
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
/// at its key, its stored form giving back a record, its bytes hashing to the
/// hash it claims, decodable, and saying its own position.
fn record_at(
    format: Format,
    expected: u64,
    k: &[u8],
    stored: &[u8],
) -> Result<(Envelope, navigo_merkle::Hash), Problem> {
    let pos = keys::log_key_position(k);
    if pos != Some(expected) {
        return Err(Problem::Missing { next_found: pos });
    }
    let v = &*frame::unframe(format, stored).map_err(Problem::Undecodable)?;
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
    Ok((env, crate::merkle::leaf_of(v)))
}

/// The Merkle tree's nodes that the record of 0-based `index` completes are
/// stored and equal to what its leaf and the nodes before give. Checked in log
/// order, each node rests on nodes already checked.
fn check_tree_nodes(
    tree: &sled::Tree,
    index: u64,
    leaf: navigo_merkle::Hash,
) -> Result<(), Problem> {
    let nodes = crate::merkle::Nodes::new(tree);
    let expected =
        navigo_merkle::nodes_for_append(index, leaf, &nodes).map_err(|e| Problem::TreeNode {
            index,
            why: e.to_string(),
        })?;
    for (i, want) in expected {
        let why = match crate::merkle::stored_node(tree, i) {
            Ok(found) if found == want => continue,
            Ok(found) => format!("found {found}, the records give {want}"),
            Err(navigo_merkle::TlogError::IndexesNotInTree) => "missing".to_owned(),
            Err(e) => e.to_string(),
        };
        return Err(Problem::TreeNode { index: i, why });
    }
    Ok(())
}
