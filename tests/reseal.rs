//! `reseal` (`TERM-RETENTION`, docs/storage-format.md "What an erasure can and
//! cannot remove"): a ledger holding records written before sealing keeps the
//! clear text of an erased person in its files; a reseal writes a new ledger
//! in which no clear personal data is left, whose first record names the old
//! log's head and root, which verifies and whose views are the old one's.

mod cli_support;
mod legacy_support;
mod raw_files;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use cli_support::{json, ok, run};
use legacy_support::write_legacy_ledger;
use navigo_events_schema::StreamId;
use raw_files::holding_any;
use serde_json::Value;
use uuid::Uuid;

/// Person A, erased in the source.
const PERSON_A: Uuid = Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0a01);
/// Person B, not erased.
const PERSON_B: Uuid = Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0b02);
/// A's contract and B's, both subscribed by version 1 records.
const CONTRACT_A: Uuid = Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0ca1);
const CONTRACT_B: Uuid = Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0cb2);
/// A's clear data in the legacy records, distinctive enough to be searched
/// for in raw bytes.
const A_CLEAR: [&str; 4] = ["Leontine", "Anciennete", "1 quai Legacy", "acct-LEGACY-A1"];
const B_CLEAR: [&str; 4] = [
    "Barnabette",
    "Kestrelle",
    "9 rue Persistante",
    "acct-LEGACY-B2",
];

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("reseal-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn registration_v1(number: &str, clear: [&str; 4]) -> String {
    format!(
        r#"{{"client_number":"{number}","first_name":"{}","last_name":"{}","birth_date":"1950-01-02","address":{{"street":"{}","postal_code":"75004","municipality":"Paris"}}}}"#,
        clear[0], clear[1], clear[2]
    )
}

fn subscription_v1(person: Uuid, umr: &str, account: &str) -> String {
    format!(
        r#"{{"holder":"{person}","payer":"{person}","product":{{"kind":"annual","zones":"1-5"}},"channel":"agency","payment":{{"method":"direct_debit","debit_day":8,"mandate":{{"reference":"{umr}","account_ref":"{account}"}}}},"third_party_payer":false,"support":"pass","rulebook":"CGVU-2026","remaining_days":31}}"#
    )
}

/// The version 1 records of the legacy ledger: both persons registered and
/// both contracts subscribed, their personal data and mandates in clear.
fn legacy_records() -> Vec<(StreamId, &'static str, String)> {
    vec![
        (
            StreamId::person(PERSON_A),
            "PersonRegistered",
            registration_v1("NV00000011", A_CLEAR),
        ),
        (
            StreamId::person(PERSON_B),
            "PersonRegistered",
            registration_v1("NV00000012", B_CLEAR),
        ),
        (
            StreamId::contract(CONTRACT_A),
            "ContractSubscribed",
            subscription_v1(PERSON_A, "UMR-LEGACY-A", A_CLEAR[3]),
        ),
        (
            StreamId::contract(CONTRACT_B),
            "ContractSubscribed",
            subscription_v1(PERSON_B, "UMR-LEGACY-B", B_CLEAR[3]),
        ),
    ]
}

/// Runs `reseal --from old --to target` with `more` arguments.
fn reseal(old: &Path, target: &Path, more: &[&str]) -> cli_support::Out {
    let mut args = vec![
        "reseal",
        "--from",
        old.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    run(old, &args, None)
}

/// The source: the legacy records, the reference data, a sealed address of
/// A's, the billing clock, then A erased.
fn source(dir: &Path) -> PathBuf {
    let data = dir.join("old");
    write_legacy_ledger(&data, &legacy_records(), "2027-08-01", false);
    ok(&data, &["init"]);
    let change = format!(
        "{{\"request_at\":\"2027-10-02T08:00:00Z\",\"actor\":{{\"role\":\"agent\",\"id\":\"AG-1\"}},\
         \"channel\":\"agency\",\"command\":{{\"type\":\"ChangeAddress\",\"person_id\":\"{PERSON_A}\",\
         \"effective_date\":\"2027-10-02\",\"address\":{{\"street\":\"5 allee Scellee\",\
         \"postal_code\":\"75011\",\"municipality\":\"Paris\"}}}}}}\n"
    );
    let out = run(&data, &["apply"], Some(&change));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    ok(&data, &["advance", "--to", "2027-10-15"]);
    ok(
        &data,
        &["erase", &PERSON_A.to_string(), "--basis", "GDPR art. 17"],
    );
    data
}

/// Every view of both contracts and both persons, by name. An audit names
/// each record's position and hashes, which a reseal changes by design (one
/// position later, a new chain): they are taken out, positions moved back by
/// `shift`.
fn views(data: &Path, shift: u64) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut read = |view: &str, id: Uuid| {
        let mut v = json(&ok(data, &[view, &id.to_string(), "--json"]));
        normalize(&mut v, shift);
        out.push((format!("{view} {id}"), v));
    };
    for id in [CONTRACT_A, CONTRACT_B] {
        for view in ["state", "balance", "calendar", "audit"] {
            read(view, id);
        }
    }
    for id in [PERSON_A, PERSON_B] {
        for view in ["bans", "refunds"] {
            read(view, id);
        }
    }
    out
}

