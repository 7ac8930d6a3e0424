//! The bank round trip through the binary (`bank collect`, `bank import`): a
//! generated month of direct-debit contracts, its collection file checked
//! against the ISO 20022 XSD, and the bank's status report and notification
//! read back into rejections on the right contracts (`PAY-REJECT`,
//! `TAR-REJECT-FEE`, `PAY-UNPAID-TERMINATION`), all or nothing per file.

#[path = "../bank/tests/support/mod.rs"]
mod bank_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bank_support::{
    assert_valid, creditor, creditor_iban, notification, other_creditor_iban, payer_iban,
    status_report, texts_of, Back, CREDITOR_BIC,
};
use navigo_bank::FileSummary;
use navigo_events_schema::types::Money;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
/// The binary's clock in these tests: a few days after the October debits.
const NOW: &str = "2026-10-06T08:00:00Z";
/// Contracts of the generated month.
const CONTRACTS: u64 = 12;
/// The collection date of the generated month (debit day 1, a Thursday).
const DATE: &str = "2026-10-01";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.env("NAVIGO_TEST_NOW", NOW)
        .arg("--data")
        .arg(dir)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Out {
    run_env(dir, args, &[])
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// A scratch directory of its own, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("navigo-bank-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn contract_id(i: u64) -> String {
    format!("0196b000-0000-7000-8000-{:012x}", 0x100 + i)
}

fn person_id(i: u64) -> String {
    format!("0196b000-0000-7000-8000-{:012x}", 0x900 + i)
}

/// The generated month: `CONTRACTS` persons, each paying their own annual
/// contract from 2026-10-01 by direct debit on day 1, and the billing clock
/// run through the collection date.
fn month_commands() -> String {
    let agent = r#""actor": {"role": "agent", "id": "AG-1"}, "channel": "agency""#;
    let mut lines = Vec::new();
    for i in 0..CONTRACTS {
        lines.push(format!(
            r#"{{"request_at": "2026-08-10T08:{:02}:00Z", {agent}, "command": {{"type": "RegisterPerson", "person_id": "{}", "client_number": "NV{:08}", "first_name": "Payeur", "last_name": "Numero{i}", "birth_date": "1980-01-01", "address": {{"street": "1 rue de Paris", "postal_code": "75001", "municipality": "Paris"}}}}}}"#,
            2 * i,
            person_id(i),
            100 + i
        ));
        // Online (SUB-FIRST-PAYMENT): the contract starts on the 1st and its
        // first debit is on the debit day of the start month.
        lines.push(format!(
            r#"{{"request_at": "2026-08-10T08:{:02}:00Z", "actor": {{"role": "customer", "id": "NV{:08}"}}, "channel": "online", "command": {{"type": "Subscribe", "contract_id": "{}", "holder": "{p}", "payer": "{p}", "product": {{"kind": "annual", "zones": "1-5"}}, "start_date": "2026-10-01", "payment": {{"method": "direct_debit", "debit_day": 1, "mandate": {{"reference": "UMR-{i:04}", "signed_on": "2026-08-10", "debtor": {{"iban": "{}", "holder_name": "Payeur {i}"}}}}}}}}}}"#,
            2 * i + 1,
            100 + i,
            contract_id(i),
            payer_iban(i),
            p = person_id(i),
        ));
    }
    lines.push(
        r#"{"request_at": "2026-10-01T05:00:00Z", "actor": {"role": "import", "id": "test"}, "command": {"type": "AdvanceClock", "to": "2026-10-01"}}"#
            .to_owned(),
    );
    lines.join("\n") + "\n"
}

