//! Property tests of the rules (STYLE.md "Tests that replay"): random but legal
//! command sequences for many customers, with the billing clock run before every
//! request, and the invariants of RULES.md checked after every step:
//!
//! - `PAY-DUE-VS-COLLECTED`: balance = due − collected + returned, where due,
//!   collected and returned are recomputed here from the events alone (an
//!   independent fold of each contract stream, annulled events excluded);
//! - no debit while suspended or terminated: every debit is for a month inside a
//!   billing window of a period (`SUSP-MONTH-DUE`, `TERM-BY-PAYER`, `PAY-CUTOFF`),
//!   and no month without a day in force is due;
//! - `PAY-FREE-MONTH`: at most one free month in any 12 consecutive months of a
//!   cycle, and none for Senior (`PAY-SENIOR`);
//! - sequences are gapless (global positions and per-stream sequences);
//! - folding the stored events again gives the same state;
//! - every refusal names a rule id that exists in RULES.md.
//!
//! `pure_loop_*` drives the pure `handle` / `apply` loop; `sled_*` appends every
//! decision to a `SledStore` in a fresh directory and refolds the log read back.
//! A failure prints the generated scenario, which proptest shrinks and replays.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use navigo_events_schema::command::{
    AnnulEvent, ChangeDebitDay, ChangePayer, ChangeZones, ContractRef, DeclareLoss, EstablishFraud,
    PayRefund, RecordCashPayment, RecordDebitRejected, RequestSeniorSwitch, Resume, SettleDebt,
    Subscribe, Suspend, SwitchPaymentMethod, TerminateByAgency,
};
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, DebitPresented, FeeKind, FraudKind, LossKind, PaymentMeans,
    RefundReason, SettlementChannel, TariffPrice, TariffPublished, TerminationReason,
};
use navigo_events_schema::types::{
    ActivityDeclaration, Channel, DebitDay, Mark, PaymentRequest, PaymentSetup, Product,
    ProductKey, Support,
};
use navigo_events_schema::{
    Command, CommandEnvelope, Envelope, Event, Money, StreamId, StreamKind, YearMonth,
};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError};
use navigo_rules::contract::charges::{
    dossier_fee_line, owed_month, prepared_terms, RECONCILE_MONTHS_MAX,
};
use navigo_rules::contract::state::{is_obligation, ContractState};
use navigo_rules::decision::{Context, Decision};
use navigo_rules::engine::handle;
use navigo_rules::ids::IdGen;
use navigo_rules::policy::Policy;
use navigo_rules::world::World;
use navigo_rules::CommandError;
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::{verify_ledger, SledStore};
use navigo_testkit::{at, cid, cmd, d, debit, pid, reason_codes, register, tariff_990};
use proptest::prelude::*;

const RULES_MD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/RULES.md");

/// Customers per generated scenario (a named bound).
const CUSTOMERS_MAX: usize = 5;
/// Steps per generated scenario.
const STEPS_MAX: usize = 40;
/// Days between two steps, at most.
const GAP_DAYS_MAX: i64 = 45;
/// Days the clock runs after the last step.
const TAIL_DAYS: i64 = 400;

const ZONES: [&str; 4] = ["1-5", "2-3", "3-4", "4-5"];
const DEBIT_DAYS: [u8; 4] = [1, 2, 8, 12];
const REJECT_CODES: [&str; 4] = ["AM04", "MS03", "AC04", "MD07"];

/// One customer: holder and payer of one contract.
#[derive(Debug, Clone)]
struct Customer {
    /// Days after 2026-06-01 of the agency subscription (crosses the change of
    /// rulebook on 2026-06-24).
    start_offset: i64,
    zones: usize,
    debit_day: usize,
    senior: bool,
    /// Born 1950 (may ask the Senior switch) rather than 1980.
    old: bool,
    /// Pays cash (never for Senior, `PAY-CASH`).
    cash: bool,
}

#[derive(Debug, Clone)]
enum Act {
    Suspend {
        remote: bool,
        planned: Option<i64>,
    },
    Resume {
        remote: bool,
    },
    ChangeZones {
        to: usize,
        deferred: u32,
    },
    Loss,
    TerminateByPayer,
    Reject {
        code: usize,
    },
    Settle,
    ChangeDebitDay {
        day: usize,
    },
    PayRefunds,
    TerminateByAgency {
        reason: usize,
    },
    SwitchToCash,
    ChangePayer {
        to: usize,
    },
    RevokeMandate,
    SeniorRequest,
    SeniorValidate,
    /// A new tariff, `cents` cents dearer per annual price (odd amounts exercise
    /// the rounding), from the 1st of next month (`TAR-CATALOGUE`).
    PublishTariff {
        cents: i64,
    },
    PayCash,
    EstablishFraud,
    AnnulLastLoss,
}

#[derive(Debug, Clone)]
struct Step {
    customer: usize,
    gap_days: i64,
    act: Act,
}

fn customer() -> impl Strategy<Value = Customer> {
    (
        0..90i64,
        0..4usize,
        0..4usize,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(start_offset, zones, debit_day, senior, old, cash)| Customer {
                start_offset,
                zones,
                debit_day,
                senior,
                old: old || senior,
                cash: cash && !senior,
            },
        )
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        3 => (any::<bool>(), prop::option::weighted(0.3, 20..300i64))
            .prop_map(|(remote, planned)| Act::Suspend { remote, planned }),
        3 => any::<bool>().prop_map(|remote| Act::Resume { remote }),
        2 => (0..4usize, 0..3u32).prop_map(|(to, deferred)| Act::ChangeZones { to, deferred }),
        2 => Just(Act::Loss),
        1 => Just(Act::TerminateByPayer),
        2 => (0..4usize).prop_map(|code| Act::Reject { code }),
        2 => Just(Act::Settle),
        1 => (0..4usize).prop_map(|day| Act::ChangeDebitDay { day }),
        2 => Just(Act::PayRefunds),
        1 => (0..3usize).prop_map(|reason| Act::TerminateByAgency { reason }),
        1 => Just(Act::SwitchToCash),
        1 => (0..CUSTOMERS_MAX).prop_map(|to| Act::ChangePayer { to }),
        1 => Just(Act::RevokeMandate),
        1 => Just(Act::SeniorRequest),
        1 => Just(Act::SeniorValidate),
        1 => (1..5_000i64).prop_map(|cents| Act::PublishTariff { cents }),
        1 => Just(Act::PayCash),
        1 => Just(Act::EstablishFraud),
        1 => Just(Act::AnnulLastLoss),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<Customer>, Vec<Step>)> {
    prop::collection::vec(customer(), 1..=CUSTOMERS_MAX).prop_flat_map(|customers| {
        let n = customers.len();
        let steps = prop::collection::vec(
            (0..n, 1..=GAP_DAYS_MAX, act()).prop_map(|(customer, gap_days, act)| Step {
                customer,
                gap_days,
                act,
            }),
            0..=STEPS_MAX,
        );
        (Just(customers), steps)
    })
}

