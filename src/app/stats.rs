//! The counts of a ledger: events, streams by kind, idempotency keys, the head
//! and the disk usage.

use std::path::Path;

use navigo_events_schema::views::StatsView;
use navigo_store_sled::Stats;

use super::ledger::open_store;
use super::verify::head_view;

/// Counts the ledger in `data`.
///
/// # Errors
/// Not a ledger, a corrupt head, or a storage failure.
pub async fn stats(data: &Path) -> anyhow::Result<Stats> {
    let store = open_store(data)?;
    let stats = store.stats()?;
    store.close().await?;
    Ok(stats)
}

/// The counts as a view.
pub fn stats_view(s: &Stats) -> StatsView {
    StatsView {
        events: s.events,
        streams: s.streams.values().sum::<u64>(),
        streams_by_kind: s
            .streams
            .iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), *n))
            .collect(),
        idempotency_keys: s.idempotency_keys,
        head: head_view(&s.head),
        disk_bytes: s.disk_bytes,
    }
}
