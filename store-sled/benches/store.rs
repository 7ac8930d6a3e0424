//! Store benchmark (not a timed test): durable append throughput for 1, 8 and 64
//! concurrent writers and 1, 100 and 1,000 events per append, against raw sled
//! insert + flush at the same batch sizes in the same run; and `read_all` against
//! a raw sled scan, with and without `decode_record` of each record.
//!
//! ```sh
//! cargo bench -p navigo-store-sled --bench store
//! NAVIGO_BENCH_MS=5000 cargo bench -p navigo-store-sled --bench store   # longer runs
//! ```
//!
//! `NAVIGO_BENCH_ONLY=w64b1` runs only the raw baselines and that configuration
//! (for profiling); `NAVIGO_BENCH_FORMAT=3` writes ledgers of store format 3.
//!
//! Each configuration runs for `NAVIGO_BENCH_MS` milliseconds (default 2,000) on
//! a fresh ledger under `target/bench-store/`. Figures go to BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use navigo_events_schema::envelope::{recorded_at_json, PreEncoded};
use navigo_events_schema::{decode_record, encode_record, Assigned, Hash, StreamId};
use navigo_store::workload::{debit_event, debit_event_no, drive_appends};
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::keys::log_key;
use navigo_store_sled::SledStore;
use uuid::Uuid;

const WRITERS: [u32; 3] = [1, 8, 64];
const BATCHES: [u32; 3] = [1, 100, 1_000];
/// Raw sled batch sizes: the store's, plus 64 (what 64 single-event writers can
/// at best gather into one group commit).
const RAW_BATCHES: [u32; 4] = [1, 64, 100, 1_000];
/// Events in the ledger read back by the read benchmark.
const READ_EVENTS: u64 = 200_000;

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = base.join("bench-store").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A new ledger in `dir`, of the format `NAVIGO_BENCH_FORMAT` names (the
/// current one by default).
fn init(dir: &std::path::Path) {
    let format =
        std::env::var("NAVIGO_BENCH_FORMAT").map_or(navigo_store_sled::Format::CURRENT, |n| {
            n.trim()
                .parse()
                .ok()
                .and_then(navigo_store_sled::Format::from_number)
                .expect("NAVIGO_BENCH_FORMAT names formats 1 to 4")
        });
    SledStore::init_as(dir, format).unwrap();
}

fn clock() -> Arc<ManualClock> {
    let t: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
    Arc::new(ManualClock::new(t))
}

/// Durable appends per second for `writers` tasks appending `batch` events each.
/// Also returns the CPU by thread before and after the run.
type CpuSplit = std::collections::BTreeMap<String, f64>;

async fn store_append(writers: u32, batch: u32, run: Duration) -> (f64, u64, CpuSplit, CpuSplit) {
    let dir = bench_dir(&format!("append-w{writers}-b{batch}"));
    init(&dir);
    let store = Arc::new(SledStore::open(&dir, Limits::default(), clock()).unwrap());
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let n = drive_appends(store.clone(), writers, batch, run).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu1 = thread_cpu();
    if let Ok(s) = Arc::try_unwrap(store) {
        s.close().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    (n as f64 / secs, n, cpu0, cpu1)
}

/// Raw sled: insert `batch` records of the same size as the store's, then flush.
fn raw_insert_flush(batch: u32, run: Duration, record: &[u8]) -> f64 {
    let dir = bench_dir(&format!("raw-b{batch}"));
    let db = sled::Config::new().path(&dir).open().unwrap();
    let tree = db.open_tree(b"raw").unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < run {
        for _ in 0..batch {
            n += 1;
            tree.insert(log_key(n), record).unwrap();
        }
        db.flush().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    n as f64 / secs
}

/// Read throughputs, events per second.
struct ReadFigures {
    /// `read_all`: decode, upcast, hash check, chain link.
    read_all: f64,
    /// Raw sled scan of the log, touching the bytes only.
    scan: f64,
    /// Raw sled scan plus the serde_json decode of each record into an
    /// `Envelope` (`decode_record`: envelope and payload, upcast), no hash check:
    /// the reference a rebuild of the projections is compared against.
    scan_decode: f64,
}

/// `read_all` over a ledger of [`READ_EVENTS`] events, against a raw scan of the
/// same records, with and without decoding.
async fn read_all_vs_scan() -> ReadFigures {
    let dir = bench_dir("read");
    init(&dir);
    let store = SledStore::open(&dir, Limits::default(), clock()).unwrap();
    let stream_count = 1_000u64;
    let per_append = 1_000u64;
    let mut appended = 0;
    let mut v = vec![0u64; stream_count as usize];
    while appended < READ_EVENTS {
        let s = (appended / per_append) % stream_count;
        let events = (0..per_append)
            .map(|i| debit_event_no(appended + i))
            .collect();
        let r = AppendRequest {
            stream: StreamId::contract(Uuid::from_u128(u128::from(s) + 1)),
            expected: ExpectedVersion::Exact(v[s as usize]),
            events,
            idempotency_key: None,
            recorded_at: None,
        };
        store.append(r).await.unwrap();
        v[s as usize] += per_append;
        appended += per_append;
    }
    let start = Instant::now();
    let mut s = store.read_all(1);
    let mut n = 0u64;
    while let Some(e) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        let e = e.unwrap();
        n += 1;
        assert_eq!(e.position, n);
    }
    drop(s);
    let read_all = n as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut m = 0u64;
    for item in store.tree().scan_prefix([b'L']) {
        let (_, v) = item.unwrap();
        bytes += v.len() as u64;
        m += 1;
    }
    let raw = m as f64 / start.elapsed().as_secs_f64();
    assert_eq!(m, n);
    assert!(bytes > 0);
    let start = Instant::now();
    let mut d = 0u64;
    for item in store.tree().scan_prefix([b'L']) {
        let (_, v) = item.unwrap();
        let record = navigo_store_sled::frame::unframe(store.format(), &v).unwrap();
        let env = decode_record(&record).unwrap();
        d += 1;
        assert_eq!(env.position, d);
    }
    let scan_decode = d as f64 / start.elapsed().as_secs_f64();
    assert_eq!(d, n);
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    ReadFigures {
        read_all,
        scan: raw,
        scan_decode,
    }
}

/// CPU seconds used so far by this process's threads, by thread name (Linux
/// `/proc`; empty elsewhere). Shows where the time of a configuration goes.
fn thread_cpu() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_owned();
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        // Fields 14 and 15 of stat (utime, stime), counted from after the name.
        let ticks: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        *out.entry(name).or_insert(0.0) += ticks / 100.0;
    }
    out
}

