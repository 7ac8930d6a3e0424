//! A seeded population of Navigo Annuel customers and the simulation driver.
//!
//! - [`generate`](mod@generate) is pure: from a [`PopulationConfig`] (seed,
//!   size, period) and the campaigns in force it produces a [`Plan`]: every
//!   command the population sends, each with its request instant and a
//!   deterministic idempotency key, in request order. No clock, no I/O, no
//!   `rand`: a splitmix64 generator ([`Rng`]). [`PlanWindows`] gives the same
//!   plan a bounded window of days at a time from one run of the generator,
//!   spilled to a temporary file ([`spill`], the crate's only I/O).
//! - Some requests depend on amounts or ids only the ledger knows (settle the debt,
//!   pay a refund that is due, deliver a Trésor Public notice). The plan carries them
//!   as [`Intent`]s that [`resolve`] turns into commands against the [`World`] at the
//!   moment they are sent; an intent with nothing to do is skipped and counted.
//! - [`driver::drive`] sends a plan through [`Ledger::execute`](navigo_ledger_core::Ledger)
//!   (the real command path, import clock), runs the billing clock month by month
//!   (the plan's `AdvanceClock` commands) and counts accepted commands, refusals by
//!   rule id, invalid commands, duplicates answered as already applied, and commands
//!   that arrive earlier than the ledger's head (refused as out of order).
//! - [`summary::Summary`] computes what the demo prints from the folded [`World`]
//!   (the demo checks it against the projections it rebuilds).
//!
//! Re-running a plan on the same ledger is idempotent: commands already applied
//! answer with their first events, and the clock is itself idempotent.
//!
//! Time in the simulation is the plan's: every request carries its instant. The
//! driver reads a monotonic `Instant` only to time its phases for the demo's
//! report; nothing it decides depends on it.
//!
//! [`World`]: navigo_rules::world::World
#![warn(missing_docs)]

pub mod driver;
pub mod generate;
pub mod places;
pub mod plan;
pub mod rates;
pub mod rng;
pub mod spill;
pub mod summary;

pub use driver::{
    drive, drive_windows, drive_with_bank, resolve, BankDesk, DriveError, DriveReport,
    DriveWindowsError, NoBank, Outcome,
};
pub use generate::{
    generate, Intent, Plan, PlanWindows, PlannedCommand, PopulationConfig, Step,
    PLAN_WINDOW_REQUESTS_MAX,
};
pub use rng::Rng;
pub use spill::SpillError;
