//! Refund entitlements per person: punctuality campaigns (per operation: eligible
//! or not and the deciding rule, the held months, the amount and how it was
//! computed, the beneficiary, the claim status), and the refunds due on the
//! person's contracts and person stream (cash over-payments, debits taken after a
//! cutoff, credits, punctuality), each due, paid or overdue on `at`.
//!
//! The punctuality entitlement of a holder who has not filed is what
//! [`navigo_rules::punctuality::decide_refund`] would decide for a request filed by
//! the holder on `at`; a filed claim shows its recorded decision.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use navigo_events_schema::event::{CampaignPublished, ClaimKind, FilerCapacity, RefundDue};
use navigo_events_schema::views::{
    CampaignEntitlement, ClaimStatus, PersonRefunds, RefundStatus, RefundView,
};
use navigo_events_schema::{Money, RuleId, StreamId};
use navigo_rules::catalogue::Catalogue;
use navigo_rules::punctuality::history::holder_history;
use navigo_rules::punctuality::{decide_refund, Filing, HolderHistory, RefundDecision};
use navigo_rules::world::{PersonState, World};
use navigo_rules::Refusal;
use uuid::Uuid;

use crate::{Folded, ProjectionError};

fn status(paid: bool, due_by: NaiveDate, at: NaiveDate) -> RefundStatus {
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
    date: NaiveDate,
    paid: bool,
    at: NaiveDate,
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

/// The reference data a refunds view reads besides the person and their
/// contracts: the catalogue (what a punctuality refund is computed from) and
/// the punctuality campaigns.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceData<'w> {
    /// The tariff catalogue and reference data.
    pub catalogue: &'w Catalogue,
    /// The campaigns by id.
    pub campaigns: &'w BTreeMap<Uuid, CampaignPublished>,
}

impl<'w> ReferenceData<'w> {
    /// The reference data of a fold. Every reference event counts whatever
    /// its date ([`crate::effective_by`]), so the fold of the known events and
    /// that of the events effective on any date hold the same reference data.
    pub fn of(world: &'w World) -> ReferenceData<'w> {
        ReferenceData {
            catalogue: &world.catalogue,
            campaigns: &world.campaigns,
        }
    }
}

/// The refunds view of a person on `at` (the input holding the person's stream,
/// every contract they hold or pay, the catalogue and the campaigns): the
/// refunds due on their contracts and on their own stream, by date, and their
/// entitlement in each punctuality campaign.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds(input: &Folded<'_>, person: Uuid) -> Result<PersonRefunds, ProjectionError> {
    person_refunds_with(input, ReferenceData::of(input.known()), person)
}

/// [`person_refunds`] with the reference data folded apart: `input` holds the
/// person's stream and every contract they hold or pay (its reference
/// streams, if any, are not read), `reference` the fold of the catalogue and
/// the campaigns for the same query. The answer is [`person_refunds`]'s of the
/// input with the reference streams merged in, since a fold's state of a
/// stream depends on that stream alone.
///
/// Why: a projector computes the refunds of many persons against the same
/// reference streams; folding them once for all, instead of once per person,
/// was the largest part of a new person's rows.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn person_refunds_with(
    input: &Folded<'_>,
    reference: ReferenceData<'_>,
    person: Uuid,
) -> Result<PersonRefunds, ProjectionError> {
    let w = input.at();
    let q = input.query();
    let p = w
        .person(person)
        .ok_or(ProjectionError::UnknownPerson(person))?;
    let mut refunds = contract_refunds(w, person, q.at);
    // Refunds on the person's own stream (punctuality, as holder), dated by
    // the effective date of the event each refund's id names.
    let dates: BTreeMap<Uuid, NaiveDate> = input
        .stream(StreamId::person(person))
        .iter()
        .map(|e| (e.event_id, e.effective_date))
        .collect();
    for (id, (r, paid)) in &p.refunds {
        let date = dates.get(id).copied().unwrap_or(q.at);
        refunds.push(person_refund(*id, r, date, *paid, q.at));
    }
    refunds.sort_by_key(|r| (r.date, r.event_id));
    let holder = Holder {
        catalogue: reference.catalogue,
        person: p,
        history: holder_history(w, p),
        at: q.at,
    };
    let campaigns = reference
        .campaigns
        .iter()
        .map(|(cid, campaign)| holder.entitlement(*cid, campaign))
        .collect();
    Ok(PersonRefunds {
        person,
        as_of: q.as_of(),
        campaigns,
        refunds,
    })
}

