//! Regional scale: a generated population driven through the real command path,
//! then every figure the benchmarks report at that scale, each next to its raw
//! reference measured in the same run:
//!
//! | figure | reference |
//! |---|---|
//! | import of the population (the simulator's import batch: rules, clock, store), events/s | raw sled batched flush (batches of 64 records of the log's mean size) |
//! | appends through the raw store (64 single-event writers, a sample of the same events) | raw sled batched flush |
//! | open (verified snapshot + tail) in a fresh process: wall, RSS at rest, peak RSS | |
//! | the billing clock for the month after the population (one advance a day; after the head of a kept ledger whose clock ran further), events/s | raw sled batched flush |
//! | full rebuild (read, fold, project, write), events/s | raw sled scan + JSON decode of the log |
//! | `verify` of the whole log, records/s | raw sled scan + JSON decode of the log |
//! | as-of calendar of random contracts: p50/p99 on the wall (with how many reads the scheduler preempted), p99 of the thread's CPU time | raw prefix scan + JSON decode of the same streams |
//! | contract state through the ledger's slice (the contract's stream and the catalogue read, then the streams their fold and the world's indexes pick), the same | raw prefix scan + JSON decode of the same streams |
//! | on-disk bytes per event, peak RSS (VmHWM) of the whole run | |
//!
//! Sizes: `NAVIGO_BENCH_CONTRACTS` (default 2,000), `NAVIGO_BENCH_FROM` /
//! `NAVIGO_BENCH_THROUGH` (default 2024-01-01 / 2026-10-31; the clock month is
//! the one after), `NAVIGO_BENCH_QUERIES`
//! (default 2,000), `NAVIGO_BENCH_REBUILD_CONTRACTS` (the contracts whose
//! projections the rebuild writes, default all), `NAVIGO_BENCH_SEED`
//! (default 2024), `NAVIGO_BENCH_CACHE`
//! (the state cache, default the ledger's). The ledger lives under
//! `NAVIGO_BENCH_DIR` (default the system temp directory) and is removed at the
//! end unless `NAVIGO_BENCH_KEEP` is set. The open child prints where the open
//! goes (the store's own open, the heap in use, the versions and edges held);
//! run alone (`NAVIGO_BENCH_OPEN_ONLY=<ledger dir>`) it opens a kept ledger,
//! with a state cache of `NAVIGO_BENCH_OPEN_CACHE` states (1: versions and
//! edges only, as a region larger than the cache opens); `NAVIGO_BENCH_IMPORT_ONLY`
//! stops after the import and its rates; `NAVIGO_BENCH_DECODE_ONLY` after the
//! import, times decoding the region's contract states in their stored form
//! against the CBOR keyed by field names that state schema version 6 stored,
//! alternating, and stops; `NAVIGO_BENCH_REBUILD_ONLY=<ledger dir>` rebuilds a
//! kept ledger's projections alone, `NAVIGO_BENCH_ROUNDS` times, each after the
//! raw scan + decode of its log, and prints every tree's live bytes against
//! the projection database's files; `NAVIGO_BENCH_RESUME=<ledger dir>` imports
//! the same plan again into a ledger whose import was interrupted, resuming
//! it; `NAVIGO_BENCH_READS_ONLY`, with `NAVIGO_BENCH_AFTER_IMPORT`, measures
//! the open and the one-id reads of a kept ledger and stops. Not a timed test:
//! `cargo bench -p navigo-replay --bench regional`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::envelope::decode_record;
use navigo_events_schema::{Envelope, NewEvent, StreamId, StreamKind};
use navigo_ledger_core::load::read_contract;
use navigo_ledger_core::states::stored;
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_projections::slice::{contract_streams, read_contract_slice};
use navigo_projections::{calendar, state, Folded, Query};
use navigo_replay::audit::audit_whole_log;
use navigo_replay::materialize::{rebuild_streams, ProjectionDb, REBUILD_SLICE_IDS};
use navigo_rules::contract::state::ContractState;
use navigo_rules::Policy;
use navigo_sim::{
    drive, drive_windows, generate, PlanWindows, PopulationConfig, Rng, PLAN_WINDOW_REQUESTS_MAX,
};
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::derived::files_bytes;
use navigo_store_sled::keys::{log_key, LOG};
use navigo_store_sled::raw_stream_read;
use navigo_store_sled::SledStore;

