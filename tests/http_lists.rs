//! The service keeps the materialized projections current and serves them: a
//! materialized view equals the view computed as of today; the lists of
//! projection services page with cursors; the feed is pushed as server-sent
//! events, resumable with `Last-Event-ID`. Each new route's role cells are
//! checked one by one, as `tests/http.rs` checks the others.

mod http_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use http_support::*;
use serde_json::{json, Value};

const CONTRACT_C: &str = "0196a000-0000-7000-8000-00000000000c";
const PERSON_B: &str = "0196a000-0000-7000-8000-0000000000b1";

/// A GET answered with its head: (status, head, body).
fn get_with_head(s: &Server, path: &str, token: &str) -> (u16, String, Value) {
    exchange(&s.addr, "GET", path, Some(token), None, &[])
}

/// The last event of the feed.
fn last_event(s: &Server) -> Value {
    let head = s.head();
    let (st, v) = s.get(&format!("/v1/feed?from={head}"), Some(&s.auditor));
    assert_eq!(st, 200, "{v}");
    v["events"][0].clone()
}

/// Changes the payer of the first contract of the scenario the rules let
/// change, then annuls that change: a log with a payer change and an
/// annulment. Returns the contract.
fn payer_changed_then_annulled(s: &Server) -> &'static str {
    for contract in [CONTRACT_A, CONTRACT_B, CONTRACT_C] {
        let payer = if contract == CONTRACT_A {
            PERSON_B
        } else {
            PERSON_A
        };
        let body = json!({"channel": "agency", "command": {"type": "ChangePayer",
            "contract_id": contract, "payer": payer,
            "mandate": {"reference": "IDFM-NAV-2027-000000001", "signed_on": "2026-01-05",
                "debtor": {"iban": "FR7630003000010000000000128", "holder_name": "B Payer"}}}});
        let (st, _) = s.post("/v1/commands", Some(&s.agent), &body.to_string());
        if st != 201 {
            continue;
        }
        let changed = last_event(s);
        assert_eq!(changed["type"], "PayerChanged", "{changed}");
        let annul = json!({"command": {"type": "AnnulEvent",
            "stream": format!("contract:{contract}"), "event_id": changed["event_id"],
            "reason": "payer entered on the wrong contract"}});
        let (st, v) = s.post("/v1/commands", Some(&s.agent), &annul.to_string());
        assert_eq!(st, 201, "{v}");
        return contract;
    }
    panic!("no contract of the scenario accepts a payer change: the test proves nothing");
}

#[test]
fn serve_materialized_views_equal_the_views_computed_as_of_today_after_a_payer_change_and_its_annulment(
) {
    // Given a served ledger whose log has a payer change and its annulment,
    // and a payer change kept on another contract
    let s = start("materialized-equal");
    let changed = payer_changed_then_annulled(&s);
    let head = s.head();
    let mut compared = 0;
    // When each view is read from its materialized row (waiting until the rows
    // cover the head) and computed as of today
    for (owner, ids, views) in [
        (
            "contracts",
            vec![CONTRACT_A, CONTRACT_B, CONTRACT_C],
            vec!["state", "balance", "calendar"],
        ),
        ("persons", vec![PERSON_A, PERSON_B], vec!["bans", "refunds"]),
    ] {
        for id in ids {
            for view in &views {
                let path = format!("/v1/{owner}/{id}/{view}");
                let (st, head_text, materialized) = get_with_head(
                    &s,
                    &format!("{path}?source=materialized&min_position={head}"),
                    &s.agent,
                );
                let (computed_status, computed) =
                    s.get(&format!("{path}?at=2027-10-15"), Some(&s.agent));
                if computed_status == 404 {
                    // An id the scenario refused to create is unknown to both.
                    assert_eq!(st, 404, "{path}: {materialized}");
                    continue;
                }
                assert_eq!((st, computed_status), (200, 200), "{path}: {materialized}");
                compared += 1;
                // Then both give the same answer, and the materialized one says
                // the position its rows cover and the date they are read on
                assert_eq!(materialized, computed, "{path}");
                assert_eq!(
                    header(&head_text, "navigo-projection-position"),
                    Some(head.to_string()),
                    "{path}"
                );
                assert_eq!(
                    header(&head_text, "navigo-projection-at").as_deref(),
                    Some("2027-10-15")
                );
            }
        }
    }
    assert!(compared >= 8, "{compared} views compared");
    // And the annulled payer change is not in the materialized state
    let (_, v) = s.get(
        &format!("/v1/contracts/{changed}/state?source=materialized"),
        Some(&s.agent),
    );
    assert!(
        v["payer"] != json!(PERSON_B) || changed != CONTRACT_A,
        "{v}"
    );
    // And another date or instant is an as-of computation, not a materialized read
    let (st, v) = s.get(
        &format!("/v1/contracts/{CONTRACT_A}/state?source=materialized&at=2027-01-01"),
        Some(&s.agent),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("at")), "{v}");
    let (st, v) = s.get(
        &format!("/v1/contracts/{CONTRACT_A}/state?source=cached"),
        Some(&s.agent),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("source")), "{v}");
    // And the lag behind the head is 0 in the metrics
    let (_, metrics) = s.get("/metrics", None);
    let text = metrics.as_str().expect("text");
    assert!(text.contains("navigo_projection_lag_events 0"), "{text}");
}

