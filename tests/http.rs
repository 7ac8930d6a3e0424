//! The HTTP service over real HTTP on loopback: the authorization matrix, customer
//! isolation (`ACC-LINK`), `PARTNER-CHECK`, idempotent retries, concurrent
//! commands on one contract, the feed across reconnects, bad input and the
//! OpenAPI document's drift. Each test serves its own ledger (the year scenario)
//! with a fixed clock.

mod http_support;

use std::path::{Path, PathBuf};

use http_support::*;
use serde_json::{json, Value};
#[test]
fn http_authorization_matrix_every_role_against_every_endpoint() {
    let s = start("matrix");
    let customer = s.customer();
    let roles = s.callers(&customer);
    let clock = json!({"request_at": NOW, "command": {"type": "AdvanceClock", "to": "2027-10-01"}})
        .to_string();
    let partner = json!({"client_number": "NV00000001", "birth_date": "1985-03-14"}).to_string();
    let agent_cmd = agent_command(CONTRACT_A);
    let state = format!("/v1/contracts/{CONTRACT_A}/state");
    let balance = format!("/v1/contracts/{CONTRACT_A}/balance");
    let calendar = format!("/v1/contracts/{CONTRACT_A}/calendar");
    let bans = format!("/v1/persons/{PERSON_A}/bans");
    let refunds = format!("/v1/persons/{PERSON_A}/refunds");
    let subject_export = format!("/v1/persons/{PERSON_A}/subject-export");
    let renew = format!("/v1/me/contracts/{CONTRACT_A}/online-renewal");
    let audit = format!("/v1/audit/{CONTRACT_A}");
    let diff = format!("/v1/diff/{CONTRACT_A}?from_at=2026-10-15&to_at=2026-12-15");
    let what_if = format!("/v1/what-if/{CONTRACT_B}");
    let what_if_body = what_if_body(CONTRACT_B);
    let attestation = format!("/v1/me/contracts/{CONTRACT_A}/attestation");
    // (method, path, body, roles allowed)
    let endpoints: Vec<(&str, &str, Option<&str>, &[&str])> = vec![
        ("POST", "/v1/commands", Some(&agent_cmd), &["agent"]),
        ("POST", "/v1/commands", Some(&clock), &["system"]),
        ("GET", &state, None, &["agent", "auditor", "customer"]),
        ("GET", &balance, None, &["agent", "auditor", "customer"]),
        ("GET", &calendar, None, &["agent", "auditor", "customer"]),
        ("GET", &bans, None, &["agent", "auditor"]),
        ("GET", &refunds, None, &["agent", "auditor"]),
        ("GET", &subject_export, None, &["agent"]),
        ("GET", "/v1/me/subject-export", None, &["customer"]),
        (
            "GET",
            "/v1/feed?limit=5",
            None,
            &["agent", "auditor", "system"],
        ),
        ("GET", "/v1/verify", None, &["auditor"]),
        ("GET", &audit, None, &["auditor"]),
        ("GET", &diff, None, &["auditor"]),
        ("POST", &what_if, Some(&what_if_body), &["agent", "auditor"]),
        ("POST", "/v1/partner/check", Some(&partner), &["partner"]),
        ("GET", "/v1/me/contracts", None, &["customer"]),
        ("GET", &renew, None, &["customer"]),
        ("GET", &attestation, None, &["customer"]),
    ];
    let mut checked = 0;
    for (method, path, body, allowed) in &endpoints {
        for (role, tok) in &roles {
            let (status, v) = request(&s.addr, method, path, *tok, *body, &[]);
            let expected_denial = if tok.is_none() { 401 } else { 403 };
            if allowed.contains(role) {
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{role} {method} {path}: {status} {v}"
                );
            } else {
                assert_eq!(status, expected_denial, "{role} {method} {path}: {v}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, endpoints.len() * roles.len());
    // Health, readiness, metrics and the document need no credentials.
    for p in ["/health", "/ready", "/openapi.json", "/metrics"] {
        assert_eq!(s.get(p, None).0, 200, "{p}");
    }
    // An unknown token is 401, like none.
    assert_eq!(s.get(&state, Some("nvg_00")).0, 401);
    // The logs name the role and the route, never a secret nor a person.
    let log = std::fs::read_to_string(s.data.with_extension("log")).expect("log");
    assert!(
        log.contains("role=\"auditor\"") && log.contains("latency_us="),
        "{log}"
    );
    for secret in [&s.agent, &s.auditor, &s.system, &s.partner, &customer] {
        assert!(!log.contains(secret.as_str()));
    }
    for personal in [
        CONTRACT_A,
        PERSON_A,
        "NV00000001",
        "1985-03-14",
        ALICE_PASSWORD,
    ] {
        assert!(!log.contains(personal), "{personal} in the log");
    }
}

#[test]
fn acc_link_acc_minor_renew_customer_cannot_read_another_customers_contract_even_by_guessing_ids() {
    let s = start("isolation");
    let alice = s.customer();
    let (status, v) = s.get(&format!("/v1/contracts/{CONTRACT_A}/state"), Some(&alice));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["contract"], CONTRACT_A);
    let (status, v) = s.get("/v1/me/contracts", Some(&alice));
    assert_eq!(status, 200);
    assert_eq!(v["contracts"], json!([CONTRACT_A]));
    // Bob's contract and a made-up id answer the same 404: existence is not revealed.
    let (bob, _) = s.get(&format!("/v1/contracts/{CONTRACT_B}/balance"), Some(&alice));
    let (guess, _) = s.get(
        "/v1/contracts/0196a000-0000-7000-8000-0000000000ff/state",
        Some(&alice),
    );
    assert_eq!((bob, guess), (404, 404));
    // ACC-MINOR-RENEW: the adult holder may renew online; another customer's
    // contract is not found. (An under-16 holder cannot be subscribed, SUB-AGE,
    // so the refused side is proved in core's account tests.)
    let (st, v) = s.get(
        &format!("/v1/me/contracts/{CONTRACT_A}/online-renewal"),
        Some(&alice),
    );
    assert_eq!((st, v), (200, json!({"online_renewal": true})));
    let (st, _) = s.get(
        &format!("/v1/me/contracts/{CONTRACT_B}/online-renewal"),
        Some(&alice),
    );
    assert_eq!(st, 404);
    // A wrong password opens no session.
    let (status, _) = s.post(
        "/v1/sessions",
        None,
        &json!({"login": "alice", "password": "Wrong2027ok"}).to_string(),
    );
    assert_eq!(status, 401);
}

#[test]
fn acc_password_and_acc_link_apply_to_accounts_created_over_http_while_served() {
    let s = start("accounts-http");
    let create = |login: &str, password: &str, client: &str, birth: &str| {
        let body = json!({"login": login, "password": password, "client_number": client,
                          "birth_date": birth});
        s.post("/v1/accounts", None, &body.to_string())
    };
    let before = s.head();
    // ACC-PASSWORD: too short, no digit...
    let (st, v) = create("bob", "short1A", "NV00000001", "1985-03-14");
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["rule"], "ACC-PASSWORD", "{v}");
    // ACC-LINK: a wrong birth date and an unknown client number get the same
    // answer, so that neither can be probed.
    let (st, wrong_birth) = create("bob", "Abcdefg1", "NV00000001", "1985-03-15");
    assert_eq!(st, 422, "{wrong_birth}");
    assert_eq!(wrong_birth["rule"], "ACC-LINK", "{wrong_birth}");
    let (st, unknown) = create("bob", "Abcdefg1", "NV99999999", "1985-03-14");
    assert_eq!(st, 422, "{unknown}");
    assert_eq!(unknown, wrong_birth);
    // Malformed input names the field.
    let (st, v) = s.post(
        "/v1/accounts",
        None,
        &json!({"login": "bob", "password": "Abcdefg1", "client_number": "NV00000001",
                "birth_date": "1985-02-30"})
        .to_string(),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("birth_date")), "{v}");
    let (st, v) = s.post("/v1/accounts", None, r#"{"login": "bob", "admin": true}"#);
    assert_eq!((st, v["field"].as_str()), (400, Some("admin")), "{v}");
    // ACC-LINK: one account per customer; alice has hers, a second one for
    // her is refused even with both fields right.
    let (st, v) = create("alice-again", "Abcdefg1", "NV00000001", "1985-03-14");
    assert_eq!((st, v["rule"].as_str()), (422, Some("ACC-LINK")), "{v}");
    // Both match for bob: created, and he can open a session at once and see
    // his own contracts, the service still running.
    let (st, v) = create("bob", "Abcdefg1", "NV00000002", "1979-11-02");
    assert_eq!(st, 201, "{v}");
    let (st, v) = s.post(
        "/v1/sessions",
        None,
        &json!({"login": "bob", "password": "Abcdefg1"}).to_string(),
    );
    assert_eq!(st, 200, "{v}");
    let tok = v["token"].as_str().expect("token").to_owned();
    let (st, v) = s.get("/v1/me/contracts", Some(&tok));
    assert_eq!(st, 200, "{v}");
    assert!(
        v["contracts"]
            .as_array()
            .is_some_and(|c| c.iter().any(|id| id == CONTRACT_B)),
        "{v}"
    );
    // A taken login is a conflict; nothing reached the ledger; no secret logged.
    let (st, v) = create("bob", "Abcdefg2", "NV00000001", "1985-03-14");
    assert_eq!(st, 409, "{v}");
    assert_eq!(s.head(), before);
    let log = std::fs::read_to_string(s.data.with_extension("log")).expect("log");
    assert!(
        !log.contains("Abcdefg1") && !log.contains("NV00000001"),
        "{log}"
    );
}

#[test]
fn acc_link_and_sessions_refuse_repeated_failed_attempts_with_429() {
    let s = start("attempts");
    let before = s.head();
    // Given five wrong birth dates for one client number
    for day in 1..=5 {
        let body = json!({"login": "eve", "password": "Abcdefg1", "client_number": "NV00000001",
                          "birth_date": format!("1985-04-{day:02}")});
        let (st, v) = s.post("/v1/accounts", None, &body.to_string());
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["rule"], "ACC-LINK", "{v}");
    }
    // When the right one is tried next, then it is refused without being judged
    let right = json!({"login": "eve", "password": "Abcdefg1", "client_number": "NV00000001",
                       "birth_date": "1985-03-14"});
    let (st, v) = s.post("/v1/accounts", None, &right.to_string());
    assert_eq!(st, 429, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("try again from")),
        "{v}"
    );
    // And five wrong passwords for a login lock its sessions the same way
    for _ in 0..5 {
        let (st, _) = s.post(
            "/v1/sessions",
            None,
            &json!({"login": "alice", "password": "Wrong2027ok"}).to_string(),
        );
        assert_eq!(st, 401);
    }
    let (st, v) = s.post(
        "/v1/sessions",
        None,
        &json!({"login": "alice", "password": ALICE_PASSWORD}).to_string(),
    );
    assert_eq!(st, 429, "{v}");
    assert_eq!(s.head(), before);
}

