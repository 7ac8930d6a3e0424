//! What the auditor's command-line tests share: the binary run with the
//! test clock, its exit code and outputs, and the two streams they append to.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
pub const STREAM_A: &str = "contract:01920000-0000-7000-8000-0000000000aa";
pub const STREAM_B: &str = "contract:01920000-0000-7000-8000-0000000000bb";

/// A finished run of the binary.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary on `data` with `args`, `stdin` fed to it; time in tests is
/// injected: the binary's clock stands at one fixed instant.
pub fn run(data: &Path, args: &[&str], stdin: Option<&str>) -> Out {
    let mut child = Command::new(BIN)
        .env("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The standard output of a run that must succeed.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let out = run(data, args, None);
    assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// A JSON output, decoded.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
