//! The money formulas of a contract, each defined once and called by every
//! family that needs it (subscription, payment, suspension, zones, termination)
//! and by the billing clock and the projections: what a month costs
//! ([`owed_month`]), the debit prepared for a month ([`compose_debit`]), the
//! first free month of a cycle, the dossier fee line, what a cash contract owes
//! at a resumption or gets back when it stops ([`cash_unused`]), and how a
//! refund is paid ([`refund_method`]).

use chrono::{Datelike, NaiveDate};
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, DebitPresented, FeeKind, PaymentMeans, RefundMethod, RefundReason,
    SuspensionCause,
};
use navigo_events_schema::types::{PaymentSetup, Product};
use navigo_events_schema::{Money, YearMonth};

use super::state::{is_obligation, travel_by_month, ContractState, Status};
use super::timing;
use crate::calendar::{remaining_days, within_last_months};
use crate::catalogue::{installment_kind, MonthCharge};
use crate::rulebook::{FreeMonthRule, Rulebook};
use crate::world::World;

/// Months before a debit whose differences it collects (`PAY-CUTOFF` Decision:
/// never silently dropped); older differences are left to an agent.
pub const RECONCILE_MONTHS_MAX: i32 = 36;

/// What month `m` costs for travel, by the rules (`TAR-PRORATA`, `TAR-INSTALLMENT`,
/// `PAY-FREE-MONTH`, `PAY-SENIOR`, `SUSP-MONTH-DUE`, `ZONE-UP`/`ZONE-DOWN`):
/// `None` when the contract is in force on no day of `m`. The tariff is the one in
/// force on the month's debit date (`TAR-CATALOGUE`, §4.14.12.1), or on the start
/// date for the start month of a period.
pub fn owed_month(world: &World, c: &ContractState, m: YearMonth) -> Option<MonthCharge> {
    let p = c.period_covering(m)?;
    let product = c.billed_product_at(m);
    let annual = matches!(product, Product::Annual { .. });
    if annual && p.is_free_month(m) {
        return Some(MonthCharge {
            kind: ChargeKind::FreeMonth,
            amount: Money::ZERO,
            days: None,
            tariff: None,
        });
    }
    let starts_here = YearMonth::of(p.start) == m;
    // A resumption in the suspension's month: that month was due in full already
    // (SUSP-MONTH-DUE), so it stays a full month.
    let earlier_covers = c
        .periods
        .iter()
        .any(|q| q.start < p.start && q.covers_month(m));
    let price_date = if starts_here {
        c.debit_date(m).max(p.start)
    } else {
        c.debit_date(m)
    };
    if starts_here && !earlier_covers {
        return world
            .catalogue
            .first_month_amount(product, p.start, price_date);
    }
    let (amount, tariff) = world.catalogue.installment(product, price_date)?;
    Some(MonthCharge {
        kind: installment_kind(product),
        amount,
        days: None,
        tariff: Some(tariff),
    })
}

/// Whether month `m` is paid by direct debit under the terms of `c`.
pub(crate) fn is_debit_month(c: &ContractState, m: YearMonth) -> bool {
    matches!(
        c.payment_setup_at(m),
        Some(PaymentSetup::DirectDebit { .. })
    )
}

/// The terms the debit of month `m` is composed from when it was prepared before
/// a change registered since (`PAY-CUTOFF`): the terms kept before the first
/// change that does not reach that debit (`contract::timing::reaches_debit_of`).
/// `None` when every change registered so far reaches it: the debit is composed
/// from the contract as it is.
///
/// This is the one definition of "the debit prepared for month X": the debit the
/// clock composes from the terms known when X's cutoff began. Every operation
/// that changes the terms (suspension, resumption, termination, zone change,
/// payer, account or method change, Senior switch) is read through it, so that a
/// change registered on or after the cutoff day never reaches the debit already
/// prepared, which is taken as prepared; the difference with what the month
/// costs under the new terms is settled after it ([`compose_debit`]).
pub fn prepared_terms(c: &ContractState, m: YearMonth) -> Option<&ContractState> {
    c.prepared
        .iter()
        .find(|p| !timing::reaches_debit_of(p.registered_on, m))
        .map(|p| &*p.before)
}

