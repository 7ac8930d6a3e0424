//! Why a stored record or an event payload could not be decoded.

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
