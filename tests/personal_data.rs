//! Personal data (`TERM-RETENTION`, access requests): the `retention` and
//! `subject-export` commands on a ledger of two persons with distinctive
//! names, birth dates, streets, client numbers and bank references; and those
//! strings never in what the ledger writes besides its answers: every command's
//! standard error, the service's log and its metrics, over every route, and
//! the messages of the refusals that concern them.

mod http_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use http_support::{exchange, serve, token, BIN};
use serde_json::{json, Value};

const NOW: &str = "2027-10-15T08:00:00Z";
const PERSON: &str = "0196a000-0000-7000-8000-0000000077a1";
const REGISTERED_ONLY: &str = "0196a000-0000-7000-8000-0000000077b1";
const CONTRACT: &str = "0196a000-0000-7000-8000-00000000077c";
const PASSWORD: &str = "Quokka2027ok";
/// Her IBAN (`PAY-METHOD`), normalised, and as she typed it.
const QUOKKA_IBAN: &str = "FR7630004777773141592653531";
const QUOKKA_IBAN_TYPED: &str = "fr76 3000 4777 7731 4159 2653 531";

/// The personal data of both persons: none of it may appear in a log, a
/// metric or standard error.
const PERSONAL: &[&str] = &[
    "Zephyrine",
    "Quokkabelle",
    "1931-02-27",
    "impasse des Wombats",
    "QX77QUOKKA",
    "MANDAT-QUOKKA",
    QUOKKA_IBAN,
    QUOKKA_IBAN_TYPED,
    // The IBAN's account number, which its masked form must not show either.
    "314159265",
    "Wallabinette",
    "Kangourou",
    "allee des Koalas",
    "1944-04-04",
    "QX77WALLABY",
    "2029-09-09",
    // A login (often an e-mail address) is personal data too.
    "zephyrine",
];

/// The ids of the person and of her contract: pseudonymous, but personal
/// data all the same in a log line or a metric label.
const IDS: &[&str] = &[PERSON, REGISTERED_ONLY, CONTRACT];

fn line(at: &str, actor: Value, channel: Option<&str>, command: Value) -> String {
    let mut v = json!({"request_at": at, "actor": actor, "command": command});
    if let Some(c) = channel {
        v["channel"] = json!(c);
    }
    v.to_string()
}

fn register(
    person: &str,
    client: &str,
    first: &str,
    last: &str,
    birth: &str,
    street: &str,
) -> Value {
    json!({"type": "RegisterPerson", "person_id": person, "client_number": client,
           "first_name": first, "last_name": last, "birth_date": birth,
           "address": {"street": street, "postal_code": "75011", "municipality": "Paris"}})
}

