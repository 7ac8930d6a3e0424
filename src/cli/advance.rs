//! `navigo-ledger advance --to DATE`: run the billing clock through a date and print
//! the events it appended, one JSON line each. Beside a running service, the
//! service runs its clock (`POST /v1/commands`, AdvanceClock, with a system
//! token) and the events it appended are printed the same way.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use navigo_events_schema::views::{CommandAccepted, StoredEvent};
use navigo_ledger_core::ClockMode;
use navigo_store::Clock;

use super::exit::CmdResult;
use super::output::print_json_line;
use super::remote;
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
    if let Some(svc) = remote::service(data) {
        // The service runs its clock at its own instant, with the token's
        // actor (a system token), as it judges every command.
        let body = serde_json::json!({"command": {"type": "AdvanceClock", "to": args.to}});
        let answer: CommandAccepted = remote::command(&svc, body.to_string()).await?;
        return print(&answer.events, args.to);
    }
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
    print(&events, args.to)?;
    ledger.close().await?.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the events the clock appended, one JSON line each.
fn print(events: &[StoredEvent], to: NaiveDate) -> CmdResult {
    for e in events {
        print_json_line(e)?;
    }
    eprintln!("{} events appended through {to}", events.len());
    Ok(ExitCode::SUCCESS)
}
