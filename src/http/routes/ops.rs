//! Operations: liveness, readiness, metrics, the OpenAPI document and the
//! verification of the chain.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use navigo_events_schema::views::{Health, Live, Readiness, Ready};
use navigo_store_sled::VerifyReport;
use serde_json::Value;

use crate::app::auth::Role;
use crate::app::verify::{verify_answer, verify_view};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::metrics::gauge;
use crate::http::state::AppState;

/// `GET /health`.
pub async fn health() -> Result<Json<Value>, ApiError> {
    answer::json(&Health { status: Live::Ok })
}

/// `GET /ready`: the ledger's head position.
pub async fn ready(State(st): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let head_position = st.ledger.lock().await.world().position;
    answer::json(&Ready {
        status: Readiness::Ready,
        head_position,
    })
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::http::openapi::document())
}

/// GET /metrics: the Prometheus text format. Decision: served without
/// credentials, as scrapers expect; it carries counts and positions, no
/// personal data and no secret.
pub async fn metrics(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let head = st.ledger.lock().await.world().position;
    let covered = st.projector.covered().map_or(0, |g| g.checkpoint);
    st.metrics.head_position.set(gauge(head));
    st.metrics
        .projection_lag
        .set(gauge(head.saturating_sub(covered)));
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
/// ([`crate::http::state::VERIFY_CONCURRENT_MAX`]), so that commands and reads
/// go on meanwhile.
///
/// With `?shape=cli` the answer is the command line's (`verify --json`: the
/// head with its recorded-at instant, the problem as the command line words
/// it), so that `navigo-ledger verify` beside the service prints what it
/// prints alone; without, the shape the route was published with.
pub async fn verify(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "verify the ledger")?;
    let cli_shape = match (q.get("shape").map(String::as_str), q.len()) {
        (None, 0) => false,
        (Some("cli"), 1) => true,
        (Some(other), 1) => {
            return Err(ApiError::bad(
                "shape",
                format!("{other:?}: the only shape is cli (the command line's answer)"),
            ))
        }
        _ => {
            let k = q
                .keys()
                .find(|k| *k != "shape")
                .cloned()
                .unwrap_or_default();
            return Err(ApiError::bad(&k, "unknown query parameter; use shape"));
        }
    };
    let report = verify_detached(&st).await?;
    if cli_shape {
        answer::json(&verify_view(&report))
    } else {
        answer::json(&verify_answer(&report))
    }
}

/// Runs the store's whole verification on a blocking thread, holding the
/// writer's lock only to start it and taking one of the verification turns,
/// so that commands and reads go on meanwhile.
pub(crate) async fn verify_detached(st: &AppState) -> Result<VerifyReport, ApiError> {
    let _turn = st
        .verifying
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let task = st.ledger.lock().await.store().detached_verify();
    task.run().await.map_err(ApiError::from)
}
