//! The `navigo-ledger` binary: exit codes, messages and what each subcommand
//! leaves on disk.

mod cli_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cli_support::{run, run_bytes, BIN};

const STREAM: &str = "contract:01920000-0000-7000-8000-0000000000ff";

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn line(expected: Option<u64>, reference: &str) -> String {
    let ev = expected.map_or(String::new(), |v| format!("\"expected_version\":{v},"));
    format!(
        "{{\"stream\":\"{STREAM}\",{ev}\"type\":\"MandateRevoked\",\"schema_version\":1,\
         \"effective_date\":\"2026-11-01\",\"actor\":{{\"role\":\"agent\",\"id\":\"A1\"}},\
         \"data\":{{\"reference\":\"{reference}\"}}}}"
    )
}

fn events_in(data: &Path) -> String {
    let out = run(data, &["stats"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().next().unwrap().to_owned()
}

#[test]
fn cli_init_append_history_verify_stats() {
    let data = fresh_dir("flow");
    let out = run(&data, &["init", "--empty"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("created"));
    assert!(run(&data, &["init", "--empty"], None)
        .stdout
        .contains("already a ledger"));

    let input = format!(
        "{}\n{}\n\n{}\n",
        line(Some(0), "U1"),
        line(None, "U2"),
        line(Some(2), "U3")
    );
    let out = run(&data, &["append"], Some(&input));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("lines 1-4"), "{}", out.stdout);
    assert!(out.stdout.contains("positions 1-3"), "{}", out.stdout);

    let out = run(&data, &["history", STREAM], None);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("POSITION"));
    assert_eq!(out.stdout.matches("MandateRevoked").count(), 3);
    let out = run(&data, &["history", STREAM, "--json"], None);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["data"]["reference"], "U3");
    assert_eq!(lines[2]["stream_seq"], 3);

    let out = run(&data, &["verify"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("ok: 3 records"), "{}", out.stdout);
    assert_eq!(events_in(&data), "events: 3");
}

#[test]
fn cli_append_names_the_line_and_field_and_appends_nothing() {
    let data = fresh_dir("bad-lines");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let bad_date = line(None, "x").replace("2026-11-01", "2026-13-01");
    let cases = [
        (bad_date, "line 2: field effective_date"),
        (
            line(None, "x").replace("MandateRevoked", "NoSuchEvent"),
            "line 2: field type: unknown event type",
        ),
        (
            line(None, "x").replace("\"schema_version\":1", "\"schema_version\":9"),
            "line 2: field schema_version",
        ),
        (
            line(None, "x").replace("\"reference\":\"x\"", "\"reference\":5"),
            "line 2: field data",
        ),
        (
            line(None, "x").replace("\"stream\"", "\"strim\""),
            "line 2: field strim",
        ),
        ("{not json".to_owned(), "line 2: not valid JSON"),
    ];
    for (second, expected) in cases {
        let input = format!("{}\n{second}\n{}\n", line(None, "ok1"), line(None, "ok3"));
        let out = run(&data, &["append"], Some(&input));
        assert_eq!(out.code, 2, "{second}: {}", out.stderr);
        assert!(
            out.stderr.contains(expected),
            "expected {expected:?} in {}",
            out.stderr
        );
        assert_eq!(events_in(&data), "events: 0");
    }
    // A conflict on a later line refuses the whole input too.
    let input = format!("{}\n{}\n", line(Some(0), "a"), line(Some(5), "b"));
    let out = run(&data, &["append"], Some(&input));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("nothing was appended"),
        "{}",
        out.stderr
    );
    assert_eq!(events_in(&data), "events: 0");
}

