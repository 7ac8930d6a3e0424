//! The PostgreSQL implementation of the event store ([`navigo_store::EventStore`]),
//! with every promise of the sled store, for a ledger that several service
//! instances share or that an operator runs on the engine they already have.
//!
//! - Layout: see [`schema`] and `migrations/` (the crate's README documents the
//!   tables). The records are byte for byte the sled store's (events-schema's
//!   canonical records), so a log moves between backends unchanged.
//! - Writes: see [`writer`]. One writer task per store gathers concurrent
//!   appends into one transaction that locks the head row first: positions are
//!   gapless and in commit order across every process writing the database,
//!   and nothing is acknowledged before the commit is durable.
//! - Reads: see [`read`]; every record read is checked.
//! - Verification: see [`verify`](PgStore::verify).
//! - Beside the log: see [`derived`] (idempotency keys by prefix; derived
//!   data, the ledger's snapshots, outside the hash chain).
//! - Projections as SQL tables: see [`projections`] (the materialized views
//!   in a schema of their own, with their checkpoint, and a read-only role).
//! - Tests: the `test-cluster` feature's [`cluster`] starts a throwaway
//!   PostgreSQL for them.
//!
//! Connections are plain (no TLS): a local server or a Unix socket.

#![warn(missing_docs)]

#[cfg(feature = "test-cluster")]
pub mod cluster;
pub mod commands;
pub mod derived;
mod durable;
mod error;
pub mod export;
mod import;
pub mod merkle;
mod projection_rows;
pub mod projections;
pub mod read;
mod rows;
pub mod schema;
mod verify;
pub mod writer;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{Envelope, StreamId, StreamKind};
use navigo_merkle::{ConsistencyProof, InclusionProof, StreamHeads, TreeHead};
use navigo_store::assign::{stored_envelopes, Prepared, Written};
use navigo_store::check::check_record;
use navigo_store::verify::VerifyReport;
use navigo_store::{
    AppendOutcome, AppendRequest, Clock, EnvelopeStream, EventStore, Head, Limits, StoreError,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use error::{pg, pool, to_i64};
use rows::parse_head;
use schema::{check_schema_name, Sql};
pub use schema::{Migrated as InitOutcome, VERSION};
pub use verify::VERIFY_CHUNK_RECORDS;
use writer::{Core, Job, Writer, QUEUE_APPENDS_MAX, WRITER_CONNECTIONS};

/// The schema a ledger lives in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "navigo";

/// Connections of a store's read pool unless told otherwise: the reads of a
/// service's concurrent requests; the writer has a connection of its own.
pub const READ_CONNECTIONS_MAX: usize = 16;

/// Where a ledger lives: a database and a schema in it.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// How to reach the database (host or Unix socket directory, port, user,
    /// database name), as the driver parses a `postgres://` URL.
    pub connection: tokio_postgres::Config,
    /// The schema holding the ledger's tables.
    pub schema: String,
    /// Connections of the read pool.
    pub read_connections_max: usize,
}

impl PgConfig {
    /// A ledger in `schema` of the database `connection` reaches.
    ///
    /// # Errors
    /// [`StoreError::NotALedger`] for a schema name that is not a plain
    /// lower-case identifier.
    pub fn new(connection: tokio_postgres::Config, schema: &str) -> Result<PgConfig, StoreError> {
        check_schema_name(schema).map_err(|why| error::not_a_ledger(schema, why))?;
        Ok(PgConfig {
            connection,
            schema: schema.to_owned(),
            read_connections_max: READ_CONNECTIONS_MAX,
        })
    }

    /// A ledger in [`DEFAULT_SCHEMA`] of the database a `postgres://` URL (or
    /// `key=value` string) names.
    ///
    /// # Errors
    /// [`StoreError::Storage`] for a URL the driver does not accept.
    pub fn parse(url: &str) -> Result<PgConfig, StoreError> {
        let connection = url
            .parse()
            .map_err(|e| StoreError::Storage(format!("PostgreSQL URL: {e}")))?;
        PgConfig::new(connection, DEFAULT_SCHEMA)
    }

