//! The materialized projections over HTTP: the lists of projection services
//! (`GET /v1/lists/{list}`) and a one-id view read from its materialized row
//! (`?source=materialized` on a contract's or person's view). Every answer
//! says the position its rows cover (a list in its body, a view in the
//! [`POSITION_HEADER`] and [`AT_HEADER`] headers); `min_position` waits, up to
//! [`PROJECTION_WAIT_MS_MAX`], until the rows cover a position the reader has
//! seen appended.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use navigo_replay::ReplayError;
use uuid::Uuid;

use crate::app::auth::Role;
use crate::app::lists::{self, ListError};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::parse_id;
use crate::http::reads::may_read_contract;
use crate::http::state::AppState;

/// Longest wait of a materialized read for its `min_position`, in
/// milliseconds; the answer then says the position its rows do cover.
pub const PROJECTION_WAIT_MS_MAX: u64 = 10_000;

/// The header of a materialized answer naming the last log position its rows
/// cover.
pub const POSITION_HEADER: &str = "navigo-projection-position";
/// The header of a materialized answer naming the date its rows are read on.
pub const AT_HEADER: &str = "navigo-projection-at";

/// Who reads the lists: the roles that read the feed (projection services run
/// as `system`), and agents and auditors. Decision: not customers (a list
/// spans many persons) nor partners.
pub const LIST_READERS: &[Role] = &[Role::Agent, Role::Auditor, Role::System];

fn replay_error(e: ReplayError) -> ApiError {
    match e {
        // Decision: 409 rather than a new status: the projections are being
        // built (right after the service starts) or were built before the
        // lists' indexes; the message says to retry.
        ReplayError::NotBuilt | ReplayError::NotIndexed => ApiError::Conflict(format!(
            "{e}; the service builds them on its own: retry in a moment"
        )),
        ReplayError::Projection(p) => ApiError::NotFound(p.to_string()),
        // A hexadecimal cursor that is no place in this list (another list's):
        // well-formed, but it does not fit, as a command that does not fit
        // the ledger.
        ReplayError::Cursor(m) => ApiError::Invalid {
            field: "after".into(),
            message: format!("{m}; send back the `next` of a page of this list"),
        },
        e => ApiError::Internal(e.to_string()),
    }
}

/// Takes `min_position` out of the parameters.
///
/// # Errors
/// 400 naming it when it is not a position.
fn min_position(q: &mut HashMap<String, String>) -> Result<Option<u64>, ApiError> {
    let Some(v) = q.remove("min_position") else {
        return Ok(None);
    };
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad(
                "min_position",
                format!("{v:?} is not a whole number from 0 to {}", i64::MAX),
            )
        })
}

/// Waits (bounded) until the rows cover `position`, once the request is
/// known to be well-formed.
async fn caught_up(st: &AppState, position: Option<u64>) {
    if let Some(p) = position {
        st.projector
            .wait_for(p, Duration::from_millis(PROJECTION_WAIT_MS_MAX))
            .await;
    }
}

/// `GET /v1/lists/{list}?FILTER=VALUE&limit=N&after=CURSOR&min_position=P`.
pub async fn list(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Path(name): Path<String>,
    Query(mut q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    require(&p, LIST_READERS, "read the lists")?;
    let spec = lists::list(&name).ok_or_else(|| {
        let names: Vec<&str> = lists::LISTS.iter().map(|l| l.name).collect();
        ApiError::NotFound(format!("no list {name:?}; the lists: {}", names.join(", ")))
    })?;
    let position = min_position(&mut q)?;
    let mut params: Vec<(String, String)> = q.into_iter().collect();
    params.sort();
    let asked = lists::ask(spec, &params).map_err(list_error)?;
    caught_up(&st, position).await;
    let db = st.projector.db();
    let page = tokio::task::spawn_blocking(move || lists::page(&db, &asked))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(list_error)?;
    Ok(answer::json(&page)?.into_response())
}

fn list_error(e: ListError) -> ApiError {
    match e {
        ListError::Bad { field, message } => ApiError::bad(&field, message),
        ListError::Replay(e) => replay_error(e),
    }
}

/// Whose view a materialized read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A contract's (`state`, `balance`, `calendar`).
    Contract,
    /// A person's (`bans`, `refunds`).
    Person,
}

/// The view of `id` from its materialized row of `kind` when the reader asks
/// for it (`source=materialized`); `None` when it asks for the computed view
/// (no `source`, or `source=computed`), which the route then answers.
/// `source` is taken out of the parameters either way.
pub async fn materialized(
    st: &AppState,
    p: &Caller,
    (owner, kind): (Owner, &'static str),
    id: &str,
    q: &mut HashMap<String, String>,
) -> Option<Result<Response, ApiError>> {
    match q.remove("source").as_deref() {
        // The computed view is current to the head: there is nothing to wait
        // for, but a malformed position is still refused.
        None | Some("computed") => min_position(q).err().map(Err),
        Some("materialized") => Some(read_row(st, p, owner, kind, id, q).await),
        Some(other) => Some(Err(ApiError::bad(
            "source",
            format!("{other:?}: materialized or computed"),
        ))),
    }
}

async fn read_row(
    st: &AppState,
    p: &Caller,
    owner: Owner,
    kind: &'static str,
    id: &str,
    q: &mut HashMap<String, String>,
) -> Result<Response, ApiError> {
    let principal = match owner {
        Owner::Contract => require(
            p,
            &[Role::Agent, Role::Auditor, Role::Customer],
            "read contracts",
        )?,
        Owner::Person => require(p, &[Role::Agent, Role::Auditor], "read persons")?,
    };
    let id: Uuid = parse_id(id)?;
    if owner == Owner::Contract {
        may_read_contract(st, &principal, id).await?;
    }
    let position = min_position(q)?;
    if let Some(k) = q.keys().next() {
        // The materialized rows are read on the service's today, everything
        // known: another date or instant is an as-of computation. A date is a
        // well-formed parameter that this reading cannot honour: 422, as a
        // request that does not fit.
        let message = "a materialized view is read on today's date as known now; ask \
                       without source=materialized for at or known_at";
        return Err(match k.as_str() {
            "at" | "known_at" | "horizon" => ApiError::Invalid {
                field: k.clone(),
                message: message.into(),
            },
            _ => ApiError::bad(k, message),
        });
    }
    caught_up(st, position).await;
    let db = st.projector.db();
    let (g, row) = tokio::task::spawn_blocking(move || {
        // The generation first: its rows cover at least its checkpoint.
        let g = db.current()?.ok_or(ReplayError::NotBuilt)?;
        let row = db.get(kind, id)?;
        Ok::<_, ReplayError>((g, row))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(replay_error)?;
    let row = row.ok_or_else(|| ApiError::NotFound(format!("no {kind} view of {id}")))?;
    let mut resp = axum::Json(row).into_response();
    let h = resp.headers_mut();
    h.insert(POSITION_HEADER, HeaderValue::from(g.checkpoint));
    if let Ok(v) = HeaderValue::from_str(&g.at.to_string()) {
        h.insert(AT_HEADER, v);
    }
    Ok(resp)
}