#[test]
fn serve_projections_roll_today_forward_when_the_service_runs_on_a_later_day() {
    // Given projections the service kept on 2027-10-15
    let mut s = start("materialized-roll");
    let head = s.head();
    let path = format!("/v1/contracts/{CONTRACT_B}/calendar");
    let (st, h, _) = get_with_head(
        &s,
        &format!("{path}?source=materialized&min_position={head}"),
        &s.agent,
    );
    assert_eq!(st, 200);
    assert_eq!(
        header(&h, "navigo-projection-at").as_deref(),
        Some("2027-10-15")
    );
    // When the service's clock is past midnight in Paris (22:30 UTC is 00:30
    // on the 17th in summer time)
    s.restart_at("2027-10-16T22:30:00Z");
    // Then the materialized views are read on the new day, equal to the views
    // computed on it
    let mut seen = None;
    for _ in 0..100 {
        let (st, h, v) = get_with_head(&s, &format!("{path}?source=materialized"), &s.agent);
        if st == 200 && header(&h, "navigo-projection-at").as_deref() == Some("2027-10-17") {
            seen = Some(v);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let materialized = seen.expect("the projections rolled to 2027-10-17");
    let (_, computed) = s.get(&path, Some(&s.agent));
    assert_eq!(materialized, computed);
}

/// The position of the last event a command's acknowledgement names.
fn acknowledged(st: u16, v: &Value) -> u64 {
    assert_eq!(st, 201, "{v}");
    v["events"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["position"].as_u64())
        .unwrap_or_else(|| panic!("no position in {v}"))
}

/// A view read from its materialized row: (status, the position its rows
/// cover when answered, body).
fn materialized_now(s: &Server, path: &str) -> (u16, Option<u64>, Value) {
    let (st, h, v) = get_with_head(s, &format!("{path}?source=materialized"), &s.agent);
    let covered = header(&h, "navigo-projection-position").and_then(|p| p.parse().ok());
    (st, covered, v)
}

#[test]
fn serve_materialized_view_read_right_after_an_acknowledgement_is_the_computed_one_once_its_position_covers_it(
) {
    // Given a served ledger whose projections are built, a contract's state
    // computed before a suspension and after it
    let s = start("materialized-after-ack");
    let head = s.head();
    let (st, v) = s.get(
        &format!("/v1/contracts/{CONTRACT_A}/state?source=materialized&min_position={head}"),
        Some(&s.agent),
    );
    assert_eq!(st, 200, "{v}");
    let (contract, before, ack) = [CONTRACT_A, CONTRACT_B, CONTRACT_C]
        .into_iter()
        .find_map(|c| {
            let path = format!("/v1/contracts/{c}/state");
            let (_, before) = s.get(&path, Some(&s.agent));
            let (st, v) = s.post("/v1/commands", Some(&s.agent), &agent_command(c));
            (st == 201).then(|| (c, before, acknowledged(st, &v)))
        })
        .expect("a contract of the scenario accepts a suspension: the test proves nothing");
    let path = format!("/v1/contracts/{contract}/state");
    // When its materialized row is read right after the acknowledgement
    let (st, covered, now) = materialized_now(&s, &path);
    let (_, after) = s.get(&path, Some(&s.agent));
    assert_ne!(
        before, after,
        "the suspension changed nothing: the test proves nothing"
    );
    // Then it is the state after the suspension when its position header
    // covers it, else the state before or after it (the header is read first,
    // a lower bound of what the rows cover): lag, never a wrong answer
    assert_eq!(st, 200, "{now}");
    let covered = covered.expect("the position header");
    if covered >= ack {
        assert_eq!(now, after, "rows at {covered}, suspension at {ack}");
    } else {
        assert!(now == before || now == after, "rows at {covered}: {now}");
    }
    let (_, h, waited) = get_with_head(
        &s,
        &format!("{path}?source=materialized&min_position={ack}"),
        &s.agent,
    );
    assert_eq!(waited, after);
    let covered: u64 = header(&h, "navigo-projection-position")
        .and_then(|p| p.parse().ok())
        .expect("position");
    assert!(covered >= ack);
    // And when clients register persons concurrently, each reading the new
    // person's views from their rows right after its acknowledgement, every
    // answer is "not yet" (the rows do not cover the registration) or the
    // computed view, and each is the computed view once covered
    let lagging: usize = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|c| {
                let s = &s;
                scope.spawn(move || {
                    let mut lagging = 0;
                    for i in 0..8 {
                        let person = format!("0196c000-0000-7000-8000-{c:06x}{i:06x}");
                        let client = format!("NV8{c:03}{i:04}");
                        let (st, v) =
                            s.post("/v1/commands", Some(&s.agent), &register(&person, &client));
                        let ack = acknowledged(st, &v);
                        for view in ["bans", "refunds"] {
                            let path = format!("/v1/persons/{person}/{view}");
                            let (st, covered, now) = materialized_now(s, &path);
                            let (computed_status, computed) = s.get(&path, Some(&s.agent));
                            assert_eq!(computed_status, 200, "{path}: {computed}");
                            match st {
                                404 => lagging += 1,
                                200 => {
                                    assert!(covered.is_some(), "{path}");
                                    assert_eq!(now, computed, "{path}");
                                }
                                other => panic!("{path}: {other} {now}"),
                            }
                            let (st, waited) = s.get(
                                &format!("{path}?source=materialized&min_position={ack}"),
                                Some(&s.agent),
                            );
                            assert_eq!((st, &waited), (200, &computed), "{path}");
                        }
                    }
                    lagging
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().expect("client")).sum()
    });
    // (How many reads came before their rows depends on the machine; the
    // promise holds either way.)
    println!("{lagging} of 64 reads came before their rows");
}

/// Every page of a list, walked with its cursors: the ids, in order.
fn walk(s: &Server, list_and_filter: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let (st, v) = s.get(
            &format!("/v1/lists/{list_and_filter}&limit={limit}{after}"),
            Some(&s.system),
        );
        assert_eq!(st, 200, "{v}");
        ids.extend(
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match v["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => return ids,
        }
    }
}

#[test]
fn serve_lists_page_with_cursors_and_equal_the_computed_views() {
    let s = start("lists");
    let head = s.head();
    // Given the contracts' computed states today
    let mut by_status: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for id in [CONTRACT_A, CONTRACT_B, CONTRACT_C] {
        let (st, v) = s.get(&format!("/v1/contracts/{id}/state"), Some(&s.agent));
        if st == 404 {
            continue;
        }
        let status = v["status"]["status"].as_str().expect("status").to_owned();
        by_status.entry(status).or_default().push(id.to_owned());
    }
    // When each status is listed one entry per page (after the rows cover the
    // head), then the pages give exactly those contracts, in id order
    for (status, ids) in &by_status {
        let first = format!("contracts-by-status?status={status}&min_position={head}");
        assert_eq!(&walk(&s, &first, 1), ids, "{status}");
    }
    // And the contracts Bob holds are listed by holder
    let held = walk(&s, &format!("contracts-by-holder?holder={PERSON_B}"), 1);
    let bobs: Vec<&str> = [CONTRACT_B, CONTRACT_C]
        .into_iter()
        .filter(|id| {
            s.get(&format!("/v1/contracts/{id}/state"), Some(&s.agent))
                .0
                == 200
        })
        .collect();
    assert_eq!(held, bobs);
    // And a page says what it covers
    let (_, v) = s.get(
        &format!("/v1/lists/contracts-by-holder?holder={PERSON_B}"),
        Some(&s.agent),
    );
    assert_eq!(v["position"], json!(head), "{v}");
    assert_eq!(v["at"], "2027-10-15");
    assert_eq!(v["list"], "contracts-by-holder");
    assert_eq!(v["filter"], format!("holder={PERSON_B}"));
    // And bad parameters are 400 naming them; an unknown list is 404
    for (path, field) in [
        ("contracts-by-status?colour=red", "colour"),
        ("contracts-by-status?status=sleeping", "status"),
        ("contracts-by-status?status=active&product=1-5", "product"),
        ("contracts-by-status?status=active&limit=0", "limit"),
        ("contracts-by-status?status=active&limit=501", "limit"),
        ("contracts-in-debt?debt_above=-1", "debt_above"),
        ("contracts-by-status?status=active&after=zz", "after"),
        ("bans-active?on=2027-02-30", "on"),
    ] {
        let (st, v) = s.get(&format!("/v1/lists/{path}"), Some(&s.agent));
        assert_eq!((st, v["field"].as_str()), (400, Some(field)), "{path}: {v}");
    }
    // A cursor of another list is no place in this one: 422 naming it
    let (_, v) = s.get("/v1/lists/contracts-by-holder?limit=1", Some(&s.agent));
    let cursor = v["next"].as_str().expect("a next page");
    let (st, v) = s.get(
        &format!("/v1/lists/contracts-by-status?status=terminated&after={cursor}"),
        Some(&s.agent),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("after")), "{v}");
    let (st, _) = s.get("/v1/lists/everything?x=1", Some(&s.agent));
    assert_eq!(st, 404);
    // And a person is found by client number, and by the start of their name
    // whatever its case
    assert_eq!(
        walk(&s, "persons-by-client-number?client_number=NV00000001", 5),
        vec![PERSON_A]
    );
    assert_eq!(walk(&s, "persons-by-name?name=DUR", 5), vec![PERSON_A]);
    assert_eq!(
        walk(&s, "persons-by-name?name=durand%20alice", 5),
        vec![PERSON_A]
    );
    assert!(walk(&s, "persons-by-name?name=durandx", 5).is_empty());
    let (_, v) = s.get(
        "/v1/lists/persons-by-client-number?client_number=NV00000002",
        Some(&s.agent),
    );
    assert_eq!(v["items"][0]["entry"]["last_name"], "Lefèvre", "{v}");
    // And the other lists answer
    for path in [
        "debits?date=2027-11-05",
        "bans-active?on=2027-10-15",
        "refunds-due",
        "refunds-due?due_by=2027-12-31",
        "contracts-in-debt",
        "contracts-in-debt?debt_above=0",
        "contracts-by-product?product=4-5",
        "contracts-by-payer?payer=0196a000-0000-7000-8000-0000000000a1",
        "contracts-by-next-debit?date=2027-11-05",
        "persons-by-name",
    ] {
        let (st, v) = s.get(&format!("/v1/lists/{path}"), Some(&s.auditor));
        assert_eq!(st, 200, "{path}: {v}");
    }
}

/// The status of a streamed feed request, its head only (the stream does not
/// end).
fn stream_status(addr: &str, token: Option<&str>) -> u16 {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        c,
        "GET /v1/feed HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{auth}\r\n"
    )
    .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && c.read(&mut byte).expect("read") == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status")
}

