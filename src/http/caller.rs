//! Who is calling: resolved once per request by the middleware (`router`), and
//! required by each handler.

use uuid::Uuid;

use super::error::ApiError;
use crate::app::auth::Role;

/// Who is calling, resolved once by the middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The token's name, recorded as the actor of its commands and in the
    /// request log (`customer` for a customer session: a person id is personal
    /// data and stays out of the log).
    pub name: String,
    /// The customer's person (customers only).
    pub person: Option<Uuid>,
}

/// The caller: none, a principal, or a customer session that has ended.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credentials, or unknown ones.
    Anonymous,
    /// A session token that has expired or was closed.
    Ended,
    /// Authenticated.
    Known(Principal),
}

/// The principal, when its role is among `allowed`.
///
/// # Errors
/// 401 without credentials or with an ended session, 403 for another role.
pub fn require(c: &Caller, allowed: &[Role], what: &str) -> Result<Principal, ApiError> {
    match c {
        Caller::Anonymous => Err(ApiError::Unauthorized),
        Caller::Ended => Err(ApiError::SessionEnded),
        Caller::Known(p) if allowed.contains(&p.role) => Ok(p.clone()),
        Caller::Known(p) => Err(ApiError::Forbidden(format!(
            "the role {} may not {what}",
            p.role.as_str()
        ))),
    }
}
