//! The Merkle tree over the log in PostgreSQL: each record's leaf (SHA-256 of
//! its canonical JSON, as the sled store computes it) and the subtrees it
//! completes, by Go sumdb/tlog stored hash index, stored in the transaction
//! that appends the record as one run of consecutive indexes in `tree_runs`; the signed checkpoints kept in
//! `checkpoints`; the stream-head map a checkpoint commits to. The tree
//! arithmetic is `navigo_merkle`'s (the `tlog_tiles` port): this module only
//! finds the nodes it reads and stores the nodes it returns.
//!
//! The functions of `navigo_merkle` read nodes through a synchronous
//! [`HashReader`]; a database read is asynchronous. So each computation runs
//! twice: first with [`Nodes`] asking (it notes every index read and answers
//! a placeholder: tlog's arithmetic never looks at a hash's value to decide
//! what to read next), then with the nodes noted read in one query.

use std::collections::HashMap;
use std::sync::Mutex;

use deadpool_postgres::ClientWrapper as Client;
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{StreamId, StreamKind};
use navigo_merkle::{Frontier, Hash as Node, HashReader, MerkleError, StreamHead, StreamHeads};
use navigo_store::StoreError;
use uuid::Uuid;

use crate::error::{pg, to_i64, to_u64};
use crate::rows::parse_kind;
use crate::schema::Sql;

/// Records whose nodes one catch-up transaction computes.
pub const CATCH_UP_RECORDS_PER_BATCH: u64 = 10_000;

/// A Merkle tree failure as the store reports it.
pub(crate) fn tree_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(format!("the Merkle tree: {e}"))
}

/// The leaf of a stored record (`hash ‖ canonical JSON`): the tree covers the
/// canonical JSON, so that an auditor needs SHA-256 only.
pub(crate) fn leaf_of(record: &[u8]) -> Node {
    navigo_merkle::leaf_hash(record.get(HASH_LEN..).unwrap_or_default())
}

/// Nodes known (read, or computed and not yet stored), and while asking, the
/// indexes read that were not known.
#[derive(Default)]
pub(crate) struct Nodes {
    pub(crate) known: HashMap<u64, Node>,
    asking: Option<Mutex<Vec<u64>>>,
}

impl Nodes {
    /// Nodes that answer from `known` only.
    pub(crate) fn from(known: HashMap<u64, Node>) -> Self {
        Self {
            known,
            asking: None,
        }
    }

    /// Computes the nodes the record of 0-based `index` with leaf `leaf`
    /// stores, keeps them known and returns them. Every node it reads must be
    /// known: the frontier of the first `index` records holds them all.
    pub(crate) fn append(
        &mut self,
        index: u64,
        leaf: Node,
    ) -> Result<Vec<(u64, Node)>, StoreError> {
        let nodes = navigo_merkle::nodes_for_append(index, leaf, self).map_err(tree_error)?;
        self.known.extend(nodes.iter().copied());
        Ok(nodes)
    }

    /// Keeps only the nodes of the frontier of `size` records: all that later
    /// appends read.
    pub(crate) fn keep_frontier(&mut self, size: u64) {
        let keep = frontier_indexes(size);
        self.known.retain(|i, _| keep.contains(i));
    }
}

impl HashReader for Nodes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Node>, navigo_merkle::TlogError> {
        indexes
            .iter()
            .map(|i| match (self.known.get(i), &self.asking) {
                (Some(h), _) => Ok(*h),
                (None, Some(asked)) => {
                    asked.lock().unwrap_or_else(|p| p.into_inner()).push(*i);
                    Ok(Node([0; navigo_merkle::HASH_SIZE]))
                }
                (None, None) => Err(navigo_merkle::TlogError::IndexesNotInTree),
            })
            .collect()
    }
}

/// The stored hash indexes of the frontier of `size` records.
pub(crate) fn frontier_indexes(size: u64) -> Vec<u64> {
    asked(|n| Frontier::of_stored(size, n))
}

