//! Suspension and resumption (`SUSP-ANYTIME`, `SUSP-MONTH-DUE`, `SUSP-MAX-12M`,
//! `SUSP-RESUME`, `SUSP-NOT-WHILE-TERMINATED`; CGVU-2026 art. 10 and 11, CGU-2011
//! art. 6).
//!
//! A suspension records the first day no longer in force (the event's effective
//! date) and the first month no longer debited (`billing_stops_from`, per
//! `PAY-CUTOFF`); the month of the last day in force stays due in full
//! (`SUSP-MONTH-DUE`, see [`super::timing`]). A resumption opens a new period with
//! its own free-month cycle and loss period (`SUSP-RESUME`, §11.3, §9.1).

use chrono::NaiveDate;
use navigo_events_schema::command::{Resume, Suspend};
use navigo_events_schema::event::{RefundDue, RefundReason, SuspensionCause};
use navigo_events_schema::types::{Channel, PaymentRequest, PaymentSetup, Product};
use navigo_events_schema::{Event, RuleId, StreamId, YearMonth};

use super::charges::{self, cash_due_at_resumption};
use super::guards::{self, contract};
use super::state::ContractState;
use super::timing;
use super::transitions::{resumed, suspended};
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook::{Rulebook, SuspensionRule};
use crate::world::World;

/// How far ahead of the request a suspension or resumption date may be asked.
/// RULES.md is silent; Decision: at most the 12 months a suspension may last, so
/// that every pending effect stays inside one suspension window.
pub const AHEAD_DAYS_MAX: i64 = 366;

/// Handles `Suspend` (`SUSP-ANYTIME`, `SUSP-MONTH-DUE`, `SUSP-RESUME`,
/// `SUSP-NOT-WHILE-TERMINATED`, `PAY-CUTOFF`).
///
/// # Errors
/// Refused on a terminated contract, on one already suspended, on a date the
/// channel does not allow, or with a planned resumption outside the 12 months.
pub fn suspend(
    world: &World,
    req: &Request<'_>,
    cmd: &Suspend,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let channel = req.channel()?;
    guards::refuse_change_if_terminated(req, c, "a suspension")?;
    if let Some(since) = c.suspended_since() {
        return Err(req.refuse(
            RuleId::SuspAnytime,
            format!(
                "contract {} is already suspended from {since}; resume it before suspending it again",
                c.id
            ),
        ));
    }
    guards::refuse_third_party_online(req, c)?;
    let rb = req.rulebook;
    let effective = suspension_date(req, rb, channel, cmd.effective_date)?;
    let start = c.current_period().map_or(c.start_date, |p| p.start);
    if effective < start {
        return Err(req.refuse(
            RuleId::SuspAnytime,
            format!(
                "contract {} is in force from {start}; a suspension can take effect on {start} or later, \
                 not {effective}",
                c.id
            ),
        ));
    }
    if let Some(planned) = cmd.planned_resumption {
        let limit = timing::suspension_limit(effective);
        if planned <= effective || planned >= limit {
            return Err(req.refuse(
                RuleId::SuspResume,
                format!(
                    "a resumption date given with the suspension must fall after the suspension \
                     date {effective} and before {limit}, when a 12-month suspension ends the \
                     contract (SUSP-MAX-12M); {planned} was given"
                ),
            ));
        }
    }
    // SUSP-MONTH-DUE and PAY-CUTOFF: the month of the last day in force stays due in
    // full; debits stop after it, or later when the request comes after the cutoff,
    // in which case the prepared debit is taken and refunded (PAY-REFUND-30D). The
    // event states all three, so that a reader sees a month not due and refunded
    // rather than only when debits stop.
    let event = Event::ContractSuspended(suspended(
        SuspensionCause::Request,
        cmd.planned_resumption,
        effective,
        timing::billing_stops_from(rb, req.date, effective),
    ));
    Ok(req.one_contract_event(world, ctx, c.id, effective, event))
}

/// The effective date of a suspension asked on the request's date through
/// `channel` (`SUSP-ANYTIME`): CGVU-2026 §10.2, any channel, remote ones at the
/// earliest 48 h after the request, an agency at once; CGU-2011 §6.1, §6.3, at an
/// agency only, from the 1st of the month after the request.
fn suspension_date(
    req: &Request<'_>,
    rb: &Rulebook,
    channel: Channel,
    wished: Option<NaiveDate>,
) -> Result<NaiveDate, CommandError> {
    let (earliest, must_be_first) = match rb.suspension {
        SuspensionRule::AnyChannel { remote_delay_hours } => (
            timing::earliest_date(req.at, channel.is_remote(), remote_delay_hours),
            false,
        ),
        SuspensionRule::AgencyFirstOfNextMonth => {
            if channel != Channel::Agency {
                return Err(req.refuse(
                    RuleId::SuspAnytime,
                    format!(
                        "under {} a suspension is requested at an agency only; requested by {channel}",
                        rb.id
                    ),
                ));
            }
            (YearMonth::of(req.date).plus(1).first_day(), true)
        }
    };
    let date = wished.unwrap_or(earliest);
    let latest = req.date + chrono::Duration::days(AHEAD_DAYS_MAX);
    if date < earliest
        || date > latest
        || (must_be_first && date != YearMonth::of(date).first_day())
    {
        let when = if must_be_first {
            format!("on the 1st of a month from {earliest}")
        } else {
            format!("on a date from {earliest}")
        };
        return Err(req.refuse(
            RuleId::SuspAnytime,
            format!(
                "a suspension requested on {} by {channel} can take effect {when} to {latest}; \
                 {date} was asked",
                req.date
            ),
        ));
    }
    Ok(date)
}