/// Where the commands go: the pure `handle` / `apply` loop, or a [`Ledger`] over a
/// `SledStore` (import clock), which folds what the store gives back.
enum Backend {
    Pure {
        world: Box<World>,
        ids: IdGen,
    },
    Ledger {
        ledger: Box<Ledger<SledStore>>,
        rt: tokio::runtime::Runtime,
        dir: std::path::PathBuf,
        clock: Arc<ManualClock>,
        /// Commands executed so far: names their idempotency keys and times the
        /// faults.
        executed: u64,
    },
}

/// Every this many commands, the store-backed driver delivers the command twice
/// (duplicate delivery: the idempotency key makes the second a no-op).
const DUPLICATE_EVERY: u64 = 3;
/// Every this many commands, the store-backed driver closes the store and opens
/// the ledger again (a crash between two commands: the refold must agree).
const REOPEN_EVERY: u64 = 11;

/// The driver of a generated scenario.
struct Driver {
    backend: Backend,
    policy: Policy,
    refusals: Vec<String>,
    /// Pure loop only: every debit the clock emits is checked against
    /// [`reference_compose_debit`] on the state it was decided on.
    check_debits: bool,
}

impl Driver {
    fn pure() -> Driver {
        Driver {
            backend: Backend::Pure {
                world: Box::new(World::new()),
                ids: IdGen::new(7),
            },
            policy: Policy::default(),
            refusals: Vec::new(),
            check_debits: false,
        }
    }

    /// The pure loop, checking each clock debit against the straightforward
    /// composition.
    fn pure_checking_debits() -> Driver {
        Driver {
            check_debits: true,
            ..Driver::pure()
        }
    }

    fn over_store(dir: std::path::PathBuf, clock: Arc<ManualClock>) -> Driver {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let store = SledStore::open(&dir, Limits::default(), clock.clone()).expect("open");
        let ledger = rt
            .block_on(Ledger::open(store, Policy::default(), 7))
            .expect("ledger opens");
        Driver {
            backend: Backend::Ledger {
                ledger: Box::new(ledger),
                rt,
                dir,
                clock,
                executed: 0,
            },
            policy: Policy::default(),
            refusals: Vec::new(),
            check_debits: false,
        }
    }

    fn world(&self) -> &World {
        match &self.backend {
            Backend::Pure { world, .. } => world,
            Backend::Ledger { ledger, .. } => ledger.world(),
        }
    }

    /// The world with every stream's history, for the invariants: the pure
    /// world keeps them; the ledger's holds states only, so its histories are
    /// the events its store holds.
    fn world_with_histories(&self) -> std::borrow::Cow<'_, World> {
        match &self.backend {
            Backend::Pure { world, .. } => std::borrow::Cow::Borrowed(world),
            Backend::Ledger { ledger, rt, .. } => {
                let mut w = ledger.world().clone();
                for e in stored_events(rt, ledger) {
                    w.history.entry(e.stream).or_default().push(e);
                }
                std::borrow::Cow::Owned(w)
            }
        }
    }

    fn record(&mut self, result: Result<(), CommandError>) {
        match result {
            Ok(()) => {}
            Err(CommandError::Refused(r)) => {
                assert!(!r.message.is_empty(), "a refusal says what to do: {r:?}");
                assert!(!r.article.is_empty(), "a refusal cites an article: {r:?}");
                self.refusals.push(r.rule.as_str().to_owned());
            }
            Err(CommandError::Invalid { field, message }) => {
                assert!(!field.is_empty() && !message.is_empty());
            }
        }
    }

    fn run(&mut self, c: &CommandEnvelope) {
        let result = match &mut self.backend {
            Backend::Pure { world, ids } => {
                let mut ctx = Context {
                    policy: &self.policy,
                    ids,
                };
                handle(world, c, &mut ctx).map(|decisions| {
                    for dec in decisions {
                        world.apply_new(dec.stream, &dec.events, c.request_at);
                    }
                })
            }
            Backend::Ledger {
                ledger,
                rt,
                dir,
                clock,
                executed,
            } => {
                *executed += 1;
                let mut keyed = c.clone();
                keyed.idempotency_key = Some(format!("cmd-{executed}"));
                let first = match rt.block_on(ledger.execute(&keyed, ClockMode::Import)) {
                    Ok(stored) => Ok(stored),
                    Err(LedgerError::Command(e)) => Err(e),
                    Err(e) => panic!("the store failed: {e}"),
                };
                if let (Ok(stored), true) = (&first, *executed % DUPLICATE_EVERY == 0) {
                    // Duplicate delivery: the same answer, nothing appended.
                    let before = ledger.world().position;
                    let again = rt
                        .block_on(ledger.execute(&keyed, ClockMode::Import))
                        .expect("a duplicate is answered");
                    assert_eq!(
                        ledger.world().position,
                        before,
                        "a duplicate appends nothing"
                    );
                    let positions = |v: &[Envelope]| {
                        let mut p: Vec<u64> = v.iter().map(|e| e.position).collect();
                        p.sort_unstable();
                        p
                    };
                    assert_eq!(
                        positions(&again),
                        positions(stored),
                        "the first answer again"
                    );
                }
                if *executed % REOPEN_EVERY == 0 {
                    reopen(ledger, rt, dir, clock);
                }
                first.map(|_| ())
            }
        };
        self.record(result);
    }

    fn must(&mut self, c: &CommandEnvelope) {
        let before = self.world().position;
        self.run(c);
        assert!(
            self.world().position > before,
            "setup command refused: {c:?}"
        );
    }

    fn advance(&mut self, through: NaiveDate) {
        // The clock runs at 06:00 on the day, but never at an instant earlier than
        // the last one recorded: commands of the same day may already be later, and
        // the ledger refuses an import that goes back in time (out of order).
        let morning = navigo_rules::calendar::paris_start_of_day(through) + Duration::hours(6);
        let at = self
            .world()
            .head_recorded_at
            .map_or(morning, |head| head.max(morning));
        match &mut self.backend {
            Backend::Pure { world, ids } => {
                let mut ctx = Context {
                    policy: &self.policy,
                    ids,
                };
                let decisions = navigo_rules::billing::advance_to(world, through, at, &mut ctx);
                for dec in decisions {
                    if self.check_debits {
                        check_clock_debit(world, &dec, self.policy.dossier_fee);
                    }
                    world.apply_new(dec.stream, &dec.events, at);
                }
            }
            Backend::Ledger { ledger, rt, .. } => {
                rt.block_on(ledger.advance_to(through, at, ClockMode::Import))
                    .expect("the clock's decisions are appended");
            }
        }
    }
}

