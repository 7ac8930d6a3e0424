//! Senior switch of an existing Annual contract (`SENIOR-SWITCH`, `PAY-CUTOFF`;
//! CGVU-2026 §3.2.2, §3.2.3, §3.3, §4.14.13.3).
//!
//! The request records the declaration, the proof of age and the end of the 5
//! working days of processing (§3.3; Decision: Saturdays, Sundays and French public
//! holidays are not working days). The agency validates it from that date on; the
//! Senior installment applies from the next debit or the one after, by `PAY-CUTOFF`
//! on the validation date.

use navigo_events_schema::command::{ContractRef, RequestSeniorSwitch};
use navigo_events_schema::event::{AgeProof, SeniorSwitchRequested, SeniorSwitchValidated};
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::types::{ActorRole, PaymentSetup, Product};
use navigo_events_schema::{Event, RuleId};

use super::guards::{contract, senior_declaration_ok, SENIOR_AGE_MIN};
use super::state::{ContractState, Status};
use super::timing;
use crate::calendar::date_of_age;
use crate::decision::{Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// A named bound on the proof reference's length.
pub const PROOF_REF_BYTES_MAX: usize = 128;

/// The conditions of §3.2.2 that hold at the request and again at the validation:
/// Annual zones 1-5, direct debit, in force and not suspended.
fn check_contract(req: &Request<'_>, c: &ContractState) -> Result<(), CommandError> {
    let refuse = |why: String| {
        req.refuse(
            RuleId::SeniorSwitch,
            format!(
                "contract {}: {why}; the Senior switch needs an Annual zones 1-5 contract paid by \
                 direct debit, in force and not suspended (§3.2.2)",
                c.id
            ),
        )
    };
    if let Status::Terminated { reason } = c.current_status() {
        return Err(refuse(format!("it is terminated ({reason})")));
    }
    if let Some(since) = c.suspended_since() {
        return Err(refuse(format!(
            "it is suspended from {since}; resume it first"
        )));
    }
    match c.product {
        Product::Annual { zones } if zones.is_all_zones() => {}
        Product::Annual { zones } => return Err(refuse(format!("it covers zones {zones}"))),
        Product::Senior => return Err(refuse("it is already a Senior contract".into())),
    }
    if !matches!(c.payment(), Some(PaymentSetup::DirectDebit { .. })) {
        return Err(refuse("it is paid in cash".into()));
    }
    Ok(())
}

/// Handles `RequestSeniorSwitch`.
///
/// # Errors
/// Refused by `SENIOR-SWITCH` when the contract does not qualify, a switch is
/// already in processing, the holder is under 62 on the request date or the
/// declaration is not below half-time; by `SUB-PRODUCT` when the catalogue has no
/// Senior tariff on the request date. An empty proof reference is invalid.
pub fn request_switch(
    world: &World,
    req: &Request<'_>,
    cmd: &RequestSeniorSwitch,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    if cmd.age_proof_ref.trim().is_empty() || cmd.age_proof_ref.len() > PROOF_REF_BYTES_MAX {
        return Err(CommandError::invalid(
            "age_proof_ref",
            format!("the proof of age reference has 1 to {PROOF_REF_BYTES_MAX} bytes (§3.2.3)"),
        ));
    }
    check_contract(req, c)?;
    if let Some(p) = &c.senior_switch {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            format!(
                "contract {} already has a Senior switch requested on {}, in processing until {}",
                c.id, p.requested, p.processing_until
            ),
        ));
    }
    let holder = world.person(c.holder).ok_or_else(|| {
        CommandError::invalid(
            "contract_id",
            format!("holder {} is not registered", c.holder),
        )
    })?;
    let aged = date_of_age(holder.birth_date, SENIOR_AGE_MIN);
    if req.date < aged {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            format!(
                "the holder is under {SENIOR_AGE_MIN} on {}; the Senior tariff is open from {aged}",
                req.date
            ),
        ));
    }
    if !senior_declaration_ok(&cmd.declaration) {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            "the declared activity is not below half-time: under 17.5 h a week, 75.5 h a month \
             or 803.5 h a year (§2.2.3)",
        ));
    }
    if !world
        .catalogue
        .product_exists(Product::Senior.key(), req.date)
    {
        return Err(req.refuse(
            RuleId::SubProduct,
            format!("the tariff catalogue has no Senior product on {}", req.date),
        ));
    }
    let processing_until =
        crate::calendar::add_working_days(req.date, ctx.policy.senior_processing_working_days);
    let event = Event::SeniorSwitchRequested(SeniorSwitchRequested {
        declaration: cmd.declaration,
        holder: Some(c.holder),
        age_proof: Sealed::clear(AgeProof {
            age_proof_ref: cmd.age_proof_ref.clone(),
        }),
        processing_until,
    });
    Ok(req.one_contract_event(world, ctx, c.id, req.date, event))
}

/// Handles `ValidateSeniorSwitch`: the Agence Navigo Annuel validates a request
/// once its 5 working days of processing have passed (§3.3); the Senior
/// installment applies from the first month `PAY-CUTOFF` allows on the
/// validation date (§3.2.3, §4.14.13.3).
///
/// # Errors
/// Refused by `SENIOR-SWITCH` without a request in processing, before the end of
/// the processing, when asked by a customer, or when the contract no longer
/// qualifies.
pub fn validate_switch(
    world: &World,
    req: &Request<'_>,
    cmd: &ContractRef,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let Some(pending) = &c.senior_switch else {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            format!(
                "contract {} has no Senior switch requested; request it first",
                c.id
            ),
        ));
    };
    if req.actor.role == ActorRole::Customer {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            "a Senior switch is validated by the Agence Navigo Annuel, not by the customer",
        ));
    }
    if req.date < pending.processing_until {
        return Err(req.refuse(
            RuleId::SeniorSwitch,
            format!(
                "processing takes 5 working days from the request of {}: validate on or after {}",
                pending.requested, pending.processing_until
            ),
        ));
    }
    check_contract(req, c)?;
    let effective_from_month = timing::first_month_affected(req.rulebook, req.date);
    let event = Event::SeniorSwitchValidated(SeniorSwitchValidated {
        effective_from_month,
    });
    Ok(req.one_contract_event(world, ctx, c.id, req.date, event))
}
