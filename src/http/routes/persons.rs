//! A person's views: `GET /v1/persons/{id}/bans|refunds`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use navigo_events_schema::Envelope;
use navigo_projections::Query as PQuery;
use uuid::Uuid;

use crate::app::auth::Role;
use crate::app::read::{self, Subject};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{parse_id, parse_query, IdRead};
use crate::http::reads::not_found;
use crate::http::routes::lists::{materialized, Owner};
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
    // The person's slice, as the command line reads it.
    let ledger = st.ledger.lock().await;
    let events = read::slice(&ledger, id, Subject::Person).await?;
    Ok((id, q, events))
}

/// `GET /v1/persons/{id}/bans`.
pub async fn bans(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Response, ApiError> {
    if let Some(r) = materialized(&st, &p, (Owner::Person, "bans"), &id, &mut q).await {
        return r;
    }
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let view = read::person_bans(&events, id, &q).map_err(not_found)?;
    Ok(answer::json(&view)?.into_response())
}

/// `GET /v1/persons/{id}/refunds`.
pub async fn refunds(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Response, ApiError> {
    if let Some(r) = materialized(&st, &p, (Owner::Person, "refunds"), &id, &mut q).await {
        return r;
    }
    let (id, q, events) = person_read(&st, p, &id, &q).await?;
    let view = read::person_refunds(&events, id, &q).map_err(not_found)?;
    Ok(answer::json(&view)?.into_response())
}
