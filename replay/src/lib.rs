//! Replay, audit and dispute rewind for navigo-ledger.
//!
//! - [`materialize`]: the projections of the default view (everything recorded,
//!   read on one effective date) stored in sled trees of a projection database
//!   under the ledger directory, each tree with its checkpoint position written in
//!   the same atomic batch as its rows; a rebuild writes a new generation of shadow
//!   trees and swaps it in by one pointer write; a follower catches up from the
//!   checkpoint; each tree has a BLAKE3 state hash.
//! - [`follow`]: the log a follower holds, extended at each poll by the new
//!   records only.
//! - [`audit`]: every event of a contract or person in order, with its rule ids
//!   ([`rules::rule_ids`]), its chain hash and the running balance.
//! - [`diff`]: what changed between two views (two `known_at` or two `at`) and the
//!   events that caused each change.
//! - [`whatif`]: hypothetical commands layered on a contract without writing.
//!
//! Nothing here re-implements a rule or a fold: the views are the projections
//! crate's, the decisions the core's.
#![warn(missing_docs)]

pub mod audit;
pub mod diff;
pub mod follow;
pub mod materialize;
pub mod rules;
pub mod whatif;

/// Why replay work failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The projection database failed.
    #[error("projection database: {0}")]
    Sled(#[from] sled::Error),
    /// A stored projection row cannot be read back.
    #[error("projection tree {tree}: {why}")]
    Corrupt {
        /// The tree.
        tree: String,
        /// What is wrong.
        why: String,
    },
    /// A view could not be encoded.
    #[error("encoding a view: {0}")]
    Encode(#[from] serde_json::Error),
    /// No projection was ever built.
    #[error("no materialized projection yet (run `navigo-ledger rebuild`)")]
    NotBuilt,
    /// The id is neither a known contract nor a known person.
    #[error(transparent)]
    Projection(#[from] navigo_projections::ProjectionError),
    /// The current generation was built before its lists' indexes (or with
    /// another set of them).
    #[error("the materialized projection has no list indexes yet (run `navigo-ledger rebuild`)")]
    NotIndexed,
    /// A list's cursor is not a place in that list.
    #[error("cursor: {0}")]
    Cursor(String),
    /// A follower's read does not continue the log it holds.
    #[error("the log read at position {position} does not continue the followed log: {why}")]
    Discontinuous {
        /// The first position that does not follow.
        position: u64,
        /// What is wrong.
        why: String,
    },
    /// A catch-up from a slice of the log met a reference event, which touches
    /// every row: it needs the whole log.
    #[error("the event at position {position} touches every projection row: catch up from the whole log")]
    WholeLogNeeded {
        /// The last position of the tail.
        position: u64,
    },
    /// A hypothetical command line is malformed.
    #[error("commands line {line}: {why}")]
    BadCommand {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}
