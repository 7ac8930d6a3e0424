//! Zone change (`ZONE-SENIOR`, `ZONE-ALLOWED`, `ZONE-WHEN`, `ZONE-UP`, `ZONE-DOWN`;
//! CGVU-2026 art. 7).
//!
//! The change records its effective date (validity, `USE-DEZONAGE`), whether the new
//! product is dearer or cheaper on that date, and the first month billed at the new
//! installment: the month of the effective date for a dearer product (`ZONE-UP`,
//! §7.6), the month after for a cheaper one (`ZONE-DOWN`, §7.7). A debit already
//! presented or prepared for a month billed at the new installment is corrected by
//! the billing clock with a `ZoneDifference` line on the next debit (worked
//! example 5).
//!
//! A cash contract is billed or credited "with the same method" (§7.6, §7.7):
//! see [`cash_difference`]. The difference of a `ZONE-UP` is recorded in the
//! `ZonesChanged` event (`cash_due`) and is due at once; the credit of a
//! `ZONE-DOWN` is refunded by a `RefundDue` (reason `cash_unused`,
//! `PAY-CASH-REFUND`, channel per `PAY-REFUND-METHOD`) in the same decision, dated
//! on the request date (the credit is known then) and paid within the policy's
//! refund delay.

use chrono::NaiveDate;
use navigo_events_schema::command::ChangeZones;
use navigo_events_schema::event::{RefundDue, RefundReason, ZoneDirection, ZonesChanged};
use navigo_events_schema::types::{Channel, PaymentSetup, Product, Zones};
use navigo_events_schema::{Event, Money, RuleId, StreamId, YearMonth};

use super::charges;
use super::guards::{self, contract};
use super::state::ContractState;
use super::timing;
use crate::decision::{decision, Context, Decision, Request};
use crate::refusal::CommandError;
use crate::world::World;

/// `ZONE-WHEN`: remote channels take effect at the earliest this many hours after
/// the request (CGVU-2026 §7.3).
pub const REMOTE_DELAY_HOURS: u32 = 48;

/// `ZONE-WHEN`: a deferred change takes effect on the 1st of one of this many
/// following months (CGVU-2026 §7.4).
pub const DEFERRED_MONTHS_MAX: i32 = 2;

/// The installment difference of a zone change on a cash contract (`ZONE-UP`,
/// `ZONE-DOWN`, §7.6, §7.7, "the same method as direct debit"): for each month
/// from `first_month` (the month of the effective date for a dearer product, the
/// month after for a cheaper one) to the last month of the paid cash period, the
/// gap between the two installments; the free month of the cycle costs nothing
/// under either product (`PAY-FREE-MONTH` applies to cash too) and counts zero.
///
/// Decision (RULES.md is silent on the tariff): both installments are read from
/// the catalogue on the effective date, for every month, as the cash price was
/// fixed once for the period. `None` when a price is missing; zero when the paid
/// period ends before `first_month`.
pub fn cash_difference(
    world: &World,
    c: &ContractState,
    old: Product,
    new: Product,
    effective: NaiveDate,
    first_month: YearMonth,
) -> Option<Money> {
    let Some(until) = c.cash_paid_until else {
        return Some(Money::ZERO);
    };
    let (old_inst, _) = world.catalogue.installment(old, effective)?;
    let (new_inst, _) = world.catalogue.installment(new, effective)?;
    let gap = if new_inst > old_inst {
        new_inst - old_inst
    } else {
        old_inst - new_inst
    };
    let last = YearMonth::of(until);
    let mut total = Money::ZERO;
    let mut m = first_month;
    while m <= last {
        let free = c
            .period_covering(m)
            .or(c.current_period())
            .is_some_and(|p| p.is_free_month(m));
        if !free {
            total += gap;
        }
        m = m.plus(1);
    }
    Some(total)
}

/// The zone change already scheduled after `date`, if any.
fn scheduled_after(c: &ContractState, date: NaiveDate) -> Option<(NaiveDate, Product)> {
    c.products.iter().rev().find(|(d, _)| *d > date).copied()
}

