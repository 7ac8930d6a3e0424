//! What sled's files are made of when an append-only log and a rewritten
//! working set (the ledger's paged states) share them, against the same
//! writes with the working set in a database of its own: the bytes of the
//! files against the live bytes (every key and value the trees hold), and the
//! time sled's own `open` takes, first in a fresh open (sled scans every
//! segment written since its last snapshot, which it writes only when it
//! opens) and then again (from that snapshot).
//!
//! The workload imitates the regional import at a tenth of 100,000 contracts
//! by default: `NAVIGO_BENCH_EVENTS` log records (228 bytes, the compressed
//! record's mean at 100 k) each with its stream index entry, an idempotency
//! key and the Merkle tree's last group rewritten by each group commit
//! (`NAVIGO_BENCH_GROUP` events, default 256, one flush each); and
//! `NAVIGO_BENCH_STATES` states of `NAVIGO_BENCH_STATE_BYTES` (1,823, the
//! positional state's mean) each rewritten `NAVIGO_BENCH_REWRITES` times
//! (default 34: the billing clock dirties every active contract once a month
//! over the simulated years), written as the state cache's evictions write
//! them, in batches of `NAVIGO_BENCH_EVICTION` states (default 2,500), spread
//! evenly over the log's writes. Values are pseudo-random (sled does not
//! compress them). Not a timed test:
//! `cargo bench -p navigo-store-sled --bench sled_footprint`
//! (`NAVIGO_BENCH_LAYOUTS=one,two` picks layouts).

use std::path::Path;
use std::time::Instant;

use navigo_events_schema::StreamId;
use navigo_store_sled::derived::files_bytes;
use navigo_store_sled::keys::{log_key, stream_key};
use uuid::Uuid;

const RECORD_BYTES: usize = 228;
const IDEMPOTENCY_KEY_BYTES: usize = 48;
const IDEMPOTENCY_VALUE_BYTES: usize = 44;
const SEGMENT_BYTES: usize = 8 * 1024 * 1024;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// splitmix64: deterministic filler, no dependency.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    /// The log and the states in one database (main's layout).
    One,
    /// The states in a database of their own, same settings.
    Two,
    /// The states in a database of their own with sled's default segments.
    TwoSmall,
}

struct Sizes {
    events: usize,
    states: usize,
    rewrites: usize,
    state_bytes: usize,
    group: usize,
    eviction: usize,
}

fn open(path: &Path, segment: usize) -> sled::Db {
    sled::Config::new()
        .path(path)
        .segment_size(segment)
        .cache_capacity(128 * 1024 * 1024)
        .open()
        .expect("open sled")
}

fn live_bytes(db: &sled::Db) -> u64 {
    let mut n = 0u64;
    for name in db.tree_names() {
        let tree = db.open_tree(name).expect("tree");
        for kv in tree.iter() {
            let (k, v) = kv.expect("kv");
            n += (k.len() + v.len()) as u64;
        }
    }
    n
}

