//! The audit trail of a contract or a person: every event in position order with
//! its instants, actor, channel, rule ids, chain hash and the running balance
//! after it; corrections next to what they correct.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use navigo_events_schema::{Envelope, Event, Money, RuleId, StreamId, StreamKind};
use navigo_projections::slice;
use navigo_rules::world::World;
use uuid::Uuid;

use crate::rules::rule_ids;
use crate::ReplayError;

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The envelope (position, stream, instants, actor, channel, hashes, event).
    pub envelope: Envelope,
    /// The rule ids that produced or judged it ([`rule_ids`]).
    pub rules: Vec<RuleId>,
    /// The balance (due − collected + returned) of the contract, or of every
    /// contract the person pays, after this event as recorded.
    pub balance_after: Money,
    /// For an annulment: the position of the event it annuls.
    pub corrects: Option<u64>,
    /// For an annulled event: the position of the annulment (as known).
    pub annulled_by: Option<u64>,
}

/// The audit trail of `id` (a contract or a person) over `events` (the whole
/// log in position order), as known at `known_at`, read from the id's slice of
/// the log ([`slice::contract_streams`], [`slice::person_streams`]: a superset
/// of the streams the trail shows and its balances read).
///
/// # Errors
/// Neither a contract nor a person known at `known_at`.
pub fn audit(
    events: &[Envelope],
    id: Uuid,
    known_at: Option<DateTime<Utc>>,
) -> Result<Vec<AuditEntry>, ReplayError> {
    // Unknown to the whole log: the whole log's reading says so.
    let part = slice::of_log(events, |w| {
        slice::contract_streams(w, id).or_else(|| slice::person_streams(w, id))
    });
    audit_whole_log(part.as_deref().unwrap_or(events), id, known_at)
}

/// The streams the audit trail of `id` shows in `world`: the contract's, or the
/// person's and those of every contract they hold or pay (or paid); `None` for
/// an id that is neither a contract nor a person of `world`.
pub fn trail_streams(world: &World, id: Uuid) -> Option<BTreeSet<StreamId>> {
    if world.contract(id).is_some() {
        return Some(BTreeSet::from([StreamId::contract(id)]));
    }
    world.person(id)?;
    let mut streams = BTreeSet::from([StreamId::person(id)]);
    // The holder and payer indexes name every contract the person holds, pays
    // or paid (and perhaps more, after an annulment): each is checked as a scan
    // of every contract would, without one.
    let candidates = world.by_holder.get(&id).into_iter().flatten();
    for c in candidates
        .chain(world.by_payer.get(&id).into_iter().flatten())
        .filter_map(|c| world.contract(*c))
    {
        if c.holder == id || c.payer == id || c.payers.iter().any(|(_, p)| *p == id) {
            streams.insert(StreamId::contract(c.id));
        }
    }
    Some(streams)
}

/// [`audit`] reading `events` as the whole world: the reference the tests hold
/// [`audit`] to, and what it computes on the slice it picks.
///
/// # Errors
/// Neither a contract nor a person known at `known_at`.
pub fn audit_whole_log(
    events: &[Envelope],
    id: Uuid,
    known_at: Option<DateTime<Utc>>,
) -> Result<Vec<AuditEntry>, ReplayError> {
    let recorded: Vec<&Envelope> = events
        .iter()
        .filter(|e| known_at.is_none_or(|k| e.recorded_at <= k))
        .collect();
    let by_event: BTreeMap<Uuid, (u64, StreamId)> = recorded
        .iter()
        .map(|e| (e.event_id, (e.position, e.stream)))
        .collect();
    let mut annulled_by: BTreeMap<Uuid, u64> = BTreeMap::new();
    for e in &recorded {
        if let Event::EventAnnulled(a) = &e.event {
            annulled_by.insert(a.annulled_event_id, e.position);
        }
    }
    let full = navigo_projections::fold_states(&recorded);
    let streams =
        trail_streams(&full, id).ok_or(navigo_projections::ProjectionError::UnknownContract(id))?;
    let paid: BTreeSet<Uuid> = streams
        .iter()
        .filter(|s| s.kind == StreamKind::Contract)
        .map(|s| s.id)
        .collect();
    let mut w = World::new();
    let mut out = Vec::new();
    for e in recorded {
        w.apply(e);
        let annuls_ours = match &e.event {
            Event::EventAnnulled(a) => by_event
                .get(&a.annulled_event_id)
                .is_some_and(|(_, s)| streams.contains(s)),
            _ => false,
        };
        if !streams.contains(&e.stream) && !annuls_ours {
            continue;
        }
        let balance_after = paid
            .iter()
            .filter_map(|c| w.contract(*c))
            .map(|c| c.money.balance())
            .sum();
        out.push(AuditEntry {
            envelope: e.clone(),
            rules: rule_ids(&e.event),
            balance_after,
            corrects: match &e.event {
                Event::EventAnnulled(a) => by_event.get(&a.annulled_event_id).map(|(p, _)| *p),
                _ => None,
            },
            annulled_by: annulled_by.get(&e.event_id).copied(),
        });
    }
    Ok(out)
}
