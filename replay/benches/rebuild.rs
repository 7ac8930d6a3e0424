//! Full rebuild throughput against a raw scan of the same log.
//!
//! Generates a log of `NAVIGO_BENCH_EVENTS` events (default 200 000): the
//! reference data once, then copies of one realistic contract history (a person,
//! an agency subscription, seven months of debits from the billing clock), each
//! copy with its own person and contract ids. Then measures, in the same run:
//! the raw figure (a sled scan with JSON decode of every record, through the
//! store's `read_all` stream, one thread) and the full rebuild (the log read as
//! the `rebuild` command reads it, `read_everything`, which decodes and checks
//! on every core; the folds and every materialized projection written), in
//! events per second, and the peak memory. Each run prints the machine's load
//! average (`/proc/loadavg`) before and after: the machine may be shared.
//!
//! `cargo bench -p navigo-replay --bench rebuild` (5 M events:
//! `NAVIGO_BENCH_EVENTS=5000000 cargo bench -p navigo-replay --bench rebuild`).
//! To profile the rebuild alone, set `NAVIGO_BENCH_WAIT_FILE=PATH`: the bench
//! prints its pid and waits for PATH to exist before the rebuild (attach
//! `perf record -g -p PID`, then create PATH). It also prints the bytes the
//! rebuild passed to write calls (`wchar` of `/proc/self/io`).

use std::sync::Arc;
use std::time::Instant;

use navigo_events_schema::{Envelope, Event, NewEvent, StreamId, StreamKind};
use navigo_ledger_core::load::read_everything;
use navigo_replay::materialize::ProjectionDb;
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::*;
use uuid::Uuid;

