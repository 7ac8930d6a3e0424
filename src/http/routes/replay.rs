//! The auditor's reads: `GET /v1/audit/{id}`, `GET /v1/diff/{id}`, and the
//! hypothetical `POST /v1/what-if/{id}` (nothing appended).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use navigo_projections::Query as PQuery;
use serde_json::Value;

use super::commands::parse_command;
use crate::app::auth::Role;
use crate::app::read::{self, Subject};
use crate::app::replay;
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{body_object, date_field, parse_id, parse_query, str_field, IdRead};
use crate::http::state::{AppState, BATCH_COMMANDS_MAX};

/// A replay error: an unknown id is 404, anything else 500.
fn replay_error(e: navigo_replay::ReplayError) -> ApiError {
    match e {
        navigo_replay::ReplayError::Projection(p) => ApiError::NotFound(p.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// GET /v1/audit/{id}?known_at=T: the audit trail of a contract or a person
/// (`navigo_replay::audit`), for auditors.
pub async fn audit(
    (State(st), Extension(p), Path(id), Query(q)): IdRead,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor], "read the audit trail")?;
    let id = parse_id(&id)?;
    if let Some(k) = q.keys().find(|k| *k != "known_at") {
        return Err(ApiError::bad(k, "unknown query parameter; use known_at"));
    }
    let known_at = parse_query(&q, st.clock.now())?.known_at;
    let events = read::slice(&*st.ledger.lock().await, id, Subject::ContractOrPerson).await?;
    let trail = replay::audit(&events, id, known_at).map_err(replay_error)?;
    answer::json(&trail)
}

/// GET /v1/diff/{id}?from_at&from_known_at&to_at&to_known_at: what changed in a
/// contract's views between two readings and which events caused it (auditors).
pub async fn diff(
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
    let events = read::slice(&*st.ledger.lock().await, id, Subject::ContractOrPerson).await?;
    let d = replay::diff(&events, id, &a, &b).map_err(replay_error)?;
    answer::json(&d)
}

/// POST /v1/what-if/{contract} `{commands: [...], at?}`: hypothetical commands
/// layered on a contract, read beside the actual views; nothing is appended.
/// Decision: agents (who would submit the commands) and auditors may ask.
pub async fn what_if(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
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
    let read = replay::what_if_slice(&*st.ledger.lock().await, id, &cmds).await?;
    let w = replay::what_if(&read, id, &cmds, at).map_err(replay_error)?;
    answer::json(&w)
}
