//! Verification of a whole ledger: every record's hash, the hash chain, gapless
//! positions and stream sequences, never-decreasing recorded-at instants, and the
//! stream and idempotency indexes against the log.

use std::collections::HashMap;

use navigo_events_schema::{decode_record, record_hashes, Hash, StreamId};

use crate::keys::{self, IdemEntry};
use crate::writer::storage;
pub use navigo_store::verify::{BadRecord, Problem, VerifyReport};
use navigo_store::{Head, StoreError};

/// Verifies the whole tree.
///
/// # Errors
/// Only a storage failure; every kind of corruption is reported in the report.
pub(crate) fn verify_tree(tree: &sled::Tree) -> Result<VerifyReport, StoreError> {
    let mut head = Head {
        position: 0,
        hash: Hash::GENESIS,
        recorded_at: None,
    };
    let mut seqs: HashMap<StreamId, u64> = HashMap::new();
    let bad = |position: u64, problem: Problem, head: Head, seqs: &HashMap<StreamId, u64>| {
        Ok(VerifyReport {
            records_checked: position.saturating_sub(1),
            streams: seqs.len() as u64,
            head,
            first_bad: Some(BadRecord { position, problem }),
        })
    };
    for (expected, item) in (1u64..).zip(tree.scan_prefix([keys::LOG])) {
        let (k, v) = item.map_err(storage)?;
        let pos = keys::log_key_position(&k);
        if pos != Some(expected) {
            return bad(expected, Problem::Missing { next_found: pos }, head, &seqs);
        }
        let (claimed, actual) = match record_hashes(&v) {
            Ok(h) => h,
            Err(e) => return bad(expected, Problem::Undecodable(e.to_string()), head, &seqs),
        };
        if claimed != actual {
            return bad(
                expected,
                Problem::HashMismatch { claimed, actual },
                head,
                &seqs,
            );
        }
        let env = match decode_record(&v) {
            Ok(e) => e,
            Err(e) => return bad(expected, Problem::Undecodable(e.to_string()), head, &seqs),
        };
        if env.position != expected {
            let p = Problem::PositionMismatch {
                found: env.position,
            };
            return bad(expected, p, head, &seqs);
        }
        if env.prev_hash != head.hash {
            let p = Problem::BrokenLink {
                expected: head.hash,
                found: env.prev_hash,
            };
            return bad(expected, p, head, &seqs);
        }
        if let Some(previous) = head.recorded_at {
            if env.recorded_at < previous {
                let p = Problem::RecordedAtDecreased {
                    previous,
                    found: env.recorded_at,
                };
                return bad(expected, p, head, &seqs);
            }
        }
        let last = seqs.get(&env.stream).copied().unwrap_or(0);
        if env.stream_seq != last + 1 {
            let p = Problem::SequenceGap {
                stream: env.stream,
                expected: last + 1,
                found: env.stream_seq,
            };
            return bad(expected, p, head, &seqs);
        }
        let index = tree
            .get(keys::stream_key(&env.stream, env.stream_seq))
            .map_err(storage)?;
        let points_to = index.as_deref().and_then(keys::be_u64);
        if points_to != Some(expected) {
            let p = Problem::IndexMismatch {
                stream: env.stream,
                seq: env.stream_seq,
                index_points_to: points_to,
            };
            return bad(expected, p, head, &seqs);
        }
        seqs.insert(env.stream, env.stream_seq);
        head = Head {
            position: expected,
            hash: env.hash,
            recorded_at: Some(env.recorded_at),
        };
    }
    // Every record has its index entry (checked above); an index entry beyond
    // those, or an idempotency entry past the head, is dangling.
    for item in tree.scan_prefix([keys::STREAM]) {
        let (k, v) = item.map_err(storage)?;
        let entry = keys::parse_stream_key(&k);
        let ok = match entry {
            Some((stream, seq)) => seqs.get(&stream).is_some_and(|last| seq <= *last),
            None => false,
        };
        if !ok {
            let pos = keys::be_u64(&v).unwrap_or(head.position + 1);
            let what = match entry {
                Some((s, q)) => format!("stream {s} seq {q} -> position {pos}"),
                None => format!("malformed stream index key {}", hex::encode(&k)),
            };
            return bad(pos, Problem::DanglingIndex { what }, head, &seqs);
        }
    }
    for item in tree.scan_prefix([keys::IDEM]) {
        let (k, v) = item.map_err(storage)?;
        let entry = IdemEntry::decode(&v);
        let ok = entry.is_some_and(|e| {
            e.count >= 1 && e.first >= 1 && e.first + u64::from(e.count) - 1 <= head.position
        });
        if !ok {
            let key = String::from_utf8_lossy(&k[1..]).into_owned();
            let pos = entry.map_or(head.position + 1, |e| e.first);
            let what = format!("idempotency key {key:?}");
            return bad(pos, Problem::DanglingIndex { what }, head, &seqs);
        }
    }
    Ok(VerifyReport {
        records_checked: head.position,
        streams: seqs.len() as u64,
        head,
        first_bad: None,
    })
}
