//! The command line beside a running service: `serve` records where it
//! listens in the data directory (`serve.json`); the read commands find it and
//! read through the service with the token of `NAVIGO_TOKEN`, printing what the
//! same command prints when the ledger is not served, byte for byte, and never
//! opening the store the service holds. Tokens are refused by name, a stale
//! record is ignored, and the appending commands refuse beside the service,
//! pointing at its HTTP API.

mod http_support;

use std::path::Path;
use std::process::{Command, Stdio};

use http_support::*;
use serde_json::Value;

/// A finished run: (exit code, stdout, stderr).
type Run = (i32, String, String);

/// Runs the binary on `data` at the tests' instant, with `token` as
/// `NAVIGO_TOKEN` (unset when `None`).
fn run(data: &Path, args: &[&str], token: Option<&str>) -> Run {
    run_at(data, args, token, NOW)
}

/// [`run`] with the binary's clock at `now`.
fn run_at(data: &Path, args: &[&str], token: Option<&str>, now: &str) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env("NAVIGO_TEST_NOW", now).env_remove("NAVIGO_TOKEN");
    if let Some(t) = token {
        cmd.env("NAVIGO_TOKEN", t);
    }
    let out = cmd
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// The store was not opened: no lock error, in any wording the store has.
fn assert_store_not_opened(args: &[&str], stderr: &str) {
    assert!(
        !stderr.contains("acquire lock") && !stderr.contains("another navigo-ledger process"),
        "{args:?} opened the store beside the service: {stderr}"
    );
}

/// Every read command with a route answering its view, in each of its forms.
fn reads() -> Vec<Vec<&'static str>> {
    let mut all = Vec::new();
    for (cmd, id) in [
        ("state", CONTRACT_A),
        ("balance", CONTRACT_A),
        ("calendar", CONTRACT_A),
        ("state", CONTRACT_B),
        ("bans", PERSON_A),
        ("refunds", PERSON_A),
    ] {
        all.push(vec![cmd, id]);
        all.push(vec![cmd, id, "--json"]);
        all.push(vec![
            cmd,
            id,
            "--at",
            "2027-03-01",
            "--known-at",
            "2027-02-01T00:00:00+01:00",
        ]);
    }
    all.push(vec!["calendar", CONTRACT_A, "--horizon", "2", "--json"]);
    all.push(vec!["list", "contracts-by-holder", "--json"]);
    all.push(vec!["list", "contracts-by-status", "status=active"]);
    all.push(vec![
        "list",
        "persons-by-client-number",
        "client_number=NV00000001",
    ]);
    all
}

/// The audit trail's forms: the auditors' read.
fn audits() -> Vec<Vec<&'static str>> {
    vec![
        vec!["audit", CONTRACT_A],
        vec!["audit", CONTRACT_A, "--json"],
        vec!["audit", PERSON_A, "--known-at", "2027-02-01T00:00:00Z"],
    ]
}

