//! The router and the middleware every request goes through: the caller
//! resolved from its credentials, bodies that are not JSON refused, the
//! request's time bounded, every error body JSON, each request counted and
//! logged.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use navigo_events_schema::views::{ErrorBody, ErrorKind};

use super::answer;
use super::caller::{Caller, Principal};
use super::error::ApiError;
use super::routes::{
    accounts, admin, commands, contracts, feed, lists, ops, partner, persons, proofs, replay,
    subject,
};
use super::state::{AppState, BODY_BYTES_MAX};
use crate::app::auth::Role;

/// The service's router over its state.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/v1/verify", get(ops::verify))
        .route("/v1/projections/check", get(admin::check_projections))
        .route("/v1/projections/rebuild", post(admin::rebuild))
        .route("/v1/export", get(admin::export_log))
        .route("/v1/commands", post(commands::commands))
        .route("/v1/contracts/{id}/state", get(contracts::state))
        .route("/v1/contracts/{id}/balance", get(contracts::balance))
        .route("/v1/contracts/{id}/calendar", get(contracts::calendar))
        .route("/v1/persons/{id}/bans", get(persons::bans))
        .route("/v1/persons/{id}/refunds", get(persons::refunds))
        .route("/v1/persons/{id}/subject-export", get(subject::of_person))
        .route("/v1/feed", get(feed::feed))
        .route("/v1/lists/{list}", get(lists::list))
        .route("/v1/audit/{id}", get(replay::audit))
        .route("/v1/diff/{id}", get(replay::diff))
        .route("/v1/what-if/{id}", post(replay::what_if))
        .route("/v1/partner/check", post(partner::check))
        .route("/v1/accounts", post(accounts::create_account))
        .route("/v1/sessions", post(accounts::open_session))
        .route("/v1/sessions/current", delete(accounts::close_session))
        .route("/v1/me/contracts", get(accounts::my_contracts))
        .route("/v1/me/subject-export", get(subject::of_me))
        .route(
            "/v1/me/contracts/{id}/online-renewal",
            get(accounts::online_renewal),
        )
        .route(
            "/v1/me/contracts/{id}/attestation",
            get(accounts::attestation),
        )
        .merge(proofs::routes())
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(state)
}

/// The routes of the administrative jobs that fold or verify the whole log
/// before they answer.
const ADMIN_JOB_ROUTES: &[&str] = &[
    "/v1/verify",
    "/v1/projections/check",
    "/v1/projections/rebuild",
];

/// The bound of an administrative job's time (408 beyond), instead of
/// `request_timeout`. Decision: a whole-log fold or verification of a large
/// ledger takes longer than a read by nature, and a 408 would not stop the
/// job (it finishes on its blocking thread, holding its turn); these routes
/// are bounded instead by one job of a kind at a time, and by this hour
/// against a job that never ends.
const ADMIN_JOB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

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
    let caller = resolve(&st, bearer(&req)).await;
    let method = req.method().clone();
    // The route template, not the path: the path may carry a person's id.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    // What the log line says of the caller, taken before the request moves the
    // caller into its extensions; only when the line is written at all.
    let logged = tracing::enabled!(tracing::Level::INFO).then(|| match &caller {
        Caller::Known(p) => (p.role.as_str(), p.name.clone()),
        Caller::Ended => ("-", "ended-session".to_owned()),
        Caller::Anonymous => ("-", "-".to_owned()),
    });
    let resp = if matches!(method, Method::POST | Method::PUT | Method::PATCH)
        && has_body(&req)
        && !is_json(req.headers().get(header::CONTENT_TYPE))
    {
        ApiError::UnsupportedMediaType("send the body as Content-Type: application/json".into())
            .into_response()
    } else {
        req.extensions_mut().insert(caller);
        let bound = if ADMIN_JOB_ROUTES.contains(&route.as_str()) {
            ADMIN_JOB_TIMEOUT
        } else {
            st.request_timeout
        };
        match tokio::time::timeout(bound, next.run(req)).await {
            Ok(r) => json_error_body(r).await,
            Err(_) => ApiError::Timeout(format!(
                "the request took longer than {} ms (request_timeout); nothing was appended \
                 unless the answer of a retry with the same Idempotency-Key says so",
                bound.as_millis()
            ))
            .into_response(),
        }
    };
    let status = resp.status();
    let elapsed = started.elapsed();
    st.metrics
        .requests
        .with_label_values(&[&route, method.as_str(), status.as_str()])
        .inc();
    st.metrics
        .latency
        .with_label_values(&[&route, method.as_str()])
        .observe(elapsed.as_secs_f64());
    if let Some((role, token)) = logged {
        log_request(&method, &route, role, &token, status.as_u16(), elapsed);
    }
    resp
}

/// The log line of a request: a random request id (to find the line again
/// from a client's report), the route template, the caller and the outcome.
fn log_request(
    method: &Method,
    route: &str,
    role: &str,
    token: &str,
    status: u16,
    elapsed: std::time::Duration,
) {
    let mut rid = [0u8; 8];
    let request_id = match getrandom::getrandom(&mut rid) {
        Ok(()) => hex::encode(rid),
        Err(_) => "-".to_owned(),
    };
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
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
        s if s.is_client_error() => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("{text}: the body exceeds request_body_bytes_max ({BODY_BYTES_MAX} bytes)")
    } else {
        text
    };
    let body = match answer::value(&ErrorBody::new(kind, message)) {
        Ok(v) => v.to_string(),
        Err(e) => return e.into_response(),
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
