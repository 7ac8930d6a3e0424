//! The ledger's tables in PostgreSQL: versioned migrations (`migrations/` in
//! the crate, applied by [`migrate`]), the check that a schema holds a ledger
//! of the version this build reads ([`check_version`]), and the text of every
//! statement the store runs, qualified by the ledger's schema ([`Sql`]).
//!
//! The layout (`migrations/0001_log.sql`, documented in the crate's README):
//! `events` (one row per event: position, stream kind and id, stream sequence,
//! the canonical record as bytea), `head` (one row: the last position, hash and
//! recorded-at instant, locked by every append transaction), `idempotency`
//! (key, content digest, first position, event count) and `schema_migrations`
//! (the versions applied). `migrations/0002_derived.sql` adds `derived` (the
//! ledger's snapshots, in chunks, outside the hash chain) and an index ordering
//! idempotency keys by their bytes, for prefix reads;
//! `migrations/0003_derived_entries.sql` adds `derived_entries` (keyed derived
//! data: the ledger's folded states, one row each); `migrations/0004_merkle.sql`
//! adds `tree_nodes` (the Merkle tree over the log, by stored hash index) and
//! `checkpoints` (the signed checkpoints kept, append-only);
//! `migrations/0005_tree_runs.sql` replaces `tree_nodes` by `tree_runs` (the
//! nodes one append writes, in one row), moving a version 4 ledger's nodes;
//! `migrations/0006_durable.sql` adds `durable` (a row per slot; the one of
//! the largest position is the head up to which every commit is known
//! flushed, which readers read up to).

use tokio_postgres::GenericClient;

use navigo_store::StoreError;

use crate::error::{not_a_ledger, pg};

/// The migrations, in order: version, name, SQL. A version once released is
/// never edited: a change of layout is a new migration.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "log", include_str!("../migrations/0001_log.sql")),
    (2, "derived", include_str!("../migrations/0002_derived.sql")),
    (
        3,
        "derived_entries",
        include_str!("../migrations/0003_derived_entries.sql"),
    ),
    (4, "merkle", include_str!("../migrations/0004_merkle.sql")),
    (
        5,
        "tree_runs",
        include_str!("../migrations/0005_tree_runs.sql"),
    ),
    (6, "durable", include_str!("../migrations/0006_durable.sql")),
];

/// The version this build reads and writes.
pub const VERSION: i32 = 6;

/// Longest schema name PostgreSQL keeps whole (`NAMEDATALEN - 1`).
pub const SCHEMA_NAME_BYTES_MAX: usize = 63;

/// Checks that `name` is a plain lower-case identifier (letters, digits,
/// underscores, not starting with a digit, at most [`SCHEMA_NAME_BYTES_MAX`]
/// bytes), so that it can be written into statements without quoting rules.
///
/// # Errors
/// A message saying what a schema name may be.
pub fn check_schema_name(name: &str) -> Result<(), String> {
    let ok_first = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let ok_rest = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok_first || !ok_rest || name.len() > SCHEMA_NAME_BYTES_MAX {
        return Err(format!(
            "schema name {name:?}: lower-case letters, digits and underscores, \
             not starting with a digit, at most {SCHEMA_NAME_BYTES_MAX} bytes"
        ));
    }
    Ok(())
}

/// Whether the schema exists, whether it holds relations, and the latest
/// migration applied (none without a `schema_migrations` table).
async fn survey<C: GenericClient>(
    c: &C,
    schema: &str,
) -> Result<(bool, bool, Option<i32>), StoreError> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), \
                    EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                            WHERE n.nspname = $1), \
                    EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                            WHERE n.nspname = $1 AND c.relname = 'schema_migrations')",
            &[&schema],
        )
        .await
        .map_err(pg)?;
    let (exists, holds, marked): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !marked {
        return Ok((exists, holds, None));
    }
    let sql = format!("SELECT max(version) FROM \"{schema}\".schema_migrations");
    let version: Option<i32> = c.query_one(&sql, &[]).await.map_err(pg)?.get(0);
    Ok((exists, holds, version))
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrated {
    /// The schema was created (or was empty) and every migration applied.
    Created,
    /// The schema held a ledger; the migrations it lacked (maybe none) were
    /// applied.
    AlreadyLedger,
}

