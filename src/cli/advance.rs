//! `navigo-ledger advance --to DATE`: run the billing clock through a date and print
//! the events it appended, one JSON line each.

use std::path::Path;
use std::process::ExitCode;

use std::sync::Arc;

use chrono::NaiveDate;
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::Policy;

use super::apply::envelope_json;
use navigo_store::Clock;

use super::{open_store, CmdResult, SystemClock};

/// Arguments of `advance`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Last date (Europe/Paris) whose system events are emitted.
    #[arg(long)]
    to: NaiveDate,
    /// Seed of the event-id generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs the clock.
///
/// # Errors
/// The ledger cannot be opened, or the store fails (what was appended stays).
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let store = open_store(data)?;
    let mut ledger = Ledger::open(store, Policy::default(), args.seed)
        .await?
        .with_clock(Arc::new(SystemClock));
    // The binary's clock is the one place the wall clock is read: the clock is
    // run at that instant, and no further than its day plus
    // clock_ahead_days_max (LedgerError::ClockTooFarAhead).
    let result = ledger
        .advance_to(args.to, SystemClock.now(), ClockMode::Service)
        .await;
    let events = match result {
        Ok(e) => e,
        Err(e) => {
            ledger.into_store().close().await?;
            return Err(e.into());
        }
    };
    for e in &events {
        outln!("{}", envelope_json(e));
    }
    eprintln!("{} events appended through {}", events.len(), args.to);
    ledger.close().await?.close().await?;
    Ok(ExitCode::SUCCESS)
}