/// The debit composition as it was before the billing clock remembered the owed
/// months of a contract (`PAY-CUTOFF` Decision: every earlier month of the
/// reconciliation window re-derived with `owed_month` at each debit), kept here
/// as the reference the clock's faster path must match exactly. The debit is
/// composed from the terms it was prepared with (`charges::prepared_terms`: the
/// terms before the first change registered past its cutoff), against what the
/// contract was billed and what the month costs now.
fn reference_compose_debit(
    world: &World,
    now: &ContractState,
    m: YearMonth,
    dossier_fee: Money,
) -> Option<(DebitPresented, Money)> {
    let c = prepared_terms(now, m).unwrap_or(now);
    let first = c.periods.first()?;
    let mut lines = Vec::new();
    let mut k = YearMonth::of(first.start).max(m.plus(-RECONCILE_MONTHS_MAX));
    while k < m {
        if matches!(c.payment_at(k), Some(PaymentSetup::DirectDebit { .. })) {
            let target = owed_month(world, c, k);
            let billed = now
                .money
                .months
                .get(&k)
                .map(|x| x.due)
                .unwrap_or(Money::ZERO);
            let want = target.as_ref().map(|t| t.amount).unwrap_or(Money::ZERO);
            let diff = want - billed;
            if let (false, Some(t)) = (diff.is_zero(), target) {
                let kind = if billed.is_zero() {
                    t.kind
                } else if c.billed_products.iter().any(|(from, _)| *from == k) {
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
        k = k.plus(1);
    }
    match owed_month(world, c, m) {
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
            let product = c.billed_product_at(m);
            if let Some((amount, tariff)) = world.catalogue.installment(product, c.debit_date(m)) {
                lines.push(ChargeLine {
                    kind: if matches!(product, Product::Senior) {
                        ChargeKind::SeniorInstallment
                    } else {
                        ChargeKind::FullInstallment
                    },
                    amount,
                    days: None,
                    month: m,
                    tariff: Some(tariff),
                });
            }
        }
    }
    // PAY-CUTOFF Decision: what the prepared lines take for each month (the
    // debit's own and every month reconciled) beyond what was billed for it
    // and what it costs now is not owed, and refunded.
    let mut months: Vec<YearMonth> = lines.iter().map(|l| l.month).collect();
    months.dedup();
    let not_owed: Money = months
        .iter()
        .map(|k| {
            let put: Money = lines
                .iter()
                .filter(|l| l.month == *k)
                .map(|l| l.amount)
                .sum();
            let billed_before = now.money.months.get(k).map_or(Money::ZERO, |x| x.due);
            let costs = owed_month(world, now, *k).map_or(Money::ZERO, |t| t.amount);
            (billed_before + put - costs).min(put).max(Money::ZERO)
        })
        .sum();
    let fee_paid = now
        .money
        .fees
        .get(&FeeKind::Dossier)
        .copied()
        .unwrap_or(Money::ZERO);
    if now.periods.len() == 1
        && now.debits.is_empty()
        && fee_paid.is_zero()
        && now.channel.is_remote()
    {
        lines.push(dossier_fee_line(dossier_fee, m));
    }
    let obligation: Money = lines
        .iter()
        .filter(|l| is_obligation(l.kind))
        .map(|l| l.amount)
        .sum();
    let credit = now.money.refundable_credit();
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
    let mandate = now.mandate_at(m)?;
    Some((
        DebitPresented {
            month: m,
            amount,
            due: obligation - not_owed,
            lines,
            mandate_reference: mandate.reference,
            payer: now.payer_at(m),
        },
        not_owed,
    ))
}

/// `PAY-CUTOFF`: a debit the clock decided is exactly the reference composition
/// on the state it was decided on (the world before the decision is applied),
/// with the month no longer owed refunded by the same decision.
fn check_clock_debit(world: &World, dec: &Decision, dossier_fee: Money) {
    let Some(debit) = dec.events.iter().find_map(|e| match &e.event {
        Event::DebitPresented(d) => Some(d),
        _ => None,
    }) else {
        return;
    };
    let c = world
        .contract(dec.stream.id)
        .expect("a debited contract exists");
    let (expected, not_owed) = reference_compose_debit(world, c, debit.month, dossier_fee)
        .expect("the reference composes the debit the clock emitted");
    assert_eq!(debit, &expected, "the clock's debit of {}", debit.month);
    let refunded = dec
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::RefundDue(r) if r.reason == RefundReason::DebitAfterCutoff => Some(r.amount),
            _ => None,
        })
        .unwrap_or(Money::ZERO);
    assert_eq!(refunded, not_owed, "the month not owed of {}", debit.month);
}

/// A crash between two commands: the store is closed, opened again, and the
/// ledger refolds the log; the state must be the one maintained incrementally.
fn reopen(
    ledger: &mut Box<Ledger<SledStore>>,
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    clock: &Arc<ManualClock>,
) {
    let before = ledger.world().clone();
    let placeholder = {
        // A second, empty ledger stands in while the first is closed.
        let tmp = dir.with_extension("swap");
        let _ = std::fs::remove_dir_all(&tmp);
        SledStore::init(&tmp).expect("init swap");
        let store = SledStore::open(&tmp, Limits::default(), clock.clone()).expect("open swap");
        Box::new(
            rt.block_on(Ledger::open(store, Policy::default(), 7))
                .expect("swap ledger"),
        )
    };
    let old = std::mem::replace(ledger, placeholder);
    rt.block_on(old.into_store().close()).expect("close");
    let store = SledStore::open(dir, Limits::default(), clock.clone()).expect("reopen");
    let reopened = Box::new(
        rt.block_on(Ledger::open(store, Policy::default(), 7))
            .expect("ledger reopens"),
    );
    assert_eq!(reopened.world().position, before.position);
    assert_eq!(
        reopened.world().contracts,
        before.contracts,
        "refold after a crash"
    );
    assert_eq!(
        reopened.world().persons,
        before.persons,
        "refold after a crash"
    );
    let swap = std::mem::replace(ledger, reopened);
    rt.block_on(swap.into_store().close()).expect("close swap");
    let _ = std::fs::remove_dir_all(dir.with_extension("swap"));
}

