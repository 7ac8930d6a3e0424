//! The billing clock: `advance_to(date)` emits, in date order, every
//! system event due up to that date for every contract — monthly debits presented,
//! cash renewal notices and cash-period expiry suspensions, planned resumptions,
//! terminations after 12 months of suspension, unpaid-grace terminations, Trésor
//! Public notices two months after unpaid terminations, and refunds of credits on
//! suspended or terminated contracts.
//!
//! Each emitted [`Decision`] carries a deterministic idempotency key
//! (`clock:debit:<contract>:<YYYY-MM>@<stream version>`...). Every step is derived from the state:
//! after a crash, the world folded from the store already shows what was appended,
//! so the next advance resumes with the first step not yet stored, and advancing
//! twice to the same date emits nothing new. An event emitted on one date can make
//! another due later (rejection → grace → termination → notice): the clock works on
//! a scratch copy of the world, applying what it emits, in date order.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::event::{
    CashRenewalNoticeSent, ContractTerminated, DebitPresented, RefundDue, RefundReason,
    SuspensionCause, TerminationReason, TreasuryNoticeIssued,
};
use navigo_events_schema::types::{add_months, Actor, PaymentSetup, Product};
use navigo_events_schema::{Event, ExpectedVersion, Money, NewEvent, StreamId, YearMonth};
use uuid::Uuid;

use crate::catalogue::MonthCharge;
use crate::contract::charges::{
    self, cash_unused, compose_debit_with, is_debit_month, owed_month, prepared_terms,
    refund_method,
};
use crate::contract::state::{ContractState, Status};
use crate::contract::{timing, transitions};
use crate::decision::{Context, Decision};
use crate::policy::Policy;
use crate::rulebook;
use crate::world::World;

/// A bound on the events one advance emits; beyond it the clock stops and the
/// next advance goes on (each decision is durable on its own).
pub const CLOCK_DECISIONS_PER_ADVANCE_MAX: usize = 200_000;
/// A bound on the months scanned for one contract's next debit.
pub const DEBIT_MONTHS_SCANNED_MAX: i32 = 1_200;
/// Bytes reserved for a debit's idempotency key: `clock:debit:`, a hyphenated
/// contract id, `:YYYY-MM`, `@` and a stream version.
const DEBIT_KEY_BYTES: usize = 80;

/// Contracts whose owed months one clock run remembers (`OwedMonths`); when a
/// run steps more contracts than this, the memo is emptied and starts again (a
/// bound on its memory, not on what the clock decides).
pub const OWED_MEMO_CONTRACTS_MAX: usize = 256;
/// Months after a contract's first start that its memo keeps (100 years, as the
/// months a debit scan may reach, [`DEBIT_MONTHS_SCANNED_MAX`]).
pub const OWED_MEMO_MONTHS_MAX: usize = 1_200;

/// The fields of a contract that [`owed_month`] reads, besides the catalogue.
#[derive(Debug, Clone, PartialEq)]
struct OwedTerms {
    periods: Vec<crate::contract::state::Period>,
    billed_products: Vec<(YearMonth, Product)>,
    product: Product,
    debit_days: Vec<(YearMonth, navigo_events_schema::types::DebitDay)>,
}

impl OwedTerms {
    fn of(c: &ContractState) -> OwedTerms {
        OwedTerms {
            periods: c.periods.clone(),
            billed_products: c.billed_products.clone(),
            product: c.product,
            debit_days: c.debit_days.clone(),
        }
    }

    fn hold_for(&self, c: &ContractState) -> bool {
        self.product == c.product
            && self.periods == c.periods
            && self.billed_products == c.billed_products
            && self.debit_days == c.debit_days
    }
}

/// What [`owed_month`] returned for the months of one contract, while the terms
/// it reads (periods, billed products, debit days) stay the same. The clock's
/// forecast composes a debit for each month ahead, and each composition compares
/// every earlier month of the reconciliation window (`PAY-CUTOFF` Decision,
/// [`RECONCILE_MONTHS_MAX`]) with what the rules say it costs: without the memo
/// each month was re-derived at every step. A debit changes the contract's money
/// but none of these terms, so the memo holds across debits; a suspension,
/// resumption, termination or zone change changes them and empties it. The
/// catalogue is not part of the key: the memo lives within one clock run, which
/// emits contract events only, so the catalogue cannot change under it.
#[derive(Debug, Default)]
struct OwedMonths {
    terms: Option<OwedTerms>,
    /// The month of index 0 of `months`: the first period's start month, before
    /// which nothing is owed or reconciled.
    base: Option<YearMonth>,
    /// By month from `base`: `None` while not computed yet.
    months: Vec<Option<Option<MonthCharge>>>,
}

