//! The Merkle tree's price on appends (not a timed test): durable append
//! throughput of the same store with the tree maintained (`SledStore::open`)
//! against without it (`SledStore::open_without_tree`: no leaf hashed, no node
//! written), in the same run, the two alternating round by round so that the
//! machine's load weighs on both alike.
//!
//! ```sh
//! cargo bench -p navigo-store-sled --bench tree_cost --features bench-untreed
//! NAVIGO_BENCH_MS=5000 NAVIGO_BENCH_ROUNDS=5 cargo bench -p navigo-store-sled --bench tree_cost --features bench-untreed
//! ```
//!
//! Each configuration runs `NAVIGO_BENCH_ROUNDS` rounds (default 3) of
//! `NAVIGO_BENCH_MS` milliseconds (default 2,000) each, on a fresh ledger
//! under `target/bench-tree-cost/`, deleted after the round. Figures go to
//! BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use navigo_store::workload::drive_appends;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;

/// (writers, events per append): many single-event writers (the service's
/// case, group commits of about 64) and one writer of batches (an import).
const CONFIGS: [(u32, u32); 2] = [(64, 1), (1, 100)];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = base.join("bench-tree-cost").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn clock() -> Arc<ManualClock> {
    let t: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
    Arc::new(ManualClock::new(t))
}

/// Durable appends per second for `writers` tasks appending `batch` events
/// each, on a store with or without the tree.
async fn append_rate(writers: u32, batch: u32, run: Duration, keep_tree: bool) -> f64 {
    let dir = bench_dir(&format!("w{writers}-b{batch}-{keep_tree}"));
    SledStore::init(&dir).unwrap();
    let store = if keep_tree {
        SledStore::open(&dir, Limits::default(), clock())
    } else {
        SledStore::open_without_tree(&dir, Limits::default(), clock())
    };
    let store = Arc::new(store.unwrap());
    let start = Instant::now();
    let n = drive_appends(store.clone(), writers, batch, run).await;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    if let Ok(s) = Arc::try_unwrap(store) {
        s.close().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn main() {
    let run = Duration::from_millis(env_u64("NAVIGO_BENCH_MS", 2_000));
    let rounds = env_u64("NAVIGO_BENCH_ROUNDS", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (writers, batch) in CONFIGS {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            with.push(rt.block_on(append_rate(writers, batch, run, true)));
            without.push(rt.block_on(append_rate(writers, batch, run, false)));
        }
        println!(
            "w{writers}b{batch}: tree kept {:.0} ev/s {with:.0?}, without the tree {:.0} ev/s \
             {without:.0?}, ratio {:.2}",
            mean(&with),
            mean(&without),
            mean(&with) / mean(&without)
        );
    }
}
