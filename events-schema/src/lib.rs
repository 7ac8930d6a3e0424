//! The event schema of navigo-ledger: the envelope every event is stored in, the
//! event types (past-tense variants with payload structs, a stable type name and a
//! schema version), the command format, the rule ids of RULES.md, the value types
//! they share, and their JSON Schemas.
//!
//! This crate is the only one that derives serde: everything that crosses a
//! boundary (disk, CLI, HTTP) is defined here.
#![warn(missing_docs)]

pub mod command;
pub mod envelope;
pub mod event;
pub mod rule;
mod strict;
pub mod types;
pub mod upcast;
pub mod views;

pub use command::{Command, CommandEnvelope};
pub use envelope::{
    decode_record, encode_record, record_hashes, Assigned, Envelope, Hash, NewEvent, RawEventLine,
    StreamId, StreamKind,
};
pub use event::Event;
pub use rule::RuleId;
pub use strict::{from_json_str, FieldError};
pub use types::{Money, ParseError, YearMonth};

/// Why a stored record or an event payload could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The record is shorter than its hash prefix.
    #[error("record truncated: {0} bytes")]
    Truncated(usize),
    /// The envelope JSON is malformed.
    #[error("malformed envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    /// The event type is not known to this version of the ledger.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The schema version is newer than this code, or has no upcaster.
    #[error("unknown schema version {version} of {type_name} (current is {current})")]
    UnknownVersion {
        /// The type.
        type_name: String,
        /// The version found.
        version: u32,
        /// The current version.
        current: u32,
    },
    /// The payload does not match the type's schema.
    #[error("invalid {type_name} payload: {source}")]
    Payload {
        /// The type.
        type_name: String,
        /// The serde error, which names the field.
        #[source]
        source: serde_json::Error,
    },
}

/// One committed JSON Schema file: its path under `events-schema/schemas/` and content.
pub struct SchemaFile {
    /// Path relative to `events-schema/schemas/`.
    pub path: String,
    /// The schema.
    pub schema: schemars::Schema,
}

/// Every schema the ledger publishes: one per event type and version (current
/// versions from the types, older ones from their upcast structs), the command
/// envelope and the raw event line of `navigo-ledger append`.
pub fn schema_files() -> Vec<SchemaFile> {
    let mut out: Vec<SchemaFile> = Event::schemas()
        .into_iter()
        .map(|(name, v, schema)| SchemaFile {
            path: format!("events/{name}.v{v}.json"),
            schema,
        })
        .collect();
    out.extend(
        upcast::old_schemas()
            .into_iter()
            .map(|(name, v, schema)| SchemaFile {
                path: format!("events/{name}.v{v}.json"),
                schema,
            }),
    );
    out.push(SchemaFile {
        path: "command.json".into(),
        schema: schemars::schema_for!(CommandEnvelope),
    });
    out.push(SchemaFile {
        path: "raw-event-line.json".into(),
        schema: schemars::schema_for!(RawEventLine),
    });
    // The views of the projections (`navigo-projections`): their public API.
    let views: [(&str, schemars::Schema); 6] = [
        ("balance", schemars::schema_for!(views::PayerBalance)),
        (
            "contract-balance",
            schemars::schema_for!(views::ContractBalance),
        ),
        ("calendar", schemars::schema_for!(views::DebitCalendar)),
        ("bans", schemars::schema_for!(views::PersonBans)),
        ("refunds", schemars::schema_for!(views::PersonRefunds)),
        ("state", schemars::schema_for!(views::ContractStateView)),
    ];
    out.extend(views.into_iter().map(|(name, schema)| SchemaFile {
        path: format!("views/{name}.json"),
        schema,
    }));
    out.push(SchemaFile {
        path: "views/validity.json".into(),
        schema: schemars::schema_for!(views::ValidityView),
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
