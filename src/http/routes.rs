//! The router, the authentication middleware and the handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::command::Command;
use navigo_events_schema::types::ClientNumber;
use navigo_events_schema::{CommandEnvelope, Envelope, StreamId};
use navigo_ledger_core::ClockMode;
use navigo_projections::{Query as PQuery, Worlds};
use navigo_rules::account::{self, PartnerIdentifier, PartnerSubject, SubscriptionState};
use navigo_rules::calendar::paris_date;
use navigo_rules::contract::state::Status;
use navigo_rules::Policy;
use navigo_store::next_envelope;
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::Role;
use super::error::ApiError;
use super::*;

/// Who is calling, resolved once by the middleware.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The customer's person (customers only).
    pub person: Option<Uuid>,
}

type Caller = Extension<Option<Principal>>;

/// The extractors of a `GET …/{id}` read (a contract's or a person's views, the
/// audit trail, a diff), in the order axum runs them: the state, the caller, the
/// `{id}` of the path and the query string.
type IdRead = (
    State<Arc<AppState>>,
    Caller,
    Path<String>,
    Query<HashMap<String, String>>,
);

/// The service's router over its state.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.json", get(openapi))
        .route("/v1/commands", post(commands))
        .route("/v1/contracts/{id}/state", get(contract_state))
        .route("/v1/contracts/{id}/balance", get(contract_balance))
        .route("/v1/contracts/{id}/calendar", get(contract_calendar))
        .route("/v1/persons/{id}/bans", get(person_bans))
        .route("/v1/persons/{id}/refunds", get(person_refunds))
        .route("/v1/feed", get(feed))
        .route("/v1/verify", get(verify))
        .route("/v1/audit/{id}", get(audit))
        .route("/v1/diff/{id}", get(diff))
        .route("/v1/what-if/{id}", post(what_if))
        .route("/v1/partner/check", post(partner_check))
        .route("/v1/accounts", post(create_account))
        .route("/v1/sessions", post(open_session))
        .route("/v1/me/contracts", get(my_contracts))
        .route("/v1/me/contracts/{id}/online-renewal", get(online_renewal))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(state)
}

/// Resolves the caller, bounds the request's time and logs it (request id, role,
/// status, latency; never a header value, body or path id).
async fn authenticate(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut rid = [0u8; 8];
    let request_id = match getrandom::getrandom(&mut rid) {
        Ok(()) => hex::encode(rid),
        Err(_) => "-".to_owned(),
    };
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let principal = match token {
        None => None,
        Some(t) => {
            st.refresh_auth().await;
            let role = st.auth.read().await.0.role_of_token(&t);
            match role {
                Some(role) => Some(Principal { role, person: None }),
                None => st
                    .sessions
                    .read()
                    .await
                    .get(&blake3::hash(t.as_bytes()))
                    .map(|p| Principal {
                        role: Role::Customer,
                        person: Some(*p),
                    }),
            }
        }
    };
    let method = req.method().clone();
    // The route template, not the path: the path may carry a person's id.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "-".to_owned());
    req.extensions_mut().insert(principal);
    let resp = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Internal(format!(
            "the request took longer than {} s (request_timeout)",
            REQUEST_TIMEOUT.as_secs()
        ))
        .into_response(),
    };
    tracing::info!(
        request_id,
        %method,
        route,
        role = principal.map_or("-", |p| p.role.as_str()),
        status = resp.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

fn require(p: &Option<Principal>, allowed: &[Role], what: &str) -> Result<Principal, ApiError> {
    match p {
        None => Err(ApiError::Unauthorized),
        Some(p) if allowed.contains(&p.role) => Ok(*p),
        Some(p) => Err(ApiError::Forbidden(format!(
            "the role {} may not {what}",
            p.role.as_str()
        ))),
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(st): State<Arc<AppState>>) -> Json<Value> {
    let position = st.ledger.lock().await.world().position;
    Json(json!({"status": "ready", "head_position": position}))
}

async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

/// The role a command needs: the billing clock and bank returns are the
/// system's; every other command is an agent's. Decision (issue 7 is silent):
/// an agent may not run the clock nor record bank returns, so that those come
/// from one accountable source.
fn role_for(cmd: &Command) -> Role {
    match cmd {
        Command::AdvanceClock(_)
        | Command::RecordDebitPresented(_)
        | Command::RecordDebitRejected(_) => Role::System,
        _ => Role::Agent,
    }
}

/// The field a serde error is about: named in the message, else the last key
/// before the error's column in the compact text.
fn field_of(text: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for kind in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.split(kind).nth(1) {
            return rest.split('`').next().unwrap_or("-").to_owned();
        }
    }
    // Internally tagged enums buffer their content, so the error's column points
    // at the end of the object: find the offending value in the JSON instead.
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let bad_date = |x: &Value| {
            x.as_str().is_some_and(|s| {
                s.len() == 10
                    && s.as_bytes().get(4) == Some(&b'-')
                    && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err()
            })
        };
        if let Some(path) = find_key(&v, "", &bad_date) {
            return path;
        }
        for prefix in ["invalid type: string \"", "invalid value: string \""] {
            if let Some(rest) = msg.split(prefix).nth(1) {
                let wanted = rest.split('"').next().unwrap_or_default().to_owned();
                if let Some(path) =
                    find_key(&v, "", &|x: &Value| x.as_str() == Some(wanted.as_str()))
                {
                    return path;
                }
            }
        }
        for prefix in [
            "invalid type: integer `",
            "invalid value: integer `",
            "invalid type: floating point `",
        ] {
            if let Some(rest) = msg.split(prefix).nth(1) {
                let wanted = rest.split('`').next().unwrap_or_default().to_owned();
                if let Some(path) = find_key(&v, "", &|x: &Value| {
                    x.as_f64()
                        .is_some_and(|n| wanted.parse::<f64>().is_ok_and(|w| w == n))
                }) {
                    return path;
                }
            }
        }
    }
    crate::cli::apply::last_key_before(text, e.column())
}