    /// Where the ledger is, as an operator names it, without the password:
    /// `postgres://USER@HOST:PORT/DATABASE` (a Unix socket directory as the
    /// host), and the schema when it is not [`DEFAULT_SCHEMA`]. For error
    /// messages and logs, which must never carry a secret.
    pub fn shown(&self) -> String {
        let c = &self.connection;
        let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .zip(
                c.get_ports()
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .map(|(h, port)| {
                let host = match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(dir) => dir.display().to_string(),
                };
                match port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                }
            })
            .collect();
        let db = c.get_dbname().unwrap_or_default();
        let schema = if self.schema == DEFAULT_SCHEMA {
            String::new()
        } else {
            format!(" (schema {})", self.schema)
        };
        format!("postgres://{user}{}/{db}{schema}", hosts.join(","))
    }

    /// A pool of at most `size` connections named `application_name` (as
    /// `pg_stat_activity` shows them), each with `synchronous_commit = on`:
    /// a commit returns once it is durable, whatever the server's default.
    fn pool(&self, application_name: &str, size: usize) -> Result<Pool, StoreError> {
        let mut c = self.connection.clone();
        let options = c.get_options().unwrap_or_default().to_owned();
        c.options(format!("{options} -c synchronous_commit=on").trim());
        c.application_name(application_name);
        let manager = Manager::from_config(
            c,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(size.max(1))
            .build()
            .map_err(|e| StoreError::Storage(format!("PostgreSQL pool: {e}")))
    }
}

/// Counts over a ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The head.
    pub head: Head,
    /// Streams per kind.
    pub streams: BTreeMap<StreamKind, u64>,
    /// Idempotency keys recorded.
    pub idempotency_keys: u64,
    /// Bytes of the ledger's tables and their indexes on the server.
    pub disk_bytes: u64,
}

/// The durable, hash-chained event store on PostgreSQL.
///
/// Recorded-at instants come from the [`Clock`] given to [`PgStore::open`], or
/// from the request's import instant, as in the sled store: a clock earlier
/// than the head is clamped to the head's instant; an import instant earlier
/// than the head is refused ([`StoreError::OutOfOrder`]).
pub struct PgStore {
    read: Pool,
    writer_pool: Pool,
    sql: Arc<Sql>,
    tx: mpsc::Sender<Job>,
    limits: Limits,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One connection outside any pool (for `init`).
async fn connect(config: &PgConfig) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = config
        .connection
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(pg)?;
    // The connection task ends when the client is dropped.
    tokio::spawn(connection);
    Ok(client)
}

/// Recovers the head from the head row, checking the record it names.
async fn recover_head(conn: &Object, sql: &Sql) -> Result<Head, StoreError> {
    let stmt = conn.prepare_cached(&sql.head).await.map_err(pg)?;
    let head = parse_head(&conn.query_one(&stmt, &[]).await.map_err(pg)?)?;
    if head.position == 0 {
        return Ok(head);
    }
    let position = head.position;
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let stmt = conn.prepare_cached(&sql.record_at).await.map_err(pg)?;
    let row = conn
        .query_opt(&stmt, &[&to_i64(position)?])
        .await
        .map_err(pg)?
        .ok_or_else(|| corrupt("the head row names a record that is missing".into()))?;
    let env = check_record(position, row.try_get(0).map_err(pg)?)?;
    if env.hash != head.hash || Some(env.recorded_at) != head.recorded_at {
        return Err(corrupt(
            "the head row's hash or instant is not the last record's".into(),
        ));
    }
    Ok(head)
}

/// Verifies the ledger `config` names without starting a writer, so that a
/// ledger whose head is corrupt (which [`PgStore::open`] refuses) can still be
/// examined. See [`PgStore::verify`].
///
/// # Errors
/// [`StoreError::NotALedger`] or a storage failure; corruption is in the report.
pub async fn verify_ledger(config: &PgConfig) -> Result<VerifyReport, StoreError> {
    let pool = config.pool("navigo-verify", 1)?;
    let conn = pool.get().await.map_err(error::pool)?;
    schema::check_version(&**conn, &config.schema).await?;
    let sql = Sql::new(&config.schema);
    verify::verify(&conn, &sql).await
}

impl PgStore {
    /// Creates the ledger's schema and tables (the schema is created if
    /// absent), or brings an older ledger to this build's [`VERSION`]; a
    /// ledger already current is left as it is.
    ///
    /// # Errors
    /// [`StoreError::NotALedger`] when the schema holds tables but no ledger
    /// (nothing is written into it) or a ledger newer than this build; a
    /// storage failure.
    pub async fn init(config: &PgConfig) -> Result<InitOutcome, StoreError> {
        let mut client = connect(config).await?;
        let tx = client.transaction().await.map_err(pg)?;
        let outcome = schema::migrate(&tx, &config.schema).await?;
        tx.commit().await.map_err(pg)?;
        Ok(outcome)
    }

