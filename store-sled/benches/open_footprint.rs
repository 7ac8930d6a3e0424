//! What opening a large log costs, by store format: a store-only ledger of
//! `NAVIGO_BENCH_EVENTS` events (default 2,300,000, the 100,000-contract
//! region's count; 23,000,000 for the million) over `NAVIGO_BENCH_STREAMS`
//! streams (default one per eleven events, the region's mean), appended as
//! the region's months append them: each round touches every stream once, in
//! a shuffled order, one single-event request with its idempotency key each,
//! submitted in chunks of `NAVIGO_BENCH_CHUNK` requests (default 2,000)
//! through `SledStore::append_all`, the import's path.
//!
//! For each format of `NAVIGO_BENCH_FORMATS` (default `3,4`) it writes the
//! ledger, closes it, then opens it in a fresh child process (sled's page
//! descriptors are what an open costs, and a process that wrote them holds
//! their pages anyway): the store's open time and its RSS and heap at rest,
//! and the count of the log's keys by prefix. Not a timed test:
//!
//! ```sh
//! cargo bench -p navigo-store-sled --bench open_footprint
//! NAVIGO_BENCH_EVENTS=23000000 NAVIGO_BENCH_KEEP=1 cargo bench -p navigo-store-sled --bench open_footprint
//! ```
//!
//! `NAVIGO_BENCH_OPEN_ONLY=<ledger>` opens a kept ledger (the child's mode).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use navigo_events_schema::StreamId;
use navigo_store::workload::debit_event_no;
use navigo_store::{AppendRequest, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::{Format, SledStore};
use uuid::Uuid;

/// Events between two progress lines.
const PROGRESS_EVENTS: u64 = 1_000_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn clock() -> Arc<ManualClock> {
    let t: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
    Arc::new(ManualClock::new(t))
}

/// A field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Stream `i` of a round in a shuffled order: a permutation of `0..streams`
/// (multiplying by a prime that does not divide `streams`), shifted each
/// round.
fn shuffled(i: u64, round: u64, streams: u64) -> u64 {
    const PRIME: u64 = 1_000_003;
    let p = if streams % PRIME == 0 { 999_983 } else { PRIME };
    (i * p + round * 7_919) % streams
}

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = base.join("bench-open").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Writes the ledger: rounds over every stream in a shuffled order.
async fn write(dir: &Path, format: Format, events: u64, streams: u64, chunk: usize) -> f64 {
    SledStore::init_as(dir, format).unwrap();
    let store = SledStore::open(dir, Limits::default(), clock()).unwrap();
    let start = Instant::now();
    let mut requests = Vec::with_capacity(chunk);
    for n in 0..events {
        let round = n / streams;
        let s = shuffled(n % streams, round, streams);
        let stream = StreamId::contract(Uuid::from_u128(u128::from(s) + 1));
        let mut r = AppendRequest::new(stream, ExpectedVersion::Any, vec![debit_event_no(n)]);
        r.idempotency_key = Some(format!("bench:{round}:{s:012}"));
        requests.push(r);
        if requests.len() == chunk {
            store
                .append_all(std::mem::take(&mut requests))
                .await
                .unwrap();
        }
        // Progress on stderr: the writer slows as the tree outgrows sled's
        // cache, and a region's write takes an hour.
        if (n + 1) % PROGRESS_EVENTS == 0 {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "format {}: {} events in {secs:.0} s",
                format.number(),
                n + 1
            );
        }
    }
    if !requests.is_empty() {
        store.append_all(requests).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let head = navigo_store::EventStore::head(&store).await.unwrap();
    assert_eq!(head.position, events, "every event appended");
    store.close().await.unwrap();
    events as f64 / secs
}

/// The child's mode: opens the ledger and prints one line of figures.
fn open_only(dir: &Path) {
    let start = Instant::now();
    let store = SledStore::open(dir, Limits::default(), clock()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let rss = status_mib("VmRSS:");
    let raw = store.tree();
    let mut counts: BTreeMap<char, u64> = BTreeMap::new();
    for item in raw.iter().keys() {
        let k = item.unwrap();
        *counts.entry(char::from(k[0])).or_default() += 1;
    }
    println!(
        "OPEN {secs:.2} s, RSS at rest {rss:.0} MiB, keys {}",
        counts
            .iter()
            .map(|(p, n)| format!("{p}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    if let Some(dir) = std::env::var_os("NAVIGO_BENCH_OPEN_ONLY") {
        open_only(Path::new(&dir));
        return;
    }
    let events = env_u64("NAVIGO_BENCH_EVENTS", 2_300_000);
    let streams = env_u64("NAVIGO_BENCH_STREAMS", events / 11).max(1);
    let chunk = env_u64("NAVIGO_BENCH_CHUNK", 2_000) as usize;
    let formats = std::env::var("NAVIGO_BENCH_FORMATS").unwrap_or_else(|_| "3,4".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("| format | events | streams | append_all ev/s | open | files |");
    for f in formats.split(',') {
        let format = f
            .trim()
            .parse()
            .ok()
            .and_then(Format::from_number)
            .expect("NAVIGO_BENCH_FORMATS names formats 1 to 4");
        let dir = bench_dir(&format!("format{}-{events}", format.number()));
        let rate = runtime.block_on(write(&dir, format, events, streams, chunk));
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .env("NAVIGO_BENCH_OPEN_ONLY", &dir)
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&child.stdout);
        let bytes = navigo_store_sled::derived::files_bytes(&dir);
        println!(
            "| {} | {events} | {streams} | {rate:.0} | {} | {:.0} MB |",
            format.number(),
            line.trim().trim_start_matches("OPEN "),
            bytes as f64 / 1e6
        );
        if std::env::var_os("NAVIGO_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
