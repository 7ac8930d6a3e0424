//! `navigo-ledger stats`: counts events, streams and keys.

use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::sled_store::Stats;

use super::{open_store, CmdResult};

/// Prints the stats of the ledger.
///
/// # Errors
/// Not a ledger, a corrupt head, or a storage failure.
pub async fn run(data: &Path) -> CmdResult {
    let store = open_store(data)?;
    let stats = store.stats()?;
    store.close().await?;
    print_stats(&stats)?;
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
