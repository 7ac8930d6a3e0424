//! The durable head: how append commits share flushes, and how readers never
//! see a record that a crash could still take back.
//!
//! An append transaction commits with `synchronous_commit = off`: its commit
//! is in the write-ahead log and visible, and its head lock released, but it
//! is not flushed yet, so that the next transaction takes the head lock at
//! once instead of after that flush. In the same round trip the writer sends
//! [`Sql::settle`](crate::schema::Sql), which moves the `durable` row to the
//! head in a transaction committed with `synchronous_commit = on`: its flush
//! covers every commit before it (the log is written ahead in one sequence),
//! and the append is answered only once it returns. Settles of transactions
//! committed meanwhile wait for that one's row lock, then find the row moved
//! past them already and return without a flush of their own: one flush
//! answers every transaction committed before it, as PostgreSQL's own group
//! commit does for independent transactions.
//!
//! A crash of the server loses a suffix of the commits (those after the last
//! flush), never one in the middle, and never one answered. Readers read up
//! to the durable head ([`durable_head`]), so that no follower sees a record
//! that a crash then replaces by another at its position.

use deadpool_postgres::ClientWrapper;
use navigo_store::{Head, StoreError};

use crate::error::pg;
use crate::rows::parse_head;
use crate::schema::Sql;

/// Moves the durable head to the head when it is behind, in a transaction of
/// its own committed durably (the connection's `synchronous_commit = on`),
/// and returns the durable head.
///
/// # Errors
/// A storage failure; a malformed row.
pub(crate) async fn settle(c: &ClientWrapper, sql: &Sql) -> Result<Head, StoreError> {
    let stmt = c.prepare_cached(&sql.settle).await.map_err(pg)?;
    if let Some(row) = c.query_opt(&stmt, &[]).await.map_err(pg)? {
        return parse_head(&row);
    }
    // Not behind: the row read is visible, so committed durably, and covers
    // every commit before it.
    let stmt = c.prepare_cached(&sql.durable).await.map_err(pg)?;
    parse_head(&c.query_one(&stmt, &[]).await.map_err(pg)?)
}

/// The head a reader reads up to: the durable head, moved to the head first
/// when it is behind it. It is behind while a writer's flush is under way
/// (a few milliseconds), or for good when a writer died between a commit and
/// its settle: a reader that waited for the writer would then wait for ever.
///
/// # Errors
/// A storage failure; a malformed row.
pub(crate) async fn durable_head(c: &ClientWrapper, sql: &Sql) -> Result<Head, StoreError> {
    let stmt = c.prepare_cached(&sql.durable).await.map_err(pg)?;
    let row = c.query_one(&stmt, &[]).await.map_err(pg)?;
    let durable = parse_head(&row)?;
    let head: i64 = row.try_get(3).map_err(pg)?;
    if u64::try_from(head).is_ok_and(|h| h <= durable.position) {
        return Ok(durable);
    }
    settle(c, sql).await
}