/// The dotted path of the first key whose value satisfies `bad`.
fn find_key(v: &Value, at: &str, bad: &dyn Fn(&Value) -> bool) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if bad(x) {
                Some(path)
            } else {
                find_key(x, &path, bad)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_key(x, &format!("{at}[{i}]"), bad)),
        _ => None,
    }
}

/// `If-Match: "<version>"` (an ETag of a contract's state; a weak `W/` prefix
/// is accepted, `*` is not: it would expect nothing).
fn parse_if_match(v: &axum::http::HeaderValue) -> Result<u64, ApiError> {
    let text = v.to_str().unwrap_or("");
    let tag = text.trim().trim_start_matches("W/");
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad(
                "If-Match",
                format!("{text:?} is not an ETag of a contract's state, e.g. \"12\""),
            )
        })
}

fn parse_command(item: &Value, index: Option<usize>) -> Result<CommandEnvelope, ApiError> {
    let text = item.to_string();
    serde_json::from_str(&text).map_err(|e| {
        let field = field_of(&text, &e);
        let field = match index {
            Some(i) => format!("[{i}].{field}"),
            None => field,
        };
        ApiError::BadRequest {
            field,
            message: e.to_string(),
        }
    })
}

fn accepted_json(events: &[Envelope]) -> Value {
    json!({
        "status": "accepted",
        "events": events.iter().map(crate::cli::apply::envelope_json).collect::<Vec<_>>(),
    })
}