fn write(log_db: &sled::Db, states_db: &sled::Db, s: &Sizes) -> f64 {
    let log = log_db.open_tree(b"navigo-ledger").expect("tree");
    let states = states_db.open_tree(b"navigo-derived").expect("tree");
    let mut mix = Mix(2024);
    let streams: Vec<StreamId> = (0..s.states.max(1))
        .map(|i| StreamId::contract(Uuid::from_u128(((i as u128) << 64) | 0x7000)))
        .collect();
    let mut seqs = vec![0u64; streams.len()];
    let state_writes = s.states * s.rewrites;
    let mut written_states = 0usize;
    let mut next_state = 0usize;
    let start = Instant::now();
    let mut pos = 0u64;
    while (pos as usize) < s.events {
        let mut batch = sled::Batch::default();
        let end = (pos as usize + s.group).min(s.events) as u64;
        while pos < end {
            pos += 1;
            let i = (mix.next() as usize) % streams.len();
            seqs[i] += 1;
            batch.insert(&log_key(pos)[..], mix.bytes(RECORD_BYTES));
            batch.insert(
                &stream_key(&streams[i], seqs[i])[..],
                &pos.to_be_bytes()[..],
            );
            let mut ik = b"I".to_vec();
            ik.extend(mix.bytes(IDEMPOTENCY_KEY_BYTES));
            batch.insert(ik, mix.bytes(IDEMPOTENCY_VALUE_BYTES));
        }
        let group = pos.saturating_sub(1) / 64;
        let nodes = ((pos - group * 64) as usize * 2).min(128);
        let mut gk = b"G".to_vec();
        gk.extend_from_slice(&group.to_be_bytes());
        batch.insert(gk, mix.bytes(nodes * 32));
        log.apply_batch(batch).expect("batch");
        log_db.flush().expect("flush");
        // The states' writes keep pace with the log's.
        let due = state_writes * pos as usize / s.events;
        while written_states + s.eviction <= due || (due == state_writes && written_states < due) {
            let n = s.eviction.min(state_writes - written_states);
            let mut b = sled::Batch::default();
            for _ in 0..n {
                let mut k = b"Kworld-states\0c".to_vec();
                k.extend_from_slice(streams[next_state].id.as_bytes());
                b.insert(k, mix.bytes(s.state_bytes));
                next_state = (next_state + 1) % s.states;
            }
            states.apply_batch(b).expect("batch");
            states_db.flush().expect("flush");
            written_states += n;
        }
    }
    start.elapsed().as_secs_f64()
}

fn run(layout: Layout, s: &Sizes) {
    let dir = std::env::temp_dir().join(format!(
        "navigo-sled-footprint-{}-{layout:?}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let derived = dir.join("derived");
    let states_segment = if layout == Layout::TwoSmall {
        512 * 1024
    } else {
        SEGMENT_BYTES
    };
    let secs = {
        let log_db = open(&dir, SEGMENT_BYTES);
        let states_db = if layout == Layout::One {
            log_db.clone()
        } else {
            open(&derived, states_segment)
        };
        write(&log_db, &states_db, s)
    };
    let files = files_bytes(&dir);
    let states_files = files_bytes(&derived);
    let mut opens = Vec::new();
    let mut live = 0;
    for round in 0..2 {
        let t = Instant::now();
        let log_db = open(&dir, SEGMENT_BYTES);
        let log_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let states_db = (layout != Layout::One).then(|| open(&derived, states_segment));
        let states_secs = t.elapsed().as_secs_f64();
        opens.push((log_secs, states_secs));
        if round == 0 {
            live = live_bytes(&log_db) + states_db.as_ref().map_or(0, live_bytes);
        }
    }
    let events = s.events as f64;
    println!(
        "{layout:?}: write {secs:.1} s; files {:.1} MiB ({:.0} B/event; states' db {:.1} MiB), \
         live {:.1} MiB: {:.2} x live; open log {:.2} s + states {:.2} s, again {:.2} + {:.2} s",
        files as f64 / 1_048_576.0,
        files as f64 / events,
        states_files as f64 / 1_048_576.0,
        live as f64 / 1_048_576.0,
        files as f64 / live.max(1) as f64,
        opens[0].0,
        opens[0].1,
        opens[1].0,
        opens[1].1,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let s = Sizes {
        events: env_usize("NAVIGO_BENCH_EVENTS", 230_000),
        states: env_usize("NAVIGO_BENCH_STATES", 10_000),
        rewrites: env_usize("NAVIGO_BENCH_REWRITES", 34),
        state_bytes: env_usize("NAVIGO_BENCH_STATE_BYTES", 1_823),
        group: env_usize("NAVIGO_BENCH_GROUP", 256).max(1),
        eviction: env_usize("NAVIGO_BENCH_EVICTION", 2_500).max(1),
    };
    let layouts = std::env::var("NAVIGO_BENCH_LAYOUTS").unwrap_or_else(|_| "one,two,small".into());
    for name in layouts.split(',') {
        let layout = match name.trim() {
            "one" => Layout::One,
            "two" => Layout::Two,
            "small" => Layout::TwoSmall,
            other => panic!("unknown layout {other}: one, two or small"),
        };
        run(layout, &s);
    }
}
