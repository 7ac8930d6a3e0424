//! The reads and writes the ledger makes beside the log: idempotency keys by
//! prefix (the keys of one command) and derived data (its snapshots), both in
//! tables of `migrations/0002_derived.sql`.

use deadpool_postgres::Pool;
use navigo_store::StoreError;

use crate::error::{pg, pool, to_i64, to_u64};
use crate::schema::Sql;

/// Bytes of one chunk of a derived blob: a row small enough for the driver to
/// send and the server to keep inline without strain.
pub const DERIVED_CHUNK_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The least string greater than every string that starts with `prefix`, in
/// byte order; `None` when there is none (an empty prefix, or one made only
/// of the last code point). UTF-8 orders strings by code point, so the bound
/// is the prefix with its last code point replaced by the next one (dropping
/// trailing code points that have no next one).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            // The surrogates are no code points of a string: the next is past them.
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The idempotency keys that start with `prefix`, in byte order, each with its
/// positions; at most `keys_max`.
///
/// # Errors
/// A storage failure; an entry with negative numbers is corruption.
pub(crate) async fn keys_with_prefix(
    read: &Pool,
    sql: &Sql,
    prefix: &str,
    keys_max: usize,
) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
    let conn = read.get().await.map_err(pool)?;
    let limit = to_i64(
        u64::try_from(keys_max)
            .unwrap_or(u64::MAX)
            .min(i64::MAX as u64),
    )?;
    let rows = match prefix_upper_bound(prefix) {
        Some(upper) => {
            let stmt = conn.prepare_cached(&sql.keys_between).await.map_err(pg)?;
            conn.query(&stmt, &[&prefix, &upper, &limit]).await
        }
        None => {
            let stmt = conn.prepare_cached(&sql.keys_from).await.map_err(pg)?;
            conn.query(&stmt, &[&prefix, &limit]).await
        }
    }
    .map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get(0).map_err(pg)?;
        let first: i64 = row.try_get(1).map_err(pg)?;
        let count: i32 = row.try_get(2).map_err(pg)?;
        let first = to_u64(first, 0, "first position")?;
        let count = to_u64(i64::from(count), first, "event count")?;
        out.push((key, (first..first + count).collect()));
    }
    Ok(out)
}

/// The derived blob stored under `name`, or `None` (none stored, or chunks
/// not numbered 0, 1, ... : the reader then rebuilds what it stood for).
///
/// # Errors
/// A storage failure.
pub(crate) async fn read(
    read: &Pool,
    sql: &Sql,
    name: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let conn = read.get().await.map_err(pool)?;
    let stmt = conn.prepare_cached(&sql.derived_chunks).await.map_err(pg)?;
    let rows = conn.query(&stmt, &[&name]).await.map_err(pg)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (expected, row) in (0i32..).zip(rows) {
        let chunk: i32 = row.try_get(0).map_err(pg)?;
        if chunk != expected {
            return Ok(None);
        }
        out.extend_from_slice(row.try_get::<_, &[u8]>(1).map_err(pg)?);
    }
    Ok(Some(out))
}

/// Replaces the derived blob stored under `name` in one transaction, durable
/// when it returns (the pools commit synchronously).
///
/// # Errors
/// A storage failure; nothing is replaced then.
pub(crate) async fn write(
    read: &Pool,
    sql: &Sql,
    name: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let chunks: Vec<&[u8]> = bytes.chunks(DERIVED_CHUNK_BYTES_MAX).collect();
    let numbers = (0..chunks.len())
        .map(i32::try_from)
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|_| StoreError::Storage(format!("derived data {name} is too large")))?;
    let mut conn = read.get().await.map_err(pool)?;
    let tx = conn.transaction().await.map_err(pg)?;
    let delete = tx.prepare_cached(&sql.derived_delete).await.map_err(pg)?;
    tx.execute(&delete, &[&name]).await.map_err(pg)?;
    let insert = tx.prepare_cached(&sql.derived_insert).await.map_err(pg)?;
    tx.execute(&insert, &[&name, &numbers, &chunks])
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)
}

