//! Access requests over HTTP: everything the ledger holds about a person
//! (`GET /v1/persons/{id}/subject-export`, for an agent answering the
//! request) or about oneself (`GET /v1/me/subject-export`, for a customer),
//! the view `subject-export` writes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use uuid::Uuid;

use crate::app::auth::Role;
use crate::app::personal::{account_login, subject_export, SubjectError};
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::extract::parse_id;
use crate::http::state::AppState;

/// `GET /v1/persons/{id}/subject-export`: an agent answers a person's access
/// request. Decision: agents only, not auditors: an auditor reads the trail of
/// what happened, an agent serves the person who asks.
pub async fn of_person(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&c, &[Role::Agent], "answer access requests")?;
    let id = parse_id(&id)?;
    export(&st, id).await
}

/// `GET /v1/me/subject-export`: a customer's own export.
pub async fn of_me(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
) -> Result<Response, ApiError> {
    let p = require(&c, &[Role::Customer], "read their own data")?;
    let person = p.person.ok_or(ApiError::Unauthorized)?;
    export(&st, person).await
}

async fn export(st: &AppState, person: Uuid) -> Result<Response, ApiError> {
    let login = account_login(&st.auth_path, person)
        .map_err(|e| ApiError::Internal(format!("the auth file: {e:#}")))?;
    let now = st.clock.now();
    let mut ledger = st.ledger.lock().await;
    let export = subject_export(&mut ledger, person, now, login).await;
    drop(ledger);
    match export {
        Ok(v) => Ok(answer::json(&v)?.into_response()),
        Err(SubjectError::UnknownPerson(p)) => Err(ApiError::NotFound(format!("no person {p}"))),
        Err(SubjectError::Projection(e)) => Err(ApiError::NotFound(e.to_string())),
        Err(SubjectError::Ledger(e)) => Err(e.into()),
    }
}
