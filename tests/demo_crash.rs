//! Simulation test: `navigo-ledger demo` killed at a seeded random
//! moment while it appends, runs the clock or rebuilds its projections. After the
//! kill the chain verifies and every contract folds with its balance invariant;
//! running the same demo again on the same data directory resumes and ends with
//! the figures of an uninterrupted run, and its materialized projections equal
//! the projections computed on demand from the log (`check-projections`).
//!
//! Each run prints its seed; `NAVIGO_SIM_SEED=<seed>` reruns it,
//! `NAVIGO_SIM_RUNS=<n>` runs n seeds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use navigo_ledger_core::Ledger;
use navigo_rules::Policy;
use navigo_sim::summary::balance_holds;
use navigo_sim::Rng;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::{verify_ledger, SledStore};
use serde_json::Value;

/// Contracts of the crashed demo (small: CI).
const CRASH_CONTRACTS: &str = "200";
/// The window in which the demo is killed, in milliseconds after its start: a
/// debug build of this demo appends for about a second and rebuilds its
/// projections for under another second.
const KILL_AFTER_MS_MIN: u32 = 20;
const KILL_AFTER_MS_MAX: u32 = 1_700;

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("NAVIGO_SIM_SEED") {
        return vec![s.trim().parse().expect("NAVIGO_SIM_SEED is a u64")];
    }
    let runs: u64 = std::env::var("NAVIGO_SIM_RUNS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    (0..runs).map(|i| 0xC4A5_0000 + i * 104_729).collect()
}

fn fresh_dir(name: &str, seed: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("demo-crash")
        .join(format!("{name}-{seed}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn demo(dir: &Path, seed: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_navigo-ledger"));
    // Time in tests is injected: the binary's clock stands at this instant.
    c.env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z");
    c.arg("--data")
        .arg(dir)
        .args([
            "demo",
            "--contracts",
            CRASH_CONTRACTS,
            "--through",
            "2024-12-31",
        ])
        .args(["--seed", &seed.to_string(), "--json"]);
    c
}

fn run_to_completion(dir: &Path, seed: u64) -> Value {
    let out = demo(dir, seed).output().expect("the demo runs");
    assert!(
        out.status.success(),
        "seed {seed}: demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the demo prints one JSON object")
}

/// The business figures of a summary (timings and request counts differ between
/// a resumed run and an uninterrupted one).
fn figures(v: &Value) -> Value {
    serde_json::json!({
        "contracts": v["contracts"],
        "persons": v["persons"],
        "by_status": v["by_status"],
        "by_product": v["by_product"],
        "amounts": v["amounts"],
        "active_bans": v["active_bans"],
        "balance_mismatches": v["balance_mismatches"],
        "projection_rows": v["projections"]["views"]
            .as_object()
            .map(|views| views.iter().map(|(k, x)| (k.clone(), x["rows"].clone())).collect::<serde_json::Map<_, _>>()),
        "projections_agree_with_world": v["projections"]["agree_with_world"],
    })
}

#[test]
fn demo_killed_during_append_verifies_and_resumes_to_the_same_figures() {
    for seed in seeds() {
        eprintln!("demo crash: simulation seed {seed} (rerun with NAVIGO_SIM_SEED={seed})");
        let mut rng = Rng::new(seed);
        let kill_after = rng.range(KILL_AFTER_MS_MIN, KILL_AFTER_MS_MAX);

        // Given a demo killed (SIGKILL) at a seeded moment while it runs
        let dir = fresh_dir("killed", seed);
        let mut child = demo(&dir, seed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the demo starts");
        std::thread::sleep(Duration::from_millis(u64::from(kill_after)));
        let finished_before = matches!(child.try_wait(), Ok(Some(_)));
        eprintln!("  killed at {kill_after} ms (had already finished: {finished_before})");
        let _ = child.kill();
        let _ = child.wait();

        // Then, if it had created the ledger, the chain verifies and every
        // contract folds with its balance invariant
        // (a kill before the ledger exists leaves nothing to check).
        if let Ok(report) = verify_ledger(&dir) {
            assert!(
                report.first_bad.is_none(),
                "seed {seed}: chain fails after kill at {kill_after} ms: {:?}",
                report.first_bad
            );
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let clock = Arc::new(ManualClock::new("2011-06-01T00:00:00Z".parse().unwrap()));
                let store = SledStore::open(&dir, Limits::default(), clock).unwrap();
                let ledger = Ledger::open(store, Policy::default(), seed).await.unwrap();
                for c in ledger.world().contracts.values() {
                    assert!(balance_holds(c), "seed {seed}: balance broken on {}", c.id);
                }
                ledger.into_store().close().await.unwrap();
            });
        }

        // When the same demo runs again on the same directory
        let resumed = run_to_completion(&dir, seed);
        // Then it completes, the chain verifies, and the figures are those of an
        // uninterrupted run
        assert_eq!(resumed["chain"]["ok"], Value::Bool(true), "seed {seed}");
        assert_eq!(
            resumed["projections"]["agree_with_world"],
            Value::Bool(true),
            "seed {seed}"
        );
        // And the materialized projections equal those computed from the log
        let check = Command::new(env!("CARGO_BIN_EXE_navigo-ledger"))
            // Time in tests is injected: the binary's clock stands at this instant.
            .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
            .arg("--data")
            .arg(&dir)
            .args(["check-projections", "--json"])
            .output()
            .expect("check-projections runs");
        let report: Value = serde_json::from_slice(&check.stdout).expect("a JSON report");
        assert!(
            check.status.success() && report["consistent"] == Value::Bool(true),
            "seed {seed}: killed at {kill_after} ms, projections differ: {report}"
        );
        let clean = run_to_completion(&fresh_dir("clean", seed), seed);
        assert_eq!(
            figures(&resumed),
            figures(&clean),
            "seed {seed}: killed at {kill_after} ms, the resumed run differs"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
