//! PostgreSQL store benchmark (not a timed test), every figure beside its
//! reference in the same run, against a throwaway cluster of its own:
//!
//! - durable appends by 64 single-event writers and by writers of 100-event
//!   appends, against raw inserts of the same rows (same table, same
//!   indexes, same record bytes) with the same durability
//!   (`synchronous_commit = on`) by the same number of connections, one row
//!   per transaction and 100 rows per transaction; and the sled store's
//!   appends in the same configurations;
//! - one stream's read (`read_stream`, every check) p50 and p99, against a raw
//!   select of the same rows plus `decode_record`;
//! - bytes per event on the server (table and indexes), against the raw
//!   table's, and the sled store's disk bytes per event.
//!
//! ```sh
//! cargo bench -p navigo-store-postgres --bench store
//! NAVIGO_BENCH_MS=5000 cargo bench -p navigo-store-postgres --bench store
//! NAVIGO_BENCH_ONLY=w8b100 NAVIGO_BENCH_PG_STATS=1 cargo bench -p navigo-store-postgres --bench store
//! ```
//!
//! Each append configuration runs `NAVIGO_BENCH_ROUNDS` rounds (default 3),
//! the store and the raw inserts alternating within each round (and which of
//! the two goes first alternating from round to round), each round on a fresh
//! ledger and table; the figure kept for each is its best round (the least
//! time per event), since the machine's noise only ever slows a round down.
//! Every round's figures are printed too.
//!
//! `NAVIGO_BENCH_ONLY` names the append configurations to run (`w8b100`,
//! comma-separated; the sled store, the reads and the bytes are then skipped),
//! for profiling one of them; `NAVIGO_BENCH_PG_STATS` loads
//! `pg_stat_statements` and prints, after each run, the server's time by
//! statement, and the share of each state and wait event of the run's
//! connections on the server, sampled every millisecond (the sampling, on
//! both sides alike, takes a little of the machine's CPU).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use navigo_events_schema::{decode_record, encode_record, Assigned, Hash, StreamId};
use navigo_store::workload::{debit_event, drive_appends};
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_postgres::cluster::Cluster;
use navigo_store_postgres::{PgConfig, PgStore};
use navigo_store_sled::SledStore;
use uuid::Uuid;

/// Streams of the read benchmark's ledger, and events in each.
const READ_STREAMS: u64 = 200;
const READ_STREAM_EVENTS: u64 = 58;
/// Reads timed, alternating store and raw.
const READ_ITERS: usize = 2_000;

fn clock() -> Arc<ManualClock> {
    let t: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
    Arc::new(ManualClock::new(t))
}

/// Appends per second by `writers` tasks appending `batch` events each, until
/// `run` has passed (the workload the sled benchmark drives too).
async fn drive<S: EventStore + 'static>(
    store: Arc<S>,
    writers: u32,
    batch: u32,
    run: Duration,
) -> f64 {
    let start = Instant::now();
    let n = drive_appends(store.clone(), writers, batch, run).await;
    n as f64 / start.elapsed().as_secs_f64()
}

/// A new ledger in `cluster`, in schema `name`.
async fn pg_ledger(cluster: &Cluster, name: &str) -> PgConfig {
    let mut config = PgConfig::new(cluster.connection("postgres"), name).unwrap();
    config.read_connections_max = 16;
    PgStore::init(&config).await.unwrap();
    config
}