#[test]
fn acc_password_and_acc_link_refuse_account_creation() {
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("http")
        .join(format!("accounts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(cli(&data, &["init"], "").0, 0);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    cli(&data, &["apply", scenario.to_str().expect("path")], "");
    let args = [
        "account",
        "create",
        "--login",
        "a",
        "--client-number",
        "NV00000001",
        "--birth-date",
        "1985-03-14",
    ];
    let (code, out) = cli(&data, &args, "short1A\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ACC-PASSWORD"), "{out}");
    let wrong = [
        "account",
        "create",
        "--login",
        "a",
        "--client-number",
        "NV00000001",
        "--birth-date",
        "1985-03-15",
    ];
    let (code, out) = cli(&data, &wrong, "Abcdefg1\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ACC-LINK"), "{out}");
    let (code, out) = cli(&data, &args, "Abcdefg1\n");
    assert_eq!(code, 0, "{out}");
    // The password is stored hashed, never in clear.
    let auth = std::fs::read_to_string(data.join("auth.json")).expect("auth file");
    assert!(!auth.contains("Abcdefg1") && auth.contains("$argon2id$"));
}

#[test]
fn partner_check_answer_carries_no_personal_data() {
    let s = start("partner");
    let ask = |body: Value| s.post("/v1/partner/check", Some(&s.partner), &body.to_string());
    let (status, v) = ask(json!({"client_number": "NV00000001", "birth_date": "1985-03-14"}));
    assert_eq!(status, 200, "{v}");
    let obj = v.as_object().expect("object");
    assert_eq!(obj.keys().collect::<Vec<_>>(), vec!["code"]);
    let text = v.to_string();
    for personal in ["Alice", "Durand", "1985", "NV0", "990", CONTRACT_A] {
        assert!(!text.contains(personal), "{text}");
    }
    let (_, wrong) = ask(json!({"client_number": "NV00000001", "birth_date": "1985-03-15"}));
    assert_eq!(wrong, json!({"code": "02"}));
    // PARTNER-CHECK by pass number (a contract's id) answers as by client number
    // for the holder; an unknown pass matches nobody.
    let (_, by_client) = ask(json!({"client_number": "NV00000001", "birth_date": "1985-03-14"}));
    let (_, by_pass) = ask(json!({"pass_number": CONTRACT_A, "birth_date": "1985-03-14"}));
    assert_eq!(by_pass, by_client);
    assert_ne!(by_pass, json!({"code": "02"}));
    let (_, unknown) = ask(
        json!({"pass_number": "0196a000-0000-7000-8000-00000000ffff",
                                   "birth_date": "1985-03-14"}),
    );
    assert_eq!(unknown, json!({"code": "02"}));
    // A pass number that is not one (the document says a UUID) is malformed,
    // named as such.
    let (status, v) = ask(json!({"pass_number": "not-a-pass", "birth_date": "1985-03-14"}));
    assert_eq!(
        (status, v["field"].as_str()),
        (400, Some("pass_number")),
        "{v}"
    );
    let (status, v) = ask(json!({"client_number": "NV00000001"}));
    assert_eq!((status, v["field"].as_str()), (400, Some("birth_date")));
}

