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
use navigo_events_schema::{Event, StreamId};

use crate::decision::{decision, Context, Decision, Request};
use crate::punctuality::history::holder_history;
use crate::punctuality::{decide_refund, Filing};
use crate::refusal::CommandError;
use crate::world::{PersonState, World};

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
    let judged = decide_refund(campaign, &history, &world.catalogue, &filing)?;
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
            operations: judged.operations,
            beneficiary: judged.beneficiary,
            total: judged.total,
        }),
    );
    decided.causation_id = Some(filed_id);
    let decided_id = decided.event_id;
    let mut events = vec![filed, decided];
    if let (true, Some(beneficiary)) = (judged.total.is_positive(), judged.beneficiary) {
        let due_by: NaiveDate =
            req.date + chrono::Duration::days(i64::from(ctx.policy.refund_within_days));
        let mut refund = req.event(
            ctx,
            req.date,
            Event::RefundDue(RefundDue {
                amount: judged.total,
                reason: RefundReason::Punctuality,
                due_by,
                method: refund_method(world, holder, beneficiary),
                beneficiary,
            }),
        );
        refund.causation_id = Some(decided_id);
        events.push(refund);
    }
    Ok(vec![decision(world, StreamId::person(holder.id), events)])
}
