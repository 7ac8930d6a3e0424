//! What the handlers read from a request: the `{id}` of a path, the `at` and
//! `known_at` of a query, and the fields of a small JSON body, each refused
//! with a 400 naming the parameter or field.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Extension;
use chrono::{DateTime, NaiveDate, Utc};
use navigo_projections::Query as PQuery;
use navigo_rules::calendar::paris_date;
use serde_json::Value;
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::state::AppState;

/// The extractors of a `GET …/{id}` read (a contract's or a person's views, the
/// audit trail, a diff), in the order axum runs them: the state, the caller, the
/// `{id}` of the path and the query string.
pub type IdRead = (
    State<Arc<AppState>>,
    Extension<Caller>,
    Path<String>,
    Query<HashMap<String, String>>,
);

/// Parses `at` and `known_at` (and nothing else) against now.
///
/// # Errors
/// 400 naming an unknown parameter, a malformed date or instant.
pub fn parse_query(q: &HashMap<String, String>, now: DateTime<Utc>) -> Result<PQuery, ApiError> {
    if let Some(k) = q.keys().find(|k| *k != "at" && *k != "known_at") {
        return Err(ApiError::bad(
            k,
            "unknown query parameter; use at and known_at",
        ));
    }
    let at = match q.get("at") {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| ApiError::bad("at", format!("not a date YYYY-MM-DD: {e}")))?,
        None => paris_date(now),
    };
    let known_at = match q.get("known_at") {
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| ApiError::bad("known_at", format!("not an RFC 3339 instant: {e}")))?;
            // Decision: an instant after now reads as now (nothing is known after
            // now, so the reading is the current one) rather than a 400: the
            // answer is the same for every later instant.
            Some(t.min(now))
        }
        None => None,
    };
    Ok(PQuery { at, known_at })
}

/// The `{id}` of a path.
///
/// # Errors
/// 400 when it is not a UUID.
pub fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    s.parse()
        .map_err(|e| ApiError::bad("id", format!("not a UUID: {e}")))
}

/// A JSON object body whose fields are among `allowed`.
///
/// # Errors
/// 400: not JSON, not an object, or an unknown field (named).
pub fn body_object(
    body: &Bytes,
    allowed: &[&str],
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad("body", e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(ApiError::bad("body", "a JSON object"));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad(
            k,
            format!("unknown field; expected {}", allowed.join(", ")),
        ));
    }
    Ok(m)
}

/// A string field of a body, if given.
///
/// # Errors
/// 400 when it is given and not a string.
pub fn str_field<'a>(
    m: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    // A null is not an absent field: the documented bodies have no nullable
    // field, and a field given must be what it says.
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(name, "a string")),
    }
}

/// A date field of a body (YYYY-MM-DD). A refusal names the field, never the
/// value given: a birth date (the partner check's) must not reach an error
/// body or a log.
///
/// # Errors
/// 400 when it is missing or not a date.
pub fn date_field(m: &serde_json::Map<String, Value>, name: &str) -> Result<NaiveDate, ApiError> {
    let s = str_field(m, name)?.ok_or_else(|| ApiError::bad(name, "missing"))?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| ApiError::bad(name, format!("not a date YYYY-MM-DD: {e}")))
}
