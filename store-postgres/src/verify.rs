//! Verification of a whole ledger: every record's hash, the hash chain, gapless
//! positions and stream sequences, never-decreasing recorded-at instants, the
//! columns of each row against its record, the idempotency entries against the
//! log, and the head row against the last record (so that a log cut short
//! behind the store's back is found too).

use std::collections::HashMap;

use deadpool_postgres::Object;
use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash, StreamId};
use navigo_store::verify::{BadRecord, Problem, VerifyReport};
use navigo_store::{Head, StoreError};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::{pg, to_i64};
use crate::merkle::{covered, leaf_of, parse_runs, Nodes};
use crate::rows::{parse_head, parse_kind};
use crate::schema::Sql;

/// Rows fetched per query while verifying.
pub const VERIFY_CHUNK_RECORDS: i64 = 4_096;

/// What the walk has seen so far.
struct Walk {
    /// The last sound record.
    head: Head,
    /// The last sequence of each stream.
    seqs: HashMap<StreamId, u64>,
    /// The Merkle tree's frontier, computed from the records checked so far
    /// (never read from the stored nodes, which are what is checked).
    tree: Nodes,
    /// The records the stored tree covers (all of them once a store of this
    /// version opened the ledger).
    tree_covered: u64,
}

impl Walk {
    fn bad(&self, position: u64, problem: Problem) -> VerifyReport {
        VerifyReport {
            records_checked: self.head.position,
            streams: self.seqs.len() as u64,
            head: self.head,
            first_bad: Some(BadRecord { position, problem }),
        }
    }

    /// Checks the row stored at `expected`: the record itself, its place in
    /// the chain and in its stream, then the columns against the record.
    fn check(
        &mut self,
        expected: u64,
        row: &Row,
        stored: &HashMap<u64, navigo_merkle::Hash>,
    ) -> Result<Result<Envelope, Problem>, StoreError> {
        let position: i64 = row.try_get(0).map_err(pg)?;
        if u64::try_from(position).ok() != Some(expected) {
            let next_found = u64::try_from(position).ok();
            return Ok(Err(Problem::Missing { next_found }));
        }
        let bytes: &[u8] = row.try_get(4).map_err(pg)?;
        let env = match check_bytes(expected, bytes) {
            Ok(env) => env,
            Err(p) => return Ok(Err(p)),
        };
        if let Some(p) = self.tree_problem(expected, bytes, stored)? {
            return Ok(Err(p));
        }
        if let Some(p) = self.chain_problem(&env) {
            return Ok(Err(p));
        }
        let kind: &str = row.try_get(1).map_err(pg)?;
        let id: Uuid = row.try_get(2).map_err(pg)?;
        let seq: i64 = row.try_get(3).map_err(pg)?;
        let columns = (parse_kind(kind).map(|k| StreamId::new(k, id)), seq);
        if columns != (Some(env.stream), to_i64(env.stream_seq)?) {
            // Reported as the sled store reports its index: the row that the
            // stream's columns point to is looked up by the caller.
            return Ok(Err(Problem::IndexMismatch {
                stream: env.stream,
                seq: env.stream_seq,
                index_points_to: None,
            }));
        }
        Ok(Ok(env))
    }

    /// The Merkle tree's nodes the record at `position` completes are stored
    /// (in `stored`, the chunk's nodes) and equal to what its leaf and the
    /// records before give. Records the stored tree does not cover yet are
    /// not checked against it.
    fn tree_problem(
        &mut self,
        position: u64,
        record: &[u8],
        stored: &HashMap<u64, navigo_merkle::Hash>,
    ) -> Result<Option<Problem>, StoreError> {
        if position > self.tree_covered {
            return Ok(None);
        }
        for (index, hash) in self.tree.append(position - 1, leaf_of(record))? {
            let why = match stored.get(&index) {
                Some(found) if *found == hash => continue,
                Some(found) => format!("stored {found}, the records give {hash}"),
                None => format!("missing (the records give {hash})"),
            };
            return Ok(Some(Problem::TreeNode { index, why }));
        }
        Ok(None)
    }

    /// The link to the previous record, the instant, the stream sequence.
    fn chain_problem(&self, env: &Envelope) -> Option<Problem> {
        if env.prev_hash != self.head.hash {
            return Some(Problem::BrokenLink {
                expected: self.head.hash,
                found: env.prev_hash,
            });
        }
        if let Some(previous) = self.head.recorded_at {
            if env.recorded_at < previous {
                return Some(Problem::RecordedAtDecreased {
                    previous,
                    found: env.recorded_at,
                });
            }
        }
        let last = self.seqs.get(&env.stream).copied().unwrap_or(0);
        if env.stream_seq != last + 1 {
            return Some(Problem::SequenceGap {
                stream: env.stream,
                expected: last + 1,
                found: env.stream_seq,
            });
        }
        None
    }

    fn advance(&mut self, env: &Envelope) {
        self.seqs.insert(env.stream, env.stream_seq);
        self.head = Head {
            position: env.position,
            hash: env.hash,
            recorded_at: Some(env.recorded_at),
        };
    }
}

/// The record's own checks: its hash, that it decodes, its position.
fn check_bytes(expected: u64, bytes: &[u8]) -> Result<Envelope, Problem> {
    let (claimed, actual) =
        record_hashes(bytes).map_err(|e| Problem::Undecodable(e.to_string()))?;
    if claimed != actual {
        return Err(Problem::HashMismatch { claimed, actual });
    }
    let env = decode_record(bytes).map_err(|e| Problem::Undecodable(e.to_string()))?;
    if env.position != expected {
        return Err(Problem::PositionMismatch {
            found: env.position,
        });
    }
    Ok(env)
}