/// The allocator of the whole run (the raw references' as much as the
/// ledger's). With glibc's malloc, `_int_malloc` alone was 27 % of the
/// 100,000-contract import's samples, searching its bins (`unlink_chunk`,
/// `malloc_consolidate`): the heap of a region, with sled's nodes copied and
/// dropped on every write and states paged in and out, fragments, and each
/// allocation costs more as it grows (malloc and free were 17 % at 4,000
/// contracts). With mimalloc the paged import took 1.24 times less CPU in
/// the same session (BENCHMARKS.md, Region). The binary still runs on
/// glibc's malloc: its figures are to be measured before it changes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Records per flush of the raw sled reference: the largest group commit 64
/// single-event writers can form (as in the store bench).
const RAW_BATCH: usize = 64;
/// Concurrent single-event writers of the raw store figure.
const STORE_WRITERS: usize = 64;
/// Events of the raw references' samples (raw sled batched flush, raw store
/// appends): rates need no more, and a regional log written twice more would
/// not fit the disk.
const RAW_SAMPLE_EVENTS_MAX: usize = 300_000;
/// Set (to the ledger's directory) in the child process that measures opening.
const OPEN_ONLY_ENV: &str = "NAVIGO_BENCH_OPEN_ONLY";
/// The state cache of the open child (default: the ledger's): a cache
/// smaller than the states opens as a region too large for it does, loading
/// versions and edges only.
const OPEN_CACHE_ENV: &str = "NAVIGO_BENCH_OPEN_CACHE";
/// Set to stop after the import (its rates printed): the figure to compare
/// between cache sizes, without the minutes the rest of the run takes.
const IMPORT_ONLY_ENV: &str = "NAVIGO_BENCH_IMPORT_ONLY";
/// Set to stop after the import and the decoding micro-bench of its states.
const DECODE_ONLY_ENV: &str = "NAVIGO_BENCH_DECODE_ONLY";
/// Rounds of the decoding micro-bench (the least time of each side is kept).
const DECODE_ROUNDS: usize = 7;
/// Set to import the plan generated whole (the path before the windows).
const WHOLE_PLAN_ENV: &str = "NAVIGO_BENCH_WHOLE_PLAN";
/// The contracts (and the same share of the persons) whose projections the
/// rebuild writes (default: all): a region's projections beside its ledger
/// may not fit the disk, and the rate of a rebuild by slices does not depend
/// on how many slices it writes.
const REBUILD_CONTRACTS_ENV: &str = "NAVIGO_BENCH_REBUILD_CONTRACTS";
/// Set (to a kept ledger's directory) to rebuild its projections only, in
/// rounds alternating with the raw scan + decode of its log, and print where
/// the projections' bytes go (every tree's live bytes against the files).
const REBUILD_ONLY_ENV: &str = "NAVIGO_BENCH_REBUILD_ONLY";
/// Rounds of [`REBUILD_ONLY_ENV`] (the least time of each side is kept).
const REBUILD_ROUNDS_ENV: &str = "NAVIGO_BENCH_ROUNDS";
/// Set (to a ledger kept after its import, `NAVIGO_BENCH_KEEP` with
/// `NAVIGO_BENCH_IMPORT_ONLY`) to measure every step after the import on it:
/// a region's import and the rest need not fit one sitting.
const AFTER_IMPORT_ENV: &str = "NAVIGO_BENCH_AFTER_IMPORT";
/// Set, with [`AFTER_IMPORT_ENV`], to measure the open and the one-id reads
/// only: the reads of a region without the half hour of the other steps.
const READS_ONLY_ENV: &str = "NAVIGO_BENCH_READS_ONLY";
/// Set to keep the ledger's directory after the run.
const KEEP_ENV: &str = "NAVIGO_BENCH_KEEP";
/// Set (to the directory of a ledger whose import was interrupted, by a kill
/// or the end of a sitting) to import the same plan into it again: what it
/// holds is answered by its idempotency keys or refused as earlier than its
/// head (the clock), the rest imported, as a re-run of the demo resumes. A
/// region's import need not fit one sitting either. The rates are then those
/// of the resumed part, the answers included.
const RESUME_ENV: &str = "NAVIGO_BENCH_RESUME";
/// The state cache of the import, the clock month and the reads (default:
/// the ledger's): a cache smaller than the region's states reproduces, at a
/// fraction of the size, the paging of a region too large for the default.
const CACHE_ENV: &str = "NAVIGO_BENCH_CACHE";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The keys of an index of the world and the edges they hold.
fn keys_and_edges<K, S>(index: &std::collections::BTreeMap<K, S>) -> (usize, usize)
where
    for<'a> &'a S: IntoIterator,
{
    let edges = index.values().map(|s| s.into_iter().count()).sum();
    (index.len(), edges)
}

/// The bytes the allocator has committed from the system, in MiB.
fn heap_in_use_mib() -> f64 {
    let (mut elapsed, mut user, mut system) = (0usize, 0usize, 0usize);
    let (mut rss, mut peak_rss, mut commit, mut peak_commit, mut faults) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    // SAFETY: mi_process_info writes each counter through its pointer, all of
    // which point to live, writable locals.
    unsafe {
        libmimalloc_sys::mi_process_info(
            &mut elapsed,
            &mut user,
            &mut system,
            &mut rss,
            &mut peak_rss,
            &mut commit,
            &mut peak_commit,
            &mut faults,
        );
    }
    commit as f64 / 1_048_576.0
}

/// The most bytes the allocator had committed from the system so far, in MiB.
fn heap_peak_mib() -> f64 {
    let mut c = [0usize; 8];
    // SAFETY: mi_process_info writes each counter through its pointer, all of
    // which point to distinct live, writable elements of `c`.
    unsafe {
        let [a, b, d, e, f, g, h, i] = &mut c;
        libmimalloc_sys::mi_process_info(a, b, d, e, f, g, h, i);
    }
    c[5] as f64 / 1_048_576.0
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The peak RSS of each step after the import, the peak reset between steps.
#[derive(Default)]
struct StepPeaks(Vec<(&'static str, f64)>);

impl StepPeaks {
    /// Records the peak RSS since the last step under `step`, then resets it
    /// (writing 5 to `clear_refs` sets the peak to the current RSS), so that
    /// each step's peak is its own and not the largest before it.
    fn step(&mut self, step: &'static str) {
        self.0.push((step, peak_rss_mib()));
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }

    fn line(&self) -> String {
        let steps: Vec<String> = self
            .0
            .iter()
            .map(|(step, mib)| format!("{step} {mib:.0}"))
            .collect();
        steps.join(", ")
    }
}

fn builtin_at() -> DateTime<Utc> {
    "2011-06-01T00:00:00Z".parse().expect("instant")
}

fn open(dir: &Path) -> SledStore {
    SledStore::init(dir).expect("init");
    reopen(dir)
}

fn reopen(dir: &Path) -> SledStore {
    SledStore::open(
        dir,
        Limits::default(),
        Arc::new(ManualClock::new(builtin_at())),
    )
    .expect("open")
}

/// What one timed read cost.
///
/// The wall time is what a caller waits; the thread's CPU time is what the
/// read itself cost. On a shared machine a read the scheduler preempts waits
/// a whole tick for its core (4 ms at 250 Hz) whatever it costs, so on this
/// machine the wall p99 of reads of a few hundred microseconds is the
/// scheduler's as soon as more than 1 % of them are preempted, for a read and
/// its reference alike; the CPU p99 is not.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
    /// The thread was switched out involuntarily during the read.
    preempted: bool,
}

/// The CPU time of the calling thread and its involuntary context switches.
fn thread_clock() -> (Duration, i64) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let cpu = match unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } {
        0 => Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        _ => Duration::ZERO,
    };
    // SAFETY: an all-zero rusage is a valid value, and `usage` is writable.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the call's duration.
    let switches = match unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } {
        0 => usage.ru_nivcsw,
        _ => 0,
    };
    (cpu, switches)
}

/// The CPU time (user + system) of the whole process, every thread: on a
/// machine shared with other builds the wall time of a phase measures the
/// load as much as the work, its CPU time does not.
fn process_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value, and `usage` is writable.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the call's duration.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Times one read on the wall and on the thread's clock.
struct Timer {
    wall: Instant,
    cpu: Duration,
    switches: i64,
}

impl Timer {
    fn start() -> Timer {
        let (cpu, switches) = thread_clock();
        Timer {
            wall: Instant::now(),
            cpu,
            switches,
        }
    }

    fn stop(&self) -> Cost {
        let wall = self.wall.elapsed();
        let (cpu, switches) = thread_clock();
        Cost {
            wall,
            cpu: cpu.saturating_sub(self.cpu),
            preempted: switches > self.switches,
        }
    }
}