impl OwedMonths {
    /// Empties the memo unless it was filled under the terms `c` has now.
    fn sync(&mut self, c: &ContractState) {
        if !self.terms.as_ref().is_some_and(|t| t.hold_for(c)) {
            self.terms = Some(OwedTerms::of(c));
            self.base = c.periods.first().map(|p| YearMonth::of(p.start));
            self.months.clear();
        }
    }

    /// [`owed_month`], computed once per month (after [`OwedMonths::sync`]). A
    /// month outside the memo's span (before the first period, or
    /// [`OWED_MEMO_MONTHS_MAX`] months or more after its start) is computed each
    /// time.
    fn get(&mut self, world: &World, c: &ContractState, m: YearMonth) -> Option<MonthCharge> {
        let slot = self
            .base
            .map(|b| b.months_until(m))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < OWED_MEMO_MONTHS_MAX);
        let Some(i) = slot else {
            return owed_month(world, c, m);
        };
        if self.months.len() <= i {
            self.months.resize(i + 1, None);
        }
        self.months[i]
            .get_or_insert_with(|| owed_month(world, c, m))
            .clone()
    }
}

/// The memos of the contracts one clock run steps, bounded by
/// [`OWED_MEMO_CONTRACTS_MAX`].
#[derive(Debug, Default)]
struct OwedMemo {
    contracts: BTreeMap<Uuid, OwedMonths>,
}

impl OwedMemo {
    /// The memo of contract `c`, in step with its terms.
    fn of(&mut self, c: &ContractState) -> &mut OwedMonths {
        if !self.contracts.contains_key(&c.id) && self.contracts.len() >= OWED_MEMO_CONTRACTS_MAX {
            self.contracts.clear();
        }
        let memo = self.contracts.entry(c.id).or_default();
        memo.sync(c);
        memo
    }
}

/// The period whose billing window holds month `m` (from its `billing_from` to
/// its `billing_stops_from`, excluded), latest first.
fn billing_period(c: &ContractState, m: YearMonth) -> Option<&crate::contract::state::Period> {
    c.periods
        .iter()
        .rev()
        .find(|p| p.billing_from <= m && p.billing_stops_from.is_none_or(|s| m < s))
}

/// The next month to debit for a contract, with its debit date, if on or before
/// `through`, and its composition (so that deciding the step does not compose it
/// a second time: the contract's state does not change in between, since a step
/// of another contract never touches it).
///
/// The months debited are those of the periods' billing windows, as the events
/// recorded them (`PAY-CUTOFF`: a suspension or termination past the cutoff
/// leaves the prepared month in its window, a resumption past it starts its
/// window a month later), from the month after the last one debited: a month of
/// an earlier period whose debit was prepared before a suspension and a
/// resumption both registered past the cutoff is still debited on its date. Each
/// is composed as prepared ([`compose_debit`]); a month the prepared terms leave
/// free or unpaid by direct debit has no debit of its own.
fn next_debit(
    world: &World,
    c: &ContractState,
    through: NaiveDate,
    fee: Money,
    memo: &mut OwedMemo,
) -> Option<(YearMonth, Box<(DebitPresented, Money)>)> {
    let mut m = c.periods.first()?.billing_from;
    if let Some((&last, _)) = c.debits.iter().next_back() {
        if last >= m {
            m = last.plus(1);
        }
    }
    for _ in 0..DEBIT_MONTHS_SCANNED_MAX {
        let past_every_window = c
            .periods
            .iter()
            .all(|p| p.billing_stops_from.is_some_and(|s| m >= s));
        if past_every_window || c.debit_date(m) > through {
            return None;
        }
        let Some(window) = billing_period(c, m) else {
            // Between two periods' windows (suspended): nothing to debit.
            m = m.plus(1);
            continue;
        };
        // PAY-PAYER-CHANGE (§4.14.10): nothing is presented on a revoked mandate; the
        // months whose debit date falls without a mandate stay owed and are
        // collected with the first debit after a new mandate or payer is recorded.
        let dd = c.debit_date(m);
        let revoked = c
            .revoked_spans
            .iter()
            .any(|(from, to)| dd >= *from && to.is_none_or(|t| dd < t));
        let terms = prepared_terms(c, m).unwrap_or(c);
        let debited = !revoked
            && !c.debits.contains_key(&m)
            && is_debit_month(c, m)
            && is_debit_month(terms, m);
        let free = matches!(terms.billed_product_at(m), Product::Annual { .. })
            && billing_period(terms, m).unwrap_or(window).is_free_month(m);
        if debited && !free {
            let owed = memo.of(c);
            if let Some(composed) = compose_debit_with(world, c, m, fee, |k| owed.get(world, c, k))
            {
                return Some((m, Box::new(composed)));
            }
        }
        m = m.plus(1);
    }
    None
}

