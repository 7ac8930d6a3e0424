//! Tamper evidence over HTTP: signed checkpoints (`/v1/checkpoints`: issued
//! by the operator's system role, read by auditors) and the proofs auditors
//! check against them (`/v1/proofs/...`), each the view the command line
//! prints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use navigo_merkle::{Checkpoint, CheckpointVerifier};
use serde_json::Value;

use crate::app::auth::Role;
use crate::app::error::BadInput;
use crate::app::{against, proofs};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{body_object, str_field};
use crate::http::routes::ops::verify_detached;
use crate::http::state::AppState;

/// The roles that read checkpoints: auditors, and the operator's system role
/// that issues them.
const CHECKPOINT_READERS: &[Role] = &[Role::Auditor, Role::System];

/// An error of the application layer: a well-formed request that does not
/// fit the ledger (a position beyond the log, an unknown stream, no
/// checkpoint kept) is 422 naming `field`, as every request its schema
/// accepts must never be a 400; a backend without the tree, or anything
/// else, is 500 saying so.
fn app_error(field: &str, e: anyhow::Error) -> ApiError {
    match e.downcast::<BadInput>() {
        Ok(bad) => invalid(field, bad.0),
        Err(e) => ApiError::Internal(format!("{e:#}")),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// POST /v1/checkpoints: signs and keeps a checkpoint of the log with the
/// service's key (`serve --checkpoint-key`), for the operator (system role).
/// 201 with the checkpoint; 409 when the service was started without a key.
pub async fn issue(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require(&p, &[Role::System], "issue a checkpoint")?;
    let Some(signer) = st.checkpoint_signer.clone() else {
        return Err(ApiError::Conflict(
            "the service has no checkpoint key: start it with serve --checkpoint-key FILE".into(),
        ));
    };
    let ledger = st.ledger.lock().await;
    let c = proofs::issue(ledger.store(), &signer)
        .await
        .map_err(|e| app_error("checkpoint", e))?;
    Ok((StatusCode::CREATED, answer::json(&c)?))
}

/// GET /v1/checkpoints: every checkpoint kept, oldest first.
pub async fn list(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require(&p, CHECKPOINT_READERS, "read checkpoints")?;
    let ledger = st.ledger.lock().await;
    let l = proofs::list(ledger.store())
        .await
        .map_err(|e| app_error("checkpoints", e))?;
    answer::json(&l)
}

/// GET /v1/checkpoints/latest: the newest checkpoint kept (404 when none).
pub async fn latest(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    require(&p, CHECKPOINT_READERS, "read checkpoints")?;
    let ledger = st.ledger.lock().await;
    let c = proofs::latest(ledger.store())
        .await
        .map_err(|e| app_error("checkpoints", e))?
        .ok_or_else(|| ApiError::NotFound("no checkpoint is kept yet".into()))?;
    answer::json(&c)
}

/// A number of a path or query, 400 naming it when it is not one.
fn number(field: &str, v: Option<&String>) -> Result<Option<u64>, ApiError> {
    v.map(|s| {
        s.parse()
            .map_err(|_| ApiError::bad(field, "a whole number (a position or a tree size)"))
    })
    .transpose()
}

/// Refuses a query parameter other than `allowed`, naming it.
fn only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad(
            k,
            format!("unknown query parameter; use {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// GET /v1/proofs/inclusion/{position}?size=N: the record's inclusion in the
/// tree of N records (the whole log by default), for auditors.
pub async fn inclusion(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Path(position): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read proofs")?;
    only(&q, &["size"])?;
    let position = number("position", Some(&position))?.unwrap_or_default();
    if position == 0 {
        return Err(ApiError::bad("position", "positions start at 1"));
    }
    let size = number("size", q.get("size"))?;
    let ledger = st.ledger.lock().await;
    let v = proofs::prove_inclusion(ledger.store(), position, size)
        .await
        .map_err(|e| app_error("position", e))?;
    answer::json(&v)
}

/// GET /v1/proofs/consistency/{old}/{new}: the tree of `new` records extends
/// that of `old`.
pub async fn consistency(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Path((old, new)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read proofs")?;
    let old = number("old", Some(&old))?.unwrap_or_default();
    let new = number("new", Some(&new))?.unwrap_or_default();
    let ledger = st.ledger.lock().await;
    let v = proofs::prove_consistency(ledger.store(), old, new)
        .await
        .map_err(|e| app_error("new", e))?;
    answer::json(&v)
}

/// GET /v1/proofs/streams/{id}: the stream's history is complete as of the
/// newest checkpoint (`KIND:UUID`, or a contract's or person's UUID).
pub async fn stream(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read proofs")?;
    let ledger = st.ledger.lock().await;
    let store = ledger.store();
    let stream = proofs::resolve_stream(store, &id)
        .await
        .map_err(|e| app_error("id", e))?;
    let v = proofs::prove_stream(store, stream)
        .await
        .map_err(|e| app_error("id", e))?;
    answer::json(&v)
}

/// POST /v1/proofs/against `{checkpoint, public_key}`: every record and the
/// chain verified, and the log checked to extend the checkpoint (its signed
/// note) signed by the key (a verifier key line), for auditors. 200 with the
/// verdict whether or not it holds; 422 naming `checkpoint` when it does not
/// open with the key (`public_key` when that is no verifier key).
pub async fn against(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "verify against a checkpoint")?;
    let m = body_object(&body, &["checkpoint", "public_key"])?;
    let note = str_field(&m, "checkpoint")?
        .ok_or_else(|| ApiError::bad("checkpoint", "required: the signed note's text"))?;
    let key = str_field(&m, "public_key")?
        .ok_or_else(|| ApiError::bad("public_key", "required: a verifier key line"))?;
    let (key, checkpoint) = open_note(key, note)?;
    let report = verify_detached(&st).await?;
    let ledger = st.ledger.lock().await;
    let v = against::against_store(ledger.store(), &report, &checkpoint, &key)
        .await
        .map_err(|e| app_error("checkpoint", e))?;
    answer::json(&v)
}

/// The checkpoint of a signed note once it opens with the verifier key, and
/// the key's text. The verifier is dropped here: it is not `Send`.
fn open_note(key: &str, note: &str) -> Result<(String, Checkpoint), ApiError> {
    let verifier =
        CheckpointVerifier::new(key.trim()).map_err(|e| invalid("public_key", e.to_string()))?;
    let checkpoint = verifier
        .open(note.as_bytes())
        .map_err(|e| invalid("checkpoint", e.to_string()))?;
    Ok((key.trim().to_owned(), checkpoint))
}

/// The routes of this module, merged into the service's router.
pub fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/checkpoints", post(issue).get(list))
        .route("/v1/checkpoints/latest", get(latest))
        .route("/v1/proofs/inclusion/{position}", get(inclusion))
        .route("/v1/proofs/consistency/{old}/{new}", get(consistency))
        .route("/v1/proofs/streams/{id}", get(stream))
        .route("/v1/proofs/against", post(against))
}
