//! Termination (`TERM-BY-PAYER`, `TERM-BY-AGENCY`; CGVU-2026 art. 12, CGU-2011
//! art. 7, 8, §10.2) and the two queries on an ended contract (`TERM-ATTESTATION`,
//! `TERM-RETENTION`).
//!
//! A termination records the first day no longer in force (the event's effective
//! date), the rulebook in force on that date (ban durations, RULES.md §0) and the
//! first month no longer debited (`PAY-CUTOFF`; a debit prepared before the request
//! is still taken and refunded within 30 days, `PAY-REFUND-30D`, §12.1.2).

use chrono::NaiveDate;
use navigo_events_schema::command::{ContractRef, TerminateByAgency};
use navigo_events_schema::event::{RefundDue, RefundReason, TerminationReason};
use navigo_events_schema::types::PaymentSetup;
use navigo_events_schema::{Event, RuleId, StreamId, YearMonth};

use super::charges::refund_method;
use super::guards::{self, contract};
use super::loss_count::losses_in_last_12_months;
use super::state::ContractState;
use super::timing;
use super::transitions::terminated;
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook::PayerTerminationRule;
use crate::world::World;

/// How far after the request an agency may date a termination. RULES.md is
/// silent; Decision: one month, enough to align on a month's end.
pub const AGENCY_TERMINATION_AHEAD_DAYS_MAX: i64 = 31;

/// Handles `TerminateByPayer` (`TERM-BY-PAYER`).
///
/// CGVU-2026 §12.1: at the request date, provided the contract carries no debt;
/// the month in progress is due in full (§12.1.1) and debits stop from the 1st of
/// the next month, subject to `PAY-CUTOFF` (§12.1.2). CGU-2011 §7.2: effective the
/// 1st of the month after the request. A contract that has not started yet ends on
/// its start date, so nothing is due for it.
///
/// # Errors
/// Refused on a terminated contract, when the contract carries a debt (with the
/// amount), or online for a third-party-financed contract (`SUB-THIRD-PARTY`).
pub fn terminate_by_payer(
    world: &World,
    req: &Request<'_>,
    cmd: &ContractRef,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let _channel = req.channel()?;
    guards::refuse_if_terminated(req, c, RuleId::TermByPayer, "nothing to terminate")?;
    guards::refuse_third_party_online(req, c)?;
    // TERM-BY-PAYER (§12.1): the payer terminates. Decision: a customer the world
    // identifies as a registered person other than the payer (the holder
    // included) is refused; agents act for the payer and are not restricted, nor
    // is a customer id that names no registered person (actor ids are free text).
    if let Some(person) = req.customer_person(world) {
        if person != c.payer {
            return Err(req.refuse(
                RuleId::TermByPayer,
                format!(
                    "only the payer of contract {} may terminate it; customer {} is not its                      payer: the payer asks, or an agency terminates for a reason of §12.2",
                    c.id, req.actor.id
                ),
            ));
        }
    }
    let debt = c.money.debt();
    if debt.is_positive() {
        return Err(req.refuse(
            RuleId::TermByPayer,
            format!(
                "contract {} carries a debt of {debt} €; the payer may terminate once it is \
                 settled (online by card, by phone or at an agency)",
                c.id
            ),
        ));
    }
    let rb = req.rulebook;
    let effective = match rb.payer_termination {
        PayerTerminationRule::AtRequest => req.date,
        PayerTerminationRule::FirstOfNextMonth => YearMonth::of(req.date).plus(1).first_day(),
    }
    .max(c.start_date);
    let event = Event::ContractTerminated(terminated(
        TerminationReason::PayerRequest,
        rb,
        req.date,
        effective,
    ));
    Ok(req.one_contract_event(world, ctx, c.id, effective, event))
}

