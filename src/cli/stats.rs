//! `navigo-ledger stats [--json]`: counts events, streams and keys.

use std::process::ExitCode;

use crate::app::store::Stats;

use super::exit::CmdResult;
use super::output::print_json_line;
use crate::app::place::Place;
use crate::app::stats::{stats, stats_view};

/// Arguments of `stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object (events, streams by kind, idempotency keys, head, disk
    /// bytes) instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints the stats of the ledger.
///
/// # Errors
/// Not a ledger, a corrupt head, or a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let stats = stats(data).await?;
    if args.json {
        print_json_line(&stats_view(&stats))?;
    } else {
        print_stats(&stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints stats as `name: value` lines.
///
/// # Errors
/// Stdout closed.
pub fn print_stats(s: &Stats) -> std::io::Result<()> {
    outln!("events: {}", s.events);
    let total: u64 = s.streams.values().sum();
    outln!("streams: {total}");
    for (kind, n) in &s.streams {
        outln!("  {}: {n}", kind.as_str());
    }
    outln!("idempotency keys: {}", s.idempotency_keys);
    outln!("head position: {}", s.head.position);
    outln!("head hash: {}", s.head.hash);
    let at = s
        .head
        .recorded_at
        .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
    outln!("head recorded at: {at}");
    outln!("disk bytes: {}", s.disk_bytes);
    Ok(())
}