/// The percentiles of a series of reads.
#[derive(Clone)]
struct Costs {
    n: usize,
    wall50: Duration,
    wall99: Duration,
    cpu99: Duration,
    preempted: usize,
}

impl Costs {
    fn of(costs: &[Cost]) -> Costs {
        let (wall50, wall99) = p50_p99(costs.iter().map(|c| c.wall).collect());
        let (_, cpu99) = p50_p99(costs.iter().map(|c| c.cpu).collect());
        Costs {
            n: costs.len(),
            wall50,
            wall99,
            cpu99,
            preempted: costs.iter().filter(|c| c.preempted).count(),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len().saturating_sub(1))]
}

fn p50_p99(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (percentile(&v, 0.50), percentile(&v, 0.99))
}

/// Raw sled: `n` records of `record_bytes` under sequential keys, a flush every
/// [`RAW_BATCH`] records. Events per second.
/// Also returns events per second of the process's CPU time.
fn raw_sled_batched(dir: &Path, n: usize, record_bytes: usize) -> (f64, f64) {
    let _ = std::fs::remove_dir_all(dir);
    let db = sled::Config::new().path(dir).open().expect("raw sled");
    let tree = db.open_tree(b"raw").expect("tree");
    let record = vec![b'x'; record_bytes];
    let cpu = process_cpu();
    let start = Instant::now();
    let mut i = 0u64;
    while (i as usize) < n {
        for _ in 0..RAW_BATCH {
            i += 1;
            tree.insert(log_key(i), record.as_slice()).expect("insert");
        }
        db.flush().expect("flush");
    }
    let rate = i as f64 / start.elapsed().as_secs_f64();
    let cpu_rate = i as f64 / (process_cpu() - cpu).as_secs_f64();
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    (rate, cpu_rate)
}

/// Raw sled scan of the log with the unframing (decompression) and JSON decode
/// of every record. Events per second.
fn raw_scan_decode(store: &SledStore) -> (usize, f64) {
    let start = Instant::now();
    let mut n = 0usize;
    for item in store.tree().scan_prefix([LOG]) {
        let (_, v) = item.expect("scan");
        let record = navigo_store_sled::frame::unframe(store.format(), &v).expect("unframe");
        let e = decode_record(&record).expect("decode");
        std::hint::black_box(&e);
        n += 1;
    }
    (n, n as f64 / start.elapsed().as_secs_f64())
}

/// The first `n` events of the log, read through the store's checked stream.
async fn read_first(store: &SledStore, n: usize) -> Vec<Envelope> {
    let mut out = Vec::with_capacity(n);
    let mut all = store.read_all(1);
    while out.len() < n {
        match navigo_store::next_envelope(&mut all).await {
            Some(e) => out.push(e.expect("read the log")),
            None => break,
        }
    }
    out
}

/// Raw prefix scan of the streams the calendar reads (the contract and the
/// catalogue) with a JSON decode of each record.
fn raw_read(store: &SledStore, streams: &[StreamId]) -> usize {
    streams
        .iter()
        .map(|s| std::hint::black_box(raw_stream_read(store, *s)).len())
        .sum()
}

/// The same events appended again through the store alone: 64 writer tasks, the
/// streams dealt among them, one single-event append per event with its exact
/// expected version. Events per second.
async fn raw_store_appends(dir: &Path, events: &[Envelope]) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    let store = Arc::new(open(dir));
    let mut lanes: Vec<Vec<(StreamId, u64, NewEvent)>> = vec![Vec::new(); STORE_WRITERS];
    let mut lane_of: std::collections::HashMap<StreamId, usize> = Default::default();
    for e in events {
        let next = lane_of.len() % STORE_WRITERS;
        let lane = *lane_of.entry(e.stream).or_insert(next);
        lanes[lane].push((
            e.stream,
            e.stream_seq - 1,
            NewEvent {
                event_id: e.event_id,
                effective_date: e.effective_date,
                actor: e.actor.clone(),
                channel: e.channel,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
                event: e.event.clone(),
            },
        ));
    }
    let start = Instant::now();
    let tasks: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let store = store.clone();
            tokio::spawn(async move {
                for (stream, version, event) in lane {
                    store
                        .append(AppendRequest {
                            stream,
                            expected: ExpectedVersion::Exact(version),
                            events: vec![event],
                            idempotency_key: None,
                            recorded_at: None,
                        })
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer task");
    }
    let rate = events.len() as f64 / start.elapsed().as_secs_f64();
    if let Ok(store) = Arc::try_unwrap(store) {
        let _ = store.close().await;
    }
    let _ = std::fs::remove_dir_all(dir);
    rate
}

/// The child process: opens the ledger at `dir` (verified snapshot + tail) and
/// prints `OPEN <seconds> <rss MiB at rest> <peak RSS MiB> <tail events>`.
async fn open_only(dir: &Path) {
    let t = Instant::now();
    let store = reopen(dir);
    let store_secs = t.elapsed().as_secs_f64();
    let (store_rss, store_heap) = (status_mib("VmRSS:"), heap_in_use_mib());
    let cache = env_or(
        OPEN_CACHE_ENV,
        env_or(CACHE_ENV, navigo_ledger_core::STATE_CACHE_ENTRIES_MAX),
    );
    let ledger = Ledger::open_with(store, Policy::default(), 1, cache)
        .await
        .expect("open");
    let secs = t.elapsed().as_secs_f64();
    let tail = ledger.opened().tail_events;
    println!(
        "OPEN {secs} {} {} {tail}",
        status_mib("VmRSS:"),
        peak_rss_mib()
    );
    let w = ledger.world();
    let numbers = keys_and_edges(&w.by_client_number).1;
    // Where the open's time and memory go: the store's own open, then the
    // world; the heap committed (the allocator's count) against the resident
    // set, and the resident set once the allocator gave back what it keeps
    // free.
    let heap = heap_in_use_mib();
    // SAFETY: mi_collect only returns the allocator's free pages to the system.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    eprintln!(
        "open detail: store open {store_secs:.2} s (RSS {store_rss:.0} MiB, heap {store_heap:.0} MiB); \
         opened {secs:.2} s: heap in use {heap:.0} MiB, RSS after mi_collect {:.0} MiB; \
         world: {} versions, {} contracts, {} persons resident; holder {:?}, payer {:?}, fraud {:?} (keys, edges); \
         client numbers {} keys, {numbers} edges",
        status_mib("VmRSS:"),
        w.versions.len(),
        w.contracts.len(),
        w.persons.len(),
        keys_and_edges(&w.by_holder),
        keys_and_edges(&w.by_payer),
        keys_and_edges(&w.by_fraud_party),
        w.by_client_number.len(),
    );
    let _ = ledger.into_store().close().await;
}