/// The refunds due on the contracts `person` holds or pays (or paid), in
/// contract id order.
fn contract_refunds(w: &World, person: Uuid, at: NaiveDate) -> Vec<RefundView> {
    // The holder and payer indexes, not a scan of every contract: a rebuild asks
    // this for every person. The indexes may name more contracts than the
    // person still holds or pays (an annulled payer change stays indexed), so
    // the filter stays.
    let ids: BTreeSet<Uuid> = w
        .contracts_of_holder(person)
        .chain(w.contracts_of_payer(person))
        .map(|c| c.id)
        .collect();
    let mut refunds = Vec::new();
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
                status: status(r.paid, r.due_by, at),
            });
        }
    }
    refunds
}

/// A person as the holder their punctuality entitlements are read for: the
/// catalogue, the person as effective by `at`, and their travel history.
struct Holder<'w> {
    catalogue: &'w Catalogue,
    person: &'w PersonState,
    history: HolderHistory,
    at: NaiveDate,
}

impl Holder<'_> {
    /// The person's entitlement in one punctuality campaign, as holder: the
    /// decision of the last claim decided, else what a request filed on `at` would
    /// be decided.
    fn entitlement(&self, cid: Uuid, campaign: &CampaignPublished) -> CampaignEntitlement {
        let filed = self
            .person
            .claims
            .iter()
            .filter(|c| c.filed.campaign_id == cid)
            .filter_map(|c| c.decided.as_ref())
            .next_back();
        let (operations, beneficiary, total, claim, not_assessable) = match filed {
            Some(d) => (
                d.operations.clone(),
                d.beneficiary,
                d.total,
                if d.total.is_positive() {
                    ClaimStatus::Granted
                } else {
                    ClaimStatus::DecidedNothing
                },
                None,
            ),
            None => match self.not_filed(cid, campaign) {
                Ok((d, note)) => (
                    d.operations,
                    d.beneficiary,
                    d.total,
                    ClaimStatus::NotFiled,
                    note,
                ),
                Err(r) => (
                    Vec::new(),
                    None,
                    Money::ZERO,
                    ClaimStatus::NotFiled,
                    Some(refusal_note(&r)),
                ),
            },
        };
        CampaignEntitlement {
            campaign_id: cid,
            name: campaign.name.clone(),
            operations,
            beneficiary,
            total,
            claim,
            not_assessable,
        }
    }

    /// The entitlement view of a holder who has not filed: a request filed by the
    /// holder on `at`. Decision: outside the filing window (`REF-WINDOW`) the
    /// entitlement is still shown, as a request filed on the window's first day
    /// would have been decided, with the window's refusal as a note.
    fn not_filed(
        &self,
        cid: Uuid,
        campaign: &CampaignPublished,
    ) -> Result<(RefundDecision, Option<String>), Refusal> {
        let p = self.person;
        let filing = Filing {
            campaign_id: cid,
            filer: p.id,
            capacity: FilerCapacity::Holder,
            filer_birth_date: p.birth_date,
            filer_emancipated: p.emancipation_proof.is_some(),
            kind: ClaimKind::Request,
            date: self.at,
        };
        match decide_refund(campaign, &self.history, self.catalogue, &filing) {
            Err(r) if r.rule == RuleId::RefWindow => {
                let in_window = Filing {
                    date: campaign.filing_from,
                    ..filing
                };
                decide_refund(campaign, &self.history, self.catalogue, &in_window)
                    .map(|d| (d, Some(refusal_note(&r))))
            }
            other => other.map(|d| (d, None)),
        }
    }
}

/// A refusal as the view's note: the rule, its article and the message.
fn refusal_note(r: &Refusal) -> String {
    format!("{} ({}): {}", r.rule, r.article, r.message)
}