fn zones(i: usize) -> navigo_events_schema::types::Zones {
    ZONES[i % ZONES.len()].parse().expect("valid zones")
}

fn setup(drv: &mut Driver, customers: &[Customer]) {
    drv.must(&tariff_990());
    drv.must(&reason_codes());
    for (i, c) in customers.iter().enumerate() {
        let n = i as u128 + 1;
        let birth = if c.old { d(1950, 3, 3) } else { d(1980, 3, 3) };
        drv.must(&register(n, birth));
    }
}

fn subscribe_cmd(i: usize, c: &Customer) -> (NaiveDate, CommandEnvelope) {
    let n = i as u128 + 1;
    let start = d(2026, 6, 1) + Duration::days(c.start_offset);
    let product = if c.senior {
        Product::Senior
    } else {
        Product::Annual {
            zones: zones(c.zones),
        }
    };
    let payment = if c.cash {
        PaymentRequest::Cash
    } else {
        debit(DEBIT_DAYS[c.debit_day % DEBIT_DAYS.len()], n)
    };
    let cmd = cmd(
        start,
        Some(Channel::Agency),
        Command::Subscribe(Subscribe {
            contract_id: cid(n),
            holder: pid(n),
            payer: pid(n),
            product,
            start_date: start,
            payment,
            third_party_payer: false,
            senior_declaration: c
                .senior
                .then_some(navigo_events_schema::types::ActivityDeclaration::NoActivity),
            support: Support::Pass,
            first_payment_means: None,
        }),
    );
    (start, cmd)
}

/// The command of a step, or `None` when the act does not apply (nothing to settle,
/// no debit to reject...).
fn step_command(world: &World, date: NaiveDate, step: &Step) -> Vec<CommandEnvelope> {
    let n = step.customer as u128 + 1;
    let id = cid(n);
    let Some(c) = world.contract(id) else {
        return Vec::new();
    };
    let channel = |remote: bool| {
        Some(if remote {
            Channel::Online
        } else {
            Channel::Agency
        })
    };
    let one = |ch: Option<Channel>, command: Command| vec![cmd(date, ch, command)];
    match &step.act {
        Act::Suspend { remote, planned } => one(
            channel(*remote),
            Command::Suspend(Suspend {
                contract_id: id,
                effective_date: None,
                planned_resumption: planned.map(|p| date + Duration::days(p)),
            }),
        ),
        Act::Resume { remote } => one(
            channel(*remote),
            Command::Resume(Resume {
                contract_id: id,
                effective_date: None,
                payment: None,
            }),
        ),
        Act::ChangeZones { to, deferred } => one(
            channel(*deferred == 1),
            Command::ChangeZones(ChangeZones {
                contract_id: id,
                zones: zones(*to),
                effective_date: (*deferred > 0)
                    .then(|| YearMonth::of(date).plus(*deferred as i32).first_day()),
            }),
        ),
        Act::Loss => one(
            Some(Channel::Agency),
            Command::DeclareLoss(DeclareLoss {
                contract_id: id,
                kind: LossKind::Theft,
                support: c.support,
                replacement_support: None,
            }),
        ),
        Act::TerminateByPayer => one(
            Some(Channel::Agency),
            Command::TerminateByPayer(ContractRef { contract_id: id }),
        ),
        Act::Reject { code } => {
            let Some((month, rec)) = c.debits.iter().next_back() else {
                return Vec::new();
            };
            if rec.rejected {
                return Vec::new();
            }
            one(
                None,
                Command::RecordDebitRejected(RecordDebitRejected {
                    contract_id: id,
                    month: *month,
                    reason_code: REJECT_CODES[*code % REJECT_CODES.len()]
                        .parse()
                        .expect("valid code"),
                }),
            )
        }
        Act::Settle => {
            let debt = c.money.debt();
            if !debt.is_positive() {
                return Vec::new();
            }
            one(
                Some(Channel::Agency),
                Command::SettleDebt(SettleDebt {
                    contract_id: id,
                    amount: debt,
                    via: SettlementChannel::Agency,
                }),
            )
        }
        Act::ChangeDebitDay { day } => one(
            Some(Channel::Online),
            Command::ChangeDebitDay(ChangeDebitDay {
                contract_id: id,
                debit_day: DebitDay::new(DEBIT_DAYS[*day % DEBIT_DAYS.len()]).expect("valid"),
            }),
        ),
        Act::PayRefunds => c
            .refunds
            .iter()
            .filter(|(_, r)| !r.paid)
            .map(|(rid, _)| {
                cmd(
                    date,
                    None,
                    Command::PayRefund(PayRefund {
                        stream: StreamId::contract(id),
                        refund_event_id: *rid,
                        method: None,
                    }),
                )
            })
            .collect(),
        Act::TerminateByAgency { reason } => {
            let reason = [
                TerminationReason::PayerDeceased,
                TerminationReason::ServiceWithdrawn,
                TerminationReason::Unpaid,
            ][*reason % 3];
            one(
                Some(Channel::Agency),
                Command::TerminateByAgency(TerminateByAgency {
                    contract_id: id,
                    reason,
                    effective_date: None,
                }),
            )
        }
        Act::SwitchToCash => one(
            Some(Channel::Agency),
            Command::SwitchPaymentMethod(SwitchPaymentMethod {
                contract_id: id,
                to: PaymentRequest::Cash,
            }),
        ),
        Act::ChangePayer { to } => {
            let p = *to as u128 + 1;
            if world.person(pid(p)).is_none() {
                return Vec::new();
            }
            one(
                Some(Channel::Agency),
                Command::ChangePayer(ChangePayer {
                    contract_id: id,
                    payer: pid(p),
                    mandate: Some(navigo_testkit::mandate_named(format!("M-{n}-{p}"), 105)),
                }),
            )
        }
        Act::RevokeMandate => one(
            Some(Channel::Mail),
            Command::RevokeMandate(ContractRef { contract_id: id }),
        ),
        Act::SeniorRequest => one(
            Some(Channel::Online),
            Command::RequestSeniorSwitch(RequestSeniorSwitch {
                contract_id: id,
                declaration: ActivityDeclaration::NoActivity,
                age_proof_ref: "ID".into(),
            }),
        ),
        Act::SeniorValidate => one(
            None,
            Command::ValidateSeniorSwitch(ContractRef { contract_id: id }),
        ),
        Act::PublishTariff { cents } => {
            let from = YearMonth::of(date).plus(1).first_day();
            let prices = ["1-5", "2-3", "3-4", "4-5", "senior"]
                .iter()
                .filter_map(|k| {
                    let key: ProductKey = k.parse().ok()?;
                    let now = world.catalogue.annual_price(key, date)?;
                    Some(TariffPrice {
                        product: key,
                        annual: now.annual + Money::from_cents(*cents),
                        mark: Mark::Unverified,
                    })
                })
                .collect();
            vec![cmd(
                date,
                None,
                Command::PublishTariff(TariffPublished {
                    effective_from: from,
                    prices,
                    source: "property test".into(),
                }),
            )]
        }
        Act::PayCash => {
            let Some(tariff) = world.catalogue.annual_price(c.product.key(), date) else {
                return Vec::new();
            };
            let annual = tariff.annual;
            one(
                Some(Channel::Agency),
                Command::RecordCashPayment(RecordCashPayment {
                    contract_id: id,
                    amount: annual,
                    means: PaymentMeans::Card,
                }),
            )
        }
        Act::EstablishFraud => one(
            Some(Channel::Agency),
            Command::EstablishFraud(EstablishFraud {
                contract_id: id,
                kind: FraudKind::Usage,
                fraudster: c.holder,
                accomplices: Vec::new(),
            }),
        ),
        Act::AnnulLastLoss => {
            let stream = StreamId::contract(id);
            let last = world.history.get(&stream).and_then(|h| {
                h.iter()
                    .rev()
                    .find(|e| matches!(e.event, Event::LossDeclared(_) | Event::FeeCharged(_)))
            });
            match last {
                Some(e) => one(
                    None,
                    Command::AnnulEvent(AnnulEvent {
                        stream,
                        event_id: e.event_id,
                        reason: "declared by mistake".into(),
                    }),
                ),
                None => Vec::new(),
            }
        }
    }
}