/// POST /v1/commands: one command envelope, or an array of at most
/// [`BATCH_COMMANDS_MAX`]. Every command of a batch is parsed and authorised
/// before any is judged (a malformed or forbidden one rejects the whole batch,
/// nothing appended); then each is judged on its own, like `navigo-ledger apply`,
/// and the answer lists each outcome. An `Idempotency-Key` header makes a retry
/// return the first answer without judging again.
async fn commands(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = require(&p, &[Role::Agent, Role::System], "submit commands")?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= 200)
                .ok_or_else(|| {
                    ApiError::bad("Idempotency-Key", "1 to 200 visible ASCII characters")
                })?
                .to_owned(),
        ),
        None => None,
    };
    let if_match = match headers.get(axum::http::header::IF_MATCH) {
        Some(v) => Some(parse_if_match(v)?),
        None => None,
    };
    let body_hash = blake3::hash(&body);
    if let Some(k) = &key {
        if let Some((h, status, answer)) = st.idempotency.lock().await.get(k) {
            if *h != body_hash {
                return Err(ApiError::Conflict(format!(
                    "Idempotency-Key {k:?} was used for a different request; use a new key"
                )));
            }
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            return Ok((status, Json(answer.clone())).into_response());
        }
    }
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad("body", e.to_string()))?;
    let (mut cmds, batch) = match &v {
        Value::Array(items) => {
            if items.len() > BATCH_COMMANDS_MAX {
                return Err(ApiError::bad(
                    "body",
                    format!(
                        "{} commands exceed batch_commands_max ({BATCH_COMMANDS_MAX})",
                        items.len()
                    ),
                ));
            }
            if items.is_empty() {
                return Err(ApiError::bad("body", "an empty batch"));
            }
            let cmds = items
                .iter()
                .enumerate()
                .map(|(i, it)| parse_command(it, Some(i)))
                .collect::<Result<Vec<_>, _>>()?;
            (cmds, true)
        }
        other => (vec![parse_command(other, None)?], false),
    };
    if let Some(v) = if_match {
        // If-Match names one stream version: it fits one command, not a batch
        // (each command of a batch carries its own expected_version).
        if batch {
            return Err(ApiError::bad(
                "If-Match",
                "applies to a single command; give each command of a batch its own \
                 expected_version",
            ));
        }
        match cmds[0].expected_version {
            Some(e) if e != v => {
                return Err(ApiError::bad(
                    "If-Match",
                    format!("version {v} disagrees with the body's expected_version {e}"),
                ))
            }
            _ => cmds[0].expected_version = Some(v),
        }
    }
    for (i, c) in cmds.iter_mut().enumerate() {
        let need = role_for(&c.command);
        if need != p.role {
            return Err(ApiError::Forbidden(format!(
                "command {i} needs the role {}, not {}",
                need.as_str(),
                p.role.as_str()
            )));
        }
        if let (Some(k), None) = (&key, &c.idempotency_key) {
            c.idempotency_key = Some(format!("http:{k}:{i}"));
        }
    }
    let mut ledger = st.ledger.lock().await;
    let (status, answer) = if batch {
        let mut outcomes = Vec::with_capacity(cmds.len());
        for c in &cmds {
            match ledger.execute(c, ClockMode::Service).await {
                Ok(events) => outcomes.push(accepted_json(&events)),
                Err(e) => {
                    let e = ApiError::from(e);
                    let mut b = e.body();
                    b["status"] = json!(e.status().as_u16());
                    outcomes.push(b);
                }
            }
        }
        (StatusCode::OK, json!({ "outcomes": outcomes }))
    } else {
        match ledger.execute(&cmds[0], ClockMode::Service).await {
            Ok(events) => (StatusCode::CREATED, accepted_json(&events)),
            Err(e) => {
                let e = ApiError::from(e);
                (e.status(), e.body())
            }
        }
    };
    drop(ledger);
    st.appended.notify_waiters();
    if let Some(k) = key {
        let mut map = st.idempotency.lock().await;
        if map.len() >= IDEMPOTENCY_KEYS_MAX {
            // Decision: the in-memory answers are bounded; accepted commands stay
            // idempotent beyond the bound through the ledger's own keys.
            map.clear();
        }
        map.insert(k, (body_hash, status.as_u16(), answer.clone()));
    }
    Ok((status, Json(answer)).into_response())
}

/// Parses `at` and `known_at` (and nothing else) against now.
fn parse_query(q: &HashMap<String, String>, now: DateTime<Utc>) -> Result<PQuery, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "at" && *k != "known_at") {
        return Err(ApiError::bad(
            k,
            "unknown query parameter; use at and known_at",
        ));
    }
    let at = match q.get("at") {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| ApiError::bad("at", format!("{s:?} is not a date YYYY-MM-DD: {e}")))?,
        None => paris_date(now),
    };
    let known_at = match q.get("known_at") {
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad("known_at", format!("{s:?} is not an RFC 3339 instant: {e}"))
                })?;
            if t > now {
                return Err(ApiError::bad(
                    "known_at",
                    "is in the future; nothing is known after now",
                ));
            }
            Some(t)
        }
        None => None,
    };
    Ok(PQuery { at, known_at })
}

fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|e| ApiError::bad("id", format!("not a UUID: {e}")))
}