/// The indexes `f` reads that no known node answers.
fn asked<T>(f: impl Fn(&Nodes) -> Result<T, MerkleError>) -> Vec<u64> {
    let nodes = Nodes {
        known: HashMap::new(),
        asking: Some(Mutex::new(Vec::new())),
    };
    // Only the indexes matter here: the result over placeholders is discarded.
    let _ = f(&nodes);
    let mut out = nodes
        .asking
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_default();
    out.sort_unstable();
    out.dedup();
    out
}

/// The stored nodes under `indexes` (those stored; a missing one is absent).
async fn fetch(c: &Client, sql: &Sql, indexes: &[u64]) -> Result<HashMap<u64, Node>, StoreError> {
    if indexes.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = indexes
        .iter()
        .map(|i| to_i64(*i))
        .collect::<Result<Vec<_>, _>>()?;
    let stmt = c.prepare_cached(&sql.nodes_get).await.map_err(pg)?;
    let rows = c.query(&stmt, &[&ids]).await.map_err(pg)?;
    rows.iter().map(parse_node).collect()
}

/// One node read: (index, hash).
pub(crate) fn parse_node(row: &tokio_postgres::Row) -> Result<(u64, Node), StoreError> {
    let idx: i64 = row.try_get(0).map_err(pg)?;
    let hash: &[u8] = row.try_get(1).map_err(pg)?;
    let hash: [u8; navigo_merkle::HASH_SIZE] = hash
        .try_into()
        .map_err(|_| tree_error(format!("node {idx} is {} bytes long", hash.len())))?;
    Ok((to_u64(idx, 0, "tree node index")?, Node(hash)))
}

/// Runs `f` over the stored nodes it reads, read in one query.
///
/// # Errors
/// A storage failure, or what `f` returns (a node missing among them).
pub(crate) async fn read_with<T>(
    c: &Client,
    sql: &Sql,
    f: impl Fn(&Nodes) -> Result<T, MerkleError>,
) -> Result<T, StoreError> {
    let nodes = Nodes::from(fetch(c, sql, &asked(&f)).await?);
    f(&nodes).map_err(tree_error)
}

/// The nodes of the runs `rows` (first index, hashes) whose index is in
/// `[lo, hi]`.
///
/// # Errors
/// A storage failure, or a run whose length is not a whole number of hashes.
pub(crate) fn parse_runs(
    rows: &[tokio_postgres::Row],
    lo: u64,
    hi: u64,
) -> Result<HashMap<u64, Node>, StoreError> {
    let mut out = HashMap::new();
    for row in rows {
        let first: i64 = row.try_get(0).map_err(pg)?;
        let first = to_u64(first, 0, "tree run index")?;
        let hashes: &[u8] = row.try_get(1).map_err(pg)?;
        if hashes.len() % navigo_merkle::HASH_SIZE != 0 {
            let len = hashes.len();
            return Err(tree_error(format!(
                "the run from node {first} is {len} bytes long"
            )));
        }
        for (index, hash) in (first..).zip(hashes.chunks_exact(navigo_merkle::HASH_SIZE)) {
            if (lo..=hi).contains(&index) {
                let hash = hash.try_into().map_err(|_| tree_error("a short hash"))?;
                out.insert(index, Node(hash));
            }
        }
    }
    Ok(out)
}