/// Where the stream columns `(stream, seq)` point: the position of the row
/// that holds them, if any.
async fn index_points_to(
    conn: &Object,
    sql: &Sql,
    stream: StreamId,
    seq: u64,
) -> Result<Option<u64>, StoreError> {
    let stmt = conn.prepare_cached(&sql.position_of).await.map_err(pg)?;
    let row = conn
        .query_opt(&stmt, &[&stream.kind.as_str(), &stream.id, &to_i64(seq)?])
        .await
        .map_err(pg)?;
    let position: Option<i64> = match row {
        Some(r) => Some(r.try_get(0).map_err(pg)?),
        None => None,
    };
    Ok(position.and_then(|p| u64::try_from(p).ok()))
}

/// Verifies the whole log of a store on one connection.
///
/// # Errors
/// Only a storage failure; every kind of corruption is reported in the report.
pub(crate) async fn verify(conn: &Object, sql: &Sql) -> Result<VerifyReport, StoreError> {
    let mut walk = Walk {
        head: Head {
            position: 0,
            hash: Hash::GENESIS,
            recorded_at: None,
        },
        seqs: HashMap::new(),
        tree: Nodes::default(),
        tree_covered: 0,
    };
    let stmt = conn.prepare_cached(&sql.head).await.map_err(pg)?;
    let stored_head = parse_head(&conn.query_one(&stmt, &[]).await.map_err(pg)?)?;
    walk.tree_covered = covered(conn, sql, stored_head.position).await?;
    let chunk = conn.prepare_cached(&sql.verify_chunk).await.map_err(pg)?;
    loop {
        let after = to_i64(walk.head.position)?;
        let rows = conn
            .query(&chunk, &[&after, &VERIFY_CHUNK_RECORDS])
            .await
            .map_err(pg)?;
        if rows.is_empty() {
            break;
        }
        let stored = chunk_nodes(conn, sql, walk.head.position, rows.len()).await?;
        for row in &rows {
            let expected = walk.head.position + 1;
            match walk.check(expected, row, &stored)? {
                Ok(env) => walk.advance(&env),
                Err(Problem::IndexMismatch { stream, seq, .. }) => {
                    let index_points_to = index_points_to(conn, sql, stream, seq).await?;
                    let problem = Problem::IndexMismatch {
                        stream,
                        seq,
                        index_points_to,
                    };
                    return Ok(walk.bad(expected, problem));
                }
                Err(problem) => return Ok(walk.bad(expected, problem)),
            }
        }
        walk.tree
            .keep_frontier(walk.head.position.min(walk.tree_covered));
    }
    if let Some(report) = check_head_row(conn, sql, &walk).await? {
        return Ok(report);
    }
    if let Some(report) = check_keys(conn, sql, &walk).await? {
        return Ok(report);
    }
    Ok(VerifyReport {
        records_checked: walk.head.position,
        streams: walk.seqs.len() as u64,
        head: walk.head,
        first_bad: None,
    })
}

/// The stored tree nodes that the `count` records after the first `after`
/// complete (those stored).
async fn chunk_nodes(
    conn: &Object,
    sql: &Sql,
    after: u64,
    count: usize,
) -> Result<HashMap<u64, navigo_merkle::Hash>, StoreError> {
    let first = navigo_merkle::stored_leaf_index(after);
    let end = navigo_merkle::stored_node_count(after + count as u64);
    let last = end.saturating_sub(1);
    let stmt = conn.prepare_cached(&sql.nodes_between).await.map_err(pg)?;
    let rows = conn
        .query(&stmt, &[&to_i64(first)?, &to_i64(last)?])
        .await
        .map_err(pg)?;
    parse_runs(&rows, first, last)
}

/// The head row must be the last record: a head beyond it means records were
/// removed from the end of the log, one behind it records added past it.
async fn check_head_row(
    conn: &Object,
    sql: &Sql,
    walk: &Walk,
) -> Result<Option<VerifyReport>, StoreError> {
    let stmt = conn.prepare_cached(&sql.head).await.map_err(pg)?;
    let stored = parse_head(&conn.query_one(&stmt, &[]).await.map_err(pg)?)?;
    if stored == walk.head {
        return Ok(None);
    }
    let last = walk.head.position;
    let position = if stored.position == last {
        last
    } else {
        stored.position.min(last) + 1
    };
    let problem = Problem::HeadMismatch {
        stored_position: stored.position,
        stored_hash: stored.hash,
    };
    Ok(Some(walk.bad(position, problem)))
}

/// Every idempotency entry must name positions of the log.
async fn check_keys(
    conn: &Object,
    sql: &Sql,
    walk: &Walk,
) -> Result<Option<VerifyReport>, StoreError> {
    let stmt = conn.prepare_cached(&sql.dangling_keys).await.map_err(pg)?;
    let head = to_i64(walk.head.position)?;
    let Some(row) = conn.query_opt(&stmt, &[&head]).await.map_err(pg)? else {
        return Ok(None);
    };
    let key: String = row.try_get(0).map_err(pg)?;
    let first: i64 = row.try_get(1).map_err(pg)?;
    let position = u64::try_from(first).unwrap_or(walk.head.position + 1);
    let what = format!("idempotency key {key:?}");
    Ok(Some(walk.bad(position, Problem::DanglingIndex { what })))
}