/// Every stored event: the cached ones plus those appended since (read from the
/// store under the writer's lock, so the copy is never torn).
async fn all_events(st: &AppState) -> Result<Arc<Vec<Envelope>>, ApiError> {
    let ledger = st.ledger.lock().await;
    let mut cache = st.events.lock().await;
    let head = ledger.world().position;
    let have = cache.last().map_or(0, |e| e.position);
    if have < head {
        let events = Arc::make_mut(&mut cache);
        let mut s = ledger.store().read_all(have + 1);
        while let Some(e) = next_envelope(&mut s).await {
            events.push(e?);
        }
    }
    Ok(cache.clone())
}

/// Whether a customer may read a contract: they hold it or pay it (now or ever).
/// An unknown contract and another customer's are both 404, so ids cannot be
/// probed.
async fn may_read_contract(st: &AppState, p: &Principal, contract: Uuid) -> Result<(), ApiError> {
    let Some(person) = p.person else {
        return Ok(());
    };
    let ledger = st.ledger.lock().await;
    let w = ledger.world();
    let theirs = w
        .contract(contract)
        .is_some_and(|c| c.holder == person || c.payer == person)
        || w.by_payer
            .get(&person)
            .is_some_and(|s| s.contains(&contract));
    if theirs {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no contract {contract} among yours"
        )))
    }
}

const READERS: &[Role] = &[Role::Agent, Role::Auditor, Role::Customer];

