//! `navigo-ledger state|balance|calendar|bans|refunds`: the year scenario read
//! back through the binary (tables and JSON), and the errors: an unknown id, a
//! malformed date, an instant in the future (exit 2 with a message naming the
//! argument).

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::Out;

const CONTRACT: &str = "0196a000-0000-7000-8000-00000000000a";
const PERSON: &str = "0196a000-0000-7000-8000-0000000000a1";

/// Runs the binary on `data` with nothing on its stdin.
fn run(data: &Path, args: &[&str]) -> Out {
    cli_support::run(data, args, None)
}

/// A ledger with the year scenario applied (tests/scenarios/year.jsonl), in a
/// directory of its own for each test (`name`).
fn ledger(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("projections-cli")
        .join(format!("year-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(run(&dir, &["init"]).code, 0);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let out = run(&dir, &["apply", scenario.to_str().expect("path")]);
    // The scenario holds refusals on purpose: `apply` then exits 1.
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    assert!(out.stdout.contains("\"accepted\""), "{}", out.stdout);
    dir
}

#[test]
fn projections_cli_tables_json_and_errors() {
    let data = ledger("tables");
    // The calendar: a table with amounts in euros and the statuses.
    let out = run(&data, &["calendar", CONTRACT, "--at", "2026-09-15"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2026-07"), "{}", out.stdout);
    assert!(out.stdout.contains("97.60 €"), "{}", out.stdout);
    assert!(out.stdout.contains("collected"), "{}", out.stdout);
    // JSON parses and echoes the parameters.
    let out = run(
        &data,
        &["balance", CONTRACT, "--at", "2026-09-15", "--json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["as_of"]["at"], "2026-09-15");
    assert_eq!(v["contract"], CONTRACT);
    // A person id gives the payer's balance; bans and refunds take a person.
    for sub in ["balance", "bans", "refunds"] {
        let out = run(&data, &[sub, PERSON, "--at", "2027-01-15", "--json"]);
        assert_eq!(out.code, 0, "{sub}: {}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        assert!(v.get("as_of").is_some(), "{sub}: {v}");
    }
    // State with a validity query (USE-DEZONAGE), known at an earlier instant.
    let out = run(
        &data,
        &[
            "state",
            CONTRACT,
            "--at",
            "2026-09-15",
            "--known-at",
            "2026-09-01T00:00:00Z",
            "--zone",
            "1",
            "--instant",
            "2026-09-15T10:00:00Z",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("USE-DEZONAGE"), "{}", out.stdout);
    assert!(out.stdout.contains("TERM-ATTESTATION"), "{}", out.stdout);
    // Errors: exit 2, naming what is wrong.
    let out = run(&data, &["state", "0196a000-0000-7000-8000-000000000999"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no contract"), "{}", out.stderr);
    let out = run(&data, &["bans", "not-a-uuid"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not a UUID"), "{}", out.stderr);
    let out = run(&data, &["calendar", CONTRACT, "--at", "2027-02-30"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--at"), "{}", out.stderr);
    let out = run(
        &data,
        &["refunds", PERSON, "--known-at", "9999-01-01T00:00:00Z"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("in the future"), "{}", out.stderr);
    let out = run(&data, &["balance", CONTRACT, "--known-at", "yesterday"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("RFC 3339"), "{}", out.stderr);
}

#[test]
fn projections_cli_calendar_horizon_beyond_its_bound_is_refused_naming_it() {
    let data = ledger("horizon");
    // Given the year scenario's contract, when its calendar is asked 120 months
    // ahead (the bound), then it shows them;
    let out = run(
        &data,
        &[
            "calendar",
            CONTRACT,
            "--at",
            "2026-10-15",
            "--horizon",
            "120",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cal: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(cal["horizon"], "2036-10", "{cal}");
    // asked 121 months ahead, it is refused with a message naming the bound,
    // not cut short.
    for horizon in ["121", "100000000000"] {
        let out = run(&data, &["calendar", CONTRACT, "--horizon", horizon]);
        assert_eq!(out.code, 2, "{horizon}: {}", out.stdout);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("at most 120 months")
                && out.stderr.contains("CALENDAR_HORIZON_MONTHS_MAX"),
            "{}",
            out.stderr
        );
    }
    let out = run(&data, &["calendar", CONTRACT, "--horizon", "two"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not a number of months"),
        "{}",
        out.stderr
    );
}