/// The load average line of the machine (1, 5 and 15 minutes).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The raw figure's read: the `read_all` stream drained on this thread.
async fn read_all_stream(store: &SledStore) -> Vec<Envelope> {
    let mut all = store.read_all(1);
    let mut out = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| all.as_mut().poll_next(cx)).await {
        out.push(item.expect("read"));
    }
    out
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// CPU seconds (user + system, every thread) of this process so far: a figure
/// less sensitive than wall time to the other loads of a shared machine.
fn cpu_secs() -> f64 {
    // /proc/self/stat: fields 14 and 15 (utime, stime) in clock ticks (100 Hz on
    // Linux), after the command name in parentheses.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Bytes this process has passed to write calls so far (`wchar` of
/// `/proc/self/io`): what sled writes, whether or not it reached the disk yet.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let target: u64 = std::env::var("NAVIGO_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("navigo-replay-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).expect("init");
    let clock = Arc::new(ManualClock::new(at(d(2027, 3, 1))));
    let store = SledStore::open(&dir, Limits::default(), clock).expect("open");

    // One realistic history, from the engine and the billing clock.
    let s = agency_contract_billed_through(d(2027, 2, 1));
    let mut per_copy: Vec<(StreamKind, Vec<NewEvent>)> = Vec::new();
    let mut reference: Vec<(StreamId, Vec<NewEvent>)> = Vec::new();
    for (stream, e) in &s.log {
        match stream.kind {
            StreamKind::Contract | StreamKind::Person => {
                match per_copy.iter_mut().find(|(k, _)| *k == stream.kind) {
                    Some((_, v)) => v.push(e.clone()),
                    None => per_copy.push((stream.kind, vec![e.clone()])),
                }
            }
            _ => match reference.iter_mut().find(|(s, _)| s == stream) {
                Some((_, v)) => v.push(e.clone()),
                None => reference.push((*stream, vec![e.clone()])),
            },
        }
    }
    let mut written = 0u64;
    for (stream, events) in reference {
        written += events.len() as u64;
        store
            .append(AppendRequest {
                stream,
                expected: ExpectedVersion::Any,
                events,
                idempotency_key: None,
                recorded_at: None,
            })
            .await
            .expect("append reference");
    }
    let per: u64 = per_copy.iter().map(|(_, v)| v.len() as u64).sum();
    let mut n: u128 = 0;
    let gen_start = Instant::now();
    while written + per <= target.max(per) {
        n += 1;
        let person = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n);
        let contract = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0000 | n);
        for (kind, template) in &per_copy {
            let stream = match kind {
                StreamKind::Person => StreamId::person(person),
                _ => StreamId::contract(contract),
            };
            let events: Vec<NewEvent> = template
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut e = e.clone();
                    e.event_id = Uuid::from_u128(
                        (n << 16) | i as u128 | (u128::from(*kind == StreamKind::Person) << 15),
                    );
                    match &mut e.event {
                        Event::ContractSubscribed(x) => {
                            x.holder = person;
                            x.payer = person;
                        }
                        Event::DebitPresented(x) => x.payer = person,
                        _ => {}
                    }
                    e
                })
                .collect();
            store
                .append(AppendRequest {
                    stream,
                    expected: ExpectedVersion::Exact(0),
                    events,
                    idempotency_key: None,
                    recorded_at: None,
                })
                .await
                .expect("append copy");
        }
        written += per;
        if written >= target {
            break;
        }
    }
    println!(
        "generated {written} events ({n} contracts, {per} events each) in {:.1} s",
        gen_start.elapsed().as_secs_f64()
    );

    println!("memory after generation: {:.0} MiB resident", rss_mb());
    println!("load average before the measures: {}", loadavg());
    let t = Instant::now();
    let cpu = cpu_secs();
    let events = read_all_stream(&store).await;
    let raw_secs = t.elapsed().as_secs_f64();
    let raw_cpu = cpu_secs() - cpu;
    let count = events.len() as f64;
    println!(
        "memory holding the decoded log: {:.0} MiB resident (peak so far {:.0} MiB)",
        rss_mb(),
        peak_rss_mb()
    );
    drop(events);
    let raw = count / raw_secs;
    println!(
        "raw sled scan + JSON decode: {count} events in {raw_secs:.2} s = {raw:.0} events/s (CPU {raw_cpu:.2} s)"
    );

    // Reset the high-water mark (Linux: 5 to clear_refs) so that the peak printed
    // after the rebuild is the rebuild's own, not the generator's.
    let peak_before = peak_rss_mb();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    println!(
        "before the rebuild: {:.0} MiB resident, peak so far {peak_before:.0} MiB (peak reset: {reset})",
        rss_mb()
    );
    if let Ok(path) = std::env::var("NAVIGO_BENCH_WAIT_FILE") {
        println!(
            "pid {}: waiting for {path} before the rebuild",
            std::process::id()
        );
        while !std::path::Path::new(&path).exists() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let written_before = written_bytes();
    let t = Instant::now();
    let cpu = cpu_secs();
    let events = read_everything(&store).await.expect("read");
    let read_secs = t.elapsed().as_secs_f64();
    let db = ProjectionDb::open(&dir).expect("projection db");
    let mut indexed_secs = 0.0;
    let g = db
        .rebuild(&events, d(2027, 2, 15), &mut |p| {
            if p.phase == "indexed" {
                indexed_secs = t.elapsed().as_secs_f64();
            }
        })
        .expect("rebuild");
    let secs = t.elapsed().as_secs_f64();
    let rebuild_cpu = cpu_secs() - cpu;
    let rebuild_written = written_bytes() - written_before;
    println!(
        "phases: read {read_secs:.2} s, index {:.2} s, project + write {:.2} s",
        indexed_secs - read_secs,
        secs - indexed_secs
    );
    let rate = count / secs;
    println!(
        "full rebuild (read + fold + project + write, generation {}): {count} events in {secs:.2} s = {rate:.0} events/s = {:.3} x raw",
        g.number,
        rate / raw
    );
    println!(
        "CPU of the rebuild (every thread): {rebuild_cpu:.2} s = {:.0} events per CPU second ({:.3} x raw per CPU second)",
        count / rebuild_cpu,
        (count / rebuild_cpu) / (count / raw_cpu.max(1e-9))
    );
    println!(
        "peak memory (VmHWM) during the rebuild: {:.0} MiB; resident after it: {:.0} MiB",
        peak_rss_mb(),
        rss_mb()
    );
    println!(
        "written by the rebuild through write calls (wchar): {:.0} MiB",
        rebuild_written as f64 / (1024.0 * 1024.0)
    );
    drop(events);
    let _ = db.close();
    let du = |p: &std::path::Path| {
        std::process::Command::new("du")
            .args(["-sm"])
            .arg(p)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default()
    };
    println!(
        "on disk: ledger directory {} MiB, of which projections {} MiB",
        du(&dir),
        du(&dir.join("projections"))
    );
    println!("load average after the measures: {}", loadavg());
    let _ = store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
