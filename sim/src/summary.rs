//! What `navigo-ledger demo` prints, computed from the folded [`World`].
//!
//! The figures come from the contract states the rules read (`ContractState`);
//! the demo rebuilds the projections, checks that their balances agree with
//! these, and says which source it printed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use navigo_events_schema::types::Product;
use navigo_events_schema::{Money, RuleId, StreamId};
use uuid::Uuid;

use navigo_ledger_core::{Ledger, LedgerError, StateRef};
use navigo_rules::bans::{BanRole, BanWindow};
use navigo_rules::contract::state::{ContractState, Status};
use navigo_rules::world::{PersonState, World};
use navigo_store::EventStore;

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

/// The summary of `world` on `date` (bans in force on that date): a world that
/// holds every state (a fold of the log). The ledger's, whose states are paged,
/// is summarised by [`summarize_ledger`].
pub fn summarize(world: &World, date: NaiveDate) -> Summary {
    let mut s = Summary::default();
    for c in world.contracts.values() {
        s.count_contract(c);
    }
    for p in world.persons.values() {
        s.count_person(p);
    }
    for id in ban_candidates(world) {
        s.count_bans(&world.ban_windows(id), date);
    }
    s
}

/// Contract and person states [`summarize_ledger`] reads at a time, and
/// persons whose bans it computes at a time.
pub const SUMMARY_STATES_PER_CHUNK: usize = 4_096;

/// [`summarize`] of a ledger whose states are paged, and its
/// [`interesting_contract`]: the states are walked a chunk at a time
/// ([`Ledger::walk_states`]), then the ban windows of the candidates are
/// computed a chunk of persons at a time, with the histories they read loaded
/// for the chunk and forgotten after, so that the summary never holds more
/// than the cache and a chunk, whatever the ledger's size.
///
/// # Errors
/// A store failure or a corrupt record.
pub async fn summarize_ledger<S: EventStore>(
    ledger: &mut Ledger<S>,
    date: NaiveDate,
) -> Result<(Summary, Option<Uuid>), LedgerError> {
    let mut s = Summary::default();
    let mut candidates = BTreeSet::new();
    let mut best = None;
    ledger
        .walk_states(SUMMARY_STATES_PER_CHUNK, |_, version, state| match state {
            StateRef::Contract(c) => {
                s.count_contract(c);
                add_ban_candidates(c, &mut candidates);
                best = best.max(Some(interest(c, version)));
            }
            StateRef::Person(p) => s.count_person(p),
        })
        .await?;
    let candidates: Vec<Uuid> = candidates.into_iter().collect();
    for chunk in candidates.chunks(SUMMARY_STATES_PER_CHUNK) {
        let mut streams = BTreeSet::new();
        for p in chunk {
            navigo_ledger_core::histories::ban_streams(ledger.world(), *p, &mut streams);
        }
        ledger.load_histories(&streams).await?;
        let windows = ledger
            .read_paged(|w| chunk.iter().map(|p| w.ban_windows(*p)).collect::<Vec<_>>())
            .await;
        ledger.forget_histories();
        for w in windows? {
            s.count_bans(&w, date);
        }
    }
    Ok((s, best.map(|(_, _, Reverse(id))| id)))
}

impl Summary {
    /// Counts one contract: its status, product and money.
    fn count_contract(&mut self, c: &ContractState) {
        self.contracts += 1;
        *self
            .by_status
            .entry(status_name(c.current_status()))
            .or_default() += 1;
        *self.by_product.entry(product_name(c.product)).or_default() += 1;
        let m = &c.money;
        self.amounts.due += m.due;
        self.amounts.collected += m.collected;
        self.amounts.returned += m.returned;
        self.amounts.outstanding += m.debt();
        let b = m.balance();
        if b.is_negative() {
            self.amounts.credit += Money::ZERO - b;
        }
        self.amounts.refunds_pending += m.refunds_pending;
        if !balance_holds(c) {
            self.balance_mismatches += 1;
        }
    }

    /// Counts one person and their refund claims.
    fn count_person(&mut self, p: &PersonState) {
        self.persons += 1;
        for claim in &p.claims {
            self.claims_filed += 1;
            if let Some(d) = &claim.decided {
                for op in &d.operations {
                    let e = self
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

    /// Counts a person's bans in force on `date`, per role (`SUB-BANNED-PAYER`,
    /// `SUB-BANNED-HOLDER`), from the windows the rules compute from their facts.
    fn count_bans(&mut self, windows: &[BanWindow], date: NaiveDate) {
        if windows.is_empty() {
            return;
        }
        for role in [BanRole::Payer, BanRole::Holder] {
            if let Err(w) = navigo_rules::bans::may_be(role, date, windows) {
                *self.active_bans.entry(w.rule).or_default() += 1;
            }
        }
    }
}

/// The persons a ban can concern: the payers of a terminated contract or of one
/// with a Trésor Public notice, and the persons named in a fraud. Only they
/// are asked for their ban windows (computing a person's windows refolds the
/// contracts they pay).
pub fn ban_candidates(world: &World) -> BTreeSet<Uuid> {
    let mut candidates = BTreeSet::new();
    for c in world.contracts.values() {
        add_ban_candidates(c, &mut candidates);
    }
    candidates
}

/// The persons a ban can concern through one contract ([`ban_candidates`]).
fn add_ban_candidates(c: &ContractState, out: &mut BTreeSet<Uuid>) {
    if c.termination.is_some() || !c.treasury_notices.is_empty() {
        out.insert(c.payer);
        out.extend(c.payers.iter().map(|(_, p)| *p));
    }
    if let Some((fraudster, accomplices)) = &c.fraud {
        out.insert(*fraudster);
        out.extend(accomplices.iter().copied());
    }
}

/// The stream histories [`summarize`] reads besides the states: those of the
/// contracts whose events date the bans of [`ban_candidates`] (a world that
/// holds states only, as the ledger's, loads them first).
pub fn history_streams(world: &World) -> BTreeSet<StreamId> {
    let mut out = BTreeSet::new();
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
/// rejection if any; else the one with the most of them (then the most events,
/// then the least id).
pub fn interesting_contract(world: &World) -> Option<Uuid> {
    world
        .contracts
        .values()
        .map(|c| interest(c, world.version(StreamId::contract(c.id))))
        .max()
        .map(|(_, _, Reverse(id))| id)
}

/// How worth auditing a contract is ([`interesting_contract`] takes the
/// greatest): its score, its number of events (its stream's `version`), and
/// its id reversed so that the least id wins a tie.
fn interest(c: &ContractState, version: u64) -> (u32, u64, Reverse<Uuid>) {
    let suspended = c
        .statuses
        .iter()
        .any(|s| matches!(s.status, Status::Suspended { .. }));
    let zones = c.products.windows(2).any(|w| {
        matches!((w[0].1, w[1].1), (Product::Annual { zones: a }, Product::Annual { zones: b }) if a != b)
    });
    let rejected = !c.rejections.is_empty();
    let score = u32::from(suspended) + u32::from(zones) + u32::from(rejected);
    (score, version, Reverse(c.id))
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