/// What the world holds after the import: the entries of each of its maps,
/// caches and indexes, with the heap committed then.
fn print_world_held(ledger: &Ledger<SledStore>, heap: f64) {
    let w = ledger.world();
    let edges =
        |i: &std::collections::BTreeMap<uuid::Uuid, navigo_rules::idset::IdSet>| keys_and_edges(i);
    println!(
        "world after the import (heap {heap:.0} MiB): {} contracts and {} persons resident (bound {}), \
         {} versions, holder {:?}, payer {:?}, fraud {:?}, client numbers {} keys; {} wake dates, \
         {} last-used ticks, {} dirty states, {} chunk starts",
        w.contracts.len(),
        w.persons.len(),
        ledger.state_cache_entries_max(),
        w.versions.len(),
        edges(&w.by_holder),
        edges(&w.by_payer),
        edges(&w.by_fraud_party),
        w.by_client_number.len(),
        w.wakes.known(),
        w.residency.last_used.len(),
        w.residency.dirty.len(),
        w.residency.chunk_starts.len(),
    );
}

/// Opening measured in a fresh process (this bench run again with
/// [`OPEN_ONLY_ENV`]): wall seconds, RSS at rest and peak, events folded after
/// the snapshot.
fn open_in_child(dir: &Path) -> (f64, f64, f64, u64) {
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = std::process::Command::new(exe)
        .env(OPEN_ONLY_ENV, dir)
        .output()
        .expect("the open child");
    let text = String::from_utf8_lossy(&out.stdout);
    for l in String::from_utf8_lossy(&out.stderr).lines() {
        if l.starts_with("open detail") {
            println!("{l}");
        }
    }
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("OPEN "))
        .unwrap_or_else(|| {
            panic!(
                "the open child said {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<f64> = line.split(' ').filter_map(|v| v.parse().ok()).collect();
    (f[0], f[1], f[2], f[3] as u64)
}

/// The billing clock for a month: one advance a day, each at that day's early
/// morning, from the day after `through`, or after the day of the ledger's
/// head when it is later (a kept ledger whose clock already ran past
/// `through`, since the import refuses an instant earlier than the head).
/// The first day and the events appended, and the seconds.
async fn clock_month(
    ledger: &mut Ledger<SledStore>,
    through: NaiveDate,
) -> (NaiveDate, usize, f64) {
    let head = ledger
        .world()
        .head_recorded_at
        .map_or(through, navigo_rules::calendar::paris_date);
    let start = through.max(head).succ_opt().expect("date");
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .expect("date");
    let t = Instant::now();
    let mut events = 0;
    let mut day = start;
    while day <= end {
        let at = day.and_hms_opt(4, 0, 0).expect("time").and_utc();
        events += ledger
            .advance_to(day, at, ClockMode::Import)
            .await
            .expect("clock")
            .len();
        day = day.succ_opt().expect("date");
    }
    (start, events, t.elapsed().as_secs_f64())
}

/// The rebuild of the projections by slices of [`REBUILD_SLICE_IDS`] ids, of
/// the first `contracts` contracts and the same share of the persons: the
/// generation swapped in, the most events one slice held, and the events the
/// slices read.
async fn sliced_rebuild(
    ledger: &mut Ledger<SledStore>,
    db: &ProjectionDb,
    at: NaiveDate,
    contracts: usize,
) -> (navigo_replay::materialize::Generation, usize, usize) {
    let ids = |kind: StreamKind| -> Vec<uuid::Uuid> {
        ledger
            .world()
            .versions
            .keys()
            .filter(|s| s.kind == kind)
            .map(|s| s.id)
            .collect()
    };
    let (mut all_contracts, mut persons) = (ids(StreamKind::Contract), ids(StreamKind::Person));
    let share = contracts.min(all_contracts.len()) as f64 / all_contracts.len().max(1) as f64;
    persons.truncate((persons.len() as f64 * share).ceil() as usize);
    all_contracts.truncate(contracts);
    let mut build = db
        .begin_sliced_rebuild(ledger.world().position, at)
        .expect("begin the rebuild");
    let chunks = all_contracts
        .chunks(REBUILD_SLICE_IDS)
        .map(|c| (c, &[][..]))
        .chain(persons.chunks(REBUILD_SLICE_IDS).map(|p| (&[][..], p)));
    let (mut held, mut read) = (0, 0);
    for (c, p) in chunks {
        let streams = ledger
            .read_paged(|w| rebuild_streams(w, c, p))
            .await
            .expect("the slice's streams");
        let slice = ledger.read_streams(&streams).await.expect("the slice");
        held = held.max(slice.len());
        read += slice.len();
        build.project(c, p, &slice).expect("project");
    }
    (build.finish().expect("swap the generation in"), held, read)
}

/// The projections of the kept ledger at `dir` rebuilt by slices on
/// `NAVIGO_BENCH_THROUGH`, [`REBUILD_ROUNDS_ENV`] times, each round into an
/// empty projection database and after the raw scan + decode of the whole
/// log (its reference): the least time of each, then the bytes of the last
/// round's database, tree by tree (keys and values) against its files once
/// closed. The last round's projections stay, for the lists bench.
async fn rebuild_only(dir: &Path) {
    let rounds: usize = env_or(REBUILD_ROUNDS_ENV, 3);
    let through: NaiveDate = env_or(
        "NAVIGO_BENCH_THROUGH",
        NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
    );
    let cache = env_or(CACHE_ENV, navigo_ledger_core::STATE_CACHE_ENTRIES_MAX);
    let mut ledger = Ledger::open_with(reopen(dir), Policy::default(), 1, cache)
        .await
        .expect("open the kept ledger");
    let projections = dir.join("projections");
    let (mut raw_best, mut rebuild_best) = (Duration::MAX, Duration::MAX);
    let mut events = 0;
    let mut trees = Vec::new();
    for round in 1..=rounds {
        let t = Instant::now();
        let (n, _) = raw_scan_decode(ledger.store());
        let raw = t.elapsed();
        events = n;
        let _ = std::fs::remove_dir_all(&projections);
        let t = Instant::now();
        let db = ProjectionDb::open(dir).expect("projection db");
        let (g, _, _) = sliced_rebuild(&mut ledger, &db, through, usize::MAX).await;
        db.close().expect("close projections");
        let took = t.elapsed();
        let db = ProjectionDb::open(dir).expect("projection db");
        trees = db.tree_bytes().expect("tree bytes");
        drop(db);
        let live: u64 = trees.iter().map(|t| t.key_bytes + t.value_bytes).sum();
        let files = files_bytes(&projections);
        println!(
            "round {round}: raw scan + decode {:.2} s, rebuild (generation {}) {:.2} s ({:.2}); \
             projections {:.1} MiB on disk = {:.0} B/event, live {:.1} MiB = {:.0} B/event",
            raw.as_secs_f64(),
            g.number,
            took.as_secs_f64(),
            raw.as_secs_f64() / took.as_secs_f64(),
            files as f64 / 1_048_576.0,
            files as f64 / n.max(1) as f64,
            live as f64 / 1_048_576.0,
            live as f64 / n.max(1) as f64,
        );
        raw_best = raw_best.min(raw);
        rebuild_best = rebuild_best.min(took);
    }
    let log_bytes = files_bytes(dir) - files_bytes(&projections);
    println!("\n| tree | entries | keys, MiB | values, MiB | B/event |");
    println!("|---|---:|---:|---:|---:|");
    for t in &trees {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} |",
            t.tree,
            t.entries,
            t.key_bytes as f64 / 1_048_576.0,
            t.value_bytes as f64 / 1_048_576.0,
            (t.key_bytes + t.value_bytes) as f64 / events.max(1) as f64
        );
    }
    println!(
        "\nrebuild: least of {rounds}: {:.0} ev/s ({:.2} s); raw scan + decode {:.0} ev/s ({:.2} s); ratio {:.2}; \
         the ledger without projections {:.0} B/event ({events} events)",
        events as f64 / rebuild_best.as_secs_f64(),
        rebuild_best.as_secs_f64(),
        events as f64 / raw_best.as_secs_f64(),
        raw_best.as_secs_f64(),
        raw_best.as_secs_f64() / rebuild_best.as_secs_f64(),
        log_bytes as f64 / events.max(1) as f64,
    );
    let _ = ledger.into_store().close().await;
}

