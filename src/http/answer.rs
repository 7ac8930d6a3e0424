//! Every answer body of the service is a view of `navigo_events_schema::views`.
//! It is written through serde_json's `Value`, whose object keys come out sorted:
//! the order the service's answers have always had (they were JSON maps), kept
//! byte for byte whatever order a view declares its fields in. The answers kept
//! for an `Idempotency-Key` are these values.

use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::error::ApiError;

/// A view as a JSON value.
///
/// # Errors
/// 500 when it does not serialise (no view of the crate fails to).
pub fn value<T: Serialize>(view: &T) -> Result<Value, ApiError> {
    serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A view as the JSON body of an answer.
///
/// # Errors
/// 500 when it does not serialise (no view of the crate fails to).
pub fn json<T: Serialize>(view: &T) -> Result<Json<Value>, ApiError> {
    value(view).map(Json)
}
