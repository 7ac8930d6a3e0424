//! Contract state on `at`: status timeline, product and zones timeline, payment
//! method with its debit day and mandate, payer, support, losses, free-month
//! cycle, attestation (`TERM-ATTESTATION`) and retention (`TERM-RETENTION`), each
//! as it holds on `at`, and apart the changes known to take effect after `at`
//! (`scheduled`); and the validity query "may this contract be used in zone Z at
//! instant T?" (`USE-DEZONAGE`).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::{PaymentSetup, Product};
use navigo_events_schema::views::{
    ContractStateView, FreeMonthCycle, PayerFrom, PaymentFrom, PaymentView, ProductFrom,
    RuleAnswer, ScheduledChanges, StatusView, ValidityReason, ValidityView,
};
use navigo_events_schema::{RuleId, YearMonth};
use navigo_rules::calendar::paris_date;
use navigo_rules::contract::ended::{attestation_available, retention, Retention};
use navigo_rules::contract::loss_count::{losses_in_last_12_months, rank_in_period};
use navigo_rules::contract::state::{ContractState, Status, StatusChange};
use navigo_rules::validity::{zone_validity, DezonageReason, Validity};
use navigo_rules::world::World;
use uuid::Uuid;

use crate::{Folded, ProjectionError};

fn status_view(s: &StatusChange) -> StatusView {
    match s.status {
        Status::Active => StatusView::Active { from: s.from },
        Status::Suspended { cause } => StatusView::Suspended {
            from: s.from,
            cause,
        },
        Status::Terminated { reason } => StatusView::Terminated {
            from: s.from,
            reason,
        },
    }
}

/// The state view of a contract on `at` (the input holding the contract's
/// stream, its holder's and every contract the holder holds or pays, and the
/// catalogue).
///
/// # Errors
/// [`ProjectionError::UnknownContract`].
pub fn contract_state(
    input: &Folded<'_>,
    contract: Uuid,
) -> Result<ContractStateView, ProjectionError> {
    let (known, world_at, q) = (input.known(), input.at(), input.query());
    let c = known
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    // Money, losses and support as effective by `at` (the subscription always
    // counts, so this fold exists whenever the known one does).
    let c_at: &ContractState = world_at.contract(contract).unwrap_or(c);
    let at = q.at;
    let m = YearMonth::of(at);
    let status = c
        .statuses
        .iter()
        .rev()
        .find(|s| s.from <= at)
        .map(status_view)
        .unwrap_or(StatusView::NotStarted { from: c.start_date });
    let payment = payment_in(c, m).as_ref().map(PaymentView::from);
    let losses_in_free_period = if c_at.losses.is_empty() {
        0
    } else {
        rank_in_period(c_at, at).0.saturating_sub(1)
    };
    let free_month = c.period_covering(m).and_then(|p| {
        let next = p.free_month_on_or_after(m)?;
        Some(FreeMonthCycle {
            cycle_start: p.start,
            rulebook: p.rulebook.clone(),
            next_free_month: next,
            months_until: m.months_until(next),
        })
    });
    let attestation = attestation(world_at, c, c_at, at);
    let retention = retention_of(world_at, c, at);
    Ok(ContractStateView {
        contract,
        as_of: q.as_of(),
        holder: c.holder,
        status,
        statuses: c
            .statuses
            .iter()
            .filter(|s| s.from <= at)
            .map(status_view)
            .collect(),
        product: product_on(c, at),
        products: products(c).filter(|p| p.from <= at).collect(),
        payment,
        payer: c.payer_at(m),
        support: c_at.support,
        losses_in_free_period,
        losses_last_12_months: losses_in_last_12_months(c_at, at, false),
        free_month,
        attestation,
        retention,
        scheduled: scheduled(c, at),
    })
}

/// `TERM-ATTESTATION` for the holder of `c` on `at` (`c_at`: the contract as
/// effective by `at`).
fn attestation(
    world_at: &World,
    c: &ContractState,
    c_at: &ContractState,
    at: NaiveDate,
) -> RuleAnswer {
    match world_at.person(c.holder) {
        Some(h) => match attestation_available(c_at, c.holder, h.birth_date, at) {
            Ok(()) => RuleAnswer {
                yes: true,
                rule: RuleId::TermAttestation,
                message: None,
            },
            Err(r) => RuleAnswer {
                yes: false,
                rule: RuleId::TermAttestation,
                message: Some(r.message),
            },
        },
        None => RuleAnswer {
            yes: false,
            rule: RuleId::TermAttestation,
            message: Some(format!("the holder {} is not registered", c.holder)),
        },
    }
}

/// `TERM-RETENTION` of the data of the holder of `c`, on `at`.
fn retention_of(world_at: &World, c: &ContractState, at: NaiveDate) -> RuleAnswer {
    // The holder's contracts through the holder and payer indexes (in id order,
    // as a scan would give them), not a scan of every contract: a rebuild asks
    // this for every contract. The filter stays, the indexes may name more.
    let held_ids: BTreeSet<Uuid> = world_at
        .contracts_of_holder(c.holder)
        .chain(world_at.contracts_of_payer(c.holder))
        .map(|k| k.id)
        .collect();
    let held: Vec<&ContractState> = held_ids
        .iter()
        .filter_map(|id| world_at.contract(*id))
        .filter(|k| k.holder == c.holder || k.payers.iter().any(|(_, p)| *p == c.holder))
        .collect();
    match retention(held) {
        Retention::Kept => RuleAnswer {
            yes: true,
            rule: RuleId::TermRetention,
            message: None,
        },
        Retention::ArchiveFrom(d) => RuleAnswer {
            yes: at < d,
            rule: RuleId::TermRetention,
            message: Some(format!("the holder's data is archived from {d}")),
        },
    }
}

