//! The envelopes one contract's views read, taken from a folded world's
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

use navigo_core::world::World;
use navigo_events_schema::{Envelope, StreamId};
use uuid::Uuid;

/// The streams a contract's state, balance and calendar read; `None` for a
/// contract the world does not know.
pub fn contract_streams(world: &World, contract: Uuid) -> Option<BTreeSet<StreamId>> {
    let c = world.contract(contract)?;
    let mut streams = BTreeSet::from([StreamId::contract(contract), StreamId::catalogue()]);
    streams.insert(StreamId::person(c.holder));
    streams.insert(StreamId::person(c.payer));
    for (_, p) in &c.payers {
        streams.insert(StreamId::person(*p));
    }
    let related = world
        .by_holder
        .get(&c.holder)
        .into_iter()
        .chain(world.by_payer.get(&c.holder))
        .flatten();
    for other in related {
        streams.insert(StreamId::contract(*other));
    }
    Some(streams)
}

/// The envelopes of [`contract_streams`], in position order; `None` for a
/// contract the world does not know.
pub fn contract_slice(world: &World, contract: Uuid) -> Option<Vec<Envelope>> {
    let streams = contract_streams(world, contract)?;
    let mut out: Vec<Envelope> = streams
        .iter()
        .flat_map(|s| world.history.get(s).into_iter().flatten().cloned())
        .collect();
    out.sort_unstable_by_key(|e| e.position);
    Some(out)
}