/// The effective dates a zone change requested at `req` through `channel` may
/// take (`ZONE-WHEN`, §7.3, §7.4): the immediate date, and the 1st of each of the
/// two following months when not before the earliest date.
///
/// Decision (RULES.md is silent on what "immediate" means for a remote request):
/// at an agency it is the request date; remotely the change takes effect when the
/// holder updates the pass, at the earliest 48 h after the request, so any date
/// from that earliest date to the end of its month is accepted.
fn allowed(req: &Request<'_>, channel: Channel, date: NaiveDate) -> Result<(), String> {
    let earliest = timing::earliest_date(req.at, channel.is_remote(), REMOTE_DELAY_HOURS);
    let month = YearMonth::of(req.date);
    let deferred: Vec<NaiveDate> = (1..=DEFERRED_MONTHS_MAX)
        .map(|k| month.plus(k).first_day())
        .filter(|d| *d >= earliest)
        .collect();
    let immediate_ok = if channel.is_remote() {
        date >= earliest && date <= YearMonth::of(earliest).last_day()
    } else {
        date == earliest
    };
    if immediate_ok || deferred.contains(&date) {
        return Ok(());
    }
    let immediate = if channel.is_remote() {
        format!("from {earliest} to {}", YearMonth::of(earliest).last_day())
    } else {
        format!("on {earliest}")
    };
    let deferred: Vec<String> = deferred.iter().map(|d| d.to_string()).collect();
    Err(format!(
        "a zone change requested on {} by {channel} takes effect immediately ({immediate}) or \
         on the 1st of one of the two following months ({}); {date} was asked",
        req.date,
        deferred.join(" or ")
    ))
}

/// Handles `ChangeZones`: who may ask and on which contract
/// ([`check_changeable`]), when it takes effect ([`effective_date`]), which way
/// the price moves ([`price_direction`]), then the events: the change, and for a
/// cheaper range on a cash contract the refund of the difference.
///
/// # Errors
/// Refused on a Senior contract (`ZONE-SENIOR`), a suspended one or to a range not
/// sold on the effective date (`ZONE-ALLOWED`), a terminated one
/// (`SUSP-NOT-WHILE-TERMINATED`), or on a date `ZONE-WHEN` does not allow.
pub fn change_zones(
    world: &World,
    req: &Request<'_>,
    cmd: &ChangeZones,
    ctx: &mut Context<'_>,
) -> Result<Vec<Decision>, CommandError> {
    let c = contract(world, cmd.contract_id)?;
    let channel = req.channel()?;
    let from = check_changeable(world, req, c)?;
    let effective = effective_date(req, cmd, c, channel)?;
    if cmd.zones == from {
        return Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "contract {} already covers zones {from}; choose another range",
                c.id
            ),
        ));
    }
    let new = Product::Annual { zones: cmd.zones };
    let (direction, billed_from_month) = price_direction(world, req, c, new, effective)?;
    // ZONE-UP / ZONE-DOWN on a cash contract (§7.6, §7.7): the rest of the paid
    // cash period is billed or credited with the direct-debit method.
    let cash = matches!(
        c.payment_at(YearMonth::of(effective)),
        Some(PaymentSetup::Cash)
    );
    let difference = if cash {
        cash_difference(world, c, c.product, new, effective, billed_from_month).ok_or_else(
            || {
                req.refuse(
                    RuleId::ZoneAllowed,
                    format!(
                        "the catalogue cannot price the installments of zones {from} and {} on \
                         {effective}, so the cash difference cannot be computed; publish the \
                         tariff first",
                        cmd.zones
                    ),
                )
            },
        )?
    } else {
        Money::ZERO
    };
    let cash_due =
        (direction == ZoneDirection::Up && difference.is_positive()).then_some(difference);
    let event = Event::ZonesChanged(ZonesChanged {
        from,
        to: cmd.zones,
        direction,
        billed_from_month,
        cash_due,
    });
    let stream = StreamId::contract(c.id);
    let mut events = vec![req.event(ctx, effective, event)];
    if direction == ZoneDirection::Down {
        if let Some(refund) = cash_refund(c, difference, req, ctx) {
            events.push(req.event(ctx, req.date, refund));
        }
    }
    Ok(vec![decision(world, stream, events)])
}

/// The guards of the contract and the requester: not terminated, not Senior
/// (`ZONE-SENIOR`), not suspended, not financed by a third party online, asked
/// by the payer or the holder (`ZONE-ALLOWED`), no change already scheduled
/// (`ZONE-WHEN`). Returns the zones the contract covers.
fn check_changeable(
    world: &World,
    req: &Request<'_>,
    c: &ContractState,
) -> Result<Zones, CommandError> {
    guards::refuse_change_if_terminated(req, c, "a zone change")?;
    let Product::Annual { zones: from } = c.product else {
        return Err(req.refuse(
            RuleId::ZoneSenior,
            format!(
                "contract {} is a Senior contract, always zones 1-5: its zones cannot change (§7.1)",
                c.id
            ),
        ));
    };
    if c.senior_switch.is_some() {
        return Err(req.refuse(
            RuleId::ZoneSenior,
            format!(
                "contract {} has a Senior switch in processing (zones 1-5 only); wait for its \
                 validation or ask for the zone change instead of the switch",
                c.id
            ),
        ));
    }
    // ZONE-ALLOWED Decision: refused while suspended; resume first.
    if let Some(since) = c.suspended_since() {
        return Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "contract {} is suspended from {since}; resume it before changing its zones",
                c.id
            ),
        ));
    }
    guards::refuse_third_party_online(req, c)?;
    check_requester(world, req, c)?;
    if let Some((date, product)) = scheduled_after(c, req.date) {
        return Err(req.refuse(
            RuleId::ZoneWhen,
            format!(
                "contract {} already has a change to {product} scheduled for {date}; one change at \
                 a time: ask again once it has taken effect",
                c.id
            ),
        ));
    }
    Ok(from)
}

