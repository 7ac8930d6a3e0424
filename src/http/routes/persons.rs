//! A person's views: `GET /v1/persons/{id}/bans|refunds`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use navigo_events_schema::Envelope;
use navigo_projections::{ProjectionError, Query as PQuery};
use serde_json::Value;
use uuid::Uuid;

use crate::app::auth::Role;
use crate::app::read;
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{parse_id, parse_query, IdRead};
use crate::http::reads::not_found;
use crate::http::state::AppState;

/// Person reads are for agents and auditors: a customer reads through their
/// contracts (decision: their person id is not a capability they are given).
async fn person_read(
    st: &AppState,
    p: Caller,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<(Uuid, PQuery, Vec<Envelope>), ApiError> {
    require(&p, &[Role::Agent, Role::Auditor], "read persons")?;
    let id = parse_id(id)?;
    let q = parse_query(q, st.clock.now())?;
    // The person's slice (their stream, their contracts, the findings naming
    // them, the reference streams), picked by the live world's indexes and read
    // from the store, not the whole log (equal views: tests/projections_slice.rs).
    let mut ledger = st.ledger.lock().await;
    let streams = ledger
        .read_paged(|w| navigo_projections::slice::person_streams(w, id))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| not_found(ProjectionError::UnknownPerson(id)))?;
    let events = ledger
        .read_streams(&streams)
        .await
        .map_err(ApiError::from)?;
    Ok((id, q, events))
}

/// `GET /v1/persons/{id}/bans`.
pub async fn bans(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let view = read::person_bans(&events, id, &q).map_err(not_found)?;
    answer::json(&view)
}

/// `GET /v1/persons/{id}/refunds`.
pub async fn refunds(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let view = read::person_refunds(&events, id, &q).map_err(not_found)?;
    answer::json(&view)
}
