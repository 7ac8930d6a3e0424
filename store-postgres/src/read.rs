//! Reading: every record read is checked on the way out (its hash, its
//! position, its stream and sequence, its link to the previous record in
//! `read_all`), with the checks and errors every backend shares
//! (`navigo_store::check`), so that corruption surfaces as a clear
//! [`StoreError::Corrupt`] naming its position instead of a wrong projection.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::sync::Arc;

use deadpool_postgres::Pool;
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{Envelope, Hash, StreamId};
use navigo_store::check::{check_link, check_record, gap};
use navigo_store::{EnvelopeStream, StoreError};

use crate::error::{pg, pool, to_i64, to_u64};
use crate::schema::Sql;

/// Records fetched per query of the `read_all` stream once its buffer is empty.
pub const READ_ALL_CHUNK_RECORDS: u64 = 1_024;

/// A stream's events whose sequence is in `range`, in order, each checked: its
/// hash, its position, and that it is the stream's next event.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the first bad record's position; a storage
/// failure.
pub(crate) async fn read_stream(
    pool: &Pool,
    sql: &Sql,
    stream: StreamId,
    range: RangeInclusive<u64>,
) -> Result<Vec<Envelope>, StoreError> {
    let bigint_max = i64::MAX.unsigned_abs();
    let (start, end) = ((*range.start()).max(1), (*range.end()).min(bigint_max));
    if start > end {
        return Ok(Vec::new());
    }
    let conn = pool.get().await.map_err(crate::error::pool)?;
    let stmt = conn.prepare_cached(&sql.read_stream).await.map_err(pg)?;
    let (from, to) = (to_i64(start)?, to_i64(end)?);
    let rows = conn
        .query(&stmt, &[&stream.kind.as_str(), &stream.id, &from, &to])
        .await
        .map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for (expected_seq, row) in (start..).zip(rows) {
        let position: i64 = row.try_get(0).map_err(pg)?;
        let position = to_u64(position, 0, "position")?;
        let seq: i64 = row.try_get(1).map_err(pg)?;
        let bytes: &[u8] = row.try_get(2).map_err(pg)?;
        let env = check_record(position, bytes)?;
        let seq_ok = u64::try_from(seq).is_ok_and(|s| s == expected_seq);
        if env.stream != stream || env.stream_seq != expected_seq || !seq_ok {
            return Err(StoreError::Corrupt {
                position,
                why: format!(
                    "indexed as {stream} seq {expected_seq} but the record is {} seq {}",
                    env.stream, env.stream_seq
                ),
            });
        }
        out.push(env);
    }
    Ok(out)
}

/// The hash a stored record claims (its first 32 bytes).
fn claimed_hash(position: u64, bytes: &[u8]) -> Result<Hash, StoreError> {
    let prefix: [u8; HASH_LEN] = bytes
        .get(..HASH_LEN)
        .filter(|_| bytes.len() > HASH_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            position,
            why: format!("record truncated to {} bytes", bytes.len()),
        })?;
    Ok(Hash(prefix))
}

/// The state of a `read_all` stream between polls.
struct ReadAll {
    pool: Pool,
    sql: Arc<Sql>,
    /// The next position to return.
    next: u64,
    /// The head when the stream was first polled: the stream ends there (a
    /// follower calls `read_all` again from where it stopped).
    end: Option<u64>,
    /// The hash the next record must link to, once known.
    prev: Option<Hash>,
    buf: VecDeque<Result<Envelope, StoreError>>,
    done: bool,
}

impl ReadAll {
    /// Fills the buffer with the next chunk, up to and including its first
    /// error; sets `done` at the end or on error.
    async fn fill(&mut self) {
        if let Err(e) = self.try_fill().await {
            self.buf.push_back(Err(e));
            self.done = true;
        }
    }

    async fn try_fill(&mut self) -> Result<(), StoreError> {
        let conn = self.pool.get().await.map_err(pool)?;
        let end = match self.end {
            Some(end) => end,
            None => {
                let head = crate::durable::durable_head(&conn, &self.sql).await?;
                self.end = Some(head.position);
                head.position
            }
        };
        if self.next > end {
            self.done = true;
            return Ok(());
        }
        if self.prev.is_none() {
            self.prev = Some(if self.next <= 1 {
                Hash::GENESIS
            } else {
                let before = self.next - 1;
                let stmt = conn.prepare_cached(&self.sql.record_at).await.map_err(pg)?;
                let row = conn
                    .query_opt(&stmt, &[&to_i64(before)?])
                    .await
                    .map_err(pg)?
                    .ok_or_else(|| gap(before))?;
                claimed_hash(before, row.try_get(0).map_err(pg)?)?
            });
        }
        let last = self
            .next
            .saturating_add(READ_ALL_CHUNK_RECORDS - 1)
            .min(end);
        let stmt = conn
            .prepare_cached(&self.sql.read_range)
            .await
            .map_err(pg)?;
        let rows = conn
            .query(&stmt, &[&to_i64(self.next)?, &to_i64(last)?])
            .await
            .map_err(pg)?;
        drop(conn);
        for row in rows {
            let position: i64 = row.try_get(0).map_err(pg)?;
            if u64::try_from(position).ok() != Some(self.next) {
                return Err(gap(self.next));
            }
            let env = check_record(self.next, row.try_get(1).map_err(pg)?)?;
            check_link(self.prev, &env)?;
            self.prev = Some(env.hash);
            self.next += 1;
            self.buf.push_back(Ok(env));
        }
        if self.next <= last {
            // The range ended early: the records up to the head must exist.
            return Err(gap(self.next));
        }
        Ok(())
    }
}

/// Every event from `from` through the durable head as it is when the stream
/// is first polled, in position order, each checked and linked to the one before.
pub(crate) fn read_all(pool: Pool, sql: Arc<Sql>, from: u64) -> EnvelopeStream<'static> {
    let state = ReadAll {
        pool,
        sql,
        next: from.max(1),
        end: None,
        prev: None,
        buf: VecDeque::new(),
        done: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.buf.is_empty() && !st.done {
            st.fill().await;
        }
        let item = st.buf.pop_front()?;
        Some((item, st))
    }))
}