/// Person P (Zephyrine Quokkabelle) subscribed on 2026-07-12 and terminated
/// by her on 2026-11-10; person Q (Wallabinette Kangourou) registered only;
/// then two registrations the rules refuse (a client number taken, a birth
/// date after the request).
fn scenario() -> String {
    let agent = json!({"role": "agent", "id": "AG-0417"});
    let import = json!({"role": "import", "id": "scenario"});
    let p = register(
        PERSON,
        "QX77QUOKKA",
        "Zephyrine",
        "Quokkabelle",
        "1931-02-27",
        "77 impasse des Wombats",
    );
    let q = register(
        REGISTERED_ONLY,
        "QX77WALLABY",
        "Wallabinette",
        "Kangourou",
        "1944-04-04",
        "4 allee des Koalas",
    );
    let subscribe = json!({"type": "Subscribe", "contract_id": CONTRACT, "holder": PERSON,
        "payer": PERSON, "product": {"kind": "annual", "zones": "1-5"}, "start_date": "2026-07-12",
        "payment": {"method": "direct_debit", "debit_day": 1,
                    "mandate": {"reference": "MANDAT-QUOKKA", "signed_on": "2026-07-01",
                                "debtor": {"iban": QUOKKA_IBAN_TYPED,
                                           "holder_name": "Zephyrine Quokkabelle"}}},
        "support": "pass"});
    let taken = register(
        "0196a000-0000-7000-8000-0000000077d1",
        "QX77QUOKKA",
        "Zephyrine",
        "Quokkabelle",
        "1931-02-27",
        "77 impasse des Wombats",
    );
    let unborn = register(
        "0196a000-0000-7000-8000-0000000077e1",
        "QX77OTHER",
        "Other",
        "Person",
        "2029-09-09",
        "1 rue X",
    );
    [
        line("2026-07-01T08:00:00Z", agent.clone(), Some("agency"), p),
        line("2026-07-01T08:05:00Z", agent.clone(), Some("agency"), q),
        line(
            "2026-07-12T08:30:00Z",
            agent.clone(),
            Some("agency"),
            subscribe,
        ),
        line(
            "2026-11-01T05:00:00Z",
            import.clone(),
            None,
            json!({"type": "AdvanceClock", "to": "2026-11-01"}),
        ),
        line(
            "2026-11-10T09:00:00Z",
            agent.clone(),
            Some("agency"),
            json!({"type": "TerminateByPayer", "contract_id": CONTRACT}),
        ),
        line(
            "2027-01-01T05:00:00Z",
            import,
            None,
            json!({"type": "AdvanceClock", "to": "2027-01-01"}),
        ),
        line("2027-01-02T09:00:00Z", agent.clone(), Some("agency"), taken),
        line("2027-01-03T09:00:00Z", agent, Some("agency"), unborn),
    ]
    .join("\n")
}

/// A run of the binary: exit code, stdout, stderr.
fn run(data: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    run_at(NOW, data, args, stdin)
}

