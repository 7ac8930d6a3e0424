//! The ledger's states rebuilt from the log a stream at a time, when the
//! stored ones are absent or refused.
//!
//! Folding the log in position order touches every contract each month, so
//! once the states outnumber the cache nearly every event pages its
//! contract's state in from the store and a later eviction writes it back: at
//! a million contracts (2.5 % of them resident) that fold had not finished
//! after more than two hours, its derived database grown to five times its
//! live bytes. A contract's or person's state depends on its own stream only
//! (`World::refold_state`), and so do the index edges its events add, so this
//! rebuild folds each stream whole, one after the other: every state is built
//! once, written once when the cache evicts it, and never read back.
//!
//! The world it ends with is the one the fold in log order gives (tests
//! compare them): each stream's events go through `World::apply_live` in
//! their order, with the stream's history held when it has an annulment, so
//! that the annulment refolds the stream as it did in the log; the catalogue
//! and the campaigns come first, so that the wake dates computed when a
//! contract is evicted read the whole catalogue; the head (position, hash) is
//! the store's.
//!
//! No meta entry is written before the last flush ([`Covers::Nothing`]): a
//! crash leaves a space that no open trusts, and the next open starts again.

use navigo_events_schema::{Event, StreamId, StreamKind};
use navigo_rules::policy::Policy;
use navigo_rules::world::World;
use navigo_store::{EventStore, StoreError};

use crate::states::{self, Covers};

/// The world rebuilt from the log, its states written, and the number of
/// events folded: a stream at a time when the store lists its streams
/// ([`EventStore::stream_heads`]); otherwise an empty world over an emptied
/// space, which the caller folds the log into in order.
///
/// # Errors
/// A store failure, a corrupt record, or streams that do not hold the log's
/// events between them.
pub(crate) async fn states<S: EventStore>(
    store: &S,
    policy: &Policy,
    limit: usize,
) -> Result<(World, u64), StoreError> {
    let head = store.head().await?;
    let Some(streams) = streams_of(store, head.position).await? else {
        return Ok((states::start_rebuild(store, Covers::Position).await?, 0));
    };
    let mut world = states::start_rebuild(store, Covers::Nothing).await?;
    world.wakes.policy = crate::policy_fingerprint(policy);
    let mut folded = 0;
    for stream in streams {
        folded += fold_stream(store, &mut world, stream).await?;
        crate::evict_paged(store, &mut world, policy, limit, Covers::Nothing).await?;
    }
    if folded != head.position || world.position != head.position {
        return Err(StoreError::Corrupt {
            position: head.position,
            why: format!(
                "the streams hold {folded} events through position {}, the log {}",
                world.position, head.position
            ),
        });
    }
    // Each stream's last event set the head's hash; the log's last is the
    // store's.
    world.head_hash = head.hash;
    navigo_rules::billing::refresh_wakes(&mut world, policy);
    states::flush(store, &mut world, false, Covers::Position).await?;
    Ok((world, folded))
}

/// Every stream of the first `size` records, those without a paged state
/// (the catalogue, the campaigns) first; `None` when the store cannot list
/// them.
async fn streams_of<S: EventStore>(
    store: &S,
    size: u64,
) -> Result<Option<Vec<StreamId>>, StoreError> {
    let heads = match store.stream_heads(size).await {
        Ok(heads) => heads,
        Err(StoreError::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut streams = heads
        .heads()
        .iter()
        .map(|h| {
            h.stream
                .parse::<StreamId>()
                .map_err(|e| StoreError::Corrupt {
                    position: h.last_position,
                    why: format!("stream head {}: {e}", h.stream),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    streams.sort_by_key(|s| matches!(s.kind, StreamKind::Contract | StreamKind::Person));
    Ok(Some(streams))
}

/// Folds every event of `stream` into `world`; returns how many.
async fn fold_stream<S: EventStore>(
    store: &S,
    world: &mut World,
    stream: StreamId,
) -> Result<u64, StoreError> {
    let events = store.read_stream(stream, 1..=u64::MAX).await?;
    let annulments = events
        .iter()
        .any(|e| matches!(e.event, Event::EventAnnulled(_)));
    if annulments {
        world.history.insert(stream, Vec::new());
    }
    for env in &events {
        world.apply_live(env);
    }
    world.history.remove(&stream);
    Ok(events.len() as u64)
}