/// One step the clock may take for a contract.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Debit(YearMonth, Box<(DebitPresented, Money)>),
    RenewalNotice { period_end: NaiveDate },
    CashExpiry { end: NaiveDate },
    PlannedResumption,
    Suspension12Months,
    CashRefund { amount: Money },
    Unpaid,
    TreasuryNotice,
    RefundCredit,
}

impl Step {
    /// Same-day order: money first, then status changes, then notices.
    fn rank(&self) -> u8 {
        match self {
            Step::Debit(..) => 0,
            Step::PlannedResumption => 1,
            Step::RenewalNotice { .. } => 2,
            Step::CashExpiry { .. } => 3,
            Step::Unpaid => 4,
            Step::Suspension12Months => 6,
            Step::CashRefund { .. } => 7,
            Step::TreasuryNotice => 7,
            Step::RefundCredit => 8,
        }
    }
}

/// The earliest step due for a contract on or before `through`.
fn next_step(
    world: &World,
    c: &ContractState,
    through: NaiveDate,
    policy: &Policy,
    memo: &mut OwedMemo,
) -> Option<(NaiveDate, Step)> {
    let mut best: Option<(NaiveDate, Step)> = None;
    let mut offer = |date: NaiveDate, step: Step| {
        if date <= through
            && best
                .as_ref()
                .as_ref()
                .is_none_or(|(d, s)| (date, step.rank()) < (*d, s.rank()))
        {
            best = Some((date, step));
        }
    };
    let status = c.current_status();
    let status_from = c.statuses.last().map(|s| s.from).unwrap_or(c.start_date);
    if let Some((m, composed)) = next_debit(world, c, through, policy.dossier_fee, memo) {
        offer(c.debit_date(m), Step::Debit(m, composed));
    }
    match status {
        Status::Active => {
            // PAY-CASH: renewal notice 45 days before the end, suspension on the end
            // date when not renewed.
            // PAY-CASH, SUSP-RESUME (§11.3): a period that ended before the
            // contract's current activity began (it was suspended at its end and
            // resumed since) is neither noticed nor suspended again.
            let period = match (c.payment(), c.cash_paid_until) {
                (Some(PaymentSetup::Cash), Some(until)) if until >= status_from => Some(until),
                _ => None,
            };
            if let Some(until) = period {
                let end = until + Duration::days(1);
                if !c.renewal_notices.contains(&until) {
                    offer(
                        end - Duration::days(i64::from(policy.cash_notice_days_before)),
                        Step::RenewalNotice { period_end: until },
                    );
                }
                offer(end, Step::CashExpiry { end });
            }
            // PAY-UNPAID-TERMINATION: debt still unsettled `unpaid_grace_days` after
            // the rejection.
            if let Some(since) = c.unpaid_since {
                if c.money.debt().is_positive() {
                    offer(
                        since + Duration::days(i64::from(policy.unpaid_grace_days)),
                        Step::Unpaid,
                    );
                }
            }
        }
        Status::Suspended { .. } => {
            if let Some(p) = c.planned_resumption {
                offer(p.max(status_from), Step::PlannedResumption);
            }
            offer(
                timing::suspension_limit(status_from),
                Step::Suspension12Months,
            );
        }
        Status::Terminated { reason } => {
            // BAN-TREASURY-2Y (§4.12): a notice 2 months after an unpaid termination
            // when the debt is still unsettled.
            if matches!(reason, TerminationReason::Unpaid)
                && c.treasury_notices.is_empty()
                && c.money.debt().is_positive()
            {
                offer(
                    add_months(status_from, policy.treasury_notice_after_months),
                    Step::TreasuryNotice,
                );
            }
        }
    }
    if let Some(amount) = cash_unused(world, c) {
        offer(status_from, Step::CashRefund { amount });
    }
    // PAY-DUE-VS-COLLECTED: a credit on a suspended or terminated contract is
    // refunded, once what is still to be debited has been taken.
    if !matches!(status, Status::Active) && c.money.refundable_credit().is_positive() {
        offer(status_from.max(c.last_event_date), Step::RefundCredit);
    }
    best
}

