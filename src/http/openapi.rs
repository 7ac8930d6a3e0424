//! The OpenAPI document, generated from the code: the paths of the router and
//! the schemars schemas of the events-schema types (no second schema system).
//! Committed as docs/openapi.json; a test fails when the two drift.

use serde_json::{json, Map, Value};

/// (method, path, roles, summary, request schema, response schema).
type Op = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const OPS: &[Op] = &[
    ("get", "/health", "none", "Liveness.", None, None),
    ("get", "/ready", "none", "Readiness and head position.", None, None),
    ("get", "/openapi.json", "none", "This document.", None, None),
    ("post", "/v1/commands", "agent; system (clock, bank returns)", "Submit one command or a batch; Idempotency-Key honoured; optimistic concurrency by If-Match (the ETag of the contract's state) or each command's expected_version. 201 accepted, 422 refused (rule, article), 409 conflict (the subject stream moved; nothing appended), 400 malformed (field).", Some("CommandEnvelope"), None),
    ("get", "/v1/contracts/{id}/state", "agent, auditor, customer (own)", "Contract state at `at`, as known at `known_at`; ETag: the contract stream's version in that reading (send it back as If-Match).", None, Some("ContractStateView")),
    ("get", "/v1/contracts/{id}/balance", "agent, auditor, customer (own)", "Contract balance.", None, Some("ContractBalance")),
    ("get", "/v1/contracts/{id}/calendar", "agent, auditor, customer (own)", "Debit calendar at `at`, as known at `known_at`, from the contract's start through `horizon` months after the month of `at` (default 24; at most 120, CALENDAR_HORIZON_MONTHS_MAX: a larger horizon is a 400 naming the bound).", None, Some("DebitCalendar")),
    ("get", "/v1/persons/{id}/bans", "agent, auditor", "Ban windows.", None, Some("PersonBans")),
    ("get", "/v1/persons/{id}/refunds", "agent, auditor", "Refund entitlements.", None, Some("PersonRefunds")),
    ("get", "/v1/feed", "agent, auditor, system", "Events from position `from` (limit, wait_ms long-poll) and `next_from`.", None, None),
    ("get", "/v1/verify", "auditor", "Recompute every hash and the chain.", None, None),
    ("get", "/v1/audit/{id}", "auditor", "Audit trail of a contract or person, as known at `known_at`.", None, None),
    ("get", "/v1/diff/{id}", "auditor", "What changed between two readings (from_at, from_known_at, to_at, to_known_at) and why.", None, None),
    ("post", "/v1/what-if/{id}", "agent, auditor", "Hypothetical commands {commands, at?} read beside the actual views; nothing appended.", None, None),
    ("post", "/v1/partner/check", "partner", "PARTNER-CHECK: {pass_number|client_number, birth_date} -> {code}.", None, None),
    ("post", "/v1/accounts", "none", "ACC-PASSWORD, ACC-LINK: a customer creates a personal-space account {login, password, client_number, birth_date}. 201 created, 422 refused (rule), 409 login taken, 429 after 5 failed links of a client number within 15 minutes.", None, None),
    ("post", "/v1/sessions", "none", "Open a customer session: {login, password} -> {token}; 429 after 5 failures of a login within 15 minutes.", None, None),
    ("get", "/v1/me/contracts", "customer", "Contracts the customer holds or pays.", None, None),
    ("get", "/v1/me/contracts/{id}/online-renewal", "customer (own)", "ACC-MINOR-RENEW.", None, None),
];

fn schema(name: &str) -> Value {
    use navigo_events_schema::{views, CommandEnvelope};
    let s = match name {
        "CommandEnvelope" => schemars::schema_for!(CommandEnvelope),
        "ContractStateView" => schemars::schema_for!(views::ContractStateView),
        "ContractBalance" => schemars::schema_for!(views::ContractBalance),
        "DebitCalendar" => schemars::schema_for!(views::DebitCalendar),
        "PersonBans" => schemars::schema_for!(views::PersonBans),
        _ => schemars::schema_for!(views::PersonRefunds),
    };
    serde_json::to_value(s).unwrap_or(Value::Null)
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for (method, path, roles, summary, req, resp) in OPS {
        let mut op = json!({
            "summary": summary,
            "description": format!("Roles: {roles}."),
            "responses": {"200": {"description": "OK"}, "400": {"description": "bad input (field named)"},
                          "401": {"description": "no credentials"}, "403": {"description": "role without the right"}},
        });
        if roles.starts_with("none") {
            op["security"] = json!([]);
        }
        if let Some(r) = req {
            op["requestBody"] = json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{r}")}}}});
            schemas.insert((*r).to_owned(), schema(r));
        }
        if let Some(r) = resp {
            op["responses"]["200"]["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{r}")}}});
            schemas.insert((*r).to_owned(), schema(r));
        }
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "navigo-ledger", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    })
}