/// Every event the ledger's store holds, in position order.
fn stored_events(rt: &tokio::runtime::Runtime, ledger: &Ledger<SledStore>) -> Vec<Envelope> {
    rt.block_on(navigo_ledger_core::load::read_everything(ledger.store()))
        .expect("read the log")
}

/// Runs a generated scenario, checking the invariants after every step.
fn run_scenario(drv: &mut Driver, customers: &[Customer], steps: &[Step]) {
    setup(drv, customers);
    let mut subs: Vec<(NaiveDate, CommandEnvelope)> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| subscribe_cmd(i, c))
        .collect();
    subs.sort_by_key(|(date, _)| *date);
    for (date, c) in &subs {
        drv.advance(*date);
        drv.must(c);
        check_invariants(&drv.world_with_histories());
    }
    let mut date = subs.first().map_or(d(2026, 6, 1), |(d0, _)| *d0);
    let last_start = subs.last().map_or(date, |(d1, _)| *d1);
    date = date.max(last_start);
    for step in steps {
        date += Duration::days(step.gap_days);
        drv.advance(date);
        check_invariants(&drv.world_with_histories());
        for c in step_command(drv.world(), date, step) {
            drv.run(&c);
            check_invariants(&drv.world_with_histories());
        }
    }
    drv.advance(date + Duration::days(TAIL_DAYS));
    check_invariants(&drv.world_with_histories());
    check_refusals_exist(&drv.refusals);
}

/// Independent fold of one contract stream: (due, collected, returned), per the
/// table of `state.rs`, skipping annulled events. Months are tracked to apply the
/// fold's one non-additive step: a suspension or termination leaves the months
/// no period covers any more not due (`release_months_not_in_force`).
fn money_from_events(events: &[Envelope]) -> (Money, Money, Money) {
    let annulled: Vec<uuid::Uuid> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::EventAnnulled(a) => Some(a.annulled_event_id),
            _ => None,
        })
        .collect();
    let (mut due, mut collected, mut returned) = (Money::ZERO, Money::ZERO, Money::ZERO);
    let mut months: BTreeMap<YearMonth, Money> = BTreeMap::new();
    // Periods in force: [start, end).
    let mut periods: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    let attribute = |lines: &[navigo_events_schema::event::ChargeLine],
                     months: &mut BTreeMap<YearMonth, Money>,
                     debit: Option<(YearMonth, Money)>|
     -> Money {
        let obligation: Money = lines
            .iter()
            .filter(|l| is_obligation(l.kind))
            .map(|l| l.amount)
            .sum();
        for l in lines.iter().filter(|l| is_obligation(l.kind)) {
            if l.kind != ChargeKind::DossierFee {
                *months.entry(l.month).or_default() += l.amount;
            }
        }
        match debit {
            Some((m, d)) if d < obligation => {
                *months.entry(m).or_default() -= obligation - d;
                d
            }
            _ => obligation,
        }
    };
    for e in events.iter().filter(|e| !annulled.contains(&e.event_id)) {
        let mut ended = false;
        match &e.event {
            Event::ContractSubscribed(_) => periods.push((e.effective_date, None)),
            Event::ContractResumed(r) => {
                periods.push((e.effective_date, None));
                // SUSP-RESUME §11.3: a cash contract pays a new 12-month period.
                due += r.cash_due.unwrap_or(Money::ZERO);
            }
            // ZONE-UP §7.6: on a cash contract the difference is due at once.
            Event::ZonesChanged(z) => due += z.cash_due.unwrap_or(Money::ZERO),
            Event::ContractSuspended(_) => {
                if let Some(p) = periods.last_mut() {
                    p.1 = Some(e.effective_date);
                }
                ended = true;
            }
            Event::ContractTerminated(_) => {
                if let Some(p) = periods.last_mut() {
                    if p.1.is_none_or(|x| x > e.effective_date) {
                        p.1 = Some(e.effective_date);
                    }
                }
                ended = true;
            }
            Event::FirstPaymentCollected(p) => {
                due += attribute(&p.lines, &mut months, None) + p.dossier_fee;
                collected += p.amount + p.dossier_fee;
            }
            Event::DebitPresented(p) => {
                due += attribute(&p.lines, &mut months, Some((p.month, p.due)));
                collected += p.amount;
            }
            Event::DebitRejected(r) => collected -= r.amount,
            Event::FeeCharged(f) => due += f.amount,
            Event::DebtSettled(s) => collected += s.amount,
            Event::CashPaymentReceived(c) => {
                due += c.due;
                collected += c.amount;
            }
            Event::PaymentMethodSwitched(s) => due += s.amount_due.unwrap_or(Money::ZERO),
            // PAY-CASH-REFUND: the unused part of a cash payment is no longer owed.
            Event::RefundDue(r) if r.reason == RefundReason::CashUnused => due -= r.amount,
            Event::RefundPaid(p) => returned += p.amount,
            Event::TreasuryNoticeSettled(n) => collected += n.amount,
            _ => {}
        }
        if ended {
            for (m, amount) in months.iter_mut() {
                let covered = periods.iter().any(|(s, e)| {
                    *s <= m.last_day() && e.is_none_or(|e| e > m.first_day() && e > *s)
                });
                if !covered && !amount.is_zero() {
                    due -= *amount;
                    *amount = Money::ZERO;
                }
            }
        }
    }
    (due, collected, returned)
}

