//! Administrative work on the running service (`/v1/projections/check`,
//! `/v1/projections/rebuild`, `/v1/export`): the roles that may run it, the
//! answers the command line gives for the same work, reads and commands
//! answered while a job runs (a job held by the test hook
//! `serve --admin-hold-file`, never timed) and one job of a kind at a time.

mod http_support;

use std::path::Path;

use http_support::*;
use serde_json::Value;

/// The body of a `Transfer-Encoding: chunked` response, unchunked; `None` when
/// the transfer was cut before its last chunk.
fn unchunk(head: &str, raw: &str) -> Option<String> {
    if header(head, "transfer-encoding").is_none() {
        return Some(raw.to_owned());
    }
    let (mut rest, mut out) = (raw, String::new());
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

/// `GET /v1/export…` as the auditor: (status, body as sent).
fn export_over_http(s: &Server, query: &str) -> (u16, Option<String>) {
    let (st, head, body) = exchange(
        &s.addr,
        "GET",
        &format!("/v1/export{query}"),
        Some(&s.auditor),
        None,
        &[],
    );
    let raw = match body {
        Value::String(t) => t,
        other => other.to_string(),
    };
    (st, unchunk(&head, &raw))
}

/// The command line's export of `data` (the service stopped), its file's text.
fn local_export(data: &Path, args: &[&str]) -> String {
    let out = data.with_extension(format!("export-{}", args.join("")));
    let _ = std::fs::remove_file(&out);
    let mut all = vec!["export", "--out", out.to_str().expect("path")];
    all.extend_from_slice(args);
    let (code, said) = cli(data, &all, "");
    assert_eq!(code, 0, "{said}");
    let text = std::fs::read_to_string(&out).expect("export file");
    let _ = std::fs::remove_file(&out);
    text
}

#[test]
fn http_admin_routes_role_cells_and_answers_as_the_command_line_gives_them() {
    let s = start("admin-cells");
    let customer = s.customer();
    let roles = s.callers(&customer);
    // Each route, and the roles docs/roles.md gives it.
    let cells: [(&str, &str, &[&str]); 3] = [
        ("GET", "/v1/projections/check", &["auditor", "system"]),
        ("POST", "/v1/projections/rebuild", &["system"]),
        ("GET", "/v1/export", &["auditor"]),
    ];
    for (method, path, allowed) in cells {
        for (role, token) in &roles {
            let (st, _, v) = exchange(&s.addr, method, path, *token, None, &[]);
            let expected = match (*token, allowed.contains(role)) {
                (None, _) => 401,
                (Some(_), true) => 200,
                (Some(_), false) => 403,
            };
            assert_eq!(st, expected, "{method} {path} as {role}: {v}");
        }
    }
    // The check compares every projection and finds them consistent, caught up
    // to the head.
    let head = s.head();
    let (st, v) = s.get("/v1/projections/check", Some(&s.system));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["consistent"], true, "{v}");
    assert_eq!(
        (v["checkpoint"].as_u64(), v["head"].as_u64()),
        (Some(head), Some(head)),
        "{v}"
    );
    assert!(
        v["projections"].as_array().is_some_and(|p| !p.is_empty()),
        "{v}"
    );
    // A rebuild on another date than the service's today is refused, naming at.
    let (st, v) = s.post("/v1/projections/rebuild?at=2027-01-01", Some(&s.system), "");
    assert_eq!((st, v["field"].as_str()), (400, Some("at")), "{v}");
    let (st, v) = s.post("/v1/projections/rebuild?at=2027-10-15", Some(&s.system), "");
    assert_eq!((st, v["at"].as_str()), (200, Some("2027-10-15")), "{v}");
    assert_eq!(v["checkpoint"].as_u64(), Some(head), "{v}");
    // Export windows outside the log are 400 naming the parameter, before any byte.
    let (st, body) = export_over_http(&s, &format!("?to={}", head + 1));
    assert_eq!(st, 400, "{body:?}");
    assert!(body.is_some_and(|b| b.contains("\"to\"")));
    let (st, v) = s.get("/v1/export?from=zero", Some(&s.auditor));
    assert_eq!((st, v["field"].as_str()), (400, Some("from")), "{v}");
    // The export streamed is the command line's file, byte for byte.
    let (st, whole) = export_over_http(&s, "");
    assert_eq!(st, 200);
    let (st, window) = export_over_http(&s, "?from=3&to=7");
    assert_eq!(st, 200);
    let data = s.data.clone();
    drop(s);
    assert_eq!(whole.expect("whole transfer"), local_export(&data, &[]));
    assert_eq!(
        window.expect("whole transfer"),
        local_export(&data, &["--from", "3", "--to", "7"])
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn http_admin_job_runs_off_the_ledgers_lock_reads_and_commands_answered_second_is_409() {
    let s = start("admin-hold");
    let data = s.data.clone();
    let (system, auditor, agent) = (s.system.clone(), s.auditor.clone(), s.agent.clone());
    drop(s);
    let hold = data.with_extension("hold");
    let held = data.with_extension("held");
    let (mut child, addr) = serve_with(
        &data,
        NOW,
        &["--admin-hold-file", hold.to_str().expect("path")],
    );
    let jobs: [(&str, &str, &str); 3] = [
        ("GET", "/v1/projections/check", &system),
        ("POST", "/v1/projections/rebuild", &system),
        ("GET", "/v1/export", &auditor),
    ];
    for (method, path, token) in jobs {
        // Given a job held at its start
        std::fs::write(&hold, "").expect("hold file");
        let job = {
            let (addr, token) = (addr.clone(), token.to_owned());
            std::thread::spawn(move || exchange(&addr, method, path, Some(&token), None, &[]))
        };
        while !held.exists() {
            assert!(!job.is_finished(), "{path} ended without being held");
            std::thread::yield_now();
        }
        // When a second of the same kind is asked, then it is refused (409,
        // saying what to do)
        let (st, _, refused) = exchange(&addr, method, path, Some(token), None, &[]);
        assert_eq!(st, 409, "{path}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("wait for its answer")),
            "{refused}"
        );
        // And reads and commands are answered while it runs
        let state = format!("/v1/contracts/{CONTRACT_A}/state");
        let (st, v) = request(&addr, "GET", &state, Some(&agent), None, &[]);
        assert_eq!(st, 200, "{path}: {v}");
        let (st, v) = request(&addr, "GET", "/ready", None, None, &[]);
        assert_eq!(st, 200, "{path}: {v}");
        let (st, v) = request(
            &addr,
            "GET",
            "/v1/lists/contracts-by-holder",
            Some(&agent),
            None,
            &[],
        );
        assert_eq!(st, 200, "{path}: {v}");
        let person = format!("0196a000-0000-7000-8000-0000000{:05}", path.len());
        let client = format!("NV9{:07}", path.len());
        let (st, v) = request(
            &addr,
            "POST",
            "/v1/commands",
            Some(&agent),
            Some(&register(&person, &client)),
            &[],
        );
        assert_eq!(st, 201, "{path}: {v}");
        assert!(!job.is_finished(), "{path} ended while held");
        // And the job answers once let go
        std::fs::remove_file(&hold).expect("let go");
        let (st, _, v) = job.join().expect("job");
        assert_eq!(st, 200, "{path}: {v}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
}
