//! What `navigo-ledger demo` prints, computed from the folded [`World`].
//!
//! The figures come from the contract states the rules read (`ContractState`);
//! the demo rebuilds the projections, checks that their balances agree with
//! these, and says which source it printed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use navigo_events_schema::types::Product;
use navigo_events_schema::{Money, RuleId, StreamId};
use uuid::Uuid;

use navigo_rules::bans::BanRole;
use navigo_rules::contract::state::{ContractState, Status};
use navigo_rules::world::World;

/// Characters of an event's data shown per line of an audit.
pub const AUDIT_DATA_CHARS_MAX: usize = 150;

/// Amounts over every contract (`PAY-DUE-VS-COLLECTED`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Total due.
    pub due: Money,
    /// Total collected.
    pub collected: Money,
    /// Total returned (refunds paid).
    pub returned: Money,
    /// Sum of the debts (positive balances).
    pub outstanding: Money,
    /// Sum of the credits (negative balances).
    pub credit: Money,
    /// Refunds due and not yet paid.
    pub refunds_pending: Money,
}

/// A campaign operation's refund entitlements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationRefunds {
    /// Claims judged on the operation.
    pub judged: u64,
    /// Eligible.
    pub eligible: u64,
    /// Amount granted.
    pub amount: Money,
}

/// The summary of a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Persons.
    pub persons: u64,
    /// Contracts.
    pub contracts: u64,
    /// Contracts by current status (terminations and suspensions by cause).
    pub by_status: BTreeMap<String, u64>,
    /// Contracts by current product.
    pub by_product: BTreeMap<String, u64>,
    /// Money.
    pub amounts: Amounts,
    /// Contracts whose balance is not due − collected + returned (must be 0).
    pub balance_mismatches: u64,
    /// Persons under a ban on the summary date, by ban rule (a person barred as
    /// payer and as holder counts once per role).
    pub active_bans: BTreeMap<RuleId, u64>,
    /// Refund entitlements by campaign operation.
    pub refunds_by_operation: BTreeMap<String, OperationRefunds>,
    /// Refund claims filed.
    pub claims_filed: u64,
}

fn status_name(s: Status) -> String {
    match s {
        Status::Active => "active".into(),
        Status::Suspended { cause } => format!("suspended ({cause})"),
        Status::Terminated { reason } => format!("terminated ({reason})"),
    }
}

fn product_name(p: Product) -> String {
    match p {
        Product::Annual { zones } => format!("Annual {zones}"),
        Product::Senior => "Senior".into(),
    }
}

/// The summary of `world` on `date` (bans in force on that date).
pub fn summarize(world: &World, date: NaiveDate) -> Summary {
    let mut s = Summary {
        persons: u64::try_from(world.persons.len()).unwrap_or(u64::MAX),
        contracts: u64::try_from(world.contracts.len()).unwrap_or(u64::MAX),
        ..Summary::default()
    };
    for c in world.contracts.values() {
        *s.by_status
            .entry(status_name(c.current_status()))
            .or_default() += 1;
        *s.by_product.entry(product_name(c.product)).or_default() += 1;
        let m = &c.money;
        s.amounts.due += m.due;
        s.amounts.collected += m.collected;
        s.amounts.returned += m.returned;
        s.amounts.outstanding += m.debt();
        let b = m.balance();
        if b.is_negative() {
            s.amounts.credit += Money::ZERO - b;
        }
        s.amounts.refunds_pending += m.refunds_pending;
        if !balance_holds(c) {
            s.balance_mismatches += 1;
        }
    }
    // Bans in force on the date, per role (`SUB-BANNED-PAYER`,
    // `SUB-BANNED-HOLDER`): the windows the rules compute from each person's facts.
    // Only the persons a ban can concern are asked (computing a person's windows
    // scans the ledger): the payers of a terminated contract or of one with a
    // Trésor Public notice, and the persons named in a fraud.
    for id in ban_candidates(world) {
        let windows = world.ban_windows(id);
        if windows.is_empty() {
            continue;
        }
        for role in [BanRole::Payer, BanRole::Holder] {
            if let Err(w) = navigo_rules::bans::may_be(role, date, &windows) {
                *s.active_bans.entry(w.rule).or_default() += 1;
            }
        }
    }
    for p in world.persons.values() {
        for claim in &p.claims {
            s.claims_filed += 1;
            if let Some(d) = &claim.decided {
                for op in &d.operations {
                    let e = s
                        .refunds_by_operation
                        .entry(op.operation.clone())
                        .or_default();
                    e.judged += 1;
                    if op.eligible {
                        e.eligible += 1;
                        e.amount += op.amount;
                    }
                }
            }
        }
    }
    s
}

