//! The OpenAPI 3.1 document, generated from the code: the operations of the
//! router (their path and query parameters with formats, request bodies and
//! every status the service answers) and the schemars schemas of the
//! events-schema types, generated once into `components/schemas` so that every
//! `$ref` resolves there (no second schema system): every answer's schema is its
//! view's. Committed as docs/openapi.json; a test fails when the two drift, and
//! tests/http_openapi.rs checks it with a validator and a schema-driven fuzzer
//! against a served ledger.
//!
//! The document is built with `json!`: it is a JSON document (operations, parameters,
//! the small request bodies' schemas) rather than an output of the ledger, and
//! writing it as the JSON it is reads closest to the OpenAPI specification.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

mod lists;

use super::state::{
    BATCH_COMMANDS_MAX, FEED_PAGE_MAX, FEED_WAIT_MS_MAX, IDEMPOTENCY_KEY_CHARS_MAX, LOGIN_CHARS_MAX,
};

/// A parameter: (name, in, JSON schema, description).
type Param = (&'static str, &'static str, Value, &'static str);

/// One operation of the service.
struct Op {
    method: &'static str,
    path: &'static str,
    roles: &'static str,
    summary: &'static str,
    params: Vec<Param>,
    body: Option<Value>,
    /// (status, description, response schema or `None` for no body).
    responses: Vec<(u16, &'static str, Option<Value>)>,
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn id_param() -> Param {
    (
        "id",
        "path",
        json!({"type": "string", "format": "uuid"}),
        "The contract's or person's id.",
    )
}

fn at_params() -> Vec<Param> {
    vec![
        (
            "at",
            "query",
            json!({"type": "string", "format": "date"}),
            "The effective date read (Europe/Paris); today by default.",
        ),
        (
            "known_at",
            "query",
            json!({"type": "string", "format": "date-time"}),
            "Read as known at this instant; now by default (an instant after now reads as now: \
             nothing is known after now).",
        ),
    ]
}

/// The error statuses of an authenticated read.
fn read_errors(unknown: bool) -> Vec<(u16, &'static str, Option<Value>)> {
    let mut v = vec![
        (400, "a malformed parameter (field named)", Some(r("Error"))),
        (401, "no, unknown or ended credentials", Some(r("Error"))),
        (403, "the role may not read this", Some(r("Error"))),
        (
            408,
            "the request took longer than its bound",
            Some(r("Error")),
        ),
    ];
    if unknown {
        v.push((404, "unknown id, or not the customer's", Some(r("Error"))));
    }
    v
}

fn ok(schema: Value) -> (u16, &'static str, Option<Value>) {
    (200, "OK", Some(schema))
}

fn with(
    mut base: Vec<(u16, &'static str, Option<Value>)>,
    more: &[(u16, &'static str)],
) -> Vec<(u16, &'static str, Option<Value>)> {
    for (code, what) in more {
        base.push((*code, what, Some(r("Error"))));
    }
    base
}

fn view_op(path: &'static str, roles: &'static str, summary: &'static str, view: &str) -> Op {
    let mut params = vec![id_param()];
    params.extend(at_params());
    params.extend(lists::materialized_params());
    let mut responses = vec![ok(r(view))];
    responses.extend(read_errors(true));
    responses.extend(lists::materialized_responses());
    Op {
        method: "get",
        path,
        roles,
        summary,
        params,
        body: None,
        responses,
    }
}

fn calendar_op() -> Op {
    use navigo_projections::calendar::CALENDAR_HORIZON_MONTHS_MAX;
    let mut op = view_op(
        "/v1/contracts/{id}/calendar",
        "agent, auditor, customer (own)",
        "Debit calendar at `at`, as known at `known_at`, from the contract's start through `horizon` months after the month of `at` (default 24; at most CALENDAR_HORIZON_MONTHS_MAX = 120). A calendar longer than CALENDAR_MONTHS_MAX months (an `at` centuries away) is 422 naming `at`.",
        "DebitCalendar",
    );
    op.params.push((
        "horizon",
        "query",
        json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": CALENDAR_HORIZON_MONTHS_MAX}),
        "Months after the month of `at` the calendar forecasts.",
    ));
    op.responses.push((
        422,
        "a calendar longer than CALENDAR_MONTHS_MAX months",
        Some(r("Error")),
    ));
    op
}

fn write_errors() -> Vec<(u16, &'static str, Option<Value>)> {
    vec![
        (400, "malformed input (field named)", Some(r("Error"))),
        (
            408,
            "the request took longer than its bound",
            Some(r("Error")),
        ),
        (
            413,
            "the body exceeds request_body_bytes_max",
            Some(r("Error")),
        ),
        (415, "the body is not application/json", Some(r("Error"))),
    ]
}

fn command_op() -> Op {
    let mut responses = vec![
        (
            201,
            "accepted: the events appended",
            Some(r("CommandAccepted")),
        ),
        (
            200,
            "a batch: each command's outcome",
            Some(r("BatchOutcomes")),
        ),
    ];
    responses.extend(write_errors());
    responses = with(
        responses,
        &[
            (401, "no, unknown or ended credentials"),
            (403, "another actor, a channel or a command type the role may not use, or a contract that is not the customer's (field named)"),
            (409, "a conflict: the subject stream moved (If-Match, expected_version), an Idempotency-Key reused with another body, or a ledger head recorded after the server's clock; nothing appended"),
            (422, "refused by a rule (rule id and article), or a command that does not fit the ledger (field named); nothing appended"),
        ],
    );
    Op {
        method: "post",
        path: "/v1/commands",
        roles: "agent, system, reference, customer (own contracts, online): the authorization matrix of docs/roles.md",
        summary: "Submit one command or a batch. The server decides who acts and when: the actor is the credential's (a body actor must be that one), the command is judged at the server's instant (a body request_at may differ by at most request_skew_seconds_max = 300 s), the billing clock runs at most clock_ahead_days_max days past today. Idempotency-Key honoured (per credential); optimistic concurrency by If-Match (the ETag of the contract's state) or each command's expected_version.",
        params: vec![
            ("Idempotency-Key", "header", json!({"type": "string", "maxLength": IDEMPOTENCY_KEY_CHARS_MAX}), "A retry with the same key and body returns the first answer; another body is 409. Empty or blank: no key."),
            ("If-Match", "header", json!({"type": "string", "pattern": "^(W/)?\"[0-9]{1,15}\"$"}), "The ETag of the contract's state the command was decided on (a stream version: at most 15 digits)."),
        ],
        body: Some(json!({"oneOf": [
            r("CommandRequest"),
            {"type": "array", "items": r("CommandRequest"), "minItems": 1, "maxItems": BATCH_COMMANDS_MAX},
        ]})),
        responses,
    }
}

fn feed_op() -> Op {
    let mut responses = vec![ok(r("FeedPage"))];
    responses.extend(read_errors(false));
    Op {
        method: "get",
        path: "/v1/feed",
        roles: "agent, auditor, system",
        summary: "Events from position `from` (at most `limit`), with `next_from`; waits up to `wait_ms` for an append when there is none yet. With `Accept: text/event-stream` the feed is pushed instead (server-sent events, for as long as the connection stays open): each event an envelope, its SSE id its position, from `from` or, on a reconnection, after the `Last-Event-ID` header's position (no gap, no duplicate).",
        params: vec![
            ("from", "query", json!({"type": "integer", "format": "int64", "minimum": 0}), "The first position (1 by default)."),
            ("limit", "query", json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": FEED_PAGE_MAX}), "Events in the page (feed_page_max by default)."),
            ("wait_ms", "query", json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": FEED_WAIT_MS_MAX}), "Long-poll wait in milliseconds."),
        ],
        body: None,
        responses,
    }
}

/// The administrative jobs (`routes/admin.rs`): off the writer's lock, one of
/// a kind at a time (409 for a second).
fn admin_ops() -> Vec<Op> {
    let busy = (409, "a job of this kind is running: wait for its answer");
    let job = |schema: &str| with(vec![ok(r(schema))], &[busy]);
    let mut check = job("ProjectionCheck");
    check.extend(read_errors(false));
    let mut rebuild = job("RebuildSummary");
    rebuild.extend(read_errors(false));
    let mut export = vec![(
        200,
        "the export's JSON lines (docs/checkpoints.md, Export), streamed",
        Some(json!({"type": "string"})),
    )];
    export = with(export, &[busy]);
    export.extend(read_errors(false));
    let position =
        json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": JSON_INTEGER_MAX});
    vec![
        Op { method: "get", path: "/v1/projections/check", roles: "auditor, system", summary: "The materialized projections, caught up to the head, against the views computed afresh from the log through the position they cover: one state hash per projection, the rows that differ (as `check-projections --json`).", params: vec![], body: None, responses: check },
        Op { method: "post", path: "/v1/projections/rebuild", roles: "system", summary: "Replay the whole log into new projection trees on the service's today (Europe/Paris) and swap them in (as `rebuild --json`).", params: vec![("at", "query", json!({"type": "string", "format": "date"}), "Must be the service's today if given (its projections are kept on today): another date is 400.")], body: None, responses: rebuild },
        Op { method: "get", path: "/v1/export", roles: "auditor", summary: "The log, or the window from..to, as the JSON lines `navigo-ledger export` writes, byte for byte; each record checked as it is streamed, and a record that does not verify cuts the transfer.", params: vec![("from", "query", position.clone(), "The first position (1 by default)."), ("to", "query", position, "The last position (the head when the request arrives by default).")], body: None, responses: export },
    ]
}

fn replay_ops() -> Vec<Op> {
    let mut audit = vec![ok(r("Audit"))];
    audit.extend(read_errors(true));
    let mut diff = vec![ok(r("Diff"))];
    diff.extend(read_errors(true));
    let mut what_if = vec![ok(r("WhatIf"))];
    what_if.extend(read_errors(true));
    what_if.extend(write_errors().into_iter().skip(2));
    what_if.push((
        422,
        "a command of the format that no request may carry (an amount beyond its bound, \
         contradictory fields; field named)",
        Some(r("Error")),
    ));
    let reading = |name, what| -> Param {
        (
            name,
            "query",
            json!({"type": "string", "format": what}),
            "One side of the comparison (see at and known_at).",
        )
    };
    vec![
        Op {
            method: "get",
            path: "/v1/audit/{id}",
            roles: "auditor",
            summary: "Audit trail of a contract or person, as known at `known_at`.",
            params: vec![id_param(), ("known_at", "query", json!({"type": "string", "format": "date-time"}), "Read as known at this instant; now by default.")],
            body: None,
            responses: audit,
        },
        Op {
            method: "get",
            path: "/v1/diff/{id}",
            roles: "auditor",
            summary: "What changed in a contract's views between two readings and which events caused it.",
            params: vec![id_param(), reading("from_at", "date"), reading("from_known_at", "date-time"), reading("to_at", "date"), reading("to_known_at", "date-time")],
            body: None,
            responses: diff,
        },
        Op {
            method: "post",
            path: "/v1/what-if/{id}",
            roles: "agent, auditor",
            summary: "Hypothetical commands (whole envelopes) read beside the actual views of a contract; nothing appended.",
            params: vec![id_param()],
            body: Some(r("WhatIfRequest")),
            responses: what_if,
        },
    ]
}

fn account_ops() -> Vec<Op> {
    let mut create = vec![(201, "created and linked", Some(r("Created")))];
    create.extend(write_errors());
    create = with(create, &[
        (409, "the login is taken"),
        (422, "refused by ACC-PASSWORD or ACC-LINK (one account per customer; which field did not match is not said)"),
        (429, "too many failed links from this address"),
    ]);
    let mut session = vec![ok(r("Session"))];
    session.extend(write_errors());
    session = with(
        session,
        &[
            (401, "wrong login or password"),
            (429, "too many failed sign-ins from this address"),
        ],
    );
    let mut me = vec![ok(r("MyContracts"))];
    me.extend(read_errors(false));
    let mut renew = vec![ok(r("OnlineRenewal"))];
    renew.extend(with(
        read_errors(true),
        &[(422, "refused by ACC-MINOR-RENEW")],
    ));
    let mut attest = vec![ok(r("Attestation"))];
    attest.extend(with(
        read_errors(true),
        &[(422, "refused by TERM-ATTESTATION")],
    ));
    let mut own_export = vec![ok(r("SubjectExport"))];
    own_export.extend(read_errors(false));
    vec![
        Op { method: "get", path: "/v1/me/subject-export", roles: "customer", summary: "An access request: everything the ledger holds about the customer (identity, events, the views of their contracts, bans, refunds, their account's login; never a password hash or token).", params: vec![], body: None, responses: own_export },
        Op { method: "post", path: "/v1/accounts", roles: "none", summary: "ACC-PASSWORD, ACC-LINK: a customer creates their personal-space account; one per customer.", params: vec![], body: Some(r("AccountRequest")), responses: create },
        Op { method: "post", path: "/v1/sessions", roles: "none", summary: "Open a customer session (persisted, with an expiry).", params: vec![], body: Some(r("SessionRequest")), responses: session },
        Op { method: "delete", path: "/v1/sessions/current", roles: "customer", summary: "Log out: the session's token no longer authenticates.", params: vec![], body: None, responses: vec![
            (204, "closed", None),
            (401, "no, unknown or ended credentials", Some(r("Error"))),
            (403, "not a customer session", Some(r("Error"))),
            (408, "the request took longer than its bound", Some(r("Error"))),
        ] },
        Op { method: "get", path: "/v1/me/contracts", roles: "customer", summary: "Contracts the customer holds or pays.", params: vec![], body: None, responses: me },
        Op { method: "get", path: "/v1/me/contracts/{id}/online-renewal", roles: "customer (own)", summary: "ACC-MINOR-RENEW: may the contract be renewed online?", params: vec![id_param()], body: None, responses: renew },
        Op { method: "get", path: "/v1/me/contracts/{id}/attestation", roles: "customer (own)", summary: "TERM-ATTESTATION: the attestation of a contract the customer holds or pays.", params: vec![id_param()], body: None, responses: attest },
    ]
}

/// `GET /v1/persons/{id}/subject-export`: an agent answers an access request.
fn subject_export_op() -> Op {
    let mut responses = vec![ok(r("SubjectExport"))];
    responses.extend(read_errors(true));
    Op {
        method: "get",
        path: "/v1/persons/{id}/subject-export",
        roles: "agent",
        summary: "An access request: everything the ledger holds about a person (identity, their events and those of every contract they hold, pay or paid, those contracts' views, bans, refunds, their account's login; never a password hash or token), read on today's date.",
        params: vec![id_param()],
        body: None,
        responses,
    }
}

fn ops() -> Vec<Op> {
    let open = |path, summary, schema: Value| Op {
        method: "get",
        path,
        roles: "none",
        summary,
        params: vec![],
        body: None,
        responses: vec![
            ok(schema),
            (
                408,
                "the request took longer than its bound",
                Some(r("Error")),
            ),
        ],
    };
    let mut verify = vec![ok(json!({"anyOf": [r("VerifyReport"), r("VerifyView")]}))];
    verify.extend(read_errors(false));
    let mut partner = vec![ok(r("PartnerAnswer"))];
    partner.extend(write_errors());
    partner = with(
        partner,
        &[
            (401, "no, unknown or ended credentials"),
            (403, "not a partner"),
            (429, "partner_checks_per_minute_max reached"),
        ],
    );
    let mut v = vec![
        open("/health", "Liveness.", r("Health")),
        open("/ready", "Readiness and head position.", r("Ready")),
        open("/openapi.json", "This document.", json!({"type": "object"})),
        Op { method: "get", path: "/metrics", roles: "none", summary: "Prometheus text format: requests by route and status, latency histograms, appends, head position, projection lag.", params: vec![], body: None, responses: vec![(200, "OK", Some(json!({"type": "string"}))), (408, "the request took longer than its bound", Some(r("Error")))] },
        command_op(),
        view_op("/v1/contracts/{id}/state", "agent, auditor, customer (own)", "Contract state at `at`, as known at `known_at`; ETag: the contract stream's version in that reading (send it back as If-Match).", "ContractStateView"),
        view_op("/v1/contracts/{id}/balance", "agent, auditor, customer (own)", "Contract balance.", "ContractBalance"),
        calendar_op(),
        view_op("/v1/persons/{id}/bans", "agent, auditor", "Ban windows.", "PersonBans"),
        view_op("/v1/persons/{id}/refunds", "agent, auditor", "Refund entitlements.", "PersonRefunds"),
        subject_export_op(),
        feed_op(),
        Op { method: "get", path: "/v1/verify", roles: "auditor", summary: "Recompute every hash and the chain (off the writer's lock, one at a time; more wait their turn). With `shape=cli`, the answer of `navigo-ledger verify --json` (VerifyView) instead of VerifyReport.", params: vec![("shape", "query", json!({"type": "string", "enum": ["cli"]}), "`cli`: answer as the command line prints it.")], body: None, responses: verify },
        Op { method: "post", path: "/v1/partner/check", roles: "partner", summary: "PARTNER-CHECK: {pass_number|client_number, birth_date} -> {code}; rate-limited per partner token.", params: vec![], body: Some(r("PartnerRequest")), responses: partner },
    ];
    v.extend(admin_ops());
    v.extend(replay_ops());
    v.extend(account_ops());
    v.extend(proof_ops());
    v.extend(lists::ops());
    v
}

/// The schemas of the service's small request bodies, beside the events-schema
/// types. Every answer's schema is a view's (`type_schemas`); these bodies are
/// read field by field (`crate::http::extract`), with bounds and alternatives
/// (`oneOf`, a login's length) stated here.
fn request_schemas() -> Vec<(&'static str, Value)> {
    let s = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    vec![
        (
            "PartnerRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["birth_date"],
            "properties": {"pass_number": {"type": "string", "format": "uuid"}, "client_number": r("ClientNumber"), "birth_date": date},
            "oneOf": [{"required": ["pass_number"]}, {"required": ["client_number"]}]}),
        ),
        (
            "AccountRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["login", "password", "client_number", "birth_date"],
            "properties": {"login": {"type": "string", "minLength": 1, "maxLength": LOGIN_CHARS_MAX, "pattern": "\\S"}, "password": s, "client_number": r("ClientNumber"), "birth_date": date}}),
        ),
        (
            "SessionRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["login", "password"], "properties": {"login": s, "password": s}}),
        ),
        (
            "AgainstRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["checkpoint", "public_key"],
            "properties": {"checkpoint": {"type": "string", "description": "The signed note of a checkpoint you kept."},
                           "public_key": {"type": "string", "description": "The verifier key that signed it (`key public`)."}}}),
        ),
        (
            "WhatIfRequest",
            json!({"type": "object", "additionalProperties": false, "required": ["commands"],
            "properties": {"commands": {"type": "array", "items": r("CommandEnvelope"), "minItems": 1, "maxItems": BATCH_COMMANDS_MAX}, "at": date}}),
        ),
    ]
}

/// The events-schema types, each once in `components/schemas` with every type
/// they refer to; and `CommandRequest`: the command envelope as sent over HTTP,
/// whose `actor` and `request_at` the server decides.
fn type_schemas() -> Map<String, Value> {
    use navigo_events_schema::{views, CommandEnvelope};
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    g.subschema_for::<CommandEnvelope>();
    g.subschema_for::<navigo_events_schema::types::ClientNumber>();
    // Every answer of the service: a view, named in components/schemas as the
    // operations refer to it.
    g.subschema_for::<views::ContractStateView>();
    g.subschema_for::<views::ContractBalance>();
    g.subschema_for::<views::DebitCalendar>();
    g.subschema_for::<views::PersonBans>();
    g.subschema_for::<views::PersonRefunds>();
    g.subschema_for::<views::ErrorBody>();
    g.subschema_for::<views::Health>();
    g.subschema_for::<views::Ready>();
    g.subschema_for::<views::CommandAccepted>();
    g.subschema_for::<views::BatchOutcomes>();
    g.subschema_for::<views::FeedPage>();
    g.subschema_for::<views::ListPage>();
    g.subschema_for::<navigo_events_schema::types::ProductKey>();
    g.subschema_for::<views::VerifyAnswer>();
    g.subschema_for::<views::VerifyView>();
    g.subschema_for::<views::ProjectionCheck>();
    g.subschema_for::<views::RebuildSummary>();
    g.subschema_for::<views::PartnerAnswer>();
    g.subschema_for::<views::AccountCreated>();
    g.subschema_for::<views::SessionOpened>();
    g.subschema_for::<views::MyContracts>();
    g.subschema_for::<views::OnlineRenewal>();
    g.subschema_for::<views::Attestation>();
    g.subschema_for::<views::SubjectExport>();
    g.subschema_for::<views::AuditTrail>();
    g.subschema_for::<views::DiffView>();
    g.subschema_for::<views::WhatIfView>();
    proof_views(&mut g);
    let mut defs = g.take_definitions(true);
    for def in defs.values_mut() {
        bound_decimals(def);
    }
    if let Some(mut request) = defs.get("CommandEnvelope").cloned() {
        if let Some(props) = request["properties"].as_object_mut() {
            props.remove("actor");
            props.remove("request_at");
        }
        if let Some(req) = request["required"].as_array_mut() {
            req.retain(|f| f != "actor" && f != "request_at");
        }
        request["description"] = json!("A command as sent over HTTP: the server records the credential's actor and judges the command at its own instant. A body may still carry `actor` (the credential's own, else 403) and `request_at` (within request_skew_seconds_max of the server's instant, else 400).");
        defs.insert("CommandRequest".into(), request);
    }
    defs
}

/// The largest integer a JSON number carries exactly (2^53 - 1).
const JSON_INTEGER_MAX: u64 = 9_007_199_254_740_991;

/// The pattern rust_decimal's schema gives a decimal field (a string or a
/// number, any magnitude and exponent).
const DECIMAL_ANY_PATTERN: &str = "^-?\\d+(\\.\\d+)?([eE]\\d+)?$";

/// Numbers as documented for HTTP clients. A decimal field: a string of at most 15
/// digits before the point and 6 after. Decision: narrower than what the
/// server parses (rust_decimal also takes numbers and exponents, and refuses
/// magnitudes beyond its 96 bits as malformed), so that every decimal a client
/// builds from the document parses; the figures it carries (hours of an
/// activity declaration) are far within it.
fn bound_decimals(v: &mut Value) {
    match v {
        Value::Object(m) => {
            // An unsigned integer: bounded as JSON numbers are exact (2^53 - 1),
            // and as its type is, unless its view states its own bound.
            match m.get("format").and_then(Value::as_str) {
                _ if m.contains_key("maximum") => {}
                Some("uint64") => {
                    m.insert("maximum".into(), json!(JSON_INTEGER_MAX));
                }
                Some("uint32") => {
                    m.insert("maximum".into(), json!(u32::MAX));
                }
                _ => {}
            }
            if m.get("pattern").and_then(Value::as_str) == Some(DECIMAL_ANY_PATTERN) {
                m.insert("type".into(), json!("string"));
                m.insert("pattern".into(), json!("^-?[0-9]{1,15}(\\.[0-9]{1,6})?$"));
            }
            m.values_mut().for_each(bound_decimals);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_decimals),
        _ => {}
    }
}

fn operation(op: &Op, schemas: &Map<String, Value>) -> Value {
    let mut responses = Map::new();
    for (code, what, schema) in &op.responses {
        let mut resp = json!({ "description": what });
        if let Some(s) = schema {
            let media = if op.path == "/metrics" && *code == 200 {
                "text/plain"
            } else if op.path == "/v1/export" && *code == 200 {
                "application/x-ndjson"
            } else {
                "application/json"
            };
            resp["content"] = json!({ media: { "schema": s } });
        }
        responses.insert(code.to_string(), resp);
    }
    let params: Vec<Value> = op
        .params
        .iter()
        .map(|(name, place, schema, what)| {
            json!({"name": name, "in": place, "required": *place == "path", "schema": schema, "description": what})
        })
        .collect();
    let mut v = json!({
        "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.', '-'], "_")),
        "summary": op.summary,
        "description": format!("Roles: {}.", op.roles),
        "responses": responses,
    });
    if !params.is_empty() {
        v["parameters"] = json!(params);
    }
    if op.roles == "none" {
        v["security"] = json!([]);
    }
    if let Some(b) = &op.body {
        v["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    let _ = schemas;
    v
}

/// The document.
pub fn document() -> Value {
    let mut schemas = type_schemas();
    for (name, s) in request_schemas() {
        schemas.insert(name.to_owned(), s);
    }
    let mut paths = Map::new();
    for op in ops() {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation(&op, &schemas);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "navigo-ledger", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The HTTP service of the Navigo Annuel ledger. Who may submit what: docs/roles.md."},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

/// The answers of the checkpoint and proof routes (`routes/proofs.rs`).
fn proof_views(g: &mut schemars::SchemaGenerator) {
    use navigo_events_schema::views;
    g.subschema_for::<views::CheckpointView>();
    g.subschema_for::<views::CheckpointList>();
    g.subschema_for::<views::InclusionProofView>();
    g.subschema_for::<views::ConsistencyProofView>();
    g.subschema_for::<views::StreamProofView>();
    g.subschema_for::<views::AgainstView>();
}

/// The checkpoint and proof routes (`routes/proofs.rs`).
fn proof_ops() -> Vec<Op> {
    // A request that does not fit the ledger (a position beyond the log, an
    // unknown stream, no checkpoint kept, a checkpoint that does not open) is
    // 422 naming the field.
    let read = |schema: &str, unknown: bool| {
        let mut v = vec![ok(r(schema))];
        v.extend(read_errors(unknown));
        with(
            v,
            &[(
                422,
                "well-formed, but does not fit the ledger (field named)",
            )],
        )
    };
    let size_in_path = |name, what| -> Param {
        (
            name,
            "path",
            json!({"type": "integer", "format": "int64", "minimum": 0}),
            what,
        )
    };
    let size = |name, what| -> Param {
        (
            name,
            "query",
            json!({"type": "integer", "format": "int64", "minimum": 0}),
            what,
        )
    };
    let mut issue = vec![(201, "signed and kept", Some(r("CheckpointView")))];
    issue.extend(read_errors(false));
    issue = with(
        issue,
        &[(
            409,
            "the service has no checkpoint key (serve --checkpoint-key)",
        )],
    );
    let mut against = read("AgainstView", false);
    against.extend(write_errors().into_iter().skip(2));
    vec![
        Op { method: "post", path: "/v1/checkpoints", roles: "system", summary: "Sign (with the service's key) and keep a checkpoint of the whole log: origin, size, Merkle root, stream-head map root, last recorded-at (docs/checkpoints.md).", params: vec![], body: None, responses: issue },
        Op { method: "get", path: "/v1/checkpoints", roles: "auditor, system", summary: "Every checkpoint kept, oldest first.", params: vec![], body: None, responses: read("CheckpointList", false) },
        Op { method: "get", path: "/v1/checkpoints/latest", roles: "auditor, system", summary: "The newest checkpoint kept (404 when none).", params: vec![], body: None, responses: read("CheckpointView", true) },
        Op { method: "get", path: "/v1/proofs/inclusion/{position}", roles: "auditor", summary: "The record at `position`, its leaf and its RFC 6962 inclusion proof in the tree of `size` records (the whole log by default).", params: vec![("position", "path", json!({"type": "integer", "format": "int64", "minimum": 1}), "The record's position."), size("size", "The tree's size: that of a checkpoint you hold.")], body: None, responses: read("InclusionProofView", false) },
        Op { method: "get", path: "/v1/proofs/consistency/{old}/{new}", roles: "auditor", summary: "The RFC 6962 proof that the tree of `new` records extends the tree of `old`, with both roots.", params: vec![size_in_path("old", "The older size."), size_in_path("new", "The newer size.")], body: None, responses: read("ConsistencyProofView", false) },
        Op { method: "get", path: "/v1/proofs/streams/{id}", roles: "auditor", summary: "A stream's history is complete as of the newest checkpoint: its stream-head map entry with its proof, and its last record's inclusion proof. `id`: KIND:UUID, or a contract's or person's UUID.", params: vec![("id", "path", json!({"type": "string"}), "The stream.")], body: None, responses: read("StreamProofView", false) },
        Op { method: "post", path: "/v1/proofs/against", roles: "auditor", summary: "Verify every record and the chain, and that the log extends a checkpoint you kept (its signed note, with the verifier key): the size, root or position that differs is named.", params: vec![], body: Some(r("AgainstRequest")), responses: against },
    ]
}
