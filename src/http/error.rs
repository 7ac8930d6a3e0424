//! The one error type of the service and its status mapping.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use navigo_events_schema::views::{ErrorBody, ErrorKind};
use navigo_ledger_core::LedgerError;
use navigo_rules::{CommandError, Refusal};
use navigo_store::StoreError;

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
    /// 401: a sign-in whose login or password is wrong (the two are not told
    /// apart, so that logins cannot be probed).
    WrongPassword,
    /// 401: a customer session that has expired or was closed.
    SessionEnded,
    /// 403: the role may not do this.
    Forbidden(String),
    /// 403: a field the caller may not set to this value (another actor, a
    /// channel the role does not use, a contract that is not the customer's).
    ForbiddenField {
        /// The field.
        field: String,
        /// Why, and what would be accepted.
        message: String,
    },
    /// 404: unknown id (or, for a customer, not theirs: never reveals existence).
    NotFound(String),
    /// 409: a version conflict or an idempotency key reused with another body.
    Conflict(String),
    /// 408: the request took longer than the service's bound.
    Timeout(String),
    /// 413: body too large.
    TooLarge(String),
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType(String),
    /// 422: a business refusal.
    Refused(Refusal),
    /// 422: a well-formed command that does not fit the ledger, naming the field.
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
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
            ApiError::Unauthorized | ApiError::WrongPassword | ApiError::SessionEnded => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) | ApiError::ForbiddenField { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Refused(_) | ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    /// The kind of the error, as its body names it.
    fn kind(&self) -> ErrorKind {
        match self {
            ApiError::BadRequest { .. } => ErrorKind::BadRequest,
            ApiError::Unauthorized => ErrorKind::Unauthorized,
            ApiError::WrongPassword => ErrorKind::WrongCredentials,
            ApiError::SessionEnded => ErrorKind::SessionEnded,
            ApiError::Forbidden(_) | ApiError::ForbiddenField { .. } => ErrorKind::Forbidden,
            ApiError::NotFound(_) => ErrorKind::NotFound,
            ApiError::Conflict(_) => ErrorKind::Conflict,
            ApiError::Timeout(_) => ErrorKind::Timeout,
            ApiError::TooLarge(_) => ErrorKind::TooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorKind::UnsupportedMediaType,
            ApiError::Invalid { .. } => ErrorKind::Invalid,
            ApiError::Refused(_) => ErrorKind::Refused,
            ApiError::TooManyAttempts(_) => ErrorKind::TooManyAttempts,
            ApiError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The body of the error.
    pub fn body(&self) -> ErrorBody {
        let kind = self.kind();
        match self {
            ApiError::BadRequest { field, message }
            | ApiError::ForbiddenField { field, message }
            | ApiError::Invalid { field, message } => ErrorBody::new(kind, message).on(field),
            ApiError::Unauthorized => ErrorBody::new(
                kind,
                "send Authorization: Bearer <token> (an API token or a customer session)",
            ),
            ApiError::WrongPassword => ErrorBody::new(kind, "wrong login or password"),
            ApiError::SessionEnded => ErrorBody::new(
                kind,
                "this session has expired or was closed; sign in again (POST /v1/sessions)",
            ),
            ApiError::Refused(r) => ErrorBody {
                rule: Some(r.rule),
                article: Some(r.article.to_string()),
                ..ErrorBody::new(kind, r.message.clone())
            },
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Timeout(m)
            | ApiError::TooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::TooManyAttempts(m)
            | ApiError::Internal(m) => ErrorBody::new(kind, m),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::Command(CommandError::Refused(r)) => ApiError::Refused(r),
            // Decision: a well-formed command that does not fit the ledger (an
            // unknown contract, a missing channel the command needs) is judged and
            // refused, 422 naming the field; 400 is kept for bodies that do not
            // parse, so that a request its schema accepts is never a 400.
            LedgerError::Command(CommandError::Invalid { field, message }) => ApiError::Invalid {
                field: field.to_string(),
                message,
            },
            LedgerError::Store(s) => s.into(),
            e @ (LedgerError::VersionConflict { .. }
            | LedgerError::IdempotencyConflict { .. }
            | LedgerError::HeadAfterClock { .. }) => ApiError::Conflict(e.to_string()),
            e @ LedgerError::ClockTooFarAhead { .. } => ApiError::bad("command.to", e.to_string()),
            e @ (LedgerError::AfterClock { .. } | LedgerError::OutOfOrder { .. }) => {
                ApiError::bad("request_at", e.to_string())
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
        // Through serde_json's map, as every answer of the service
        // (`crate::http::answer`): its keys sorted. An error body is strings
        // only and always serialises; `null` would still be JSON if it did not.
        let body = serde_json::to_value(self.body()).unwrap_or_default();
        (self.status(), Json(body)).into_response()
    }
}
