//! The router, the middleware every request goes through, and what the
//! handlers (one module per resource) share.

mod accounts;
mod commands;

pub use commands::IDEMPOTENCY_KEY_CHARS_MAX;
mod contracts;
mod feed;
mod ops;
mod partner;
mod persons;
mod replay;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::Envelope;
use navigo_projections::Query as PQuery;
use navigo_rules::calendar::paris_date;
use navigo_store::{next_envelope, EventStore};
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::Role;
use super::error::ApiError;
use super::*;

/// Who is calling, resolved once by the middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The token's name, recorded as the actor of its commands and in the
    /// request log (`customer` for a customer session: a person id is personal
    /// data and stays out of the log).
    pub name: String,
    /// The customer's person (customers only).
    pub person: Option<Uuid>,
}

/// The caller: none, a principal, or a customer session that has ended.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credentials, or unknown ones.
    Anonymous,
    /// A session token that has expired or was closed.
    Ended,
    /// Authenticated.
    Known(Principal),
}

type CallerExt = Extension<Caller>;

/// The extractors of a `GET …/{id}` read (a contract's or a person's views, the
/// audit trail, a diff), in the order axum runs them: the state, the caller, the
/// `{id}` of the path and the query string.
type IdRead = (
    State<Arc<AppState>>,
    CallerExt,
    Path<String>,
    Query<HashMap<String, String>>,
);

/// The service's router over its state.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/v1/verify", get(ops::verify))
        .route("/v1/commands", post(commands::commands))
        .route("/v1/contracts/{id}/state", get(contracts::state))
        .route("/v1/contracts/{id}/balance", get(contracts::balance))
        .route("/v1/contracts/{id}/calendar", get(contracts::calendar))
        .route("/v1/persons/{id}/bans", get(persons::bans))
        .route("/v1/persons/{id}/refunds", get(persons::refunds))
        .route("/v1/feed", get(feed::feed))
        .route("/v1/audit/{id}", get(replay::audit))
        .route("/v1/diff/{id}", get(replay::diff))
        .route("/v1/what-if/{id}", post(replay::what_if))
        .route("/v1/partner/check", post(partner::check))
        .route("/v1/accounts", post(accounts::create_account))
        .route("/v1/sessions", post(accounts::open_session))
        .route("/v1/sessions/current", delete(accounts::close_session))
        .route("/v1/me/contracts", get(accounts::my_contracts))
        .route(
            "/v1/me/contracts/{id}/online-renewal",
            get(accounts::online_renewal),
        )
        .route(
            "/v1/me/contracts/{id}/attestation",
            get(accounts::attestation),
        )
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(state)
}

