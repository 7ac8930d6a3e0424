//! The rules of the Navigo Annuel contract, as pure functions.
//!
//! - [`calendar`], [`rulebook`], [`articles`], [`policy`]: Paris dates, the terms
//!   in force on a date, the article each rule cites, the operator's parameters.
//! - [`catalogue`], [`reference`](mod@reference): tariffs, school holidays,
//!   reason codes and campaigns (the built-in data of `rules/data/`).
//! - [`world`]: the in-memory view the rules read; [`contract`]: one contract's
//!   state, the rules its families share ([`contract::charges`],
//!   [`contract::guards`], [`contract::timing`]...) and one module per command
//!   family; [`person`], [`claims`], [`correction`], [`reference_cmds`]: the other
//!   families.
//! - [`decision`]: what a family decides with ([`decision::Request`],
//!   [`decision::Context`]) and returns ([`decision::Decision`]); [`ids`]: the
//!   seeded ids; [`engine`]: `handle(world, command, context)`, dispatching to the
//!   family; [`refusal`]: how a rule refuses.
//! - [`billing`]: the billing clock; [`bans`], [`punctuality`], [`validity`],
//!   [`account`]: ban windows, punctuality refunds, zone validity, personal-space
//!   and partner checks; [`retention`]: `TERM-RETENTION` over a population,
//!   the persons whose data is due for erasure on a date.
//!
//! This crate does no I/O, reads no clock and knows no store: time, ids and
//! policies are passed in, and a decision is an append request for the caller to
//! store. Its dependencies say so (no tokio, no sled, no store crate), and a
//! workspace test (`tests/layers.rs`) keeps it so.
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
pub mod idset;
pub mod person;
pub mod policy;
pub mod punctuality;
pub mod reference;
pub mod reference_cmds;
pub mod refusal;
pub mod retention;
pub mod rulebook;
pub mod validity;
pub mod world;

pub use policy::Policy;
pub use refusal::{CommandError, Refusal};