/// Creates the ledger in `schema`, or brings an older one to [`VERSION`],
/// inside the caller's transaction `c`. Serialised with any other `init` of
/// the same database by a transaction-scoped advisory lock.
///
/// # Errors
/// [`StoreError::NotALedger`] when the schema holds relations but no ledger
/// (nothing is written into it) or a ledger newer than this build; a storage
/// failure.
pub async fn migrate<C: GenericClient>(c: &C, schema: &str) -> Result<Migrated, StoreError> {
    // Two processes initialising the same database at once take turns here.
    c.execute("SELECT pg_advisory_xact_lock(7011004210000001)", &[])
        .await
        .map_err(pg)?;
    let (exists, holds, version) = survey(c, schema).await?;
    if version.is_none() && holds {
        return Err(not_a_ledger(
            schema,
            "the schema holds tables but no schema_migrations: refusing to write into it",
        ));
    }
    if version.is_some_and(|v| v > VERSION) {
        return Err(not_a_ledger(
            schema,
            format!(
                "store format version {} is newer than this build's {VERSION}",
                version.unwrap_or_default()
            ),
        ));
    }
    if !exists {
        let sql = format!("CREATE SCHEMA \"{schema}\"");
        c.batch_execute(&sql).await.map_err(pg)?;
    }
    let sql = format!(
        "SET LOCAL search_path TO \"{schema}\"; \
         CREATE TABLE IF NOT EXISTS schema_migrations ( \
             version integer PRIMARY KEY, \
             name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())"
    );
    c.batch_execute(&sql).await.map_err(pg)?;
    let from = version.unwrap_or(0);
    for (v, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > from) {
        c.batch_execute(sql).await.map_err(pg)?;
        c.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[v, name],
        )
        .await
        .map_err(pg)?;
    }
    Ok(match version {
        None => Migrated::Created,
        Some(_) => Migrated::AlreadyLedger,
    })
}

/// Checks, without writing anything, that `schema` holds a ledger of
/// [`VERSION`].
///
/// # Errors
/// [`StoreError::NotALedger`] saying what to do (create or upgrade it with
/// `init`), or a storage failure.
pub async fn check_version<C: GenericClient>(c: &C, schema: &str) -> Result<(), StoreError> {
    match survey(c, schema).await? {
        (false, _, _) => Err(not_a_ledger(
            schema,
            "no such schema (create a ledger with `PgStore::init`)",
        )),
        (true, _, None) => Err(not_a_ledger(
            schema,
            "no schema_migrations table (create a ledger with `PgStore::init`)",
        )),
        (true, _, Some(v)) if v < VERSION => Err(not_a_ledger(
            schema,
            format!(
                "store format version {v}, older than {VERSION}: upgrade it with `PgStore::init`"
            ),
        )),
        (true, _, Some(v)) if v > VERSION => Err(not_a_ledger(
            schema,
            format!("store format version {v} is newer than this build's {VERSION}"),
        )),
        (true, _, Some(_)) => Ok(()),
    }
}

/// How long a transaction holding the head lock waits for the lock of a row
/// another transaction inserted, in milliseconds, before giving up (and
/// being made again). Such a transaction inserted its rows before asking for
/// the head lock (a one-round-trip append of another process): it waits for
/// the head lock this one holds, so the wait would end only when the server
/// breaks the deadlock, a second later.
pub const ROW_WAIT_UNDER_LOCK_MS: u32 = 50;

/// Rows of the `durable` table (`migrations/0006_durable.sql`): connections
/// settling at the same time move different rows, so that none waits for
/// another's flush to end before its own starts.
pub const DURABLE_SLOTS: u32 = 64;

