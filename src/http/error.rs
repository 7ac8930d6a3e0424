//! The one error type of the service and its status mapping.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use navigo_ledger_core::LedgerError;
use navigo_rules::{CommandError, Refusal};
use navigo_store::StoreError;
use serde_json::json;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// 400: malformed input, naming the field.
    BadRequest {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 401: no or unknown credentials.
    Unauthorized,
    /// 403: the role may not do this.
    Forbidden(String),
    /// 404: unknown id (or, for a customer, not theirs: never reveals existence).
    NotFound(String),
    /// 409: a version conflict or an idempotency key reused with another body.
    Conflict(String),
    /// 413: body too large.
    TooLarge(String),
    /// 422: a business refusal.
    Refused(Refusal),
    /// 429: too many failed attempts on one login or client number.
    TooManyAttempts(String),
    /// 500.
    Internal(String),
}

impl ApiError {
    /// A bad-request error.
    pub fn bad(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            field: field.to_owned(),
            message: message.into(),
        }
    }
    /// The status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    /// The JSON body of the error.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::BadRequest { field, message } => {
                json!({"error": "bad_request", "field": field, "message": message})
            }
            ApiError::Unauthorized => json!({"error": "unauthorized",
                "message": "send Authorization: Bearer <token> (an API token or a customer session)"}),
            ApiError::Forbidden(m) => json!({"error": "forbidden", "message": m}),
            ApiError::NotFound(m) => json!({"error": "not_found", "message": m}),
            ApiError::Conflict(m) => json!({"error": "conflict", "message": m}),
            ApiError::TooLarge(m) => json!({"error": "too_large", "message": m}),
            ApiError::Refused(r) => json!({"error": "refused", "rule": r.rule.as_str(),
                "article": r.article, "message": r.message}),
            ApiError::TooManyAttempts(m) => json!({"error": "too_many_attempts", "message": m}),
            ApiError::Internal(m) => json!({"error": "internal", "message": m}),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::Command(CommandError::Refused(r)) => ApiError::Refused(r),
            LedgerError::Command(CommandError::Invalid { field, message }) => {
                ApiError::BadRequest {
                    field: field.to_string(),
                    message,
                }
            }
            LedgerError::Store(s) => s.into(),
            e @ (LedgerError::VersionConflict { .. } | LedgerError::IdempotencyConflict { .. }) => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict { .. } | StoreError::IdempotencyConflict { .. } => {
                ApiError::Conflict(format!("{e}; reload and retry"))
            }
            StoreError::LimitExceeded { .. } => ApiError::TooLarge(e.to_string()),
            StoreError::OutOfOrder { .. } => ApiError::bad("request_at", e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