/// ZONE-ALLOWED (§7.2, §7.3): on the payer's request, or the holder's with the
/// payer's proxy. Decision: the ledger does not record proxies, so the holder is
/// taken to hold one; a customer the world identifies as another registered
/// person is refused. Agents act for the payer and are not restricted, nor is a
/// customer id that names no registered person (actor ids are free text).
fn check_requester(
    world: &World,
    req: &Request<'_>,
    c: &ContractState,
) -> Result<(), CommandError> {
    match req.customer_person(world) {
        Some(person) if person != c.payer && person != c.holder => Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "a zone change of contract {} is asked by its payer, or by its holder with                      the payer's proxy; customer {} is neither",
                c.id, req.actor.id
            ),
        )),
        _ => Ok(()),
    }
}

/// `ZONE-WHEN`: the effective date asked (or the earliest the channel allows),
/// on a date the rule allows and within the contract's current period.
fn effective_date(
    req: &Request<'_>,
    cmd: &ChangeZones,
    c: &ContractState,
    channel: Channel,
) -> Result<NaiveDate, CommandError> {
    let earliest = timing::earliest_date(req.at, channel.is_remote(), REMOTE_DELAY_HOURS);
    let effective = cmd.effective_date.unwrap_or(earliest);
    if let Err(message) = allowed(req, channel, effective) {
        return Err(req.refuse(RuleId::ZoneWhen, message));
    }
    let start = c.current_period().map_or(c.start_date, |p| p.start);
    if effective < start {
        return Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "contract {} is in force from {start}: a zone change takes effect during the \
                 contract's validity, from {start} on, not {effective}",
                c.id
            ),
        ));
    }
    Ok(effective)
}

/// ZONE-UP / ZONE-DOWN: dearer or cheaper is read from the catalogue on the
/// effective date; an equal price counts as cheaper (nothing more is owed).
/// Returns the direction and the first month billed at the new installment.
///
/// # Errors
/// `ZONE-ALLOWED` when the catalogue prices the new range or the current one
/// not on the effective date.
fn price_direction(
    world: &World,
    req: &Request<'_>,
    c: &ContractState,
    new: Product,
    effective: NaiveDate,
) -> Result<(ZoneDirection, YearMonth), CommandError> {
    let catalogue = &world.catalogue;
    let Some(new_price) = catalogue
        .annual_price(new.key(), effective)
        .map(|t| t.annual)
    else {
        return Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "zones {} are not sold on {effective} (tariff catalogue); choose a range the \
                 catalogue prices on that date",
                new.zones()
            ),
        ));
    };
    let Some(old_price) = catalogue
        .annual_price(c.product.key(), effective)
        .map(|t| t.annual)
    else {
        return Err(req.refuse(
            RuleId::ZoneAllowed,
            format!(
                "the catalogue has no price for the current zones {} on {effective}, so the \
                 change cannot be priced; publish the tariff first",
                c.product.zones()
            ),
        ));
    };
    Ok(if new_price > old_price {
        (ZoneDirection::Up, YearMonth::of(effective))
    } else {
        (ZoneDirection::Down, YearMonth::of(effective).plus(1))
    })
}

/// The refund of the credit of a `ZONE-DOWN` on a cash contract
/// (`PAY-CASH-REFUND`): never more than the cash paid for the period and not yet
/// refunded, and net of a debt still owed (the same Decision as the clock's cash
/// refunds). `None` when nothing is left to refund.
fn cash_refund(
    c: &ContractState,
    difference: Money,
    req: &Request<'_>,
    ctx: &Context<'_>,
) -> Option<Event> {
    if !difference.is_positive() {
        return None;
    }
    let cap = c.cash_period_paid + c.cash_period_zone_due - c.cash_period_refunded;
    let mut amount = difference.min(cap);
    let debt = c.money.debt();
    if debt.is_positive() {
        amount -= debt;
    }
    if !amount.is_positive() {
        return None;
    }
    let refund_days = chrono::Duration::days(i64::from(ctx.policy.refund_within_days));
    Some(Event::RefundDue(RefundDue {
        amount,
        reason: RefundReason::CashUnused,
        due_by: req.date + refund_days,
        method: charges::refund_method(c, amount, req.date),
        beneficiary: c.payer,
    }))
}
