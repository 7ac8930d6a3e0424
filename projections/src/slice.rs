//! The envelopes one contract's (or one person's) views read, taken from a folded world's
//! per-stream history ([`World::history`]) instead of the whole log, so that a
//! service holding the live world (the HTTP service) answers a contract read in
//! time proportional to the contract's history, not to the ledger's.
//!
//! What a contract's views read (checked against the whole log on a generated
//! population by `tests/projections.rs`):
//! - balance and calendar: the contract's stream and the catalogue;
//! - state: also the holder's and every payer's person streams, and the streams
//!   of every contract the holder holds or pays (`TERM-RETENTION` reads them all).
//!
//! The live world may know more than a `known_at` reading: a superset of streams is
//! harmless, since the [`Query`](crate::Query) filters run on the slice as on the
//! whole log. Annulments are recorded on the stream of the event they annul, so
//! they come with it.

use std::collections::BTreeSet;
use std::future::Future;

use navigo_events_schema::{Envelope, StreamId};
use navigo_rules::contract::state::ContractState;
use navigo_rules::world::World;
use uuid::Uuid;

/// The streams a contract's state, balance and calendar read; `None` for a
/// contract the world does not know.
pub fn contract_streams(world: &World, contract: Uuid) -> Option<BTreeSet<StreamId>> {
    Some(contract_streams_of(world, world.contract(contract)?))
}

/// The streams of [`contract_streams`], from the events of the contract's own
/// stream and the catalogue (`own`) folded on their own, the holder's other
/// contracts taken from the indexes of `indexes`; `None` when `own` holds no
/// contract `contract`.
///
/// The holder and every payer are recorded on the contract's stream, and a
/// live world's `by_holder` and `by_payer` stay resident when its states are
/// paged: so a reader of a paged world learns a contract's streams without
/// paging its state in.
pub fn contract_streams_from_own(
    indexes: &World,
    own: &[Envelope],
    contract: Uuid,
) -> Option<BTreeSet<StreamId>> {
    Some(contract_streams_of(
        indexes,
        fold_alone(own).contract(contract)?,
    ))
}

/// A world folded from `events` alone: the states of their streams, each of
/// which depends on its own stream only.
fn fold_alone(events: &[Envelope]) -> World {
    let mut folded = World::default();
    folded.apply_all(events);
    folded
}

/// A contract's slice, read by `read` (a store's read of a set of streams,
/// merged in position order) without paging the contract's state in: its own
/// stream and the catalogue first, then the other streams
/// [`contract_streams_from_own`] picks from them; `None` for a contract
/// `indexes` does not know.
///
/// # Errors
/// What `read` returns.
pub async fn read_contract_slice<E, Fut>(
    indexes: &World,
    contract: Uuid,
    read: impl FnMut(BTreeSet<StreamId>) -> Fut,
) -> Result<Option<Vec<Envelope>>, E>
where
    Fut: Future<Output = Result<Vec<Envelope>, E>>,
{
    let own = [StreamId::contract(contract), StreamId::catalogue()];
    let pick = |events: &[Envelope]| contract_streams_from_own(indexes, events, contract);
    read_from_own(indexes, own, pick, read).await
}

/// A person's slice ([`person_streams`]), read by `read` as
/// [`read_contract_slice`] reads a contract's: the person's own stream first,
/// folded alone to know whether it holds a person, then the streams the
/// indexes of `indexes` pick; `None` for a person `indexes` does not know.
///
/// # Errors
/// What `read` returns.
pub async fn read_person_slice<E, Fut>(
    indexes: &World,
    person: Uuid,
    read: impl FnMut(BTreeSet<StreamId>) -> Fut,
) -> Result<Option<Vec<Envelope>>, E>
where
    Fut: Future<Output = Result<Vec<Envelope>, E>>,
{
    let pick = |events: &[Envelope]| {
        fold_alone(events).person(person)?;
        Some(person_streams_of(indexes, person))
    };
    read_from_own(indexes, [StreamId::person(person)], pick, read).await
}