#[test]
fn http_list_stream_and_materialized_routes_role_cells_over_http() {
    let s = start("lists-roles");
    let customer = s.customer();
    let roles = s.callers(&customer);
    let state = format!("/v1/contracts/{CONTRACT_A}/state?source=materialized");
    let calendar = format!("/v1/contracts/{CONTRACT_A}/calendar?source=materialized");
    let bans = format!("/v1/persons/{PERSON_A}/bans?source=materialized");
    let endpoints: Vec<(&str, &[&str])> = vec![
        (
            "/v1/lists/contracts-by-status?status=active",
            &["agent", "auditor", "system"],
        ),
        (
            "/v1/lists/debits?date=2027-11-05",
            &["agent", "auditor", "system"],
        ),
        (
            "/v1/lists/bans-active?on=2027-10-15",
            &["agent", "auditor", "system"],
        ),
        ("/v1/lists/refunds-due", &["agent", "auditor", "system"]),
        (
            "/v1/lists/persons-by-name?name=d",
            &["agent", "auditor", "system"],
        ),
        (&state, &["agent", "auditor", "customer"]),
        (&calendar, &["agent", "auditor", "customer"]),
        (&bans, &["agent", "auditor"]),
    ];
    let head = s.head();
    let ready = s.get(
        &format!("/v1/lists/refunds-due?min_position={head}"),
        Some(&s.agent),
    );
    assert_eq!(ready.0, 200, "{}", ready.1);
    let mut checked = 0;
    for (path, allowed) in &endpoints {
        for (role, tok) in &roles {
            let (status, v) = request(&s.addr, "GET", path, *tok, None, &[]);
            if allowed.contains(role) {
                assert_eq!(status, 200, "{role} {path}: {v}");
            } else {
                let denial = if tok.is_none() { 401 } else { 403 };
                assert_eq!(status, denial, "{role} {path}: {v}");
            }
            checked += 1;
        }
    }
    // The pushed feed: the pull feed's roles.
    for (role, tok) in &roles {
        let status = stream_status(&s.addr, *tok);
        let expected = match *role {
            "agent" | "auditor" | "system" => 200,
            "none" => 401,
            _ => 403,
        };
        assert_eq!(status, expected, "{role} streaming the feed");
        checked += 1;
    }
    assert_eq!(checked, (endpoints.len() + 1) * roles.len());
}

