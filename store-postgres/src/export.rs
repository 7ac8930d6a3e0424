//! The log read out for an export, as the sled store reads it: the frontier
//! of the stored Merkle tree before a window, and the window's records in
//! position order, each checked as it is read (its stored hash, its position,
//! its link to the record before it, its leaf in the stored tree), so that a
//! binary writes the same export lines from either backend.

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::Hash;
use navigo_merkle::{Frontier, HashReader, MerkleError};
use navigo_store::check::{check_hash, exported_record, gap};
pub use navigo_store::ExportedRecord;
use navigo_store::StoreError;

use crate::error::{pg, pool, to_i64, to_u64};
use crate::merkle::{self, Nodes};
use crate::PgStore;

/// Records one [`PgStore::export_chunk`] reads at most.
pub const EXPORT_CHUNK_RECORDS: u64 = 1_024;

impl PgStore {
    /// The frontier of the stored Merkle tree of the first `size` records.
    ///
    /// # Errors
    /// A size beyond the head, or a node that cannot be read.
    pub async fn tree_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        self.within_head(size).await?;
        let conn = self.read.get().await.map_err(pool)?;
        merkle::read_with(&conn, &self.sql, |n| Frontier::of_stored(size, n)).await
    }

    /// The hash of the record at `position` (the genesis hash for 0), its
    /// hash checked: what the first record of a window starting after it
    /// links to.
    ///
    /// # Errors
    /// The record is missing or does not verify; a storage failure.
    pub async fn hash_at(&self, position: u64) -> Result<Hash, StoreError> {
        if position == 0 {
            return Ok(Hash::GENESIS);
        }
        let conn = self.read.get().await.map_err(pool)?;
        let stmt = conn.prepare_cached(&self.sql.record_at).await.map_err(pg)?;
        let row = conn
            .query_opt(&stmt, &[&to_i64(position)?])
            .await
            .map_err(pg)?
            .ok_or_else(|| gap(position))?;
        let record: &[u8] = row.try_get(0).map_err(pg)?;
        check_hash(position, record)?;
        claimed(position, record)
    }

    /// The records of positions `from..` (at most [`EXPORT_CHUNK_RECORDS`],
    /// none after `to`), each checked; `prev` is the hash the first must link
    /// to. The first record that does not check is the error, naming its
    /// position.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a missing or bad record or leaf; a window
    /// beyond the head; a storage failure.
    pub async fn export_chunk(
        &self,
        prev: Hash,
        from: u64,
        to: u64,
    ) -> Result<Vec<ExportedRecord>, StoreError> {
        if from == 0 {
            return Err(StoreError::Storage("positions start at 1".into()));
        }
        self.within_head(to).await?;
        if from > to {
            return Ok(Vec::new());
        }
        let last = from.saturating_add(EXPORT_CHUNK_RECORDS - 1).min(to);
        let conn = self.read.get().await.map_err(pool)?;
        let stmt = conn
            .prepare_cached(&self.sql.read_range)
            .await
            .map_err(pg)?;
        let rows = conn
            .query(&stmt, &[&to_i64(from)?, &to_i64(last)?])
            .await
            .map_err(pg)?;
        let leaves: Vec<u64> = (from..=last)
            .map(|p| navigo_merkle::stored_leaf_index(p - 1))
            .collect();
        let stored = merkle::read_with(&conn, &self.sql, |n: &Nodes| {
            n.read_hashes(&leaves)
                .map_err(|e| MerkleError::Storage(e.to_string()))
        })
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut prev = prev;
        for ((row, position), leaf) in rows.iter().zip(from..).zip(stored) {
            let at: i64 = row.try_get(0).map_err(pg)?;
            if to_u64(at, position, "position")? != position {
                return Err(gap(position));
            }
            let record: &[u8] = row.try_get(1).map_err(pg)?;
            let r = checked(position, prev, record, leaf)?;
            prev = r.hash;
            out.push(r);
        }
        if out.len() as u64 != last - from + 1 {
            return Err(gap(from + out.len() as u64));
        }
        Ok(out)
    }
}

/// The hash a stored record claims (its first bytes).
fn claimed(position: u64, record: &[u8]) -> Result<Hash, StoreError> {
    record
        .get(..HASH_LEN)
        .and_then(|h| <[u8; HASH_LEN]>::try_from(h).ok())
        .map(Hash)
        .ok_or_else(|| StoreError::Corrupt {
            position,
            why: "record shorter than its hash".into(),
        })
}

/// One record of an export, checked: its hash, its position, its link to
/// `prev`, and its stored Merkle leaf.
fn checked(
    position: u64,
    prev: Hash,
    record: &[u8],
    stored_leaf: navigo_merkle::Hash,
) -> Result<ExportedRecord, StoreError> {
    check_hash(position, record)?;
    let hash = claimed(position, record)?;
    exported_record(position, prev, hash, record.to_vec(), stored_leaf)
}
