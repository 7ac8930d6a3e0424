//! What a writer hands an event store: events for one stream, all or nothing,
//! at the version the writer expects. The rules decide these (a rule's decision
//! *is* an append request), the ledger adds the idempotency key and the import
//! instant, and every store backend takes them.

use chrono::{DateTime, Utc};

use crate::envelope::{NewEvent, StreamId};

/// The version a writer expects a stream to be at (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version.
    Any,
    /// The stream must be at exactly this version (0: the stream must not exist).
    Exact(u64),
}

/// An append request: events for one stream, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    /// The stream.
    pub stream: StreamId,
    /// Expected version.
    pub expected: ExpectedVersion,
    /// The events, in order. At least one, at most the store's
    /// `events_per_append_max`.
    pub events: Vec<NewEvent>,
    /// Idempotency key: a retry with the same key and content writes nothing.
    pub idempotency_key: Option<String>,
    /// Import clock: the recorded-at instant to use instead of the store's clock.
    /// Refused as out of order when earlier than the head's instant.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl AppendRequest {
    /// `events` for `stream` at `expected`, with no idempotency key and the
    /// store's clock.
    pub fn new(
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> AppendRequest {
        AppendRequest {
            stream,
            expected,
            events,
            idempotency_key: None,
            recorded_at: None,
        }
    }
}
