//! `navigo-ledger follow` through the binary, as a projection service runs it:
//! projections built on the first part of a year, the follower started, the
//! rest of the year applied by another process while it tails; the follower
//! reaches the new head, and the materialized projections equal the views
//! computed from the log (`check-projections`). `follow --once` then has nothing
//! to do and says where it stands.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/year.jsonl");
/// The scenario's lines applied before the follower starts (through the first
/// run of the billing clock).
const FIRST_PART_LINES: usize = 7;
/// Tries of a command that finds the ledger held by the follower's poll.
const LOCKED_TRIES_MAX: u32 = 100;
/// How long the test waits for a line of the follower before failing.
const FOLLOW_LINE_WAIT_SECS: u64 = 120;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
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
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command until it gets the ledger (the follower holds it for a moment
/// at each poll): a command that could not open it judged nothing and printed
/// nothing, so trying again appends nothing twice.
fn run_when_free(dir: &Path, args: &[&str]) -> (i32, String) {
    for _ in 0..LOCKED_TRIES_MAX {
        let (code, out, err) = run(dir, args);
        if code == 0 || !out.is_empty() {
            return (code, out);
        }
        eprintln!("{args:?}: {err}");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{args:?}: the ledger stayed locked");
}

fn checkpoint(line: &str) -> u64 {
    let v: Value = serde_json::from_str(line).expect("follow --json prints JSON lines");
    v["checkpoint"].as_u64().expect("a checkpoint")
}

#[test]
fn follow_tails_new_events_appended_by_another_process_and_equals_the_log() {
    // Given a ledger with the first part of the year and projections built on it
    let dir = std::env::temp_dir().join(format!("navigo-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<String> = std::fs::read_to_string(SCENARIO)
        .expect("scenario")
        .lines()
        .map(str::to_string)
        .collect();
    let (first, rest) = lines.split_at(FIRST_PART_LINES);
    let part = |name: &str, l: &[String]| {
        let p = dir.join(name);
        std::fs::write(&p, l.join("\n") + "\n").expect("write part");
        p
    };
    assert_eq!(run(&dir, &["init"]).0, 0);
    let (p1, p2) = (part("first.jsonl", first), part("rest.jsonl", rest));
    // (`apply` answers one line per command; the scenario's refusal, a
    // subscription outside SUB-WINDOW, makes it exit 1.)
    let (_, judged, err) = run(&dir, &["apply", &p1.to_string_lossy(), "--seed", "7"]);
    assert_eq!(judged.lines().count(), first.len(), "{err}");
    let (code, built, err) = run(&dir, &["rebuild", "--at", "2027-06-15", "--json"]);
    assert_eq!(code, 0, "{err}");
    let built: Value = serde_json::from_str(built.trim()).expect("rebuild JSON");
    let built_at = built["checkpoint"].as_u64().expect("checkpoint");

    // When the follower runs
    let mut child = Command::new(BIN)
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(&dir)
        .args(["follow", "--json", "--interval-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn follow");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait = Duration::from_secs(FOLLOW_LINE_WAIT_SECS);
    // Then its first line says where it starts: the rebuild's checkpoint
    let start = rx.recv_timeout(wait).expect("the follower's first line");
    assert_eq!(checkpoint(&start), built_at, "{start}");

    // When the rest of the year is applied by another process
    let (_, applied) = run_when_free(&dir, &["apply", &p2.to_string_lossy(), "--seed", "8"]);
    assert_eq!(applied.lines().count(), rest.len(), "{applied}");
    assert!(
        !applied.contains("\"rule\""),
        "the rest of the year is refused nowhere: {applied}"
    );
    let (_, stats) = run_when_free(&dir, &["stats"]);
    let head: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("head position: "))
        .and_then(|s| s.trim().parse().ok())
        .expect("head position");
    assert!(head > built_at, "the rest of the year appended nothing");

    // Then the follower reaches the head, never moving backwards
    let mut last = built_at;
    while last < head {
        let line = rx
            .recv_timeout(wait)
            .unwrap_or_else(|_| panic!("the follower stopped at {last} before the head {head}"));
        let c = checkpoint(&line);
        assert!(c > last, "{line} after {last}");
        last = c;
    }
    assert_eq!(last, head);
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();

    // And the materialized projections equal the views computed from the log
    let (code, report, err) = run(&dir, &["check-projections", "--json"]);
    assert_eq!(code, 0, "{report}{err}");
    let report: Value = serde_json::from_str(report.trim()).expect("check JSON");
    assert_eq!(report["checkpoint"].as_u64(), Some(head));
    assert_eq!(report["consistent"], true);
    // And a follower started again has nothing to fold and says so
    let (code, once, err) = run(&dir, &["follow", "--once", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(checkpoint(once.trim()), head);
    let _ = std::fs::remove_dir_all(&dir);
}