#[test]
fn http_idempotency_key_retry_returns_the_first_answer_and_appends_nothing() {
    let s = start("idem");
    let body = register("0196a000-0000-7000-8000-0000000000c1", "NV00000003");
    let h = [("Idempotency-Key", "req-1")];
    let (s1, v1) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&s.agent),
        Some(&body),
        &h,
    );
    assert_eq!(s1, 201, "{v1}");
    let head = s.head();
    let (s2, v2) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&s.agent),
        Some(&body),
        &h,
    );
    assert_eq!((s2, &v2), (s1, &v1));
    assert_eq!(s.head(), head);
    // The same key with another body is a conflict, nothing appended.
    let other = register("0196a000-0000-7000-8000-0000000000c2", "NV00000004");
    let (s3, _) = request(
        &s.addr,
        "POST",
        "/v1/commands",
        Some(&s.agent),
        Some(&other),
        &h,
    );
    assert_eq!(s3, 409);
    assert_eq!(s.head(), head);
}

#[test]
fn http_body_idempotency_key_with_another_command_is_409_naming_the_key_across_a_restart() {
    let mut s = start("idem-body");
    let keyed = |person: &str, client: &str, key: &str| {
        let mut v: Value = serde_json::from_str(&register(person, client)).expect("json");
        v["idempotency_key"] = json!(key);
        v.to_string()
    };
    let first = keyed(
        "0196a000-0000-7000-8000-0000000000c1",
        "NV00000003",
        "desk-7",
    );
    let header = [("Idempotency-Key", "hdr-7")];
    let post = |addr: &str, body: &str, headers: &[(&str, &str)], agent: &str| {
        request(
            addr,
            "POST",
            "/v1/commands",
            Some(agent),
            Some(body),
            headers,
        )
    };
    let (s1, v1) = post(&s.addr, &first, &[], &s.agent);
    assert_eq!(s1, 201, "{v1}");
    let plain = register("0196a000-0000-7000-8000-0000000000c3", "NV00000005");
    let (s1h, v1h) = post(&s.addr, &plain, &header, &s.agent);
    assert_eq!(s1h, 201, "{v1h}");
    // Given the service restarted (its in-memory answers are gone)
    s.restart_at(NOW);
    let head = s.head();
    // When the same body key comes with another command
    let other = keyed(
        "0196a000-0000-7000-8000-0000000000c2",
        "NV00000004",
        "desk-7",
    );
    let (st, v) = post(&s.addr, &other, &[], &s.agent);
    // Then it is a conflict naming the key, nothing appended
    assert_eq!(st, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"desk-7\"")),
        "{v}"
    );
    assert_eq!(s.head(), head);
    // And the header key too, now answered by the ledger's durable keys
    let (st, v) = post(&s.addr, &other, &header, &s.agent);
    assert_eq!(st, 409, "{v}");
    assert_eq!(s.head(), head);
    // And the first command again is answered with its events, appending nothing
    let (st, v) = post(&s.addr, &first, &[], &s.agent);
    assert_eq!((st, &v["events"]), (201, &v1["events"]), "{v}");
    assert_eq!(s.head(), head);
    // And the longest header key the service takes (196 characters) still fits
    // the ledger's keys with their credential scope and fingerprint
    let longest = "h".repeat(196);
    let fresh = register("0196a000-0000-7000-8000-0000000000c4", "NV00000006");
    let (st, v) = post(
        &s.addr,
        &fresh,
        &[("Idempotency-Key", longest.as_str())],
        &s.agent,
    );
    assert_eq!(st, 201, "{v}");
}