#[test]
fn cli_beside_serve_reads_answer_as_the_local_reads() {
    // Given a served ledger, when every read runs beside the service with an
    // agent's token, and again once the service is stopped (its record then
    // stale), then each prints the same bytes both ways.
    let server = start("beside-reads");
    let data = server.data.clone();
    let (agent, auditor) = (server.agent.clone(), server.auditor.clone());
    // The lists read the projections the service keeps: once they cover the
    // log, as the stopped ledger's will.
    let head = server.head();
    let (status, page) = server.get(
        &format!("/v1/lists/debits?min_position={head}"),
        Some(&agent),
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["position"], head, "{page}");
    let reads: Vec<(Vec<&str>, &str)> = reads()
        .into_iter()
        .map(|r| (r, agent.as_str()))
        .chain(audits().into_iter().map(|r| (r, auditor.as_str())))
        .collect();
    let mut served = Vec::new();
    for (args, token) in &reads {
        let (code, out, err) = run(&data, args, Some(token));
        assert_eq!(code, 0, "{args:?} beside the service: {out}{err}");
        assert_store_not_opened(args, &err);
        served.push(out);
    }
    drop(server);
    assert!(
        data.join("serve.json").exists(),
        "a killed service leaves its record"
    );
    for (i, ((args, _), beside)) in reads.iter().zip(&served).enumerate() {
        let (code, out, err) = run(&data, args, None);
        assert_eq!(code, 0, "{args:?} on the stopped ledger: {out}{err}");
        assert_eq!(
            &out, beside,
            "{args:?}: beside the service and alone differ"
        );
        // The killed service's record is stale: said and removed by the first
        // reader, not seen by the next.
        assert_eq!(
            err.contains("ignoring a stale service record"),
            i == 0,
            "{args:?}: {err}"
        );
    }
    assert!(!data.join("serve.json").exists());
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn cli_beside_serve_refuses_a_missing_an_unknown_and_an_unpermitted_token_by_name() {
    // Given a served ledger, when a read runs with no token, an unknown token
    // and a role that may not read persons, then each is refused, naming the
    // variable (and the role), and the store is never opened.
    let server = start("beside-tokens");
    let bans = ["bans", PERSON_A];
    let (code, _, err) = run(&server.data, &bans, None);
    assert_eq!(code, 2, "no token: {err}");
    assert!(err.contains("NAVIGO_TOKEN"), "no token: {err}");
    assert_store_not_opened(&bans, &err);
    let (code, _, err) = run(&server.data, &bans, Some("nvt_not-a-token"));
    assert_eq!(code, 1, "unknown token: {err}");
    assert!(
        err.contains("NAVIGO_TOKEN") && err.contains("refused"),
        "unknown token: {err}"
    );
    assert_store_not_opened(&bans, &err);
    let (code, _, err) = run(&server.data, &bans, Some(&server.system));
    assert_eq!(code, 1, "system role: {err}");
    assert!(
        err.contains("NAVIGO_TOKEN") && err.contains("the role system"),
        "system role: {err}"
    );
    assert_store_not_opened(&bans, &err);
    let data = server.data.clone();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn cli_beside_serve_unknown_id_is_bad_input_with_the_local_message() {
    // Given a served ledger, when a contract it does not know is read beside
    // it and alone, then both exit 2 with the same message.
    let server = start("beside-unknown");
    let unknown = "0196a000-0000-7000-8000-0000000000ff";
    let args = ["state", unknown];
    let (code, _, beside) = run(&server.data, &args, Some(&server.agent));
    assert_eq!(code, 2, "{beside}");
    let data = server.data.clone();
    drop(server);
    let (code, _, alone) = run(&data, &args, None);
    assert_eq!(code, 2, "{alone}");
    let message = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("error:"))
            .map(str::to_owned)
    };
    assert_eq!(message(&beside), message(&alone));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn cli_beside_serve_appending_commands_and_diff_refuse_pointing_at_the_http_api() {
    // Given a served ledger, when `append`, `verify --against` or `diff` runs
    // beside it, then it refuses (exit 1) naming the
    // service's route to use instead, without opening the store, and the log
    // is unchanged.
    let server = start("beside-append");
    let before = server.head();
    for args in [
        vec!["append", "/dev/null"],
        vec!["verify", "--against", "/dev/null", "--key", "/dev/null"],
        vec![
            "diff",
            CONTRACT_A,
            "--at",
            "2026-10-15",
            "--at",
            "2026-12-15",
        ],
    ] {
        let token = if args[0] == "verify" {
            &server.auditor
        } else {
            &server.agent
        };
        let (code, out, err) = run(&server.data, &args, Some(token));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        let route = match args[0] {
            "verify" => "POST /v1/proofs/against",
            "diff" => "GET /v1/diff",
            _ => "POST /v1/commands",
        };
        assert!(err.contains(route), "{args:?}: {err}");
        assert_store_not_opened(&args, &err);
    }
    assert_eq!(server.head(), before, "something was appended");
    let data = server.data.clone();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn serve_records_its_address_and_removes_the_record_on_orderly_shutdown() {
    // Given a running service, then serve.json holds its address and pid;
    // when it is interrupted (Ctrl-C), then the record is gone.
    let mut server = start("beside-record");
    let path = server.data.join("serve.json");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("serve.json")).expect("json");
    assert_eq!(record["address"], server.addr.as_str());
    assert_eq!(record["pid"], server.child.id());
    assert_eq!(record["started_at"], NOW);
    let dir = std::fs::canonicalize(&server.data).expect("absolute");
    assert_eq!(record["data"], dir.to_str().expect("utf-8 path"));
    // A request answered: the service is past the start of its loop, whose
    // first turn installs the Ctrl-C handler.
    assert!(server.head() > 0);
    let status = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "serve after Ctrl-C: {exit:?}");
    assert!(!path.exists(), "serve.json left after an orderly shutdown");
    let data = server.data.clone();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// The administrative commands beside the service, each with a token of a
/// role that may run it: (arguments, token).
fn admin_runs<'a>(
    (auditor, system): (&'a str, &'a str),
    out: &Path,
    window: &Path,
) -> Vec<(Vec<String>, &'a str)> {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    vec![
        (args(&["verify"]), auditor),
        (args(&["verify", "--json"]), auditor),
        (args(&["check-projections"]), system),
        (args(&["check-projections", "--json"]), auditor),
        (vec!["export".into(), "--out".into(), path(out)], auditor),
        (
            vec![
                "export".into(),
                "--from".into(),
                "3".into(),
                "--to".into(),
                "7".into(),
                "--out".into(),
                path(window),
            ],
            auditor,
        ),
    ]
}