async fn contract_read(
    st: &AppState,
    p: Option<Principal>,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<(Uuid, PQuery, Vec<Envelope>), ApiError> {
    let p = require(&p, READERS, "read contracts")?;
    let id = parse_id(id)?;
    let q = parse_query(q, st.clock.now())?;
    may_read_contract(st, &p, id).await?;
    // The contract's slice of the live world (its stream, the catalogue, the
    // persons and contracts its state reads), not the whole log: a read costs
    // the contract's history, not the ledger's (equal views:
    // tests/projections_slice.rs).
    let ledger = st.ledger.lock().await;
    let events = navigo_projections::slice::contract_slice(ledger.world(), id)
        .ok_or_else(|| not_found(navigo_projections::ProjectionError::UnknownContract(id)))?;
    Ok((id, q, events))
}

fn not_found(e: navigo_projections::ProjectionError) -> ApiError {
    ApiError::NotFound(e.to_string())
}

/// A view as the JSON body of a 200 answer; a serialisation failure is a 500.
fn view_json<T: serde::Serialize>(view: T) -> Result<Json<Value>, ApiError> {
    serde_json::to_value(view)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

async fn contract_state(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Response, ApiError> {
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let worlds = Worlds::new(&events, &q);
    let view = navigo_projections::state::contract_state_in(&worlds, id, &q).map_err(not_found)?;
    // The ETag is the contract stream's version in this reading: sent back as
    // If-Match with a command, it makes the command a conflict (409) if anything
    // was recorded on the contract since (optimistic concurrency).
    let version = worlds.known.version(StreamId::contract(id));
    let etag = format!("\"{version}\"");
    Ok(([(axum::http::header::ETAG, etag)], view_json(view)?).into_response())
}

async fn contract_balance(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let worlds = Worlds::new(&events, &q);
    let view =
        navigo_projections::balance::contract_balance_in(&worlds.at, id, &q).map_err(not_found)?;
    view_json(view)
}

/// The calendar of a contract; besides `at` and `known_at` it takes `horizon`,
/// the months after the month read, within the bound the CLI has
/// (`CALENDAR_HORIZON_MONTHS_MAX`): beyond it, a 400 naming the bound.
async fn contract_calendar(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    if let Some(k) = q
        .keys()
        .find(|k| !["at", "known_at", "horizon"].contains(&k.as_str()))
    {
        return Err(ApiError::bad(
            k,
            "unknown query parameter; use at, known_at and horizon",
        ));
    }
    let horizon = match q.remove("horizon") {
        Some(s) => Some(
            s.parse::<navigo_projections::calendar::Horizon>()
                .map_err(|e| ApiError::bad("horizon", e.to_string()))?,
        ),
        None => None,
    };
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let view = navigo_projections::calendar::calendar(&events, id, &q, &Policy::default(), horizon)
        .map_err(|e| match e {
            navigo_projections::ProjectionError::CalendarTooLong { .. } => {
                ApiError::bad("at", e.to_string())
            }
            navigo_projections::ProjectionError::Horizon(_) => {
                ApiError::bad("horizon", e.to_string())
            }
            _ => not_found(e),
        })?;
    view_json(view)
}

/// Person reads are for agents and auditors: a customer reads through their
/// contracts (decision: their person id is not a capability they are given).
async fn person_read(
    st: &AppState,
    p: Option<Principal>,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<(Uuid, PQuery, Vec<Envelope>), ApiError> {
    require(&p, &[Role::Agent, Role::Auditor], "read persons")?;
    let id = parse_id(id)?;
    let q = parse_query(q, st.clock.now())?;
    // The person's slice of the live world (their stream, their contracts, the
    // findings naming them, the reference streams), not the whole log (equal
    // views: tests/projections_slice.rs).
    let ledger = st.ledger.lock().await;
    let events = navigo_projections::slice::person_slice(ledger.world(), id)
        .ok_or_else(|| not_found(navigo_projections::ProjectionError::UnknownPerson(id)))?;
    Ok((id, q, events))
}

async fn person_bans(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let view = navigo_projections::bans::person_bans(&events, id, &q).map_err(not_found)?;
    view_json(view)
}

async fn person_refunds(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let worlds = Worlds::new(&events, &q);
    let view =
        navigo_projections::refunds::person_refunds_in(&worlds, id, &q).map_err(not_found)?;
    view_json(view)
}

fn query_u64(q: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|e| ApiError::bad(name, format!("{s:?} is not a whole number: {e}"))),
    }
}

/// GET /v1/feed?from=P&limit=N&wait_ms=W: the events from position P (at most
/// N, bounded by [`FEED_PAGE_MAX`]), with `next_from` to resume from. When there
/// is nothing yet, waits up to W ms (long-poll) for an append.
async fn feed(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(
        &p,
        &[Role::Agent, Role::Auditor, Role::System],
        "read the feed",
    )?;
    if let Some(k) = q
        .keys()
        .find(|k| !["from", "limit", "wait_ms"].contains(&k.as_str()))
    {
        return Err(ApiError::bad(
            k,
            "unknown query parameter; use from, limit, wait_ms",
        ));
    }
    let from = query_u64(&q, "from", 1)?.max(1);
    let limit = query_u64(&q, "limit", FEED_PAGE_MAX as u64)?;
    if limit == 0 || limit > FEED_PAGE_MAX as u64 {
        return Err(ApiError::bad(
            "limit",
            format!("1 to feed_page_max ({FEED_PAGE_MAX})"),
        ));
    }
    let wait = query_u64(&q, "wait_ms", 0)?;
    if wait > FEED_WAIT_MS_MAX {
        return Err(ApiError::bad(
            "wait_ms",
            format!("at most feed_wait_ms_max ({FEED_WAIT_MS_MAX})"),
        ));
    }
    let deadline = Instant::now() + Duration::from_millis(wait);
    loop {
        // Registered before reading so that an append in between still wakes us.
        let notified = st.appended.notified();
        let (events, head) = {
            let ledger = st.ledger.lock().await;
            let head = ledger.world().position;
            let mut out = Vec::new();
            if from <= head {
                let mut s = ledger.store().read_all(from);
                while out.len() < limit as usize {
                    match next_envelope(&mut s).await {
                        Some(e) => out.push(e?),
                        None => break,
                    }
                }
            }
            (out, head)
        };
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            let next_from = events.last().map_or(from, |e| e.position + 1);
            let events = events
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            return Ok(Json(
                json!({"events": events, "next_from": next_from, "head_position": head}),
            ));
        }
        let _ = tokio::time::timeout(deadline - now, notified).await;
    }
}

/// GET /v1/verify: recomputes every hash and the chain (auditors).
async fn verify(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "verify the ledger")?;
    let ledger = st.ledger.lock().await;
    let r = ledger.store().verify()?;
    Ok(Json(json!({
        "ok": r.is_ok(),
        "records_checked": r.records_checked,
        "streams": r.streams,
        "head_position": r.head.position,
        "head_hash": r.head.hash.to_string(),
        "first_bad": r.first_bad.as_ref().map(|b| json!({"position": b.position, "problem": format!("{:?}", b.problem)})),
    })))
}

fn body_object(body: &Bytes, allowed: &[&str]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad("body", e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(ApiError::bad("body", "a JSON object"));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad(
            k,
            format!("unknown field; expected {}", allowed.join(", ")),
        ));
    }
    Ok(m)
}