/// A contract's wake date: the date of the earliest step the clock would take
/// for it with no upper bound (`None`: no step at all, whatever the date).
///
/// Decision: it is never later than the date of a step [`advance_among`]
/// decides for the contract through any date, so that an advance may leave out
/// every contract whose wake date is after its bound. [`next_step`] under a
/// bound offers the same candidate steps as without one, less those dated after
/// the bound: each candidate's date is read from the contract alone, and
/// [`next_debit`] scans the months in order from the same first month and
/// stops at the first debit it can compose or at the bound (a debit date grows
/// with its month), so under a bound it finds the unbounded debit when that one
/// is within the bound and none otherwise. The earliest candidate overall, when
/// within the bound, is therefore the earliest under it, and beyond the bound
/// there is none: the bounded step is the unbounded one or nothing. A step that
/// cannot be decided yet (no price, no payment method) keeps its date, so the
/// contract stays due and waits at every advance as it would in a walk of
/// every contract. Only the contract, the catalogue and the policy are read:
/// the date changes with the contract's events and the catalogue's.
pub fn wake_date(world: &World, c: &ContractState, policy: &Policy) -> Option<NaiveDate> {
    let mut memo = OwedMemo::default();
    next_step(world, c, NaiveDate::MAX, policy, &mut memo).map(|(date, _)| date)
}

/// Computes the wake date of every contract whose date the world forgot since
/// the last refresh ([`crate::world::WakeIndex`]).
pub fn refresh_wakes(world: &mut World, policy: &Policy) {
    let stale = world.wakes.take_stale();
    refresh_wakes_of(world, stale, policy);
}

/// Computes the wake date of the contracts `ids` that the world holds, or
/// knows to hold no state; the others stay unknown (due) until paged in.
pub fn refresh_wakes_of(world: &mut World, ids: impl IntoIterator<Item = Uuid>, policy: &Policy) {
    let computed: Vec<(Uuid, Option<NaiveDate>)> = ids
        .into_iter()
        .filter_map(|id| match world.contracts.get(&id) {
            Some(c) => Some((id, wake_date(world, c, policy))),
            None => world
                .residency
                .stateless
                .contains(&StreamId::contract(id))
                .then_some((id, None)),
        })
        .collect();
    for (id, wake) in computed {
        world.wakes.set(id, wake);
    }
}

fn clock_event(id: Uuid, correlation: Uuid, date: NaiveDate, event: Event) -> NewEvent {
    NewEvent {
        event_id: id,
        effective_date: date,
        actor: Actor::billing_clock(),
        channel: None,
        correlation_id: correlation,
        causation_id: None,
        event,
    }
}

/// The stamp of the events of one step: the clock's actor, the step's date as
/// their effective date, one correlation id for the step and an event id each,
/// drawn in order from the context's generator.
struct ClockStamp {
    correlation: Uuid,
    date: NaiveDate,
    at: DateTime<Utc>,
}

impl ClockStamp {
    fn event(&self, ctx: &mut Context<'_>, event: Event) -> NewEvent {
        clock_event(ctx.ids.next(self.at), self.correlation, self.date, event)
    }
}

