//! The OpenAPI document as third-party tools use it: an established validator
//! (openapi-spec-validator) accepts it, and a schema-driven fuzzer
//! (schemathesis) run against a served test ledger finds nothing: no 5xx, no
//! response breaking its declared schema or status, no schema-valid request
//! refused as malformed (tests/schemathesis.toml). Both tools come from PyPI and
//! are installed by this test, when missing, into a virtual environment under
//! the target directory, so that `cargo test --workspace` stays the one command.

mod http_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use http_support::*;

/// The pinned versions of the tools.
const TOOLS: &[&str] = &["schemathesis==4.32.5", "openapi-spec-validator==0.9.0"];
/// Examples the fuzzer generates per operation and phase: enough to exercise
/// every parameter and body shape, bounded so that the suite stays within CI's
/// time on two cores.
const FUZZ_EXAMPLES_PER_OPERATION: &str = "25";
/// The fuzzer's seed: a failure replays.
const FUZZ_SEED: &str = "20271015";

/// The virtual environment's bin directory, created and filled when missing.
fn tools() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pytools-venv");
    let bin = venv.join("bin");
    if bin.join("schemathesis").exists() && bin.join("openapi-spec-validator").exists() {
        return bin;
    }
    install_python_venv();
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is needed to install the OpenAPI tools (python3 -m venv)");
    assert!(status.success(), "python3 -m venv {}", venv.display());
    let out = Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(TOOLS)
        .output()
        .expect("pip");
    assert!(
        out.status.success(),
        "pip install {TOOLS:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Installs Debian's `python3-venv` (and `python3`) when `python3 -m venv` is
/// not available, as the PostgreSQL tests install the server binaries.
fn install_python_venv() {
    let has_venv = || {
        Command::new("python3")
            .args(["-m", "venv", "--help"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_venv() {
        return;
    }
    let installed = navigo_store_postgres::cluster::apt_install(&["python3", "python3-venv"]);
    assert!(
        installed.is_ok() && has_venv(),
        "python3 -m venv is needed to install the OpenAPI tools: {installed:?}"
    );
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn http_openapi_document_validates_and_the_schema_fuzzer_finds_nothing() {
    let bin = tools();
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let (ok, out) = run(Command::new(bin.join("openapi-spec-validator")).arg(&doc));
    assert!(ok, "openapi-spec-validator: {out}");

    let mut s = start("fuzz");
    // A short bound on each request's time: a feed long-poll of up to 30 s
    // ends at it (408) instead of holding the run.
    let _ = s.child.kill();
    let _ = s.child.wait();
    let (child, addr) = serve_with(&s.data, NOW, &["--request-timeout-ms", "1500"]);
    s.child = child;
    s.addr = addr;
    let customer = s.customer();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    // The document's formats that JSON Schema cannot state (an IBAN's check
    // digits), taught to the fuzzer.
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis_hooks.py");
    // One run per credential, each over the operations that credential may use,
    // so that every operation is reached past its authorization (the customer's
    // logout is left out: it would end the session the run uses).
    let runs: [(&str, &str, &[&str]); 4] = [
        (
            "agent",
            &s.agent,
            &[
                "--exclude-path-regex",
                "^/v1/(me|verify|audit|diff|partner|sessions/current)",
            ],
        ),
        (
            "auditor",
            &s.auditor,
            &[
                "--include-path-regex",
                "^/v1/(verify|audit|diff|feed|contracts|persons|checkpoints|proofs)",
            ],
        ),
        (
            "partner",
            &s.partner,
            &["--include-path-regex", "^/v1/partner"],
        ),
        (
            "customer",
            &customer,
            &["--include-path-regex", "^/v1/(me|contracts)"],
        ),
    ];
    let url = format!("http://{}/openapi.json", s.addr);
    // Schemathesis keeps a cache in its working directory: the target's, not
    // the source tree.
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    std::fs::create_dir_all(&work).expect("schemathesis directory");
    let mut report = String::new();
    let mut failed = false;
    for (role, token, filter) in runs {
        let (ok, out) = run(
            Command::new(bin.join("schemathesis"))
                .current_dir(&work)
                .arg("--config-file")
                .arg(&config)
                .args(["--no-color", "run", &url])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,positive_data_acceptance,negative_data_rejection"])
                .args(["--max-examples", FUZZ_EXAMPLES_PER_OPERATION, "--seed", FUZZ_SEED])
                .args(["--workers", "1", "--phases", "examples,coverage,fuzzing"])
                .args(["--suppress-health-check", "all"])
                .args(filter)
                .env("SCHEMATHESIS_HOOKS", &hooks)
                .env("NO_COLOR", "1"),
        );
        failed |= !ok;
        report.push_str(&format!(
            "=== as {role}: {}\n{out}\n",
            if ok { "ok" } else { "FAILED" }
        ));
    }
    assert!(!failed, "{report}");
}
