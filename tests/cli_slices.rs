//! The one-id commands of the binary read the id's slice of the log, not the
//! whole log: on the year scenario's ledger, a record of another person's
//! stream is made unreadable; `verify` (about the whole log) names it, while
//! every one-id read of the first customer (state, balance, calendar, bans,
//! refunds, audit, diff, what-if, history) answers byte for byte what it
//! answered before. A read of the whole log would stop at the bad record.

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::Out;

/// The first customer's contract and the customer (holder and payer).
const CONTRACT: &str = "0196a000-0000-7000-8000-00000000000a";
const PERSON: &str = "0196a000-0000-7000-8000-0000000000a1";
/// The second customer, whose streams none of the first's views read.
const OTHER_PERSON: &str = "0196a000-0000-7000-8000-0000000000b1";

/// Runs the binary on `data` with nothing on its stdin.
fn run(data: &Path, args: &[&str]) -> Out {
    cli_support::run(data, args, None)
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-slices")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// The year scenario applied to a fresh ledger in `dir/ledger` (`apply`
/// closes the ledger with a snapshot of its folded state).
fn year_ledger(dir: &Path) -> PathBuf {
    let data = dir.join("ledger");
    assert_eq!(run(&data, &["init"]).code, 0);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let out = run(&data, &["apply", scenario.to_str().expect("path")]);
    // The scenario holds refusals on purpose: `apply` then exits 1.
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    data
}

/// Every one-id read of the first customer, tables and JSON.
fn one_id_reads(commands: &Path) -> Vec<Vec<String>> {
    let commands = commands.to_str().expect("path").to_owned();
    let contract_stream = format!("contract:{CONTRACT}");
    let reads: Vec<Vec<&str>> = vec![
        vec!["state", CONTRACT, "--at", "2026-12-15"],
        vec!["state", CONTRACT, "--at", "2026-12-15", "--json"],
        vec!["balance", CONTRACT, "--at", "2027-01-15", "--json"],
        vec!["balance", PERSON, "--at", "2027-01-15"],
        vec!["calendar", CONTRACT, "--at", "2026-12-15"],
        vec!["calendar", CONTRACT, "--at", "2026-12-15", "--json"],
        vec!["bans", PERSON, "--at", "2027-01-15", "--json"],
        vec!["refunds", PERSON, "--at", "2027-01-15", "--json"],
        vec!["audit", CONTRACT, "--json"],
        vec!["audit", PERSON],
        vec!["diff", CONTRACT, "--at", "2026-10-15", "--at", "2027-01-15"],
        vec!["what-if", CONTRACT, "--commands", &commands, "--json"],
        vec!["history", &contract_stream],
    ];
    reads
        .into_iter()
        .map(|r| r.into_iter().map(str::to_owned).collect())
        .collect()
}

/// The position of the first record of `stream`.
fn first_position(data: &Path, stream: &str) -> u64 {
    let out = run(data, &["history", stream, "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first: serde_json::Value =
        serde_json::from_str(out.stdout.lines().next().expect("an event")).expect("json");
    first["position"].as_u64().expect("a position")
}

#[test]
fn cli_one_id_reads_read_their_slice_not_an_unreadable_record_of_another_stream() {
    // Given the year scenario's ledger, and every one-id read of the first
    // customer as it answers
    let dir = scratch("unreadable-other-stream");
    let data = year_ledger(&dir);
    let commands = dir.join("what-if.jsonl");
    std::fs::write(
        &commands,
        format!(
            "{{\"request_at\": \"2026-11-10T09:00:00Z\", \"actor\": {{\"role\": \"customer\", \
             \"id\": \"NV00000001\"}}, \"channel\": \"online\", \"command\": {{\"type\": \
             \"Suspend\", \"contract_id\": \"{CONTRACT}\", \"effective_date\": \"2026-11-20\"}}}}\n"
        ),
    )
    .expect("commands file");
    let reads = one_id_reads(&commands);
    let before: Vec<Out> = reads
        .iter()
        .map(|r| run(&data, &r.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    for (r, out) in reads.iter().zip(&before) {
        assert_eq!(out.code, 0, "{r:?}: {}{}", out.stdout, out.stderr);
    }
    // When the second customer's registration is made unreadable (a byte of
    // its canonical JSON flipped, stored again in the ledger's format)
    let p = first_position(&data, &format!("person:{OTHER_PERSON}"));
    {
        let raw = navigo_store_sled::raw::RawLedger::open(&data).expect("raw ledger");
        let mut bytes = raw.record(p).expect("read").expect("record");
        let i = bytes.len() - 10;
        bytes[i] ^= 0x04;
        raw.put_record(p, &bytes).expect("write");
        raw.flush().expect("flush");
    }
    // Then the commands about the whole log stop at it
    let verified = run(&data, &["verify"]);
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        verified
            .stdout
            .starts_with(&format!("FAILED at position {p}:")),
        "{}",
        verified.stdout
    );
    let other = run(&data, &["audit", OTHER_PERSON]);
    assert_eq!(other.code, 1, "{}", other.stdout);
    assert!(other.stderr.contains(&p.to_string()), "{}", other.stderr);
    // And every one-id read of the first customer answers as before, byte for byte
    for (r, was) in reads.iter().zip(&before) {
        let now = run(&data, &r.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(now.code, 0, "{r:?}: {}", now.stderr);
        assert_eq!(now.stdout, was.stdout, "{r:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
