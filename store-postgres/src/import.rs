//! Records another store sealed, stored as they are
//! ([`navigo_store::EventStore::import_sealed`], what `migrate` copies a log
//! with): one transaction that locks the head row first, as the writer's
//! does, so that an import and appends of any process are serialised; the
//! records are checked and chained by [`navigo_store::sealed`], as the sled
//! store checks them, and inserted with their stream sequences, the
//! idempotency entries rebuilt from them and the Merkle tree's nodes.
//!
//! Holding the head lock, the import gives up waiting for a row another
//! transaction holds (see
//! [`ROW_WAIT_UNDER_LOCK_MS`](crate::schema::ROW_WAIT_UNDER_LOCK_MS)), as the
//! writer's appends judged under the lock do, and is made again: that row is
//! a live append's, inserted ahead of the head lock this import holds, and
//! waiting for it would last until the server broke the deadlock.

use deadpool_postgres::Object;
use navigo_store::sealed::{self, SealedBatch};
use navigo_store::{Head, StoreError};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::error::{pg, to_i64};
use crate::merkle::frontier_at;
use crate::rows::parse_head;
use crate::schema::Sql;
use crate::writer::{
    commit_error, lock_wait_failed, parse_keys, parse_versions, tree_rows, try_write_rows, Rows,
    Slow, SLOW_ATTEMPTS_MAX,
};

/// Stores `records` after the head in one transaction on `conn`, or nothing;
/// a transaction that gave up a row's wait is made again, up to
/// [`SLOW_ATTEMPTS_MAX`] times.
///
/// # Errors
/// As [`navigo_store::EventStore::import_sealed`].
pub(crate) async fn import(
    conn: &Object,
    sql: &Sql,
    records: Vec<Vec<u8>>,
) -> Result<Head, StoreError> {
    let mut attempt = 1;
    loop {
        match import_once(conn, sql, records.clone()).await {
            Ok(head) => return Ok(head),
            Err(Slow::Again(_)) if attempt < SLOW_ATTEMPTS_MAX => attempt += 1,
            Err(Slow::Again(e)) => return Err(commit_error(e)),
            Err(Slow::Failed(e)) => return Err(e),
        }
    }
}

/// One attempt of [`import`].
async fn import_once(conn: &Object, sql: &Sql, records: Vec<Vec<u8>>) -> Result<Head, Slow> {
    conn.batch_execute("BEGIN").await.map_err(pg)?;
    let done = async {
        let checked = check(conn, sql, records).await?;
        let mut rows = Rows::default();
        for r in &checked.records {
            let (position, seq) = (to_i64(r.position)?, to_i64(r.stream_seq)?);
            rows.push_record(position, r.stream, seq, r.record.clone());
        }
        for k in &checked.keys {
            let count = i32::try_from(k.count)
                .map_err(|_| StoreError::Storage(format!("{} events in one append", k.count)))?;
            rows.push_key(k.key.clone(), k.digest, to_i64(k.first)?, count);
        }
        let first = checked.records.first().map_or(0, |r| r.position - 1);
        let mut nodes = frontier_at(conn, sql, first).await?;
        let tree = tree_rows(&mut nodes, &rows)?;
        to_i64(checked.head.position)?;
        match try_write_rows(conn, sql, &rows, &tree, &checked.head).await {
            Ok(()) => Ok(checked.head),
            Err(e) if lock_wait_failed(&e) => Err(Slow::Again(e)),
            Err(e) => Err(Slow::Failed(commit_error(e))),
        }
    }
    .await;
    if done.is_err() {
        // Ends the transaction before the connection goes back to its pool.
        let _ = conn.batch_execute("ROLLBACK").await;
    }
    done
}

/// Locks the head and checks the records against it, the versions of their
/// streams and the keys already held.
async fn check(conn: &Object, sql: &Sql, records: Vec<Vec<u8>>) -> Result<SealedBatch, StoreError> {
    let lock_head = conn.prepare_cached(&sql.lock_head).await.map_err(pg)?;
    let head = parse_head(&conn.query_one(&lock_head, &[]).await.map_err(pg)?)?;
    conn.batch_execute(&sql.row_wait_under_lock)
        .await
        .map_err(pg)?;
    let parsed = sealed::parse(head.position, records)?;
    let streams = sealed::streams(&parsed);
    let kinds: Vec<&str> = streams.iter().map(|s| s.kind.as_str()).collect();
    let ids: Vec<Uuid> = streams.iter().map(|s| s.id).collect();
    let stmt = conn.prepare_cached(&sql.versions).await.map_err(pg)?;
    let params: [&(dyn ToSql + Sync); 2] = [&kinds, &ids];
    let versions = parse_versions(&conn.query(&stmt, &params).await.map_err(pg)?)?;
    let checked = sealed::chain(&head, parsed, &versions)?;
    let keys: Vec<&str> = checked.keys.iter().map(|k| k.key.as_str()).collect();
    let stmt = conn.prepare_cached(&sql.keys).await.map_err(pg)?;
    let held = parse_keys(&conn.query(&stmt, &[&keys]).await.map_err(pg)?)?;
    if let Some(k) = checked.keys.iter().find(|k| held.contains_key(&k.key)) {
        return Err(sealed::key_held(k, held[&k.key].first));
    }
    Ok(checked)
}