/// Takes out the hashes of `v` and moves its positions back by `shift`.
fn normalize(v: &mut Value, shift: u64) {
    match v {
        Value::Object(map) => {
            map.remove("hash");
            map.remove("prev_hash");
            for (k, x) in map.iter_mut() {
                match x.as_u64() {
                    Some(n) if k.ends_with("position") => *x = Value::from(n - shift),
                    _ => normalize(x, shift),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| normalize(x, shift)),
        _ => {}
    }
}

#[test]
fn term_retention_reseal_drops_an_erased_persons_legacy_clear_text_and_keeps_every_view() {
    // Given a ledger written before sealing, whose person A was erased
    let dir = fresh_dir("reseal");
    let old = source(&dir);
    // Whose files still hold A's clear legacy data: that is the problem
    let left: Vec<_> = holding_any(&old, &A_CLEAR)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert!(left.contains(&"Leontine".to_owned()), "{left:?}");
    assert!(left.contains(&A_CLEAR[3].to_owned()), "{left:?}");
    let old_views = views(&old, 0);
    let old_verify = json(&ok(&old, &["verify", "--json"]));
    // When it is resealed
    let new = dir.join("new");
    let view = {
        let out = reseal(&old, &new, &["--json"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        json(&out.stdout)
    };
    // Then every old record is copied, the clear fields of B sealed and A's
    // dropped, the legacy records upgraded
    let records = old_verify["head"]["position"].as_u64().unwrap();
    assert_eq!(view["records_copied"], records, "{view}");
    assert_eq!(view["fields_sealed"], 2, "{view}");
    assert_eq!(view["fields_dropped"], 2, "{view}");
    assert_eq!(view["legacy_records_upgraded"], 4, "{view}");
    assert_eq!(view["new"]["head"]["position"], records + 1, "{view}");
    // And no file of the new ledger holds A's clear text, nor B's
    assert_eq!(holding_any(&new, &A_CLEAR), vec![], "A's clear text");
    assert_eq!(holding_any(&new, &B_CLEAR), vec![], "B's clear text");
    // And the new ledger verifies, its first record naming the old head and
    // root, as the old ledger's verify and export state them
    let new_verify = json(&ok(&new, &["verify", "--json"]));
    assert_eq!(new_verify["ok"], true, "{new_verify}");
    assert_eq!(view["old"]["head"], old_verify["head"], "{view}");
    assert_eq!(view["new"]["head"], new_verify["head"], "{view}");
    let first = json(
        ok(
            &new,
            &[
                "history",
                "ledger:00000000-0000-0000-0000-000000000000",
                "--json",
            ],
        )
        .lines()
        .next()
        .unwrap(),
    );
    assert_eq!(first["type"], "LedgerResealed", "{first}");
    assert_eq!(first["position"], 1, "{first}");
    let claim = &first["data"];
    assert_eq!(claim["source_records"], records, "{claim}");
    assert_eq!(
        claim["source_head_hash"], old_verify["head"]["hash"],
        "{claim}"
    );
    assert_eq!(
        claim["source_tree_root"], view["old"]["tree_root"],
        "{claim}"
    );
    assert_eq!(
        claim["source_tree_root"],
        export_root(&old, &dir),
        "{claim}"
    );
    // And every view of both contracts is the old ledger's
    // except where A was erased: the old ledger still shows her legacy
    // mandate's account reference (the clear record holds it), the new one
    // shows it unreadable
    let debtor = "/payment/mandate/debtor";
    for ((name, new_view), (_, mut old_view)) in views(&new, 1).into_iter().zip(old_views) {
        if name == format!("state {CONTRACT_A}") {
            let was = old_view.pointer_mut(debtor).unwrap();
            assert_eq!(was["account_ref"], A_CLEAR[3], "{name}");
            assert_eq!(new_view.pointer(debtor).unwrap()["status"], "unreadable");
            *was = new_view.pointer(debtor).unwrap().clone();
        }
        assert_eq!(new_view, old_view, "{name}");
    }
    // And A's clear text is still absent after the views were read
    assert_eq!(holding_any(&new, &A_CLEAR), vec![], "A's clear text");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Merkle root of a ledger's whole log as `export` states it, in hex.
fn export_root(data: &Path, scratch: &Path) -> Value {
    let out = scratch.join("export.jsonl");
    ok(data, &["export", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let header = json(text.lines().next().unwrap());
    let root = base64::engine::general_purpose::STANDARD
        .decode(header["root"].as_str().unwrap())
        .unwrap();
    Value::String(root.iter().map(|b| format!("{b:02x}")).collect())
}

#[test]
fn term_retention_reseal_refuses_a_target_holding_records_and_writes_nothing() {
    // Given a legacy ledger and a target that is a ledger with records
    let dir = fresh_dir("non-empty");
    let old = dir.join("old");
    write_legacy_ledger(&old, &legacy_records(), "2027-08-01", false);
    let target = dir.join("target");
    ok(&target, &["init"]);
    let before = json(&ok(&target, &["verify", "--json"]));
    let keys_before = std::fs::read(target.join("personal-keys")).ok();
    // When it is resealed into it
    let out = reseal(&old, &target, &[]);
    // Then it is refused, naming the target, and nothing was written
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is not empty"), "{}", out.stderr);
    assert_eq!(json(&ok(&target, &["verify", "--json"])), before);
    assert_eq!(
        std::fs::read(target.join("personal-keys")).ok(),
        keys_before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn term_retention_reseal_refuses_a_source_that_does_not_verify_and_writes_nothing() {
    // Given a legacy ledger with one byte of its first record flipped
    let dir = fresh_dir("tampered");
    let old = dir.join("old");
    write_legacy_ledger(&old, &legacy_records(), "2027-08-01", true);
    let target = dir.join("new");
    // When it is resealed
    let out = reseal(&old, &target, &[]);
    // Then it is refused at that record, and no target was created
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("does not verify at position 1"),
        "{}",
        out.stderr
    );
    assert!(!target.exists(), "the target was created");
    let _ = std::fs::remove_dir_all(&dir);
}