#[test]
fn http_concurrent_commands_on_one_contract_lose_no_update() {
    let s = start("concurrent");
    let before = s.head();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let addr = s.addr.clone();
            let tok = s.agent.clone();
            std::thread::spawn(move || {
                request(
                    &addr,
                    "POST",
                    "/v1/commands",
                    Some(&tok),
                    Some(&agent_command(CONTRACT_B)),
                    &[],
                )
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let accepted = answers.iter().filter(|(st, _)| *st == 201).count();
    assert_eq!(accepted, 1, "{answers:?}");
    for (st, v) in answers.iter().filter(|(st, _)| *st != 201) {
        assert!(*st == 422 || *st == 409, "{st} {v}");
        assert!(v["rule"].is_string() || *st == 409, "{v}");
    }
    let added: usize = answers
        .iter()
        .filter(|(st, _)| *st == 201)
        .map(|(_, v)| v["events"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(s.head(), before + added as u64);
}

#[test]
fn http_if_match_makes_concurrent_commands_on_one_contract_a_conflict_never_a_lost_update() {
    // Given six agents who read contract B's state (its ETag)
    let s = start("if-match");
    let state = format!("/v1/contracts/{CONTRACT_B}/state");
    let (st, head, v) = exchange(&s.addr, "GET", &state, Some(&s.agent), None, &[]);
    assert_eq!(st, 200, "{v}");
    let etag = header(&head, "etag").expect("the state carries an ETag");
    let read_version: u64 = etag.trim_matches('"').parse().expect("ETag is a version");
    assert!(read_version > 0, "{etag}");
    let before = s.head();
    // When each submits a command decided on that reading, at the same time
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let addr = s.addr.clone();
            let tok = s.agent.clone();
            let etag = etag.clone();
            std::thread::spawn(move || {
                request(
                    &addr,
                    "POST",
                    "/v1/commands",
                    Some(&tok),
                    Some(&agent_command(CONTRACT_B)),
                    &[("If-Match", &etag)],
                )
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    // Then exactly one is accepted; every other one is a conflict naming the
    // stream and both versions (not judged against a state its sender never saw)
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(st, _)| *st == 201)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    let added = accepted[0]["events"].as_array().map_or(0, Vec::len) as u64;
    assert!(added > 0, "{answers:?}");
    for (st, v) in answers.iter().filter(|(st, _)| *st != 201) {
        assert_eq!(*st, 409, "{v}");
        assert_eq!(v["error"], "conflict", "{v}");
        let m = v["message"].as_str().expect("message");
        assert!(m.contains(&format!("contract:{CONTRACT_B}")), "{m}");
        assert!(
            m.contains(&format!("expected version {read_version}")),
            "{m}"
        );
        assert!(
            m.contains(&format!("at version {}", read_version + added)),
            "{m}"
        );
    }
    // And nothing but the winner's events was appended, and the new ETag moved
    assert_eq!(s.head(), before + added);
    let (_, head, _) = exchange(&s.addr, "GET", &state, Some(&s.agent), None, &[]);
    assert_eq!(
        header(&head, "etag"),
        Some(format!("\"{}\"", read_version + added))
    );
    // A late retry on the stale reading is still a conflict; on the fresh one
    // the command is judged (already suspended: 422 with its rule), not conflicted
    let stale = s.command_if_match(&agent_command(CONTRACT_B), &etag);
    assert_eq!(stale.0, 409, "{:?}", stale.1);
    let fresh_tag = format!("\"{}\"", read_version + added);
    let fresh = s.command_if_match(&agent_command(CONTRACT_B), &fresh_tag);
    assert_eq!(fresh.0, 422, "{:?}", fresh.1);
    assert!(fresh.1["rule"].is_string(), "{:?}", fresh.1);
    // The same expectation in the body: expected_version in the command
    let mut cmd: Value = serde_json::from_str(&agent_command(CONTRACT_B)).expect("json");
    cmd["expected_version"] = json!(read_version);
    let (st, v) = s.post("/v1/commands", Some(&s.agent), &cmd.to_string());
    assert_eq!(st, 409, "{v}");
    assert_eq!(s.head(), before + added);
}

#[test]
fn http_if_match_malformed_is_400_naming_it_and_on_a_batch_a_conflict() {
    let s = start("if-match-bad");
    let before = s.head();
    for tag in ["*", "12", "\"twelve\""] {
        let (st, v) = s.command_if_match(&agent_command(CONTRACT_B), tag);
        assert_eq!(st, 400, "{tag}: {v}");
        assert_eq!(v["field"], "If-Match", "{v}");
    }
    // A well-formed If-Match on a batch is a precondition no batch can meet (it
    // names one stream's version): a conflict naming it, not a malformed request
    // (the document allows both, and a request it allows is never a 400).
    let batch = format!("[{}]", agent_command(CONTRACT_B));
    let (st, v) = s.command_if_match(&batch, "\"3\"");
    assert_eq!(st, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("If-Match")),
        "{v}"
    );
    assert_eq!(s.head(), before);
}

#[test]
fn http_feed_delivers_every_event_exactly_once_across_reconnects() {
    let s = start("feed");
    let head = s.head();
    let mut seen = Vec::new();
    let mut from = 1;
    loop {
        let (status, v) = s.get(&format!("/v1/feed?from={from}&limit=7"), Some(&s.system));
        assert_eq!(status, 200, "{v}");
        let events = v["events"].as_array().expect("events");
        if events.is_empty() {
            break;
        }
        seen.extend(
            events
                .iter()
                .map(|e| e["position"].as_u64().expect("position")),
        );
        from = v["next_from"].as_u64().expect("next_from");
    }
    assert_eq!(seen, (1..=head).collect::<Vec<_>>());
    // A follower long-polling at the end gets the next append, once.
    let addr = s.addr.clone();
    let tok = s.system.clone();
    let poll = std::thread::spawn(move || {
        request(
            &addr,
            "GET",
            &format!("/v1/feed?from={from}&wait_ms=5000"),
            Some(&tok),
            None,
            &[],
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (st, _) = s.post(
        "/v1/commands",
        Some(&s.agent),
        &register("0196a000-0000-7000-8000-0000000000c1", "NV00000003"),
    );
    assert_eq!(st, 201);
    let (_, v) = poll.join().expect("poll");
    let positions: Vec<u64> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["position"].as_u64().expect("p"))
        .collect();
    assert_eq!(positions, vec![head + 1]);
    let (_, v) = s.get(&format!("/v1/feed?from={}", head + 2), Some(&s.system));
    assert_eq!(v["events"], json!([]));
}

#[test]
fn http_bad_input_is_400_naming_the_field_and_appends_nothing() {
    let s = start("bad");
    let head = s.head();
    let post = |b: &str| s.post("/v1/commands", Some(&s.agent), b);
    let (st, v) = post("{not json");
    assert_eq!(st, 400, "{v}");
    let mut unknown: Value = serde_json::from_str(&register(
        "0196a000-0000-7000-8000-0000000000c1",
        "NV00000003",
    ))
    .expect("json");
    unknown["command"]["nickname"] = json!("x");
    let (st, v) = post(&unknown.to_string());
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("command.nickname")),
        "{v}"
    );
    let mut impossible: Value = serde_json::from_str(&register(
        "0196a000-0000-7000-8000-0000000000c1",
        "NV00000003",
    ))
    .expect("json");
    impossible["command"]["birth_date"] = json!("1990-02-30");
    let (st, v) = post(&impossible.to_string());
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("command.birth_date")),
        "{v}"
    );
    let mut wrong_type: Value = serde_json::from_str(&register(
        "0196a000-0000-7000-8000-0000000000c1",
        "NV00000003",
    ))
    .expect("json");
    wrong_type["command"]["first_name"] = json!(42);
    let (st, v) = post(&wrong_type.to_string());
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("command.first_name")),
        "{v}"
    );
    let batch = format!("[{}]", vec![agent_command(CONTRACT_A); 101].join(","));
    let (st, v) = post(&batch);
    assert_eq!(st, 400, "{v}");
    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let (st, _) = post(&huge);
    assert_eq!(st, 413);
    let (st, v) = s.get(
        &format!("/v1/contracts/{CONTRACT_A}/state?at=2027-13-01"),
        Some(&s.agent),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("at")));
    assert_eq!(s.head(), head);
}