/// [`run`] with the binary's clock at `now`.
fn run_at(now: &str, data: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .env("NAVIGO_TEST_NOW", now)
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let out = child.wait_with_output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A ledger of [`scenario`] in a directory of its own, with P's
/// personal-space account `zephyrine`: (the directory, the data directory,
/// the outcome lines of `apply`).
fn ledger(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("personal-data")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let data = dir.join("ledger");
    let (code, out, err) = run(&data, &["init"], "");
    assert_eq!(code, 0, "{out}{err}");
    let file = dir.join("scenario.jsonl");
    std::fs::write(&file, scenario()).expect("scenario");
    let (code, outcomes, err) = run(&data, &["apply", file.to_str().expect("path")], "");
    assert_eq!(code, 1, "two lines are invalid: {outcomes}{err}");
    assert_clean("stderr of apply", &err, PERSONAL);
    let (code, out, err) = run(
        &data,
        &[
            "account",
            "create",
            "--login",
            "zephyrine",
            "--client-number",
            "QX77QUOKKA",
            "--birth-date",
            "1931-02-27",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_clean("stderr of account create", &err, PERSONAL);
    assert!(!err.contains(PASSWORD), "{err}");
    (dir, data, outcomes)
}

fn assert_clean(what: &str, text: &str, forbidden: &[&str]) {
    for s in forbidden {
        assert!(!text.contains(s), "{what} carries {s:?}:\n{text}");
    }
}

#[test]
fn term_retention_command_lists_the_persons_due_then_erases_them_on_apply() {
    let (dir, data, _) = ledger("retention");
    // On 2031-11-09 P's contract ended less than 5 years ago; Q, registered
    // only on 2026-07-01, ran out on 2031-07-01.
    let (code, out, err) = run(&data, &["retention", "--at", "2031-11-09", "--json"], "");
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["policy"]["rule"], "TERM-RETENTION");
    assert_eq!(v["policy"]["years_after_last_contract_end"], 5);
    assert_eq!(v["policy"]["article"], "CGVU-2026 §16.1.4");
    assert_eq!(v["applied"], false);
    assert_eq!(v["persons"], 2);
    let due = v["due"].as_array().expect("due");
    assert_eq!(due.len(), 1, "{v}");
    assert_eq!(due[0]["person"], REGISTERED_ONLY);
    assert_eq!(due[0]["client_number"], "QX77WALLABY");
    assert_eq!(due[0]["last_contract"], Value::Null);
    assert_eq!(due[0]["relationship_end"], "2026-07-01");
    assert_eq!(due[0]["ran_out_on"], "2031-07-01");
    // From 2031-11-10 on, P is due too, with her last contract.
    let (code, out, err) = run(&data, &["retention", "--at", "2031-11-10", "--json"], "");
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let p = v["due"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["person"] == PERSON))
        .unwrap_or_else(|| panic!("P due on 2031-11-10: {v}"));
    assert_eq!(p["last_contract"], CONTRACT);
    assert_eq!(p["last_contract_end"], "2026-11-10");
    assert_eq!(p["ran_out_on"], "2031-11-10");
    // The table names the policy and counts.
    let (code, out, _) = run(&data, &["retention", "--at", "2031-11-10"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("TERM-RETENTION (CGVU-2026 §16.1.4)") && out.contains("2 of 2 persons due"),
        "{out}"
    );
    // --apply erases only on today's date: with --at it is refused, nothing read.
    let (code, out, err) = run(&data, &["retention", "--apply", "--at", "2031-11-10"], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("takes no --at"), "{err}");
    // Today (by the binary's clock) is 2031-11-10: --apply erases both, with
    // the policy as the legal basis, and a run after it finds nobody due.
    let later = "2031-11-10T09:00:00Z";
    let (code, out, err) = run_at(later, &data, &["retention", "--apply", "--json"], "");
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["applied"], true, "{v}");
    assert_eq!(v["due"].as_array().map(Vec::len), Some(2), "{v}");
    let (code, out, err) = run_at(later, &data, &["retention", "--json"], "");
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["due"].as_array().map(Vec::len), Some(0), "{v}");
    let (code, out, err) = run_at(later, &data, &["history", PERSON], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PersonalDataErased"), "{out}");
    let (code, _, err) = run(&data, &["retention", "--at", "2031-02-30"], "");
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn subject_export_writes_everything_held_about_the_person_and_never_a_password_hash() {
    let (dir, data, _) = ledger("subject-export");
    let file = dir.join("subject-export.json");
    let (code, out, err) = run(
        &data,
        &[
            "subject-export",
            PERSON,
            "--out",
            file.to_str().expect("path"),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_clean("subject-export's stdout", &out, PERSONAL);
    let text = std::fs::read_to_string(&file).expect("export");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["person"], PERSON);
    assert_eq!(v["identity"]["first_name"], "Zephyrine");
    assert_eq!(v["identity"]["last_name"], "Quokkabelle");
    assert_eq!(v["identity"]["birth_date"], "1931-02-27");
    assert_eq!(
        v["identity"]["addresses"][0]["address"]["street"],
        "77 impasse des Wombats"
    );
    assert_eq!(v["account"], json!({"login": "zephyrine"}));
    let contracts = v["contracts"].as_array().expect("contracts");
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0]["contract"], CONTRACT);
    assert_eq!(contracts[0]["roles"], json!(["holder", "payer"]));
    assert_eq!(contracts[0]["state"]["contract"], CONTRACT);
    assert!(
        contracts[0]["balance"]["totals"].is_object(),
        "{}",
        contracts[0]["balance"]
    );
    assert!(contracts[0]["calendar"]["rows"].is_array());
    assert_eq!(v["bans"]["person"], PERSON);
    assert_eq!(v["refunds"]["person"], PERSON);
    // Every event of her stream and of her contract, decoded (the mandate in
    // clear), and none of the other person's.
    let events = v["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        types.contains(&"PersonRegistered")
            && types.contains(&"ContractSubscribed")
            && types.contains(&"ContractTerminated"),
        "{types:?}"
    );
    // Her own IBAN in full (the access request's Decision), in the mandates.
    assert!(text.contains(QUOKKA_IBAN), "{text}");
    assert_eq!(v["mandates"][0]["debtor"]["iban"], QUOKKA_IBAN);
    assert!(!text.contains("Wallabinette") && !text.contains("QX77WALLABY"));
    // Never the password, its hash or a token.
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2") && !text.contains("nvg_"),
        "{text}"
    );
    // Only its owner may read the file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // An existing --out is never replaced; an unknown person is refused by
    // name and leaves no file.
    let (code, _, err) = run(
        &data,
        &[
            "subject-export",
            PERSON,
            "--out",
            file.to_str().expect("path"),
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    let other = dir.join("nobody.json");
    let unknown = "0196a000-0000-7000-8000-0000000000ff";
    let (code, _, err) = run(
        &data,
        &[
            "subject-export",
            unknown,
            "--out",
            other.to_str().expect("path"),
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("no person {unknown}")), "{err}");
    assert!(!other.exists());
    let leftovers = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .count();
    assert_eq!(leftovers, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn logs_errors_and_metrics_never_carry_personal_data_from_any_command() {
    let (dir, data, outcomes) = ledger("cli-logs");
    // The refusals of the two registrations name the field, not its value.
    let refused: Vec<&str> = outcomes.lines().skip(6).collect();
    assert_eq!(refused.len(), 2, "{outcomes}");
    assert!(
        refused[0].contains("client_number") && refused[1].contains("birth_date"),
        "{outcomes}"
    );
    for r in &refused {
        assert_clean(
            "a refusal",
            r,
            &["QX77QUOKKA", "2029-09-09", "Zephyrine", "Quokkabelle"],
        );
    }
    let p = |name: &str| dir.join(name).to_str().expect("path").to_owned();
    let key = p("signing.key");
    let forbidden: Vec<&str> = PERSONAL.iter().chain(IDS).copied().collect();
    // The commands run by `ledger` (their standard error checked there).
    let mut ran: BTreeSet<String> = ["init", "apply", "account"].map(str::to_owned).into();
    std::fs::write(
        dir.join("what-if.jsonl"),
        line(
            "2027-10-15T07:00:00Z",
            json!({"role": "agent", "id": "AG-0417"}),
            Some("agency"),
            json!({"type": "Suspend", "contract_id": CONTRACT}),
        ),
    )
    .expect("what-if");
    for (args, stdin, expected) in failing_and_writing_commands(&dir, &data) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&data, &args, &stdin);
        assert_eq!(code, expected, "{args:?}: {out}{err}");
        assert_clean(&format!("stderr of {args:?}"), &err, &forbidden);
        if code != 0 {
            assert_clean(&format!("the error of {args:?}"), &out, &forbidden);
        }
        ran.insert(args[0].to_owned());
    }
    let commands: Vec<Vec<String>> = [
        vec!["key", "create", "--key-file", &key],
        vec!["checkpoint", "--key-file", &key],
        vec!["state", CONTRACT],
        vec!["state", CONTRACT, "--json"],
        vec!["balance", CONTRACT],
        vec!["balance", PERSON, "--json"],
        vec!["calendar", CONTRACT],
        vec!["bans", PERSON],
        vec!["refunds", PERSON],
        vec!["history", PERSON],
        vec!["history", CONTRACT, "--json"],
        vec!["verify"],
        vec!["stats"],
        vec!["audit", CONTRACT],
        vec!["audit", PERSON],
        vec!["diff", CONTRACT, "--at", "2026-10-01", "--at", "2026-12-01"],
        vec!["what-if", CONTRACT, "--commands", &p("what-if.jsonl")],
        vec!["rebuild"],
        vec![
            "list",
            "persons-by-client-number",
            "client_number=QX77QUOKKA",
        ],
        vec!["list", "persons-by-name", "name=Quokka"],
        vec!["check-projections"],
        vec!["follow", "--once"],
        vec!["export", "--out", &p("export.jsonl")],
        vec!["prove", "inclusion", "3"],
        vec!["prove", "stream", CONTRACT],
        vec!["bundle", PERSON, "--known-at", NOW],
        vec!["retention", "--at", "2032-01-01"],
        vec!["retention", "--json"],
        vec!["retention", "--apply"],
        vec!["subject-export", PERSON, "--out", &p("export.json")],
        vec![
            "token",
            "create",
            "--name",
            "auditor-1",
            "--role",
            "auditor",
        ],
        vec!["salvage", "--out", &p("salvage.jsonl")],
        vec!["erase", PERSON, "--basis", "GDPR art. 17 request"],
        vec!["history", PERSON],
        vec!["audit", CONTRACT],
    ]
    .iter()
    .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&data, &args, "");
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert_clean(&format!("stderr of {args:?}"), &err, &forbidden);
        if args[0] == "bundle" {
            std::fs::write(dir.join("bundle.json"), out).expect("bundle");
        }
        ran.insert(args[0].to_owned());
    }
    for args in [
        vec![
            "migrate".to_owned(),
            "--from".to_owned(),
            data.to_str().expect("path").to_owned(),
            "--to".to_owned(),
            p("migrated"),
        ],
        vec![
            "reseal".to_owned(),
            "--from".to_owned(),
            data.to_str().expect("path").to_owned(),
            "--to".to_owned(),
            p("resealed"),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&data, &args, "");
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert_clean(&format!("stderr of {args:?}"), &err, &forbidden);
        ran.insert(args[0].to_owned());
    }
    let (_, public, _) = run(&data, &["key", "public", "--key-file", &key], "");
    std::fs::write(dir.join("signing.pub"), public).expect("public");
    let (code, out, err) = run(
        &data,
        &[
            "verify-bundle",
            &p("bundle.json"),
            "--key",
            &p("signing.pub"),
            "--at",
            "2027-01-01",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_clean("stderr of verify-bundle", &err, &forbidden);
    ran.insert("verify-bundle".to_owned());
    // And no command of the binary was left out, but those said why.
    let left_out: Vec<String> = commands_of_the_binary()
        .into_iter()
        .filter(|c| !ran.contains(c) && !NOT_RUN_HERE.iter().any(|(n, _)| n == c))
        .collect();
    assert_eq!(left_out, Vec::<String>::new(), "commands never run here");
    let _ = std::fs::remove_dir_all(dir);
}

/// The commands the personal-data test does not run, and why.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    (
        "serve",
        "its log, errors and metrics are checked over every route below",
    ),
    (
        "demo",
        "writes a generated population of its own, holding none of these persons",
    ),
    (
        "sample",
        "writes a generated sample of its own, holding none of these persons",
    ),
    (
        "grant-reader",
        "PostgreSQL only (tests/cli_postgres.rs): grants a role the projection tables",
    ),
    ("help", "prints the usage"),
];

