//! Punctuality refund claims (`REF-*`, RULES.md §10): filing a request or a claim
//! for a holder records it on the holder's person stream and decides it at once
//! with [`crate::punctuality::decide_refund`], which holds the rules. A positive
//! total becomes a refund due to the beneficiary (`REF-BENEFICIARY`).

use chrono::NaiveDate;
use navigo_events_schema::command::FileRefundClaim;
use navigo_events_schema::event::{
    RefundClaimDecided, RefundClaimFiled, RefundDue, RefundMethod, RefundReason,
};
use navigo_events_schema::types::PaymentSetup;
use navigo_events_schema::{Event, Money, StreamId};

use crate::contract::state::ContractState;
use crate::engine::{Context, Decision, Request};
use crate::punctuality::{
    decide_refund, ContractHistory, DeclaredPlace, Filing, HolderHistory, InForcePeriod,
    PriorClaim, Residence,
};
use crate::refusal::CommandError;
use crate::world::{PersonState, World};

/// What the refund rules read of one contract: its periods in force, its products
/// and its payers, each from a date (`REF-HELD-MONTHS`, `REF-AMOUNT`,
/// `REF-BENEFICIARY`). A payer change is effective from the 1st of its month, the
/// first payer from the start date.
pub fn contract_history(c: &ContractState) -> ContractHistory {
    ContractHistory {
        contract: c.id,
        periods: c
            .periods
            .iter()
            .map(|p| InForcePeriod {
                from: p.start,
                until: p.end,
            })
            .collect(),
        products: c.products.clone(),
        payers: c
            .payers
            .iter()
            .map(|(m, p)| (m.first_day().max(c.start_date), *p))
            .collect(),
        third_party_payer: c.third_party_payer,
    }
}

/// What the refund rules read of one holder (`REF-*`).
pub fn holder_history(world: &World, holder: &PersonState) -> HolderHistory {
    HolderHistory {
        holder: holder.id,
        holder_birth_date: holder.birth_date,
        holder_emancipated: holder.emancipation_proof.is_some(),
        contracts: world
            .contracts_of_holder(holder.id)
            .map(contract_history)
            .collect(),
        residences: holder
            .addresses
            .iter()
            .map(|(from, a)| Residence {
                from: *from,
                municipality: a.municipality.clone(),
            })
            .collect(),
        declared_places: holder
            .places
            .iter()
            .map(|p| DeclaredPlace {
                from: p.since,
                kind: p.kind,
                municipality: p.municipality.clone(),
            })
            .collect(),
        prior_claims: holder
            .claims
            .iter()
            .map(|c| PriorClaim {
                campaign_id: c.filed.campaign_id,
                kind: c.filed.kind,
                granted: c.decided.as_ref().map_or(Money::ZERO, |d| d.total),
            })
            .collect(),
    }
}

/// The refund method of a punctuality refund (`PAY-REFUND-METHOD`). Decision:
/// RULES.md gives the methods for contract refunds; a punctuality refund goes by
/// bank transfer when the beneficiary pays one of the holder's contracts by
/// direct debit (the account is known), otherwise by lettre-chèque.
fn refund_method(world: &World, holder: &PersonState, beneficiary: uuid::Uuid) -> RefundMethod {
    let debit = world.contracts_of_holder(holder.id).any(|c| {
        c.payer == beneficiary && matches!(c.payment(), Some(PaymentSetup::DirectDebit { .. }))
    });
    if debit {
        RefundMethod::BankTransfer
    } else {
        RefundMethod::LettreCheque
    }
}

/// Handles `FileRefundClaim`.
///
/// # Errors
/// Invalid when the holder, the filer or the campaign is unknown; refused by
/// `REF-WINDOW`, `REF-CLAIMANT` or `REF-ONE-PER-CAMPAIGN` (nothing is recorded
/// then). An ineligible holder is not a refusal: the claim is recorded with a
/// decision of zero, each operation naming the rule that decided it.
pub fn file_refund_claim(
    world: &World,
    req: &Request<'_>,
    cmd: &FileRefundClaim,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let holder = world
        .person(cmd.holder)
        .ok_or_else(|| CommandError::invalid("holder", format!("no person {}", cmd.holder)))?;
    let filer = world
        .person(cmd.filer)
        .ok_or_else(|| CommandError::invalid("filer", format!("no person {}", cmd.filer)))?;
    let campaign = world.campaigns.get(&cmd.campaign_id).ok_or_else(|| {
        CommandError::invalid("campaign_id", format!("no campaign {}", cmd.campaign_id))
    })?;
    let history = holder_history(world, holder);
    let filing = Filing {
        campaign_id: cmd.campaign_id,
        filer: cmd.filer,
        capacity: cmd.filer_capacity,
        filer_birth_date: filer.birth_date,
        filer_emancipated: filer.emancipation_proof.is_some(),
        kind: cmd.kind,
        date: req.date,
    };
    let decision = decide_refund(campaign, &history, &world.catalogue, &filing)?;
    let filed = req.event(
        ctx,
        req.date,
        Event::RefundClaimFiled(RefundClaimFiled {
            campaign_id: cmd.campaign_id,
            filer: cmd.filer,
            filer_capacity: cmd.filer_capacity,
            kind: cmd.kind,
        }),
    );
    let filed_id = filed.event_id;
    let mut decided = req.event(
        ctx,
        req.date,
        Event::RefundClaimDecided(RefundClaimDecided {
            claim_event_id: filed_id,
            campaign_id: cmd.campaign_id,
            operations: decision.operations,
            beneficiary: decision.beneficiary,
            total: decision.total,
        }),
    );
    decided.causation_id = Some(filed_id);
    let decided_id = decided.event_id;
    let mut events = vec![filed, decided];
    if let (true, Some(beneficiary)) = (decision.total.is_positive(), decision.beneficiary) {
        let due_by: NaiveDate =
            req.date + chrono::Duration::days(i64::from(ctx.policy.refund_within_days));
        let mut refund = req.event(
            ctx,
            req.date,
            Event::RefundDue(RefundDue {
                amount: decision.total,
                reason: RefundReason::Punctuality,
                due_by,
                method: refund_method(world, holder, beneficiary),
                beneficiary,
            }),
        );
        refund.causation_id = Some(decided_id);
        events.push(refund);
    }
    Ok(vec![Decision::new(
        world,
        StreamId::person(holder.id),
        events,
    )])
}
