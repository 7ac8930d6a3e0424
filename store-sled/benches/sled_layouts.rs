//! What the store's on-disk layout costs at the raw sled layer, without the store:
//! whether the store's target (64 single-event writers ≥ 0.7 × raw sled batched
//! flush) is reachable with this layout at all. One thread writes groups of 64 events of the store's record
//! size (662 bytes), then flushes, as a group commit of 64 single-event writers
//! would, in four layouts:
//!
//! - `raw`: one `insert` per record under sequential log keys: the reference;
//! - `batch`: the same records in one atomic `apply_batch` per group;
//! - `log+index`: the store's layout: per event a log record and a stream index
//!   entry (64 streams), one atomic batch per group;
//! - `by-stream`: the alternative layout: records keyed by stream and sequence,
//!   plus one entry per group listing the group's (stream, sequence) in position
//!   order, one atomic batch per group: one insert per event.
//!
//! Rounds are interleaved so that every layout sees the same load; the medians
//! are printed with their ratios to `raw`. Run:
//! `cargo bench -p navigo-store-sled --bench sled_layouts` (`NAVIGO_BENCH_ROUNDS`,
//! default 6; `NAVIGO_BENCH_MS` per layout and round, default 2,000).

use std::time::{Duration, Instant};

use navigo_events_schema::StreamId;
use navigo_store_sled::keys::{log_key, stream_key};
use uuid::Uuid;

const GROUP: u64 = 64;
const RECORD_BYTES: usize = 662;

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Raw,
    Batch,
    LogAndIndex,
    ByStream,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Raw => "raw (insert per record)",
            Layout::Batch => "batch (apply_batch per group)",
            Layout::LogAndIndex => "log+index (the store's layout)",
            Layout::ByStream => "by-stream + group entry",
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn run(layout: Layout, run_for: Duration) -> f64 {
    let dir = std::env::temp_dir().join(format!(
        "navigo-sled-layouts-{}-{}",
        std::process::id(),
        layout as u8
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let db = sled::Config::new().path(&dir).open().expect("open sled");
    let tree = db.open_tree(b"t").expect("tree");
    let record = vec![b'x'; RECORD_BYTES];
    let streams: Vec<StreamId> = (0..GROUP)
        .map(|i| StreamId::contract(Uuid::from_u128(u128::from(i) * 7_919 + 13)))
        .collect();
    let mut seqs = vec![0u64; GROUP as usize];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < run_for {
        let mut batch = sled::Batch::default();
        let first = n + 1;
        let mut group = Vec::with_capacity(GROUP as usize * 25);
        for (i, stream) in streams.iter().enumerate() {
            n += 1;
            seqs[i] += 1;
            match layout {
                Layout::Raw => {
                    tree.insert(log_key(n), record.as_slice()).expect("insert");
                }
                Layout::Batch => batch.insert(&log_key(n)[..], record.as_slice()),
                Layout::LogAndIndex => {
                    batch.insert(&log_key(n)[..], record.as_slice());
                    batch.insert(&stream_key(stream, seqs[i])[..], &n.to_be_bytes()[..]);
                }
                Layout::ByStream => {
                    let k = stream_key(stream, seqs[i]);
                    batch.insert(&k[..], record.as_slice());
                    group.extend_from_slice(&k[1..]);
                }
            }
        }
        if layout == Layout::ByStream {
            batch.insert(&log_key(first)[..], group);
        }
        if layout != Layout::Raw {
            tree.apply_batch(batch).expect("batch");
        }
        db.flush().expect("flush");
    }
    let secs = start.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    n as f64 / secs
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds = env_u64("NAVIGO_BENCH_ROUNDS", 6).max(1);
    let run_for = Duration::from_millis(env_u64("NAVIGO_BENCH_MS", 2_000));
    let layouts = [
        Layout::Raw,
        Layout::Batch,
        Layout::LogAndIndex,
        Layout::ByStream,
    ];
    let mut figures: Vec<Vec<f64>> = layouts.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for (l, f) in layouts.iter().zip(figures.iter_mut()) {
            let x = run(*l, run_for);
            println!("round {round}: {:<32} {x:>9.0} events/s", l.name());
            f.push(x);
        }
    }
    let raw = median(&mut figures[0].clone());
    println!("\nmedians over {rounds} rounds, groups of {GROUP} events, flush per group:");
    for (l, f) in layouts.iter().zip(figures.iter_mut()) {
        let m = median(f);
        println!("{:<32} {m:>9.0} events/s  {:.2} x raw", l.name(), m / raw);
    }
}