#[test]
fn http_business_refusal_is_422_with_rule_and_article() {
    let s = start("refusal");
    // Suspending a contract that is already suspended is a business refusal.
    let (first, v) = s.post("/v1/commands", Some(&s.agent), &agent_command(CONTRACT_B));
    assert_eq!(first, 201, "{v}");
    let head = s.head();
    let (st, v) = s.post("/v1/commands", Some(&s.agent), &agent_command(CONTRACT_B));
    assert_eq!(st, 422, "{v}");
    assert!(
        v["rule"].as_str().is_some_and(|r| r.starts_with("SUSP-")),
        "{v}"
    );
    assert!(
        v["article"].as_str().is_some_and(|a| a.contains('§')),
        "{v}"
    );
    assert_eq!(s.head(), head);
}

#[test]
fn http_openapi_document_is_committed_and_does_not_drift() {
    let s = start("openapi");
    let (st, served) = s.get("/openapi.json", None);
    assert_eq!(st, 200);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).expect("json") + "\n";
    if std::env::var_os("NAVIGO_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &pretty).expect("write");
    }
    let committed =
        std::fs::read_to_string(&path).expect("docs/openapi.json (NAVIGO_BLESS=1 regenerates it)");
    assert_eq!(
        committed, pretty,
        "docs/openapi.json drifted: NAVIGO_BLESS=1 cargo test --test http"
    );
    let _ = &s.data;
}