#[test]
fn cli_history_takes_a_bare_id_as_every_command_does_and_still_kind_colon_id() {
    // Given a ledger with three events on one contract stream
    let data = fresh_dir("history-bare-id");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let input = format!("{}\n{}\n", line(Some(0), "U1"), line(None, "U2"));
    assert_eq!(run(&data, &["append"], Some(&input)).code, 0);
    let (_, bare) = STREAM.split_once(':').unwrap();
    // When history is asked by the bare id, then it prints the same as by KIND:UUID
    let by_kind = run(&data, &["history", STREAM, "--json"], None);
    let by_id = run(&data, &["history", bare, "--json"], None);
    assert_eq!(by_id.code, 0, "{}", by_id.stderr);
    assert_eq!(by_id.stdout, by_kind.stdout);
    assert_eq!(by_id.stdout.lines().count(), 2);
    // And an id no stream has, or an argument that is not an id, is bad input
    // naming it (exit 2)
    let unknown = "01920000-0000-7000-8000-000000000001";
    let out = run(&data, &["history", unknown], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(unknown), "{}", out.stderr);
    let out = run(&data, &["history", "nonsense"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("\"nonsense\""), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn cli_refuses_a_data_directory_that_is_not_a_ledger_without_touching_it() {
    let data = fresh_dir("not-ledger");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("thesis.tex"), "precious").unwrap();
    for args in [
        &["verify"][..],
        &["stats"],
        &["init"],
        &["sample"],
        &["history", STREAM],
    ] {
        let input = line(None, "x");
        let out = run(&data, args, Some(&input));
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("is not a navigo ledger"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = run(&data, &["append"], Some(&line(None, "x")));
    assert_eq!(out.code, 1);
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("thesis.tex")]);
    assert_eq!(
        std::fs::read_to_string(data.join("thesis.tex")).unwrap(),
        "precious"
    );
}

#[test]
fn cli_verify_names_the_position_of_a_flipped_byte() {
    // Given a ledger of 30 events
    let data = fresh_dir("tamper");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let input: String = (0..30)
        .map(|i| line(None, &format!("R{i:02}")) + "\n")
        .collect();
    assert_eq!(run(&data, &["append"], Some(&input)).code, 0);
    // When one byte of record 12 changes through the sled API
    {
        // (a byte of its canonical JSON, stored again in the ledger's format)
        let raw = navigo_store_sled::raw::RawLedger::open(&data).unwrap();
        let mut bytes = raw.record(12).unwrap().unwrap();
        let i = bytes.len() - 10;
        bytes[i] ^= 0x04;
        raw.put_record(12, &bytes).unwrap();
        raw.flush().unwrap();
    }
    // Then verify fails with exit 1 and names position 12
    let out = run(&data, &["verify"], None);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("FAILED at position 12: hash mismatch"),
        "{}",
        out.stdout
    );
}

#[test]
fn cli_sample_fills_verifies_and_is_idempotent() {
    let data = fresh_dir("sample");
    let out = run(&data, &["sample"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("sample: 10 events appended"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("verify: ok, 10 records"),
        "{}",
        out.stdout
    );
    let out = run(&data, &["sample"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("sample: 0 events appended, 10 already"),
        "{}",
        out.stdout
    );
    assert_eq!(events_in(&data), "events: 10");
}

#[test]
fn cli_a_reader_that_closes_stdout_ends_the_command_as_sigpipe_would_without_an_error_line() {
    // Given a ledger with events, when `stats` writes into a pipe whose
    // reader is already closed (`navigo-ledger stats | head -0`), then it
    // exits 141 (128 + SIGPIPE) with nothing on stderr, and the ledger is intact.
    let data = fresh_dir("broken-pipe");
    assert_eq!(run(&data, &["sample"], None).code, 0);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        // Time in tests is injected: the binary's clock stands at this instant.
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(&data)
        .arg("stats")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(events_in(&data), "events: 10");
}

/// The subcommands the top-level help lists (clap's own `help` aside), and the
/// nested ones of `token` and `account`.
fn subcommands() -> Vec<Vec<String>> {
    fn listed(args: &[String]) -> Vec<String> {
        let mut cmd = Command::new(BIN);
        cmd.args(args).arg("--help");
        let out = cmd.output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.split("Commands:\n")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .take_while(|l| l.starts_with("  "))
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|name| *name != "help")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
    let mut out = Vec::new();
    for top in listed(&[]) {
        let nested = listed(std::slice::from_ref(&top));
        out.push(vec![top.clone()]);
        for n in nested {
            out.push(vec![top.clone(), n]);
        }
    }
    out
}

#[test]
fn cli_help_of_every_command_renders_in_full_and_states_its_exit_codes() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let commands = subcommands();
    assert!(commands.len() > 25, "{commands:?}");
    for args in &commands {
        // Given a subcommand, when its help is asked,
        let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        // then its description is whole: every paragraph ends a sentence,
        let description = text.split("\n\nUsage:").next().unwrap();
        for paragraph in description.split("\n\n") {
            let end = paragraph.trim_end().chars().last();
            assert!(
                matches!(end, Some('.' | '?' | ')')),
                "{args:?}: a paragraph of the description is cut off: {paragraph:?}"
            );
        }
        // and it ends with what each exit code means,
        let codes = text
            .split("Exit codes:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{args:?}: no exit codes in\n{text}"));
        let lines: Vec<&str> = codes.lines().collect();
        for (line, code) in lines.iter().zip(["0", "1", "2", "141"]) {
            assert!(line.trim_start().starts_with(code), "{args:?}: {line}");
        }
        assert_eq!(lines.len(), 4, "{args:?}: {codes}");
        // which the README's table states in the same words (0, 1 and 2).
        for line in &lines[..3] {
            let meaning = line.trim_start()[1..].trim();
            assert!(
                readme.contains(&format!("| {meaning} |")),
                "{args:?}: README.md lacks the exit-code meaning {meaning:?}"
            );
        }
    }
    // The projection commands name the one kind of id they take.
    for (cmd, kind) in [
        ("state", "<CONTRACT>"),
        ("calendar", "<CONTRACT>"),
        ("bans", "<PERSON>"),
        ("refunds", "<PERSON>"),
    ] {
        let out = Command::new(BIN).args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(kind), "{cmd}: {text}");
        assert!(!text.contains("contract or person"), "{cmd}: {text}");
    }
    // `apply --help` states the time-order rule where a user reads it.
    let out = Command::new(BIN)
        .args(["apply", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("out of order"), "{text}");
    assert!(text.contains("earlier than the ledger's head"), "{text}");
}

#[test]
fn cli_verify_and_stats_json_parse_as_json() {
    // Given a ledger with the sample's 10 events,
    let data = fresh_dir("json");
    assert_eq!(run(&data, &["sample"], None).code, 0);
    // when verify and stats are asked for JSON, then each prints one object.
    let out = run(&data, &["verify", "--json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("verify --json");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records_checked"], 10, "{v}");
    assert_eq!(v["head"]["position"], 10, "{v}");
    assert!(v["first_bad"].is_null(), "{v}");
    let out = run(&data, &["stats", "--json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).expect("stats --json");
    assert_eq!(s["events"], 10, "{s}");
    assert_eq!(s["head"]["hash"], v["head"]["hash"], "{s}");
}

/// A register-person command at `instant`, in the `apply` format.
fn register_at(instant: &str, n: u32) -> String {
    format!(
        "{{\"request_at\":\"{instant}\",\"actor\":{{\"role\":\"agent\",\"id\":\"AG-1\"}},\
         \"channel\":\"agency\",\"command\":{{\"type\":\"RegisterPerson\",\
         \"person_id\":\"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c{n:02}\",\
         \"client_number\":\"NV9900{n:04}\",\"first_name\":\"Camille\",\
         \"last_name\":\"Martin\",\"birth_date\":\"1988-03-14\",\"address\":{{\
         \"street\":\"12 rue Paul Vaillant-Couturier\",\"postal_code\":\"95100\",\
         \"municipality\":\"Argenteuil\"}}}}}}\n"
    )
}

#[test]
fn demo_never_writes_the_future_through_today_or_later_is_refused_and_nothing_is_written() {
    // Given "today" is 2025-03-10 (the hidden test clock, which can only move
    // today earlier than the system's),
    for through in ["2025-03-10", "2025-03-11", "2026-12-31"] {
        let data = fresh_dir(&format!("demo-future-{through}"));
        // when the demo is asked to simulate through today or later,
        let out = run(
            &data,
            &[
                "demo",
                "--today",
                "2025-03-10",
                "--through",
                through,
                "--contracts",
                "2",
            ],
            None,
        );
        // then it is refused, naming the last day allowed, and nothing is written.
        assert_eq!(out.code, 2, "{through}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("give --through 2025-03-09 or earlier"),
            "{}",
            out.stderr
        );
        assert!(!data.exists(), "{through}: {} was written", data.display());
    }
}

#[test]
fn demo_never_writes_the_future_default_through_is_yesterday_and_todays_apply_follows_it() {
    // Given "today" is 2024-03-01, when the demo runs without --through,
    let data = fresh_dir("demo-default");
    let args = [
        "demo",
        "--today",
        "2024-03-01",
        "--contracts",
        "3",
        "--seed",
        "7",
        "--json",
    ];
    let out = run(&data, &args, None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    // then it simulated through yesterday, 2024-02-29,
    assert_eq!(summary["through"], "2024-02-29", "{summary}");
    let verified = run(&data, &["verify", "--json"], None);
    let head: serde_json::Value = serde_json::from_str(&verified.stdout).expect("json");
    let recorded = head["head"]["recorded_at"].as_str().expect("an instant");
    let recorded = chrono::DateTime::parse_from_rfc3339(recorded).expect("RFC 3339");
    // Nothing recorded on or after 2024-03-01 00:00 in Paris (UTC+1 in winter).
    let today_began = chrono::DateTime::parse_from_rfc3339("2024-02-29T23:00:00Z").unwrap();
    assert!(recorded < today_began, "{recorded}");
    // and a request of today is applied after it, not refused as out of order,
    let out = run(
        &data,
        &["apply"],
        Some(&register_at("2024-03-01T08:00:00Z", 1)),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("\"accepted\""), "{}", out.stdout);
    // while one of the last simulated day's morning is out of order.
    let out = run(
        &data,
        &["apply"],
        Some(&register_at("2024-02-29T08:00:00Z", 2)),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("out of order"), "{}", out.stdout);
    // The run is deterministic for a seed and a --through: the same run with
    // the same --through given explicitly ends on the same chain.
    let again = fresh_dir("demo-default-again");
    let out = run(
        &again,
        &[
            "demo",
            "--through",
            "2024-02-29",
            "--contracts",
            "3",
            "--seed",
            "7",
            "--json",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["chain"]["head"], summary["chain"]["head"], "{v}");
}

/// A registration of person `n` as a command line of `apply`, with `key`.
fn register_line(n: u32, key: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "request_at": format!("2026-07-01T08:{n:02}:00Z"),
        "actor": {"role": "agent", "id": "AG-1"},
        "channel": "agency",
        "command": {
            "type": "RegisterPerson",
            "person_id": format!("0196a000-0000-7000-8000-0000000000{n:02}"),
            "client_number": format!("NV{n:08}"),
            "first_name": "Chloé",
            "last_name": "Martin",
            "birth_date": "1990-01-01",
            "address": {"street": "1 rue X", "postal_code": "75001", "municipality": "Paris"}
        }
    });
    if let Some(k) = key {
        v["idempotency_key"] = serde_json::json!(k);
    }
    v.to_string()
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect()
}

#[test]
fn cli_apply_an_idempotency_key_with_another_command_is_a_conflict_line_naming_the_key() {
    // Given a command applied under a key
    let data = fresh_dir("apply-key-conflict");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let first = register_line(1, Some("desk-42"));
    let out = run(&data, &["apply"], Some(&format!("{first}\n")));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let accepted = json_lines(&out.stdout).remove(0);
    // When, in a later run, another command comes under the same key, then the
    // first again
    let input = format!("{}\n{first}\n", register_line(2, Some("desk-42")));
    let out = run(&data, &["apply"], Some(&input));
    let lines = json_lines(&out.stdout);
    // Then the second is a conflict line naming the key (exit 1), nothing appended
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(lines[0]["status"], "conflict", "{}", lines[0]);
    assert_eq!(lines[0]["key"], "desk-42");
    assert!(lines[0]["message"].as_str().unwrap().contains("desk-42"));
    // And the first again is answered with its stored events
    assert_eq!(lines[1]["status"], "accepted");
    assert_eq!(lines[1]["events"], accepted["events"]);
    assert_eq!(events_in(&data), "events: 1");
}

#[test]
fn cli_apply_a_line_that_is_not_utf8_is_a_malformed_json_line_and_the_next_are_judged() {
    let data = fresh_dir("apply-not-utf8");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let mut input = format!("{}\n", register_line(1, None)).into_bytes();
    input.extend_from_slice(b"{\"request_at\": \"2026-07-01T08:02:00Z\", \"x\": \"\xff\xfe\"}\n");
    input.extend_from_slice(format!("{}\n", register_line(3, None)).as_bytes());
    let out = run_bytes(&data, &["apply"], &input);
    // Then every line has its JSON answer on stdout, nothing on stderr
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["status"], "malformed");
    assert_eq!(lines[1]["field"], serde_json::Value::Null);
    assert!(
        lines[1]["message"].as_str().unwrap().contains("UTF-8"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["status"], "accepted", "{}", lines[2]);
    assert_eq!(events_in(&data), "events: 2");
}

#[test]
fn cli_apply_names_the_offending_field_by_its_path_and_appends_nothing() {
    let data = fresh_dir("apply-paths");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let base: serde_json::Value = serde_json::from_str(&register_line(1, None)).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = base.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        v.to_string()
    };
    let senior = r#"{"request_at":"2026-07-01T09:00:00Z","actor":{"role":"agent","id":"AG-1"},"channel":"agency","command":{"type":"Subscribe","contract_id":"0196a000-0000-7000-8000-00000000000a","holder":"0196a000-0000-7000-8000-000000000001","payer":"0196a000-0000-7000-8000-000000000001","product":{"kind":"senior","zones":"2-3"},"start_date":"2026-07-01","payment":{"method":"direct_debit","debit_day":8,"mandate":{"reference":"M","signed_on":"2026-06-20","debtor":{"iban":"FR7620041000020000000000248","holder_name":"Senior Payer"}}}}}"#;
    let cash = r#"{"request_at":"2026-07-01T09:00:00Z","actor":{"role":"agent","id":"AG-1"},"channel":"agency","command":{"type":"RecordCashPayment","contract_id":"0196a000-0000-7000-8000-00000000000a","amount":"12,50","means":"card"}}"#;
    let day = r#"{"request_at":"2026-07-01T09:00:00Z","actor":{"role":"agent","id":"AG-1"},"channel":"agency","command":{"type":"ChangeDebitDay","contract_id":"0196a000-nope","debit_day":8}}"#;
    let cash_with_debit_day = senior
        .replace(r#"{"kind":"senior","zones":"2-3"}"#, r#"{"kind":"senior"}"#)
        .replace("direct_debit", "cash");
    let cases = [
        (senior.to_owned(), Some("command.product.zones")),
        (cash_with_debit_day, Some("command.payment.debit_day")),
        (cash.to_owned(), Some("command.amount")),
        (day.to_owned(), Some("command.contract_id")),
        (
            with("/command/address/municipality", serde_json::json!(75)),
            Some("command.address.municipality"),
        ),
        (
            {
                let mut v = base.clone();
                v["command"]["nickname"] = serde_json::json!("x");
                v.to_string()
            },
            Some("command.nickname"),
        ),
        (register_line(1, None)[..60].to_owned(), None),
    ];
    for (line, field) in cases {
        let out = run(&data, &["apply"], Some(&format!("{line}\n")));
        assert_eq!(out.code, 2, "{line}: {}", out.stdout);
        let answer = json_lines(&out.stdout).remove(0);
        assert_eq!(answer["status"], "malformed", "{answer}");
        assert_eq!(answer["field"].as_str(), field, "{answer}");
        assert_eq!(events_in(&data), "events: 0", "{line}");
    }
}

#[test]
fn cli_append_a_line_that_is_not_utf8_is_named_like_every_bad_line_and_nothing_is_appended() {
    let data = fresh_dir("append-not-utf8");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let mut input = format!("{}\n", line(None, "ok1")).into_bytes();
    // The reference `@@@` becomes three bytes that are not UTF-8.
    let mut bad = line(None, "@@@").into_bytes();
    bad.iter_mut()
        .filter(|b| **b == b'@')
        .for_each(|b| *b = 0xff);
    input.extend_from_slice(&bad);
    input.extend_from_slice(format!("\n{}\n", line(None, "ok3")).as_bytes());
    let out = run_bytes(&data, &["append"], &input);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("line 2: not UTF-8"), "{}", out.stderr);
    assert_eq!(events_in(&data), "events: 0");
}

#[test]
fn susp_max_12m_a_ledger_with_the_old_termination_spelling_verifies_and_reads_the_new() {
    // Given a ledger whose termination record was written before the reason was
    // respelt: ContractTerminated version 1, reason `suspension_over12_months`
    // (made here by writing the record's bytes as that version wrote them)
    let data = fresh_dir("old-spelling");
    assert_eq!(run(&data, &["init", "--empty"], None).code, 0);
    let termination = format!(
        "{{\"stream\":\"{STREAM}\",\"type\":\"ContractTerminated\",\"schema_version\":2,\
         \"effective_date\":\"2027-07-01\",\"actor\":{{\"role\":\"agent\",\"id\":\"A1\"}},\
         \"data\":{{\"reason\":\"suspension_over_12_months\",\"rulebook\":\"CGVU-2026\",\
         \"billing_stops_from\":\"2027-08\"}}}}\n"
    );
    assert_eq!(run(&data, &["append"], Some(&termination)).code, 0);
    {
        let raw = navigo_store_sled::raw::RawLedger::open(&data).unwrap();
        let record = raw.record(1).unwrap().unwrap();
        let json = String::from_utf8(record[32..].to_vec()).unwrap();
        assert!(json.contains("\"schema_version\":2"), "{json}");
        let old = json
            .replace("\"schema_version\":2", "\"schema_version\":1")
            .replace("suspension_over_12_months", "suspension_over12_months");
        let mut bytes = blake3::hash(old.as_bytes()).as_bytes().to_vec();
        bytes.extend_from_slice(old.as_bytes());
        raw.put_record(1, &bytes).unwrap();
        // (that version kept no Merkle tree)
        raw.remove_merkle_tree().unwrap();
        raw.flush().unwrap();
    }
    // Then the chain verifies over the stored bytes
    let out = run(&data, &["verify"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // And the event reads with the reason spelt as RULES.md spells it
    let out = run(&data, &["history", STREAM, "--json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["data"]["reason"], "suspension_over_12_months");
}
