//! The HTTP service's own answers: errors, liveness and readiness, a page of the
//! feed, the partner check.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Envelope, RuleId};

/// What kind of error an HTTP answer is (its status says the same, coarser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 400: malformed input.
    BadRequest,
    /// 401: no or unknown credentials.
    Unauthorized,
    /// 401: a wrong login or password.
    WrongCredentials,
    /// 401: a customer session that has expired or was closed.
    SessionEnded,
    /// 403: the role may not do this.
    Forbidden,
    /// 404: an unknown id or route.
    NotFound,
    /// 405: a route without this method.
    MethodNotAllowed,
    /// 409: a conflict.
    Conflict,
    /// 408: the request took longer than the service's bound.
    Timeout,
    /// 413: a body or append too large.
    TooLarge,
    /// 415: a body that is not JSON.
    UnsupportedMediaType,
    /// 422: a well-formed request that does not fit the ledger.
    Invalid,
    /// 422: a business refusal.
    Refused,
    /// 429: too many attempts.
    TooManyAttempts,
    /// 500.
    Internal,
}

/// The body of every error answer of the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// The kind.
    pub error: ErrorKind,
    /// What happened, and what would be accepted.
    pub message: String,
    /// The field at fault (a body field, a query parameter, a header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleId>,
    /// The article of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

impl ErrorBody {
    /// An error of `kind` with a message and nothing else.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: kind,
            message: message.into(),
            field: None,
            rule: None,
            article: None,
        }
    }

    /// The same error naming `field`.
    pub fn on(mut self, field: impl Into<String>) -> ErrorBody {
        self.field = Some(field.into());
        self
    }
}

/// The status of a live service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Live {
    /// The process answers.
    Ok,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Always `ok`.
    pub status: Live,
}

/// The status of a service ready to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// The ledger is open.
    Ready,
}

/// `GET /ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// Always `ready`.
    pub status: Readiness,
    /// The ledger's head position.
    pub head_position: u64,
}

/// A page of the log (`GET /v1/feed`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedPage {
    /// The events from the position asked, in order (as `history --json`
    /// prints them).
    pub events: Vec<Envelope>,
    /// The position to ask for next. Asked from beyond the head, the feed
    /// answers that position again, so it is bounded as the `from` parameter
    /// is (`int64`), not by the head.
    #[schemars(range(max = i64::MAX))]
    pub next_from: u64,
    /// The ledger's head position.
    pub head_position: u64,
}

/// The answer code of the partner check (`PARTNER-CHECK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PartnerCode {
    /// `00`: a subscription is valid on the day of the check.
    #[serde(rename = "00")]
    Valid,
    /// `01`: the identifier and birth date match, but no subscription is valid.
    #[serde(rename = "01")]
    NotValid,
    /// `02`: no customer matches both (an unknown identifier and a wrong birth
    /// date are not told apart).
    #[serde(rename = "02")]
    NoMatch,
}

/// The answer of `POST /v1/partner/check`: the code and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerAnswer {
    /// The code.
    pub code: PartnerCode,
}
