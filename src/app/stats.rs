//! The counts of a ledger: events, streams by kind, idempotency keys, the head
//! and the disk usage.

use navigo_events_schema::views::StatsView;

use super::ledger::open_store;
use super::place::Place;
use super::store::Stats;
use super::verify::head_view;

/// Counts the ledger at `data`.
///
/// # Errors
/// Not a ledger, a corrupt head, or a storage failure.
pub async fn stats(data: &Place) -> anyhow::Result<Stats> {
    let store = open_store(data).await?;
    let stats = store.stats().await;
    store.close().await?;
    Ok(stats?)
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
