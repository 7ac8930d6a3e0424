//! An independent verifier of what navigo-ledger gives an auditor, written
//! from `docs/checkpoints.md` and `docs/storage-format.md` alone: it shares
//! no code with the ledger, so that only a mistake of the documents
//! themselves can be made by both.
//!
//! - [`export::check`]: an `export` file (JSON lines), optionally against a
//!   signed checkpoint the auditor kept;
//! - [`note::open`]: a signed checkpoint with the verifier key;
//! - [`proofs`]: the inclusion, consistency and stream proofs `prove` prints,
//!   against signed checkpoints;
//! - [`bundle::check`]: a dispute bundle's checkpoints, consistency, stream
//!   heads and records. Not its views (balance, debit calendar): those need
//!   the ledger's rules engine, which an independent verifier does not
//!   re-implement; `verify-bundle` of the ledger recomputes them.
//!
//! Every check returns the first problem as an [`Invalid`] naming the line,
//! field, position or proof step; no input makes it panic.

pub mod bundle;
pub mod export;
pub mod instant;
pub mod note;
pub mod proofs;
pub mod record;
pub mod tree;

use std::fmt;

/// Why an artifact is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }

    /// The same problem, said of `place` (a line, a field, a stream).
    pub fn at(self, place: impl fmt::Display) -> Self {
        Self(format!("{place}: {}", self.0))
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}