/// Rebuilds a stored envelope from its feed JSON, as a projection service would.
fn envelope_of(e: &Value) -> navigo_events_schema::Envelope {
    use navigo_events_schema::upcast::decode_event;
    fn field<T: serde::de::DeserializeOwned>(e: &Value, k: &str) -> T {
        serde_json::from_value(e[k].clone()).unwrap_or_else(|err| panic!("{k}: {err} in {e}"))
    }
    fn opt<T: serde::de::DeserializeOwned>(e: &Value, k: &str) -> Option<T> {
        e.get(k).filter(|v| !v.is_null()).map(|_| field(e, k))
    }
    let version = e["schema_version"].as_u64().expect("schema_version") as u32;
    navigo_events_schema::Envelope {
        position: field(e, "position"),
        stream: field(e, "stream"),
        stream_seq: field(e, "stream_seq"),
        event_id: field(e, "event_id"),
        effective_date: field(e, "effective_date"),
        recorded_at: field(e, "recorded_at"),
        actor: field(e, "actor"),
        channel: opt(e, "channel"),
        idempotency_key: opt(e, "idempotency_key"),
        correlation_id: field(e, "correlation_id"),
        causation_id: opt(e, "causation_id"),
        stored_schema_version: opt(e, "stored_schema_version").unwrap_or(version),
        event: decode_event(
            e["type"].as_str().expect("type"),
            version,
            &e["data"].to_string(),
        )
        .expect("decodes"),
        prev_hash: field(e, "prev_hash"),
        hash: field(e, "hash"),
    }
}

