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
use navigo_events_schema::event::{
    ContractResumed, ContractSuspended, RefundDue, RefundReason, SuspensionCause,
};
use navigo_events_schema::types::{add_months, Channel, PaymentSetup, Product};
use navigo_events_schema::{Event, Money, RuleId, StreamId, YearMonth};

use super::state::{ContractState, Status};
use super::timing;
use crate::engine::{contract, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::rulebook::{self, Rulebook, SuspensionRule};
use crate::world::World;

/// `SUSP-MAX-12M`: a suspension lasts at most this many months (CGVU-2026 §10.3,
/// CGU-2011 §6.2).
pub const SUSPENSION_MONTHS_MAX: u32 = 12;

/// How far ahead of the request a suspension or resumption date may be asked.
/// RULES.md is silent; Decision: at most the 12 months a suspension may last, so
/// that every pending effect stays inside one suspension window.
pub const AHEAD_DAYS_MAX: i64 = 366;

/// The date the current suspension took effect, when the contract is suspended.
pub fn suspended_since(c: &ContractState) -> Option<NaiveDate> {
    match c.statuses.last() {
        Some(s) if matches!(s.status, Status::Suspended { .. }) => Some(s.from),
        _ => None,
    }
}

/// The day a suspension that began on `since` terminates the contract:
/// `since + 12 months` (`SUSP-MAX-12M`; RULES.md §0: the window is half-open, so
/// the contract may still resume the day before).
pub fn suspension_limit(since: NaiveDate) -> NaiveDate {
    add_months(since, SUSPENSION_MONTHS_MAX)
}

/// The refusal of any change to a terminated contract (`SUSP-NOT-WHILE-TERMINATED`).
pub(crate) fn refuse_if_terminated(
    req: &Request<'_>,
    c: &ContractState,
    what: &str,
) -> Result<(), CommandError> {
    if let Status::Terminated { reason } = c.current_status() {
        let since = c.termination.as_ref().map(|t| t.0).unwrap_or(c.start_date);
        return Err(req.refuse(
            RuleId::SuspNotWhileTerminated,
            format!(
                "contract {} was terminated on {since} ({reason:?}); {what} is only possible on a \
                 contract in force or suspended: subscribe a new contract instead",
                c.id
            ),
        ));
    }
    Ok(())
}

/// `SUB-THIRD-PARTY`: a contract financed by a third-party payer cannot be managed
/// online (CGVU-2026 §7.3, §10.2, §11.2).
pub(crate) fn refuse_third_party_online(
    req: &Request<'_>,
    c: &ContractState,
    channel: Channel,
) -> Result<(), CommandError> {
    if c.third_party_payer && channel == Channel::Online {
        return Err(req.refuse(
            RuleId::SubThirdParty,
            format!(
                "contract {} is financed by a third-party payer and cannot be managed online; \
                 ask at an agency",
                c.id
            ),
        ));
    }
    Ok(())
}

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
    refuse_if_terminated(req, c, "a suspension")?;
    if let Some(since) = suspended_since(c) {
        return Err(req.refuse(
            RuleId::SuspAnytime,
            format!(
                "contract {} is already suspended from {since}; resume it before suspending it again",
                c.id
            ),
        ));
    }
    refuse_third_party_online(req, c, channel)?;
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
        let limit = suspension_limit(effective);
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

/// The suspension event of a contract no longer in force from `effective`, whose
/// debits stop from `billing_stops_from` (`SUSP-MONTH-DUE`, `PAY-CUTOFF`): it
/// states the first month not due and the months not due whose prepared debit is
/// taken and refunded. The billing clock uses it for a cash period that ends.
pub fn suspended(
    cause: SuspensionCause,
    planned_resumption: Option<NaiveDate>,
    effective: NaiveDate,
    billing_stops_from: YearMonth,
) -> ContractSuspended {
    ContractSuspended {
        cause,
        planned_resumption,
        not_due_from: timing::first_month_not_due(effective),
        billing_stops_from,
        prepared_debits_refunded: timing::prepared_months_not_due(effective, billing_stops_from),
    }
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
                        "under {} a suspension is requested at an agency only; requested by {channel:?}",
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
                "a suspension requested on {} by {channel:?} can take effect {when} to {latest}; \
                 {date} was asked",
                req.date
            ),
        ));
    }
    Ok(date)
}

