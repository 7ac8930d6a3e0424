//! The one input of every view: the query, the events of a slice of the log as
//! known for it, and their folds.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::views::AsOf;
use navigo_events_schema::{Envelope, Event, StreamId, StreamKind};
use navigo_rules::world::World;
use uuid::Uuid;

/// The parameters of a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// The effective Europe/Paris date read.
    pub at: NaiveDate,
    /// Only events recorded at or before this instant count; `None`: everything.
    pub known_at: Option<DateTime<Utc>>,
}

impl Query {
    /// The state on `at` as known now.
    pub fn on(at: NaiveDate) -> Query {
        Query { at, known_at: None }
    }
    /// The view's echo of the parameters.
    pub fn as_of(&self) -> AsOf {
        AsOf {
            at: self.at,
            known_at: self.known_at,
        }
    }
}

/// The envelopes that count as known at `known_at`: recorded at or before it, not
/// annulled by an annulment recorded at or before it, annulments dropped. Order is
/// kept (position order when the input is).
pub fn known_events(events: &[Envelope], known_at: Option<DateTime<Utc>>) -> Vec<&Envelope> {
    known_events_of(events, known_at)
}

/// [`known_events`] of any sequence of envelopes (a slice of owned envelopes,
/// or references gathered from an index).
pub fn known_events_of<'e>(
    events: impl IntoIterator<Item = &'e Envelope>,
    known_at: Option<DateTime<Utc>>,
) -> Vec<&'e Envelope> {
    let recorded: Vec<&Envelope> = events
        .into_iter()
        .filter(|e| known_at.is_none_or(|k| e.recorded_at <= k))
        .collect();
    let annulled: BTreeSet<Uuid> = recorded
        .iter()
        .filter_map(|e| e.event.annulled_event_id())
        .collect();
    recorded
        .into_iter()
        .filter(|e| !matches!(e.event, Event::EventAnnulled(_)))
        .filter(|e| !annulled.contains(&e.event_id))
        .collect()
}

/// Of the known envelopes, those effective at or before `at`, plus those that
/// count whatever their date: the events opening a stream (`ContractSubscribed`,
/// `PersonRegistered`: they carry no amount, and a contract or person known is
/// known on every date), and the reference streams (catalogue, campaigns), whose
/// entries carry their own effective dates and are looked up by date.
pub fn effective_by<'a>(known: &[&'a Envelope], at: NaiveDate) -> Vec<&'a Envelope> {
    known
        .iter()
        .copied()
        .filter(|e| {
            e.effective_date <= at
                || matches!(
                    e.event,
                    Event::ContractSubscribed(_) | Event::PersonRegistered(_)
                )
                || matches!(e.stream.kind, StreamKind::Catalogue | StreamKind::Campaign)
        })
        .collect()
}

/// Folds envelopes into a world.
pub fn fold(events: &[&Envelope]) -> World {
    let mut w = World::new();
    w.apply_all(events.iter().copied());
    w
}

/// Folds envelopes into a world without its per-stream history and idempotency
/// keys ([`World::apply_all_states`]), for a projection that reads only the
/// states.
pub fn fold_states(events: &[&Envelope]) -> World {
    let mut w = World::new();
    w.apply_all_states(events.iter().copied());
    w
}

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
