//! A contract's views: `GET /v1/contracts/{id}/state|balance|calendar`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use navigo_events_schema::Envelope;
use navigo_projections::calendar::Horizon;
use navigo_projections::{ProjectionError, Query as PQuery};
use uuid::Uuid;

use crate::app::auth::Role;
use crate::app::read::{self, Subject};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{parse_id, parse_query, IdRead};
use crate::http::reads::{may_read_contract, not_found};
use crate::http::routes::lists::{materialized, Owner};
use crate::http::state::AppState;

const READERS: &[Role] = &[Role::Agent, Role::Auditor, Role::Customer];

async fn contract_read(
    st: &AppState,
    p: Caller,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<(Uuid, PQuery, Vec<Envelope>), ApiError> {
    let p = require(&p, READERS, "read contracts")?;
    let id = parse_id(id)?;
    let q = parse_query(q, st.clock.now())?;
    may_read_contract(st, &p, id).await?;
    // The contract's slice, as the command line reads it: a read costs the
    // contract's history, not the ledger's.
    let ledger = st.ledger.lock().await;
    let events = read::slice(&ledger, id, Subject::Contract).await?;
    Ok((id, q, events))
}

/// `GET /v1/contracts/{id}/state`, with its ETag.
pub async fn state(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Response, ApiError> {
    if let Some(r) = materialized(&st, &p, (Owner::Contract, "state"), &id, &mut q).await {
        return r;
    }
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let read = read::contract_state(&events, id, &q, None).map_err(not_found)?;
    // The ETag is the contract stream's version in this reading: sent back as
    // If-Match with a command, it makes the command a conflict (409) if anything
    // was recorded on the contract since (optimistic concurrency).
    let etag = format!("\"{}\"", read.version);
    Ok((
        [(axum::http::header::ETAG, etag)],
        answer::json(&read.view)?,
    )
        .into_response())
}

/// `GET /v1/contracts/{id}/balance`.
pub async fn balance(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Response, ApiError> {
    if let Some(r) = materialized(&st, &p, (Owner::Contract, "balance"), &id, &mut q).await {
        return r;
    }
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let view = read::contract_balance(&events, id, &q).map_err(not_found)?;
    Ok(answer::json(&view)?.into_response())
}

/// The calendar of a contract; besides `at` and `known_at` it takes `horizon`,
/// the months after the month read, within the bound the CLI has
/// (`CALENDAR_HORIZON_MONTHS_MAX`): beyond it, a 400 naming the bound. A
/// calendar longer than `CALENDAR_MONTHS_MAX` (an `at` centuries away) is
/// judged and refused, 422 naming `at`.
pub async fn calendar(
    (State(st), Extension(p), Path(id), Query(mut q)): IdRead,
) -> Result<Response, ApiError> {
    if let Some(r) = materialized(&st, &p, (Owner::Contract, "calendar"), &id, &mut q).await {
        return r;
    }
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
            s.parse::<Horizon>()
                .map_err(|e| ApiError::bad("horizon", e.to_string()))?,
        ),
        None => None,
    };
    let (id, q, events) = contract_read(&st, p, &id, &q).await?;
    let view = read::calendar(&events, id, &q, horizon).map_err(|e| match e {
        ProjectionError::CalendarTooLong { .. } => ApiError::Invalid {
            field: "at".into(),
            message: e.to_string(),
        },
        ProjectionError::Horizon(_) => ApiError::bad("horizon", e.to_string()),
        _ => not_found(e),
    })?;
    Ok(answer::json(&view)?.into_response())
}
