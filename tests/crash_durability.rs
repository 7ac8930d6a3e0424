//! Crash durability: a child process appends in a loop from concurrent writers and
//! prints every acknowledged event; the test SIGKILLs it at random moments,
//! reopens the ledger and checks that every acknowledged event is there, intact,
//! at its position, that positions are gapless and that `verify` passes.
//!
//! 20 kills by default (CI). To run 1,000:
//!
//! ```sh
//! NAVIGO_CRASH_KILLS=1000 cargo test --release --test crash_durability -- --nocapture
//! ```
//!
//! Each ledger takes [`KILLS_PER_LEDGER`] kills, then the test starts a fresh one,
//! so that the checks after each kill (a full `verify` included) stay short on a
//! long run.
//!
//! The kill delays come from a xorshift generator seeded by `NAVIGO_CRASH_SEED`
//! (default below); the seed is printed so a failing run can be repeated (the
//! moment a kill lands still depends on the machine's speed).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::{verify_ledger, SledStore};

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
/// Kills in a default run.
const KILLS_DEFAULT: u32 = 20;
/// Seed of a default run.
const SEED_DEFAULT: u64 = 0x5eed_cafe_f00d_0001;
/// Kills on one ledger before the test starts a fresh one.
const KILLS_PER_LEDGER: u32 = 20;
/// Shortest and longest life of a child, in milliseconds.
const LIFE_MS_MIN: u64 = 30;
const LIFE_MS_MAX: u64 = 400;

/// One acknowledged event as the child printed it.
#[derive(Debug, Clone, PartialEq)]
struct Ack {
    position: u64,
    stream: String,
    seq: u64,
    event_id: String,
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs a child for `life`, kills it, and returns what it acknowledged.
fn run_and_kill(data: &Path, life: Duration) -> Vec<Ack> {
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(["stress-append", "--writers", "8", "--print-acks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn navigo-ledger");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // A line cut by the kill was not fully printed: the event may or may
            // not be durable, and is not counted as acknowledged.
            if !buf.ends_with(b"\n") {
                break;
            }
            let line = String::from_utf8_lossy(&buf);
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 5, "malformed ack line {line:?}");
            assert_eq!(f[0], "ACK");
            acks.push(Ack {
                position: f[1].parse().unwrap(),
                stream: f[2].to_owned(),
                seq: f[3].parse().unwrap(),
                event_id: f[4].to_owned(),
            });
        }
        acks
    });
    std::thread::sleep(life);
    // `Child::kill` sends SIGKILL on Unix: no destructor, no final flush runs.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap()
}

/// Reopens the ledger and checks every acknowledged event; returns the head.
async fn check(data: &Path, acks: &[Ack]) -> u64 {
    let report = verify_ledger(data).unwrap();
    assert!(report.is_ok(), "verify failed: {:?}", report.first_bad);
    let store = SledStore::open(
        data,
        Limits::default(),
        Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)),
    )
    .unwrap();
    let head = store.head().await.unwrap().position;
    let mut by_position = HashMap::new();
    let mut s = store.read_all(1);
    let mut expected = 1;
    while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        let e = item.unwrap();
        assert_eq!(e.position, expected, "positions are gapless");
        expected += 1;
        by_position.insert(
            e.position,
            (e.stream.to_string(), e.stream_seq, e.event_id.to_string()),
        );
    }
    drop(s);
    assert_eq!(expected - 1, head);
    for a in acks {
        let got = by_position
            .get(&a.position)
            .unwrap_or_else(|| panic!("acknowledged event lost: {a:?} (head {head})"));
        assert_eq!(
            got,
            &(a.stream.clone(), a.seq, a.event_id.clone()),
            "acknowledged event changed"
        );
    }
    store.close().await.unwrap();
    head
}

#[tokio::test]
async fn store_keeps_every_acknowledged_event_across_sigkills() {
    let kills = env_u64("NAVIGO_CRASH_KILLS").map_or(KILLS_DEFAULT, |k| k as u32);
    let seed = env_u64("NAVIGO_CRASH_SEED").unwrap_or(SEED_DEFAULT);
    println!("crash_durability: {kills} kills, seed {seed} (NAVIGO_CRASH_SEED={seed} to repeat)");
    let base: PathBuf = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-durability-{}", std::process::id()));
    let mut rng = seed.max(1);
    let mut all_acks: Vec<Ack> = Vec::new();
    let mut acks_total = 0usize;
    let mut last_head = 0;
    let mut data = base.clone();
    for kill in 0..kills {
        if kill % KILLS_PER_LEDGER == 0 {
            // The previous ledger, checked after each of its kills, passes the
            // binary's own verify too before it is dropped.
            if kill > 0 {
                assert_cli_verify(&data);
                let _ = std::fs::remove_dir_all(&data);
            }
            data = base.join(format!("ledger-{}", kill / KILLS_PER_LEDGER));
            let _ = std::fs::remove_dir_all(&data);
            all_acks.clear();
            last_head = 0;
        }
        let life = LIFE_MS_MIN + xorshift(&mut rng) % (LIFE_MS_MAX - LIFE_MS_MIN);
        let acks = run_and_kill(&data, Duration::from_millis(life));
        acks_total += acks.len();
        all_acks.extend(acks.iter().cloned());
        // Every event acknowledged so far, in this run and the earlier ones, is
        // checked: recovery must not lose what an earlier recovery kept.
        let head = check(&data, &all_acks).await;
        assert!(
            head >= last_head,
            "the log shrank from {last_head} to {head}"
        );
        println!(
            "kill {kill}: after {life} ms, {} acks, head {head}",
            acks.len()
        );
        last_head = head;
    }
    assert!(
        acks_total > 0,
        "no child acknowledged anything: the test proved nothing"
    );
    assert_cli_verify(&data);
    let _ = std::fs::remove_dir_all(&base);
}

/// The binary's own `verify` passes.
fn assert_cli_verify(data: &Path) {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .arg("verify")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
