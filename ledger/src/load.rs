//! Reading the envelopes a projection needs from an [`EventStore`].
//!
//! Per-contract projections read the contract's stream, the catalogue and the
//! persons it names; per-person projections need every contract the person holds,
//! pays or is named in, and the campaigns, which only the whole log indexes: they
//! read it all ([`read_everything`]).

use navigo_events_schema::{Envelope, StreamId};
use navigo_store::{EventStore, StoreError};
use uuid::Uuid;

/// Every stored envelope, in position order, through the store's whole-log read
/// ([`EventStore::read_log`]: on sled, decoded and checked on every core).
///
/// # Errors
/// A storage failure or a corrupt record.
pub async fn read_everything<S: EventStore>(store: &S) -> Result<Vec<Envelope>, StoreError> {
    store.read_log(1).await
}

/// The envelopes a single-contract projection (calendar, balance, state) reads:
/// the contract's stream, the catalogue, and the streams of the persons it names
/// (holder and payers), merged in position order. Empty when the contract does
/// not exist.
///
/// # Errors
/// A storage failure or a corrupt record.
pub async fn read_contract<S: EventStore>(
    store: &S,
    contract: Uuid,
    with_persons: bool,
) -> Result<Vec<Envelope>, StoreError> {
    let mut out = store
        .read_stream(StreamId::contract(contract), 1..=u64::MAX)
        .await?;
    if out.is_empty() {
        return Ok(out);
    }
    let mut persons = std::collections::BTreeSet::new();
    if with_persons {
        for e in &out {
            persons.extend(e.event.contract_parties());
        }
    }
    out.extend(
        store
            .read_stream(StreamId::catalogue(), 1..=u64::MAX)
            .await?,
    );
    for p in persons {
        out.extend(store.read_stream(StreamId::person(p), 1..=u64::MAX).await?);
    }
    out.sort_by_key(|e| e.position);
    Ok(out)
}