fn main() {
    let ms = std::env::var("NAVIGO_BENCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let run = Duration::from_millis(ms);
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
        "store benchmark: {ms} ms per configuration, record {} bytes",
        record.len()
    );
    // The writer thread's fixed work per event, measured alone: splicing the
    // assigned fields into a pre-encoded record and hashing it (BLAKE3).
    {
        let e = debit_event(1);
        let pre = PreEncoded::new(StreamId::contract(Uuid::from_u128(1)), None, &e).unwrap();
        let at = recorded_at_json(&"2026-11-24T10:00:00Z".parse().unwrap()).unwrap();
        let rounds = 100_000u64;
        let start = Instant::now();
        let mut out = Vec::with_capacity(pre.record_len_max());
        let mut prev = Hash::GENESIS;
        for i in 0..rounds {
            out.clear();
            prev = pre.finish(i + 1, i + 1, &at, &prev, &mut out);
        }
        let finish_ns = start.elapsed().as_nanos() as f64 / rounds as f64;
        let start = Instant::now();
        for _ in 0..rounds {
            prev = Hash(*blake3::hash(&out[32..]).as_bytes());
            out[40] ^= prev.0[0] & 1;
        }
        let hash_ns = start.elapsed().as_nanos() as f64 / rounds as f64;
        println!("writer fixed work per event: splice + hash {finish_ns:.0} ns, of which BLAKE3 {hash_ns:.0} ns");
    }
    println!();
    let mut raw = std::collections::BTreeMap::new();
    println!("raw sled insert + flush (1 thread)");
    for b in RAW_BATCHES {
        let r = raw_insert_flush(b, run, &record);
        raw.insert(b, r);
        println!("  batch {b:>5}: {r:>10.0} records/s");
    }
    println!();
    println!("durable append (group commit)      events/s    ratio to raw sled at the same batch");
    let only = std::env::var("NAVIGO_BENCH_ONLY").ok();
    for w in WRITERS {
        for b in BATCHES {
            if only.as_ref().is_some_and(|o| *o != format!("w{w}b{b}")) {
                continue;
            }
            let (r, n, cpu0, cpu1) = rt.block_on(store_append(w, b, run));
            let ratio = r / raw[&b];
            print!("  writers {w:>2}, batch {b:>5}: {r:>10.0}  ({n} events)  x{ratio:.2}");
            if w == 64 && b == 1 {
                print!("  | vs raw batch 64: x{:.2} (target >= 0.70)", r / raw[&64]);
            }
            println!();
            if w == 64 && b == 1 {
                let split: Vec<String> = cpu1
                    .iter()
                    .map(|(k, v)| (k, v - cpu0.get(k).copied().unwrap_or(0.0)))
                    .filter(|(_, d)| *d >= 0.05)
                    .map(|(k, d)| format!("{k} {d:.2}s"))
                    .collect();
                println!("      CPU by thread: {}", split.join(", "));
            }
        }
    }
    println!();
    if only.is_some() {
        return;
    }
    let f = rt.block_on(read_all_vs_scan());
    println!("read over {READ_EVENTS} events");
    println!(
        "  raw sled scan:                   {:>10.0} records/s",
        f.scan
    );
    println!(
        "  raw sled scan + decode_record:   {:>10.0} records/s  x{:.3} of the raw scan",
        f.scan_decode,
        f.scan_decode / f.scan
    );
    println!(
        "  read_all (decode + hash + link): {:>10.0} events/s   x{:.3} of the raw scan, x{:.2} of scan + decode",
        f.read_all,
        f.read_all / f.scan,
        f.read_all / f.scan_decode
    );
}