fn str_field<'a>(
    m: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(name, "a string")),
    }
}

fn date_field(m: &serde_json::Map<String, Value>, name: &str) -> Result<NaiveDate, ApiError> {
    let s = str_field(m, name)?.ok_or_else(|| ApiError::bad(name, "missing"))?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| ApiError::bad(name, format!("{s:?} is not a date YYYY-MM-DD: {e}")))
}

/// POST /v1/partner/check (`PARTNER-CHECK`): `{pass_number | client_number,
/// birth_date}` → `{"code": "00" | "01" | "02"}` and nothing else. Decision: the
/// ledger has no separate pass number; a pass is identified by its contract id.
async fn partner_check(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Partner], "run the partner validity check")?;
    let m = body_object(&body, &["pass_number", "client_number", "birth_date"])?;
    let birth = date_field(&m, "birth_date")?;
    let id = match (
        str_field(&m, "pass_number")?,
        str_field(&m, "client_number")?,
    ) {
        (Some(p), None) => PartnerIdentifier::Pass(p.to_owned()),
        (None, Some(c)) => PartnerIdentifier::Client(
            c.parse::<ClientNumber>()
                .map_err(|e| ApiError::bad("client_number", e.to_string()))?,
        ),
        _ => {
            return Err(ApiError::bad(
                "pass_number",
                "give exactly one of pass_number and client_number",
            ))
        }
    };
    let today = paris_date(st.clock.now());
    let ledger = st.ledger.lock().await;
    let w = ledger.world();
    // The only persons who can match: those of the client number, or the holder
    // of the contract the pass number names (a pass is its contract's id), read
    // through the world's indexes instead of a scan of every person.
    let candidates: Vec<&navigo_rules::world::PersonState> = match &id {
        PartnerIdentifier::Client(c) => w.persons_by_client_number(c.as_str()).collect(),
        PartnerIdentifier::Pass(pass) => pass
            .parse::<Uuid>()
            .ok()
            .and_then(|contract| w.contract(contract))
            .and_then(|c| w.person(c.holder))
            .into_iter()
            .collect(),
    };
    let mut owned: Vec<(Uuid, Vec<String>, SubscriptionState)> = Vec::new();
    for person in candidates {
        let mut passes = Vec::new();
        let mut state = SubscriptionState::None;
        for c in w.contracts_of_holder(person.id) {
            passes.push(c.id.to_string());
            match c.status_on(today) {
                Some(Status::Active) => state = SubscriptionState::Active,
                Some(Status::Suspended { .. }) if state == SubscriptionState::None => {
                    state = SubscriptionState::Suspended
                }
                _ => {}
            }
        }
        owned.push((person.id, passes, state));
    }
    let subjects: Vec<PartnerSubject<'_>> = owned
        .iter()
        .filter_map(|(pid, passes, state)| {
            w.persons.get(pid).map(|person| PartnerSubject {
                client_number: &person.client_number,
                pass_numbers: passes,
                birth_date: person.birth_date,
                state: *state,
            })
        })
        .collect();
    let code = account::partner_check(&id, birth, &subjects);
    Ok(Json(json!({ "code": code.code() })))
}

