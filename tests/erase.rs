//! Erasable personal data (`TERM-RETENTION`): personal fields are sealed with a
//! per-person key kept apart from the log; `erase` destroys the key and records
//! the erasure, after which the chain, the proofs and the money still check and
//! no file of the data directory holds the person's clear text or key.

mod http_support;
mod legacy_support;
mod raw_files;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use http_support::cli_support::{json, ok, run};
use legacy_support::write_legacy_ledger;
use navigo_events_schema::StreamId;
use raw_files::{contains, files, forms, holding_any};

const PERSON_A: &str = "0196a000-0000-7000-8000-000000000001";
const PERSON_B: &str = "0196a000-0000-7000-8000-000000000002";
const CONTRACT_A: &str = "0196a000-0000-7000-8000-00000000000a";
/// Person A's personal data, each distinctive enough to be searched for in raw
/// bytes.
const A_CLEAR: [&str; 10] = [
    "Zephyrine",
    "Quasimodette",
    "1961-02-03",
    "7 impasse Oubliette",
    "ATT-ZQ-4471",
    // The identity document proving her age for the Senior tariff.
    "CNI-ZQ-887766",
    // Her mandate's account (`PAY-METHOD`): the IBAN, its account number
    // alone, and the holder's name the bank knows.
    A_IBAN,
    "27182818284",
    "Titulaire Zephyrinette",
    // An operator's words about her file: the reason of an annulment on her
    // contract.
    A_ANNULMENT_REASON,
];
/// The reason an operator gave for annulling an event of A's contract.
const A_ANNULMENT_REASON: &str =
    "Mme Zephyrine rappelle: demande faite par erreur (RAPPEL-ZQ-5521)";
/// Person A's IBAN, as given in her mandate.
const A_IBAN: &str = "FR7630004447112718281828435";
const B_CLEAR: [&str; 5] = [
    "Barnabette",
    "Kestrelle",
    "9 rue Persistante",
    B_IBAN,
    "Titulaire Barnabettine",
];
/// Person B's IBAN.
const B_IBAN: &str = "FR7630003555551618033988738";
const KEY_STORE: &str = "personal-keys";

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("erase-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn command(at: &str, body: &str) -> String {
    format!(
        "{{\"request_at\":\"{at}\",\"actor\":{{\"role\":\"agent\",\"id\":\"AG-1\"}},\
         \"channel\":\"agency\",\"command\":{body}}}\n"
    )
}

fn register(
    at: &str,
    id: &str,
    number: &str,
    first: &str,
    last: &str,
    birth: &str,
    street: &str,
) -> String {
    command(
        at,
        &format!(
            "{{\"type\":\"RegisterPerson\",\"person_id\":\"{id}\",\"client_number\":\"{number}\",\
             \"first_name\":\"{first}\",\"last_name\":\"{last}\",\"birth_date\":\"{birth}\",\
             \"address\":{{\"street\":\"{street}\",\"postal_code\":\"75011\",\"municipality\":\"Paris\"}}}}"
        ),
    )
}

/// A direct-debit subscription of `person` for `person`, on their account
/// (`A_IBAN` or `B_IBAN`, signed by their `Titulaire` name).
fn subscribe(at: &str, contract: &str, person: &str, start: &str) -> String {
    let (iban, holder, umr) = if person == PERSON_A {
        (A_IBAN, A_CLEAR[8], "M-A")
    } else {
        (B_IBAN, B_CLEAR[4], "M-B")
    };
    let umr = format!("{umr}-{}", &contract[contract.len() - 4..]);
    command(
        at,
        &format!(
            "{{\"type\":\"Subscribe\",\"contract_id\":\"{contract}\",\"holder\":\"{person}\",\
             \"payer\":\"{person}\",\"product\":{{\"kind\":\"annual\",\"zones\":\"1-5\"}},\
             \"start_date\":\"{start}\",\"payment\":{{\"method\":\"direct_debit\",\"debit_day\":8,\
             \"mandate\":{{\"reference\":\"{umr}\",\"signed_on\":\"2027-07-01\",\
             \"debtor\":{{\"iban\":\"{iban}\",\"holder_name\":\"{holder}\"}}}}}}}}"
        ),
    )
}

