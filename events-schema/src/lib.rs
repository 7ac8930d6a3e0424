//! The event schema of navigo-ledger: the envelope every event is stored in, the
//! event types (past-tense variants with payload structs, a stable type name and a
//! schema version), the command format, the rule ids of RULES.md, the value types
//! they share, and their JSON Schemas.
//!
//! This crate is the only one that derives serde: everything that crosses a
//! boundary (disk, CLI, HTTP) is defined here.
#![warn(missing_docs)]

pub mod append;
pub mod command;
pub mod envelope;
mod error;
pub mod event;
pub mod mandate;
pub mod rule;
mod schemas;
pub mod sealed;
mod strict;
pub mod types;
pub mod upcast;
pub mod views;

pub use append::{AppendRequest, ExpectedVersion};
pub use command::{Command, CommandEnvelope};
pub use envelope::{
    decode_record, encode_record, record_hashes, Assigned, Envelope, Hash, NewEvent, RawEventLine,
    StreamId, StreamKind,
};
pub use error::DecodeError;
pub use event::Event;
pub use rule::RuleId;
pub use schemas::{schema_files, SchemaFile};
pub use strict::{from_json_str, FieldError};
pub use types::{Money, ParseError, YearMonth};
