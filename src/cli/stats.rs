//! `navigo-ledger stats [--json]`: counts events, streams and keys.

use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::sled_store::Stats;
use serde_json::{json, Value};

use super::{open_store, CmdResult};

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
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let store = open_store(data)?;
    let stats = store.stats()?;
    store.close().await?;
    if args.json {
        outln!("{}", stats_json(&stats));
    } else {
        print_stats(&stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The stats as one JSON object.
pub fn stats_json(s: &Stats) -> Value {
    json!({
        "events": s.events,
        "streams": s.streams.values().sum::<u64>(),
        "streams_by_kind": s
            .streams
            .iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), json!(n)))
            .collect::<serde_json::Map<_, _>>(),
        "idempotency_keys": s.idempotency_keys,
        "head": super::verify::head_json(&s.head),
        "disk_bytes": s.disk_bytes,
    })
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