/// `PAY-REFUND-30D` / `PAY-REFUND-METHOD`: a refund of `amount` to
/// `beneficiary`, due within the policy's delay after `date`, by the method the
/// contract's payments call for.
fn refund_due(
    c: &ContractState,
    amount: Money,
    reason: RefundReason,
    beneficiary: Uuid,
    date: NaiveDate,
    ctx: &Context<'_>,
) -> Event {
    let refund_days = Duration::days(i64::from(ctx.policy.refund_within_days));
    Event::RefundDue(RefundDue {
        amount,
        reason,
        due_by: date + refund_days,
        method: refund_method(c, amount, date),
        beneficiary,
    })
}

/// The decision of one step: its events, under an idempotency key naming the
/// step and the stream version it was decided at. `None` when the step cannot be
/// decided yet (no price, no payment method).
fn decide(
    world: &World,
    c: &ContractState,
    date: NaiveDate,
    step: &Step,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
) -> Option<Decision> {
    let stamp = ClockStamp {
        correlation: ctx.ids.next(at),
        date,
        at,
    };
    let (mut key, events) = match step {
        Step::Debit(m, composed) => debit_events(c, *m, composed, &stamp, ctx),
        Step::RenewalNotice { period_end } => {
            let start = *period_end + Duration::days(1);
            let amount = world.catalogue.annual_price(c.product.key(), start)?.annual;
            let notice = CashRenewalNoticeSent {
                period_end: *period_end,
                amount,
            };
            (
                format!("clock:renewal-notice:{}:{period_end}", c.id),
                vec![stamp.event(ctx, Event::CashRenewalNoticeSent(notice))],
            )
        }
        Step::CashExpiry { end } => {
            let suspended = transitions::suspended(
                SuspensionCause::CashPeriodEnded,
                None,
                *end,
                YearMonth::of(*end),
            );
            (
                format!("clock:cash-expiry:{}:{end}", c.id),
                vec![stamp.event(ctx, Event::ContractSuspended(suspended))],
            )
        }
        Step::PlannedResumption => resumption_events(world, c, &stamp, ctx)?,
        Step::CashRefund { amount } => {
            let refund = refund_due(c, *amount, RefundReason::CashUnused, c.payer, date, ctx);
            (
                format!("clock:cash-refund:{}:{date}", c.id),
                vec![stamp.event(ctx, refund)],
            )
        }
        Step::Suspension12Months | Step::Unpaid => termination_events(c, step, &stamp, ctx),
        Step::TreasuryNotice => {
            let notice = TreasuryNoticeIssued {
                payer: c.payer,
                amount: c.money.debt(),
                notice_ref: format!("ASP-{}-{date}", c.id.simple()),
            };
            (
                format!("clock:treasury-notice:{}:{date}", c.id),
                vec![stamp.event(ctx, Event::TreasuryNoticeIssued(notice))],
            )
        }
        Step::RefundCredit => credit_refund_events(c, &stamp, ctx),
    };
    let stream = StreamId::contract(c.id);
    let version = world.version(stream);
    // The key names the step and the stream version it was decided at: a retry of
    // the same append is recognised, while a step that comes back after a
    // correction (an annulled debit debited again) gets a key of its own.
    // Appended in place: writing to a String cannot fail.
    let _ = write!(key, "@{version}");
    let mut decision = Decision::new(stream, ExpectedVersion::Exact(version), events);
    decision.idempotency_key = Some(key);
    Some(decision)
}

/// The debit of month `m`, and the refund of what it takes but is no longer
/// owed.
fn debit_events(
    c: &ContractState,
    m: YearMonth,
    composed: &(DebitPresented, Money),
    stamp: &ClockStamp,
    ctx: &mut Context<'_>,
) -> (String, Vec<NewEvent>) {
    let (debit, not_owed) = composed.clone();
    let payer = debit.payer;
    let mut events = vec![stamp.event(ctx, Event::DebitPresented(debit))];
    if not_owed.is_positive() {
        // PAY-CUTOFF Decision / PAY-REFUND-30D: the prepared debit is taken
        // and the month no longer owed is refunded within 30 days.
        let refund = refund_due(
            c,
            not_owed,
            RefundReason::DebitAfterCutoff,
            payer,
            stamp.date,
            ctx,
        );
        events.push(stamp.event(ctx, refund));
    }
    // The debit key is built in one buffer sized for it (a forecast
    // decides one per month ahead).
    let mut key = String::with_capacity(DEBIT_KEY_BYTES);
    let _ = write!(key, "clock:debit:{}:{m}", c.id);
    (key, events)
}