/// The bearer token of an `Authorization` header; the scheme is matched
/// case-insensitively (RFC 9110 §11.1).
fn bearer(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

async fn resolve(st: &AppState, token: Option<String>) -> Caller {
    let Some(t) = token else {
        return Caller::Anonymous;
    };
    st.refresh_auth().await;
    if let Some(rec) = st.auth.read().await.0.token(&t) {
        return Caller::Known(Principal {
            role: rec.role,
            name: rec.name.clone(),
            person: None,
        });
    }
    match st.sessions.read().await.get(&t, st.clock.now()) {
        Some(s) => Caller::Known(Principal {
            role: Role::Customer,
            name: "customer".to_owned(),
            person: Some(s.person),
        }),
        None if t.starts_with("nvs_") => Caller::Ended,
        None => Caller::Anonymous,
    }
}

/// A body is JSON when its media type is `application/json` (parameters such
/// as `charset` aside).
fn is_json(v: Option<&HeaderValue>) -> bool {
    v.and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether a request carries a body (a length above 0, or a chunked body).
fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// Resolves the caller, refuses a body that is not JSON (415), bounds the
/// request's time (408), makes every error body JSON, counts the request in the
/// metrics and logs it (request id, route template, role, token name, status,
/// latency; never a header value, body or path id).
async fn authenticate(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut rid = [0u8; 8];
    let request_id = match getrandom::getrandom(&mut rid) {
        Ok(()) => hex::encode(rid),
        Err(_) => "-".to_owned(),
    };
    let caller = resolve(&st, bearer(&req)).await;
    let method = req.method().clone();
    // The route template, not the path: the path may carry a person's id.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let (role, token) = match &caller {
        Caller::Known(p) => (p.role.as_str(), p.name.clone()),
        Caller::Ended => ("-", "ended-session".to_owned()),
        Caller::Anonymous => ("-", "-".to_owned()),
    };
    let resp = if matches!(method, Method::POST | Method::PUT | Method::PATCH)
        && has_body(&req)
        && !is_json(req.headers().get(header::CONTENT_TYPE))
    {
        ApiError::UnsupportedMediaType("send the body as Content-Type: application/json".into())
            .into_response()
    } else {
        req.extensions_mut().insert(caller);
        match tokio::time::timeout(st.request_timeout, next.run(req)).await {
            Ok(r) => json_error_body(r).await,
            Err(_) => ApiError::Timeout(format!(
                "the request took longer than {} ms (request_timeout); nothing was appended \
                 unless the answer of a retry with the same Idempotency-Key says so",
                st.request_timeout.as_millis()
            ))
            .into_response(),
        }
    };
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    st.metrics
        .requests
        .with_label_values(&[&route, method.as_str(), &status.to_string()])
        .inc();
    st.metrics
        .latency
        .with_label_values(&[&route, method.as_str()])
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        request_id,
        %method,
        route,
        role,
        token,
        status,
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}

/// Bytes of a non-JSON error body kept as the message of its JSON form.
const ERROR_TEXT_BYTES_MAX: usize = 4096;

/// An error answered by the framework (an unknown route, a wrong method, a body
/// over the limit) has a plain-text or empty body: it becomes the JSON of every
/// other error, `{"error", "message"}`.
async fn json_error_body(resp: Response) -> Response {
    let status = resp.status();
    if status.as_u16() < 400 || is_json(resp.headers().get(header::CONTENT_TYPE)) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, ERROR_TEXT_BYTES_MAX)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let kind = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("{text}: the body exceeds request_body_bytes_max ({BODY_BYTES_MAX} bytes)")
    } else {
        text
    };
    let body = json!({"error": kind, "message": message}).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The principal, when its role is among `allowed`.
fn require(c: &Caller, allowed: &[Role], what: &str) -> Result<Principal, ApiError> {
    match c {
        Caller::Anonymous => Err(ApiError::Unauthorized),
        Caller::Ended => Err(ApiError::SessionEnded),
        Caller::Known(p) if allowed.contains(&p.role) => Ok(p.clone()),
        Caller::Known(p) => Err(ApiError::Forbidden(format!(
            "the role {} may not {what}",
            p.role.as_str()
        ))),
    }
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
            // Decision: an instant after now reads as now (nothing is known after
            // now, so the reading is the current one) rather than a 400: the
            // answer is the same for every later instant.
            Some(t.min(now))
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
    st.metrics.projection_lag.set(0);
    Ok(cache.clone())
}

/// A view as the JSON body of a 200 answer; a serialisation failure is a 500.
fn view_json<T: serde::Serialize>(view: T) -> Result<axum::Json<Value>, ApiError> {
    serde_json::to_value(view)
        .map(axum::Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn not_found(e: navigo_projections::ProjectionError) -> ApiError {
    ApiError::NotFound(e.to_string())
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
    // A null is not an absent field: the documented bodies have no nullable
    // field, and a field given must be what it says.
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(name, "a string")),
    }
}

fn date_field(m: &serde_json::Map<String, Value>, name: &str) -> Result<NaiveDate, ApiError> {
    let s = str_field(m, name)?.ok_or_else(|| ApiError::bad(name, "missing"))?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| ApiError::bad(name, format!("{s:?} is not a date YYYY-MM-DD: {e}")))
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