async fn pg_append(
    cluster: &Cluster,
    name: &str,
    writers: u32,
    batch: u32,
    run: Duration,
    stats: bool,
) -> f64 {
    let config = pg_ledger(cluster, name).await;
    let store = Arc::new(
        PgStore::open(&config, Limits::default(), clock())
            .await
            .unwrap(),
    );
    let waits = Waits::start_if(stats, cluster, "navigo-store-writer").await;
    let r = drive(store.clone(), writers, batch, run).await;
    Waits::print_if(waits, "store").await;
    assert!(store.verify().await.unwrap().is_ok());
    r
}

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = base.join("bench-store-postgres").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The sled store in the same configuration; also its disk bytes per event.
async fn sled_append(writers: u32, batch: u32, run: Duration) -> (f64, f64) {
    let dir = bench_dir(&format!("sled-w{writers}-b{batch}"));
    SledStore::init(&dir).unwrap();
    let store = Arc::new(SledStore::open(&dir, Limits::default(), clock()).unwrap());
    let r = drive(store.clone(), writers, batch, run).await;
    let stats = store.stats().unwrap();
    let per_event = stats.disk_bytes as f64 / stats.events.max(1) as f64;
    if let Ok(s) = Arc::try_unwrap(store) {
        s.close().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    (r, per_event)
}

/// One connection with the store's durability.
async fn raw_client(cluster: &Cluster) -> tokio_postgres::Client {
    let mut c = cluster.connection("postgres");
    c.options("-c synchronous_commit=on");
    let (client, conn) = c.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// Raw inserts of the store's rows (same columns, indexes and record bytes)
/// into a table like the store's, by `connections` connections, `batch` rows
/// per transaction (one `INSERT … SELECT unnest(…)`, autocommitted), for `run`.
async fn raw_insert(
    cluster: &Cluster,
    name: &str,
    connections: u32,
    batch: u32,
    run: Duration,
    record: &[u8],
    stats: bool,
) -> f64 {
    let config = pg_ledger(cluster, "raw_template").await;
    let admin = raw_client(cluster).await;
    admin
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {name}; \
             CREATE TABLE {name} (LIKE \"{}\".events INCLUDING ALL)",
            config.schema
        ))
        .await
        .unwrap();
    // Closed, so that only the inserting connections are sampled.
    drop(admin);
    let next = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    // The raw connections have no application name.
    let waits = Waits::start_if(stats, cluster, "").await;
    let start = Instant::now();
    let mut handles = Vec::new();
    for w in 0..connections {
        let client = raw_client(cluster).await;
        let (next, stop, done, record) =
            (next.clone(), stop.clone(), done.clone(), record.to_vec());
        let sql = format!(
            "INSERT INTO {name} (position, stream_kind, stream_id, stream_seq, record) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bigint[], $5::bytea[])"
        );
        handles.push(tokio::spawn(async move {
            let stmt = client.prepare(&sql).await.unwrap();
            let id = Uuid::from_u128(u128::from(w) + 1);
            let mut seq = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let first = next.fetch_add(u64::from(batch), Ordering::Relaxed) as i64;
                let positions: Vec<i64> = (0..i64::from(batch)).map(|i| first + i).collect();
                let kinds = vec!["contract"; batch as usize];
                let ids = vec![id; batch as usize];
                let seqs: Vec<i64> = (1..=i64::from(batch)).map(|i| seq + i).collect();
                let records = vec![record.clone(); batch as usize];
                client
                    .execute(&stmt, &[&positions, &kinds, &ids, &seqs, &records])
                    .await
                    .unwrap();
                seq += i64::from(batch);
                done.fetch_add(u64::from(batch), Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    let r = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    Waits::print_if(waits, "raw").await;
    r
}

/// The p50 and p99 of `samples` (microseconds).
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

/// One stream's read: the store's `read_stream` against a raw select of the
/// same rows plus `decode_record`, interleaved; and bytes per event.
async fn reads(cluster: &Cluster) -> ((f64, f64), (f64, f64), f64, f64) {
    let config = pg_ledger(cluster, "reads").await;
    let store = PgStore::open(&config, Limits::default(), clock())
        .await
        .unwrap();
    let mut n = 0;
    for e in 0..READ_STREAM_EVENTS {
        for s in 0..READ_STREAMS {
            let r = AppendRequest {
                stream: StreamId::contract(Uuid::from_u128(u128::from(s) + 1)),
                expected: ExpectedVersion::Exact(e),
                events: vec![debit_event(n)],
                idempotency_key: None,
                recorded_at: None,
            };
            store.append(r).await.unwrap();
            n += 1;
        }
    }
    let raw = raw_client(cluster).await;
    raw.batch_execute("VACUUM ANALYZE").await.unwrap();
    let select = raw
        .prepare(&format!(
            "SELECT record FROM \"{}\".events WHERE stream_kind = $1 AND stream_id = $2 \
             ORDER BY stream_seq",
            config.schema
        ))
        .await
        .unwrap();
    let (mut store_us, mut raw_us) = (Vec::new(), Vec::new());
    for i in 0..READ_ITERS {
        let id = Uuid::from_u128((i as u128 * 7919) % u128::from(READ_STREAMS) + 1);
        let t = Instant::now();
        let got = store
            .read_stream(StreamId::contract(id), 1..=u64::MAX)
            .await
            .unwrap();
        store_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(got.len() as u64, READ_STREAM_EVENTS);
        let t = Instant::now();
        let rows = raw.query(&select, &[&"contract", &id]).await.unwrap();
        let decoded: Vec<_> = rows
            .iter()
            .map(|r| decode_record(r.get::<_, &[u8]>(0)).unwrap())
            .collect();
        raw_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(decoded.len() as u64, READ_STREAM_EVENTS);
    }
    let stats = store.stats().await.unwrap();
    let per_event = stats.disk_bytes as f64 / stats.head.position as f64;
    let row = raw
        .query_one(
            &format!(
                "SELECT avg(length(record))::float8 FROM \"{}\".events",
                config.schema
            ),
            &[],
        )
        .await
        .unwrap();
    let record_bytes: f64 = row.get(0);
    store.close().await.unwrap();
    (
        percentiles(store_us),
        percentiles(raw_us),
        per_event,
        record_bytes,
    )
}

/// Whether the append configuration `writers` × `batch` runs, and whether
/// everything else does (`NAVIGO_BENCH_ONLY` unset).
fn selected(writers: u32, batch: u32) -> (bool, bool) {
    match std::env::var("NAVIGO_BENCH_ONLY") {
        Err(_) => (true, true),
        Ok(only) => {
            let name = format!("w{writers}b{batch}");
            (only.split(',').any(|o| o.trim() == name), false)
        }
    }
}

/// Loads `pg_stat_statements` into the cluster (a restart) when
/// `NAVIGO_BENCH_PG_STATS` is set; returns whether it did.
async fn stats_on(cluster: &Cluster) -> bool {
    if std::env::var_os("NAVIGO_BENCH_PG_STATS").is_none() {
        return false;
    }
    let admin = raw_client(cluster).await;
    admin
        .batch_execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        .await
        .unwrap();
    drop(admin);
    cluster.kill_server().unwrap();
    cluster.start_server().unwrap();
    let admin = raw_client(cluster).await;
    admin
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    true
}

/// Prints the server's time by statement since the last call, and resets it.
async fn stats_print(cluster: &Cluster, what: &str) {
    let admin = raw_client(cluster).await;
    let rows = admin
        .query(
            "SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) \
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10",
            &[],
        )
        .await
        .unwrap();
    println!("    server time by statement ({what}): calls, ms, rows, statement");
    for r in rows {
        let (calls, ms, n, q): (i64, f64, i64, String) = (r.get(0), r.get(1), r.get(2), r.get(3));
        println!("    {calls:>8} {ms:>9.0} {n:>9}  {q}");
    }
    admin
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await
        .unwrap();
}

/// What the server's backends of one side of a round do, sampled every
/// millisecond while it runs (`NAVIGO_BENCH_PG_STATS`): each sample counts
/// every backend of that side by its state and wait event (`CPU` when it
/// waits on nothing), so that the share of each says where the side's
/// connections spend their time on the server, and how long they wait for
/// their client.
struct Waits {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<std::collections::BTreeMap<String, u64>>,
}

impl Waits {
    /// [`Waits::start`] when `stats`.
    async fn start_if(stats: bool, cluster: &Cluster, app: &'static str) -> Option<Waits> {
        if stats {
            Some(Waits::start(cluster, app).await)
        } else {
            None
        }
    }

    /// [`Waits::print`] when sampling.
    async fn print_if(waits: Option<Waits>, what: &str) {
        if let Some(w) = waits {
            w.print(what).await;
        }
    }

    /// Starts sampling the backends whose `application_name` is `app`.
    async fn start(cluster: &Cluster, app: &'static str) -> Waits {
        let client = raw_client(cluster).await;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let sql = "SELECT state || ' ' || coalesce(wait_event_type || ':' || wait_event, 'CPU'),                        count(*) FROM pg_stat_activity                        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()                        AND application_name = $1 AND state IS NOT NULL \
                       AND query NOT LIKE '%pg_stat_activity%' GROUP BY 1";
            let stmt = client.prepare(sql).await.unwrap();
            let mut counts = std::collections::BTreeMap::new();
            while !stopping.load(Ordering::Relaxed) {
                for r in client.query(&stmt, &[&app]).await.unwrap() {
                    let (what, n): (String, i64) = (r.get(0), r.get(1));
                    *counts.entry(what).or_insert(0) += n as u64;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            counts
        });
        Waits { stop, task }
    }

    /// Stops sampling and prints each state's share of the samples.
    async fn print(self, what: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let counts = self.task.await.unwrap();
        let total: u64 = counts.values().sum();
        let mut by_share: Vec<_> = counts.into_iter().collect();
        by_share.sort_by_key(|b| std::cmp::Reverse(b.1));
        println!("    server backends' states ({what}), share of {total} backend samples:");
        for (state, n) in by_share {
            println!(
                "    {:>6.1} %  {state}",
                n as f64 * 100.0 / total.max(1) as f64
            );
        }
    }
}

/// The store's and the raw inserts' best rounds (events per second) for one
/// configuration, alternating within each round.
async fn append_rounds(
    cluster: &Cluster,
    writers: u32,
    batch: u32,
    run: Duration,
    record: &[u8],
    stats: bool,
) -> (f64, f64) {
    let (mut best_store, mut best_raw) = (0f64, 0f64);
    for round in 0..rounds() {
        let name = format!("w{writers}_b{batch}_r{round}");
        let mut figures = [0f64; 2];
        // Which side goes first alternates, so that neither always runs on
        // the warmer (or the busier) machine.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            figures[side] = if side == 0 {
                pg_append(
                    cluster,
                    &format!("append_{name}"),
                    writers,
                    batch,
                    run,
                    stats,
                )
                .await
            } else {
                let name = format!("raw_{name}");
                raw_insert(cluster, &name, writers, batch, run, record, stats).await
            };
            if stats {
                stats_print(cluster, ["store", "raw"][side]).await;
            }
        }
        let [store, raw] = figures;
        println!(
            "    round {round}: store {store:>9.0}   raw {raw:>9.0} (x{:.2})",
            store / raw
        );
        best_store = best_store.max(store);
        best_raw = best_raw.max(raw);
    }
    (best_store, best_raw)
}

/// Rounds per append configuration (`NAVIGO_BENCH_ROUNDS`, default 3).
fn rounds() -> u32 {
    std::env::var("NAVIGO_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &u32| n >= 1)
        .unwrap_or(3)
}

fn main() {
    let ms = std::env::var("NAVIGO_BENCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let run = Duration::from_millis(ms);
    let cluster = Cluster::start().unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (record, _) = encode_record(
        &Assigned {
            stream: StreamId::contract(Uuid::from_u128(1)),
            stream_seq: 1,
            position: 1,
            recorded_at: "2026-11-24T10:00:00Z".parse().unwrap(),
            idempotency_key: None,
            prev_hash: Hash::GENESIS,
        },
        &debit_event(1),
    )
    .unwrap();
    println!(
        "PostgreSQL store benchmark: {ms} ms per configuration and round, {} rounds, record {} bytes",
        rounds(),
        record.len()
    );
    rt.block_on(async {
        let stats = stats_on(&cluster).await;
        let (_, everything) = selected(0, 0);
        println!();
        println!("durable appends                           events/s   reference (same run)");
        for (writers, batch) in [(64u32, 1u32), (1, 100), (8, 100)] {
            if !selected(writers, batch).0 {
                continue;
            }
            let (store, raw) = append_rounds(&cluster, writers, batch, run, &record, stats).await;
            let sled = if everything {
                sled_append(writers, batch, run).await.0
            } else {
                f64::NAN
            };
            println!(
                "  writers {writers:>2}, batch {batch:>3}, best rounds: store {store:>9.0}   raw PostgreSQL {raw:>9.0} (x{:.2})   sled store {sled:>9.0}",
                store / raw
            );
        }
        if !everything {
            return;
        }
        let ((s50, s99), (r50, r99), per_event, record_bytes) = reads(&cluster).await;
        println!();
        println!(
            "one stream of {READ_STREAM_EVENTS} events among {READ_STREAMS}: read_stream p50 {s50:.0} µs p99 {s99:.0} µs; \
             raw select + decode_record p50 {r50:.0} µs p99 {r99:.0} µs (p99 x{:.2})",
            s99 / r99
        );
        let (_, sled_bytes) = sled_append(64, 1, Duration::from_millis(ms / 2)).await;
        println!(
            "bytes per event: PostgreSQL {per_event:.0} (record {record_bytes:.0}); sled store {sled_bytes:.0}"
        );
    });
}