/// The logins of A's and B's personal-space accounts.
const A_LOGIN: &str = "zephyrine.quasimodette@example.org";
const B_LOGIN: &str = "barnabette.kestrelle@example.org";

/// Opens A's and B's personal-space accounts (`ACC-LINK`).
fn open_accounts(data: &Path) {
    for (login, number, birth) in [
        (A_LOGIN, "NV00000001", A_CLEAR[2]),
        (B_LOGIN, "NV00000002", "1975-06-07"),
    ] {
        let out = run(
            data,
            &[
                "account",
                "create",
                "--login",
                login,
                "--client-number",
                number,
                "--birth-date",
                birth,
            ],
            Some("Navigo2027pass\n"),
        );
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
}

/// Applies `lines`; each must be accepted.
fn apply_ok(data: &Path, lines: &str) {
    let out = run(data, &["apply"], Some(lines));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for l in out.stdout.lines() {
        assert_eq!(json(l)["status"], "accepted", "{l}");
    }
}

/// The files of `dir` that hold `needle`.
fn holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|(_, b)| contains(b, needle))
        .map(|(p, _)| p)
        .collect()
}

/// The files of `dir` holding any of A's clear values, in any form.
fn holding_a(dir: &Path) -> Vec<(String, PathBuf)> {
    holding_any(dir, &A_CLEAR)
}