/// The statements of a store, qualified by its schema once at open.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    /// Locks the head and reads it: position, hash, recorded-at.
    pub(crate) lock_head: String,
    /// Bounds, for the rest of the transaction, the waits for other
    /// transactions' row locks (see [`ROW_WAIT_UNDER_LOCK_MS`]).
    pub(crate) row_wait_under_lock: String,
    /// Reads the head without locking it.
    pub(crate) head: String,
    /// Reads the durable head (the row of the largest position) and the
    /// head's position: position, hash, recorded-at, head position.
    pub(crate) durable: String,
    /// Moves the durable head to the head when it is behind, in the row of
    /// the connection's slot, returning it (no row when it was not behind).
    /// Committed durably, it flushes every commit before it.
    pub(crate) settle: String,
    /// The name the ledger's command lock is keyed by (`commands`).
    pub(crate) command_lock_key: String,
    /// The versions of streams given as two arrays (kinds, ids).
    pub(crate) versions: String,
    /// The idempotency entries of the keys given as an array.
    pub(crate) keys: String,
    /// Inserts events given as five arrays.
    pub(crate) insert_events: String,
    /// Inserts idempotency entries given as four arrays.
    pub(crate) insert_keys: String,
    /// Moves the head.
    pub(crate) update_head: String,
    /// A stream's records whose sequence is in a range, in order.
    pub(crate) read_stream: String,
    /// A stream's version.
    pub(crate) stream_version: String,
    /// Records whose position is in a range, in order.
    pub(crate) read_range: String,
    /// One record by position.
    pub(crate) record_at: String,
    /// The position of the row holding a stream's sequence.
    pub(crate) position_of: String,
    /// Whole rows after a position, in order, a chunk at a time (`verify`).
    pub(crate) verify_chunk: String,
    /// The first idempotency entry that names positions outside the log.
    pub(crate) dangling_keys: String,
    /// The number of idempotency keys and the bytes of the ledger's tables.
    pub(crate) stats: String,
    /// Streams per kind (the events that open one: sequence 1).
    pub(crate) streams_by_kind: String,
    /// Idempotency entries whose key is in a byte range `[$1, $2)`, in byte
    /// order, at most `$3`.
    pub(crate) keys_between: String,
    /// Idempotency entries whose key is at least `$1` in byte order, in byte
    /// order, at most `$2` (the range of a prefix with no upper bound).
    pub(crate) keys_from: String,
    /// The chunks of a derived blob, in order.
    pub(crate) derived_chunks: String,
    /// Deletes a derived blob's chunks.
    pub(crate) derived_delete: String,
    /// Inserts a derived blob's chunks given as two arrays (numbers, bytes).
    pub(crate) derived_insert: String,
    /// Keyed entries of a space by key: `$1` the space, `$2` the keys.
    pub(crate) entries_get: String,
    /// Keyed entries of a space whose key is in `[$2, $3)`, in key order.
    pub(crate) entries_between: String,
    /// Keyed entries of a space whose key is at least `$2`, in key order.
    pub(crate) entries_from: String,
    /// Deletes every entry of a space.
    pub(crate) entries_clear: String,
    /// Inserts or replaces entries given as two arrays (keys, values).
    pub(crate) entries_upsert: String,
    /// Deletes the entries of a space under the keys given as an array.
    pub(crate) entries_delete: String,
    /// The tree nodes under the stored hash indexes given as an array: (index,
    /// hash), the stored ones only.
    pub(crate) nodes_get: String,
    /// The runs of tree nodes holding an index in `[$1, $2]`, in index order:
    /// (first index, hashes).
    pub(crate) nodes_between: String,
    /// Inserts a run of tree nodes: its first index, its hashes (nothing when
    /// they are empty).
    pub(crate) nodes_insert: String,
    /// Fails with `NV001` unless the head is at `$1` with hash `$2`, the
    /// streams `$3`, `$4` (kinds, ids) are at versions `$5` and none of the
    /// keys `$6` is taken, counting the rows up to position `$1` only.
    pub(crate) append_check: String,
    /// The stored hash index the last run ends at (no row without nodes).
    pub(crate) nodes_end: String,
    /// Every stream's version and last position among the first `$1` records.
    pub(crate) stream_heads: String,
    /// Locks the checkpoints against another keeper until the transaction ends.
    pub(crate) checkpoints_lock: String,
    /// Keeps a checkpoint under the next number, returning it.
    pub(crate) checkpoint_insert: String,
    /// Every checkpoint, by number.
    pub(crate) checkpoints_all: String,
}