/// Where the ledger's bytes go, as keys and values (before sled's own
/// overhead): the main tree by key prefix (the log, the stream index, the
/// idempotency keys, the Merkle tree, the rest) and the derived states, as
/// `(what, MiB)`.
async fn bytes_by_space(store: &SledStore) -> Vec<(String, f64)> {
    let mut by: std::collections::BTreeMap<u8, usize> = Default::default();
    for item in store.tree().iter() {
        let (k, v) = item.expect("scan");
        *by.entry(k.first().copied().unwrap_or(0)).or_default() += k.len() + v.len();
    }
    let mib = |b: usize| b as f64 / 1_048_576.0;
    let mut out: Vec<(String, f64)> = by
        .into_iter()
        .map(|(p, b)| (format!("{}", char::from(p)), mib(b)))
        .collect();
    let derived = store
        .scan_derived_entries(navigo_ledger_core::states::STATES_SPACE, &[])
        .await
        .expect("derived entries");
    let bytes = derived.iter().map(|(k, v)| k.len() + v.len()).sum();
    out.push((format!("derived ({} entries)", derived.len()), mib(bytes)));
    out
}

/// `verify` of the whole log. Records per second.
fn verify_rate(store: &SledStore) -> f64 {
    let t = Instant::now();
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "the log verifies");
    report.records_checked as f64 / t.elapsed().as_secs_f64()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Every contract state of the ledger in `dir`, paged in through a reopened
/// ledger whose cache holds them all.
async fn world_contracts(dir: &Path, seed: u64) -> Vec<ContractState> {
    let ledger = Ledger::open_with(reopen(dir), Policy::default(), seed, usize::MAX)
        .await
        .expect("reopen");
    let states = ledger.world().contracts.values().cloned().collect();
    let _ = ledger.into_store().close().await;
    states
}

/// Decoding `states` from their stored form (state schema version 7) against
/// decoding them from the CBOR keyed by field names of version 6, alternating
/// in rounds; prints the least time of each, per state, and the bytes.
fn decode_bench(states: &[ContractState]) {
    let new: Vec<Vec<u8>> = states
        .iter()
        .map(|s| stored::encode(s).expect("encode"))
        .collect();
    let old: Vec<Vec<u8>> = states
        .iter()
        .map(|s| {
            let mut out = Vec::new();
            ciborium::into_writer(s, &mut out).expect("cbor");
            out
        })
        .collect();
    let (mut best_new, mut best_old) = (Duration::MAX, Duration::MAX);
    for _ in 0..DECODE_ROUNDS {
        let t = Instant::now();
        for b in &old {
            let s: ContractState = ciborium::from_reader(b.as_slice()).expect("cbor");
            std::hint::black_box(s);
        }
        best_old = best_old.min(t.elapsed());
        let t = Instant::now();
        for b in &new {
            std::hint::black_box(stored::decode(b).expect("stored"));
        }
        best_new = best_new.min(t.elapsed());
    }
    let n = states.len().max(1) as f64;
    let bytes = |v: &[Vec<u8>]| v.iter().map(Vec::len).sum::<usize>() as f64 / n;
    println!(
        "decode of {} contract states, least of {DECODE_ROUNDS} alternating rounds: stored form {:.2} µs/state ({:.0} B), CBOR by field names (version 6) {:.2} µs/state ({:.0} B): ratio {:.3}",
        states.len(),
        best_new.as_secs_f64() * 1e6 / n,
        bytes(&new),
        best_old.as_secs_f64() * 1e6 / n,
        bytes(&old),
        best_new.as_secs_f64() / best_old.as_secs_f64()
    );
}

/// What the import of step 1 measured.
struct Imported {
    appended: u64,
    drive_secs: f64,
    drive_cpu: f64,
    rss_after_import: f64,
}