/// The subcommands `--help` lists (the hidden ones are benchmarks' tools).
fn commands_of_the_binary() -> Vec<String> {
    let out = Command::new(BIN).arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Commands run before the others (an erasure among those would change what
/// they answer), each with its standard input and the exit code it must
/// give: the billing clock, the bank's collection file (which holds P's
/// account, but its refusals and logs must not), and lines whose bad fields
/// hold personal data, which an error names without quoting.
fn failing_and_writing_commands(dir: &Path, data: &Path) -> Vec<(Vec<String>, String, i32)> {
    let p = |name: &str| dir.join(name).to_str().expect("path").to_owned();
    let national = "123456";
    let creditor_id = format!(
        "FR{}ZZZ{national}",
        sepa::creditor_id_check_digits(national, "FR")
    );
    let (_, history, _) = run(data, &["history", CONTRACT, "--json"], "");
    let debit_date = history
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "DebitPresented")
        .and_then(|v| v["effective_date"].as_str().map(str::to_owned))
        .expect("a debit presented");
    let agent = json!({"role": "agent", "id": "AG-0417"});
    let bad_address = line(
        NOW,
        agent.clone(),
        Some("agency"),
        json!({"type": "ChangeAddress", "person_id": PERSON, "effective_date": "2027-10-15",
               "address": "77 impasse des Wombats"}),
    );
    let raw = json!({"stream": format!("person:{PERSON}"), "type": "AddressChanged",
        "schema_version": 2, "effective_date": "2027-10-15", "actor": agent,
        "data": {"address": "77 impasse des Wombats"}});
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (args(&["advance", "--to", "2027-10-15"]), String::new(), 0),
        (
            args(&[
                "bank",
                "creditor",
                "--name",
                "Navigo Annuel",
                "--iban",
                "FR7630004000031234567890143",
                "--bic",
                "BNPAFRPPXXX",
                "--creditor-id",
                &creditor_id,
            ]),
            String::new(),
            0,
        ),
        (
            args(&[
                "bank",
                "collect",
                "--date",
                &debit_date,
                "--out",
                &p("collect.xml"),
            ]),
            String::new(),
            0,
        ),
        // A name typed where an id is expected is refused without echoing it.
        (args(&["state", "Zephyrine Quokkabelle"]), String::new(), 2),
        (args(&["apply"]), bad_address, 2),
        (args(&["append"]), raw.to_string(), 2),
        (
            args(&[
                "account",
                "create",
                "--login",
                "zephyrine",
                "--client-number",
                "QX77QUOKKA",
                "--birth-date",
                "1931-02-27",
            ]),
            format!("{PASSWORD}\n"),
            2,
        ),
    ]
}