/// POST /v1/accounts `{login, password, client_number, birth_date}`: a customer
/// creates their personal-space account (`ACC-PASSWORD`, `ACC-LINK`), with the
/// same rules as `navigo-ledger account create`, while the ledger is served.
/// 201 created; 422 refused with the rule (never saying which of the client
/// number and the birth date did not match); 409 a login taken; 400 malformed.
async fn create_account(
    State(st): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = body_object(&body, &["login", "password", "client_number", "birth_date"])?;
    let login = str_field(&m, "login")?
        .filter(|l| !l.trim().is_empty() && l.chars().count() <= LOGIN_CHARS_MAX)
        .ok_or_else(|| ApiError::bad("login", format!("1 to {LOGIN_CHARS_MAX} characters")))?;
    let password =
        str_field(&m, "password")?.ok_or_else(|| ApiError::bad("password", "missing"))?;
    let client: ClientNumber = str_field(&m, "client_number")?
        .ok_or_else(|| ApiError::bad("client_number", "missing"))?
        .parse()
        .map_err(|e| ApiError::bad("client_number", format!("{e}")))?;
    let birth = date_field(&m, "birth_date")?;
    let today = paris_date(st.clock.now());
    let attempt = format!("account:{client}");
    st.may_attempt(&attempt).await?;
    // The ledger's lock also serialises writers of the auth file.
    let ledger = st.ledger.lock().await;
    let created = auth::create_account(
        ledger.world(),
        &st.auth_path,
        login,
        &client,
        birth,
        password,
        today,
    );
    drop(ledger);
    // A failed link counts (it is what guessing a birth date looks like); only a
    // created account forgets the failures (another refusal must not reset them).
    match &created {
        Ok(_) => st.attempted(&attempt, true).await,
        Err(auth::AccountError::Refused(r)) if r.rule == navigo_events_schema::RuleId::AccLink => {
            st.attempted(&attempt, false).await
        }
        Err(_) => {}
    }
    match created {
        Ok(_) => Ok((StatusCode::CREATED, Json(json!({"status": "created"}))).into_response()),
        Err(auth::AccountError::Refused(r)) => Err(ApiError::Refused(r)),
        Err(e @ auth::AccountError::LoginTaken(_)) => Err(ApiError::Conflict(e.to_string())),
        Err(auth::AccountError::Storage(e)) => Err(ApiError::Internal(e.to_string())),
    }
}

