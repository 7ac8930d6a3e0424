//! What the command-line tests share: the binary run with the test clock, its
//! exit code and outputs, and the two streams the auditor's tests append to.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

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
    run_bytes(data, args, stdin.unwrap_or("").as_bytes())
}

/// Runs the binary with raw bytes on stdin (a line that is not UTF-8, say).
pub fn run_bytes(data: &Path, args: &[&str], stdin: &[u8]) -> Out {
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
    feed(&mut child, stdin);
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Writes `input` to the child's stdin and closes it. A command that refuses
/// before reading its input (a directory that is not a ledger, say) may exit
/// before the write: the pipe is then broken, which is its answer, not the
/// test's failure; the exit code and messages say the rest.
fn feed(child: &mut Child, input: &[u8]) {
    let mut stdin = child.stdin.take().unwrap();
    match stdin.write_all(input) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
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
