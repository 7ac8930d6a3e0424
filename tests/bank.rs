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
use navigo_events_schema::views::{
    BankImportView, CollectionFileView, CreditorView, RefundFileView,
};
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        check_view(args, &stdout);
    }
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses a `bank … --json` answer as its view, strictly (the views refuse
/// an unknown field and require every field), so that every answer a test
/// reads is the one its schema under `events-schema/schemas/views/bank-*`
/// describes.
fn check_view(args: &[&str], stdout: &str) {
    if !args.contains(&"--json") {
        return;
    }
    let line = stdout.trim();
    let parsed = match args {
        ["bank", "creditor", ..] => serde_json::from_str::<CreditorView>(line).map(drop),
        ["bank", "collect", ..] => serde_json::from_str::<CollectionFileView>(line).map(drop),
        ["bank", "refunds", ..] => serde_json::from_str::<RefundFileView>(line).map(drop),
        ["bank", "import", ..] => serde_json::from_str::<BankImportView>(line).map(drop),
        _ => return,
    };
    parsed.unwrap_or_else(|e| panic!("{args:?} answered other than its view: {e}: {line}"));
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
    month_commands_with(CONTRACTS, |_| 1, DATE)
}

/// The generated month of `contracts` contracts, contract `i`'s debit day
/// `debit_day(i)`, and the clock run through `advance_to`.
fn month_commands_with(contracts: u64, debit_day: impl Fn(u64) -> u32, advance_to: &str) -> String {
    let agent = r#""actor": {"role": "agent", "id": "AG-1"}, "channel": "agency""#;
    // Each command a second after the one before, from 08:00 (an hour holds
    // 1,800 contracts).
    let at = |k: u64| format!("2026-08-10T08:{:02}:{:02}Z", k / 60, k % 60);
    let mut lines = Vec::new();
    for i in 0..contracts {
        lines.push(format!(
            r#"{{"request_at": "{}", {agent}, "command": {{"type": "RegisterPerson", "person_id": "{}", "client_number": "NV{:08}", "first_name": "Payeur", "last_name": "Numero{i}", "birth_date": "1980-01-01", "address": {{"street": "1 rue de Paris", "postal_code": "75001", "municipality": "Paris"}}}}}}"#,
            at(2 * i),
            person_id(i),
            100 + i
        ));
        // Online (SUB-FIRST-PAYMENT): the contract starts on the 1st and its
        // first debit is on the debit day of the start month.
        lines.push(format!(
            r#"{{"request_at": "{}", "actor": {{"role": "customer", "id": "NV{:08}"}}, "channel": "online", "command": {{"type": "Subscribe", "contract_id": "{}", "holder": "{p}", "payer": "{p}", "product": {{"kind": "annual", "zones": "1-5"}}, "start_date": "2026-10-01", "payment": {{"method": "direct_debit", "debit_day": {}, "mandate": {{"reference": "UMR-{i:04}", "signed_on": "2026-08-10", "debtor": {{"iban": "{}", "holder_name": "Payeur {i}"}}}}}}}}}}"#,
            at(2 * i + 1),
            100 + i,
            contract_id(i),
            debit_day(i),
            payer_iban(i),
            p = person_id(i),
        ));
    }
    lines.push(format!(
        r#"{{"request_at": "{advance_to}T05:00:00Z", "actor": {{"role": "import", "id": "test"}}, "command": {{"type": "AdvanceClock", "to": "{advance_to}"}}}}"#
    ));
    lines.join("\n") + "\n"
}

/// A ledger holding the generated month, with the bank creditor configured.
fn month_ledger(name: &str) -> Scratch {
    ledger_with(name, None, &month_commands(), NOW)
}

/// A ledger with the bank creditor configured, the raw event lines `raw`
/// appended (an older ledger's records), then `commands` applied with the
/// binary's clock at `now`.
fn ledger_with(name: &str, raw: Option<&str>, commands: &str, now: &str) -> Scratch {
    let s = scratch(name);
    let data = s.0.join("ledger");
    ok(&data, &["init"]);
    if let Some(raw) = raw {
        let path = s.0.join("raw.jsonl");
        std::fs::write(&path, raw).unwrap();
        ok(&data, &["append", path.to_str().unwrap()]);
    }
    let c = creditor();
    let shown = ok(
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
            "--json",
        ],
    );
    let shown: CreditorView = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(shown.creditor_id, c.id());
    assert!(
        !shown.iban.contains(&creditor_iban()[4..]),
        "the creditor's account is shown masked: {}",
        shown.iban
    );
    let path = s.0.join("month.jsonl");
    std::fs::write(&path, commands).unwrap();
    let out = run_env(
        &data,
        &["apply", path.to_str().unwrap()],
        &[("NAVIGO_TEST_NOW", now)],
    );
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
    collect_on(dir, DATE, NOW, out)
}

