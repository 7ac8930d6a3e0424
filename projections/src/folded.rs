//! The one input of every view: the events of a slice of the log as known for
//! one [`Query`], and their folds.

use std::collections::HashMap;
use std::sync::OnceLock;

use navigo_events_schema::{Envelope, StreamId};
use navigo_rules::world::World;

use crate::{effective_by, fold_states, known_events_of, Query};

/// A slice of the log read for one [`Query`]: the envelopes known at
/// `known_at` (annulled events and annulments left out), those of them
/// effective by `at`, and the two folds every view reads — everything known
/// (timelines, plans, campaigns) and what was effective by `at` (money, bans,
/// losses). Built once by [`Folded::new`], then handed to as many views as read
/// the slice; each view reads the query from here, so a view and its folds
/// cannot answer different questions.
///
/// The folds are made on first use, without the per-stream history
/// ([`World::apply_all_states`]: the views read the known events from here
/// instead), and once only: when every known event is effective by `at` (the
/// usual "now"), one fold serves both. A view that reads only events (the ban
/// windows) folds nothing.
#[derive(Debug)]
pub struct Folded<'e> {
    query: Query,
    known: Vec<&'e Envelope>,
    effective: Vec<&'e Envelope>,
    known_world: OnceLock<World>,
    at_world: OnceLock<World>,
    by_stream: OnceLock<HashMap<StreamId, Vec<&'e Envelope>>>,
}

impl<'e> Folded<'e> {
    /// The slice `events` (whole streams, in position order: a whole log, or the
    /// streams a view reads) as known for `query`.
    pub fn new(events: impl IntoIterator<Item = &'e Envelope>, query: &Query) -> Folded<'e> {
        let known = known_events_of(events, query.known_at);
        let effective = effective_by(&known, query.at);
        Folded {
            query: *query,
            known,
            effective,
            known_world: OnceLock::new(),
            at_world: OnceLock::new(),
            by_stream: OnceLock::new(),
        }
    }

    /// The question every view of this input answers.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The known envelopes, in the slice's order.
    pub fn known_events(&self) -> &[&'e Envelope] {
        &self.known
    }

    /// The known envelopes that count on `at` ([`effective_by`]).
    pub fn effective_events(&self) -> &[&'e Envelope] {
        &self.effective
    }

    /// The known envelopes of one stream, in order (an index built on first
    /// use, so that a view of one id reads its stream without a walk of a
    /// whole log).
    pub fn stream(&self, stream: StreamId) -> &[&'e Envelope] {
        let index = self.by_stream.get_or_init(|| {
            let mut index: HashMap<StreamId, Vec<&'e Envelope>> = HashMap::new();
            for e in &self.known {
                index.entry(e.stream).or_default().push(*e);
            }
            index
        });
        index.get(&stream).map_or(&[], Vec::as_slice)
    }

    /// Every known event folded.
    pub fn known(&self) -> &World {
        self.known_world.get_or_init(|| fold_states(&self.known))
    }

    /// The known events effective by `at` folded.
    pub fn at(&self) -> &World {
        if self.effective.len() == self.known.len() {
            return self.known();
        }
        self.at_world.get_or_init(|| fold_states(&self.effective))
    }
}