/// A ledger holding the generated month, with the bank creditor configured.
fn month_ledger(name: &str) -> Scratch {
    let s = scratch(name);
    let data = s.0.join("ledger");
    ok(&data, &["init"]);
    let c = creditor();
    ok(
        &data,
        &[
            "bank",
            "creditor",
            "--name",
            "Navigo Annuel",
            "--iban",
            &creditor_iban(),
            "--bic",
            CREDITOR_BIC,
            "--creditor-id",
            c.id(),
        ],
    );
    let commands = s.0.join("month.jsonl");
    std::fs::write(&commands, month_commands()).unwrap();
    let out = run(&data, &["apply", commands.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    s
}

fn data(s: &Scratch) -> PathBuf {
    s.0.join("ledger")
}

/// The events of a stream, as the JSON lines of `history --json`.
fn history(dir: &Path, stream: &str) -> Vec<Value> {
    ok(dir, &["history", stream, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn event_type(e: &Value) -> &str {
    e["type"].as_str().unwrap_or("")
}

/// How many events the log holds.
fn log_len(dir: &Path) -> u64 {
    ok(dir, &["stats"])
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .expect("stats prints the count")
        .parse()
        .unwrap()
}

/// Each contract's presented debit of the date: its end-to-end id and amount.
fn presented(dir: &Path) -> Vec<(u64, String, Money)> {
    (0..CONTRACTS)
        .filter_map(|i| {
            history(dir, &format!("contract:{}", contract_id(i)))
                .into_iter()
                .find(|e| event_type(e) == "DebitPresented" && e["effective_date"] == DATE)
                .map(|e| {
                    let id = e["event_id"].as_str().unwrap().parse().unwrap();
                    let amount = e["data"]["amount"].as_str().unwrap().parse().unwrap();
                    (i, navigo_bank::debit_end_to_end_id(id), amount)
                })
        })
        .collect()
}

/// Runs `bank collect` for the date; the file's bytes and its summary.
fn collect(dir: &Path, out: &Path) -> (Vec<u8>, FileSummary, Value) {
    let printed = ok(
        dir,
        &[
            "bank",
            "collect",
            "--date",
            DATE,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(printed.trim()).unwrap();
    let summary = FileSummary {
        message_id: v["message_id"].as_str().unwrap().to_owned(),
        transactions: v["count"].as_u64().unwrap(),
        control_sum: v["control_sum"].as_str().unwrap().parse().unwrap(),
        sha256: v["sha256"].as_str().unwrap().to_owned(),
    };
    (std::fs::read(out).unwrap(), summary, v)
}

fn back(debit: &(u64, String, Money), code: &'static str) -> Back {
    Back {
        end_to_end_id: debit.1.clone(),
        amount: debit.2,
        code,
    }
}

fn rejections(dir: &Path, i: u64) -> Vec<Value> {
    history(dir, &format!("contract:{}", contract_id(i)))
        .into_iter()
        .filter(|e| event_type(e) == "DebitRejected")
        .collect()
}

fn import(dir: &Path, file: &Path) -> Out {
    run(dir, &["bank", "import", file.to_str().unwrap(), "--json"])
}

#[test]
fn pay_debit_collect_holds_every_debit_of_the_date_once_and_validates_against_the_xsd() {
    // Given a generated month whose debits of the date were presented
    let s = month_ledger("collect");
    let dir = data(&s);
    let debits = presented(&dir);
    assert_eq!(debits.len() as u64, CONTRACTS, "every contract is debited");
    // When the collection file of the date is built
    let out = s.0.join("collection.xml");
    let (bytes, summary, printed) = collect(&dir, &out);
    assert_eq!(printed["appended"], true);
    // Then it validates against the official schema
    assert_valid("pain.008.001.08.xsd", &bytes);
    // And it holds every debit of the date exactly once
    let ids = texts_of(&bytes, "EndToEndId");
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an end-to-end id twice");
    let expected: BTreeSet<&String> = debits.iter().map(|d| &d.1).collect();
    assert_eq!(unique, expected);
    assert_eq!(summary.transactions, CONTRACTS);
    let sum: Money = debits.iter().map(|d| d.2).sum();
    assert_eq!(summary.control_sum, sum);
    // And each first collection of its mandate is FRST
    assert_eq!(texts_of(&bytes, "SeqTp"), vec!["FRST".to_owned()]);
    // And the file's evidence is in the chain
    let bank = history(&dir, "bank:00000000-0000-0000-0000-000000000000");
    assert_eq!(bank.len(), 1);
    assert_eq!(event_type(&bank[0]), "CollectionFileIssued");
    assert_eq!(bank[0]["data"]["sha256"], summary.sha256.as_str());
    assert_eq!(bank[0]["data"]["count"], CONTRACTS);

    // When the same date is collected again
    let before = log_len(&dir);
    let again = s.0.join("again.xml");
    let (bytes2, _, printed2) = collect(&dir, &again);
    // Then the same bytes are written and nothing is appended
    assert_eq!(bytes2, bytes);
    assert_eq!(printed2["appended"], false);
    assert_eq!(log_len(&dir), before);
}

#[test]
fn pay_reject_status_report_and_notification_land_on_the_right_contracts_with_their_policy() {
    // Given the month's collection file sent
    let s = month_ledger("import");
    let dir = data(&s);
    let debits = presented(&dir);
    let (_, summary, _) = collect(&dir, &s.0.join("collection.xml"));
    // When the bank's status report rejects three debits
    let report = status_report(
        &summary,
        &creditor_iban(),
        &[
            back(&debits[0], "AM04"),
            back(&debits[1], "MD07"),
            back(&debits[2], "MS02"),
        ],
    );
    assert_valid("pain.002.001.11.xsd", report.as_bytes());
    let report_path = s.0.join("pain002.xml");
    std::fs::write(&report_path, &report).unwrap();
    let out = import(&dir, &report_path);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // And the notification returns two more
    let returned = [back(&debits[3], "MD06"), back(&debits[4], "AC04")];
    let collected: Money = debits.iter().map(|d| d.2).sum();
    let ntf = notification(&creditor_iban(), &returned, &[], collected);
    assert_valid("camt.054.001.08.xsd", ntf.as_bytes());
    let ntf_path = s.0.join("camt054.xml");
    std::fs::write(&ntf_path, &ntf).unwrap();
    let out = import(&dir, &ntf_path);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Then each of those contracts has one rejection with its code, and the
    // others none
    let codes = ["AM04", "MD07", "MS02", "MD06", "AC04"];
    for i in 0..CONTRACTS {
        let r = rejections(&dir, i);
        match codes.get(i as usize) {
            Some(code) => {
                assert_eq!(r.len(), 1, "contract {i}");
                assert_eq!(r[0]["data"]["reason_code"], *code, "contract {i}");
                assert_eq!(r[0]["data"]["amount"], debits[i as usize].2.to_string());
            }
            None => assert!(r.is_empty(), "contract {i} was not returned"),
        }
    }
    // And TAR-REJECT-FEE: a payer's reason is attributable, a technical or
    // deceased one is not
    assert_eq!(
        rejections(&dir, 0)[0]["data"]["attributable_to_payer"],
        true
    );
    // And MD07 ends the contract at once (PAY-UNPAID-TERMINATION)
    let deceased = history(&dir, &format!("contract:{}", contract_id(1)));
    let ended = deceased
        .iter()
        .find(|e| event_type(e) == "ContractTerminated")
        .expect("MD07 terminates the contract");
    assert_eq!(ended["data"]["reason"], "payer_deceased");
    assert!(!history(&dir, &format!("contract:{}", contract_id(0)))
        .iter()
        .any(|e| event_type(e) == "ContractTerminated"));
    // And each file's evidence is recorded
    let bank = history(&dir, "bank:00000000-0000-0000-0000-000000000000");
    let imported: Vec<&Value> = bank
        .iter()
        .filter(|e| event_type(e) == "BankFileImported")
        .collect();
    assert_eq!(imported.len(), 2);
    assert_eq!(imported[0]["data"]["returned"], 3);
    assert_eq!(imported[1]["data"]["kind"], "notification");

    // When a file is delivered twice
    let before = log_len(&dir);
    let out = import(&dir, &report_path);
    // Then nothing is appended, and the answer says so
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["appended"], false);
    assert_eq!(log_len(&dir), before);
}

#[test]
fn pay_reject_bad_files_are_refused_naming_the_line_and_nothing_is_appended() {
    // Given the month's collection file sent
    let s = month_ledger("bad");
    let dir = data(&s);
    let debits = presented(&dir);
    let (_, summary, _) = collect(&dir, &s.0.join("collection.xml"));
    let before = log_len(&dir);
    let unknown = Back {
        end_to_end_id: navigo_bank::debit_end_to_end_id(uuid_of(7)),
        amount: debits[0].2,
        code: "AM04",
    };
    let wrong_amount = Back {
        amount: debits[1].2 + Money::from_cents(1),
        ..back(&debits[1], "AM04")
    };
    let collected: Money = debits.iter().map(|d| d.2).sum();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "an unknown end-to-end id",
            notification(&creditor_iban(), &[unknown], &[], collected),
            "matches no debit",
        ),
        (
            "an amount that differs",
            notification(&creditor_iban(), &[wrong_amount], &[], collected),
            "differs from the debit",
        ),
        (
            "an unknown reason code",
            status_report(&summary, &creditor_iban(), &[back(&debits[2], "ZZ99")]),
            "ZZ99",
        ),
        (
            "another creditor's account",
            notification(
                &other_creditor_iban(),
                &[back(&debits[3], "AM04")],
                &[],
                collected,
            ),
            "line",
        ),
        (
            "malformed XML",
            status_report(&summary, &creditor_iban(), &[back(&debits[4], "AM04")])
                .replace("</TxSts>", "</TxStatus>"),
            "line",
        ),
    ];
    for (what, file, names) in cases {
        // When the bank's file has a bad transaction
        let path = s.0.join("bad.xml");
        std::fs::write(&path, &file).unwrap();
        let out = import(&dir, &path);
        // Then it is refused as bad input, naming the line or element
        assert_eq!(out.code, 2, "{what}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains("line"), "{what}: {}", out.stderr);
        assert!(out.stderr.contains(names), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains("nothing was appended"),
            "{what}: {}",
            out.stderr
        );
        // And nothing is appended
        assert_eq!(log_len(&dir), before, "{what}");
    }
}

#[test]
fn pay_reject_import_interrupted_completes_exactly_once_when_run_again() {
    // Given the month's collection file sent, and a report of two rejects
    let s = month_ledger("crash");
    let dir = data(&s);
    let debits = presented(&dir);
    let (_, summary, _) = collect(&dir, &s.0.join("collection.xml"));
    let report = status_report(
        &summary,
        &creditor_iban(),
        &[back(&debits[5], "AM04"), back(&debits[6], "MS02")],
    );
    let path = s.0.join("pain002.xml");
    std::fs::write(&path, &report).unwrap();
    // When the import dies after the rejections, before the file's event
    let out = run_env(
        &dir,
        &["bank", "import", path.to_str().unwrap()],
        &[("NAVIGO_TEST_FAULT", "bank-import-before-file-event")],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        rejections(&dir, 5).len(),
        1,
        "the fault came after the rejections"
    );
    // And the import is run again
    let out = import(&dir, &path);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Then every rejection is recorded exactly once, and the file once
    assert_eq!(rejections(&dir, 5).len(), 1);
    assert_eq!(rejections(&dir, 6).len(), 1);
    let bank = history(&dir, "bank:00000000-0000-0000-0000-000000000000");
    let imported: Vec<&Value> = bank
        .iter()
        .filter(|e| event_type(e) == "BankFileImported")
        .collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(
        imported[0]["data"]["rejection_event_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // And a third run appends nothing
    let before = log_len(&dir);
    assert_eq!(import(&dir, &path).code, 0);
    assert_eq!(log_len(&dir), before);
}

#[test]
fn pay_method_collect_refuses_a_debit_whose_payer_is_erased_naming_the_contract() {
    // Given the month's debits presented, and one payer's personal data erased
    let s = month_ledger("erased");
    let dir = data(&s);
    ok(
        &dir,
        &[
            "erase",
            &person_id(3),
            "--basis",
            "test: the payer asked",
            "--operator",
            "AG-1",
        ],
    );
    let before = log_len(&dir);
    // When the collection file of the date is asked for
    let out_file = s.0.join("collection.xml");
    let out = run(
        &dir,
        &[
            "bank",
            "collect",
            "--date",
            DATE,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    // Then it is refused, naming the contract and what would make it
    // collectable, and nothing is written
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&contract_id(3)), "{}", out.stderr);
    assert!(out.stderr.contains("erased"), "{}", out.stderr);
    assert!(out.stderr.contains("ChangePayer"), "{}", out.stderr);
    assert!(!out_file.exists());
    assert_eq!(log_len(&dir), before);
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0196_c000_0000_7000_8000_0000_0000_0000 + n)
}
