//! Crash during rebuild: `navigo-ledger rebuild` killed with SIGKILL at random
//! moments leaves the old projection or the new one, never a mix, and a restart
//! completes. Kill delays come from a xorshift seeded by `NAVIGO_CRASH_SEED`
//! (default fixed); `NAVIGO_REPLAY_KILLS` sets the number of kills (default 12).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/year.jsonl");
/// Kills per run unless `NAVIGO_REPLAY_KILLS` says otherwise.
const KILLS_DEFAULT: u32 = 12;
/// Upper bound of a kill delay: a small ledger rebuilds within tens of ms.
const KILL_DELAY_MS_MAX: u64 = 60;

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The stored hashes of the current generation, and its date.
fn stored(dir: &Path) -> (String, Vec<String>) {
    let (_, out) = run(dir, &["check-projections", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).expect("check-projections prints JSON");
    let hashes = v["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .map(|p| p["stored_hash"].as_str().unwrap_or_default().to_string())
        .collect();
    (v["at"].as_str().unwrap_or_default().to_string(), hashes)
}

#[test]
fn crash_during_rebuild_leaves_the_old_or_the_new_projection_and_a_restart_completes() {
    // Given a ledger with projections built on date A, and the hashes a complete
    // rebuild on date B gives, when rebuilds on dates A and B are killed at random
    // moments, then after each kill the current projection is exactly A's or B's
    // (never a mix), and a restarted rebuild completes consistently.
    let dir = std::env::temp_dir().join(format!("navigo-replay-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run(&dir, &["init"]).0, 0);
    run(&dir, &["apply", SCENARIO, "--seed", "7"]);
    assert_eq!(run(&dir, &["rebuild", "--at", "2027-03-15", "--json"]).0, 0);
    let b = stored(&dir);
    assert_eq!(run(&dir, &["rebuild", "--at", "2026-12-15", "--json"]).0, 0);
    let a = stored(&dir);
    assert_ne!(a.1, b.1, "the two dates must give different projections");
    let kills = std::env::var("NAVIGO_REPLAY_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILLS_DEFAULT);
    let mut x: u64 = std::env::var("NAVIGO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9)
        .max(1);
    for i in 0..kills {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = if i % 2 == 0 {
            "2027-03-15"
        } else {
            "2026-12-15"
        };
        let mut child = Command::new(BIN)
            // Time in tests is injected: the binary's clock stands at this instant.
            .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
            .arg("--data")
            .arg(&dir)
            .args(["rebuild", "--at", at, "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rebuild");
        std::thread::sleep(Duration::from_millis(x % KILL_DELAY_MS_MAX));
        let _ = child.kill();
        let _ = child.wait();
        let now = stored(&dir);
        assert!(now == a || now == b, "after kill {i}: a mix: {now:?}");
    }
    // A restart completes and is consistent with the log.
    assert_eq!(run(&dir, &["rebuild", "--at", "2027-03-15", "--json"]).0, 0);
    assert_eq!(stored(&dir), b);
    assert_eq!(run(&dir, &["check-projections"]).0, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