/// Every canonical record of the log, from an export (the bytes the chain
/// and the tree hash, whatever compression the store applies on disk).
fn canonical_records(data: &Path, scratch: &Path) -> Vec<String> {
    let out = scratch.join(format!("export-{}.jsonl", files(scratch).len()));
    ok(data, &["export", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(json(l)["record"].as_str().unwrap())
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

/// The live key of `person` in the key store file.
fn key_of(data: &Path, person: &str) -> Vec<u8> {
    let id = uuid::Uuid::parse_str(person).unwrap();
    let bytes = std::fs::read(data.join(KEY_STORE)).unwrap();
    bytes[16..]
        .chunks_exact(64)
        .find(|slot| slot[16..32] == *id.as_bytes())
        .map(|slot| slot[32..].to_vec())
        .expect("a slot for the person")
}

/// A ledger with persons A (a contract, a new address, a declared place) and
/// B, the billing clock run over a few months.
fn population(dir: &Path) -> PathBuf {
    let data = dir.join("ledger");
    ok(&data, &["init"]);
    let mut lines = register(
        "2027-08-01T08:00:00Z",
        PERSON_A,
        "NV00000001",
        A_CLEAR[0],
        A_CLEAR[1],
        A_CLEAR[2],
        "3 rue Premiere",
    );
    lines += &register(
        "2027-08-01T08:01:00Z",
        PERSON_B,
        "NV00000002",
        B_CLEAR[0],
        B_CLEAR[1],
        "1975-06-07",
        B_CLEAR[2],
    );
    lines += &subscribe("2027-08-01T08:02:00Z", CONTRACT_A, PERSON_A, "2027-09-01");
    lines += &command(
        "2027-08-02T08:00:00Z",
        &format!(
            "{{\"type\":\"ChangeAddress\",\"person_id\":\"{PERSON_A}\",\"effective_date\":\"2027-08-02\",\
             \"address\":{{\"street\":\"{}\",\"postal_code\":\"75011\",\"municipality\":\"Paris\"}}}}",
            A_CLEAR[3]
        ),
    );
    lines += &command(
        "2027-08-02T08:01:00Z",
        &format!(
            "{{\"type\":\"DeclareWorkStudyPlace\",\"person_id\":\"{PERSON_A}\",\"kind\":\"work\",\
             \"municipality\":\"Argenteuil\",\"proof_ref\":\"{}\"}}",
            A_CLEAR[4]
        ),
    );
    apply_ok(&data, &lines);
    ok(&data, &["advance", "--to", "2027-10-15"]);
    apply_ok(
        &data,
        &command(
            "2027-10-15T08:00:00Z",
            &format!(
                "{{\"type\":\"RequestSeniorSwitch\",\"contract_id\":\"{CONTRACT_A}\",\
                 \"declaration\":{{\"declared\":\"no_activity\"}},\"age_proof_ref\":\"{}\"}}",
                A_CLEAR[5]
            ),
        ),
    );
    // An operator annuls the request, in her words (the reason concerns the
    // contract's holder, A)
    let history = ok(
        &data,
        &["history", &format!("contract:{CONTRACT_A}"), "--json"],
    );
    let request = history
        .lines()
        .map(json)
        .find(|v| v["type"] == "SeniorSwitchRequested")
        .expect("the Senior switch request");
    apply_ok(
        &data,
        &command(
            "2027-10-15T08:00:00Z",
            &serde_json::json!({"type": "AnnulEvent", "stream": format!("contract:{CONTRACT_A}"),
                "event_id": request["event_id"], "reason": A_ANNULMENT_REASON})
            .to_string(),
        ),
    );
    let history = ok(
        &data,
        &["history", &format!("contract:{CONTRACT_A}"), "--json"],
    );
    assert!(
        history.contains(&format!("{{\"clear\":\"{A_ANNULMENT_REASON}\"}}")),
        "{history}"
    );
    data
}

#[test]
fn term_retention_erase_then_verify_and_proofs_pass_and_no_clear_text_or_key_remains() {
    // Given a ledger whose persons' data is sealed, and a checkpoint an
    // auditor kept before the erasure
    let dir = fresh_dir("erase");
    let data = population(&dir);
    let signing = dir.join("signing.key");
    ok(
        &data,
        &["key", "create", "--key-file", signing.to_str().unwrap()],
    );
    let public = dir.join("signing.pub");
    let text = ok(
        &data,
        &["key", "public", "--key-file", signing.to_str().unwrap()],
    );
    std::fs::write(&public, text).unwrap();
    let before = dir.join("before.note");
    let note = ok(
        &data,
        &["checkpoint", "--key-file", signing.to_str().unwrap()],
    );
    std::fs::write(&before, note).unwrap();
    let balance_before = ok(&data, &["balance", CONTRACT_A, "--json"]);
    let audit_before = json(&ok(&data, &["audit", CONTRACT_A, "--json"]));
    let person_audit_before = json(&ok(&data, &["audit", PERSON_A, "--json"]));
    // (the clear text of a person not erased is in no record, and in no file
    // but the materialized projections, which list persons by name)
    let records = canonical_records(&data, &dir);
    ok(&data, &["rebuild", "--at", "2027-10-15"]);
    let projections = data.join("projections");
    for clear in A_CLEAR.iter().chain(&B_CLEAR) {
        assert!(
            records.iter().all(|r| !r.contains(clear)),
            "{clear} in a record"
        );
        assert!(
            holding(&data, clear.as_bytes())
                .iter()
                .all(|p| p.starts_with(&projections)),
            "{clear}"
        );
    }
    let listed = ok(&data, &["list", "persons-by-name", "name=quasi", "--json"]);
    assert!(listed.contains(A_CLEAR[0]), "{listed}");
    assert!(
        !holding(&projections, &forms(A_CLEAR[1])[1]).is_empty(),
        "the projections list A by name before the erasure"
    );
    let key_a = key_of(&data, PERSON_A);
    let auth = data.join("auth.json");
    open_accounts(&data);
    assert!(contains(&std::fs::read(&auth).unwrap(), A_LOGIN.as_bytes()));

    // When person A is erased
    let out = ok(
        &data,
        &[
            "erase",
            PERSON_A,
            "--basis",
            "GDPR art. 17 request",
            "--operator",
            "AG-7",
        ],
    );
    let answer = json(&out);
    assert_eq!(answer["events"][0]["type"], "PersonalDataErased", "{out}");
    assert_eq!(answer["events"][0]["data"]["basis"], "GDPR art. 17 request");

    // Then the log verifies, and against the checkpoint kept before
    ok(&data, &["verify"]);
    let against = run(
        &data,
        &[
            "verify",
            "--against",
            before.to_str().unwrap(),
            "--key",
            public.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(against.code, 0, "{}{}", against.stdout, against.stderr);
    // And every record's inclusion proof is still given
    let head = records.len() + 1;
    ok(
        &data,
        &["prove", "inclusion", "1", "--size", &head.to_string()],
    );
    // And neither A's clear text (in any case) nor A's key is in any file of
    // the directory, the projections' included, which still list by name
    assert_eq!(holding_a(&data), Vec::new());
    assert_eq!(holding(&data, &key_a), Vec::<PathBuf>::new(), "A's key");
    // And A's personal-space account is forgotten (its login is often an
    // e-mail address), B's kept
    let accounts = std::fs::read(&auth).unwrap();
    assert!(!contains(&accounts, A_LOGIN.as_bytes()), "A's login");
    assert!(contains(&accounts, B_LOGIN.as_bytes()), "B's login");
    let listed = ok(&data, &["list", "persons-by-name", "name=k", "--json"]);
    assert!(listed.contains(B_CLEAR[0]), "{listed}");
    let listed = ok(&data, &["list", "persons-by-name", "name=quasi", "--json"]);
    assert!(!listed.contains(A_CLEAR[0]), "{listed}");
    // And every view of events shows A as erased and B's data opened, never
    // the sealed bytes
    let erased = serde_json::json!({"erased": true, "person": PERSON_A});
    let contract_history = ok(
        &data,
        &["history", &format!("contract:{CONTRACT_A}"), "--json"],
    );
    let annulment = contract_history
        .lines()
        .map(json)
        .find(|v| v["type"] == "EventAnnulled")
        .expect("the annulment");
    assert_eq!(annulment["data"]["reason"], erased, "{annulment}");
    assert!(!contract_history.contains("\"ct\""), "{contract_history}");
    let history = ok(&data, &["history", &format!("person:{PERSON_A}"), "--json"]);
    let audit = ok(&data, &["audit", PERSON_A, "--json"]);
    let mut personal = 0;
    for line in history.lines() {
        let v = json(line);
        for field in ["personal", "address", "place"] {
            if !v["data"][field].is_null() {
                assert_eq!(v["data"][field], erased, "{line}");
                personal += 1;
            }
        }
    }
    assert_eq!(personal, 3, "{history}");
    // (an audit's steps carry no payload)
    for view in [&history, &audit] {
        assert!(!view.contains("\"ct\""), "{view}");
        assert!(A_CLEAR.iter().all(|c| !view.contains(c)), "{view}");
    }
    let history = ok(&data, &["history", &format!("person:{PERSON_B}"), "--json"]);
    let first = json(history.lines().next().expect("B's registration"));
    assert_eq!(
        first["data"]["personal"]["clear"]["first_name"], B_CLEAR[0],
        "{history}"
    );
    assert!(!history.contains("\"ct\""), "{history}");
    // And A's contract still balances as before
    assert_eq!(
        ok(&data, &["balance", CONTRACT_A, "--json"]),
        balance_before
    );
    ok(&data, &["calendar", CONTRACT_A]);
    // And the audits of A's contract and of A still balance: every step
    // audited before is audited again with the same balance after it, and the
    // erasure moves no money
    for (id, before) in [
        (CONTRACT_A, &audit_before),
        (PERSON_A, &person_audit_before),
    ] {
        let after = json(&ok(&data, &["audit", id, "--json"]));
        let balances = |v: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
            v.as_array()
                .expect("the audit's entries")
                .iter()
                .map(|e| (e["position"].clone(), e["balance_after"].clone()))
                .collect()
        };
        let (was, is) = (balances(before), balances(&after));
        assert!(
            !was.is_empty() && is.starts_with(&was),
            "{id}: {before} / {after}"
        );
        assert!(
            is[was.len()..]
                .iter()
                .all(|(_, b)| *b == was[was.len() - 1].1),
            "{id}: {after}"
        );
    }
    // And the materialized projections, rebuilt by the erasure, agree with
    // the log
    ok(&data, &["check-projections"]);
    // And a request that needs A's birth date is refused by TERM-RETENTION
    let out = run(
        &data,
        &["apply"],
        Some(&subscribe(
            "2027-10-15T08:00:00Z",
            "0196a000-0000-7000-8000-00000000000b",
            PERSON_A,
            "2027-11-01",
        )),
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        json(out.stdout.trim())["rule"],
        "TERM-RETENTION",
        "{}",
        out.stdout
    );
    // And a command's answer shows the data it recorded opened
    let out = run(
        &data,
        &["apply"],
        Some(&register(
            "2027-10-15T08:00:00Z",
            "0196a000-0000-7000-8000-000000000003",
            "NV00000003",
            "Ophelinde",
            "Marsupiale",
            "1980-01-01",
            "1 rue Neuve",
        )),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let answer = json(out.stdout.trim());
    assert_eq!(
        answer["events"][0]["data"]["personal"]["clear"]["first_name"], "Ophelinde",
        "{answer}"
    );
    // While B's data still opens: B is judged on their birth date
    apply_ok(
        &data,
        &subscribe(
            "2027-10-15T08:00:00Z",
            "0196a000-0000-7000-8000-00000000000c",
            PERSON_B,
            "2027-11-01",
        ),
    );
    // And erasing again appends nothing
    let again = json(&ok(&data, &["erase", PERSON_A, "--basis", "again"]));
    assert_eq!(again["events"].as_array().map(Vec::len), Some(0), "{again}");
    // And a correction of A's file is still recorded after her erasure, its
    // reason (an operator's words about her) erased from the start
    let history = ok(&data, &["history", &format!("person:{PERSON_A}"), "--json"]);
    let address = history
        .lines()
        .map(json)
        .find(|v| v["type"] == "AddressChanged")
        .expect("A's address change");
    let late_reason = "Zephyrine: adresse saisie deux fois (ANNUL-ZQ-9090)";
    let out = run(
        &data,
        &["apply"],
        Some(&command(
            "2027-10-15T08:00:00Z",
            &serde_json::json!({"type": "AnnulEvent", "stream": format!("person:{PERSON_A}"),
                "event_id": address["event_id"], "reason": late_reason})
            .to_string(),
        )),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let history = ok(&data, &["history", &format!("person:{PERSON_A}"), "--json"]);
    let late = history
        .lines()
        .map(json)
        .find(|v| v["type"] == "EventAnnulled")
        .expect("the late annulment");
    assert_eq!(late["data"]["reason"], erased, "{late}");
    assert_eq!(
        holding_any(&data, &[late_reason, "ANNUL-ZQ-9090"]),
        Vec::new()
    );
    ok(&data, &["verify"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn term_retention_erase_through_a_running_service_purges_its_projections_while_it_serves() {
    // Given a served ledger whose service keeps its projections, listing A
    // by name
    let dir = fresh_dir("served");
    let data = population(&dir);
    open_accounts(&data);
    let agent = http_support::token(&data, "agent-1", "agent");
    let (mut child, addr) = http_support::serve(&data, "2027-10-15T08:00:00Z");
    let call = |method: &str, path: &str, body: Option<&str>| {
        http_support::request(&addr, method, path, Some(&agent), body, &[])
    };
    let head = http_support::request(&addr, "GET", "/ready", None, None, &[]).1["head_position"]
        .as_u64()
        .expect("head");
    let list = |name: &str, position: u64| {
        let (status, v) = call(
            "GET",
            &format!("/v1/lists/persons-by-name?name={name}&min_position={position}"),
            None,
        );
        assert_eq!(status, 200, "{v}");
        v.to_string()
    };
    assert!(list("quasi", head).contains(A_CLEAR[0]));
    let auth = data.join("auth.json");
    assert!(contains(&std::fs::read(&auth).unwrap(), A_LOGIN.as_bytes()));
    assert!(!holding(&data.join("projections"), &forms(A_CLEAR[1])[1]).is_empty());
    // When A is erased through the service
    let body = format!(
        "{{\"command\":{{\"type\":\"ErasePersonalData\",\"person_id\":\"{PERSON_A}\",\
         \"basis\":\"GDPR art. 17 request\"}}}}"
    );
    let (status, v) = call("POST", "/v1/commands", Some(&body));
    assert_eq!(status, 201, "{v}");
    let erased_at = v["events"][0]["position"].as_u64().expect("position");
    // Then once its projections cover the erasure, they still list B and no
    // longer A, and no file of the data directory holds A's clear text, while
    // it serves and after it stopped
    assert!(!list("quasi", erased_at).contains(A_CLEAR[0]));
    assert!(list("k", erased_at).contains(B_CLEAR[0]));
    assert_eq!(holding_a(&data), Vec::new());
    let accounts = std::fs::read(&auth).unwrap();
    assert!(!contains(&accounts, A_LOGIN.as_bytes()), "A's login");
    assert!(contains(&accounts, B_LOGIN.as_bytes()), "B's login");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(holding_a(&data), Vec::new());
    // And the service's log holds none either
    let log = std::fs::read(data.with_extension("log")).unwrap_or_default();
    for clear in A_CLEAR.iter().chain(&B_CLEAR) {
        assert!(!contains(&log, clear.as_bytes()), "{clear} in the log");
    }
    let _ = std::fs::remove_file(data.with_extension("log"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Person C's personal data, sent only through a running service.
const C_CLEAR: [&str; 5] = [
    "Ombeline",
    "Verdurette",
    "11 allee Transitoire",
    "FR7630004000031234567890143",
    "Titulaire Ombelinette",
];

#[test]
fn term_retention_personal_data_judged_by_a_running_service_is_sealed_in_every_file() {
    // Given a served ledger
    let dir = fresh_dir("served-seal");
    let data = population(&dir);
    let agent = http_support::token(&data, "agent-1", "agent");
    let (mut child, addr) = http_support::serve(&data, "2027-10-15T08:00:00Z");
    let post = |body: String| {
        let (status, v) = http_support::request(
            &addr,
            "POST",
            "/v1/commands",
            Some(&agent),
            Some(&body),
            &[],
        );
        assert_eq!(status, 201, "{v}");
    };
    // When a person registers and subscribes by direct debit through it (the
    // service judges each command against events not yet sealed or durable)
    let person = "0196a000-0000-7000-8000-000000000003";
    post(format!(
        "{{\"channel\":\"agency\",\"command\":{{\"type\":\"RegisterPerson\",\"person_id\":\"{person}\",\
         \"client_number\":\"NV00000003\",\"first_name\":\"{}\",\"last_name\":\"{}\",\
         \"birth_date\":\"1988-04-05\",\"address\":{{\"street\":\"{}\",\"postal_code\":\"75011\",\
         \"municipality\":\"Paris\"}}}}}}",
        C_CLEAR[0], C_CLEAR[1], C_CLEAR[2]
    ));
    post(format!(
        "{{\"channel\":\"agency\",\"command\":{{\"type\":\"Subscribe\",\"contract_id\":\"0196a000-0000-7000-8000-00000000000c\",\
         \"holder\":\"{person}\",\"payer\":\"{person}\",\"product\":{{\"kind\":\"annual\",\
         \"zones\":\"1-5\"}},\"start_date\":\"2027-11-01\",\"payment\":{{\"method\":\"direct_debit\",\
         \"debit_day\":8,\"mandate\":{{\"reference\":\"M-C-000c\",\"signed_on\":\"2027-10-15\",\
         \"debtor\":{{\"iban\":\"{}\",\"holder_name\":\"{}\"}}}}}}}}}}",
        C_CLEAR[3], C_CLEAR[4]
    ));
    // and the service stops as an operator stops it (Ctrl-C), writing what it
    // keeps of the states
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("wait").success());
    // Then no file of the data directory but the projections (which list
    // persons by name) holds C's clear text, the account's included
    let projections = data.join("projections");
    for clear in C_CLEAR {
        let found: Vec<_> = holding(&data, clear.as_bytes())
            .into_iter()
            .filter(|p| !p.starts_with(&projections))
            .collect();
        assert_eq!(found, Vec::<PathBuf>::new(), "{clear}");
    }
    let _ = std::fs::remove_file(data.with_extension("log"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn term_retention_a_lost_key_store_is_an_error_naming_the_person_and_the_file_never_an_erasure() {
    // Given a ledger with a registered person
    let dir = fresh_dir("lost");
    let data = population(&dir);
    let events = ok(&data, &["stats"]);
    // When its key store is lost
    std::fs::rename(data.join(KEY_STORE), dir.join("saved-keys")).unwrap();
    // Then a read that opens the persons fails, naming a person and the file
    let out = run(&data, &["balance", CONTRACT_A], None);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("missing from the key store"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(KEY_STORE), "{}", out.stderr);
    assert!(
        out.stderr.contains(PERSON_A) || out.stderr.contains(PERSON_B),
        "{}",
        out.stderr
    );
    // And an erasure is refused rather than taken for done
    let out = run(&data, &["erase", PERSON_A, "--basis", "x"], None);
    assert_ne!(out.code, 0, "{}", out.stdout);
    // And nothing was appended: with the key store back, all reads again
    std::fs::rename(dir.join("saved-keys"), data.join(KEY_STORE)).unwrap();
    assert_eq!(ok(&data, &["stats"]), events);
    ok(&data, &["balance", CONTRACT_A]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn term_retention_a_ledger_written_before_sealing_opens_verifies_and_says_what_erasure_leaves() {
    // Given a ledger written before sealing: a clear version-1 registration
    let dir = fresh_dir("legacy");
    let data = dir.join("ledger");
    let person = uuid::Uuid::from_u128(0x0196_a000_0000_7000_8000_0000_0000_0009);
    let v1 = r#"{"client_number":"NV00000009","first_name":"Leontine","last_name":"Anciennete","birth_date":"1950-01-02","address":{"street":"1 quai Legacy","postal_code":"75004","municipality":"Paris"}}"#;
    let records = [(StreamId::person(person), "PersonRegistered", v1.to_owned())];
    write_legacy_ledger(&data, &records, "2020-01-02", false);
    // When this version opens it, it verifies as it is
    ok(&data, &["verify"]);
    let history = ok(&data, &["history", &format!("person:{person}"), "--json"]);
    assert!(history.contains("Leontine"), "{history}");
    // And the person can be erased: the erasure is recorded and the log still
    // verifies
    let answer = json(&ok(
        &data,
        &["erase", &person.to_string(), "--basis", "retention"],
    ));
    assert_eq!(
        answer["events"][0]["type"], "PersonalDataErased",
        "{answer}"
    );
    ok(&data, &["verify"]);
    // But, as docs/storage-format.md says, the clear version-1 record cannot
    // be unwritten: its bytes still hold the data
    let records = canonical_records(&data, &dir);
    assert!(records[0].contains("Leontine"), "{}", records[0]);
    let _ = std::fs::remove_dir_all(&dir);
}
