//! The auditor's path on a generated population, end to end: on a
//! `navigo-ledger demo` ledger, for every contract, `audit` → `verify` → `diff`,
//! run through the binary as an auditor runs them. Each audit line must sit in
//! the chain `verify` checked (its hash is the stored record's, its previous hash
//! the record before it), every event of the contract's stream must be on it,
//! and the events a diff names as causes must be lines of the audit recorded
//! between the two instants compared. A flipped byte in one of the contract's
//! records is then named by `verify` and refused by `audit` and `diff`.

mod cli_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cli_support::Out;

use navigo_events_schema::{Envelope, StreamId, StreamKind};
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;
use serde_json::Value;

/// Contracts of the generated population (small: CI).
const CONTRACTS: &str = "24";
/// Its seed.
const SEED: &str = "2024";
/// The last simulated day, and the effective date the diffs read.
const THROUGH: &str = "2024-12-31";

/// Runs the binary on `data` with nothing on its stdin.
fn run(data: &Path, args: &[&str]) -> Out {
    cli_support::run(data, args, None)
}

fn json(out: &Out, what: &str) -> Value {
    assert_eq!(out.code, 0, "{what}: {}{}", out.stdout, out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The whole log, read in-process through the store (every record checked).
fn log(data: &Path) -> Vec<Envelope> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let clock = Arc::new(ManualClock::new(
            "2011-06-01T00:00:00Z".parse().expect("instant"),
        ));
        let store = SledStore::open(data, Limits::default(), clock).expect("open");
        let events = navigo_ledger_core::load::read_everything(&store)
            .await
            .expect("read");
        store.close().await.expect("close");
        events
    })
}

fn ledger() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("auditor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = run(
        &dir,
        &[
            "demo",
            "--contracts",
            CONTRACTS,
            "--seed",
            SEED,
            "--through",
            THROUGH,
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "demo: {}", out.stderr);
    dir
}