/// Step 1: the population through the simulator's import batch (rules,
/// billing clock, store) into a new ledger in `ledger_dir`, then a snapshot
/// as the ledger closes.
async fn import(ledger_dir: &Path, config: PopulationConfig, cache: usize) -> Imported {
    let seed = config.seed;
    let store = match std::env::var_os(RESUME_ENV) {
        Some(_) => reopen(ledger_dir),
        None => open(ledger_dir),
    };
    let mut ledger = Ledger::open_with(store, Policy::default(), seed, cache)
        .await
        .expect("ledger");
    ledger
        .load_builtin_reference(builtin_at(), ClockMode::Import)
        .await
        .expect("reference data");
    let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
    let heap_before = heap_in_use_mib();
    let before = ledger.world().position;
    let cpu = process_cpu();
    let t = Instant::now();
    // The plan a window at a time (the import's memory bounded), or whole (the
    // path before the windows, to compare with) when asked.
    let (report, plan_heap, generate_secs) = if std::env::var_os(WHOLE_PLAN_ENV).is_some() {
        let plan = generate(config, &campaigns);
        let generate_secs = t.elapsed().as_secs_f64();
        let plan_heap = heap_in_use_mib() - heap_before;
        let report = drive(&mut ledger, &plan.commands, &mut |_| {})
            .await
            .expect("drive");
        (report, plan_heap, generate_secs)
    } else {
        let mut windows =
            PlanWindows::new(config, &campaigns, PLAN_WINDOW_REQUESTS_MAX).expect("plan");
        let generate_secs = t.elapsed().as_secs_f64();
        println!(
            "plan: {} requests in {} windows of at most {PLAN_WINDOW_REQUESTS_MAX}, spilled to a temporary file of {:.0} MiB",
            windows.requests(),
            windows.windows_left(),
            windows.spilled_bytes() as f64 / 1_048_576.0
        );
        let report = drive_windows(&mut ledger, &mut windows, &mut |_| {})
            .await
            .expect("drive");
        (report, f64::NAN, generate_secs)
    };
    let drive_secs = t.elapsed().as_secs_f64();
    let drive_cpu = (process_cpu() - cpu).as_secs_f64();
    let appended = ledger.world().position - before;
    let import_rate = appended as f64 / drive_secs;
    let import_cpu_rate = appended as f64 / drive_cpu;
    let rss_after_import = peak_rss_mib();
    let heap_peak = heap_peak_mib();
    print_world_held(&ledger, heap_in_use_mib());
    println!(
        "derived database compacted {} times during the import",
        ledger.store().derived_compactions()
    );
    let t = Instant::now();
    let store = ledger.close().await.expect("close");
    let snapshot_secs = t.elapsed().as_secs_f64();
    let heap_store = heap_in_use_mib();
    let t = Instant::now();
    let _ = store.close().await;
    let store_close_secs = t.elapsed().as_secs_f64();
    println!(
        "import heap (allocator's committed MiB): before {heap_before:.0}, the whole plan {plan_heap:.0}, peak {heap_peak:.0}, \
         after the world is dropped (the store open) {heap_store:.0}, after the store closed {:.0}",
        heap_in_use_mib()
    );
    println!(
        "generated in {generate_secs:.1} s; imported in {drive_secs:.1} s: {appended} events ({} by the clock), {} refused, {} already applied, {} earlier than the head; snapshot written in {snapshot_secs:.1} s; store closed in {store_close_secs:.1} s",
        report.clock_events,
        report.refused_total(),
        report.already_applied,
        report.out_of_order
    );

    println!(
        "import: {import_cpu_rate:.0} ev/CPU-s ({drive_cpu:.1} CPU-s, {import_rate:.0} ev/s on the wall), peak RSS so far {rss_after_import:.0} MiB"
    );
    if std::env::var_os(DECODE_ONLY_ENV).is_some() {
        decode_bench(&world_contracts(ledger_dir, seed).await);
    }
    Imported {
        appended,
        drive_secs,
        drive_cpu,
        rss_after_import,
    }
}