/// The debit of month `m`: the debit prepared for it ([`prepared_terms`]), and the
/// part of it the month no longer costs. Its lines are the month's charge, the
/// differences of earlier months (a zone change, a resumption month not yet
/// billed, a tariff difference, a month a prepared debit took too little for:
/// `PAY-CUTOFF` Decision, never silently dropped), the dossier fee of a remote
/// subscription's first debit, and any credit deducted (`PAY-DUE-VS-COLLECTED`),
/// all as the prepared terms give them. What the month costs is read from the
/// terms in force now: when the prepared debit takes more for the month than it
/// costs, the excess is not due and is returned (to refund within 30 days,
/// `PAY-REFUND-30D`); when it takes less, the rest stays due and the next debit
/// collects it. `None` when nothing is to be collected.
pub fn compose_debit(
    world: &World,
    c: &ContractState,
    m: YearMonth,
    dossier_fee: Money,
) -> Option<(DebitPresented, Money)> {
    compose_debit_with(world, c, m, dossier_fee, |k| owed_month(world, c, k))
}

/// [`compose_debit`] with the owed months of the contract as it is now taken
/// from `owed`, which must answer exactly what [`owed_month`] answers for `c`
/// (the clock passes its memo).
pub(crate) fn compose_debit_with(
    world: &World,
    c: &ContractState,
    m: YearMonth,
    dossier_fee: Money,
    mut owed: impl FnMut(YearMonth) -> Option<MonthCharge>,
) -> Option<(DebitPresented, Money)> {
    // The travel lines as prepared. The payer and the mandate are those the
    // contract names for the month now: each change of them records the first
    // month it reaches (`effective_from_month`, PAY-CUTOFF), so both readings
    // agree, and the event's own statement wins.
    let mut lines = match prepared_terms(c, m) {
        None => charge_lines(world, c, c, m, &mut owed)?,
        Some(terms) => charge_lines(world, terms, c, m, &mut |k| owed_month(world, terms, k))?,
    };
    let not_owed = not_owed_now(c, &lines, &mut owed);
    // TAR-DOSSIER-FEE / SUB-FIRST-PAYMENT: a remote subscription's first debit
    // carries the fee.
    let fee_paid = c
        .money
        .fees
        .get(&FeeKind::Dossier)
        .copied()
        .unwrap_or(Money::ZERO);
    if c.periods.len() == 1 && c.debits.is_empty() && fee_paid.is_zero() && c.channel.is_remote() {
        lines.push(dossier_fee_line(dossier_fee, m));
    }
    let obligation: Money = lines
        .iter()
        .filter(|l| is_obligation(l.kind))
        .map(|l| l.amount)
        .sum();
    // PAY-DUE-VS-COLLECTED: a credit on an active direct-debit contract is deducted
    // from the next debit.
    let credit = c.money.refundable_credit();
    if credit.is_positive() && obligation.is_positive() {
        let take = if credit < obligation {
            credit
        } else {
            obligation
        };
        lines.push(ChargeLine {
            kind: ChargeKind::CreditDeducted,
            amount: Money::ZERO - take,
            days: None,
            month: m,
            tariff: None,
        });
    }
    let amount: Money = lines.iter().map(|l| l.amount).sum();
    if !amount.is_positive() {
        return None;
    }
    let mandate = c.mandate_at(m)?;
    Some((
        DebitPresented {
            month: m,
            amount,
            due: obligation - not_owed,
            lines,
            mandate_reference: mandate.reference,
            payer: c.payer_at(m),
        },
        not_owed,
    ))
}

