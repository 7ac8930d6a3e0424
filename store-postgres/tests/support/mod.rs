//! Helpers shared by the PostgreSQL store tests: a ledger in a schema of its
//! own in the test binary's throwaway cluster, raw SQL edits behind the
//! store's back, and the [`PgBackend`] of the conformance suite.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use navigo_store::conformance::Backend;
#[allow(unused_imports)] // Each test file uses some of them.
pub use navigo_store::conformance::{event, request, stream, t0};
use navigo_store::{Limits, ManualClock};
use navigo_store_postgres::cluster::Cluster;
use navigo_store_postgres::{PgConfig, PgStore};

/// The database of the shared cluster the tests' schemas live in.
pub const DATABASE: &str = "postgres";

static NEXT: AtomicU64 = AtomicU64::new(1);

/// The test binary's cluster.
pub fn cluster() -> &'static Cluster {
    Cluster::shared().unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh, empty place for a ledger named after `name` in `cluster`: a
/// schema of its own, created by `PgStore::init`.
pub async fn fresh_place_in(cluster: &Cluster, name: &str) -> PgConfig {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let schema = format!("t_{name}_{}_{n}", std::process::id());
    let config = PgConfig::new(cluster.connection(DATABASE), &schema).unwrap();
    PgStore::init(&config).await.unwrap();
    config
}

/// A fresh ledger in the shared cluster.
pub async fn fresh_place(name: &str) -> PgConfig {
    fresh_place_in(cluster(), name).await
}

/// A new ledger with a manual clock at [`t0`].
pub async fn new_store(name: &str) -> (PgStore, PgConfig, Arc<ManualClock>) {
    let config = fresh_place(name).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let store = PgStore::open(&config, Limits::default(), clock.clone())
        .await
        .unwrap();
    (store, config, clock)
}

/// A connection of its own to the test cluster, behind the store's back.
pub async fn raw() -> tokio_postgres::Client {
    let (client, connection) = cluster()
        .connection(DATABASE)
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Runs `sql` against the database of `config`, its `{s}` standing for the
/// ledger's schema: an edit behind the store's back.
pub async fn sql_in(cluster: &Cluster, config: &PgConfig, sql: &str) {
    let sql = sql.replace("{s}", &format!("\"{}\"", config.schema));
    cluster.execute(DATABASE, &sql).await.unwrap();
}

/// [`sql_in`] the shared cluster.
pub async fn sql(config: &PgConfig, sql: &str) {
    sql_in(cluster(), config, sql).await;
}

/// The statement that flips one bit of the record at `position`,
/// `offset_from_end` bytes before its end.
pub fn flip(position: u64, offset_from_end: usize) -> String {
    format!(
        "UPDATE {{s}}.events SET record = set_byte(record, length(record) - {offset_from_end}, \
         get_byte(record, length(record) - {offset_from_end}) # 1) WHERE position = {position}"
    )
}

/// The PostgreSQL backend of the conformance suite: a store is a schema of
/// the test binary's cluster.
pub struct PgBackend;

#[async_trait]
impl Backend for PgBackend {
    type Store = PgStore;
    type Place = PgConfig;

    async fn place(&self, name: &str) -> PgConfig {
        fresh_place(name).await
    }

    async fn open(&self, place: &PgConfig, limits: Limits, clock: Arc<ManualClock>) -> PgStore {
        PgStore::open(place, limits, clock).await.unwrap()
    }

    async fn close(&self, store: PgStore) {
        store.close().await.unwrap();
    }

    async fn verify(&self, store: &PgStore) -> Result<(), String> {
        let report = store.verify().await.map_err(|e| e.to_string())?;
        match report.first_bad {
            None => Ok(()),
            Some(bad) => Err(bad.to_string()),
        }
    }

    async fn tamper(&self, place: &PgConfig, position: u64, offset_from_end: usize) {
        sql(place, &flip(position, offset_from_end)).await;
    }
}

/// The statement that lays the stored Merkle tree out a node a row, in a
/// temporary table `nodes (idx, hash)` of this session, as version 4 stored it.
pub const NODES_UNPACK: &str = "CREATE TEMP TABLE nodes AS \
     SELECT r.first_idx + g AS idx, substring(r.hashes FROM g * 32 + 1 FOR 32) AS hash \
     FROM {s}.tree_runs r, generate_series(0, length(r.hashes) / 32 - 1) AS g";

/// The statement that stores the temporary `nodes` back as runs, cut where
/// an index is missing (as the upgrade from version 4 does).
pub const NODES_PACK: &str = "DELETE FROM {s}.tree_runs; \
     INSERT INTO {s}.tree_runs (first_idx, hashes) \
     SELECT min(idx), string_agg(hash, ''::bytea ORDER BY idx) \
     FROM (SELECT idx, hash, idx - row_number() OVER (ORDER BY idx) AS island FROM nodes) n \
     GROUP BY island, idx / 256; \
     DROP TABLE nodes";

/// Runs `edit` on the Merkle tree's nodes behind the store's back, with the
/// nodes a row in the temporary table `nodes (idx, hash)`: an altered hash, a
/// node removed, the nodes from an index on removed.
pub async fn edit_nodes(config: &PgConfig, edit: &str) {
    sql(config, &format!("{NODES_UNPACK}; {edit}; {NODES_PACK}")).await;
}
