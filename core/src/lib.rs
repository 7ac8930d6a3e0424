//! The rules of the Navigo Annuel contract and the durable event store.
//!
//! - [`store`]: the append-only, hash-chained event log ([`store::EventStore`]).
//! - [`rulebook`], [`articles`], [`policy`]: the terms in force on a date and the
//!   policy parameters.
//! - [`refusal`]: how a rule refuses a request.
//! - [`world`]: the in-memory view the rules read; [`contract::state`]: one contract.
//! - [`engine`]: `handle(world, command, context)`, dispatching to one module per
//!   command family; [`billing`]: the billing clock.
//!
//! This crate reads no clock and does no I/O outside [`store`]: time, ids and
//! policies are passed in.
#![warn(missing_docs)]

pub mod account;
pub mod articles;
pub mod bans;
pub mod billing;
pub mod calendar;
pub mod catalogue;
pub mod claims;
pub mod contract;
pub mod correction;
pub mod decision;
pub mod engine;
pub mod ids;
pub mod person;
pub mod policy;
pub mod punctuality;
pub mod reference;
pub mod reference_cmds;
pub mod refusal;
pub mod rulebook;
pub mod validity;
pub mod world;

pub use policy::Policy;
pub use refusal::{CommandError, Refusal};
