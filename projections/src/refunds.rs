//! Refund entitlements per person: punctuality campaigns (per operation: eligible
//! or not and the deciding rule, the held months, the amount and how it was
//! computed, the beneficiary, the claim status), and the refunds due on the
//! person's contracts and person stream (cash over-payments, debits taken after a
//! cutoff, credits, punctuality), each due, paid or overdue on `at`.
//!
//! The punctuality entitlement of a holder who has not filed is what
//! [`navigo_rules::punctuality::decide_refund`] would decide for a request filed by
//! the holder on `at`; a filed claim shows its recorded decision.

use navigo_events_schema::event::{ClaimKind, FilerCapacity, RefundDue};
use navigo_events_schema::views::{
    CampaignEntitlement, ClaimStatus, PersonRefunds, RefundStatus, RefundView,
};
use navigo_events_schema::{Envelope, Money, RuleId};
use navigo_rules::punctuality::history::holder_history;
use navigo_rules::punctuality::{decide_refund, Filing};
use navigo_rules::world::World;
use uuid::Uuid;

use crate::{ProjectionError, Query, Worlds};

fn status(paid: bool, due_by: chrono::NaiveDate, at: chrono::NaiveDate) -> RefundStatus {
    if paid {
        RefundStatus::Paid
    } else if at > due_by {
        RefundStatus::Overdue
    } else {
        RefundStatus::Due
    }
}

fn person_refund(
    event_id: Uuid,
    r: &RefundDue,
    date: chrono::NaiveDate,
    paid: bool,
    at: chrono::NaiveDate,
) -> RefundView {
    RefundView {
        event_id,
        contract: None,
        reason: r.reason,
        amount: r.amount,
        date,
        due_by: r.due_by,
        method: r.method,
        beneficiary: r.beneficiary,
        status: status(paid, r.due_by, at),
    }
}

/// The refunds view from the folds of `q` (see the crate documentation).
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds_in(
    worlds: &Worlds,
    person: Uuid,
    q: &Query,
) -> Result<PersonRefunds, ProjectionError> {
    person_refunds_of(&worlds.known, &worlds.at, person, q)
}

/// The refunds view from the two folds of `q` given separately (the same world
/// twice when every known event is effective by `q.at`): `known` holds the
/// campaigns, `at` the person, every contract they hold or pay and the
/// catalogue.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds_of(
    known: &World,
    world_at: &World,
    person: Uuid,
    q: &Query,
) -> Result<PersonRefunds, ProjectionError> {
    let own = world_at
        .history
        .get(&navigo_events_schema::StreamId::person(person))
        .into_iter()
        .flatten();
    person_refunds_with_events(known, world_at, own, person, q)
}