#[test]
fn http_feed_follower_answers_current_state_like_the_ledger() {
    let s = start("follower");
    // Follow the whole feed in pages, as a projection service does.
    let mut events = Vec::new();
    let mut from = 1;
    loop {
        let (_, v) = s.get(&format!("/v1/feed?from={from}&limit=9"), Some(&s.auditor));
        let page = v["events"].as_array().expect("events").clone();
        if page.is_empty() {
            break;
        }
        events.extend(page.iter().map(envelope_of));
        from = v["next_from"].as_u64().expect("next_from");
    }
    for (contract, at) in [
        (CONTRACT_A, "2026-12-15"),
        (CONTRACT_B, "2027-10-15"),
        (CONTRACT_B, "2027-03-01"),
    ] {
        let q = navigo_projections::Query {
            at: at.parse().expect("date"),
            known_at: None,
        };
        let local = navigo_projections::state::contract_state(
            &navigo_projections::Folded::new(&events, &q),
            contract.parse().expect("uuid"),
        )
        .expect("state");
        let (st, served) = s.get(
            &format!("/v1/contracts/{contract}/state?at={at}"),
            Some(&s.agent),
        );
        assert_eq!(st, 200);
        let local = serde_json::to_value(&local).expect("json");
        // The local fold reads the log without the key store, so a mandate's
        // sealed account is unreadable there; the service opens it and shows
        // it masked. Everything else must be equal.
        let mut served = served;
        let debtor = "/payment/mandate/debtor";
        if local.pointer(debtor).and_then(|d| d.get("status")) == Some(&json!("unreadable")) {
            if let Some(d) = served.pointer_mut(debtor) {
                assert_eq!(d["status"], "account", "{d}");
                *d = json!({"status": "unreadable"});
            }
        }
        assert_eq!(local, served, "{contract} at {at}");
    }
}