/// Handles `Resume` (`SUSP-RESUME`, `SUSP-MAX-12M`, `SUSP-NOT-WHILE-TERMINATED`,
/// `PAY-SWITCH-TO-DEBIT`, `PAY-SWITCH-TO-CASH`).
///
/// # Errors
/// Refused on a terminated or not suspended contract, on a date the channel does
/// not allow or past the 12 months of suspension, or with a payment method the
/// rules forbid.
pub fn resume(
    world: &World,
    req: &Request<'_>,
    cmd: &Resume,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let channel = req.channel()?;
    guards::refuse_change_if_terminated(req, c, "a resumption")?;
    let Some(since) = c.suspended_since() else {
        return Err(req.refuse(
            RuleId::SuspResume,
            format!(
                "contract {} is not suspended; only a suspended contract can resume",
                c.id
            ),
        ));
    };
    guards::refuse_third_party_online(req, c)?;
    let rb = req.rulebook;
    let earliest = match rb.suspension {
        SuspensionRule::AnyChannel { remote_delay_hours } => {
            timing::earliest_date(req.at, channel.is_remote(), remote_delay_hours)
        }
        SuspensionRule::AgencyFirstOfNextMonth => {
            // CGU-2011 §6.1: the resumption, like the interruption, is made at an agency.
            if channel != Channel::Agency {
                return Err(req.refuse(
                    RuleId::SuspResume,
                    format!(
                        "under {} a resumption is requested at an agency only; requested by {channel}",
                        rb.id
                    ),
                ));
            }
            req.date
        }
    };
    // A resumption asked before a scheduled suspension has begun may take effect on
    // the suspension date itself, which cancels it in effect (RULES.md is silent).
    let earliest_allowed = earliest.max(since);
    let effective = cmd.effective_date.unwrap_or(earliest_allowed);
    let limit = timing::suspension_limit(since);
    if effective >= limit {
        return Err(req.refuse(
            RuleId::SuspMax12m,
            format!(
                "contract {} is suspended from {since}; a suspension ends the contract after 12 \
                 months, on {limit}, so a resumption must take effect before {limit}, not {effective}",
                c.id
            ),
        ));
    }
    let latest = req.date + chrono::Duration::days(AHEAD_DAYS_MAX);
    if effective < earliest_allowed || effective > latest {
        return Err(req.refuse(
            RuleId::SuspResume,
            format!(
                "a resumption requested on {} by {channel} can take effect from {earliest_allowed} \
                 to {}; {effective} was asked",
                req.date,
                latest.min(limit.pred_opt().unwrap_or(limit))
            ),
        ));
    }
    let current = c.payment().cloned().unwrap_or(PaymentSetup::Cash);
    let payment = match &cmd.payment {
        Some(p) => {
            if let PaymentRequest::DirectDebit { mandate, .. } = p {
                guards::check_mandate_signed(req, Some(mandate), "payment.mandate.signed_on")?;
            }
            p.to_setup(c.payer)
        }
        None => current.clone(),
    };
    check_payment_at_resumption(req, c, channel, &current, &payment)?;
    let Some(cash_due) = cash_due_at_resumption(world, c, effective, &payment) else {
        return Err(req.refuse(
            RuleId::TarCatalogue,
            format!(
                "a cash contract resuming on {effective} pays 12 months at the annual price in \
                 force on that date (§11.3), and the catalogue has none for {}; publish the \
                 tariff first",
                c.product
            ),
        ));
    };
    let stream = StreamId::contract(c.id);
    let mut events = Vec::new();
    // PAY-CASH-REFUND: the unused part of the cash period suspended is refunded
    // before the new period is paid, when the clock has not refunded it yet.
    if let Some(amount) = charges::cash_unused(world, c) {
        let refund_days = chrono::Duration::days(i64::from(ctx.policy.refund_within_days));
        let refund = Event::RefundDue(RefundDue {
            amount,
            reason: RefundReason::CashUnused,
            due_by: since + refund_days,
            method: charges::refund_method(c, amount, since),
            beneficiary: c.payer,
        });
        events.push(req.event(ctx, since, refund));
    }
    let mut r = resumed(c, rb, req.date, effective, payment);
    r.cash_due = cash_due;
    events.push(req.event(ctx, effective, Event::ContractResumed(r)));
    Ok(vec![decision(world, stream, events)])
}

/// A change of payment method at a resumption: cash → debit is allowed there
/// (`PAY-SWITCH-TO-DEBIT`, §4.13.3); debit → cash at any time (`PAY-SWITCH-TO-CASH`);
/// both only at an agency or by mail (§4.13.3, §4.14.12.3), never cash for Senior
/// (`PAY-CASH`, §4.13.1).
fn check_payment_at_resumption(
    req: &Request<'_>,
    c: &ContractState,
    channel: Channel,
    current: &PaymentSetup,
    new: &PaymentSetup,
) -> Result<(), CommandError> {
    if current.is_direct_debit() == new.is_direct_debit() {
        return Ok(());
    }
    let rule = if new.is_direct_debit() {
        RuleId::PaySwitchToDebit
    } else {
        RuleId::PaySwitchToCash
    };
    if !new.is_direct_debit() && c.product == Product::Senior {
        return Err(req.refuse(
            RuleId::PayCash,
            "cash payment is not available for a Senior contract; resume with direct debit",
        ));
    }
    if !matches!(channel, Channel::Agency | Channel::Mail) {
        return Err(req.refuse(
            rule,
            format!(
                "a change of payment method is made at an agency or by mail; requested by {channel}"
            ),
        ));
    }
    Ok(())
}
