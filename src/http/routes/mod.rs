//! The handlers, one module per resource; the router (`crate::http::router`)
//! routes to them.

pub mod accounts;
pub mod admin;
pub mod commands;
pub mod contracts;
pub mod feed;
pub mod feed_stream;
pub mod lists;
pub mod ops;
pub mod partner;
pub mod persons;
pub mod proofs;
pub mod replay;
pub mod subject;