fn products(c: &ContractState) -> impl Iterator<Item = ProductFrom> + '_ {
    c.products.iter().map(|(from, product)| ProductFrom {
        from: *from,
        product: *product,
    })
}

/// The product on `at`: the last one from a date at or before it, the first one
/// before the contract starts (the core's `product_on` falls back to the latest
/// product, which a deferred zone change makes a product of the future).
fn product_on(c: &ContractState, at: NaiveDate) -> Product {
    c.products
        .iter()
        .rev()
        .find(|(from, _)| *from <= at)
        .or(c.products.first())
        .map_or(c.product, |(_, p)| *p)
}

/// The payment of month `m` as one truth: the method in force that month, and
/// for a direct debit the debit day and the mandate in force that month. The
/// core keeps the three as separate timelines (a `DebitDayChanged` or a
/// `MandateChanged` does not restate the method), so the setup recorded with
/// the method alone would carry the debit day and mandate it was recorded with.
fn payment_in(c: &ContractState, m: YearMonth) -> Option<PaymentSetup> {
    match c.payment_setup_at(m)? {
        PaymentSetup::Cash => Some(PaymentSetup::Cash),
        PaymentSetup::DirectDebit { mandate, .. } => Some(PaymentSetup::DirectDebit {
            debit_day: c.debit_day_at(m),
            mandate: c.mandate_at(m).unwrap_or_else(|| mandate.clone()),
        }),
    }
}

/// What is known on `at` to change after it: statuses and products from a later
/// date, payments (method, debit day, mandate) and payers from a later month.
fn scheduled(c: &ContractState, at: NaiveDate) -> ScheduledChanges {
    let m = YearMonth::of(at);
    // The months from which the payment may change: any entry of the method,
    // debit-day or mandate timelines after the month read.
    let change_months: BTreeSet<YearMonth> = c
        .payments
        .iter()
        .map(|(from, _)| *from)
        .chain(c.debit_days.iter().map(|(from, _)| *from))
        .chain(c.mandates.iter().map(|(from, _)| *from))
        .filter(|from| *from > m)
        .collect();
    let mut payments = Vec::new();
    let mut last = payment_in(c, m);
    for from in change_months {
        let p = payment_in(c, from);
        if p != last {
            if let Some(payment) = p.clone() {
                payments.push(PaymentFrom {
                    from_month: from,
                    payment: PaymentView::from(&payment),
                });
            }
            last = p;
        }
    }
    let mut payers = Vec::new();
    let mut payer = c.payer_at(m);
    let payer_months: BTreeSet<YearMonth> = c
        .payers
        .iter()
        .map(|(from, _)| *from)
        .filter(|from| *from > m)
        .collect();
    for from in payer_months {
        let p = c.payer_at(from);
        if p != payer {
            payers.push(PayerFrom {
                from_month: from,
                payer: p,
            });
            payer = p;
        }
    }
    ScheduledChanges {
        statuses: c
            .statuses
            .iter()
            .filter(|s| s.from > at)
            .map(status_view)
            .collect(),
        products: products(c).filter(|p| p.from > at).collect(),
        payments,
        payers,
    }
}

/// `USE-DEZONAGE`: may `contract` be used in `zone` at `instant`, as known at
/// the input's `known_at`? The contract must be in force on the instant's Paris
/// date; then the zones of the product in force that day decide, with dézonage.
/// The input's `at` plays no part: the instant's date is read from the fold of
/// every known event.
///
/// # Errors
/// [`ProjectionError::UnknownContract`].
pub fn validity(
    input: &Folded<'_>,
    contract: Uuid,
    zone: u8,
    instant: DateTime<Utc>,
) -> Result<ValidityView, ProjectionError> {
    let known = input.known();
    let c = known
        .contract(contract)
        .ok_or(ProjectionError::UnknownContract(contract))?;
    let date = paris_date(instant);
    let reason = match c.status_on(date) {
        None => ValidityReason::NotStarted,
        Some(Status::Suspended { .. }) => ValidityReason::Suspended,
        Some(Status::Terminated { .. }) => ValidityReason::Terminated,
        Some(Status::Active) => {
            match zone_validity(c.product_on(date).zones(), zone, instant, &known.catalogue) {
                Validity::Covered => ValidityReason::Covered,
                Validity::NotCovered => ValidityReason::NotCovered,
                Validity::Dezonage(DezonageReason::Weekend) => ValidityReason::Weekend,
                Validity::Dezonage(DezonageReason::PublicHoliday) => ValidityReason::PublicHoliday,
                Validity::Dezonage(DezonageReason::Summer) => ValidityReason::Summer,
                Validity::Dezonage(DezonageReason::SchoolHolidays { name }) => {
                    ValidityReason::SchoolHolidays { name }
                }
            }
        }
    };
    let valid = !matches!(
        reason,
        ValidityReason::NotCovered
            | ValidityReason::Suspended
            | ValidityReason::Terminated
            | ValidityReason::NotStarted
    );
    Ok(ValidityView {
        contract,
        zone,
        instant,
        valid,
        rule: RuleId::UseDezonage,
        reason,
    })
}