/// SUSP-RESUME: a resumption date given with the suspension request was
/// registered with it (PAY-CUTOFF judged on that date); the cycle restarts
/// under the rulebook in force on the resumption date. `None` while the
/// contract has no payment method, or (a cash contract) no price on the date.
fn resumption_events(
    world: &World,
    c: &ContractState,
    stamp: &ClockStamp,
    ctx: &mut Context<'_>,
) -> Option<(String, Vec<NewEvent>)> {
    let date = stamp.date;
    let payment = c.payment()?.clone();
    let registered = c.suspension_registered_on.unwrap_or(date);
    // SUSP-RESUME, §11.3: a cash contract pays a new 12-month period at the
    // resumption; without a price on that date the step waits.
    let cash_due = charges::cash_due_at_resumption(world, c, date, &payment)?;
    let mut resumed =
        transitions::resumed(c, rulebook::in_force(registered), registered, date, payment);
    resumed.cash_due = cash_due;
    Some((
        format!("clock:resume:{}:{date}", c.id),
        vec![stamp.event(ctx, Event::ContractResumed(resumed))],
    ))
}

/// `SUSP-MAX-12M` or `PAY-UNPAID-TERMINATION`: the clock terminates the
/// contract.
fn termination_events(
    c: &ContractState,
    step: &Step,
    stamp: &ClockStamp,
    ctx: &mut Context<'_>,
) -> (String, Vec<NewEvent>) {
    let date = stamp.date;
    let reason = if *step == Step::Unpaid {
        TerminationReason::Unpaid
    } else {
        TerminationReason::SuspensionOver12Months
    };
    let stops = c
        .periods
        .last()
        .and_then(|p| p.billing_stops_from)
        .unwrap_or(YearMonth::of(date).plus(1));
    let terminated = ContractTerminated {
        reason,
        rulebook: rulebook::in_force(date).id.to_owned(),
        billing_stops_from: stops,
    };
    (
        format!("clock:terminate:{}:{date}", c.id),
        vec![stamp.event(ctx, Event::ContractTerminated(terminated))],
    )
}

/// PAY-DUE-VS-COLLECTED: the credit of a suspended or terminated contract
/// refunded, as a withdrawal of service when the service was withdrawn.
fn credit_refund_events(
    c: &ContractState,
    stamp: &ClockStamp,
    ctx: &mut Context<'_>,
) -> (String, Vec<NewEvent>) {
    let date = stamp.date;
    let amount = c.money.refundable_credit();
    let reason = match c.current_status() {
        Status::Terminated {
            reason: TerminationReason::ServiceWithdrawn,
        } => RefundReason::ServiceWithdrawn,
        _ => RefundReason::Credit,
    };
    let refund = refund_due(c, amount, reason, c.payer, date, ctx);
    (
        format!("clock:refund:{}:{date}:{}", c.id, c.refunds.len()),
        vec![stamp.event(ctx, refund)],
    )
}

/// Every system event due up to `through` (inclusive), in date order, recorded at
/// `at`. Pure: the caller appends each decision in order.
pub fn advance_to(
    world: &World,
    through: NaiveDate,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
) -> Vec<Decision> {
    forecast(world, through, at, ctx).0
}

/// [`advance_to`] over the contracts `ids` only (those resident in `world`),
/// deciding at most `decisions_max` steps: what the ledger runs on each chunk of
/// its contracts in turn, so that the clock never needs every contract in
/// memory at once. One contract's steps depend on that contract and the
/// catalogue only, so the decisions for a contract are those of
/// [`advance_to`] over the whole world.
pub fn advance_among(
    world: &World,
    ids: &[Uuid],
    through: NaiveDate,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
    decisions_max: usize,
) -> Vec<Decision> {
    let seeds = ids.iter().filter_map(|id| world.contracts.get(id));
    forecast_of(world, seeds, through, at, ctx, decisions_max).0
}

