//! `navigo-ledger advance --to DATE`: run the billing clock through a date and print
//! the events it appended, one JSON line each.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use navigo_ledger_core::ClockMode;
use navigo_store::Clock;

use super::exit::CmdResult;
use super::output::print_json_line;
use crate::app::clock::SystemClock;
use crate::app::commands::advance;
use crate::app::ledger::open_clocked_ledger;
use crate::app::place::Place;

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
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let mut ledger = open_clocked_ledger(data, args.seed, Arc::new(SystemClock)).await?;
    // The binary's clock is the one place the wall clock is read: the clock is
    // run at that instant, and no further than its day plus
    // clock_ahead_days_max (LedgerError::ClockTooFarAhead).
    let result = advance(&mut ledger, args.to, SystemClock.now(), ClockMode::Service).await;
    let events = match result {
        Ok(e) => e,
        Err(e) => {
            ledger.into_store().close().await?;
            return Err(e.into());
        }
    };
    for e in &events {
        print_json_line(e)?;
    }
    eprintln!("{} events appended through {}", events.len(), args.to);
    ledger.close().await?.close().await?;
    Ok(ExitCode::SUCCESS)
}