fn check_contract(c: &ContractState, events: &[Envelope]) {
    // PAY-DUE-VS-COLLECTED, from the events alone.
    let (due, collected, returned) = money_from_events(events);
    assert_eq!(
        (c.money.due, c.money.collected, c.money.returned),
        (due, collected, returned),
        "contract {}: the state's money differs from the events'",
        c.id
    );
    assert_eq!(c.money.balance(), due - collected + returned);
    // Travel is paid for: the due net of fees is never negative, and positive once
    // the contract was in force for a day (the first month is never free;
    // `PAY-CASH-REFUND` charges the period used).
    let fees: Money = c.money.fees.values().copied().sum();
    let travel = c.money.due - fees;
    assert!(
        !travel.is_negative(),
        "contract {}: travel due {travel} is negative",
        c.id
    );
    let in_force_a_day = c.periods.iter().any(|p| p.end.is_none_or(|e| e > p.start));
    if in_force_a_day {
        assert!(
            travel.is_positive(),
            "contract {}: in force but owes nothing for travel ({:?})",
            c.id,
            c.money
        );
    }

    // No debit while suspended or terminated: each debit's month lies in a billing
    // window of a period, and no month without a day in force is due.
    for e in events {
        if let Event::DebitPresented(p) = &e.event {
            let m = p.month;
            let in_window = c
                .periods
                .iter()
                .any(|q| q.billing_from <= m && q.billing_stops_from.is_none_or(|s| m < s));
            assert!(
                in_window,
                "contract {}: debit for {m} outside every billing window {:?}",
                c.id, c.periods
            );
        }
    }
    for (m, mm) in &c.money.months {
        if mm.due.is_positive() {
            assert!(
                c.period_covering(*m).is_some(),
                "contract {}: {m} is due {} although in force on no day of it",
                c.id,
                mm.due
            );
        }
    }

    // PAY-FREE-MONTH / PAY-SENIOR: among the months wholly in force of a period,
    // paid by direct debit and already followed by a debit, at most one in any 12
    // consecutive months costs nothing, and none for Senior.
    let Some(last_debit) = c.debits.keys().next_back().copied() else {
        return;
    };
    for p in &c.periods {
        let mut free: Vec<YearMonth> = Vec::new();
        let mut m = YearMonth::of(p.start);
        while m < last_debit {
            let whole = p.start <= m.first_day() && p.end.is_none_or(|e| e > m.last_day());
            let debit = matches!(c.payment_at(m), Some(PaymentSetup::DirectDebit { .. }));
            let due = c.money.months.get(&m).map_or(Money::ZERO, |x| x.due);
            if whole && debit && m >= p.billing_from && due.is_zero() {
                free.push(m);
            }
            m = m.plus(1);
        }
        if c.product == Product::Senior && c.products.iter().all(|(_, p)| *p == Product::Senior) {
            assert!(
                free.is_empty(),
                "contract {}: Senior free months {free:?}",
                c.id
            );
        }
        for w in free.windows(2) {
            assert!(
                w[0].months_until(w[1]) >= 12,
                "contract {}: two free months within 12 months: {free:?}",
                c.id
            );
        }
    }
    // A free month is never billed as such in a debit's lines.
    for e in events {
        if let Event::DebitPresented(p) = &e.event {
            assert!(p
                .lines
                .iter()
                .all(|l| l.kind != ChargeKind::FreeMonth || l.amount.is_zero()));
        }
    }
}

fn check_invariants(world: &World) {
    // Sequences gapless: per stream 1..n, globally 1..N.
    let mut all: Vec<&Envelope> = world.history.values().flatten().collect();
    all.sort_by_key(|e| e.position);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "global positions are gapless");
    }
    for (stream, events) in &world.history {
        for (i, e) in events.iter().enumerate() {
            assert_eq!(
                e.stream_seq,
                i as u64 + 1,
                "{stream}: sequences are gapless"
            );
        }
        if stream.kind == StreamKind::Contract {
            if let Some(c) = world.contract(stream.id) {
                check_contract(c, events);
            }
        }
    }
    // Folding the stored events again gives the same state.
    let mut again = World::new();
    for e in &all {
        again.apply(e);
    }
    assert_eq!(
        again.contracts, world.contracts,
        "refolded contracts differ"
    );
    assert_eq!(again.persons, world.persons, "refolded persons differ");
    assert_eq!(
        again.catalogue, world.catalogue,
        "refolded catalogue differs"
    );
}