/// How many records the stored tree covers: the largest size whose nodes are
/// all stored (nodes are written in index order, so where the last run ends
/// says).
///
/// # Errors
/// A storage failure.
pub(crate) async fn covered(c: &Client, sql: &Sql, head: u64) -> Result<u64, StoreError> {
    let stmt = c.prepare_cached(&sql.nodes_end).await.map_err(pg)?;
    let stored = match c.query_opt(&stmt, &[]).await.map_err(pg)? {
        None => 0,
        Some(row) => to_u64(row.try_get(0).map_err(pg)?, 0, "tree node index")?,
    };
    // The largest n ≤ head with stored_node_count(n) ≤ stored.
    let (mut lo, mut hi) = (0u64, head);
    while lo < hi {
        let mid = hi - (hi - lo) / 2;
        if navigo_merkle::stored_node_count(mid) <= stored {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// The nodes of a batch: one run of consecutive stored hash indexes, for one
/// row.
#[derive(Default)]
pub(crate) struct NodeRows {
    /// The index of the first node (0 while there is none).
    pub(crate) first: i64,
    /// The nodes' hashes, concatenated.
    pub(crate) hashes: Vec<u8>,
}

impl NodeRows {
    /// Adds the nodes of one record, which must follow those added before.
    pub(crate) fn push(&mut self, nodes: Vec<(u64, Node)>) -> Result<(), StoreError> {
        for (i, h) in nodes {
            let i = to_i64(i)?;
            if self.hashes.is_empty() {
                self.first = i;
            }
            let next = self.first + (self.hashes.len() / navigo_merkle::HASH_SIZE) as i64;
            if i != next {
                return Err(tree_error(format!("node {i} does not follow node {next}")));
            }
            self.hashes.extend_from_slice(&h.0);
        }
        Ok(())
    }

    /// Inserts the run (in the caller's transaction).
    pub(crate) async fn insert(&self, c: &Client, sql: &Sql) -> Result<(), StoreError> {
        if self.hashes.is_empty() {
            return Ok(());
        }
        let stmt = c.prepare_cached(&sql.nodes_insert).await.map_err(pg)?;
        c.execute(&stmt, &[&self.first, &self.hashes])
            .await
            .map_err(pg)?;
        Ok(())
    }
}

/// Inside the caller's transaction, which holds the head lock: computes and
/// stores the nodes of at most `records_max` records after the `covered`
/// first, from the records themselves. Returns the records now covered and the
/// frontier nodes there.
///
/// # Errors
/// A storage failure, or a record missing below `head`.
pub(crate) async fn catch_up_step(
    c: &Client,
    sql: &Sql,
    covered: u64,
    head: u64,
    records_max: u64,
) -> Result<(u64, Nodes), StoreError> {
    let mut nodes = Nodes::from(fetch(c, sql, &frontier_indexes(covered)).await?);
    let last = head.min(covered.saturating_add(records_max));
    let stmt = c.prepare_cached(&sql.read_range).await.map_err(pg)?;
    let rows = c
        .query(&stmt, &[&to_i64(covered + 1)?, &to_i64(last)?])
        .await
        .map_err(pg)?;
    let mut out = NodeRows::default();
    let mut next = covered;
    for row in &rows {
        let position: i64 = row.try_get(0).map_err(pg)?;
        if u64::try_from(position).ok() != Some(next + 1) {
            break;
        }
        let record: &[u8] = row.try_get(1).map_err(pg)?;
        out.push(nodes.append(next, leaf_of(record))?)?;
        next += 1;
    }
    if next < last {
        return Err(StoreError::Corrupt {
            position: next + 1,
            why: "record missing below the head".into(),
        });
    }
    out.insert(c, sql).await?;
    nodes.keep_frontier(next);
    Ok((next, nodes))
}

/// The frontier nodes of the first `head` records, computing (in the caller's
/// transaction, which holds the head lock) the nodes of any record the tree
/// does not cover yet: records appended by a build that did not keep it.
///
/// # Errors
/// A storage failure, or a record missing below `head`.
pub(crate) async fn frontier_at(c: &Client, sql: &Sql, head: u64) -> Result<Nodes, StoreError> {
    let mut done = covered(c, sql, head).await?;
    if done == head {
        return Ok(Nodes::from(fetch(c, sql, &frontier_indexes(head)).await?));
    }
    loop {
        let (now, nodes) = catch_up_step(c, sql, done, head, CATCH_UP_RECORDS_PER_BATCH).await?;
        done = now;
        if done == head {
            return Ok(nodes);
        }
    }
}

/// Computes the nodes of every record the tree does not cover, a batch of
/// [`CATCH_UP_RECORDS_PER_BATCH`] per transaction, each holding the head lock
/// so that no append interleaves.
///
/// # Errors
/// A storage failure, or a record missing below the head.
pub(crate) async fn catch_up(c: &Client, sql: &Sql) -> Result<(), StoreError> {
    loop {
        c.batch_execute("BEGIN").await.map_err(pg)?;
        let step = async {
            let stmt = c.prepare_cached(&sql.lock_head).await.map_err(pg)?;
            let head = crate::rows::parse_head(&c.query_one(&stmt, &[]).await.map_err(pg)?)?;
            let done = covered(c, sql, head.position).await?;
            if done < head.position {
                catch_up_step(c, sql, done, head.position, CATCH_UP_RECORDS_PER_BATCH).await?;
            }
            c.batch_execute("COMMIT").await.map_err(pg)?;
            Ok::<bool, StoreError>(done == head.position)
        }
        .await;
        match step {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => {
                // Ends the transaction before the connection goes back to its pool.
                let _ = c.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        }
    }
}

/// The map of every stream to its head as of the first `size` records.
///
/// # Errors
/// A storage failure or an unknown stream kind.
pub(crate) async fn stream_heads(
    c: &Client,
    sql: &Sql,
    size: u64,
) -> Result<StreamHeads, StoreError> {
    let stmt = c.prepare_cached(&sql.stream_heads).await.map_err(pg)?;
    let rows = c.query(&stmt, &[&to_i64(size)?]).await.map_err(pg)?;
    let mut heads = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: &str = row.try_get(0).map_err(pg)?;
        let id: Uuid = row.try_get(1).map_err(pg)?;
        let version: i64 = row.try_get(2).map_err(pg)?;
        let position: i64 = row.try_get(3).map_err(pg)?;
        let kind: StreamKind = parse_kind(kind).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            why: format!("unknown stream kind {kind:?}"),
        })?;
        heads.push(StreamHead {
            stream: StreamId::new(kind, id).to_string(),
            version: to_u64(version, 0, "stream version")?,
            last_position: to_u64(position, 0, "position")?,
        });
    }
    Ok(StreamHeads::new(heads))
}

/// Keeps `note` under the next number, in a transaction that locks the table
/// against another keeper (of any process); returns the number.
///
/// # Errors
/// A storage failure.
pub(crate) async fn keep_checkpoint(c: &Client, sql: &Sql, note: &[u8]) -> Result<u64, StoreError> {
    c.batch_execute("BEGIN").await.map_err(pg)?;
    let kept = async {
        c.batch_execute(&sql.checkpoints_lock).await.map_err(pg)?;
        let stmt = c.prepare_cached(&sql.checkpoint_insert).await.map_err(pg)?;
        let number: i64 = c.query_one(&stmt, &[&note]).await.map_err(pg)?.get(0);
        c.batch_execute("COMMIT").await.map_err(pg)?;
        to_u64(number, 0, "checkpoint number")
    }
    .await;
    if kept.is_err() {
        let _ = c.batch_execute("ROLLBACK").await;
    }
    kept
}

/// Every checkpoint kept, oldest first.
///
/// # Errors
/// A storage failure, or a number missing in the sequence.
pub(crate) async fn checkpoints(c: &Client, sql: &Sql) -> Result<Vec<Vec<u8>>, StoreError> {
    let stmt = c.prepare_cached(&sql.checkpoints_all).await.map_err(pg)?;
    let rows = c.query(&stmt, &[]).await.map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for (expected, row) in (1i64..).zip(&rows) {
        let number: i64 = row.try_get(0).map_err(pg)?;
        if number != expected {
            return Err(StoreError::Storage(format!(
                "the checkpoints: number {expected} is missing (found {number})"
            )));
        }
        out.push(row.try_get::<_, Vec<u8>>(1).map_err(pg)?);
    }
    Ok(out)
}