/// [`person_refunds_of`] over worlds folded without their per-stream history
/// ([`crate::fold_states`]), given the person's own known events instead (the
/// view reads only their effective dates, by event id): a rebuild folds every
/// person, and copying each envelope into a history was most of a fold.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds_with_events<'e>(
    known: &World,
    world_at: &World,
    person_events: impl IntoIterator<Item = &'e Envelope>,
    person: Uuid,
    q: &Query,
) -> Result<PersonRefunds, ProjectionError> {
    let w: &World = world_at;
    let p = w
        .person(person)
        .ok_or(ProjectionError::UnknownPerson(person))?;
    let mut refunds = Vec::new();
    // Contracts the person holds or pays (or paid), in id order. The holder and
    // payer indexes, not a scan of every contract: a rebuild asks this for every
    // person. The indexes may name more contracts than the person still holds or
    // pays (an annulled payer change stays indexed), so the filter stays.
    let ids: std::collections::BTreeSet<Uuid> = w
        .contracts_of_holder(person)
        .chain(w.contracts_of_payer(person))
        .map(|c| c.id)
        .collect();
    for c in ids.iter().filter_map(|id| w.contract(*id)).filter(|c| {
        c.holder == person || c.payer == person || c.payers.iter().any(|(_, x)| *x == person)
    }) {
        for (id, r) in &c.refunds {
            refunds.push(RefundView {
                event_id: *id,
                contract: Some(c.id),
                reason: r.reason,
                amount: r.amount,
                date: r.date,
                due_by: r.due_by,
                method: r.method,
                beneficiary: r.beneficiary,
                status: status(r.paid, r.due_by, q.at),
            });
        }
    }
    // Refunds on the person's own stream (punctuality, as holder).
    // The effective date of each refund's event: its id names it.
    let dates: std::collections::BTreeMap<Uuid, chrono::NaiveDate> = person_events
        .into_iter()
        .map(|e| (e.event_id, e.effective_date))
        .collect();
    for (id, (r, paid)) in &p.refunds {
        let date = dates.get(id).copied().unwrap_or(q.at);
        refunds.push(person_refund(*id, r, date, *paid, q.at));
    }
    refunds.sort_by_key(|r| (r.date, r.event_id));
    // Punctuality campaigns, for the person as holder.
    let history = holder_history(w, p);
    let mut campaigns = Vec::new();
    for (cid, campaign) in &known.campaigns {
        let filed = p
            .claims
            .iter()
            .filter(|c| c.filed.campaign_id == *cid)
            .filter_map(|c| c.decided.as_ref())
            .next_back();
        let entry = match filed {
            Some(d) => CampaignEntitlement {
                campaign_id: *cid,
                name: campaign.name.clone(),
                operations: d.operations.clone(),
                beneficiary: d.beneficiary,
                total: d.total,
                claim: if d.total.is_positive() {
                    ClaimStatus::Granted
                } else {
                    ClaimStatus::DecidedNothing
                },
                not_assessable: None,
            },
            None => {
                // The entitlement view: a request filed by the holder on `at`.
                let filing = Filing {
                    campaign_id: *cid,
                    filer: person,
                    capacity: FilerCapacity::Holder,
                    filer_birth_date: p.birth_date,
                    filer_emancipated: p.emancipation_proof.is_some(),
                    kind: ClaimKind::Request,
                    date: q.at,
                };
                // Decision: outside the filing window (`REF-WINDOW`) the entitlement
                // is still shown, as a request filed on the window's first day would
                // have been decided, with the window's refusal as a note.
                let decided = match decide_refund(campaign, &history, &w.catalogue, &filing) {
                    Err(r) if r.rule == RuleId::RefWindow => {
                        let in_window = Filing {
                            date: campaign.filing_from,
                            ..filing.clone()
                        };
                        decide_refund(campaign, &history, &w.catalogue, &in_window).map(|d| {
                            (
                                d,
                                Some(format!("{} ({}): {}", r.rule, r.article, r.message)),
                            )
                        })
                    }
                    other => other.map(|d| (d, None)),
                };
                match decided {
                    Ok((d, note)) => CampaignEntitlement {
                        campaign_id: *cid,
                        name: campaign.name.clone(),
                        operations: d.operations,
                        beneficiary: d.beneficiary,
                        total: d.total,
                        claim: ClaimStatus::NotFiled,
                        not_assessable: note,
                    },
                    Err(r) => CampaignEntitlement {
                        campaign_id: *cid,
                        name: campaign.name.clone(),
                        operations: Vec::new(),
                        beneficiary: None,
                        total: Money::ZERO,
                        claim: ClaimStatus::NotFiled,
                        not_assessable: Some(format!("{} ({}): {}", r.rule, r.article, r.message)),
                    },
                }
            }
        };
        campaigns.push(entry);
    }
    Ok(PersonRefunds {
        person,
        as_of: q.as_of(),
        campaigns,
        refunds,
    })
}

/// The refunds view of a person over `events`.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds(
    events: &[Envelope],
    person: Uuid,
    q: &Query,
) -> Result<PersonRefunds, ProjectionError> {
    person_refunds_in(&Worlds::new(events, q), person, q)
}