#[test]
fn audit_verify_and_diff_agree_on_every_contract_of_a_generated_population() {
    // Given a ledger of a generated population and its log
    let data = ledger();
    let events = log(&data);
    let by_position: BTreeMap<u64, &Envelope> = events.iter().map(|e| (e.position, e)).collect();
    let mut contracts: BTreeMap<uuid::Uuid, Vec<u64>> = BTreeMap::new();
    for e in &events {
        if e.stream.kind == StreamKind::Contract {
            contracts.entry(e.stream.id).or_default().push(e.position);
        }
    }
    assert!(contracts.len() >= 20, "{} contracts", contracts.len());

    // When the auditor verifies the chain
    let verified = run(&data, &["verify"]);
    // Then it holds, up to the log's head and its hash
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    let head = events.last().expect("a log");
    assert!(
        verified.stdout.contains(&format!(
            "head position {} hash {}",
            head.position, head.hash
        )),
        "{}",
        verified.stdout
    );

    let (mut diffs_with_changes, mut audited_lines, mut corrections) = (0, 0, 0);
    for (id, positions) in &contracts {
        let id_text = id.to_string();
        // When the auditor reads the contract's audit trail
        let trail = json(&run(&data, &["audit", &id_text, "--json"]), "audit");
        let lines = trail.as_array().expect("an array of lines");
        audited_lines += lines.len();
        let line_positions: Vec<u64> = lines
            .iter()
            .map(|l| l["position"].as_u64().expect("position"))
            .collect();
        // Then every event of the contract's stream is on it, in position order
        assert!(line_positions.windows(2).all(|w| w[0] < w[1]), "{id}");
        for p in positions {
            assert!(line_positions.contains(p), "{id}: position {p} missing");
        }
        // And each line sits in the chain verify checked: its hash is the stored
        // record's, its previous hash the record before it
        for l in lines {
            let p = l["position"].as_u64().expect("position");
            let stored = by_position[&p];
            assert_eq!(l["hash"], stored.hash.to_string(), "{id} at {p}");
            let before = p
                .checked_sub(1)
                .and_then(|q| by_position.get(&q))
                .map(|e| e.hash.to_string());
            if let Some(before) = before {
                assert_eq!(l["prev_hash"], before, "{id} at {p}");
            }
            // A line of another stream is an annulment of one of the contract's
            // events, shown next to what it corrects.
            if stored.stream != StreamId::contract(*id) {
                let corrects = l["corrects_position"].as_u64().expect("a correction");
                assert!(positions.contains(&corrects), "{id} at {p}");
                corrections += 1;
            }
        }

        // When the auditor diffs the contract between the instant its first
        // event was recorded and the instant its last line was
        let first = by_position[&positions[0]].recorded_at;
        let last = by_position[line_positions.last().expect("a line")].recorded_at;
        if first == last {
            continue;
        }
        let d = json(
            &run(
                &data,
                &[
                    "diff",
                    &id_text,
                    "--known-at",
                    &first.to_rfc3339(),
                    "--known-at",
                    &last.to_rfc3339(),
                    "--at",
                    THROUGH,
                    "--json",
                ],
            ),
            "diff",
        );
        // Then every event it names is a line of the audit, with the same hash,
        // recorded between the two instants, and every change names causes among
        // them
        let causes: BTreeMap<u64, &Value> = d["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| (e["position"].as_u64().expect("position"), e))
            .collect();
        for (p, e) in &causes {
            let line = lines
                .iter()
                .find(|l| l["position"].as_u64() == Some(*p))
                .unwrap_or_else(|| panic!("{id}: diff names position {p}, not on the audit"));
            assert_eq!(e["hash"], line["hash"], "{id} at {p}");
            let at = by_position[p].recorded_at;
            assert!(first < at && at <= last, "{id} at {p}");
        }
        let changes = d["changes"].as_array().expect("changes");
        for c in changes {
            for p in c["caused_by"].as_array().expect("caused_by") {
                let p = p.as_u64().expect("position");
                assert!(causes.contains_key(&p), "{id}: {c}");
            }
        }
        if !changes.is_empty() {
            assert!(!causes.is_empty(), "{id}: changes without a cause: {d}");
            diffs_with_changes += 1;
        }
    }
    eprintln!(
        "{} contracts audited ({audited_lines} lines, {corrections} corrections from other \
         streams), {diffs_with_changes} diffs with changes",
        contracts.len()
    );
    assert!(
        diffs_with_changes * 2 >= contracts.len(),
        "only {diffs_with_changes} of {} diffs show a change",
        contracts.len()
    );

    // When one byte of the last record of a contract is flipped
    let (id, positions) = contracts
        .iter()
        .max_by_key(|(_, p)| p.len())
        .expect("a contract");
    let p = *positions.last().expect("a position");
    {
        // (a byte of its canonical JSON, stored again in the ledger's format)
        let raw = navigo_store_sled::raw::RawLedger::open(&data).expect("raw ledger");
        let mut bytes = raw.record(p).expect("read").expect("record");
        let i = bytes.len() - 10;
        bytes[i] ^= 0x04;
        raw.put_record(p, &bytes).expect("write");
        raw.flush().expect("flush");
    }
    // Then verify names its position, and neither audit nor diff reads the log
    // as if it were sound
    let verified = run(&data, &["verify"]);
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        verified
            .stdout
            .starts_with(&format!("FAILED at position {p}:")),
        "{}",
        verified.stdout
    );
    let id_text = id.to_string();
    let audit = run(&data, &["audit", &id_text, "--json"]);
    assert_ne!(audit.code, 0, "{}", audit.stdout);
    assert!(audit.stdout.is_empty(), "{}", audit.stdout);
    assert!(audit.stderr.contains(&p.to_string()), "{}", audit.stderr);
    let diff = run(
        &data,
        &["diff", &id_text, "--at", "2024-06-30", "--at", THROUGH],
    );
    assert_ne!(diff.code, 0, "{}", diff.stdout);
    assert!(diff.stderr.contains(&p.to_string()), "{}", diff.stderr);
    let _ = std::fs::remove_dir_all(&data);
}
