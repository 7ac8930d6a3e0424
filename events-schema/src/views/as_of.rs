//! The reading a view answers for: a date, as known at an instant.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The two parameters every projection answers for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// The effective Europe/Paris date read.
    pub at: NaiveDate,
    /// Only events recorded at or before this instant count; `None`: everything.
    pub known_at: Option<DateTime<Utc>>,
}