#[test]
fn cli_beside_serve_verify_check_projections_rebuild_and_export_answer_as_the_local_commands() {
    // Given a served ledger whose projections cover the log
    let server = start("beside-admin");
    let data = server.data.clone();
    let head = server.head();
    let (status, page) = server.get(
        &format!("/v1/lists/debits?min_position={head}"),
        Some(&server.agent),
    );
    assert_eq!(
        (status, &page["position"]),
        (200, &Value::from(head)),
        "{page}"
    );
    let files = |tag: &str| {
        let f = |n: &str| data.with_extension(format!("{tag}-{n}.jsonl"));
        let (a, b) = (f("all"), f("window"));
        let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
        (a, b)
    };
    // When verify, check-projections and export run beside it
    let (out, window) = files("beside");
    let mut beside = Vec::new();
    let tokens = (server.auditor.clone(), server.system.clone());
    for (args, token) in admin_runs((&tokens.0, &tokens.1), &out, &window) {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, err) = run(&data, &a, Some(token));
        assert_eq!(code, 0, "{a:?} beside the service: {stdout}{err}");
        assert_store_not_opened(&a, &err);
        beside.push(stdout);
    }
    // An existing --out is refused before the service is asked, as alone.
    let (code, _, err) = run(
        &data,
        &["export", "--out", out.to_str().expect("path")],
        Some(&server.auditor),
    );
    assert_eq!(code, 2, "{err}");
    // Tokens of roles that may not are refused by name (exit 1), a rebuild on
    // another day than the service's is bad input naming --at's date (exit 2).
    for (args, role, token) in [
        (vec!["rebuild"], "auditor", &server.auditor),
        (vec!["check-projections"], "agent", &server.agent),
        (vec!["verify"], "system", &server.system),
    ] {
        let (code, _, err) = run(&data, &args, Some(token));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("NAVIGO_TOKEN") && err.contains(&format!("the role {role}")),
            "{err}"
        );
    }
    let (code, _, err) = run(
        &data,
        &["rebuild", "--at", "2027-01-01"],
        Some(&server.system),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at: ") && err.contains("2027-10-15"), "{err}");
    // And a rebuild beside it swaps in a new generation on the service's today,
    // which the next check finds consistent
    let (code, stdout, err) = run(&data, &["rebuild", "--json"], Some(&server.system));
    assert_eq!(code, 0, "{stdout}{err}");
    let rebuilt: Value = serde_json::from_str(&stdout).expect("summary");
    assert_eq!(
        (rebuilt["at"].as_str(), rebuilt["checkpoint"].as_u64()),
        (Some("2027-10-15"), Some(head)),
        "{rebuilt}"
    );
    let (code, stdout, err) = run(&data, &["check-projections"], Some(&server.system));
    assert_eq!(code, 0, "{stdout}{err}");
    beside[2] = stdout;
    let (code, stdout, err) = run(
        &data,
        &["check-projections", "--json"],
        Some(&server.system),
    );
    assert_eq!(code, 0, "{stdout}{err}");
    beside[3] = stdout;
    drop(server);
    // Then each prints what it prints alone, and the exports are the same bytes
    let (out_alone, window_alone) = files("alone");
    for (i, (args, _)) in admin_runs(("", ""), &out_alone, &window_alone)
        .into_iter()
        .enumerate()
    {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, err) = run(&data, &a, None);
        assert_eq!(code, 0, "{a:?} alone: {stdout}{err}");
        let alone = stdout
            .replace(
                out_alone.to_str().expect("path"),
                out.to_str().expect("path"),
            )
            .replace(
                window_alone.to_str().expect("path"),
                window.to_str().expect("path"),
            );
        assert_eq!(
            alone, beside[i],
            "{a:?}: beside the service and alone differ"
        );
    }
    for (b, a) in [(&out, &out_alone), (&window, &window_alone)] {
        assert_eq!(
            std::fs::read(b).expect("beside"),
            std::fs::read(a).expect("alone")
        );
        let _ = (std::fs::remove_file(a), std::fs::remove_file(b));
    }
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn cli_beside_serve_advance_runs_the_services_clock_and_prints_what_it_prints_alone() {
    // Given a served ledger and the same ledger alone, on the eve of a
    // collection date (the 5th)
    let later = "2027-11-04T08:00:00Z";
    let mut server = start("beside-advance");
    server.restart_at(later);
    let alone = start("beside-advance-alone");
    let alone_data = alone.data.clone();
    drop(alone);
    let args = ["advance", "--to", "2027-11-06"];
    // When advance runs beside the service with a token that may not run the
    // clock, or none, then it is refused by name and nothing is appended
    let before = server.head();
    let (code, _, err) = run(&server.data, &args, Some(&server.agent));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("NAVIGO_TOKEN") && err.contains("AdvanceClock"),
        "{err}"
    );
    let (code, _, err) = run(&server.data, &args, None);
    assert_eq!(code, 2, "{err}");
    assert_eq!(server.head(), before);
    // When it runs with a system token, then the service's clock runs and the
    // events it appended are printed as the same command prints them alone
    // (the printed events carry no actor: the token's is recorded in the log)
    let (code, beside, err) = run(&server.data, &args, Some(&server.system));
    assert_eq!(code, 0, "{beside}{err}");
    assert_store_not_opened(&args, &err);
    let (code, local, err_alone) = run_at(&alone_data, &args, None, later);
    assert_eq!(code, 0, "{local}{err_alone}");
    let appended = beside.lines().count() as u64;
    assert!(appended > 0, "no event due by 2027-11-06?");
    assert_eq!(beside, local);
    assert_eq!(err.lines().last(), err_alone.lines().last());
    assert_eq!(server.head(), before + appended);
    let data = server.data.clone();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&alone_data);
}