/// The least byte string greater than every one that starts with `prefix`, or
/// `None` (empty, or only 0xFF bytes: no upper bound).
fn bytes_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The entries of a keyed space under `keys`, in the order asked.
///
/// # Errors
/// A storage failure.
pub(crate) async fn read_entries(
    read: &Pool,
    sql: &Sql,
    space: &str,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
    let conn = read.get().await.map_err(pool)?;
    let stmt = conn.prepare_cached(&sql.entries_get).await.map_err(pg)?;
    let rows = conn.query(&stmt, &[&space, &keys]).await.map_err(pg)?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let k: Vec<u8> = row.try_get(0).map_err(pg)?;
        let v: Vec<u8> = row.try_get(1).map_err(pg)?;
        found.insert(k, v);
    }
    Ok(keys.iter().map(|k| found.remove(k)).collect())
}

/// The entries of a keyed space whose key starts with `prefix`, in key order.
///
/// # Errors
/// A storage failure.
pub(crate) async fn scan_entries(
    read: &Pool,
    sql: &Sql,
    space: &str,
    prefix: &[u8],
) -> Result<navigo_store::DerivedEntries, StoreError> {
    let conn = read.get().await.map_err(pool)?;
    let rows = match bytes_upper_bound(prefix) {
        Some(upper) => {
            let stmt = conn
                .prepare_cached(&sql.entries_between)
                .await
                .map_err(pg)?;
            conn.query(&stmt, &[&space, &prefix, &upper]).await
        }
        None => {
            let stmt = conn.prepare_cached(&sql.entries_from).await.map_err(pg)?;
            conn.query(&stmt, &[&space, &prefix]).await
        }
    }
    .map_err(pg)?;
    rows.into_iter()
        .map(|row| Ok((row.try_get(0).map_err(pg)?, row.try_get(1).map_err(pg)?)))
        .collect()
}

/// Applies a keyed batch in one transaction, durable when it returns.
///
/// # Errors
/// A storage failure; nothing of the batch is applied then.
pub(crate) async fn write_entries(
    read: &Pool,
    sql: &Sql,
    space: &str,
    batch: &navigo_store::DerivedBatch,
) -> Result<(), StoreError> {
    let (mut keys, mut values, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in &batch.entries {
        match v {
            Some(v) => {
                keys.push(k.as_slice());
                values.push(v.as_slice());
            }
            None => removed.push(k.as_slice()),
        }
    }
    let mut conn = read.get().await.map_err(pool)?;
    let tx = conn.transaction().await.map_err(pg)?;
    if batch.clear {
        let clear = tx.prepare_cached(&sql.entries_clear).await.map_err(pg)?;
        tx.execute(&clear, &[&space]).await.map_err(pg)?;
    }
    if !removed.is_empty() {
        let delete = tx.prepare_cached(&sql.entries_delete).await.map_err(pg)?;
        tx.execute(&delete, &[&space, &removed]).await.map_err(pg)?;
    }
    if !keys.is_empty() {
        let upsert = tx.prepare_cached(&sql.entries_upsert).await.map_err(pg)?;
        tx.execute(&upsert, &[&space, &keys, &values])
            .await
            .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)
}

#[cfg(test)]
mod tests {
    use super::{bytes_upper_bound, prefix_upper_bound};

    #[test]
    fn a_byte_prefix_range_ends_at_the_next_byte_string() {
        assert_eq!(bytes_upper_bound(b"c\x01"), Some(b"c\x02".to_vec()));
        assert_eq!(bytes_upper_bound(b"c\xff"), Some(b"d".to_vec()));
        assert_eq!(bytes_upper_bound(b"\xff\xff"), None);
        assert_eq!(bytes_upper_bound(b""), None);
    }

    #[test]
    fn a_prefix_range_ends_at_the_next_code_point() {
        assert_eq!(prefix_upper_bound("k#").as_deref(), Some("k$"));
        assert_eq!(prefix_upper_bound("cmdé").as_deref(), Some("cmdê"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
    }
}
