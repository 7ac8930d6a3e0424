//! Operations: liveness, readiness, metrics, the OpenAPI document and the
//! verification of the chain.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{require, Caller};
use crate::http::auth::Role;
use crate::http::error::ApiError;
use crate::http::metrics::gauge;
use crate::http::AppState;

pub(super) async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(super) async fn ready(State(st): State<Arc<AppState>>) -> Json<Value> {
    let position = st.ledger.lock().await.world().position;
    Json(json!({"status": "ready", "head_position": position}))
}

pub(super) async fn openapi() -> Json<Value> {
    Json(crate::http::openapi::document())
}

/// GET /metrics: the Prometheus text format. Decision: served without
/// credentials, as scrapers expect; it carries counts and positions, no
/// personal data and no secret.
pub(super) async fn metrics(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let head = st.ledger.lock().await.world().position;
    let cached = st.events.lock().await.last().map_or(0, |e| e.position);
    st.metrics.head_position.set(gauge(head));
    st.metrics
        .projection_lag
        .set(gauge(head.saturating_sub(cached)));
    let text = st.metrics.encode().map_err(ApiError::Internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// GET /v1/verify: recomputes every hash and the chain (auditors). It runs on a
/// blocking thread without the writer's lock, one at a time
/// ([`crate::http::VERIFY_CONCURRENT_MAX`]), so that commands and reads go on
/// meanwhile.
pub(super) async fn verify(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "verify the ledger")?;
    let _turn = st
        .verifying
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let task = st.ledger.lock().await.store().detached_verify();
    let r = tokio::task::spawn_blocking(task)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(json!({
        "ok": r.is_ok(),
        "records_checked": r.records_checked,
        "streams": r.streams,
        "head_position": r.head.position,
        "head_hash": r.head.hash.to_string(),
        "first_bad": r.first_bad.as_ref().map(|b| json!({"position": b.position, "problem": format!("{:?}", b.problem)})),
    })))
}
