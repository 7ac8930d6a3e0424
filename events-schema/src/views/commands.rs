//! The answers of the command paths: a stored event as `apply`, `advance` and
//! `POST /v1/commands` print it, the outcome of each line of `apply`, and the
//! answers of `POST /v1/commands` (one command, or a batch).

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::instant::offset;
use super::service::ErrorBody;
use crate::{Envelope, RuleId, StreamId};

/// A stored event as the command paths print it (`apply`, `advance`, `POST
/// /v1/commands`): where it was stored, its type and its payload. Shorter than
/// the whole envelope of `history --json`: no actor, ids or hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoredEvent {
    /// Its position in the log.
    pub position: u64,
    /// Its stream.
    pub stream: StreamId,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// Its id.
    pub event_id: Uuid,
    /// Its type name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its effective Europe/Paris date.
    pub effective_date: NaiveDate,
    /// The instant it was recorded at, with a numeric offset.
    #[serde(with = "offset")]
    #[schemars(with = "DateTime<Utc>")]
    pub recorded_at: DateTime<Utc>,
    /// Its payload, whose schema is its type's (`schemas/events/`), except
    /// that personal data reads `{"clear": value}` when open and
    /// `{"erased": true, "person": id}` when its key was destroyed, never the
    /// sealed bytes.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub data: serde_json::Value,
}

impl From<&Envelope> for StoredEvent {
    fn from(e: &Envelope) -> StoredEvent {
        StoredEvent {
            position: e.position,
            stream: e.stream,
            stream_seq: e.stream_seq,
            event_id: e.event_id,
            event_type: e.event.type_name().to_owned(),
            effective_date: e.effective_date,
            recorded_at: e.recorded_at,
            // A payload always serialises (its types are this crate's); `null`
            // keeps the line printable if one ever did not.
            // Personal data opened, or marked erased (`sealed::as_view`).
            data: crate::sealed::as_view(|| e.event.data_to_value())
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The status of an accepted command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accepted {
    /// Accepted: its events are appended.
    Accepted,
}

/// An accepted command and the events it appended (`POST /v1/commands`, 201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandAccepted {
    /// Always `accepted`.
    pub status: Accepted,
    /// The events appended, in order (those first appended, for a command
    /// whose idempotency key was already used for it).
    pub events: Vec<StoredEvent>,
}

impl CommandAccepted {
    /// The answer for the events a command appended.
    pub fn of(events: &[Envelope]) -> CommandAccepted {
        CommandAccepted {
            status: Accepted::Accepted,
            events: events.iter().map(StoredEvent::from).collect(),
        }
    }
}

/// The answer to one line of `navigo-ledger apply`, by its `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum ApplyOutcome {
    /// The command was accepted and its events appended.
    Accepted {
        /// The line, from 1.
        line: u64,
        /// The events appended.
        events: Vec<StoredEvent>,
    },
    /// A business rule refused the command; nothing was appended.
    Refused {
        /// The line, from 1.
        line: u64,
        /// The rule.
        rule: RuleId,
        /// The article of the terms that states it.
        article: String,
        /// Why, and what would make the command acceptable.
        message: String,
    },
    /// The command does not fit the ledger (an unknown contract...).
    Invalid {
        /// The line, from 1.
        line: u64,
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The command's idempotency key was first used for another command.
    Conflict {
        /// The line, from 1.
        line: u64,
        /// The key.
        key: String,
        /// What to do.
        message: String,
    },
    /// The command could not be judged (out of order, a store failure).
    Error {
        /// The line, from 1.
        line: u64,
        /// What happened.
        message: String,
    },
    /// The line is not a command of the format.
    Malformed {
        /// The line, from 1.
        line: u64,
        /// The path of the offending field (`command.product.zones`), or `null`
        /// when the line is not JSON at all.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// The answers to a batch of commands (`POST /v1/commands` with an array, 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOutcomes {
    /// One per command, in order.
    pub outcomes: Vec<BatchOutcome>,
}

/// The answer to one command of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BatchOutcome {
    /// Accepted (what a single command answers with 201).
    Accepted(CommandAccepted),
    /// Not accepted: the error a single command would answer, with its status.
    Failed(BatchFailure),
}

/// A command of a batch that was not accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BatchFailure {
    /// The HTTP status the command alone would have been answered with.
    pub status: u16,
    /// The error.
    #[serde(flatten)]
    pub error: ErrorBody,
}
