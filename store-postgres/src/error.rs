//! How the driver's and the pool's failures become [`StoreError`]s, and the
//! conversions between the log's `u64` numbers and PostgreSQL's `bigint`.

use navigo_store::StoreError;

/// A failure of the database or of the connection to it.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Storage(format!(
            "PostgreSQL {}: {}{}",
            db.code().code(),
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        )),
        None => StoreError::Storage(format!("PostgreSQL: {e}")),
    }
}

/// A connection that could not be had from a pool.
pub(crate) fn pool(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Storage(format!("PostgreSQL connection: {e}"))
}

/// A schema that is not a ledger (of this version).
pub(crate) fn not_a_ledger(schema: &str, why: impl Into<String>) -> StoreError {
    StoreError::NotALedger {
        path: format!("PostgreSQL schema {schema}"),
        why: why.into(),
    }
}

/// A position, sequence or count as PostgreSQL stores it (`bigint`).
pub(crate) fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Storage(format!("{n} does not fit a bigint")))
}

/// A stored `bigint` that must be a position, sequence or count; a negative
/// one is corruption at `position`.
pub(crate) fn to_u64(n: i64, position: u64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        position,
        why: format!("negative {what} {n}"),
    })
}
