//! The application layer: what the ledger's two transports, the command line
//! (`cli`) and the HTTP service (`http`), both do, written once. Opening a
//! ledger for reading or writing, running a command, reading each view,
//! audit / diff / what-if, verification and stats, tokens and accounts; each
//! answers with a view of `navigo_events_schema::views`. The transports parse
//! their input, call this layer, and print or serve its views; they never call
//! each other, and this layer knows neither of them.

pub mod accounts;
pub mod admin;
pub mod against;
pub mod auth;
pub mod bank;
pub mod bank_files;
mod bank_parts;
pub mod bank_refunds;
pub mod bundle;
pub mod clock;
pub mod commands;
pub mod error;
pub mod export;
pub mod keys;
pub mod keystore;
pub mod ledger;
pub mod lists;
pub mod migrate;
pub mod personal;
pub mod place;
pub mod proofs;
pub mod read;
pub mod readonly;
pub mod replay;
pub mod reseal;
pub mod salvage;
pub mod sealing;
pub mod served;
pub mod sim_bank;
pub mod sql_projections;
pub mod stats;
pub mod store;
pub mod verify;
