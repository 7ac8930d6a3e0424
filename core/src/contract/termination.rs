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
use navigo_events_schema::event::{ContractTerminated, RefundDue, RefundReason, TerminationReason};
use navigo_events_schema::types::{add_months, PaymentSetup};
use navigo_events_schema::{Event, RuleId, StreamId, YearMonth};
use uuid::Uuid;

use super::loss::losses_in_last_12_months;
use super::state::{ContractState, Status};
use super::suspension::{refuse_third_party_online, suspended_since, suspension_limit};
use super::timing;
use crate::engine::{contract, Context, Decision, Request};
use crate::refusal::{CommandError, Refusal};
use crate::rulebook::{self, PayerTerminationRule, Rulebook};
use crate::world::World;

/// `TERM-ATTESTATION`: an attestation stays available this many months after the
/// termination (CGVU-2026 §4.14.4).
pub const ATTESTATION_MONTHS_AFTER_END: u32 = 6;

/// `TERM-ATTESTATION`: the requester is at least this old ("over 16", read as 16
/// or more, the age from which one may be holder or payer, §4.1).
pub const ATTESTATION_AGE_MIN: u32 = 16;

/// `TERM-RETENTION`: personal data is kept this many years after the end of the
/// last contract, then archived (CGVU-2026 §16.1.4).
pub const RETENTION_YEARS: u32 = 5;

/// `PAY-REFUND-METHOD`: the lookback and the refund channel are those of
/// [`super::payment`], re-exported here for the termination and refund paths.
pub use super::payment::{refund_method, CARD_REFUND_LOOKBACK_MONTHS};

/// How far after the request an agency may date a termination. RULES.md is
/// silent; Decision: one month, enough to align on a month's end.
pub const AGENCY_TERMINATION_AHEAD_DAYS_MAX: i64 = 31;

/// The termination event of `c` ending on `effective`, requested on
/// `request_date` under `request_rulebook` (`PAY-CUTOFF`, `SUSP-MONTH-DUE`).
/// The billing clock uses it for the terminations it emits (`SUSP-MAX-12M`,
/// `PAY-UNPAID-TERMINATION`).
pub fn terminated(
    reason: TerminationReason,
    request_rulebook: &Rulebook,
    request_date: NaiveDate,
    effective: NaiveDate,
) -> ContractTerminated {
    ContractTerminated {
        reason,
        rulebook: rulebook::in_force(effective).id.to_owned(),
        billing_stops_from: timing::billing_stops_from(request_rulebook, request_date, effective),
    }
}

fn refuse_if_already_terminated(
    req: &Request<'_>,
    c: &ContractState,
    rule: RuleId,
) -> Result<(), CommandError> {
    if let Status::Terminated { reason } = c.current_status() {
        let since = c.termination.as_ref().map_or(c.start_date, |t| t.0);
        return Err(req.refuse(
            rule,
            format!(
                "contract {} is already terminated from {since} ({reason}); nothing to terminate",
                c.id
            ),
        ));
    }
    Ok(())
}

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
    let channel = req.channel()?;
    refuse_if_already_terminated(req, c, RuleId::TermByPayer)?;
    refuse_third_party_online(req, c, channel)?;
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
    refuse_if_already_terminated(req, c, RuleId::TermByAgency)?;
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
    Ok(vec![Decision::new(world, StreamId::contract(c.id), events)])
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
        TerminationReason::SuspensionOver12Months => match suspended_since(c) {
            Some(since) if effective >= suspension_limit(since) => Ok(()),
            Some(since) => Err(req.refuse(
                RuleId::SuspMax12m,
                format!(
                    "contract {} is suspended from {since}; the 12 months end on {}, not before",
                    c.id,
                    suspension_limit(since)
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

/// `TERM-ATTESTATION` (CGVU-2026 §4.14.4): whether `person`, born on `birth_date`,
/// may download an attestation of contract `c` on `on`: the person is its holder
/// or one of its payers, is 16 or more, and the contract is active, suspended, or
/// terminated less than 6 months ago.
///
/// # Errors
/// A refusal by `TERM-ATTESTATION` saying which condition fails.
pub fn attestation_available(
    c: &ContractState,
    person: Uuid,
    birth_date: NaiveDate,
    on: NaiveDate,
) -> Result<(), Refusal> {
    let book = rulebook::in_force(on);
    let refuse = |message: String| Refusal::under(book, RuleId::TermAttestation, message);
    let party =
        c.holder == person || c.payer == person || c.payers.iter().any(|(_, p)| *p == person);
    if !party {
        return Err(refuse(format!(
            "only the holder or the payer of contract {} may download its attestation",
            c.id
        )));
    }
    let sixteen = add_months(birth_date, 12 * ATTESTATION_AGE_MIN);
    if on < sixteen {
        return Err(refuse(format!(
            "the attestation is available to a holder or payer aged 16 or more; available from {sixteen}"
        )));
    }
    if let Some((ended, _, _)) = &c.termination {
        let until = add_months(*ended, ATTESTATION_MONTHS_AFTER_END);
        if on >= until && c.is_terminated() {
            return Err(refuse(format!(
                "contract {} was terminated on {ended}; its attestation was available until {}",
                c.id,
                until.pred_opt().unwrap_or(until)
            )));
        }
    }
    Ok(())
}

/// What `TERM-RETENTION` says of a person's data on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Kept: a contract is still in force or suspended (or none ended yet).
    Kept,
    /// Kept until the day before this date, then archived.
    ArchiveFrom(NaiveDate),
}

/// `TERM-RETENTION` (CGVU-2026 §16.1.4): a person's data is kept for the
/// relationship and 5 years after the end of the last contract, then archived.
/// `contracts` are every contract the person holds or pays.
pub fn retention<'a>(contracts: impl IntoIterator<Item = &'a ContractState>) -> Retention {
    let mut last_end: Option<NaiveDate> = None;
    for c in contracts {
        match (&c.termination, c.is_terminated()) {
            (Some((end, _, _)), true) => last_end = Some(last_end.map_or(*end, |l| l.max(*end))),
            _ => return Retention::Kept,
        }
    }
    match last_end {
        Some(end) => Retention::ArchiveFrom(add_months(end, 12 * RETENTION_YEARS)),
        None => Retention::Kept,
    }
}
