//! The subcommands, one module each, and what they share: the system clock, how a
//! ledger is opened, and the one place errors become exit codes (`exit`).

/// `println!` that returns the write error (`?`) instead of panicking: a reader
/// that closes stdout (`navigo-ledger stats | head -1`) ends the command with a
/// broken pipe, which `main` turns into the SIGPIPE exit.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

pub mod account;
pub mod advance;
pub mod append;
pub mod apply;
pub mod audit;
pub mod balance;
pub mod bans;
pub mod calendar;
pub mod check_projections;
pub mod demo;
pub mod diff;
pub mod exit;
pub mod follow;
pub mod history;
pub mod init;
pub mod rebuild;
pub mod refunds;
pub mod sample;
pub mod serve;
pub mod state;
pub mod stats;
pub mod stress;
pub mod token;
pub mod verify;
pub mod what_if;

use std::fmt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use navigo_store::{Clock, Limits, StoreError};
use navigo_store_sled::SledStore;

pub use exit::{exit_code, EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_REFUSED};

/// The result of a subcommand: an exit code, or an error whose kind chooses one.
pub type CmdResult = anyhow::Result<ExitCode>;

/// Bad input: a malformed line, an unknown event type, a limit exceeded. Exit 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// The system clock: the only place the ledger reads the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Opens the ledger in `data` with the system clock and the default limits.
///
/// # Errors
/// Not a ledger (nothing is written), a corrupt head, a storage failure.
pub fn open_store(data: &Path) -> Result<SledStore, StoreError> {
    SledStore::open(data, Limits::default(), Arc::new(SystemClock))
}

/// Opens the ledger, reads the whole log and closes the store again: the read-only
/// commands (projections, audit, diff, what-if, rebuild, check-projections) fold
/// everything. The store is closed before a read error is returned, so the sled
/// lock is never left held.
///
/// # Errors
/// The ledger cannot be opened, read or closed.
pub async fn read_whole_log(
    data: &Path,
) -> Result<Vec<navigo_events_schema::Envelope>, StoreError> {
    let store = open_store(data)?;
    let events = navigo_ledger_core::load::read_everything(&store).await;
    store.close().await?;
    events
}