#[test]
fn logs_errors_and_metrics_never_carry_personal_data_from_any_route() {
    let (dir, data, _) = ledger("http-logs");
    let agent = token(&data, "agent-1", "agent");
    let auditor = token(&data, "auditor-1", "auditor");
    let system = token(&data, "system-1", "system");
    let partner = token(&data, "partner-1", "partner");
    let log = data.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let (mut child, addr) = serve(&data, NOW);
    let call = |method: &str, path: &str, tok: Option<&str>, body: Option<&str>| {
        let (status, _, v) = exchange(&addr, method, path, tok, body, &[]);
        (status, v)
    };
    // A customer session of P, opened with her login and password.
    let (status, v) = call(
        "POST",
        "/v1/sessions",
        None,
        Some(&json!({"login": "zephyrine", "password": PASSWORD}).to_string()),
    );
    assert_eq!(status, 200, "{v}");
    let customer = v["token"].as_str().expect("token").to_owned();
    let partner_body =
        json!({"client_number": "QX77QUOKKA", "birth_date": "1931-02-27"}).to_string();
    let account_body = json!({"login": "wallabinette", "password": "Wallaby2027ok",
        "client_number": "QX77WALLABY", "birth_date": "1944-04-04"})
    .to_string();
    let new_person = json!({"channel": "agency", "command": register(
        "0196a000-0000-7000-8000-0000000077f1", "QX77NUMBAT", "Numbatine", "Bilbyson",
        "1922-02-22", "22 quai des Numbats")})
    .to_string();
    let taken = json!({"channel": "agency", "command": register(
        "0196a000-0000-7000-8000-0000000077f2", "QX77QUOKKA", "Zephyrine", "Quokkabelle",
        "1931-02-27", "77 impasse des Wombats")})
    .to_string();
    let what_if =
        json!({"commands": [json!({"request_at": NOW, "actor": {"role": "agent", "id": "AG-1"},
        "channel": "agency", "command": {"type": "Suspend", "contract_id": CONTRACT}})]})
        .to_string();
    // The customer's own export and the agent's are the same view of P.
    let (status, mine) = call("GET", "/v1/me/subject-export", Some(&customer), None);
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["person"], PERSON);
    assert_eq!(mine["identity"]["last_name"], "Quokkabelle");
    assert_eq!(mine["account"]["login"], "zephyrine");
    let (status, theirs) = call(
        "GET",
        &format!("/v1/persons/{PERSON}/subject-export"),
        Some(&agent),
        None,
    );
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["events"], mine["events"]);
    let c = CONTRACT;
    let routes: Vec<(&str, String, Option<&str>, Option<String>)> = vec![
        (
            "GET",
            format!("/v1/contracts/{c}/state"),
            Some(&agent),
            None,
        ),
        (
            "GET",
            format!("/v1/contracts/{c}/balance"),
            Some(&auditor),
            None,
        ),
        (
            "GET",
            format!("/v1/contracts/{c}/calendar"),
            Some(&customer),
            None,
        ),
        (
            "GET",
            format!("/v1/persons/{PERSON}/bans"),
            Some(&agent),
            None,
        ),
        (
            "GET",
            format!("/v1/persons/{PERSON}/refunds"),
            Some(&auditor),
            None,
        ),
        ("GET", "/v1/feed?limit=50".into(), Some(&auditor), None),
        (
            "GET",
            "/v1/lists/persons-by-client-number?client_number=QX77QUOKKA".into(),
            Some(&agent),
            None,
        ),
        (
            "GET",
            "/v1/lists/persons-by-name?name=Quokka".into(),
            Some(&agent),
            None,
        ),
        ("GET", format!("/v1/audit/{c}"), Some(&auditor), None),
        ("GET", format!("/v1/audit/{PERSON}"), Some(&auditor), None),
        (
            "GET",
            format!("/v1/diff/{c}?from_at=2026-10-01&to_at=2026-12-01"),
            Some(&auditor),
            None,
        ),
        (
            "POST",
            format!("/v1/what-if/{c}"),
            Some(&agent),
            Some(what_if),
        ),
        (
            "POST",
            "/v1/partner/check".into(),
            Some(&partner),
            Some(partner_body),
        ),
        ("POST", "/v1/accounts".into(), None, Some(account_body)),
        ("GET", "/v1/me/contracts".into(), Some(&customer), None),
        (
            "GET",
            format!("/v1/persons/{PERSON}/subject-export"),
            Some(&agent),
            None,
        ),
        ("GET", "/v1/me/subject-export".into(), Some(&customer), None),
        (
            "GET",
            "/v1/persons/0196a000-0000-7000-8000-0000000000ff/subject-export".into(),
            Some(&agent),
            None,
        ),
        (
            "GET",
            format!("/v1/me/contracts/{c}/online-renewal"),
            Some(&customer),
            None,
        ),
        (
            "GET",
            format!("/v1/me/contracts/{c}/attestation"),
            Some(&customer),
            None,
        ),
        (
            "POST",
            "/v1/commands".into(),
            Some(&agent),
            Some(new_person),
        ),
        ("POST", "/v1/commands".into(), Some(&agent), Some(taken)),
        (
            "GET",
            format!("/v1/proofs/streams/{c}"),
            Some(&auditor),
            None,
        ),
        ("GET", "/v1/checkpoints".into(), Some(&auditor), None),
        ("GET", "/v1/verify".into(), Some(&auditor), None),
        ("GET", "/v1/projections/check".into(), Some(&auditor), None),
        (
            "GET",
            format!("/v1/contracts/{c}/state"),
            Some("nvg_00"),
            None,
        ),
        (
            "GET",
            "/v1/contracts/QX77QUOKKA/state".into(),
            Some(&agent),
            None,
        ),
        (
            "DELETE",
            "/v1/sessions/current".into(),
            Some(&customer),
            None,
        ),
        (
            "GET",
            format!("/v1/contracts/{c}/state"),
            Some(&system),
            None,
        ),
        ("GET", "/health".into(), None, None),
        ("GET", "/ready".into(), None, None),
        ("GET", "/openapi.json".into(), None, None),
        ("GET", "/v1/checkpoints/latest".into(), Some(&auditor), None),
        ("POST", "/v1/checkpoints".into(), Some(&system), None),
        ("GET", "/v1/export".into(), Some(&auditor), None),
        ("GET", "/v1/proofs/inclusion/3".into(), Some(&auditor), None),
        (
            "GET",
            "/v1/proofs/consistency/2/5".into(),
            Some(&auditor),
            None,
        ),
        (
            "POST",
            "/v1/proofs/against".into(),
            Some(&auditor),
            Some(json!({"checkpoint": "Zephyrine Quokkabelle 1931-02-27"}).to_string()),
        ),
        (
            "POST",
            "/v1/partner/check".into(),
            Some(&partner),
            Some(
                json!({"client_number": "QX77QUOKKA", "birth_date": "1931-02-27 Zephyrine"})
                    .to_string(),
            ),
        ),
        (
            "GET",
            format!("/v1/contracts/{c}/calendar?at=1931-02-27Zephyrine"),
            Some(&agent),
            None,
        ),
        (
            "POST",
            "/v1/projections/rebuild".into(),
            Some(&system),
            None,
        ),
    ];
    // Every list, once with a parameter that is not of its kind but a
    // person's data: the refusal names the parameter, not what was given.
    let lists = [
        ("contracts-by-status", "status"),
        ("contracts-by-product", "product"),
        ("contracts-by-payer", "payer"),
        ("contracts-by-holder", "holder"),
        ("contracts-in-debt", "debt_above"),
        ("contracts-by-next-debit", "date"),
        ("debits", "date"),
        ("bans-active", "on"),
        ("refunds-due", "due_by"),
    ];
    let mut routes = routes;
    for (list, param) in lists {
        routes.push((
            "GET",
            format!("/v1/lists/{list}?{param}=Zephyrine%20Quokkabelle"),
            Some(&agent),
            None,
        ));
    }
    // And no route of the service's document was left out.
    let left_out: Vec<(String, String)> = routes_of_the_document()
        .into_iter()
        .filter(|(method, template)| {
            // (a session is opened and the metrics read apart, above and below)
            let apart = [("POST", "/v1/sessions"), ("GET", "/metrics")];
            !apart.contains(&(method.as_str(), template.as_str()))
                && !routes
                    .iter()
                    .any(|(m, path, _, _)| m == method && matches_template(path, template))
        })
        .collect();
    assert_eq!(
        left_out,
        Vec::<(String, String)>::new(),
        "routes never called here"
    );
    let mut forbidden: Vec<&str> = PERSONAL.iter().chain(IDS).copied().collect();
    forbidden.extend([
        "Numbatine",
        "Bilbyson",
        "1922-02-22",
        "quai des Numbats",
        "QX77NUMBAT",
        PASSWORD,
    ]);
    for (method, path, tok, body) in &routes {
        let (status, v) = call(method, path, *tok, body.as_deref());
        assert!(status < 500, "{method} {path}: {status} {v}");
        if status >= 400 {
            assert_clean(
                &format!("the error of {method} {path}"),
                &v.to_string(),
                &[
                    "Zephyrine",
                    "Quokkabelle",
                    "1931-02-27",
                    "impasse des Wombats",
                    QUOKKA_IBAN,
                    "314159265",
                ],
            );
        }
    }
    let (status, v) = call("GET", "/metrics", None, None);
    assert_eq!(status, 200);
    let metrics = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    assert!(metrics.contains("route"), "{metrics}");
    assert_clean("/metrics", &metrics, &forbidden);
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("latency_us="), "{text}");
    assert_clean("the service's log", &text, &forbidden);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_file(log);
}

/// Every (method, path template) of the service's OpenAPI document.
fn routes_of_the_document() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json"))
            .expect("docs/openapi.json");
    let doc: Value = serde_json::from_str(&text).expect("the OpenAPI document");
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(template, ops)| {
            ops.as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(|m| (m.to_uppercase(), template.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `path` (its query left out) is one of `template`'s, a `{name}`
/// segment standing for any one segment.
fn matches_template(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (given, wanted): (Vec<&str>, Vec<&str>) =
        (path.split('/').collect(), template.split('/').collect());
    given.len() == wanted.len()
        && given
            .iter()
            .zip(&wanted)
            .all(|(g, w)| (w.starts_with('{') && !g.is_empty()) || g == w)
}