    /// Opens a ledger created by [`PgStore::init`] and starts its writer task.
    ///
    /// # Errors
    /// [`StoreError::NotALedger`] (nothing is written), [`StoreError::Corrupt`]
    /// when the head row and the record it names disagree, or a storage failure.
    pub async fn open(
        config: &PgConfig,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<PgStore, StoreError> {
        let read = config.pool("navigo-store-reader", config.read_connections_max)?;
        let writer_pool = config.pool("navigo-store-writer", WRITER_CONNECTIONS)?;
        let sql = Arc::new(Sql::new(&config.schema));
        {
            let conn = read.get().await.map_err(pool)?;
            schema::check_version(&**conn, &config.schema).await?;
            recover_head(&conn, &sql).await?;
            // A writer that died between a commit and its flush left the
            // durable head behind: readers would wait for it.
            durable::settle(&conn, &sql).await?;
            merkle::catch_up(&conn, &sql).await?;
        }
        let (tx, rx) = mpsc::channel(QUEUE_APPENDS_MAX);
        let writer = Writer::new(Core {
            pool: writer_pool.clone(),
            sql: sql.clone(),
            limits,
            clock,
            stale: AtomicBool::new(false),
        });
        let writer = tokio::spawn(writer.run(rx));
        Ok(PgStore {
            read,
            writer_pool,
            sql,
            tx,
            limits,
            writer: Some(writer),
        })
    }

    /// Stops the writer after the appends already queued (each answered once
    /// its transaction ends) and closes the connections.
    ///
    /// # Errors
    /// [`StoreError::Storage`] when the writer task failed.
    pub async fn close(mut self) -> Result<(), StoreError> {
        let writer = self.writer.take();
        let PgStore {
            read,
            writer_pool,
            tx,
            ..
        } = self;
        drop(tx);
        if let Some(w) = writer {
            w.await
                .map_err(|e| StoreError::Storage(format!("the writer task failed: {e}")))?;
        }
        read.close();
        writer_pool.close();
        Ok(())
    }

    /// Sends one append to the writer; the outcome and, when it wrote, what it
    /// assigned.
    async fn append_one(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Option<Written>), StoreError> {
        let request = Prepared::new(request, &self.limits)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { request, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Verifies the whole ledger: every record's hash, the chain, gapless
    /// positions and stream sequences, never-decreasing instants, each row's
    /// columns against its record, the head row against the last record, the
    /// idempotency entries against the log. Runs beside the writer (records
    /// appended meanwhile are checked if the walk reaches them; the head row
    /// is read at the end).
    ///
    /// # Errors
    /// A storage failure; corruption is in the report.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        verify::verify(&conn, &self.sql).await
    }

    /// Refuses a tree of `size` records when the log holds fewer.
    async fn within_head(&self, size: u64) -> Result<(), StoreError> {
        let head = self.head().await?.position;
        if size > head {
            return Err(merkle::tree_error(format!(
                "a tree of {size} records asked of a log of {head}"
            )));
        }
        Ok(())
    }

    /// [`PgStore::verify`] as a task that holds no borrow of the store (its
    /// own handle on the read pool), so that a service verifies beside the
    /// writer without holding the ledger.
    pub fn detached_verify(
        &self,
    ) -> impl std::future::Future<Output = Result<VerifyReport, StoreError>> + Send + 'static {
        let (read, sql) = (self.read.clone(), self.sql.clone());
        async move {
            let conn = read.get().await.map_err(pool)?;
            verify::verify(&conn, &sql).await
        }
    }

    /// Counts streams by kind, idempotency keys and the bytes the ledger
    /// takes on the server.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let head = self.head().await?;
        let conn = self.read.get().await.map_err(pool)?;
        let stmt = conn.prepare_cached(&self.sql.stats).await.map_err(pg)?;
        let row = conn.query_one(&stmt, &[]).await.map_err(pg)?;
        let keys: i64 = row.try_get(0).map_err(pg)?;
        let bytes: i64 = row.try_get(1).map_err(pg)?;
        let stmt = conn
            .prepare_cached(&self.sql.streams_by_kind)
            .await
            .map_err(pg)?;
        let mut streams = BTreeMap::new();
        for row in conn.query(&stmt, &[]).await.map_err(pg)? {
            let kind: &str = row.try_get(0).map_err(pg)?;
            let n: i64 = row.try_get(1).map_err(pg)?;
            let kind = rows::parse_kind(kind).ok_or_else(|| StoreError::Corrupt {
                position: 0,
                why: format!("unknown stream kind {kind:?}"),
            })?;
            streams.insert(kind, u64::try_from(n).unwrap_or(0));
        }
        Ok(Stats {
            head,
            streams,
            idempotency_keys: u64::try_from(keys).unwrap_or(0),
            disk_bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }
}

#[async_trait]
impl EventStore for PgStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        Ok(self.append_one(request).await?.0)
    }

    /// The stored envelopes built from what the writer assigned
    /// ([`stored_envelopes`]), not read back, as on sled.
    async fn append_stored(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
        let (stream, key) = (request.stream, request.idempotency_key.clone());
        let events = request.events.clone();
        let (outcome, written) = self.append_one(request).await?;
        let stored = stored_envelopes(stream, key.as_deref(), events, &outcome, written);
        Ok((outcome, stored))
    }

