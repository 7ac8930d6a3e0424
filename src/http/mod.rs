//! The HTTP service: `navigo-ledger serve --listen ADDR` (`serve`).
//!
//! One writer: the ledger sits behind a tokio mutex in the service's state
//! (`state`), so concurrent command submissions are judged one after the other
//! against the latest state and an update is never lost. Reads fold the stored
//! events with the application layer's functions, as the command line does, and
//! every answer is a view of `navigo_events_schema::views` (`answer`).
//! Authentication: bearer API tokens with a role (`crate::app::auth::Role`), or
//! a customer session opened with an account's login and password
//! (`sessions`). The server decides who acts and when: the actor of a command is
//! the authenticated principal and every command is judged at the server's
//! instant (`authz`, `routes::commands`). The router and the middleware every
//! request goes through are in `router`; one handler file per resource in
//! `routes/`.

pub mod admin_jobs;
pub mod answer;
pub mod authz;
pub mod caller;
pub mod command_queue;
pub mod error;
pub mod extract;
pub mod follower;
pub mod judging;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pipeline;
pub mod projector;
pub mod reads;
pub mod router;
pub mod routes;
pub mod serve;
pub mod sessions;
pub mod state;
