//! Balances per contract and per payer (`PAY-DUE-VS-COLLECTED`): amounts due,
//! collected and returned, debt, credit, and a statement (fees, cash, payments,
//! refunds and one row per month) whose rows add up to the totals, counting the
//! known events effective by `at` (see the crate documentation).

use navigo_events_schema::types::PaymentSetup;
use navigo_events_schema::views::{
    BalanceItem, BalanceRow, BalanceTotals, ContractBalance, PayerBalance,
};
use navigo_events_schema::Money;
use navigo_rules::contract::state::{ContractMoney, ContractState};
use uuid::Uuid;

use crate::{Folded, ProjectionError, Query};

/// The totals of a contract's money. Checks the invariant of every fold:
/// balance = due − collected + returned (`PAY-DUE-VS-COLLECTED`), and that the
/// core's own attribution invariants hold ([`ContractState::assert_invariants`]).
pub fn totals(m: &ContractMoney) -> BalanceTotals {
    let balance = m.balance();
    // PAY-DUE-VS-COLLECTED: the balance the core reports must be exactly its three
    // totals; a difference is a bug in a fold, not a customer's situation.
    assert_eq!(
        balance,
        m.due - m.collected + m.returned,
        "PAY-DUE-VS-COLLECTED: balance differs from due − collected + returned"
    );
    BalanceTotals {
        due: m.due,
        collected: m.collected,
        returned: m.returned,
        balance,
        debt: m.debt(),
        credit: if balance.is_negative() {
            Money::ZERO - balance
        } else {
            Money::ZERO
        },
        refunds_pending: m.refunds_pending,
    }
}

/// The balance view of one folded contract: its totals and the statement whose
/// rows add up to them ([`statement`]).
fn balance_of(c: &ContractState, q: &Query) -> ContractBalance {
    c.assert_invariants();
    let totals = totals(&c.money);
    let rows = statement(c);
    // PAY-DUE-VS-COLLECTED: the rows of a view and its totals are one account;
    // a difference is a bug in the statement, not a customer's situation.
    let sum = |f: fn(&BalanceRow) -> Money| rows.iter().map(f).sum::<Money>();
    assert_eq!(
        (sum(|r| r.due), sum(|r| r.collected), sum(|r| r.returned)),
        (totals.due, totals.collected, totals.returned),
        "contract {}: PAY-DUE-VS-COLLECTED: the balance rows do not add up to the totals",
        c.id
    );
    ContractBalance {
        contract: c.id,
        as_of: q.as_of(),
        totals,
        rows,
    }
}

fn row(item: BalanceItem, due: Money, collected: Money, returned: Money) -> BalanceRow {
    BalanceRow {
        item,
        month: None,
        fee: None,
        due,
        collected,
        returned,
    }
}

/// The statement of a contract: one row per fee kind, the cash row, the
/// payments row and the refunds row (each only when it holds an amount), then
/// one row per month the core attributes travel to, in month order. The rows
/// without a month come first so that a month added between two readings does
/// not move them (a diff keys month rows by their month, the others by their
/// position).
///
/// The core attributes every euro due to a month's travel, a fee, or cash
/// (`ContractState::assert_invariants`). Decision: the cash paid at a cash
/// subscription is attributed by the core to the start month (the first
/// payment's `cash_annual` line), while every later cash amount and the unused
/// part refunded (`PAY-CASH-REFUND`) belong to no month; a month showing the
/// whole annual price beside totals that no longer owe it contradicts itself,
/// so the statement counts the months paid in cash (the payment method of the
/// month is cash) in the cash row with every other cash amount. The money
/// received outside a month's debit (fees and cash paid at subscription, cash
/// payments, settlements) has no month in the fold either: it is the payments
/// row, what the contract collected beyond the month rows.
pub fn statement(c: &ContractState) -> Vec<BalanceRow> {
    let m = &c.money;
    let mut rows: Vec<BalanceRow> = m
        .fees
        .iter()
        .map(|(kind, amount)| BalanceRow {
            fee: Some(*kind),
            ..row(BalanceItem::Fee, *amount, Money::ZERO, Money::ZERO)
        })
        .collect();
    let mut cash_due = m.unattributed_due;
    let mut months = Vec::with_capacity(m.months.len());
    let mut months_collected = Money::ZERO;
    for (month, amounts) in &m.months {
        if matches!(c.payment_setup_at(*month), Some(PaymentSetup::Cash)) {
            cash_due += amounts.due;
            continue;
        }
        months_collected += amounts.collected;
        months.push(BalanceRow {
            month: Some(*month),
            ..row(
                BalanceItem::Month,
                amounts.due,
                amounts.collected,
                Money::ZERO,
            )
        });
    }
    let cash_seen = !cash_due.is_zero() || months.len() < m.months.len();
    if cash_seen {
        rows.push(row(BalanceItem::Cash, cash_due, Money::ZERO, Money::ZERO));
    }
    let payments = m.collected - months_collected;
    if !payments.is_zero() {
        rows.push(row(
            BalanceItem::Payments,
            Money::ZERO,
            payments,
            Money::ZERO,
        ));
    }
    if !m.returned.is_zero() {
        rows.push(row(
            BalanceItem::Refunds,
            Money::ZERO,
            Money::ZERO,
            m.returned,
        ));
    }
    rows.extend(months);
    rows
}

/// The balance of a contract on `at` (its stream and the catalogue at least in
/// the input).
///
/// # Errors
/// [`ProjectionError::UnknownContract`].
pub fn contract_balance(
    input: &Folded<'_>,
    contract: Uuid,
) -> Result<ContractBalance, ProjectionError> {
    let c = input
        .at()
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    Ok(balance_of(c, input.query()))
}

fn add(a: &mut BalanceTotals, b: &BalanceTotals) {
    a.due += b.due;
    a.collected += b.collected;
    a.returned += b.returned;
    a.refunds_pending += b.refunds_pending;
    a.balance = a.due - a.collected + a.returned;
    a.debt = if a.balance.is_positive() {
        a.balance
    } else {
        Money::ZERO
    };
    a.credit = if a.balance.is_negative() {
        Money::ZERO - a.balance
    } else {
        Money::ZERO
    };
}

/// The balance of a payer: every contract they pay or paid (any payer of the
/// contract's payer timeline). Decision: a contract whose payer changed counts
/// in full for each of its payers (the money of a contract is not split by payer
/// in the core's fold); the per-contract lines say which contracts are summed.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn payer_balance(input: &Folded<'_>, payer: Uuid) -> Result<PayerBalance, ProjectionError> {
    let known = input.known();
    if known.person(payer).is_none() {
        return Err(ProjectionError::UnknownPerson(payer));
    }
    let q = input.query();
    let mut totals = BalanceTotals::default();
    let mut contracts = Vec::new();
    let ids: Vec<Uuid> = known
        .contracts
        .values()
        .filter(|c| c.payers.iter().any(|(_, p)| *p == payer) || c.payer == payer)
        .map(|c| c.id)
        .collect();
    for id in ids {
        if let Some(c) = input.at().contract(id) {
            let b = balance_of(c, q);
            add(&mut totals, &b.totals);
            contracts.push(b);
        }
    }
    Ok(PayerBalance {
        payer,
        as_of: q.as_of(),
        totals,
        contracts,
    })
}