impl Sql {
    /// The statements for `schema` (a name [`check_schema_name`] accepted).
    pub(crate) fn new(schema: &str) -> Sql {
        let t = |name: &str| format!("\"{schema}\".{name}");
        let (events, head, idem) = (t("events"), t("head"), t("idempotency"));
        let derived = t("derived");
        let entries = t("derived_entries");
        let (runs, checkpoints) = (t("tree_runs"), t("checkpoints"));
        let durable = t("durable");
        Sql {
            lock_head: format!("SELECT position, hash, recorded_at FROM {head} FOR UPDATE"),
            row_wait_under_lock: format!(
                "SET LOCAL lock_timeout = {}",
                ROW_WAIT_UNDER_LOCK_MS
            ),
            head: format!("SELECT position, hash, recorded_at FROM {head}"),
            durable: format!(
                "SELECT d.position, d.hash, d.recorded_at, h.position FROM {head} h, \
                   LATERAL (SELECT position, hash, recorded_at FROM {durable} \
                     ORDER BY position DESC LIMIT 1) d"
            ),
            // The row of the connection's slot, when the head is past every
            // row; `d.position < h.position` again for the row's newest
            // version, when another connection of the slot moved it first.
            settle: format!(
                "UPDATE {durable} d SET position = h.position, hash = h.hash, \
                   recorded_at = h.recorded_at FROM {head} h \
                 WHERE d.slot = pg_backend_pid() % {DURABLE_SLOTS} AND d.position < h.position \
                   AND h.position > (SELECT max(position) FROM {durable}) \
                 RETURNING d.position, d.hash, d.recorded_at"
            ),
            command_lock_key: format!("{schema}.commands"),
            versions: format!(
                "SELECT s.k, s.i, COALESCE((SELECT max(e.stream_seq) FROM {events} e \
                   WHERE e.stream_kind = s.k AND e.stream_id = s.i), 0) \
                 FROM unnest($1::text[], $2::uuid[]) AS s(k, i)"
            ),
            keys: format!(
                "SELECT key, digest, first_position, event_count FROM {idem} \
                 WHERE key = ANY($1::text[])"
            ),
            insert_events: format!(
                "INSERT INTO {events} (position, stream_kind, stream_id, stream_seq, record) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bigint[], $5::bytea[])"
            ),
            insert_keys: format!(
                "INSERT INTO {idem} (key, digest, first_position, event_count) \
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::integer[])"
            ),
            update_head: format!(
                "UPDATE {head} SET position = $1, hash = $2, recorded_at = $3 WHERE singleton"
            ),
            read_stream: format!(
                "SELECT position, stream_seq, record FROM {events} \
                 WHERE stream_kind = $1 AND stream_id = $2 AND stream_seq BETWEEN $3 AND $4 \
                   AND position <= (SELECT max(position) FROM {durable}) \
                 ORDER BY stream_seq"
            ),
            stream_version: format!(
                "SELECT COALESCE(max(stream_seq), 0) FROM {events} \
                 WHERE stream_kind = $1 AND stream_id = $2 \
                   AND position <= (SELECT max(position) FROM {durable})"
            ),
            read_range: format!(
                "SELECT position, record FROM {events} WHERE position BETWEEN $1 AND $2 \
                 ORDER BY position"
            ),
            record_at: format!("SELECT record FROM {events} WHERE position = $1"),
            position_of: format!(
                "SELECT position FROM {events} \
                 WHERE stream_kind = $1 AND stream_id = $2 AND stream_seq = $3"
            ),
            verify_chunk: format!(
                "SELECT position, stream_kind, stream_id, stream_seq, record FROM {events} \
                 WHERE position > $1 ORDER BY position LIMIT $2"
            ),
            dangling_keys: format!(
                "SELECT key, first_position FROM {idem} \
                 WHERE first_position < 1 OR event_count < 1 \
                    OR first_position + event_count - 1 > $1 \
                 ORDER BY first_position LIMIT 1"
            ),
            stats: format!(
                "SELECT (SELECT count(*) FROM {idem}), \
                        (SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint \
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = '{schema}' AND c.relkind = 'r')"
            ),
            streams_by_kind: format!(
                "SELECT stream_kind, count(*) FROM {events} WHERE stream_seq = 1 \
                 GROUP BY stream_kind"
            ),
            keys_between: format!(
                "SELECT key, first_position, event_count FROM {idem} \
                 WHERE key COLLATE \"C\" >= $1 AND key COLLATE \"C\" < $2 \
                   AND first_position <= (SELECT max(position) FROM {durable}) \
                 ORDER BY key COLLATE \"C\" LIMIT $3"
            ),
            keys_from: format!(
                "SELECT key, first_position, event_count FROM {idem} \
                 WHERE key COLLATE \"C\" >= $1 \
                   AND first_position <= (SELECT max(position) FROM {durable}) \
                 ORDER BY key COLLATE \"C\" LIMIT $2"
            ),
            derived_chunks: format!(
                "SELECT chunk, bytes FROM {derived} WHERE name = $1 ORDER BY chunk"
            ),
            derived_delete: format!("DELETE FROM {derived} WHERE name = $1"),
            derived_insert: format!(
                "INSERT INTO {derived} (name, chunk, bytes) \
                 SELECT $1, * FROM unnest($2::integer[], $3::bytea[])"
            ),
            entries_get: format!(
                "SELECT key, value FROM {entries} WHERE space = $1 AND key = ANY($2::bytea[])"
            ),
            entries_between: format!(
                "SELECT key, value FROM {entries} WHERE space = $1 AND key >= $2 AND key < $3 \
                 ORDER BY key"
            ),
            entries_from: format!(
                "SELECT key, value FROM {entries} WHERE space = $1 AND key >= $2 ORDER BY key"
            ),
            entries_clear: format!("DELETE FROM {entries} WHERE space = $1"),
            entries_upsert: format!(
                "INSERT INTO {entries} (space, key, value) \
                 SELECT $1, * FROM unnest($2::bytea[], $3::bytea[]) \
                 ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value"
            ),
            entries_delete: format!(
                "DELETE FROM {entries} WHERE space = $1 AND key = ANY($2::bytea[])"
            ),
            // A node is in the run starting at the largest first index not
            // above it, if that run is long enough; only its slice is read.
            nodes_get: format!(
                "SELECT i, substring(r.hashes FROM (i - r.first_idx)::integer * 32 + 1 FOR 32) \
                 FROM unnest($1::bigint[]) AS i \
                 CROSS JOIN LATERAL (SELECT first_idx, hashes FROM {runs} \
                     WHERE first_idx <= i ORDER BY first_idx DESC LIMIT 1) AS r \
                 WHERE i - r.first_idx < length(r.hashes) / 32"
            ),
            nodes_between: format!(
                "SELECT first_idx, hashes FROM {runs} \
                 WHERE first_idx <= $2 AND first_idx >= \
                     COALESCE((SELECT max(first_idx) FROM {runs} WHERE first_idx <= $1), 0) \
                 ORDER BY first_idx"
            ),
            nodes_insert: format!(
                "INSERT INTO {runs} (first_idx, hashes) \
                 SELECT $1::bigint, $2::bytea WHERE length($2::bytea) > 0"
            ),
            // The transaction has inserted its own rows already, after the
            // head it was judged on: the versions and keys are those of the
            // rows up to that head.
            append_check: format!(
                "SELECT \"{schema}\".append_check( \
                   (SELECT position = $1 AND hash = $2 FROM {head}) \
                   AND NOT EXISTS (SELECT 1 FROM unnest($3::text[], $4::uuid[], $5::bigint[]) \
                       AS s(k, i, v) \
                     WHERE COALESCE((SELECT max(e.stream_seq) FROM {events} e \
                       WHERE e.stream_kind = s.k AND e.stream_id = s.i AND e.position <= $1), 0) \
                       <> s.v) \
                   AND NOT EXISTS (SELECT 1 FROM {idem} \
                     WHERE key = ANY($6::text[]) AND first_position <= $1))"
            ),
            nodes_end: format!(
                "SELECT first_idx + length(hashes) / 32 FROM {runs} \
                 ORDER BY first_idx DESC LIMIT 1"
            ),
            // Within a stream, sequences and positions grow together, so the
            // two maxima belong to the same record.
            stream_heads: format!(
                "SELECT stream_kind, stream_id, max(stream_seq), max(position) FROM {events} \
                 WHERE position <= $1 GROUP BY stream_kind, stream_id"
            ),
            checkpoints_lock: format!("LOCK TABLE {checkpoints} IN EXCLUSIVE MODE"),
            checkpoint_insert: format!(
                "INSERT INTO {checkpoints} (number, note) \
                 SELECT COALESCE(max(number), 0) + 1, $1 FROM {checkpoints} RETURNING number"
            ),
            checkpoints_all: format!("SELECT number, note FROM {checkpoints} ORDER BY number"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_slots_are_the_rows_the_migration_makes() {
        let (_, _, migration) = MIGRATIONS[5];
        let last = DURABLE_SLOTS - 1;
        assert!(migration.contains(&format!("slot < {DURABLE_SLOTS})")));
        assert!(migration.contains(&format!("generate_series(0, {last})")));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("navigo").is_ok());
        assert!(check_schema_name("ledger_2026").is_ok());
        assert!(check_schema_name("_t1").is_ok());
        for bad in ["", "1abc", "Navigo", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn migrations_are_numbered_from_one_without_gaps_up_to_the_version() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(versions, (1..=VERSION).collect::<Vec<_>>());
    }
}