/// The resumption event of a contract resuming on `effective`, registered on
/// `registered_on` under `registered_rulebook` (`SUSP-RESUME`, `PAY-CUTOFF`). The
/// billing clock uses it for a resumption planned with the suspension.
///
/// Billing restarts with the month of the resumption when it can still reach that
/// debit, otherwise with the first month `PAY-CUTOFF` allows; the months in
/// between are due (`TAR-PRORATA` for the first one when it is not the
/// suspension's month) and collected with the first debit. The free-month cycle
/// restarts from the resumption under the rulebook in force on that date
/// (RULES.md §0 Decision; §11.3); Senior has none (`PAY-SENIOR`).
pub fn resumed(
    c: &ContractState,
    registered_rulebook: &Rulebook,
    registered_on: NaiveDate,
    effective: NaiveDate,
    payment: PaymentSetup,
) -> ContractResumed {
    let cycle_rulebook = rulebook::in_force(effective);
    let billing_from = YearMonth::of(effective).max(timing::first_month_affected(
        registered_rulebook,
        registered_on,
    ));
    let first_free_month =
        crate::contract::subscription::first_free_month(cycle_rulebook, c.product, effective);
    ContractResumed {
        rulebook: cycle_rulebook.id.to_owned(),
        remaining_days: crate::calendar::remaining_days(effective),
        billing_from,
        first_free_month,
        payment,
        cash_due: None,
    }
}

/// What a resumption on `effective` with `payment` makes due for a cash contract
/// (CGVU-2026 §11.3: "the payer renews the payment for 12 consecutive months of
/// travel at the tariff in force on the date of payment"; `SUSP-RESUME`,
/// `PAY-CASH`): the annual price of the product on the resumption date, paid at
/// the resumption. `Some(None)` for a direct-debit resumption (billing restarts
/// with the debits), `None` when the catalogue has no price for that date.
///
/// Decision: the payment date is read as the resumption date, and the unused part
/// of the previous cash period is not carried over: it was refunded at the
/// suspension (`PAY-CASH-REFUND`), or is refunded in the resumption's own decision
/// when the clock has not run since.
pub fn cash_due_at_resumption(
    world: &World,
    c: &ContractState,
    effective: NaiveDate,
    payment: &PaymentSetup,
) -> Option<Option<Money>> {
    if payment.is_direct_debit() {
        return Some(None);
    }
    let annual = world
        .catalogue
        .annual_price(c.product.key(), effective)?
        .annual;
    Some(Some(annual))
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
    refuse_if_terminated(req, c, "a resumption")?;
    let Some(since) = suspended_since(c) else {
        return Err(req.refuse(
            RuleId::SuspResume,
            format!(
                "contract {} is not suspended; only a suspended contract can resume",
                c.id
            ),
        ));
    };
    refuse_third_party_online(req, c, channel)?;
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
                        "under {} a resumption is requested at an agency only; requested by {channel:?}",
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
    let limit = suspension_limit(since);
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
                "a resumption requested on {} by {channel:?} can take effect from {earliest_allowed} \
                 to {}; {effective} was asked",
                req.date,
                latest.min(limit.pred_opt().unwrap_or(limit))
            ),
        ));
    }
    let current = c.payment().cloned().unwrap_or(PaymentSetup::Cash);
    let payment = cmd.payment.clone().unwrap_or_else(|| current.clone());
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
    if let Some(amount) = crate::billing::cash_unused(world, c) {
        let refund_days = chrono::Duration::days(i64::from(ctx.policy.refund_within_days));
        let refund = Event::RefundDue(RefundDue {
            amount,
            reason: RefundReason::CashUnused,
            due_by: since + refund_days,
            method: super::termination::refund_method(c, amount, since),
            beneficiary: c.payer,
        });
        events.push(req.event(ctx, since, refund));
    }
    let mut r = resumed(c, rb, req.date, effective, payment);
    r.cash_due = cash_due;
    events.push(req.event(ctx, effective, Event::ContractResumed(r)));
    Ok(vec![Decision::new(world, stream, events)])
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
                "a change of payment method is made at an agency or by mail; requested by {channel:?}"
            ),
        ));
    }
    Ok(())
}