/// The travel lines of the debit of month `m` composed from `terms` (the contract
/// as prepared, or as it is), against what `now` was billed for each month, with
/// the owed months of `terms` from `owed`; and the amount of the month's own line.
/// `None` when the month has no line to take.
fn charge_lines(
    world: &World,
    terms: &ContractState,
    now: &ContractState,
    m: YearMonth,
    owed: &mut impl FnMut(YearMonth) -> Option<MonthCharge>,
) -> Option<Vec<ChargeLine>> {
    let mut lines = difference_lines(terms, now, m, owed)?;
    // The month itself: owed, or taken although no longer owed (its debit is in
    // a billing window that a change past the cutoff left open).
    match owed(m) {
        Some(t) => {
            if t.kind != ChargeKind::FreeMonth {
                lines.push(ChargeLine {
                    kind: t.kind,
                    amount: t.amount,
                    days: t.days,
                    month: m,
                    tariff: t.tariff,
                });
            }
        }
        None => {
            let product = terms.billed_product_at(m);
            if let Some((amount, tariff)) =
                world.catalogue.installment(product, terms.debit_date(m))
            {
                lines.push(ChargeLine {
                    kind: installment_kind(product),
                    amount,
                    days: None,
                    month: m,
                    tariff: Some(tariff),
                });
            }
        }
    }
    Some(lines)
}

/// What a prepared debit's `lines` take beyond what each of their months
/// costs now (`PAY-CUTOFF` Decision: a debit prepared before a change is taken
/// as prepared and the difference refunded, never silently dropped): for the
/// debit's own month and for every earlier month it reconciles, the part of the
/// month's lines that what was billed before and what the month costs now do
/// not account for. Zero when the debit was prepared with the terms in force.
fn not_owed_now(
    c: &ContractState,
    lines: &[ChargeLine],
    owed: &mut impl FnMut(YearMonth) -> Option<MonthCharge>,
) -> Money {
    travel_by_month(lines)
        .into_iter()
        .map(|(k, taken)| {
            let billed_before = c.money.months.get(&k).map_or(Money::ZERO, |x| x.due);
            let costs = owed(k).map_or(Money::ZERO, |t| t.amount);
            (billed_before + taken - costs).min(taken).max(Money::ZERO)
        })
        .sum()
}

/// The lines of the months before `m` (of every period, up to a named bound
/// back): what the rules say they cost under `terms` against what `now` was
/// billed for them. A month never debited (a revoked mandate, a month a prepared
/// debit could not take, a debit the clock could not compose) is billed now.
/// `None` when the contract has no period.
fn difference_lines(
    terms: &ContractState,
    now: &ContractState,
    m: YearMonth,
    owed: &mut impl FnMut(YearMonth) -> Option<MonthCharge>,
) -> Option<Vec<ChargeLine>> {
    let first = terms.periods.first()?;
    let mut lines = Vec::new();
    let mut k = YearMonth::of(first.start).max(m.plus(-RECONCILE_MONTHS_MAX));
    // What was billed for each month of the window, walked alongside `k`.
    let mut billed_months = now.money.months.range(k..m.max(k)).peekable();
    while k < m {
        let billed = match billed_months.next_if(|(month, _)| **month == k) {
            Some((_, x)) => x.due,
            None => Money::ZERO,
        };
        if is_debit_month(terms, k) {
            if let Some(t) = owed(k) {
                let diff = t.amount - billed;
                if !diff.is_zero() {
                    let kind = if billed.is_zero() {
                        // A month never billed (a resumption month before billing
                        // restarts): billed now, as what it is.
                        t.kind
                    } else if terms.billed_products.iter().any(|(from, _)| *from == k) {
                        ChargeKind::ZoneDifference
                    } else {
                        ChargeKind::CutoffDifference
                    };
                    lines.push(ChargeLine {
                        kind,
                        amount: diff,
                        days: if kind == t.kind { t.days } else { None },
                        month: k,
                        tariff: t.tariff,
                    });
                }
            }
        }
        k = k.plus(1);
    }
    Some(lines)
}