/// Handles `TerminateByAgency` (`TERM-BY-AGENCY`, §12.2.1, §12.3; CGU-2011 §8.1,
/// §10.2).
///
/// Each reason is accepted only when its facts are in the ledger (Decision: the
/// agency terminates for a reason the rules give, and the ledger checks what it
/// can): `unpaid` needs a debt (`PAY-UNPAID-TERMINATION`); `loss_limit` more
/// losses in the last 12 months than the rulebook allows (`LOSS-TERMINATION`);
/// `mandate_revoked` a revoked, unreplaced mandate on a direct-debit contract
/// (`PAY-PAYER-CHANGE`); `suspension_over_12_months` a suspension at least 12
/// months old on the effective date (`SUSP-MAX-12M`); `address_unknown` a
/// rulebook that has it (CGU-2011 §10.2). The fraud reasons go through
/// `EstablishFraud`, which names the fraudster the ban needs (`BAN-FRAUD-3Y`);
/// `payer_request` through `TerminateByPayer`. `service_withdrawn` refunds the
/// contract's credit (§12.3).
///
/// # Errors
/// Refused as above, or on a terminated contract; `effective_date` before the
/// contract's start or more than a month ahead is invalid.
pub fn terminate_by_agency(
    world: &World,
    req: &Request<'_>,
    cmd: &TerminateByAgency,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    guards::refuse_if_terminated(req, c, RuleId::TermByAgency, "nothing to terminate")?;
    let effective = cmd.effective_date.unwrap_or(req.date);
    if effective < c.start_date
        || effective > req.date + chrono::Duration::days(AGENCY_TERMINATION_AHEAD_DAYS_MAX)
    {
        return Err(CommandError::invalid(
            "effective_date",
            format!(
                "a termination of contract {} takes effect from its start {} to {} days after the \
                 request; {effective} was given",
                c.id, c.start_date, AGENCY_TERMINATION_AHEAD_DAYS_MAX
            ),
        ));
    }
    let rb = req.rulebook;
    check_agency_reason(req, c, cmd.reason, effective)?;
    let term = req.event(
        ctx,
        effective,
        Event::ContractTerminated(terminated(cmd.reason, rb, req.date, effective)),
    );
    let term_id = term.event_id;
    let mut events = vec![term];
    if cmd.reason == TerminationReason::ServiceWithdrawn {
        // §12.3: the balance is refunded. The credit known now is refunded here; a
        // debit still taken after the termination is refunded by the billing clock.
        let credit = c.money.refundable_credit();
        if credit.is_positive() {
            let mut refund = req.event(
                ctx,
                effective,
                Event::RefundDue(RefundDue {
                    amount: credit,
                    reason: RefundReason::ServiceWithdrawn,
                    due_by: effective
                        + chrono::Duration::days(i64::from(ctx.policy.refund_within_days)),
                    method: refund_method(c, credit, effective),
                    beneficiary: c.payer,
                }),
            );
            refund.causation_id = Some(term_id);
            events.push(refund);
        }
    }
    Ok(vec![decision(world, StreamId::contract(c.id), events)])
}

fn check_agency_reason(
    req: &Request<'_>,
    c: &ContractState,
    reason: TerminationReason,
    effective: NaiveDate,
) -> Result<(), CommandError> {
    let rb = req.rulebook;
    match reason {
        TerminationReason::PayerRequest => Err(req.refuse(
            RuleId::TermByAgency,
            "payer_request is not an agency reason: the payer terminates with TerminateByPayer",
        )),
        TerminationReason::SubscriptionFraud | TerminationReason::UsageFraud => Err(req.refuse(
            RuleId::TermByAgency,
            "a termination for fraud is recorded with EstablishFraud, naming the fraudster and \
             any accomplices (BAN-FRAUD-3Y)",
        )),
        TerminationReason::AddressUnknown if !rb.address_unknown_termination => Err(req.refuse(
            RuleId::TermByAgency,
            format!(
                "address_unknown is a termination reason of CGU-2011 (§10.2) only; {} is in force \
                 on {}",
                rb.id, req.date
            ),
        )),
        TerminationReason::Unpaid if !c.money.debt().is_positive() => Err(req.refuse(
            RuleId::TermByAgency,
            format!(
                "contract {} carries no debt; an unpaid termination needs an unsettled debt \
                 (PAY-UNPAID-TERMINATION)",
                c.id
            ),
        )),
        TerminationReason::LossLimit => {
            let n = losses_in_last_12_months(c, effective, false);
            if n > rb.loss_termination_above {
                Ok(())
            } else {
                Err(req.refuse(
                    RuleId::LossTermination,
                    format!(
                        "contract {} has {n} losses or thefts in the 12 months to {effective}; \
                         the limit terminates above {}",
                        c.id, rb.loss_termination_above
                    ),
                ))
            }
        }
        TerminationReason::MandateRevoked => {
            let debit = matches!(c.payment(), Some(PaymentSetup::DirectDebit { .. }));
            if c.mandate_revoked.is_some() && debit {
                Ok(())
            } else {
                Err(req.refuse(
                    RuleId::PayPayerChange,
                    format!(
                        "contract {} has no revoked, unreplaced mandate; mandate_revoked applies \
                         when a revocation came without a new method, payer or termination",
                        c.id
                    ),
                ))
            }
        }
        TerminationReason::SuspensionOver12Months => match c.suspended_since() {
            Some(since) if effective >= timing::suspension_limit(since) => Ok(()),
            Some(since) => Err(req.refuse(
                RuleId::SuspMax12m,
                format!(
                    "contract {} is suspended from {since}; the 12 months end on {}, not before",
                    c.id,
                    timing::suspension_limit(since)
                ),
            )),
            None => Err(req.refuse(
                RuleId::SuspMax12m,
                format!("contract {} is not suspended", c.id),
            )),
        },
        _ => Ok(()),
    }
}