fn check_refusals_exist(refusals: &[String]) {
    let text = std::fs::read_to_string(RULES_MD).expect("RULES.md is readable");
    for r in refusals {
        assert!(
            text.contains(&format!("`{r}`")),
            "refusal rule {r} is not an id of RULES.md"
        );
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// `PAY-DUE-VS-COLLECTED`, `PAY-FREE-MONTH`, `PAY-SENIOR`, `SUSP-MONTH-DUE`:
    /// the invariants hold over random legal sequences (pure handle / apply loop).
    #[test]
    fn pay_due_vs_collected_invariants_hold_over_random_sequences_pure_loop(
        (customers, steps) in scenario()
    ) {
        let mut drv = Driver::pure();
        run_scenario(&mut drv, &customers, &steps);
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// `PAY-CUTOFF` Decision: every debit the billing clock emits over random
    /// legal sequences (suspensions and resumptions, zone changes, Senior
    /// switches, revoked mandates and new payers, new tariffs, rejections) is
    /// exactly the straightforward composition, which re-derives every month of
    /// the reconciliation window at each debit: the clock's memo of owed months
    /// changes no amount and no line.
    #[test]
    fn pay_cutoff_clock_debits_equal_the_straightforward_composition(
        (customers, steps) in scenario()
    ) {
        let mut drv = Driver::pure_checking_debits();
        run_scenario(&mut drv, &customers, &steps);
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// The same sequences through a `Ledger` over a `SledStore`, with faults: every
    /// third command is delivered twice (the idempotency key answers the first
    /// result and appends nothing), and every eleventh the store is closed and the
    /// ledger reopened (the refold equals the incremental state). At the end the
    /// log verifies, is gapless, and folds to the same state once more.
    #[test]
    fn pay_due_vs_collected_invariants_hold_through_the_sled_store(
        (customers, steps) in scenario()
    ) {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("rules-properties")
            .join(format!(
                "{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
        let _ = std::fs::remove_dir_all(&dir);
        SledStore::init(&dir).expect("init");
        let clock = Arc::new(ManualClock::new(at(d(2011, 1, 1))));
        let mut drv = Driver::over_store(dir.clone(), clock.clone());
        run_scenario(&mut drv, &customers, &steps);
        let Backend::Ledger { ledger, rt, .. } = drv.backend else {
            unreachable!("a store-backed driver");
        };
        let folded = ledger.world().clone();
        rt.block_on(ledger.into_store().close()).expect("close");
        // The log verifies (hash chain, gapless positions and sequences)...
        let report = verify_ledger(&dir).expect("verify");
        prop_assert!(report.is_ok(), "{:?}", report);
        prop_assert_eq!(report.records_checked, folded.position);
        // ...and a ledger reopened over it folds to the same state.
        let store = SledStore::open(&dir, Limits::default(), clock).expect("reopen");
        let reopened = rt
            .block_on(Ledger::open(store, Policy::default(), 7))
            .expect("ledger reopens");
        prop_assert_eq!(reopened.world().position, folded.position);
        prop_assert_eq!(&reopened.world().contracts, &folded.contracts);
        prop_assert_eq!(&reopened.world().persons, &folded.persons);
        let mut per_stream: BTreeMap<StreamId, u64> = BTreeMap::new();
        // The reopened world holds states only: the events are the store's.
        let stored = stored_events(&rt, &reopened);
        let all: Vec<&Envelope> = stored.iter().collect();
        prop_assert_eq!(all.len() as u64, folded.position);
        for (i, e) in all.iter().enumerate() {
            prop_assert_eq!(e.position, i as u64 + 1);
            let seq = per_stream.entry(e.stream).or_default();
            *seq += 1;
            prop_assert_eq!(e.stream_seq, *seq);
        }
        rt.block_on(reopened.into_store().close()).expect("close");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A fixed scenario through every act, so that the suite always exercises each
/// family whatever proptest generates.
#[test]
fn pay_free_month_at_most_one_per_cycle_in_a_fixed_two_year_scenario() {
    let customers = vec![
        Customer {
            start_offset: 41, // 2026-07-12: free month 2027-06
            zones: 0,
            debit_day: 0,
            senior: false,
            old: false,
            cash: false,
        },
        Customer {
            start_offset: 42, // 2026-07-13: free month 2027-07
            zones: 3,
            debit_day: 2,
            senior: false,
            old: false,
            cash: false,
        },
        Customer {
            start_offset: 10,
            zones: 0,
            debit_day: 1,
            senior: true,
            old: true,
            cash: false,
        },
    ];
    let steps = vec![
        Step {
            customer: 0,
            gap_days: 30,
            act: Act::ChangeZones { to: 3, deferred: 0 },
        },
        Step {
            customer: 1,
            gap_days: 20,
            act: Act::Reject { code: 0 },
        },
        Step {
            customer: 1,
            gap_days: 5,
            act: Act::Settle,
        },
        Step {
            customer: 0,
            gap_days: 40,
            act: Act::Suspend {
                remote: true,
                planned: None,
            },
        },
        Step {
            customer: 2,
            gap_days: 3,
            act: Act::Loss,
        },
        Step {
            customer: 0,
            gap_days: 45,
            act: Act::Resume { remote: false },
        },
        Step {
            customer: 0,
            gap_days: 10,
            act: Act::PayRefunds,
        },
        Step {
            customer: 1,
            gap_days: 300,
            act: Act::TerminateByPayer,
        },
    ];
    let mut drv = Driver::pure_checking_debits();
    run_scenario(&mut drv, &customers, &steps);
    // The invariants held at every step (run_scenario checks them), and every
    // clock debit was the reference composition; the scenario did reach the
    // states it is meant to cover.
    let c = drv.world().contract(cid(1)).expect("contract 1");
    assert!(c.periods.len() >= 2, "contract 1 was suspended and resumed");
    let c2 = drv.world().contract(cid(2)).expect("contract 2");
    assert!(c2.is_terminated(), "contract 2 was terminated by its payer");
}

/// Found by the property suite: a rejection whose unpaid grace ends on the next
/// debit date. The clock must not leave that month due when the termination
/// takes effect on its first day (`PAY-UNPAID-TERMINATION`, `SUSP-MONTH-DUE`
/// reading of `contract::timing`): the debit may be taken, but it is then not
/// owed and is refunded (`PAY-REFUND-30D`).
#[test]
fn pay_unpaid_termination_on_a_debit_date_leaves_that_month_not_due() {
    let customers = vec![Customer {
        start_offset: 60,
        zones: 0,
        debit_day: 0,
        senior: true,
        old: true,
        cash: false,
    }];
    // Subscribed 2026-07-31; the May 2027 debit (2027-05-01) is rejected on
    // 2027-05-02, so the 30 days of grace end on 2027-06-01, June's debit date.
    let steps = vec![Step {
        customer: 0,
        gap_days: 275,
        act: Act::Reject { code: 0 },
    }];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
    let c = drv.world().contract(cid(1)).expect("contract 1");
    assert_eq!(
        c.termination.as_ref().map(|t| t.0),
        Some(d(2027, 6, 1)),
        "terminated for unpaid debt when the grace ends"
    );
    let june = YearMonth::new(2027, 6).expect("month");
    assert_eq!(
        c.money.months.get(&june).map_or(Money::ZERO, |m| m.due),
        Money::ZERO,
        "June is not due: the contract is in force on no day of it"
    );
    // The June debit taken pays May's rejected debit: nothing is owed either way.
    assert!(c.money.balance().is_zero(), "balance {}", c.money.balance());
}

/// Found by the property suite: a switch to cash followed by a suspension must not
/// refund more than was paid for the unused months (`PAY-CASH-REFUND`,
/// `PAY-SWITCH-TO-CASH`): the travel due never goes negative.
#[test]
fn pay_cash_refund_after_a_switch_to_cash_never_refunds_more_than_was_due() {
    let customers = vec![Customer {
        start_offset: 34, // 2026-07-05, Annual 1-5 by direct debit on the 8th
        zones: 0,
        debit_day: 2,
        senior: false,
        old: false,
        cash: false,
    }];
    let steps = vec![
        Step {
            customer: 0,
            gap_days: 36, // 2026-08-10: switch to cash at the agency
            act: Act::SwitchToCash,
        },
        Step {
            customer: 0,
            gap_days: 22, // 2026-09-01: suspension online
            act: Act::Suspend {
                remote: true,
                planned: None,
            },
        },
        Step {
            customer: 0,
            gap_days: 30, // 2026-10-01: the last debit is rejected (MS03)
            act: Act::Reject { code: 1 },
        },
        Step {
            customer: 0,
            gap_days: 84, // 2026-12-24: terminated, payer deceased
            act: Act::TerminateByAgency { reason: 0 },
        },
    ];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
}

/// Found by the property suite: a cash contract suspended, resumed and suspended
/// again is refunded at most what it paid for the months it did not use
/// (`PAY-CASH-REFUND`, `SUSP-RESUME`): the travel due never goes negative.
#[test]
fn pay_cash_refund_over_two_suspensions_never_refunds_more_than_was_paid() {
    let customers = vec![Customer {
        start_offset: 0, // 2026-06-01, Annual 2-3 by direct debit on the 2nd
        zones: 1,
        debit_day: 1,
        senior: false,
        old: false,
        cash: false,
    }];
    let steps = vec![
        Step {
            customer: 0,
            gap_days: 1,
            act: Act::SwitchToCash,
        },
        Step {
            customer: 0,
            gap_days: 22,
            act: Act::Suspend {
                remote: false,
                planned: None,
            },
        },
        Step {
            customer: 0,
            gap_days: 1,
            act: Act::Settle,
        },
        Step {
            customer: 0,
            gap_days: 1,
            act: Act::Resume { remote: false },
        },
        Step {
            customer: 0,
            gap_days: 1,
            act: Act::Suspend {
                remote: false,
                planned: None,
            },
        },
    ];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
}

/// Found by the property suite: after a mandate revocation without a new method,
/// the months the contract stays in force are still owed (`PAY-PAYER-CHANGE`:
/// the agency may terminate, reason `mandate_revoked`; until then nothing is
/// silently dropped, `PAY-CUTOFF` Decision). A Senior contract never shows a month
/// in force that costs nothing (`PAY-SENIOR`).
#[test]
fn pay_payer_change_months_after_a_revoked_mandate_stay_due() {
    let customers = vec![Customer {
        start_offset: 21, // 2026-06-22, Senior by direct debit on the 12th
        zones: 0,
        debit_day: 3,
        senior: true,
        old: true,
        cash: false,
    }];
    let steps = vec![Step {
        customer: 0,
        gap_days: 40,
        act: Act::RevokeMandate,
    }];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
}

/// Found by the property suite: a cash contract (990.00 paid on 2026-07-26)
/// suspended on 2026-08-29 with a planned resumption on 2026-12-07, then
/// suspended again on 2027-04-04, must not be refunded the whole price it paid:
/// the months used are charged with the direct-debit method (`PAY-CASH-REFUND`,
/// §10.5), and a resumed cash contract renews its payment (§11.3).
#[test]
fn pay_cash_refund_two_suspensions_with_planned_resumption_charge_the_months_used() {
    let customers = vec![Customer {
        start_offset: 55,
        zones: 0,
        debit_day: 1,
        senior: false,
        old: false,
        cash: true,
    }];
    let steps = vec![
        Step {
            customer: 0,
            gap_days: 32,
            act: Act::Suspend {
                remote: true,
                planned: Some(102),
            },
        },
        Step {
            customer: 0,
            gap_days: 220,
            act: Act::Suspend {
                remote: false,
                planned: Some(82),
            },
        },
    ];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
}

/// Found by the random sequences: a contract suspended on 2026-09-20 with a
/// planned resumption on 2026-10-17, resumed by the clock that morning and
/// terminated by an agency the same day, was in force on no day of October
/// after the resumption. The November debit, prepared before the termination
/// (registered after its cutoff), still takes the resumption's 15 days of
/// October and November's installment; both are not owed under the terms in
/// force, so both are refunded and no month without a day in force stays due
/// (`PAY-CUTOFF` Decision: the difference is refunded, never dropped).
#[test]
fn pay_cutoff_termination_on_the_day_of_a_planned_resumption_refunds_every_month_the_prepared_debit_took(
) {
    let customers = vec![Customer {
        start_offset: 29,
        zones: 0,
        debit_day: 3,
        senior: false,
        old: false,
        cash: false,
    }];
    let steps = vec![
        Step {
            customer: 0,
            gap_days: 82,
            act: Act::Suspend {
                remote: false,
                planned: Some(27),
            },
        },
        Step {
            customer: 0,
            gap_days: 27,
            act: Act::TerminateByAgency { reason: 0 },
        },
    ];
    let mut drv = Driver::pure();
    run_scenario(&mut drv, &customers, &steps);
    let c = drv.world().contract(cid(1)).expect("the contract");
    let october = c.money.months.get(&YearMonth::new(2026, 10).unwrap());
    assert!(october.is_none_or(|mm| mm.due.is_zero()), "{october:?}");
    let refunded: Money = c.refunds.values().map(|r| r.amount).sum();
    assert_eq!(refunded, Money::from_cents(90_00 + 90_00 + 67_50));
}