#[test]
fn cli_beside_serve_apply_sends_each_command_and_prints_the_local_lines() {
    // Given a served ledger, the same ledger alone, and commands: one the
    // service accepts, one backdated beyond the skew the service allows, a
    // malformed line, and one refused by a rule (the same suspension again)
    let server = start("beside-apply");
    let alone = start("beside-apply-alone");
    let alone_data = alone.data.clone();
    drop(alone);
    let file = server.data.with_extension("commands.jsonl");
    // The command line's commands name their actor: here the agent token's own.
    let suspend = agent_command(CONTRACT_B).replacen(
        '{',
        r#"{"actor": {"role": "agent", "id": "agent-1"}, "#,
        1,
    );
    let backdated = suspend.replace(NOW, "2027-10-01T08:00:00Z");
    std::fs::write(
        &file,
        format!("{suspend}\n{backdated}\nnot json\n{suspend}\n"),
    )
    .expect("file");
    let args = ["apply", file.to_str().expect("path")];
    // When apply runs beside the service with a token that may submit no
    // command, then it stops there, naming the token's role
    let before = server.head();
    let (code, out, err) = run(&server.data, &args, Some(&server.auditor));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("NAVIGO_TOKEN") && err.contains("the role auditor"),
        "{err}"
    );
    assert_eq!(server.head(), before);
    // When it runs with an agent's token, then each line is answered: the
    // accepted one with the events the local apply prints, the backdated one
    // invalid naming request_at (the service judges at its own instant), the
    // malformed one as alone (exit 2), the second suspension refused by its rule
    let (code, beside, err) = run(&server.data, &args, Some(&server.agent));
    assert_eq!(code, 2, "{beside}{err}");
    assert_store_not_opened(&args, &err);
    let lines: Vec<Value> = beside
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "{beside}");
    assert_eq!(lines[0]["status"], "accepted", "{beside}");
    assert_eq!(
        (lines[1]["status"].as_str(), lines[1]["field"].as_str()),
        (Some("invalid"), Some("request_at")),
        "{beside}"
    );
    assert_eq!(lines[2]["status"], "malformed", "{beside}");
    assert!(lines[3]["rule"].is_string(), "{beside}");
    let appended = lines[0]["events"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(server.head(), before + appended);
    // And the accepted and malformed lines are those of the same command alone
    let alone_file = alone_data.with_extension("commands.jsonl");
    std::fs::write(&alone_file, format!("{suspend}\nnot json\n")).expect("file");
    let (_, local, err) = run(
        &alone_data,
        &["apply", alone_file.to_str().expect("path")],
        None,
    );
    let local: Vec<&str> = local.lines().collect();
    assert_eq!(local.len(), 2, "{err}");
    let beside: Vec<&str> = beside.lines().collect();
    assert_eq!(beside[0], local[0]);
    assert_eq!(beside[2].replace("\"line\":3", "\"line\":2"), local[1]);
    let data = server.data.clone();
    drop(server);
    for f in [&file, &alone_file] {
        let _ = std::fs::remove_file(f);
    }
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&alone_data);
}
