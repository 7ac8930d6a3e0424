//! What the plan of a generated region costs a window at a time, nothing
//! imported: CPU seconds, wall seconds and peak RSS of
//!
//! | case | what runs |
//! |---|---|
//! | `run` | one run of the generator keeping nothing (the reference) |
//! | `spilled` | `PlanWindows::new` and every `next_window`: one run spilled to a temporary file, read back a window at a time |
//! | `regenerated` | the windows as they were made before the spill: one counting run, then one whole run a window |
//!
//! each case in a child process of its own (this binary again, with
//! `--case`), so that its peak RSS (VmHWM) is its own; within a round the
//! cases alternate, and each figure keeps the least CPU time of its rounds.
//! The CPU ratios are to `run` of the same size and rounds.
//!
//! `nice -n 19 cargo bench -p navigo-sim --bench plan_windows` with
//! `NAVIGO_BENCH_CONTRACTS` (sizes, comma-separated; default 100000),
//! `NAVIGO_BENCH_CASES` (default `run,spilled,regenerated`),
//! `NAVIGO_BENCH_ROUNDS` (default 2), `NAVIGO_BENCH_SEED` (default 2024), the
//! period 2024-01-01 to 2026-10-31 as the regional bench's, and windows of
//! `PLAN_WINDOW_REQUESTS_MAX` requests.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use navigo_sim::generate::regenerated;
use navigo_sim::{PlanWindows, PopulationConfig, PLAN_WINDOW_REQUESTS_MAX};

// The binary's allocator, so that the peak RSS is the import's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a child measured of one case.
#[derive(Debug, Clone, Copy)]
struct Measure {
    cpu_s: f64,
    wall_s: f64,
    peak_rss_mib: f64,
    requests: usize,
    windows: usize,
    largest_window: usize,
    spilled_mib: f64,
    chunks: usize,
    /// CPU seconds of `PlanWindows::new` (the spilled run), before any window.
    spill_cpu_s: f64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(contracts: u32) -> PopulationConfig {
    PopulationConfig {
        seed: env_or("NAVIGO_BENCH_SEED", 2024),
        contracts,
        from: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        through: NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
    }
}

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

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Runs one case in this process and prints what it measured.
fn child(case: &str, contracts: u32) {
    let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
    let cfg = config(contracts);
    let (cpu, t) = (process_cpu(), Instant::now());
    let mut m = Measure {
        cpu_s: 0.0,
        wall_s: 0.0,
        peak_rss_mib: 0.0,
        requests: 0,
        windows: 0,
        largest_window: 0,
        spilled_mib: 0.0,
        chunks: 0,
        spill_cpu_s: 0.0,
    };
    let mut window = |w: Vec<_>| {
        m.requests += w.len();
        m.windows += 1;
        m.largest_window = m.largest_window.max(w.len());
    };
    let (mut spilled, mut chunks, mut spill_cpu) = (0, 0, Duration::ZERO);
    match case {
        "run" => m.requests = regenerated::generator_run(cfg, &campaigns),
        "regenerated" => {
            regenerated::windows(cfg, &campaigns, PLAN_WINDOW_REQUESTS_MAX, &mut window)
        }
        "spilled" => {
            let mut windows =
                PlanWindows::new(cfg, &campaigns, PLAN_WINDOW_REQUESTS_MAX).expect("spill");
            spill_cpu = process_cpu() - cpu;
            spilled = windows.spilled_bytes();
            chunks = windows.spilled_chunks();
            while let Some(w) = windows.next_window().expect("window") {
                window(w);
            }
        }
        other => panic!("unknown case {other}"),
    }
    m.cpu_s = (process_cpu() - cpu).as_secs_f64();
    m.wall_s = t.elapsed().as_secs_f64();
    m.peak_rss_mib = peak_rss_mib();
    m.spilled_mib = spilled as f64 / 1_048_576.0;
    m.chunks = chunks;
    m.spill_cpu_s = spill_cpu.as_secs_f64();
    println!(
        "MEASURE {} {} {} {} {} {} {} {} {}",
        m.cpu_s,
        m.wall_s,
        m.peak_rss_mib,
        m.requests,
        m.windows,
        m.largest_window,
        m.spilled_mib,
        m.chunks,
        m.spill_cpu_s
    );
}

fn spawn(case: &str, contracts: u32) -> Measure {
    let exe = std::env::current_exe().expect("this bench's path");
    let out = Command::new(exe)
        .args(["--case", case, "--contracts", &contracts.to_string()])
        .output()
        .expect("a child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{case} at {contracts}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("MEASURE "))
        .expect("a measure");
    let f: Vec<f64> = line
        .split(' ')
        .map(|x| x.parse().expect("a number"))
        .collect();
    Measure {
        cpu_s: f[0],
        wall_s: f[1],
        peak_rss_mib: f[2],
        requests: f[3] as usize,
        windows: f[4] as usize,
        largest_window: f[5] as usize,
        spilled_mib: f[6],
        chunks: f[7] as usize,
        spill_cpu_s: f[8],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let after = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if let Some(case) = after("--case") {
        let contracts = after("--contracts")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        child(case, contracts);
        return;
    }
    let sizes: Vec<u32> = std::env::var("NAVIGO_BENCH_CONTRACTS")
        .unwrap_or_else(|_| "100000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let cases = std::env::var("NAVIGO_BENCH_CASES")
        .unwrap_or_else(|_| "run,spilled,regenerated".to_owned());
    let cases: Vec<&str> = cases.split(',').map(str::trim).collect();
    let rounds: usize = env_or("NAVIGO_BENCH_ROUNDS", 2);
    for contracts in sizes {
        let mut best: BTreeMap<&str, Measure> = BTreeMap::new();
        for round in 0..rounds {
            for case in &cases {
                let m = spawn(case, contracts);
                println!(
                    "round {round} {case:>11} at {contracts}: cpu {:.1} s, wall {:.1} s, peak RSS {:.0} MiB",
                    m.cpu_s, m.wall_s, m.peak_rss_mib
                );
                let kept = best.entry(case).or_insert(m);
                if m.cpu_s < kept.cpu_s {
                    *kept = m;
                }
            }
        }
        let reference = best.get("run").map(|m| m.cpu_s);
        println!("{contracts} contracts, least CPU of {rounds} rounds:");
        println!("| case | CPU s | × run | of which the spilled run | wall s | peak RSS MiB | requests | windows | largest | spilled MiB | chunks |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for (case, m) in &best {
            let ratio = reference.map_or(f64::NAN, |r| m.cpu_s / r);
            println!(
                "| {case} | {:.1} | {ratio:.2} | {:.1} | {:.1} | {:.0} | {} | {} | {} | {:.0} | {} |",
                m.cpu_s,
                m.spill_cpu_s,
                m.wall_s,
                m.peak_rss_mib,
                m.requests,
                m.windows,
                m.largest_window,
                m.spilled_mib,
                m.chunks
            );
        }
    }
}
