//! The done-when of the contract engine: `navigo-ledger apply` on the hand-written
//! scenario `tests/scenarios/year.jsonl` (subscription, debits through a year,
//! suspension, resumption, zone change, rejection and settlement, termination)
//! produces the events and amounts RULES.md gives, and two fresh ledgers that apply
//! it end on the same chain head.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/year.jsonl");

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("navigo-scenario-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// init + apply; returns the apply output lines and the head hash.
/// Applies the scenario to a fresh ledger, whose key store is `keys` when
/// given; the output lines, the head hash and the key store's bytes.
fn apply_fresh(name: &str, keys: Option<&[u8]>) -> (Vec<Value>, String, Vec<u8>) {
    let dir = fresh_dir(name);
    assert_eq!(run(&dir, &["init"]).0, 0);
    if let Some(keys) = keys {
        std::fs::write(dir.join("personal-keys"), keys).expect("key store");
    }
    let (code, out) = run(&dir, &["apply", SCENARIO, "--seed", "7"]);
    // One line is refused on purpose (worked example 3), so the exit code is 1.
    assert_eq!(code, 1, "{out}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("apply prints JSON lines"))
        .collect();
    let (_, stats) = run(&dir, &["stats"]);
    let head = stats
        .lines()
        .find_map(|l| l.strip_prefix("head hash: "))
        .expect("stats prints the head hash")
        .to_owned();
    let keys = std::fs::read(dir.join("personal-keys")).expect("key store");
    let _ = std::fs::remove_dir_all(&dir);
    (lines, head, keys)
}

/// (contract suffix, type, effective date, amount, due) of every money event.
fn money(lines: &[Value]) -> Vec<(String, String, String, String, String)> {
    lines
        .iter()
        .filter(|l| l["status"] == "accepted")
        .flat_map(|l| l["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| {
            matches!(
                e["type"].as_str(),
                Some(
                    "DebitPresented"
                        | "FirstPaymentCollected"
                        | "RefundDue"
                        | "DebitRejected"
                        | "DebtSettled"
                )
            )
        })
        .map(|e| {
            let stream = e["stream"].as_str().unwrap_or_default();
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                stream[stream.len() - 1..].to_owned(),
                s(&e["type"]),
                s(&e["effective_date"]),
                s(&e["data"]["amount"]),
                s(&e["data"]["due"]),
            )
        })
        .collect()
}

fn has(
    m: &[(String, String, String, String, String)],
    c: &str,
    t: &str,
    date: &str,
    amount: &str,
) -> bool {
    m.iter()
        .any(|x| x.0 == c && x.1 == t && x.2 == date && x.3 == amount)
}

#[test]
fn scenario_year_applies_to_the_amounts_of_rules_md_and_replays_to_the_same_chain_head() {
    // Persons' keys are drawn at random per ledger (an erasure must be able to
    // destroy them), so the second ledger is given the first one's key store:
    // the same commands and the same keys write the same log.
    let (lines, head_1, keys) = apply_fresh("a", None);
    let (lines_2, head_2, _) = apply_fresh("b", Some(&keys));
    assert_eq!(
        head_1, head_2,
        "two fresh ledgers end on the same chain head"
    );
    assert_eq!(lines, lines_2);

    // Worked example 3: the late online request is refused SUB-WINDOW.
    let refused: Vec<&Value> = lines.iter().filter(|l| l["status"] != "accepted").collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["rule"], "SUB-WINDOW");
    assert_eq!(refused[0]["article"], "CGVU-2026 §3.1");

    let m = money(&lines);
    // Worked example 1: July 90.00 + 7.60 at the agency, then 90.00 a month.
    let first = lines
        .iter()
        .flat_map(|l| l["events"].as_array().cloned().unwrap_or_default())
        .find(|e| e["type"] == "FirstPaymentCollected")
        .expect("first payment");
    assert_eq!(first["data"]["amount"], "90.00");
    assert_eq!(first["data"]["dossier_fee"], "7.60");
    for month in ["2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"] {
        assert!(
            has(&m, "a", "DebitPresented", month, "90.00"),
            "A {month}: {m:?}"
        );
    }
    // Worked example 4: suspended online on 2026-11-10 from 2026-11-20: no December debit.
    assert!(!m.iter().any(|x| x.0 == "a" && x.2 == "2026-12-01"));
    // Online subscription of B (4-5, 80.00): the first debit carries the fee.
    assert!(has(&m, "b", "DebitPresented", "2026-10-01", "87.60"));
    // Worked example 5: 4-5 → 1-5 from 2026-11-20, requested online on 2026-11-10
    // (before the cutoff, PAY-CUTOFF): the 10.00 difference for November is
    // collected with the December debit (90.00 + 10.00).
    assert!(has(&m, "b", "DebitPresented", "2026-12-01", "100.00"));
    // Rejection (AM04) and settlement online.
    assert!(has(&m, "b", "DebitRejected", "2026-12-04", "100.00"));
    assert!(has(&m, "b", "DebtSettled", "2026-12-10", "100.00"));
    // Resumption of A on 2027-01-01: billing restarts in January without a fee.
    for month in [
        "2027-01-01",
        "2027-02-01",
        "2027-03-01",
        "2027-04-01",
        "2027-05-01",
    ] {
        assert!(has(&m, "a", "DebitPresented", month, "90.00"), "A {month}");
    }
    // Termination by the payer on 2027-05-20 (after the cutoff): the June debit is
    // taken although not owed, and refunded within 30 days (PAY-REFUND-30D).
    assert!(m.contains(&(
        "a".into(),
        "DebitPresented".into(),
        "2027-06-01".into(),
        "90.00".into(),
        "0.00".into()
    )));
    assert!(has(&m, "a", "RefundDue", "2027-06-01", "90.00"));
    assert!(!m.iter().any(|x| x.0 == "a" && x.2.as_str() > "2027-06-01"));
    // B's free month is 2027-09 (online start on the 1st: M+11).
    assert!(has(&m, "b", "DebitPresented", "2027-08-01", "90.00"));
    assert!(!m.iter().any(|x| x.0 == "b" && x.2 == "2027-09-01"));
    assert!(has(&m, "b", "DebitPresented", "2027-10-01", "90.00"));
}

#[test]
fn apply_reports_a_malformed_line_with_its_number_and_judges_the_next_lines() {
    let dir = fresh_dir("malformed");
    assert_eq!(run(&dir, &["init"]).0, 0);
    let input = dir.with_extension("jsonl");
    std::fs::write(
        &input,
        "{\"request_at\": \"2026-07-01T08:00:00Z\", \"actor\": {\"role\": \"agent\", \"id\": \"A\"}, \"command\": {\"type\": \"RegisterPerson\", \"person_id\": \"not-a-uuid\"}}\n\
         {\"request_at\": \"2026-07-01T08:00:00Z\", \"actor\": {\"role\": \"import\", \"id\": \"s\"}, \"command\": {\"type\": \"AdvanceClock\", \"to\": \"2026-07-01\"}}\n",
    )
    .expect("write input");
    let (code, out) = run(&dir, &["apply", input.to_str().expect("path")]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(code, 2);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["status"], "malformed");
    assert_eq!(lines[0]["field"], "command.person_id", "{}", lines[0]);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["status"], "accepted");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&input);
}