/// [`advance_to`], also returning the scratch world with the decisions applied:
/// what the ledger would look like after appending them (without the per-stream
/// history). The projections read their forecast of future months from it, so
/// that scheduled debits are composed by the clock itself, never re-derived.
pub fn forecast(
    world: &World,
    through: NaiveDate,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
) -> (Vec<Decision>, World) {
    forecast_of(
        world,
        world.contracts.values(),
        through,
        at,
        ctx,
        CLOCK_DECISIONS_PER_ADVANCE_MAX,
    )
}

/// [`forecast`] of one contract of `world`: the decisions the clock would take
/// for it alone. One contract's steps depend on that contract and the catalogue
/// only, so they are those of [`forecast`] over the whole world, without the
/// cost of every other contract's look-ahead (a debit calendar reads one
/// contract from whatever slice of the log it was given).
pub fn forecast_contract(
    world: &World,
    contract: Uuid,
    through: NaiveDate,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
) -> (Vec<Decision>, World) {
    forecast_of(
        world,
        world.contract(contract).into_iter(),
        through,
        at,
        ctx,
        CLOCK_DECISIONS_PER_ADVANCE_MAX,
    )
}

/// The look-ahead of [`forecast`] from the contracts `seeds`.
fn forecast_of<'w>(
    world: &'w World,
    seeds: impl Iterator<Item = &'w ContractState>,
    through: NaiveDate,
    at: DateTime<Utc>,
    ctx: &mut Context<'_>,
    decisions_max: usize,
) -> (Vec<Decision>, World) {
    use std::collections::BTreeSet;
    // The look-ahead world holds only what the clock reads (the catalogue) and the
    // contracts it decides for, each copied on its first decision with its
    // stream's version: copying every contract and person on each run was most of
    // the clock's time on a large ledger (measured by the demo). The
    // clock reads nothing else of the world (one contract's steps depend on that
    // contract and the catalogue only).
    let mut scratch = World {
        catalogue: world.catalogue.clone(),
        position: world.position,
        head_hash: world.head_hash,
        head_recorded_at: world.head_recorded_at,
        ..World::default()
    };
    let mut out = Vec::new();
    // The next step of each contract, ordered by (date, rank, contract): a step of
    // one contract changes only that contract's next step, so only it is
    // recomputed after each decision.
    let mut queue: BTreeSet<(NaiveDate, u8, Uuid)> = BTreeSet::new();
    let mut steps: std::collections::BTreeMap<Uuid, (NaiveDate, u8, Step)> = Default::default();
    let mut memo = OwedMemo::default();
    // The contracts the run changed, whose invariants are checked once at its end
    // (the look-ahead is one fold; the ledger checks again as it appends).
    let mut changed_contracts = BTreeSet::new();
    for c in seeds {
        if let Some((d, s)) = next_step(world, c, through, ctx.policy, &mut memo) {
            queue.insert((d, s.rank(), c.id));
            steps.insert(c.id, (d, s.rank(), s));
        }
    }
    while out.len() < decisions_max.min(CLOCK_DECISIONS_PER_ADVANCE_MAX) {
        let Some((date, _, id)) = queue.pop_first() else {
            break;
        };
        let Some((_, _, step)) = steps.remove(&id) else {
            continue;
        };
        if !scratch.contracts.contains_key(&id) {
            let Some(c) = world.contracts.get(&id) else {
                continue;
            };
            let stream = StreamId::contract(id);
            scratch.versions.insert(stream, world.version(stream));
            scratch.contracts.insert(id, c.clone());
        }
        let Some(c) = scratch.contracts.get(&id) else {
            continue;
        };
        let Some(mut decision) = decide(&scratch, c, date, &step, at, ctx) else {
            // A step that cannot be decided (no price, no mandate) would come back
            // forever: this contract waits for the data it lacks; the others go on.
            continue;
        };
        let (changed, events) =
            scratch.record_new_states(decision.stream, std::mem::take(&mut decision.events), at);
        decision.events = events;
        if let Some(changed) = changed {
            changed_contracts.insert(changed);
        }
        out.push(decision);
        if let Some(c) = scratch.contracts.get(&id) {
            if let Some((d, s)) = next_step(&scratch, c, through, ctx.policy, &mut memo) {
                queue.insert((d, s.rank(), id));
                steps.insert(id, (d, s.rank(), s));
            }
        }
    }
    for id in changed_contracts {
        scratch.assert_contract(id);
    }
    (out, scratch)
}