/// Reads a streamed feed until `want` events came (or the stream ended), then
/// drops the connection: the events' (SSE id, envelope).
fn stream_events(
    addr: &str,
    token: &str,
    from: &str,
    last_event_id: Option<u64>,
    want: usize,
) -> Vec<(u64, Value)> {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    write!(
        c,
        "GET /v1/feed{from} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
         Authorization: Bearer {token}\r\n{resume}\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let events = parse_events(&raw);
        if events.len() >= want {
            // Disconnects mid-stream: whatever else was sent is dropped.
            return events.into_iter().take(want).collect();
        }
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => return events,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The complete events of a raw SSE response (its chunk sizes and keep-alive
/// comments skipped): each `id:` line with the `data:` line after it.
fn parse_events(raw: &[u8]) -> Vec<(u64, Value)> {
    let text = String::from_utf8_lossy(raw);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let mut lines: Vec<&str> = body.split('\n').collect();
    lines.pop(); // the last piece may be incomplete
    let mut out = Vec::new();
    let mut id = None;
    for l in lines {
        let l = l.trim_end_matches('\r');
        if let Some(v) = l.strip_prefix("id:") {
            id = v.trim().parse::<u64>().ok();
        } else if let Some(v) = l.strip_prefix("data:") {
            if let (Some(i), Ok(e)) = (id.take(), serde_json::from_str::<Value>(v.trim())) {
                out.push((i, e));
            }
        }
    }
    out
}

#[test]
fn http_feed_stream_resumes_after_a_disconnect_without_gap_or_duplicate_while_appends_go_on() {
    let s = start("feed-stream");
    let head = s.head();
    let mut seen: Vec<(u64, Value)> = Vec::new();
    let mut next_person = 0xc1u32;
    let mut append = |s: &Server| {
        let (st, v) = s.post(
            "/v1/commands",
            Some(&s.agent),
            &register(
                &format!("0196a000-0000-7000-8000-0000000000{next_person:02x}"),
                &format!("NV{:08}", 100 + next_person),
            ),
        );
        assert_eq!(st, 201, "{v}");
        next_person += 1;
    };
    // Given a reader that disconnects at several points of the stream, each
    // time while appends go on, and resumes with Last-Event-ID
    let cuts = [1usize, 2, 7, usize::try_from(head / 2).expect("small")];
    for cut in cuts {
        let last = seen.last().map(|(id, _)| *id);
        let from = if last.is_none() { "?from=1" } else { "" };
        let got = stream_events(&s.addr, &s.system, from, last, cut);
        assert_eq!(got.len(), cut);
        seen.extend(got);
        append(&s);
    }
    // When it resumes once more and an append happens while it listens
    let target = s.head() + 1;
    let last = seen.last().map(|(id, _)| *id);
    let addr = s.addr.clone();
    let token = s.system.clone();
    let want = usize::try_from(target - last.expect("resumed")).expect("small");
    let reader = std::thread::spawn(move || stream_events(&addr, &token, "", last, want));
    std::thread::sleep(Duration::from_millis(300));
    append(&s);
    seen.extend(reader.join().expect("reader"));
    // Then it received every position once, in order, each envelope at its id
    let ids: Vec<u64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (1..=target).collect::<Vec<_>>());
    assert!(seen.iter().all(|(id, e)| e["position"] == json!(id)));
    // And a Last-Event-ID that is not a position is 400 naming it
    let (st, v) = request(
        &s.addr,
        "GET",
        "/v1/feed",
        Some(&s.system),
        None,
        &[("Accept", "text/event-stream"), ("Last-Event-ID", "x")],
    );
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("Last-Event-ID")),
        "{v}"
    );
}

