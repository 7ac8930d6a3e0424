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

/// The environment variable that stands the binary's clock at a fixed RFC 3339
/// instant instead of the wall clock. For tests only: time in the tests is
/// injected, so that what they judge does not depend on the day they run.
pub const TEST_NOW_ENV: &str = "NAVIGO_TEST_NOW";

/// The instant of [`TEST_NOW_ENV`], read once; `None` when unset. A value that is
/// not an RFC 3339 instant is reported once on stderr and ignored.
fn test_now() -> Option<DateTime<Utc>> {
    static NOW: std::sync::OnceLock<Option<DateTime<Utc>>> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| {
        let v = std::env::var(TEST_NOW_ENV).ok()?;
        match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                eprintln!(
                    "warning: {TEST_NOW_ENV}={v:?} is not an RFC 3339 instant ({e}); ignored"
                );
                None
            }
        }
    })
}

/// The system clock: the only place the ledger reads the wall clock (or the
/// instant a test injects through [`TEST_NOW_ENV`]).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        test_now().unwrap_or_else(Utc::now)
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