/// POST /v1/sessions `{login, password}` → `{token}`: a customer session.
async fn open_session(
    State(st): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body_object(&body, &["login", "password"])?;
    let login = str_field(&m, "login")?.ok_or_else(|| ApiError::bad("login", "missing"))?;
    let password =
        str_field(&m, "password")?.ok_or_else(|| ApiError::bad("password", "missing"))?;
    let attempt = format!("session:{login}");
    st.may_attempt(&attempt).await?;
    st.refresh_auth().await;
    let account = st.auth.read().await.0.accounts.get(login).cloned();
    // The same answer for an unknown login and a wrong password.
    let Some(account) = account.filter(|a| auth::verify_password(password, &a.password_hash))
    else {
        st.attempted(&attempt, false).await;
        return Err(ApiError::Unauthorized);
    };
    st.attempted(&attempt, true).await;
    let mut bytes = [0u8; auth::TOKEN_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = format!("nvs_{}", hex::encode(bytes));
    let mut sessions = st.sessions.write().await;
    if sessions.len() >= SESSIONS_MAX {
        sessions.clear();
    }
    sessions.insert(blake3::hash(token.as_bytes()), account.person);
    Ok(Json(json!({ "token": token })))
}

/// GET /v1/me/contracts: the contracts the customer holds or pays.
async fn my_contracts(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
) -> Result<Json<Value>, ApiError> {
    let p = require(&p, &[Role::Customer], "list their own contracts")?;
    let person = p.person.ok_or(ApiError::Unauthorized)?;
    let ledger = st.ledger.lock().await;
    let w = ledger.world();
    let ids: Vec<String> = w
        .contracts
        .values()
        .filter(|c| c.holder == person || c.payer == person)
        .map(|c| c.id.to_string())
        .collect();
    Ok(Json(json!({ "contracts": ids })))
}

/// GET /v1/me/contracts/{id}/online-renewal (`ACC-MINOR-RENEW`): may the
/// customer renew this contract online?
async fn online_renewal(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = require(&p, &[Role::Customer], "renew online")?;
    let id = parse_id(&id)?;
    may_read_contract(&st, &p, id).await?;
    let ledger = st.ledger.lock().await;
    let w = ledger.world();
    let birth = w
        .contract(id)
        .and_then(|c| w.persons.get(&c.holder))
        .map(|h| h.birth_date)
        .ok_or_else(|| ApiError::NotFound(format!("no contract {id} among yours")))?;
    account::check_online_renewal(birth, paris_date(st.clock.now())).map_err(ApiError::Refused)?;
    Ok(Json(json!({ "online_renewal": true })))
}

/// A replay error: an unknown id is 404, anything else 500.
fn replay_error(e: navigo_replay::ReplayError) -> ApiError {
    match e {
        navigo_replay::ReplayError::Projection(p) => ApiError::NotFound(p.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// GET /v1/audit/{id}?known_at=T: the audit trail of a contract or a person
/// (issue 5's `navigo_replay::audit`), for auditors.
pub(crate) async fn audit(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read the audit trail")?;
    let id = parse_id(&id)?;
    if let Some(k) = q.keys().find(|k| *k != "known_at") {
        return Err(ApiError::bad(k, "unknown query parameter; use known_at"));
    }
    let known_at = parse_query(&q, st.clock.now())?.known_at;
    let events = all_events(&st).await?;
    let entries = navigo_replay::audit::audit(&events, id, known_at).map_err(replay_error)?;
    Ok(Json(json!({
        "id": id,
        "entries": entries.iter().map(crate::cli::audit::entry_json).collect::<Vec<_>>(),
    })))
}

/// GET /v1/diff/{id}?from_at&from_known_at&to_at&to_known_at: what changed in a
/// contract's views between two readings and which events caused it (auditors).
pub(crate) async fn diff(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read a diff")?;
    let id = parse_id(&id)?;
    let allowed = ["from_at", "from_known_at", "to_at", "to_known_at"];
    if let Some(k) = q.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad(
            k,
            format!("unknown query parameter; use {}", allowed.join(", ")),
        ));
    }
    let now = st.clock.now();
    let side = |prefix: &str| -> Result<PQuery, ApiError> {
        let mut m = HashMap::new();
        for k in ["at", "known_at"] {
            if let Some(v) = q.get(&format!("{prefix}_{k}")) {
                m.insert(k.to_owned(), v.clone());
            }
        }
        parse_query(&m, now).map_err(|e| match e {
            ApiError::BadRequest { field, message } => ApiError::BadRequest {
                field: format!("{prefix}_{field}"),
                message,
            },
            other => other,
        })
    };
    let (a, b) = (side("from")?, side("to")?);
    let events = all_events(&st).await?;
    let d = navigo_replay::diff::diff(&events, id, &a, &b).map_err(replay_error)?;
    Ok(Json(json!({
        "id": id,
        "from": {"at": a.at, "known_at": a.known_at},
        "to": {"at": b.at, "known_at": b.known_at},
        "changes": d.changes.iter().map(|c| json!({
            "path": c.path, "before": c.before, "after": c.after, "caused_by": c.caused_by})).collect::<Vec<_>>(),
        "events": d.causes.iter().map(|c| json!({
            "position": c.envelope.position, "type": c.envelope.event.type_name(),
            "recorded_at": c.envelope.recorded_at, "effective_date": c.envelope.effective_date,
            "rules": c.rules, "explanation": c.explanation, "hash": c.envelope.hash.to_string()})).collect::<Vec<_>>(),
    })))
}

/// POST /v1/what-if/{contract} `{commands: [...], at?}`: hypothetical commands
/// layered on a contract, read beside the actual views; nothing is appended.
/// Decision: agents (who would submit the commands) and auditors may ask.
pub(crate) async fn what_if(
    State(st): State<Arc<AppState>>,
    Extension(p): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Agent, Role::Auditor], "run a what-if")?;
    let id = parse_id(&id)?;
    let m = body_object(&body, &["commands", "at"])?;
    let at = match str_field(&m, "at")? {
        Some(_) => Some(date_field(&m, "at")?),
        None => None,
    };
    let Some(Value::Array(items)) = m.get("commands") else {
        return Err(ApiError::bad("commands", "an array of command envelopes"));
    };
    if items.is_empty() || items.len() > BATCH_COMMANDS_MAX {
        return Err(ApiError::bad(
            "commands",
            format!("1 to batch_commands_max ({BATCH_COMMANDS_MAX}) commands"),
        ));
    }
    let cmds = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            parse_command(it, Some(i)).map_err(|e| match e {
                ApiError::BadRequest { field, message } => ApiError::BadRequest {
                    field: format!("commands{field}"),
                    message,
                },
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events = all_events(&st).await?;
    let w = navigo_replay::whatif::what_if(&events, id, &cmds, at).map_err(replay_error)?;
    let outcomes: Vec<Value> = w
        .outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(evs) => json!({"request_at": o.request_at, "command": o.command,
                "accepted": evs.iter().map(|(t, d)| json!({"type": t, "effective_date": d})).collect::<Vec<_>>()}),
            Err(r) => json!({"request_at": o.request_at, "command": o.command, "refused": r}),
        })
        .collect();
    Ok(Json(
        json!({"contract": id, "at": w.at, "set_aside": w.set_aside,
        "outcomes": outcomes, "actual": w.actual, "hypothetical": w.hypothetical}),
    ))
}