/// The persons a ban can concern: the payers of a terminated contract or of one
/// with a Trésor Public notice, and the persons named in a fraud.
pub fn ban_candidates(world: &World) -> std::collections::BTreeSet<Uuid> {
    let mut candidates = std::collections::BTreeSet::new();
    for c in world.contracts.values() {
        if c.termination.is_some() || !c.treasury_notices.is_empty() {
            candidates.insert(c.payer);
            candidates.extend(c.payers.iter().map(|(_, p)| *p));
        }
        if let Some((fraudster, accomplices)) = &c.fraud {
            candidates.insert(*fraudster);
            candidates.extend(accomplices.iter().copied());
        }
    }
    candidates
}

/// The stream histories [`summarize`] reads besides the states: those of the
/// contracts whose events date the bans of [`ban_candidates`] (a world that
/// holds states only, as the ledger's, loads them first).
pub fn history_streams(world: &World) -> std::collections::BTreeSet<StreamId> {
    let mut out = std::collections::BTreeSet::new();
    for p in ban_candidates(world) {
        navigo_ledger_core::histories::ban_streams(world, p, &mut out);
    }
    out
}

/// The balance invariant of `PAY-DUE-VS-COLLECTED`: balance = due − collected +
/// returned, and the due is the sum of the months, the fees and the unattributed
/// due.
pub fn balance_holds(c: &ContractState) -> bool {
    let m = &c.money;
    let months: Money = m.months.values().fold(Money::ZERO, |a, x| a + x.due);
    let fees: Money = m.fees.values().fold(Money::ZERO, |a, x| a + *x);
    m.balance() == m.due - m.collected + m.returned && m.due == months + fees + m.unattributed_due
}

/// A contract worth auditing: one with a suspension, a zone change and a
/// rejection if any; else the one with the most of them (then the most events).
pub fn interesting_contract(world: &World) -> Option<Uuid> {
    world
        .contracts
        .values()
        .map(|c| {
            let suspended = c
                .statuses
                .iter()
                .any(|s| matches!(s.status, Status::Suspended { .. }));
            let zones = c.products.windows(2).any(|w| {
                matches!((w[0].1, w[1].1), (Product::Annual { zones: a }, Product::Annual { zones: b }) if a != b)
            });
            let rejected = !c.rejections.is_empty();
            let score = u32::from(suspended) + u32::from(zones) + u32::from(rejected);
            // The stream's version is its number of events.
            let events = world.version(StreamId::contract(c.id));
            (score, events, c.id)
        })
        .max_by(|a, b| (a.0, a.1, std::cmp::Reverse(a.2)).cmp(&(b.0, b.1, std::cmp::Reverse(b.2))))
        .map(|(_, _, id)| id)
}

/// The audit of one contract: one line per event, in stream order, from the
/// contract's history in `world` (which a world of states only loads first).
pub fn audit_lines(world: &World, id: Uuid) -> Vec<String> {
    let Some(events) = world.history.get(&StreamId::contract(id)) else {
        return Vec::new();
    };
    events
        .iter()
        .map(|e| {
            let mut data = e
                .event
                .data_to_value()
                .map(|v| v.to_string())
                .unwrap_or_default();
            if data.chars().count() > AUDIT_DATA_CHARS_MAX {
                data = data.chars().take(AUDIT_DATA_CHARS_MAX).collect::<String>() + "…";
            }
            format!(
                "#{:<3} {} {:<24} {}",
                e.stream_seq,
                e.effective_date,
                e.event.type_name(),
                data
            )
        })
        .collect()
}