    async fn read_stream(
        &self,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Envelope>, StoreError> {
        read::read_stream(&self.read, &self.sql, stream, range).await
    }

    /// In a transaction of its own on a read connection, holding the head
    /// lock as the writer's transactions do; the writer then finds the head
    /// moved and reads the tree's frontier again.
    async fn import_sealed(&self, records: Vec<Vec<u8>>) -> Result<Head, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        let done = import::import(&conn, &self.sql, records).await;
        if matches!(done, Err(StoreError::Storage(_))) {
            // After a failed statement its state is unknown: closing it
            // makes the server roll back whatever it held.
            drop(Object::take(conn));
        }
        done
    }

    fn read_all(&self, from_position: u64) -> EnvelopeStream<'_> {
        read::read_all(self.read.clone(), self.sql.clone(), from_position)
    }

    /// The durable head: a record after it is committed but not yet known
    /// flushed, and no reader sees it.
    async fn head(&self) -> Result<Head, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        durable::durable_head(&conn, &self.sql).await
    }

    async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        let stmt = conn
            .prepare_cached(&self.sql.stream_version)
            .await
            .map_err(pg)?;
        let row = conn
            .query_one(&stmt, &[&stream.kind.as_str(), &stream.id])
            .await
            .map_err(pg)?;
        let version: i64 = row.try_get(0).map_err(pg)?;
        error::to_u64(version, 0, "stream version")
    }

    /// A range read of the idempotency table in byte order (its index
    /// `idempotency_key_bytes`).
    async fn idempotency_keys(
        &self,
        prefix: &str,
        keys_max: usize,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        derived::keys_with_prefix(&self.read, &self.sql, prefix, keys_max).await
    }

    async fn read_derived(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        derived::read(&self.read, &self.sql, name).await
    }

    async fn write_derived(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        derived::write(&self.read, &self.sql, name, bytes).await
    }

    async fn read_derived_entries(
        &self,
        space: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        derived::read_entries(&self.read, &self.sql, space, keys).await
    }

    async fn scan_derived_entries(
        &self,
        space: &str,
        prefix: &[u8],
    ) -> Result<navigo_store::DerivedEntries, StoreError> {
        derived::scan_entries(&self.read, &self.sql, space, prefix).await
    }

    async fn write_derived_entries(
        &self,
        space: &str,
        batch: &navigo_store::DerivedBatch,
    ) -> Result<(), StoreError> {
        derived::write_entries(&self.read, &self.sql, space, batch).await
    }

    async fn tree_head(&self, size: u64) -> Result<TreeHead, StoreError> {
        self.within_head(size).await?;
        let conn = self.read.get().await.map_err(pool)?;
        let root = merkle::read_with(&conn, &self.sql, |n| navigo_merkle::root(size, n)).await?;
        Ok(TreeHead { size, root })
    }

    async fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<(InclusionProof, Vec<u8>), StoreError> {
        self.within_head(size).await?;
        let index = position
            .checked_sub(1)
            .ok_or_else(|| merkle::tree_error("position 0"))?;
        let conn = self.read.get().await.map_err(pool)?;
        let proof =
            merkle::read_with(&conn, &self.sql, |n| InclusionProof::prove(size, index, n)).await?;
        let stmt = conn.prepare_cached(&self.sql.record_at).await.map_err(pg)?;
        let row = conn
            .query_opt(&stmt, &[&to_i64(position)?])
            .await
            .map_err(pg)?
            .ok_or_else(|| StoreError::Corrupt {
                position,
                why: "record missing below the head".into(),
            })?;
        let record: &[u8] = row.try_get(0).map_err(pg)?;
        check_record(position, record)?;
        let canonical = record.get(HASH_LEN..).unwrap_or_default().to_vec();
        Ok((proof, canonical))
    }

    async fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        self.within_head(new).await?;
        let conn = self.read.get().await.map_err(pool)?;
        merkle::read_with(&conn, &self.sql, |n| ConsistencyProof::prove(old, new, n)).await
    }

    async fn stream_heads(&self, size: u64) -> Result<StreamHeads, StoreError> {
        self.within_head(size).await?;
        let conn = self.read.get().await.map_err(pool)?;
        merkle::stream_heads(&conn, &self.sql, size).await
    }

    async fn keep_checkpoint(&self, signed_note: &[u8]) -> Result<u64, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        merkle::keep_checkpoint(&conn, &self.sql, signed_note).await
    }

    async fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.read.get().await.map_err(pool)?;
        merkle::checkpoints(&conn, &self.sql).await
    }
}
