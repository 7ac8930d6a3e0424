//! The service's trust boundary, over real HTTP on loopback: the server decides
//! who acts (the credential's actor, the role × command-type matrix, a
//! customer's own contracts) and when (its own instant, a bounded billing
//! clock); every attack is refused with nothing appended. Then the accounts and
//! sessions (expiry, logout, limits that do not lock a customer out, file
//! modes) and the operations (metrics, 408, JSON errors, 413, 415, verify).

mod http_support;

use std::path::Path;

use http_support::*;
use serde_json::{json, Value};

const PERSON_B: &str = "0196a000-0000-7000-8000-0000000000b1";
const BOB_PASSWORD: &str = "Bobby2027ok";

/// The last event of the feed.
fn last_event(s: &Server) -> Value {
    let head = s.head();
    let (st, v) = s.get(&format!("/v1/feed?from={head}"), Some(&s.auditor));
    assert_eq!(st, 200, "{v}");
    v["events"][0].clone()
}

fn post_command(s: &Server, token: &str, body: &Value) -> (u16, Value) {
    s.post("/v1/commands", Some(token), &body.to_string())
}

/// Bob's account (he holds contract B) and a session of his.
fn bob(s: &Server) -> String {
    let (st, v) = s.post(
        "/v1/accounts",
        None,
        &json!({"login": "bob", "password": BOB_PASSWORD, "client_number": "NV00000002",
                "birth_date": "1979-11-02"})
        .to_string(),
    );
    assert_eq!(st, 201, "{v}");
    let (st, v) = s.post(
        "/v1/sessions",
        None,
        &json!({"login": "bob", "password": BOB_PASSWORD}).to_string(),
    );
    assert_eq!(st, 200, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

#[test]
fn http_forged_actor_is_403_naming_the_field_and_the_token_name_is_recorded() {
    let s = start("forged-actor");
    let head = s.head();
    // Given an agent token, when the body names the billing clock as actor
    let forged = json!({"actor": {"role": "system", "id": "billing-clock"}, "channel": "agency",
                        "command": {"type": "Suspend", "contract_id": CONTRACT_B}});
    let (st, v) = post_command(&s, &s.agent, &forged);
    // Then it is refused naming the field, and nothing is appended
    assert_eq!((st, v["field"].as_str()), (403, Some("actor")), "{v}");
    assert_eq!(s.head(), head);
    // The agent's own actor under another id is refused the same way.
    let mut other = forged.clone();
    other["actor"] = json!({"role": "agent", "id": "AG-0417"});
    assert_eq!(post_command(&s, &s.agent, &other).0, 403);
    // In a batch, the field names the command.
    let batch = json!([
        serde_json::from_str::<Value>(&agent_command(CONTRACT_B)).expect("json"),
        forged
    ]);
    let (st, v) = post_command(&s, &s.agent, &batch);
    assert_eq!((st, v["field"].as_str()), (403, Some("[1].actor")), "{v}");
    assert_eq!(s.head(), head);
    // Without an actor, or with its own, the event records the token's name.
    let (st, v) = s.post("/v1/commands", Some(&s.agent), &agent_command(CONTRACT_B));
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        last_event(&s)["actor"],
        json!({"role": "agent", "id": "agent-1"})
    );
    // And the request log names the token.
    let log = std::fs::read_to_string(s.data.with_extension("log")).expect("log");
    assert!(log.contains("token=\"agent-1\""), "{log}");
}

#[test]
fn http_role_escalation_agent_cannot_publish_reference_data_even_claiming_import() {
    let s = start("escalation");
    let head = s.head();
    // Given every product at 1.00 € a year from 2027-01-01
    let prices: Vec<Value> = ["1-5", "2-3", "3-4", "4-5", "senior"]
        .iter()
        .map(|p| json!({"product": p, "annual": "1.00", "mark": "U"}))
        .collect();
    let command = json!({"type": "PublishTariff", "effective_from": "2027-01-01",
                         "prices": prices, "source": "escalation attempt"});
    // When an agent claims the import role in the body, or no role at all
    let claimed = json!({"actor": {"role": "import", "id": "catalogue"}, "command": command});
    let (st, v) = post_command(&s, &s.agent, &claimed);
    assert_eq!((st, v["field"].as_str()), (403, Some("actor")), "{v}");
    let (st, v) = post_command(&s, &s.agent, &json!({ "command": command }));
    // Then both are refused (the type is the reference-data role's), nothing appended
    assert_eq!(
        (st, v["field"].as_str()),
        (403, Some("command.type")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("PublishTariff")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    // The system may not either; the reference-data role may.
    assert_eq!(
        post_command(&s, &s.system, &json!({ "command": command })).0,
        403
    );
    let (st, v) = post_command(&s, &s.reference, &json!({ "command": command }));
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        last_event(&s)["actor"],
        json!({"role": "agent", "id": "reference-1"})
    );
}

#[test]
fn http_authz_matrix_every_role_against_every_command_type_over_http() {
    let s = start("matrix-commands");
    let customer = s.customer();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events-schema/examples/commands");
    let mut examples: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("read");
            let v: Value = serde_json::from_str(&text).expect("json");
            (v["command"]["type"].as_str().expect("type").to_owned(), v)
        })
        .collect();
    examples.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(examples.len(), 34);
    let roles: [(&str, &str, Option<&str>); 6] = [
        ("agent", &s.agent, Some("agency")),
        ("system", &s.system, None),
        ("reference", &s.reference, None),
        ("customer", &customer, Some("online")),
        ("auditor", &s.auditor, None),
        ("partner", &s.partner, None),
    ];
    let mut cells = 0;
    for (kind, example) in &examples {
        let expected: &[&str] = match kind.as_str() {
            "AdvanceClock" | "RecordDebitPresented" | "RecordDebitRejected" => &["system"],
            "PublishTariff"
            | "PublishSchoolHolidays"
            | "PublishReasonCodes"
            | "PublishCampaign" => &["reference"],
            "Suspend" | "Resume" | "DeclareLoss" | "ChangeDebitDay" | "TerminateByPayer"
            | "FileRefundClaim" => &["agent", "customer"],
            _ => &["agent"],
        };
        for (role, token, channel) in &roles {
            // The example as this role would send it: its own actor, its own channel.
            let mut body = json!({ "command": example["command"] });
            if let Some(c) = channel {
                body["channel"] = json!(c);
            }
            let head = s.head();
            let (st, v) = post_command(&s, token, &body);
            let refused_by_type = st == 403
                && (v["field"] == "command.type"
                    || v["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("may not submit commands")));
            assert_ne!(st, 401, "{role} {kind}: {v}");
            assert!(st < 500, "{role} {kind}: {st} {v}");
            assert_eq!(
                !refused_by_type,
                expected.contains(role),
                "{role} {kind}: {st} {v}"
            );
            if st >= 400 {
                assert_eq!(s.head(), head, "{role} {kind}: appended though refused");
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 34 * 6);
}

#[test]
fn http_customer_acts_on_own_contract_online_and_is_refused_on_anothers() {
    let s = start("customer-commands");
    let bob = bob(&s);
    let alice = s.customer();
    let head = s.head();
    // Alice on Bob's contract: refused naming the contract, nothing appended.
    for command in [
        json!({"type": "Suspend", "contract_id": CONTRACT_B}),
        json!({"type": "ChangeDebitDay", "contract_id": CONTRACT_B, "debit_day": 8}),
        json!({"type": "TerminateByPayer", "contract_id": CONTRACT_B}),
        json!({"type": "DeclareLoss", "contract_id": CONTRACT_B, "kind": "loss", "support": "pass"}),
    ] {
        let (st, v) = post_command(&s, &alice, &json!({ "command": command }));
        assert_eq!(
            (st, v["field"].as_str()),
            (403, Some("command.contract_id")),
            "{command}: {v}"
        );
    }
    // A customer may not use the agency's channel, nor an agency command.
    let (st, v) = post_command(
        &s,
        &bob,
        &json!({"channel": "agency", "command": {"type": "Suspend", "contract_id": CONTRACT_B}}),
    );
    assert_eq!((st, v["field"].as_str()), (403, Some("channel")), "{v}");
    let (st, v) = post_command(
        &s,
        &bob,
        &json!({"command": {"type": "ChangeZones", "contract_id": CONTRACT_B, "zones": "1-5"}}),
    );
    assert_eq!(
        (st, v["field"].as_str()),
        (403, Some("command.type")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    // Bob on his own contract, online: judged (accepted), recorded as himself.
    let (st, v) = post_command(
        &s,
        &bob,
        &json!({"command": {"type": "ChangeDebitDay", "contract_id": CONTRACT_B, "debit_day": 8}}),
    );
    assert_eq!(st, 201, "{v}");
    let e = last_event(&s);
    assert_eq!(
        e["actor"],
        json!({"role": "customer", "id": PERSON_B}),
        "{e}"
    );
    assert_eq!(e["channel"], "online", "{e}");
    let (st, v) = post_command(
        &s,
        &bob,
        &json!({"command": {"type": "DeclareLoss", "contract_id": CONTRACT_B, "kind": "loss", "support": "pass"}}),
    );
    assert_eq!(st, 201, "{v}");
    let (st, v) = post_command(
        &s,
        &bob,
        &json!({"command": {"type": "Suspend", "contract_id": CONTRACT_B}}),
    );
    assert_eq!(st, 201, "{v}");
    // Resume and terminate are judged by the rules, not refused as not his.
    for command in [
        json!({"type": "Resume", "contract_id": CONTRACT_B}),
        json!({"type": "TerminateByPayer", "contract_id": CONTRACT_B}),
    ] {
        let (st, v) = post_command(&s, &bob, &json!({ "command": command }));
        assert!(st == 201 || st == 422, "{command}: {st} {v}");
    }
    // A refund claim: filed as himself for himself, not as or for someone else.
    let claim = |filer: &str, holder: &str| {
        json!({"command": {"type": "FileRefundClaim", "holder": holder, "filer": filer,
               "campaign_id": "0196a000-0000-7000-8000-00000000ca01",
               "filer_capacity": "holder", "kind": "request"}})
    };
    let head = s.head();
    let (st, v) = post_command(&s, &bob, &claim(PERSON_A, PERSON_B));
    assert_eq!(
        (st, v["field"].as_str()),
        (403, Some("command.filer")),
        "{v}"
    );
    let (st, v) = post_command(&s, &bob, &claim(PERSON_B, PERSON_A));
    assert_eq!(
        (st, v["field"].as_str()),
        (403, Some("command.holder")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    let (st, v) = post_command(&s, &bob, &claim(PERSON_B, PERSON_B));
    assert!(st != 403 && st < 500, "{st} {v}");
}

#[test]
fn term_attestation_customer_downloads_their_own_and_not_anothers() {
    let s = start("attestation");
    let alice = s.customer();
    let (st, v) = s.get(
        &format!("/v1/me/contracts/{CONTRACT_A}/attestation"),
        Some(&alice),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["rule"], "TERM-ATTESTATION");
    assert_eq!(v["contract"], CONTRACT_A);
    assert_eq!(v["holder"]["last_name"], "Durand");
    assert_eq!(v["issued_on"], "2027-10-15");
    let (st, _) = s.get(
        &format!("/v1/me/contracts/{CONTRACT_B}/attestation"),
        Some(&alice),
    );
    assert_eq!(st, 404);
}

#[test]
fn http_backdated_or_postdated_request_at_is_400_and_judged_at_the_servers_instant() {
    let s = start("backdating");
    let head = s.head();
    // A payer termination backdated a year, by an agent and by the customer.
    let alice = s.customer();
    let backdated = json!({"request_at": "2026-10-15T08:00:00Z",
        "command": {"type": "TerminateByPayer", "contract_id": CONTRACT_B}});
    let (st, v) = post_command(&s, &s.agent, &backdated);
    assert_eq!((st, v["field"].as_str()), (400, Some("request_at")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("request_skew_seconds_max")),
        "{v}"
    );
    let (st, _) = post_command(&s, &alice, &backdated);
    assert_eq!(st, 400);
    // A refund claim dated inside a past window, and a request from the future.
    let claim = json!({"request_at": "2025-01-10T08:00:00Z", "channel": "agency",
        "command": {"type": "FileRefundClaim", "holder": PERSON_A, "filer": PERSON_A,
                    "campaign_id": "0196a000-0000-7000-8000-00000000ca01",
                    "filer_capacity": "holder", "kind": "request"}});
    assert_eq!(post_command(&s, &s.agent, &claim).0, 400);
    let future = json!({"request_at": "2027-10-15T09:00:00Z", "channel": "agency",
        "command": {"type": "Suspend", "contract_id": CONTRACT_B}});
    assert_eq!(post_command(&s, &s.agent, &future).0, 400);
    assert_eq!(s.head(), head);
    // Within the skew the command is recorded at the server's instant.
    let close = json!({"request_at": "2027-10-15T07:58:00Z", "channel": "agency",
        "command": {"type": "Suspend", "contract_id": CONTRACT_B}});
    let (st, v) = post_command(&s, &s.agent, &close);
    assert_eq!(st, 201, "{v}");
    let recorded = last_event(&s)["recorded_at"]
        .as_str()
        .expect("at")
        .to_owned();
    assert!(recorded.starts_with("2027-10-15T08:00:00"), "{recorded}");
}

#[test]
fn http_future_clock_is_refused_over_http_and_cli_and_nothing_appended() {
    let mut s = start("future-clock");
    let head = s.head();
    // Over HTTP: the system's clock to 2030 is refused naming the date.
    let far = json!({"command": {"type": "AdvanceClock", "to": "2030-01-01"}});
    let (st, v) = post_command(&s, &s.system, &far);
    assert_eq!((st, v["field"].as_str()), (400, Some("command.to")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("clock_ahead_days_max")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    // Up to today plus the bound, it runs.
    let near = json!({"command": {"type": "AdvanceClock", "to": "2027-10-18"}});
    let (st, v) = post_command(&s, &s.system, &near);
    assert_eq!(st, 201, "{v}");
    let head = s.head();
    // Over the CLI (the service stopped: sled holds one process): advance and
    // apply refuse the same, and apply refuses a command after the clock.
    let _ = s.child.kill();
    let _ = s.child.wait();
    let (code, out) = cli(&s.data, &["advance", "--to", "2200-01-01"], "");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("clock_ahead_days_max"), "{out}");
    let lines = [
        json!({"request_at": "2027-10-15T07:00:00Z", "actor": {"role": "import", "id": "t"},
               "command": {"type": "AdvanceClock", "to": "2200-01-01"}}),
        json!({"request_at": "2027-10-16T07:00:00Z", "actor": {"role": "import", "id": "t"},
               "command": {"type": "AdvanceClock", "to": "2027-10-16"}}),
    ];
    let file = s.data.with_extension("future.jsonl");
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
    let (code, out) = cli(&s.data, &["apply", file.to_str().expect("path")], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("clock_ahead_days_max"), "{out}");
    assert!(out.contains("after the ledger's clock"), "{out}");
    // A service whose clock is behind the head records nothing (no event after
    // the clock), instead of stamping events in the future.
    s.restart_at("2027-09-30T00:00:00Z");
    let suspend = json!({"channel": "agency",
                         "command": {"type": "Suspend", "contract_id": CONTRACT_B}});
    let (st, v) = post_command(&s, &s.agent, &suspend);
    assert_eq!(st, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("after the clock")),
        "{v}"
    );
    assert_eq!(s.head(), head);
}

#[test]
fn http_header_idempotency_key_reused_with_another_command_is_409_naming_the_key() {
    let s = start("key-reuse");
    let first = register("0196a000-0000-7000-8000-0000000000c1", "NV00000003");
    let h = [("Idempotency-Key", "reuse-1")];
    let (st, v) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&s.agent),
        Some(&first),
        &h,
    );
    assert_eq!(st, 201, "{v}");
    let head = s.head();
    let other = register("0196a000-0000-7000-8000-0000000000c2", "NV00000004");
    let (st, v) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&s.agent),
        Some(&other),
        &h,
    );
    assert_eq!(st, 409, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("reuse-1")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    // Another credential's same key is its own: judged, not answered with
    // the first caller's result.
    let third = register("0196a000-0000-7000-8000-0000000000c3", "NV00000005");
    let other_agent = token(&s.data, "agent-2", "agent");
    let (st, v) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&other_agent),
        Some(&third),
        &h,
    );
    assert_eq!(st, 201, "{v}");
}

#[test]
fn acc_session_persists_across_a_restart_expires_and_ends_at_logout() {
    let mut s = start("sessions");
    let alice = s.customer();
    let mine = "/v1/me/contracts";
    assert_eq!(s.get(mine, Some(&alice)).0, 200);
    // A restart keeps the session until its expiry.
    s.restart_at("2027-10-15T08:29:00Z");
    assert_eq!(s.get(mine, Some(&alice)).0, 200);
    s.restart_at("2027-10-15T08:30:00Z");
    let (st, v) = s.get(mine, Some(&alice));
    assert_eq!(
        (st, v["error"].as_str()),
        (401, Some("session_ended")),
        "{v}"
    );
    // Logout ends a session at once.
    let again = s.customer();
    assert_eq!(s.get(mine, Some(&again)).0, 200);
    let (st, _, _) = exchange(
        &s.addr,
        "DELETE",
        "/v1/sessions/current",
        Some(&again),
        None,
        &[],
    );
    assert_eq!(st, 204);
    assert_eq!(s.get(mine, Some(&again)).0, 401);
    // The credential files are the owner's only.
    #[cfg(unix)]
    for f in ["auth.json", "sessions.json"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(s.data.join(f))
            .expect(f)
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}: {mode:o}");
    }
}

#[test]
fn acc_link_a_stranger_cannot_lock_a_customer_out_and_a_wrong_password_says_so() {
    let s = start("lockout");
    let wrong = json!({"login": "alice", "password": "Wrong2027ok"}).to_string();
    let right = json!({"login": "alice", "password": ALICE_PASSWORD}).to_string();
    let from = |ip: &str, body: &str| {
        let req = format!(
            "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (st, _, v) = send_raw(&s.addr, Some(ip), &req);
        (st, v)
    };
    // Given a stranger failing five times on alice's login from their address
    for _ in 0..5 {
        let (st, v) = from("127.0.0.2", &wrong);
        assert_eq!(
            (st, v["error"].as_str()),
            (401, Some("wrong_credentials")),
            "{v}"
        );
    }
    // Then the stranger is refused, even with the right password
    let (st, v) = from("127.0.0.2", &right);
    assert_eq!(st, 429, "{v}");
    // But alice, from her own address, signs in.
    let (st, v) = from("127.0.0.3", &right);
    assert_eq!(st, 200, "{v}");
}

#[test]
fn http_authorization_scheme_is_case_insensitive() {
    let s = start("scheme");
    let path = format!("/v1/contracts/{CONTRACT_A}/state");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {scheme} {}\r\n\r\n",
            s.agent
        );
        let (st, _, v) = send_raw(&s.addr, None, &req);
        assert_eq!(st, 200, "{scheme}: {v}");
    }
}

#[test]
fn partner_check_is_rate_limited_per_partner_token() {
    let s = start("partner-limit");
    let other = token(&s.data, "partner-2", "partner");
    let body = json!({"client_number": "NV00000001", "birth_date": "1985-03-14"}).to_string();
    for i in 0..30 {
        let (st, v) = s.post("/v1/partner/check", Some(&s.partner), &body);
        assert_eq!(st, 200, "{i}: {v}");
    }
    let (st, v) = s.post("/v1/partner/check", Some(&s.partner), &body);
    assert_eq!(
        (st, v["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{v}"
    );
    // Another partner's checks are its own.
    assert_eq!(s.post("/v1/partner/check", Some(&other), &body).0, 200);
}

#[test]
fn http_metrics_are_prometheus_text_with_routes_latency_appends_head_and_lag() {
    let s = start("metrics");
    assert_eq!(
        s.get(&format!("/v1/contracts/{CONTRACT_A}/state"), Some(&s.agent))
            .0,
        200
    );
    let (st, _) = s.post("/v1/commands", Some(&s.agent), &agent_command(CONTRACT_B));
    assert_eq!(st, 201);
    let (st, head, text) = exchange(&s.addr, "GET", "/metrics", None, None, &[]);
    assert_eq!(st, 200);
    assert!(
        header(&head, "content-type").is_some_and(|c| c.starts_with("text/plain")),
        "{head}"
    );
    let text = text.as_str().expect("text").to_owned();
    for needle in [
        "navigo_http_requests_total{method=\"GET\",route=\"/v1/contracts/{id}/state\",status=\"200\"} 1",
        "navigo_http_requests_total{method=\"POST\",route=\"/v1/commands\",status=\"201\"} 1",
        "navigo_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/contracts/{id}/state\",le=\"0.001\"}",
        "navigo_ledger_accepted_commands_total 1",
        &format!("navigo_ledger_head_position {}", s.head()),
        "navigo_projection_lag_events",
        "navigo_ledger_appended_events_total",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
}

#[test]
fn http_slow_request_is_408_and_every_error_body_is_json() {
    let s = start("errors");
    // 413 and 415 and an unknown route: JSON bodies.
    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let (st, v) = s.post("/v1/commands", Some(&s.agent), &huge);
    assert_eq!((st, v["error"].as_str()), (413, Some("too_large")), "{v}");
    let text = "type=Suspend";
    let req = format!(
        "POST /v1/commands HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
        s.agent,
        text.len()
    );
    let (st, _, v) = send_raw(&s.addr, None, &req);
    assert_eq!(
        (st, v["error"].as_str()),
        (415, Some("unsupported_media_type")),
        "{v}"
    );
    let (st, v) = s.get("/v1/nowhere", Some(&s.agent));
    assert_eq!((st, v["error"].as_str()), (404, Some("not_found")), "{v}");
    let (st, v) = request(&s.addr, "PUT", "/v1/commands", Some(&s.agent), None, &[]);
    assert_eq!(
        (st, v["error"].as_str()),
        (405, Some("method_not_allowed")),
        "{v}"
    );
    // A request longer than the bound is 408 (a served ledger with a 200 ms
    // bound, and a feed long-poll of 2 s).
    let data = s.data.clone();
    drop(s);
    let (mut child, addr) = serve_with(&data, NOW, &["--request-timeout-ms", "200"]);
    let auditor = token(&data, "auditor-2", "auditor");
    let (st, v) = request(
        &addr,
        "GET",
        "/v1/feed?from=100000&wait_ms=2000",
        Some(&auditor),
        None,
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((st, v["error"].as_str()), (408, Some("timeout")), "{v}");
}

#[test]
fn http_parallel_verifies_answer_and_reads_go_on_meanwhile() {
    let s = start("verify");
    let verifies: Vec<_> = (0..4)
        .map(|_| {
            let (addr, tok) = (s.addr.clone(), s.auditor.clone());
            std::thread::spawn(move || request(&addr, "GET", "/v1/verify", Some(&tok), None, &[]))
        })
        .collect();
    let (st, _) = s.get(&format!("/v1/contracts/{CONTRACT_A}/state"), Some(&s.agent));
    assert_eq!(st, 200);
    for v in verifies {
        let (st, v) = v.join().expect("verify");
        assert_eq!((st, v["ok"].as_bool()), (200, Some(true)), "{v}");
    }
}

/// The service of [`start`] restarted with a checkpoint key (created beside
/// the ledger, outside its directory): the key file's path.
fn with_checkpoint_key(s: &mut Server) -> std::path::PathBuf {
    let key = s.data.with_extension("checkpoint-key");
    let _ = std::fs::remove_file(&key);
    let (code, out) = cli(
        &s.data,
        &["key", "create", "--key-file", key.to_str().expect("path")],
        "",
    );
    assert_eq!(code, 0, "{out}");
    let _ = s.child.kill();
    let _ = s.child.wait();
    let (child, addr) = serve_with(
        &s.data,
        NOW,
        &["--checkpoint-key", key.to_str().expect("path")],
    );
    s.child = child;
    s.addr = addr;
    key
}

#[test]
fn http_checkpoints_and_proofs_every_role_cell_by_cell_over_http() {
    // Given a served ledger with a checkpoint key, and a checkpoint the
    // operator (system) issued
    let mut s = start("proofs-matrix");
    let key = with_checkpoint_key(&mut s);
    let (st, v) = s.post("/v1/checkpoints", Some(&s.system), "");
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["size"].as_u64(), Some(s.head()), "{v}");
    let (code, public) = cli(
        &s.data,
        &["key", "public", "--key-file", key.to_str().expect("path")],
        "",
    );
    assert_eq!(code, 0, "{public}");
    let against = json!({"checkpoint": v["signed_note"], "public_key": public.trim()}).to_string();
    let customer = s.customer();
    let roles = s.callers(&customer);
    let stream = format!("/v1/proofs/streams/{CONTRACT_A}");
    // (method, path, body, the roles answered, their status)
    let cells: [(&str, &str, &str, &[&str], u16); 7] = [
        ("POST", "/v1/checkpoints", "", &["system"], 201),
        ("GET", "/v1/checkpoints", "", &["auditor", "system"], 200),
        (
            "GET",
            "/v1/checkpoints/latest",
            "",
            &["auditor", "system"],
            200,
        ),
        ("GET", "/v1/proofs/inclusion/1", "", &["auditor"], 200),
        ("GET", "/v1/proofs/consistency/1/2", "", &["auditor"], 200),
        ("GET", &stream, "", &["auditor"], 200),
        ("POST", "/v1/proofs/against", &against, &["auditor"], 200),
    ];
    let mut checked = 0;
    for (method, path, body, allowed, ok) in cells {
        for (role, token) in &roles {
            let body = (method == "POST").then_some(body);
            let (st, v) = request(&s.addr, method, path, *token, body, &[]);
            // Then each role gets its cell: the answer, 403, or 401 without
            // credentials
            let expected = if allowed.contains(role) {
                ok
            } else if token.is_none() {
                401
            } else {
                403
            };
            assert_eq!(st, expected, "{role} {method} {path}: {v}");
            checked += 1;
        }
    }
    assert_eq!(checked, 7 * 7);
}

#[test]
fn http_proofs_answer_the_views_of_the_command_line_and_against_refuses_a_forged_checkpoint() {
    // Given a served ledger with a checkpoint key and a kept checkpoint
    let mut s = start("proofs-views");
    let key = with_checkpoint_key(&mut s);
    let (st, checkpoint) = s.post("/v1/checkpoints", Some(&s.system), "");
    assert_eq!(st, 201, "{checkpoint}");
    let size = checkpoint["size"].as_u64().expect("size");
    // Then the list holds it (and the one signed at start, when the log had
    // moved since the last), the newest last
    let (st, list) = s.get("/v1/checkpoints", Some(&s.auditor));
    assert_eq!(st, 200, "{list}");
    let kept = list["checkpoints"].as_array().expect("list");
    assert_eq!(kept.last(), Some(&checkpoint), "{list}");
    let (_, latest) = s.get("/v1/checkpoints/latest", Some(&s.auditor));
    assert_eq!(latest, checkpoint);
    // And an inclusion proof is at the checkpoint's root
    let (st, v) = s.get(
        &format!("/v1/proofs/inclusion/{size}?size={size}"),
        Some(&s.auditor),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["root"], checkpoint["root"]);
    // And a contract's stream proof names the checkpoint
    let (st, v) = s.get(
        &format!("/v1/proofs/streams/{CONTRACT_A}"),
        Some(&s.auditor),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["checkpoint"], checkpoint);
    assert_eq!(v["stream"], format!("contract:{CONTRACT_A}"));
    // And a position beyond the log, or sizes in the wrong order, are 422
    // naming the parameter; a malformed one is 400
    let (st, v) = s.get(
        &format!("/v1/proofs/inclusion/{}", size + 1),
        Some(&s.auditor),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("position")), "{v}");
    let (st, v) = s.get("/v1/proofs/consistency/2/1", Some(&s.auditor));
    assert_eq!((st, v["field"].as_str()), (422, Some("new")), "{v}");
    let (st, v) = s.get("/v1/proofs/inclusion/x", Some(&s.auditor));
    assert_eq!((st, v["field"].as_str()), (400, Some("position")), "{v}");
    // And a checkpoint claiming more records than the log holds is refused by
    // its signature, naming the field
    let (_, public) = cli(
        &s.data,
        &["key", "public", "--key-file", key.to_str().expect("path")],
        "",
    );
    let note = checkpoint["signed_note"].as_str().expect("note");
    let forged = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
    let body = json!({"checkpoint": forged, "public_key": public.trim()}).to_string();
    let (st, v) = s.post("/v1/proofs/against", Some(&s.auditor), &body);
    assert_eq!((st, v["field"].as_str()), (422, Some("checkpoint")), "{v}");
    // And the genuine one holds
    let body = json!({"checkpoint": note, "public_key": public.trim()}).to_string();
    let (st, v) = s.post("/v1/proofs/against", Some(&s.auditor), &body);
    assert_eq!((st, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

#[test]
fn http_checkpoint_without_a_key_is_409_saying_how_to_start_the_service() {
    let s = start("proofs-no-key");
    let (st, v) = s.post("/v1/checkpoints", Some(&s.system), "");
    assert_eq!(st, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("--checkpoint-key")),
        "{v}"
    );
    let (st, _) = s.get("/v1/checkpoints/latest", Some(&s.auditor));
    assert_eq!(st, 404);
}

#[test]
fn http_serve_with_a_checkpoint_key_signs_one_at_start_and_keeps_it() {
    // Given a served ledger restarted with a checkpoint key
    let mut s = start("proofs-periodic");
    with_checkpoint_key(&mut s);
    // When the service has run its first periodic tick (at start)
    let mut kept = Value::Null;
    for _ in 0..100 {
        let (st, v) = s.get("/v1/checkpoints", Some(&s.system));
        assert_eq!(st, 200, "{v}");
        if v["checkpoints"].as_array().is_some_and(|c| !c.is_empty()) {
            kept = v;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Then one checkpoint of the whole log is kept, by the key's name
    let c = &kept["checkpoints"][0];
    assert_eq!(c["size"].as_u64(), Some(s.head()), "{kept}");
    assert_eq!(c["origin"], "navigo-ledger");
}