#[test]
fn http_audit_diff_and_what_if_read_and_append_nothing() {
    let s = start("replay");
    let head = s.head();
    let (st, v) = s.get(&format!("/v1/audit/{CONTRACT_A}"), Some(&s.auditor));
    assert_eq!(st, 200, "{v}");
    assert!(!v["entries"].as_array().expect("entries").is_empty(), "{v}");
    let (st, v) = s.get(
        &format!("/v1/diff/{CONTRACT_A}?from_at=2026-10-15&to_at=2026-12-15"),
        Some(&s.auditor),
    );
    assert_eq!(st, 200, "{v}");
    assert!(v["changes"].is_array(), "{v}");
    let (st, v) = s.get(
        &format!("/v1/diff/{CONTRACT_A}?from_at=2026-13-15"),
        Some(&s.auditor),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("from_at")), "{v}");
    let (st, v) = s.post(
        &format!("/v1/what-if/{CONTRACT_B}"),
        Some(&s.agent),
        &what_if_body(CONTRACT_B),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["outcomes"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(s.head(), head);
}

/// A what-if body: hypothetical commands carry their whole envelope (actor and
/// instant), since nothing of them is recorded.
fn what_if_body(contract: &str) -> String {
    let mut cmd: Value = serde_json::from_str(&agent_command(contract)).expect("json");
    cmd["actor"] = json!({"role": "agent", "id": "agent-1"});
    json!({ "commands": [cmd] }).to_string()
}

#[test]
fn susp_anytime_http_state_as_of_a_date_holds_then_with_later_changes_scheduled_and_calendar_horizon_bounded(
) {
    let s = start("views");
    // Given the year scenario's suspension (registered 2026-11-10, effective
    // 2026-11-20) and resumption (registered 2026-12-10, effective 2027-01-01),
    // when the state is read over HTTP on 2026-11-15,
    let state = format!("/v1/contracts/{CONTRACT_A}/state");
    let (st, v) = s.get(&format!("{state}?at=2026-11-15"), Some(&s.agent));
    assert_eq!(st, 200, "{v}");
    // then it holds what holds on that date, and the suspension apart.
    assert_eq!(v["status"]["status"], "active", "{v}");
    let statuses = v["statuses"].as_array().expect("statuses");
    assert!(
        statuses
            .iter()
            .all(|x| x["from"].as_str() <= Some("2026-11-15")),
        "{v}"
    );
    assert_eq!(v["scheduled"]["statuses"][0]["status"], "suspended", "{v}");
    assert_eq!(v["scheduled"]["statuses"][0]["from"], "2026-11-20", "{v}");
    assert!(
        v.get("debit_day").is_none(),
        "one debit day, in payment: {v}"
    );
    // Read on 2026-12-15: suspended, the resumption scheduled.
    let (_, v) = s.get(&format!("{state}?at=2026-12-15"), Some(&s.agent));
    assert_eq!(v["status"]["status"], "suspended", "{v}");
    assert_eq!(v["scheduled"]["statuses"][0]["status"], "active", "{v}");
    assert_eq!(v["scheduled"]["statuses"][0]["from"], "2027-01-01", "{v}");

    // The calendar takes a horizon within the bound the CLI has,
    let calendar = format!("/v1/contracts/{CONTRACT_A}/calendar");
    let (st, v) = s.get(
        &format!("{calendar}?at=2026-10-15&horizon=120"),
        Some(&s.agent),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["horizon"], "2036-10", "{v}");
    let (st, v) = s.get(
        &format!("{calendar}?at=2026-10-15&horizon=3"),
        Some(&s.agent),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["horizon"], "2027-01", "{v}");
    // and refuses one beyond it with a 400 naming the field and the bound.
    let (st, v) = s.get(&format!("{calendar}?horizon=121"), Some(&s.agent));
    assert_eq!(st, 400, "{v}");
    let text = v.to_string();
    assert!(text.contains("horizon"), "{v}");
    assert!(
        text.contains("at most 120 months") && text.contains("CALENDAR_HORIZON_MONTHS_MAX"),
        "{v}"
    );
    let (st, v) = s.get(&format!("{calendar}?horizn=3"), Some(&s.agent));
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("horizn"), "{v}");
}

/// Concurrent registrations of one client number by distinct persons: the
/// pipelined path judges each against the not-yet-durable registrations
/// before it, so exactly one is accepted and the others are refused as
/// naming a client number already registered, never two appended.
#[test]
fn pipeline_concurrent_registrations_of_one_client_number_accept_exactly_one() {
    let s = start("pipeline-unique");
    let before = s.head();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let addr = s.addr.clone();
            let tok = s.agent.clone();
            std::thread::spawn(move || {
                let person = format!("0196c000-0000-7000-8000-{i:012x}");
                request(
                    &addr,
                    "POST",
                    "/v1/commands",
                    Some(&tok),
                    Some(&register(&person, "NV77777777")),
                    &[],
                )
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let accepted = answers.iter().filter(|(st, _)| *st == 201).count();
    assert_eq!(accepted, 1, "{answers:?}");
    for (st, v) in answers.iter().filter(|(st, _)| *st != 201) {
        assert_eq!(*st, 422, "{v}");
        assert_eq!(v["field"], "client_number", "{v}");
    }
    assert_eq!(s.head(), before + 1);
}