/// One kind of one-id read: its name, its costs and its raw reference's.
type Reads = Vec<(&'static str, Costs, Costs)>;

/// One-id reads of `queries` random contracts, each interleaved with its raw
/// reference: the calendar as of a past date and as known at a past instant
/// (the contract and the catalogue), the state and the audit trail through the
/// ledger's slice as the service reads it (the contract's stream and the
/// catalogue, then the streams their fold and the world's indexes pick: no
/// state paged in), in an order drawn for each query. Each is timed on the
/// wall and on the thread's CPU clock, and counted as preempted when the
/// scheduler took its core away meanwhile (see `Cost`). `(from, days)` is the
/// span the dates are drawn in.
async fn one_id_reads(
    ledger: &mut Ledger<SledStore>,
    contract_ids: &[uuid::Uuid],
    (from, days): (NaiveDate, u32),
    queries: usize,
    seed: u64,
) -> Reads {
    let mut rng = Rng::new(seed ^ 0xA5);
    let mut order = Rng::new(seed ^ 0x0D);
    let policy = Policy::default();
    let mut t: [Vec<Cost>; 6] = Default::default();
    for _ in 0..queries.min(contract_ids.len() * 4) {
        let Some(id) = rng.pick(contract_ids).copied() else {
            break;
        };
        let at = from + chrono::Duration::days(i64::from(rng.range(0, days)));
        let known_at = at.and_hms_opt(12, 0, 0).expect("time").and_utc();
        // Whichever read of the same streams comes first pays the store's
        // cold reads (sled's page cache, the records' decompression) and
        // leaves them warm for the others: a profile of these reads at 1 M
        // puts most of their time there, not in the folds. So the order of
        // each group (a raw reference and the reads it is the reference of)
        // is drawn for each query, each read going first a third of the time.
        let first = order.range(0, 3);
        let mut lens = [0usize; 3];
        for step in 0..3 {
            let k = ((step + first) % 3) as usize;
            let timer = Timer::start();
            lens[k] = match k {
                0 => raw_read(
                    ledger.store(),
                    &[StreamId::contract(id), StreamId::catalogue()],
                ),
                _ => {
                    let slice = read_contract(ledger.store(), id, false)
                        .await
                        .expect("read");
                    let query = Query {
                        at,
                        known_at: (k == 2).then_some(known_at),
                    };
                    // As known at an instant before the contract was recorded,
                    // the calendar is refused as unknown: a read like any other.
                    let c = calendar::calendar(&Folded::new(&slice, &query), id, &policy, None);
                    std::hint::black_box(c.ok());
                    slice.len()
                }
            };
            t[k].push(timer.stop());
        }
        assert_eq!(
            lens, [lens[0]; 3],
            "the reference reads the calendar's events"
        );
        // The state and the audit trail as the service reads them, and their
        // reference, the raw read of the same streams. The streams are
        // listed first, untimed, from the contract's state: that reads the
        // derived states, not the log.
        let listed: Vec<StreamId> = ledger
            .read_paged(|w| contract_streams(w, id))
            .await
            .expect("read")
            .expect("a known contract")
            .into_iter()
            .collect();
        let first = order.range(0, 3);
        for step in 0..3 {
            let k = ((step + first) % 3) as usize;
            let timer = Timer::start();
            lens[k] = match k {
                2 => raw_read(ledger.store(), &listed),
                _ => {
                    let reader: &Ledger<SledStore> = ledger;
                    let read = |streams| async move { reader.read_streams(&streams).await };
                    let slice = read_contract_slice(reader.world(), id, read)
                        .await
                        .expect("read")
                        .expect("a known contract");
                    if k == 0 {
                        let q = Query::on(at);
                        std::hint::black_box(state::contract_state(&Folded::new(&slice, &q), id))
                            .expect("state");
                    } else {
                        std::hint::black_box(audit_whole_log(&slice, id, None)).expect("audit");
                    }
                    slice.len()
                }
            };
            t[3 + k].push(timer.stop());
        }
        assert_eq!(lens, [lens[2]; 3], "the reference reads the state's events");
    }
    let [raw_c, cal, known, st, audit, raw_s] = t.map(|c| Costs::of(&c));
    vec![
        ("calendar as of a past date", cal, raw_c.clone()),
        ("calendar as known at a past instant", known, raw_c),
        ("contract state via the ledger's slice", st, raw_s.clone()),
        (
            "audit trail of the contract via the ledger's slice",
            audit,
            raw_s,
        ),
    ]
}

/// The rows of the one-id reads: p50 and p99 on the wall, p99 of the thread's
/// CPU time, each against its reference's.
fn print_reads(reads: &Reads) {
    for (what, c, r) in reads {
        println!(
            "| {what} p50 | {:.1?} | prefix scan + decode: {:.1?} | {:.2} |",
            c.wall50,
            r.wall50,
            ratio(c.wall50, r.wall50)
        );
        println!(
            "| {what} p99 | {:.1?} ({} of {} preempted) | prefix scan + decode: {:.1?} ({} preempted) | {:.2} |",
            c.wall99,
            c.preempted,
            c.n,
            r.wall99,
            r.preempted,
            ratio(c.wall99, r.wall99)
        );
        println!(
            "| {what} p99, thread CPU time | {:.1?} | prefix scan + decode: {:.1?} | {:.2} |",
            c.cpu99,
            r.cpu99,
            ratio(c.cpu99, r.cpu99)
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Some(dir) = std::env::var_os(OPEN_ONLY_ENV) {
        open_only(Path::new(&dir)).await;
        return;
    }
    if let Some(dir) = std::env::var_os(REBUILD_ONLY_ENV) {
        rebuild_only(Path::new(&dir)).await;
        return;
    }
    let contracts: u32 = env_or("NAVIGO_BENCH_CONTRACTS", 2_000);
    let from: NaiveDate = env_or(
        "NAVIGO_BENCH_FROM",
        NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
    );
    let through: NaiveDate = env_or(
        "NAVIGO_BENCH_THROUGH",
        NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
    );
    let queries: usize = env_or("NAVIGO_BENCH_QUERIES", 2_000);
    let seed: u64 = env_or("NAVIGO_BENCH_SEED", 2024);
    let base: PathBuf = env_or("NAVIGO_BENCH_DIR", std::env::temp_dir())
        .join(format!("navigo-regional-{}", std::process::id()));
    let kept = std::env::var_os(AFTER_IMPORT_ENV).map(PathBuf::from);
    let resumed = std::env::var_os(RESUME_ENV).map(PathBuf::from);
    let ledger_dir = kept
        .clone()
        .or(resumed)
        .unwrap_or_else(|| base.join("ledger"));
    let _ = std::fs::remove_dir_all(&base);
    match &kept {
        None => println!("regional bench: {contracts} contracts, {from} to {through}, seed {seed}"),
        Some(_) => println!("regional bench after the import: {from} to {through}, seed {seed}"),
    }

    // 1. The import, unless a kept ledger is measured after its import
    // (`NAVIGO_BENCH_AFTER_IMPORT`).
    let cache = env_or(CACHE_ENV, navigo_ledger_core::STATE_CACHE_ENTRIES_MAX);
    let imported = if kept.is_some() {
        println!(
            "the ledger in {} as kept after its import",
            ledger_dir.display()
        );
        Imported {
            appended: 0,
            drive_secs: f64::NAN,
            drive_cpu: f64::NAN,
            rss_after_import: f64::NAN,
        }
    } else {
        let config = PopulationConfig {
            seed,
            contracts,
            from,
            through,
        };
        import(&ledger_dir, config, cache).await
    };
    if std::env::var_os(IMPORT_ONLY_ENV).is_some() || std::env::var_os(DECODE_ONLY_ENV).is_some() {
        if std::env::var_os(KEEP_ENV).is_none() {
            let _ = std::fs::remove_dir_all(&base);
        }
        return;
    }
    let Imported {
        appended,
        drive_secs,
        drive_cpu,
        rss_after_import,
    } = imported;
    let import_rate = appended as f64 / drive_secs;
    let import_cpu_rate = appended as f64 / drive_cpu;

    // 2. Opening in a fresh process: wall and RSS at rest.
    let (open_secs, open_rss, open_peak, open_tail) = open_in_child(&ledger_dir);

    // 3. The ledger reopened (the billing clock's month is measured last, so
    // that the reads, the rebuild and verify see the ledger as it was kept,
    // and each figure is printed as soon as it is measured: a region's run
    // may outlast its sitting).
    println!("\n| figure | value | reference (same run) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| open in a fresh process (snapshot + {open_tail} events) | {open_secs:.2} s; RSS at rest {open_rss:.0} MiB, peak {open_peak:.0} MiB | | |"
    );
    let mut peaks = StepPeaks::default();
    peaks.step("before the reopen");
    let t = Instant::now();
    let mut ledger = Ledger::open_with(reopen(&ledger_dir), Policy::default(), seed, cache)
        .await
        .expect("reopen");
    let reopen_secs = t.elapsed().as_secs_f64();
    println!("| reopen in process, after the snapshot | {reopen_secs:.2} s | | |");
    peaks.step("reopen");
    // Every contract, resident or not: the versions name every stream.
    let contract_ids: Vec<_> = ledger
        .world()
        .versions
        .keys()
        .filter(|s| s.kind == StreamKind::Contract)
        .map(|s| s.id)
        .collect();

    if std::env::var_os(READS_ONLY_ENV).is_some() {
        let days = (through - from).num_days().max(1) as u32;
        let reads = one_id_reads(&mut ledger, &contract_ids, (from, days), queries, seed).await;
        peaks.step("one-id reads");
        print_reads(&reads);
        let _ = ledger.into_store().close().await;
        return;
    }

    // 4. Size on disk and the log's mean record size; the raw references.
    // Only the sample is held: the log itself is scanned for its size, so
    // that this step's memory does not grow with the region.
    let store = ledger.store();
    let events = read_first(store, RAW_SAMPLE_EVENTS_MAX).await;
    let (total_events, log_bytes) = store
        .tree()
        .scan_prefix([LOG])
        .map(|i| i.map(|(_, v)| v.len()).unwrap_or(0))
        .fold((0usize, 0usize), |(n, b), len| (n + 1, b + len));
    let record_bytes = log_bytes / total_events.max(1);
    let sample = events.len();
    let (raw_append, raw_append_cpu) =
        raw_sled_batched(&base.join("raw-sled"), sample, record_bytes);
    let store_rate = raw_store_appends(&base.join("raw-store"), &events).await;
    drop(events);
    peaks.step("raw references");
    println!(
        "| import (simulator's batch) | {import_rate:.0} ev/s ({appended} events, {drive_secs:.1} s; peak RSS so far {rss_after_import:.0} MiB) | raw sled batch {RAW_BATCH}: {raw_append:.0} ev/s | {:.2} |",
        import_rate / raw_append
    );
    println!(
        "| import, per second of the process's CPU (every thread) | {import_cpu_rate:.0} ev/CPU-s ({drive_cpu:.1} CPU-s) | raw sled batch {RAW_BATCH}: {raw_append_cpu:.0} ev/CPU-s | {:.2} |",
        import_cpu_rate / raw_append_cpu
    );
    println!(
        "| appends, raw store ({STORE_WRITERS} single-event writers, {sample} events) | {store_rate:.0} ev/s | raw sled batch {RAW_BATCH}: {raw_append:.0} ev/s | {:.2} |",
        store_rate / raw_append
    );

    // 5. Rebuild and verify against a raw scan + decode (raw first). The
    // rebuild reads the log a slice at a time, never the whole of it.
    let (scanned, raw_scan) = raw_scan_decode(store);
    let verify = verify_rate(store);
    peaks.step("scan + decode and verify");
    println!(
        "| verify | {verify:.0} records/s | scan + decode: {raw_scan:.0} ev/s ({scanned} events) | {:.2} |",
        verify / raw_scan
    );
    let t = Instant::now();
    let db = ProjectionDb::open(&ledger_dir).expect("projection db");
    let rebuilt_contracts = env_or(REBUILD_CONTRACTS_ENV, contract_ids.len());
    let (g, slice_max, slices_read) =
        sliced_rebuild(&mut ledger, &db, through, rebuilt_contracts).await;
    let rebuild_secs = t.elapsed().as_secs_f64();
    // The whole log when every slice is rebuilt; else the events the slices
    // read (a stream two slices share counted in each).
    let rebuilt_events = if rebuilt_contracts >= contract_ids.len() {
        total_events
    } else {
        slices_read
    };
    let rebuild_rate = rebuilt_events as f64 / rebuild_secs;
    db.close().expect("close projections");
    peaks.step("rebuild");
    println!(
        "| rebuild (generation {}, {} of {} contracts) | {rebuild_rate:.0} ev/s ({rebuilt_events} events, {rebuild_secs:.1} s) | scan + decode: {raw_scan:.0} ev/s ({scanned} events) | {:.2} |",
        g.number,
        rebuilt_contracts.min(contract_ids.len()),
        contract_ids.len(),
        rebuild_rate / raw_scan
    );
    println!(
        "| rebuild by slices of {REBUILD_SLICE_IDS} ids: most events held at once | {slice_max} events | | |"
    );

    // 6. One-id reads of random contracts, each with its raw reference.
    let days = (through - from).num_days().max(1) as u32;
    let reads = one_id_reads(&mut ledger, &contract_ids, (from, days), queries, seed).await;
    peaks.step("one-id reads");
    print_reads(&reads);

    // 7. The billing clock for a month, on the ledger as measured so far.
    let cpu = process_cpu();
    let (clock_from, clock_events, clock_secs) = clock_month(&mut ledger, through).await;
    let clock_rate = clock_events as f64 / clock_secs;
    let clock_cpu_rate = clock_events as f64 / (process_cpu() - cpu).as_secs_f64();
    peaks.step("clock month");
    println!(
        "| billing clock, the month from {clock_from} | {clock_rate:.0} ev/s ({clock_events} events, {clock_secs:.1} s) | raw sled batch {RAW_BATCH}: {raw_append:.0} ev/s | {:.2} |",
        clock_rate / raw_append
    );
    println!(
        "| billing clock, per second of the process's CPU | {clock_cpu_rate:.0} ev/CPU-s | raw sled batch {RAW_BATCH}: {raw_append_cpu:.0} ev/CPU-s | {:.2} |",
        clock_cpu_rate / raw_append_cpu
    );

    // 8. What is on disk. The count holds every derived entry at once, so
    // its peak is reported apart: it is the bench's, not a command's.
    let spaces = bytes_by_space(ledger.store()).await;
    peaks.step("the bench's count of bytes by space");
    let total_events = ledger.world().position;
    let _ = ledger.into_store().close().await;
    // The projections apart, and sled's files an open after a crash copied
    // aside (`guard`), which are not the ledger's.
    let aside = files_bytes(&ledger_dir.join(navigo_store_sled::guard::BEFORE_RECOVERY_DIR));
    let projection_bytes = files_bytes(&ledger_dir.join("projections"));
    let ledger_bytes = files_bytes(&ledger_dir) - projection_bytes - aside;
    println!(
        "| log on disk | {:.0} bytes/event ({:.1} MiB, {total_events} events, {} contracts, mean record {record_bytes} B) | | |",
        ledger_bytes as f64 / total_events as f64,
        ledger_bytes as f64 / 1_048_576.0,
        contract_ids.len()
    );
    let spaces: Vec<String> = spaces
        .iter()
        .map(|(what, mib)| format!("{what} {mib:.1}"))
        .collect();
    println!(
        "| keys and values by space, MiB (L log, S stream index, I idempotency keys, G Merkle, M meta) | {} | | |",
        spaces.join(", ")
    );
    println!(
        "| projections on disk | {:.1} MiB | | |",
        projection_bytes as f64 / 1_048_576.0
    );
    println!(
        "| peak RSS (VmHWM) of each step after the import, MiB | {} | | |",
        peaks.line()
    );
    // Kept when asked, to profile opening it again (`NAVIGO_BENCH_OPEN_ONLY`).
    if std::env::var_os(KEEP_ENV).is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
}
