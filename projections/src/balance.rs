//! Balances per contract and per payer (`PAY-DUE-VS-COLLECTED`): amounts due,
//! collected and returned, fees by kind, debt, credit and a per-month breakdown,
//! counting the known events effective by `at` (see the crate documentation).

use navigo_core::contract::state::{ContractMoney, ContractState};
use navigo_core::world::World;
use navigo_events_schema::views::{
    BalanceTotals, ContractBalance, FeeAmount, MonthAmounts, PayerBalance,
};
use navigo_events_schema::{Envelope, Money};
use uuid::Uuid;

use crate::{ProjectionError, Query, Worlds};

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

/// The balance view of one folded contract.
pub fn contract_balance_of(c: &ContractState, q: &Query) -> ContractBalance {
    c.assert_invariants();
    ContractBalance {
        contract: c.id,
        as_of: q.as_of(),
        totals: totals(&c.money),
        fees: c
            .money
            .fees
            .iter()
            .map(|(kind, amount)| FeeAmount {
                kind: *kind,
                amount: *amount,
            })
            .collect(),
        months: c
            .money
            .months
            .iter()
            .map(|(month, m)| MonthAmounts {
                month: *month,
                due: m.due,
                collected: m.collected,
            })
            .collect(),
    }
}

/// The balance of a contract in a folded world (`Worlds::at`).
///
/// # Errors
/// [`ProjectionError::UnknownContract`].
pub fn contract_balance_in(
    world_at: &World,
    contract: Uuid,
    q: &Query,
) -> Result<ContractBalance, ProjectionError> {
    let c = world_at
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    Ok(contract_balance_of(c, q))
}

/// The balance of a contract over `events` (its stream at least).
///
/// # Errors
/// [`ProjectionError::UnknownContract`].
pub fn contract_balance(
    events: &[Envelope],
    contract: Uuid,
    q: &Query,
) -> Result<ContractBalance, ProjectionError> {
    let w = Worlds::new(events, q);
    contract_balance_in(&w.at, contract, q)
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
pub fn payer_balance_in(
    worlds: &Worlds,
    payer: Uuid,
    q: &Query,
) -> Result<PayerBalance, ProjectionError> {
    if worlds.known.person(payer).is_none() {
        return Err(ProjectionError::UnknownPerson(payer));
    }
    let mut totals = BalanceTotals::default();
    let mut contracts = Vec::new();
    let ids: Vec<Uuid> = worlds
        .known
        .contracts
        .values()
        .filter(|c| c.payers.iter().any(|(_, p)| *p == payer) || c.payer == payer)
        .map(|c| c.id)
        .collect();
    for id in ids {
        if let Some(c) = worlds.at.contract(id) {
            let b = contract_balance_of(c, q);
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

/// The balance of a payer over `events`.
///
/// # Errors
/// [`ProjectionError::UnknownPerson`].
pub fn payer_balance(
    events: &[Envelope],
    payer: Uuid,
    q: &Query,
) -> Result<PayerBalance, ProjectionError> {
    payer_balance_in(&Worlds::new(events, q), payer, q)
}