/// Reads the streams `own` (the first the id's own), then those `pick` names
/// from their events, and merges them in position order; `None` when the
/// first stream does not exist or `pick` finds no state in it.
///
/// Decision: asking a paged world for the id's state would page it in from
/// the derived states when it is not resident, a read of another database
/// and a decoding (a decryption, for a person) that cost more than the fold
/// of one stream the slice reads anyway, in a region whose states are mostly
/// not resident. A state depends on its own stream only, so the fold is the
/// world's.
async fn read_from_own<E, Fut, const N: usize>(
    indexes: &World,
    own: [StreamId; N],
    pick: impl FnOnce(&[Envelope]) -> Option<BTreeSet<StreamId>>,
    mut read: impl FnMut(BTreeSet<StreamId>) -> Fut,
) -> Result<Option<Vec<Envelope>>, E>
where
    Fut: Future<Output = Result<Vec<Envelope>, E>>,
{
    if own.first().is_none_or(|s| indexes.version(*s) == 0) {
        return Ok(None);
    }
    let own = BTreeSet::from(own);
    let mut events = read(own.clone()).await?;
    let Some(streams) = pick(&events) else {
        return Ok(None);
    };
    events.extend(read(streams.difference(&own).copied().collect()).await?);
    events.sort_unstable_by_key(|e| e.position);
    Ok(Some(events))
}

/// The streams of [`contract_streams`] for the contract state `c`, the other
/// contracts of its holder taken from the indexes of `indexes`.
fn contract_streams_of(indexes: &World, c: &ContractState) -> BTreeSet<StreamId> {
    let mut streams = BTreeSet::from([StreamId::contract(c.id), StreamId::catalogue()]);
    streams.insert(StreamId::person(c.holder));
    streams.insert(StreamId::person(c.payer));
    for (_, p) in &c.payers {
        streams.insert(StreamId::person(*p));
    }
    let related = indexes
        .by_holder
        .get(&c.holder)
        .into_iter()
        .chain(indexes.by_payer.get(&c.holder))
        .flatten();
    for other in related {
        streams.insert(StreamId::contract(*other));
    }
    streams
}

/// The envelopes of [`contract_streams`], in position order; `None` for a
/// contract the world does not know.
pub fn contract_slice(world: &World, contract: Uuid) -> Option<Vec<Envelope>> {
    Some(envelopes_of(world, &contract_streams(world, contract)?))
}

/// The streams a person's bans and refunds read; `None` for a person the world
/// does not know:
/// - the person's stream, the catalogue and every campaign (refunds);
/// - every contract the person holds, pays or paid (`World::by_holder`,
///   `World::by_payer`): unpaid terminations, Trésor Public notices, refunds;
/// - every contract whose fraud finding names the person as fraudster or
///   accomplice (`World::by_fraud_party`, `BAN-FRAUD-3Y`): an accomplice need
///   neither hold nor pay the contract.
pub fn person_streams(world: &World, person: Uuid) -> Option<BTreeSet<StreamId>> {
    world.person(person)?;
    Some(person_streams_of(world, person))
}

/// The streams of [`person_streams`] for a person known to exist, from the
/// indexes of `indexes`.
fn person_streams_of(indexes: &World, person: Uuid) -> BTreeSet<StreamId> {
    let mut streams = BTreeSet::from([StreamId::person(person), StreamId::catalogue()]);
    streams.extend(indexes.campaigns.keys().map(|id| StreamId::campaign(*id)));
    let contracts = indexes
        .by_holder
        .get(&person)
        .into_iter()
        .chain(indexes.by_payer.get(&person))
        .chain(indexes.by_fraud_party.get(&person))
        .flatten();
    streams.extend(contracts.map(|id| StreamId::contract(*id)));
    streams
}

/// The envelopes of [`person_streams`], in position order; `None` for a person
/// the world does not know.
pub fn person_slice(world: &World, person: Uuid) -> Option<Vec<Envelope>> {
    Some(envelopes_of(world, &person_streams(world, person)?))
}

/// The envelopes of `events` (a whole log, in position order) in the streams
/// `streams_of` picks from the log's fold (states only, [`crate::fold_states`]),
/// in position order; `None` when it picks none. For a reader that holds the
/// log, not a live world (the dispute diff, the what-if).
pub fn of_log(
    events: &[Envelope],
    streams_of: impl FnOnce(&World) -> Option<BTreeSet<StreamId>>,
) -> Option<Vec<Envelope>> {
    let streams = {
        let world = crate::fold_states(&events.iter().collect::<Vec<_>>());
        streams_of(&world)?
    };
    Some(
        events
            .iter()
            .filter(|e| streams.contains(&e.stream))
            .cloned()
            .collect(),
    )
}

/// Every envelope of the given streams in the world's history, in position order.
fn envelopes_of(world: &World, streams: &BTreeSet<StreamId>) -> Vec<Envelope> {
    let mut out: Vec<Envelope> = streams
        .iter()
        .flat_map(|s| world.history.get(s).into_iter().flatten().cloned())
        .collect();
    out.sort_unstable_by_key(|e| e.position);
    out
}