#[test]
fn cli_list_pages_the_materialized_projections_as_the_service_does() {
    // Given a ledger of the year scenario whose projections are rebuilt today
    let data = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("http")
        .join(format!("cli-list-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(cli(&data, &["init"], "").0, 0);
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let (code, out) = cli(&data, &["apply", scenario.to_str().expect("path")], "");
    assert!(code == 0 || code == 1, "{out}");
    let (code, out) = cli(&data, &["rebuild", "--at", "2027-10-15"], "");
    assert_eq!(code, 0, "{out}");
    // When a list is read one entry per page with its cursors
    let mut ids = Vec::new();
    let mut after: Vec<String> = Vec::new();
    loop {
        let mut args = vec!["list", "contracts-by-holder", "--limit", "1", "--json"];
        args.extend(after.iter().map(String::as_str));
        let (code, out) = cli(&data, &args, "");
        assert_eq!(code, 0, "{out}");
        let page: Value = serde_json::from_str(&out).expect("a page");
        assert_eq!(page["at"], "2027-10-15");
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match page["next"].as_str() {
            Some(n) => after = vec!["--after".into(), n.into()],
            None => break,
        }
    }
    // Then every contract comes once, by holder then id
    assert!(ids.contains(&CONTRACT_A.to_owned()), "{ids:?}");
    assert!(ids.contains(&CONTRACT_B.to_owned()), "{ids:?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    // And the person of a client number is found
    let (code, out) = cli(
        &data,
        &[
            "list",
            "persons-by-client-number",
            "client_number=NV00000001",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(PERSON_A), "{out}");
    // And bad input is exit 2 naming it
    for (args, named) in [
        (vec!["list", "everything"], "everything"),
        (vec!["list", "debits", "day=2027-11-05"], "day"),
        (vec!["list", "debits", "date=2027-13-01"], "date"),
        (vec!["list", "debits", "--limit", "0"], "limit"),
        (vec!["list", "debits", "--after", "zz"], "after"),
    ] {
        let (code, out) = cli(&data, &args, "");
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains(named), "{args:?}: {out}");
    }
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn http_feed_stream_ends_when_the_service_stops_so_that_it_stops_promptly() {
    // Given a reader of the pushed feed that has read everything
    let mut s = start("feed-stream-stop");
    let head = s.head();
    let reader = {
        let (addr, token) = (s.addr.clone(), s.system.clone());
        std::thread::spawn(move || stream_events(&addr, &token, "?from=1", None, usize::MAX))
    };
    std::thread::sleep(Duration::from_millis(500));
    // When the service is interrupted (Ctrl-C)
    let pid = s.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    // Then it stops within seconds although the reader stays connected, and
    // the reader's stream ends after every event
    let mut stopped = None;
    for _ in 0..100 {
        if let Some(code) = s.child.try_wait().expect("wait") {
            stopped = Some(code);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let code = stopped.expect("the service stopped within 10 s");
    assert!(code.success(), "{code:?}");
    let got = reader.join().expect("reader");
    assert_eq!(got.len() as u64, head);
}