/// `PAY-CASH-REFUND` (§10.5, §12.1.2): when a cash contract is suspended at the
/// customer's request or terminated before the end of its paid period, the period
/// used is charged with the direct-debit method (installments, the month in
/// progress due in full, the free month of the cycle free) and the rest of the
/// annual price is refunded. `None` when nothing is to refund or it was refunded.
pub fn cash_unused(world: &World, c: &ContractState) -> Option<Money> {
    if !matches!(c.payment(), Some(PaymentSetup::Cash)) {
        return None;
    }
    let last = c.statuses.last()?;
    let stop = last.from;
    match last.status {
        Status::Suspended {
            cause: SuspensionCause::Request,
        }
        | Status::Terminated { .. } => {}
        _ => return None,
    }
    let until = c.cash_paid_until?;
    if stop > until
        || c.refunds
            .values()
            .any(|r| r.reason == RefundReason::CashUnused && r.date >= stop)
    {
        return None;
    }
    let period_start = timing::cash_period_start(until).max(c.start_date);
    // The period costs the annual price of the product it started with, plus what
    // ZONE-UP changes made due in it (§7.6); ZONE-DOWN credits were refunded and
    // count in `cash_period_refunded` (§7.7).
    let paid = world
        .catalogue
        .annual_price(c.product_on(period_start).key(), period_start)?
        .annual
        + c.cash_period_zone_due;
    let mut used = Money::ZERO;
    let mut m = YearMonth::of(period_start);
    while m <= YearMonth::of(stop) && m <= YearMonth::of(until) {
        // The periods of validity say which months were used: a month in force
        // on at least one day (the month in progress at the stop) is due in full.
        if let Some(t) = owed_month(world, c, m) {
            used += t.amount;
        }
        m = m.plus(1);
    }
    // The months used are counted over the whole cash period (every suspension
    // and resumption in it); what earlier suspensions refunded is deducted. Never
    // more than the cash actually paid for the period (after a switch to cash the
    // months before it were paid by direct debit), and never more than the credit
    // it leaves: an unpaid switch amount is not refunded (Decision).
    let mut rest = paid - used - c.cash_period_refunded;
    let cap = c.cash_period_paid + c.cash_period_zone_due - c.cash_period_refunded;
    if rest > cap {
        rest = cap;
    }
    let debt = c.money.debt();
    if debt.is_positive() {
        rest -= debt;
    }
    rest.is_positive().then_some(rest)
}

/// `PAY-REFUND-METHOD`: months looked back for an online card payment.
pub const CARD_REFUND_LOOKBACK_MONTHS: u32 = 11;

/// How a refund is paid (`PAY-REFUND-METHOD`, §7.7, §10.5, §12.1.2): direct debit →
/// bank transfer; paid online by card → back to the card when an online payment of
/// at least the amount was made in the 11 previous months, else lettre-chèque;
/// otherwise (cheque, cash, card at an agency) → lettre-chèque.
pub fn refund_method(c: &ContractState, amount: Money, date: NaiveDate) -> RefundMethod {
    if c.payment().is_some_and(PaymentSetup::is_direct_debit) {
        return RefundMethod::BankTransfer;
    }
    // "In the 11 previous months" is the half-open window of RULES.md §0,
    // (date − 11 months, date].
    let card = c.one_off_payments.iter().any(|p| {
        p.means == PaymentMeans::CardOnline
            && within_last_months(p.date, date, CARD_REFUND_LOOKBACK_MONTHS)
            && p.amount >= amount
    });
    if card {
        RefundMethod::Card
    } else {
        RefundMethod::LettreCheque
    }
}

/// The dossier fee as a charge line on the first debit of a remote subscription
/// (`TAR-DOSSIER-FEE`, `SUB-FIRST-PAYMENT`).
pub fn dossier_fee_line(fee: Money, month: YearMonth) -> ChargeLine {
    ChargeLine {
        kind: ChargeKind::DossierFee,
        amount: fee,
        days: None,
        month,
        tariff: None,
    }
}

/// The first free month of a cycle starting on `start` under `book`
/// (`PAY-FREE-MONTH`, CGVU-2026 §4.14.12.2, CGU-2011 §2.9.3). None for Senior
/// (`PAY-SENIOR`).
pub fn first_free_month(book: &Rulebook, product: Product, start: NaiveDate) -> Option<YearMonth> {
    if product == Product::Senior {
        return None;
    }
    let m = YearMonth::of(start);
    let eleven = match book.free_month {
        FreeMonthRule::RemainingDays { min_days } => {
            start.day() == 1 || remaining_days(start) >= min_days
        }
        FreeMonthRule::FirstOfMonthOnly => start.day() == 1,
    };
    Some(if eleven { m.plus(11) } else { m.plus(12) })
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
