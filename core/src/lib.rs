//! The rules of the Navigo Annuel contract and the durable event store.
//!
//! - [`store`]: the append-only, hash-chained event log ([`store::EventStore`]).
//! - [`rulebook`], [`articles`], [`policy`]: the terms in force on a date and the
//!   policy parameters.
//! - [`refusal`]: how a rule refuses a request.
//!
//! This crate reads no clock and does no I/O outside [`store`]: time, ids and
//! policies are passed in.
#![warn(missing_docs)]

pub mod account;
pub mod articles;
pub mod bans;
pub mod calendar;
pub mod catalogue;
pub mod policy;
pub mod punctuality;
pub mod reference;
pub mod refusal;
pub mod rulebook;
pub mod store;
pub mod validity;

pub use policy::Policy;
pub use refusal::{CommandError, Refusal};
