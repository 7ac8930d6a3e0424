//! Instants written the way `to_rfc3339` writes them, with a numeric offset
//! (`2026-12-08T10:00:00+00:00`), for the outputs that have always printed them
//! so (`apply`, `advance`, `verify`, `stats`, the HTTP command answers and
//! sessions). Serde's own form of an instant ends in `Z`; both are RFC 3339 and
//! both parse back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// `#[serde(with = "offset")]`: an instant.
pub mod offset {
    use super::*;

    /// Writes `t` as `to_rfc3339` does.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.to_rfc3339())
    }

    /// Reads any RFC 3339 instant.
    ///
    /// # Errors
    /// Not an RFC 3339 instant.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// `#[serde(with = "offset_option")]`: an instant or `null`.
pub mod offset_option {
    use super::*;

    /// Writes `t` as `to_rfc3339` does, or `null`.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    /// Reads an RFC 3339 instant or `null`.
    ///
    /// # Errors
    /// Neither.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}