/// Runs `bank collect` for `date` with the binary's clock at `now`.
fn collect_on(dir: &Path, date: &str, now: &str, out: &Path) -> (Vec<u8>, FileSummary, Value) {
    let printed = ok_at(
        dir,
        now,
        &[
            "bank",
            "collect",
            "--date",
            date,
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
    let bank = history(&dir, BANK);
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
    let bank = history(&dir, BANK);
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
    let bank = history(&dir, BANK);
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

// ---------------------------------------------------------------------------
// Refunds out (pain.001)

/// The binary's clock once the November debits are taken.
const NOVEMBER: &str = "2026-11-03T08:00:00Z";
/// The execution date of the refund file.
const REFUND_DATE: &str = "2026-11-05";
/// The stream of the bank's files.
const BANK: &str = "bank:00000000-0000-0000-0000-000000000000";

fn ok_at(dir: &Path, now: &str, args: &[&str]) -> String {
    let out = run_env(dir, args, &[("NAVIGO_TEST_NOW", now)]);
    assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Contracts `zoned` change to zones 2-3 at an agency on 20 October, past
/// the cutoff (`PAY-CUTOFF`): their November debit is taken at the 1-5
/// installment and the difference refunded by bank transfer
/// (`PAY-REFUND-30D`, `PAY-REFUND-METHOD`), then the clock runs through 1
/// November.
fn november_refunds(s: &Scratch, zoned: &[u64]) {
    let mut lines: Vec<String> = zoned
        .iter()
        .enumerate()
        .map(|(n, i)| {
            format!(
                r#"{{"request_at": "2026-10-20T09:{n:02}:00Z", "actor": {{"role": "agent", "id": "AG-1"}}, "channel": "agency", "command": {{"type": "ChangeZones", "contract_id": "{}", "zones": "2-3"}}}}"#,
                contract_id(*i)
            )
        })
        .collect();
    lines.push(
        r#"{"request_at": "2026-11-01T05:00:00Z", "actor": {"role": "import", "id": "test"}, "command": {"type": "AdvanceClock", "to": "2026-11-01"}}"#
            .to_owned(),
    );
    let path = s.0.join("november.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    ok_at(&data(s), NOVEMBER, &["apply", path.to_str().unwrap()]);
}

/// Each contract's refunds due: (event id, amount, method).
fn refunds_due(dir: &Path, i: u64) -> Vec<(String, Money, String)> {
    history(dir, &format!("contract:{}", contract_id(i)))
        .into_iter()
        .filter(|e| event_type(e) == "RefundDue")
        .map(|e| {
            (
                e["event_id"].as_str().unwrap().to_owned(),
                e["data"]["amount"].as_str().unwrap().parse().unwrap(),
                e["data"]["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn refunds_paid(dir: &Path, i: u64) -> Vec<Value> {
    history(dir, &format!("contract:{}", contract_id(i)))
        .into_iter()
        .filter(|e| event_type(e) == "RefundPaid")
        .collect()
}

fn bank_refunds(dir: &Path, date: &str, out: &Path) -> Out {
    run_env(
        dir,
        &[
            "bank",
            "refunds",
            "--date",
            date,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        &[("NAVIGO_TEST_NOW", NOVEMBER)],
    )
}

#[test]
fn pay_refund_30d_refund_file_pays_every_transfer_due_once_to_the_payers_account() {
    // Given three contracts whose November debit was taken after a change
    // past the cutoff, each with a refund due by bank transfer
    let s = month_ledger("refunds");
    let dir = data(&s);
    let zoned = [2u64, 5, 7];
    november_refunds(&s, &zoned);
    let mut due = Vec::new();
    for i in zoned {
        let r = refunds_due(&dir, i);
        assert_eq!(r.len(), 1, "contract {i}: {r:?}");
        assert_eq!(r[0].2, "bank_transfer", "PAY-REFUND-METHOD");
        due.push((i, r[0].0.clone(), r[0].1));
    }
    // When the refund file of a date before they were due is asked for
    let early = s.0.join("early.xml");
    let before = log_len(&dir);
    let out = bank_refunds(&dir, "2026-10-31", &early);
    // Then there is none, and nothing is written
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no refund"), "{}", out.stderr);
    assert!(!early.exists());
    assert_eq!(log_len(&dir), before);

    // When the refund file of the execution date is built
    let path = s.0.join("refunds.xml");
    let out = bank_refunds(&dir, REFUND_DATE, &path);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let printed: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(printed["appended"], true);
    let bytes = std::fs::read(&path).unwrap();
    // Then it validates against the official schema
    assert_valid("pain.001.001.09.xsd", &bytes);
    // And it carries each refund once, by its end-to-end id, for its amount
    let ids = texts_of(&bytes, "EndToEndId");
    let expected: BTreeSet<String> = due
        .iter()
        .map(|(_, id, _)| navigo_bank::refund_end_to_end_id(id.parse().unwrap()))
        .collect();
    assert_eq!(ids.len(), due.len());
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let sum: Money = due.iter().map(|d| d.2).sum();
    assert_eq!(printed["control_sum"], sum.to_string());
    assert_eq!(printed["count"], due.len());
    // And each goes to its payer's account, and no other payer's
    let accounts = texts_of(&bytes, "IBAN");
    for i in 0..CONTRACTS {
        assert_eq!(
            accounts.contains(&payer_iban(i)),
            zoned.contains(&i),
            "contract {i}'s payer"
        );
    }
    // And each refund is recorded paid by bank transfer
    for (i, id, amount) in &due {
        let paid = refunds_paid(&dir, *i);
        assert_eq!(paid.len(), 1, "contract {i}");
        assert_eq!(paid[0]["data"]["refund_event_id"], id.as_str());
        assert_eq!(paid[0]["data"]["amount"], amount.to_string());
        assert_eq!(paid[0]["data"]["method"], "bank_transfer");
    }
    // And the file's evidence is in the chain
    let issued: Vec<Value> = history(&dir, BANK)
        .into_iter()
        .filter(|e| event_type(e) == "RefundFileIssued")
        .collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["data"]["sha256"], printed["sha256"]);
    assert_eq!(issued[0]["data"]["message_id"], "NVRFND20261105");
    assert_eq!(issued[0]["data"]["refunds"].as_array().unwrap().len(), 3);

    // When the same date is exported again
    let before = log_len(&dir);
    let again = s.0.join("again.xml");
    let out = bank_refunds(&dir, REFUND_DATE, &again);
    // Then the same bytes are written and nothing is appended
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let printed: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(printed["appended"], false);
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
    assert_eq!(log_len(&dir), before);
    // And the next date has nothing left to pay: no refund is paid twice
    let out = bank_refunds(&dir, "2026-11-06", &s.0.join("next.xml"));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no refund"), "{}", out.stderr);
    assert_eq!(log_len(&dir), before);
}

#[test]
fn pay_refund_method_refund_to_an_erased_payer_is_refused_naming_the_contract() {
    // Given two refunds due by transfer, and one payer's personal data erased
    let s = month_ledger("refunds-erased");
    let dir = data(&s);
    november_refunds(&s, &[1, 4]);
    ok_at(
        &dir,
        NOVEMBER,
        &[
            "erase",
            &person_id(4),
            "--basis",
            "test: the payer asked",
            "--operator",
            "AG-1",
        ],
    );
    let before = log_len(&dir);
    // When the refund file is asked for
    let path = s.0.join("refunds.xml");
    let out = bank_refunds(&dir, REFUND_DATE, &path);
    // Then it is refused, naming the contract and what to do, and nothing
    // is written or appended
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&contract_id(4)), "{}", out.stderr);
    assert!(out.stderr.contains("erased"), "{}", out.stderr);
    assert!(out.stderr.contains("lettre_cheque"), "{}", out.stderr);
    assert!(!out.stderr.contains(&contract_id(1)), "{}", out.stderr);
    assert!(!path.exists());
    assert_eq!(log_len(&dir), before);
    assert!(refunds_paid(&dir, 1).is_empty());
}

// ---------------------------------------------------------------------------
// The operator's decision on a file refused line by line

#[test]
fn pay_reject_operator_decision_imports_the_rest_and_records_the_lines_left_out() {
    // Given the month's collection file sent, and a notification with one
    // good return, one of an unknown code and one matching no debit
    let s = month_ledger("decision");
    let dir = data(&s);
    let debits = presented(&dir);
    collect(&dir, &s.0.join("collection.xml"));
    let stranger = Back {
        end_to_end_id: navigo_bank::debit_end_to_end_id(uuid_of(9)),
        amount: debits[2].2,
        code: "AM04",
    };
    let collected: Money = debits.iter().map(|d| d.2).sum();
    let ntf = notification(
        &creditor_iban(),
        &[
            back(&debits[0], "AM04"),
            back(&debits[1], "ZZ99"),
            stranger.clone(),
        ],
        &[],
        collected,
    );
    let path = s.0.join("camt054.xml");
    std::fs::write(&path, &ntf).unwrap();
    let file = path.to_str().unwrap();
    let before = log_len(&dir);
    // When it is imported without a decision
    let out = import(&dir, &path);
    // Then it is refused, each refused line named, and the way out said
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ZZ99"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&stranger.end_to_end_id),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--accept-remainder"), "{}", out.stderr);
    assert_eq!(log_len(&dir), before);
    // When the operator leaves out only one of the two refused lines
    let out = run(
        &dir,
        &[
            "bank",
            "import",
            file,
            "--skip",
            &stranger.end_to_end_id,
            "--operator",
            "AG-2",
        ],
    );
    // Then the other still refuses the file
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ZZ99"), "{}", out.stderr);
    assert_eq!(log_len(&dir), before);
    // When the operator names a line that is not refused
    let out = run(
        &dir,
        &[
            "bank",
            "import",
            file,
            "--skip",
            &debits[0].1,
            "--skip",
            &debits[1].1,
            "--skip",
            &stranger.end_to_end_id,
            "--operator",
            "AG-2",
        ],
    );
    // Then the decision is refused: the bank's rejection would be lost
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is not refused"), "{}", out.stderr);
    assert_eq!(log_len(&dir), before);
    // When a decision names no operator
    let out = run(&dir, &["bank", "import", file, "--accept-remainder"]);
    // Then it is a usage error
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("--operator"), "{}", out.stderr);
    assert_eq!(log_len(&dir), before);

    // When the operator accepts the remainder
    let out = run(
        &dir,
        &[
            "bank",
            "import",
            file,
            "--accept-remainder",
            "--operator",
            "AG-2",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Then the good return is recorded, and only it
    assert_eq!(rejections(&dir, 0).len(), 1);
    assert!(rejections(&dir, 1).is_empty());
    assert!(rejections(&dir, 2).is_empty());
    // And the file's event records the lines left out, why, and who decided
    let bank = history(&dir, BANK);
    let imported: Vec<&Value> = bank
        .iter()
        .filter(|e| event_type(e) == "BankFileImported")
        .collect();
    assert_eq!(imported.len(), 1);
    let ev = imported[0];
    assert_eq!(ev["actor"]["role"], "agent");
    assert_eq!(ev["actor"]["id"], "AG-2");
    assert_eq!(ev["data"]["decided_by"], "AG-2");
    assert_eq!(ev["data"]["returned"], 3);
    assert_eq!(
        ev["data"]["rejection_event_ids"].as_array().unwrap().len(),
        1
    );
    let skipped = ev["data"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0]["end_to_end_id"], debits[1].1.as_str());
    assert!(skipped[0]["reason"].as_str().unwrap().contains("ZZ99"));
    assert_eq!(skipped[1]["end_to_end_id"], stranger.end_to_end_id.as_str());
    assert!(skipped[1]["reason"]
        .as_str()
        .unwrap()
        .contains("PAY-REJECT"));
    assert!(skipped[0]["line"].as_u64().unwrap() < skipped[1]["line"].as_u64().unwrap());

    // When the file is delivered again, with or without the decision
    let before = log_len(&dir);
    for args in [
        vec!["bank", "import", file, "--json"],
        vec![
            "bank",
            "import",
            file,
            "--accept-remainder",
            "--operator",
            "AG-3",
            "--json",
        ],
    ] {
        let out = run(&dir, &args);
        // Then nothing is appended, and the answer says so
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(v["appended"], false);
        assert_eq!(v["decided_by"], "AG-2");
        assert_eq!(log_len(&dir), before);
    }
}

// ---------------------------------------------------------------------------
// Collections: a date whose debits changed, a legacy mandate, a whole month

#[test]
fn pay_debit_collect_refuses_a_date_whose_debits_changed_since_its_file() {
    // Given the date's collection file issued
    let s = month_ledger("changed");
    let dir = data(&s);
    let (bytes, _, _) = collect(&dir, &s.0.join("collection.xml"));
    // When one of its debits is annulled afterwards
    let debit_event = history(&dir, &format!("contract:{}", contract_id(0)))
        .into_iter()
        .find(|e| event_type(e) == "DebitPresented")
        .unwrap();
    let annul = format!(
        r#"{{"request_at": "2026-10-06T10:00:00Z", "actor": {{"role": "agent", "id": "AG-1"}}, "channel": "agency", "command": {{"type": "AnnulEvent", "stream": "contract:{}", "event_id": "{}", "reason": "test: presented in error"}}}}"#,
        contract_id(0),
        debit_event["event_id"].as_str().unwrap()
    );
    let path = s.0.join("annul.jsonl");
    std::fs::write(&path, annul + "\n").unwrap();
    ok_at(&dir, LATER, &["apply", path.to_str().unwrap()]);
    assert!(history(&dir, &format!("contract:{}", contract_id(0)))
        .iter()
        .any(|e| event_type(e) == "EventAnnulled"));
    let before = log_len(&dir);
    // And the same date is exported again
    let again = s.0.join("again.xml");
    let out = run_env(
        &dir,
        &[
            "bank",
            "collect",
            "--date",
            DATE,
            "--out",
            again.to_str().unwrap(),
        ],
        &[("NAVIGO_TEST_NOW", LATER)],
    );
    // Then it is refused (a file sent is not sent again under its date),
    // naming the file issued, and nothing is written or appended
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("have changed since"), "{}", out.stderr);
    assert!(out.stderr.contains("NVCOLL20261001"), "{}", out.stderr);
    assert!(!again.exists());
    assert_eq!(log_len(&dir), before);
    let issued = history(&dir, BANK);
    assert_eq!(issued.len(), 1);
    assert_eq!(
        issued[0]["data"]["sha256"],
        navigo_bank_sha256_hex(&bytes).as_str()
    );
}

/// The binary's clock the day after the date's file was issued.
const LATER: &str = "2026-10-07T08:00:00Z";

fn navigo_bank_sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// An older ledger's records: a person registered before personal data was
/// sealed, and their contract subscribed online whose mandate's account is
/// in clear (written before sealing), debited on day 1 from 2026-10-01.
fn legacy_clear_mandate_lines(i: u64) -> String {
    let (p, c) = (person_id(i), contract_id(i));
    format!(
        r#"{{"stream": "person:{p}", "expected_version": 0, "type": "PersonRegistered", "schema_version": 1, "effective_date": "2026-08-09", "recorded_at": "2026-08-09T08:00:00Z", "actor": {{"role": "agent", "id": "AG-OLD"}}, "channel": "agency", "correlation_id": "{p}", "data": {{"client_number": "NV{:08}", "first_name": "Ancien", "last_name": "Payeur", "birth_date": "1970-05-05", "address": {{"street": "2 rue de Lyon", "postal_code": "75012", "municipality": "Paris"}}}}}}
{{"stream": "contract:{c}", "expected_version": 0, "type": "ContractSubscribed", "schema_version": 2, "effective_date": "2026-10-01", "recorded_at": "2026-08-09T08:05:00Z", "actor": {{"role": "customer", "id": "NV{:08}"}}, "channel": "online", "correlation_id": "{c}", "data": {{"holder": "{p}", "payer": "{p}", "product": {{"kind": "annual", "zones": "1-5"}}, "channel": "online", "payment": {{"method": "direct_debit", "debit_day": 1, "mandate": {{"reference": "UMR-OLD-{i:04}", "payer": "{p}", "signed_on": "2019-03-01", "debtor": {{"clear": {{"iban": "{}", "holder_name": "Ancien Payeur"}}}}}}}}, "third_party_payer": false, "support": "pass", "rulebook": "CGVU-2026", "remaining_days": 31, "first_free_month": "2027-09"}}}}
"#,
        100 + i,
        100 + i,
        payer_iban(i)
    )
}

#[test]
fn pay_mandate_sequence_collect_takes_a_legacy_clear_mandate_of_an_old_ledger() {
    // Given an older ledger's contract whose mandate's account is in clear,
    // beside the generated month
    let old = 40;
    let s = ledger_with(
        "legacy",
        Some(&legacy_clear_mandate_lines(old)),
        &month_commands(),
        NOW,
    );
    let dir = data(&s);
    let legacy_debit = history(&dir, &format!("contract:{}", contract_id(old)))
        .into_iter()
        .find(|e| event_type(e) == "DebitPresented" && e["effective_date"] == DATE)
        .expect("the old contract is debited on the date");
    // When the date's collection file is built
    let (bytes, summary, _) = collect(&dir, &s.0.join("collection.xml"));
    // Then it validates, and carries the old contract's debit once, under
    // its mandate reference and signature date, from its clear account
    assert_valid("pain.008.001.08.xsd", &bytes);
    assert_eq!(summary.transactions, CONTRACTS + 1);
    let e2e = navigo_bank::debit_end_to_end_id(
        legacy_debit["event_id"].as_str().unwrap().parse().unwrap(),
    );
    let ids = texts_of(&bytes, "EndToEndId");
    assert_eq!(ids.iter().filter(|id| **id == e2e).count(), 1);
    assert!(texts_of(&bytes, "MndtId").contains(&format!("UMR-OLD-{old:04}")));
    assert!(texts_of(&bytes, "DtOfSgntr").contains(&"2019-03-01".to_owned()));
    assert!(texts_of(&bytes, "IBAN").contains(&payer_iban(old)));
}

#[test]
fn pay_debit_day_every_debit_of_a_generated_month_is_in_its_dates_file_exactly_once() {
    // Given a month whose contracts are debited on days 1, 2, 8 and 12, the
    // clock run through its end
    let days = [1, 2, 8, 12];
    let commands = month_commands_with(CONTRACTS, |i| days[(i % 4) as usize], "2026-10-31");
    let s = ledger_with("round-trip", None, &commands, NOVEMBER);
    let dir = data(&s);
    let mut by_date: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let mut all = BTreeSet::new();
    for i in 0..CONTRACTS {
        for e in history(&dir, &format!("contract:{}", contract_id(i))) {
            let date = e["effective_date"].as_str().unwrap().to_owned();
            if event_type(&e) == "DebitPresented" && date.starts_with("2026-10") {
                let id = navigo_bank::debit_end_to_end_id(
                    e["event_id"].as_str().unwrap().parse().unwrap(),
                );
                assert!(all.insert(id.clone()));
                by_date.entry(date).or_default().insert(id);
            }
        }
    }
    assert_eq!(
        all.len() as u64,
        CONTRACTS,
        "one debit a contract in October"
    );
    assert!(by_date.len() >= days.len(), "{by_date:?}");
    // When each collection date's file is built
    let mut seen = BTreeSet::new();
    for (date, expected) in &by_date {
        let out = s.0.join(format!("collection-{date}.xml"));
        let (bytes, summary, _) = collect_on(&dir, date, NOVEMBER, &out);
        // Then it validates, and holds exactly the debits of its date
        assert_valid("pain.008.001.08.xsd", &bytes);
        let ids = texts_of(&bytes, "EndToEndId");
        assert_eq!(ids.len() as u64, summary.transactions, "{date}");
        let got: BTreeSet<String> = ids.into_iter().collect();
        assert_eq!(&got, expected, "{date}");
        for id in got {
            // And no debit is in two files
            assert!(seen.insert(id), "{date}");
        }
    }
    // And every debit of the month is in one
    assert_eq!(seen, all);
}

/// The debits a collection file's events list, in the order of the bank
/// stream: (debit event id, contract id, amount).
fn listed_debits(bank: &[Value]) -> Vec<(String, String, Money)> {
    bank.iter()
        .filter(|e| matches!(event_type(e), "BankFilePart" | "CollectionFileIssued"))
        .flat_map(|e| e["data"]["debits"].as_array().unwrap().clone())
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap().to_owned();
            (
                text("debit_event_id"),
                text("contract_id"),
                text("amount").parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn pay_debit_collect_lists_a_date_of_more_debits_than_an_event_holds_in_parts_and_reads_them_back()
{
    // Given 600 contracts debited on the same date: more debits than two
    // events list (BankFilePart::ITEMS_MAX is 256)
    let contracts = 600;
    let commands = month_commands_with(contracts, |_| 1, DATE);
    let s = ledger_with("parts", None, &commands, NOW);
    let dir = data(&s);
    // When its collection file is built
    let out = s.0.join("collection.xml");
    let (bytes, summary, _) = collect(&dir, &out);
    assert_valid("pain.008.001.08.xsd", &bytes);
    assert_eq!(summary.transactions, contracts);
    // Then the bank stream lists its debits in two full parts, then the
    // file's event with the rest and the number of parts
    let bank = history(&dir, BANK);
    let types: Vec<&str> = bank.iter().map(event_type).collect();
    assert_eq!(
        types,
        ["BankFilePart", "BankFilePart", "CollectionFileIssued"]
    );
    assert_eq!(bank[2]["data"]["parts"], 2);
    assert_eq!(bank[1]["data"]["part"], 2);
    let listed = listed_debits(&bank);
    assert_eq!(listed.len() as u64, contracts);
    // And they are the file's debits, each once
    let in_file: BTreeSet<String> = texts_of(&bytes, "EndToEndId").into_iter().collect();
    let in_chain: BTreeSet<String> = listed
        .iter()
        .map(|(id, _, _)| navigo_bank::debit_end_to_end_id(id.parse().unwrap()))
        .collect();
    assert_eq!(in_chain, in_file);
    assert_eq!(in_file.len() as u64, contracts);

    // When the bank rejects a debit of each part and of the file's event
    let picked = [&listed[0], &listed[300], &listed[599]];
    let returned: Vec<Back> = picked
        .iter()
        .map(|(id, _, amount)| Back {
            end_to_end_id: navigo_bank::debit_end_to_end_id(id.parse().unwrap()),
            amount: *amount,
            code: "AM04",
        })
        .collect();
    let report = status_report(&summary, &creditor_iban(), &returned);
    let report_path = s.0.join("pain002.xml");
    std::fs::write(&report_path, &report).unwrap();
    let out = import(&dir, &report_path);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Then each is rejected on its own contract
    for (id, contract, _) in picked {
        let rejected: Vec<Value> = history(&dir, &format!("contract:{contract}"))
            .into_iter()
            .filter(|e| event_type(e) == "DebitRejected")
            .collect();
        assert_eq!(rejected.len(), 1, "{contract}");
        assert_eq!(rejected[0]["data"]["debit_event_id"], id.as_str());
    }

    // When the date is collected again
    let before = log_len(&dir);
    let (again, _, shown) = collect(&dir, &s.0.join("again.xml"));
    // Then the same file is written and nothing is appended
    assert_eq!(again, bytes);
    assert_eq!(shown["appended"], false);
    assert_eq!(log_len(&dir), before);
}
