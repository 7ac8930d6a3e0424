//! The state of one contract, folded from its stream. [`ContractState::apply`]
//! cannot fail and holds no rule: the rules are in the command modules and in
//! `billing`, which read this state.
//!
//! # What is "due" for each event (`PAY-DUE-VS-COLLECTED`)
//!
//! Balance = due − collected + returned; positive is a debt, negative a credit.
//!
//! | event | due | collected | returned |
//! |---|---|---|---|
//! | `FirstPaymentCollected` | amount (month(s) covered) + dossier fee | amount + fee | |
//! | `DebitPresented` | its `due` field (see below) | amount | |
//! | `DebitRejected` | | − amount | |
//! | `FeeCharged` | amount (by kind) | | |
//! | `LossDeclared` | (its fee arrives as `FeeCharged`) | | |
//! | `DebtSettled` | | amount | |
//! | `CashPaymentReceived` | its `due` field | amount | |
//! | `PaymentMethodSwitched` | `amount_due` (switch to cash) | | |
//! | `ZonesChanged` | `cash_due` (cash contract, `ZONE-UP`) | | |
//! | `ContractResumed` | `cash_due` (cash contract, new 12-month period, §11.3) | | |
//! | `RefundPaid` | | | amount |
//! | `TreasuryNoticeSettled` | | amount | |
//!
//! A `DebitPresented` attributes its due lines to the months they name; when its
//! `due` is below the sum of its obligation lines, the shortfall is the debit's own
//! month, which was taken although no longer owed (`PAY-CUTOFF` Decision) and
//! is refunded by a `RefundDue` of the same decision. `RefundDue` changes no balance:
//! it is a pending refund until `RefundPaid`; the billing clock subtracts pending
//! refunds before refunding a credit again. Fees are kept apart from the monthly
//! travel amounts so that the clock can compare what each month cost with what the
//! rules say it costs.
//!
//! A zone change on a cash contract (`ZONE-UP`, `ZONE-DOWN`, §7.6, §7.7) is billed
//! with the direct-debit method over the paid cash period: a dearer product makes
//! the difference of the remaining months due at once, in the `ZonesChanged` event
//! itself (`cash_due`, not attributed to a month, like every cash amount; the payer
//! pays it as a debt, `RecordCashPayment` or `SettleDebt`); a cheaper one credits
//! the difference from the month after and refunds it by a `RefundDue` with reason
//! `cash_unused` in the same decision, which lowers the due like every cash refund.
//! The ZONE-UP amounts of the current cash period are kept apart
//! ([`ContractState::cash_period_zone_due`]) so that a later `PAY-CASH-REFUND`
//! counts them as paid for the period.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::{
    ChargeKind, ChargeLine, ContractResumed, FeeKind, FirstPaymentCollected, LossKind,
    PaymentMeans, PaymentMethodSwitched, RefundMethod, RefundReason, SuspensionCause,
    TerminationReason,
};
use navigo_events_schema::types::{
    ActivityDeclaration, ActorRole, Channel, DebitDay, Mandate, PaymentSetup, Product, ReasonCode,
    Support, Zones,
};
use navigo_events_schema::{Envelope, Event, Money, YearMonth};
use uuid::Uuid;

use super::collection::{collection_mandate, CollectionMandate, MandateHistory, Presentation};

/// The status of a contract on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// In force.
    Active,
    /// Suspended.
    Suspended {
        /// Why.
        cause: SuspensionCause,
    },
    /// Terminated.
    Terminated {
        /// Why.
        reason: TerminationReason,
    },
}

/// A status from a date on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusChange {
    /// First day of the status.
    pub from: NaiveDate,
    /// The status.
    pub status: Status,
}

/// A period of validity: from a subscription or resumption to the next suspension
/// or termination. It carries its free-month cycle (`PAY-FREE-MONTH`) and its
/// billing months (`PAY-CUTOFF`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Period {
    /// First day in force.
    pub start: NaiveDate,
    /// Remaining days of the start month.
    pub remaining_days: u32,
    /// The rulebook in force when the cycle began (RULES.md §0 Decision).
    pub rulebook: String,
    /// First month debited in this period.
    pub billing_from: YearMonth,
    /// The first free month of the cycle (Annual only); then every 12 months.
    pub first_free_month: Option<YearMonth>,
    /// First day no longer in force (suspension or termination date).
    pub end: Option<NaiveDate>,
    /// First month no longer debited.
    pub billing_stops_from: Option<YearMonth>,
}

impl Period {
    /// Whether the period is in force on at least one day of `m`. The days in
    /// force are `start..end` (end excluded), so a period ending on its own start
    /// day (a resumption and a suspension or termination on the same date) has no
    /// day in force and covers no month (`SUSP-MONTH-DUE`, `REF-HELD-MONTHS`).
    pub fn covers_month(&self, m: YearMonth) -> bool {
        self.start <= m.last_day() && self.end.is_none_or(|e| e > m.first_day() && e > self.start)
    }
    /// The free month of the cycle that contains `m`: the first free month on or
    /// after `m` (`PAY-FREE-MONTH`); none for Senior.
    pub fn free_month_on_or_after(&self, m: YearMonth) -> Option<YearMonth> {
        let f = self.first_free_month?;
        let k = f.months_until(m);
        if k <= 0 {
            Some(f)
        } else {
            Some(f.plus((k + 11) / 12 * 12))
        }
    }
    /// Whether `m` is a free month of this period's cycle (`PAY-FREE-MONTH`).
    pub fn is_free_month(&self, m: YearMonth) -> bool {
        match self.first_free_month {
            Some(f) => {
                let k = f.months_until(m);
                k >= 0 && k % 12 == 0
            }
            None => false,
        }
    }
}

/// Amounts of one month (travel only; fees are in [`ContractMoney::fees`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonthMoney {
    /// Owed for travel in the month.
    pub due: Money,
    /// Collected by debits presented for the month (net of rejections).
    pub collected: Money,
}

/// The money of a contract (`PAY-DUE-VS-COLLECTED`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContractMoney {
    /// Total due.
    pub due: Money,
    /// Total collected.
    pub collected: Money,
    /// Total returned (refunds paid).
    pub returned: Money,
    /// Per month.
    pub months: BTreeMap<YearMonth, MonthMoney>,
    /// Fees by kind.
    pub fees: BTreeMap<FeeKind, Money>,
    /// Refunds due and not yet paid.
    pub refunds_pending: Money,
    /// Due not attributed to a month or a fee: cash amounts (`PAY-CASH`,
    /// `PAY-SWITCH-TO-CASH`) net of unused cash refunded (`PAY-CASH-REFUND`).
    pub unattributed_due: Money,
}

impl ContractMoney {
    /// due − collected + returned: positive is a debt, negative a credit.
    pub fn balance(&self) -> Money {
        self.due - self.collected + self.returned
    }
    /// The debt, zero when none. A refund due and not yet paid is money the
    /// ledger owes apart: it already lowered the balance (its credit), so it is
    /// added back, and an amount made due while a refund is pending (a cash
    /// resumption, `SUSP-RESUME` §11.3) is owed in full rather than netted
    /// against a refund that will be paid anyway (`PAY-DUE-VS-COLLECTED`).
    pub fn debt(&self) -> Money {
        let b = self.balance() + self.refunds_pending;
        if b.is_positive() {
            b
        } else {
            Money::ZERO
        }
    }
    /// The credit not already being refunded, zero when none.
    pub fn refundable_credit(&self) -> Money {
        let c = Money::ZERO - self.balance() - self.refunds_pending;
        if c.is_positive() {
            c
        } else {
            Money::ZERO
        }
    }
}

/// A debit presented, per month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DebitRecord {
    /// The `DebitPresented` event id.
    pub event_id: Uuid,
    /// Debit date.
    pub date: NaiveDate,
    /// Amount presented.
    pub amount: Money,
    /// Owed part.
    pub due: Money,
    /// Rejected (by a `DebitRejected`).
    pub rejected: bool,
    /// The payer debited.
    pub payer: Uuid,
    /// When the `DebitPresented` was recorded: a collection file is dated by
    /// the latest of its debits', so that the same date gives the same file.
    pub recorded_at: DateTime<Utc>,
    /// How it went to the bank under its mandate, decided as it was
    /// presented; `None` when no mandate was in force for it (a cash
    /// contract's debt, a revoked mandate), which no collection file carries.
    pub presented_as: Option<Presentation>,
}

/// A rejection (`PAY-REJECT`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// The `DebitRejected` event id.
    pub event_id: Uuid,
    /// Date recorded (effective date).
    pub date: NaiveDate,
    /// The month of the debit.
    pub month: YearMonth,
    /// Amount rejected.
    pub amount: Money,
    /// Reason code.
    pub reason_code: ReasonCode,
}

/// A refund due.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refund {
    /// Amount.
    pub amount: Money,
    /// Why.
    pub reason: RefundReason,
    /// Date it became due.
    pub date: NaiveDate,
    /// Pay by.
    pub due_by: NaiveDate,
    /// How.
    pub method: RefundMethod,
    /// To whom.
    pub beneficiary: Uuid,
    /// Paid already.
    pub paid: bool,
}

/// A one-off payment (for `PAY-REFUND-METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OneOffPayment {
    /// Date.
    pub date: NaiveDate,
    /// Amount.
    pub amount: Money,
    /// Means.
    pub means: PaymentMeans,
}

/// A loss or theft declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Loss {
    /// Date.
    pub date: NaiveDate,
    /// Loss or theft.
    pub kind: LossKind,
    /// Fee charged.
    pub fee: Money,
}

/// A Trésor Public notice (`BAN-TREASURY-2Y`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TreasuryNotice {
    /// Reference.
    pub notice_ref: String,
    /// The payer.
    pub payer: Uuid,
    /// Amount notified.
    pub amount: Money,
    /// Issue date.
    pub issued: NaiveDate,
    /// Delivery date.
    pub delivered: Option<NaiveDate>,
    /// Settlement date with the Trésor Public.
    pub settled: Option<NaiveDate>,
}

/// A requested Senior switch in processing (`SENIOR-SWITCH`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeniorSwitchPending {
    /// Request date.
    pub requested: NaiveDate,
    /// Earliest validation date.
    pub processing_until: NaiveDate,
    /// Declaration.
    pub declaration: ActivityDeclaration,
}

/// How many sets of prepared terms a contract keeps ([`ContractState::prepared`]);
/// beyond it the oldest is dropped. A set serves the debits of the month or two
/// after its registration (`PAY-CUTOFF`) and is dropped once they are presented,
/// so only a contract changed again and again without being debited reaches it.
pub const PREPARED_TERMS_MAX: usize = 32;

/// The terms of a contract as they stood just before a change registered on
/// `registered_on` (`PAY-CUTOFF`): what a debit prepared before that change was
/// composed from. The billing clock picks the set that applies to a month
/// (`charges::prepared_terms`); the fold only keeps them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PreparedTerms {
    /// The Paris date of the change's recorded-at instant: the day the ledger
    /// learnt it.
    pub registered_on: NaiveDate,
    /// The contract just before the change. Its money, debits, refunds and other
    /// history are left empty: a prepared debit reads those as they are when it
    /// is presented, only its terms (periods, products, payment, payer) are the
    /// prepared ones.
    pub before: Box<ContractState>,
}

/// The state of one contract.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContractState {
    /// Contract id.
    pub id: Uuid,
    /// Holder.
    pub holder: Uuid,
    /// Current payer.
    pub payer: Uuid,
    /// Payer by first month debited from them.
    pub payers: Vec<(YearMonth, Uuid)>,
    /// Subscription channel.
    pub channel: Channel,
    /// Start date.
    pub start_date: NaiveDate,
    /// Rulebook that judged the subscription.
    pub rulebook: String,
    /// Third-party financed (`SUB-THIRD-PARTY`).
    pub third_party_payer: bool,
    /// Current product (from the effective date of the last change).
    pub product: Product,
    /// Product by effective date (validity, `USE-DEZONAGE`).
    pub products: Vec<(NaiveDate, Product)>,
    /// Product billed, by first month billed (`ZONE-UP`, `ZONE-DOWN`, `SENIOR-SWITCH`).
    pub billed_products: Vec<(YearMonth, Product)>,
    /// Pending zone change: effective date and new zones.
    pub pending_zone_change: Option<(NaiveDate, Zones)>,
    /// Payment method by first month (`PAY-METHOD`, `PAY-CUTOFF`).
    pub payments: Vec<(YearMonth, PaymentSetup)>,
    /// Debit day by first month (`PAY-DEBIT-DAY`).
    pub debit_days: Vec<(YearMonth, DebitDay)>,
    /// Request dates of debit-day changes (`PAY-DEBIT-DAY`: once per calendar month).
    pub debit_day_requests: Vec<NaiveDate>,
    /// Mandate by first month debited on it.
    pub mandates: Vec<(YearMonth, Mandate)>,
    /// The mandate was revoked and not replaced.
    pub mandate_revoked: Option<NaiveDate>,
    /// Spans without a usable mandate: from the revocation to the day a new
    /// mandate, payer or method was recorded (open while none). Nothing is debited
    /// in them; the months they hide are collected with the next debit.
    pub revoked_spans: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// The mandate the last debit was presented under
    /// (`PAY-MANDATE-AMENDMENT`): the mandate in force at the next collection
    /// is compared with it (see [`super::collection`]).
    pub last_presented_mandate: Option<Mandate>,
    /// The references of the mandates a debit was presented under
    /// (`PAY-MANDATE-SEQUENCE`: the first collection under a reference is
    /// `FRST`).
    pub presented_mandates: BTreeSet<String>,
    /// Status timeline.
    pub statuses: Vec<StatusChange>,
    /// Periods of validity.
    pub periods: Vec<Period>,
    /// Planned resumption given with the suspension.
    pub planned_resumption: Option<NaiveDate>,
    /// Paris date the last suspension was registered (a planned resumption counts
    /// as registered then, `PAY-CUTOFF`).
    pub suspension_registered_on: Option<NaiveDate>,
    /// Current support.
    pub support: Support,
    /// Losses and thefts.
    pub losses: Vec<Loss>,
    /// Money.
    pub money: ContractMoney,
    /// Debits presented, by month.
    pub debits: BTreeMap<YearMonth, DebitRecord>,
    /// Rejections.
    pub rejections: Vec<Rejection>,
    /// Refunds by `RefundDue` event id.
    pub refunds: BTreeMap<Uuid, Refund>,
    /// One-off payments (first payment, cash, settlements by card).
    pub one_off_payments: Vec<OneOffPayment>,
    /// Cash coverage: last day covered by cash payments (`PAY-CASH`).
    pub cash_paid_until: Option<NaiveDate>,
    /// What the current cash period was paid in cash (the annual price at
    /// subscription or renewal, the amount due at a switch to cash): the most a
    /// `PAY-CASH-REFUND` can give back.
    pub cash_period_paid: Money,
    /// What `PAY-CASH-REFUND` already returned of the current cash period.
    pub cash_period_refunded: Money,
    /// What `ZONE-UP` changes made due on top of the current cash period's price
    /// (§7.6): part of what the period costs when `PAY-CASH-REFUND` counts it.
    pub cash_period_zone_due: Money,
    /// Cash renewal notices sent, by period end.
    pub renewal_notices: Vec<NaiveDate>,
    /// Senior switch in processing.
    pub senior_switch: Option<SeniorSwitchPending>,
    /// Fraud established: fraudster and accomplices.
    pub fraud: Option<(Uuid, Vec<Uuid>)>,
    /// Terminations: date and the rulebook in force then (ban durations).
    pub termination: Option<(NaiveDate, TerminationReason, String)>,
    /// Treasury notices.
    pub treasury_notices: Vec<TreasuryNotice>,
    /// Last effective date of any event.
    pub last_event_date: NaiveDate,
    /// Date of the first rejection since the balance was last settled
    /// (`PAY-UNPAID-TERMINATION`: the grace runs from it).
    pub unpaid_since: Option<NaiveDate>,
    /// The terms before each change of the debit terms registered by a person
    /// (customer, agent, import), oldest first, while a debit they may have
    /// prepared is not presented yet (`PAY-CUTOFF`; see [`PreparedTerms`]).
    pub prepared: Vec<PreparedTerms>,
}

fn at_month<T: Clone>(timeline: &[(YearMonth, T)], m: YearMonth) -> Option<T> {
    at_month_ref(timeline, m).cloned()
}

/// The entry of a timeline in force in month `m` (the first one before it starts).
fn at_month_ref<T>(timeline: &[(YearMonth, T)], m: YearMonth) -> Option<&T> {
    timeline
        .iter()
        .rev()
        .find(|(from, _)| *from <= m)
        .or(timeline.first())
        .map(|(_, v)| v)
}

/// Whether an event changes the terms a debit is composed from: the operations
/// `PAY-CUTOFF` lists (suspension, resumption, termination, zone change, payer,
/// account or method change, Senior switch), the mandate's revocation and the
/// debit day.
fn changes_debit_terms(event: &Event) -> bool {
    matches!(
        event,
        Event::ContractSuspended(_)
            | Event::ContractResumed(_)
            | Event::ContractTerminated(_)
            | Event::ZonesChanged(_)
            | Event::PayerChanged(_)
            | Event::MandateChanged(_)
            | Event::MandateRevoked(_)
            | Event::PaymentMethodSwitched(_)
            | Event::SeniorSwitchValidated(_)
            | Event::DebitDayChanged(_)
    )
}

/// The kinds of charge lines that create an obligation (`PAY-DUE-VS-COLLECTED`).
pub fn is_obligation(kind: ChargeKind) -> bool {
    !matches!(kind, ChargeKind::CreditDeducted | ChargeKind::DebtCarried)
}

/// What `lines` put due for travel, month by month: every obligation but the
/// dossier fee, which is a fee and belongs to no month's travel (the fold's
/// attribution, `PAY-DUE-VS-COLLECTED`).
pub(crate) fn travel_by_month(lines: &[ChargeLine]) -> BTreeMap<YearMonth, Money> {
    let mut by_month: BTreeMap<YearMonth, Money> = BTreeMap::new();
    for l in lines
        .iter()
        .filter(|l| is_obligation(l.kind) && l.kind != ChargeKind::DossierFee)
    {
        *by_month.entry(l.month).or_default() += l.amount;
    }
    by_month
}

impl ContractState {
    /// Whether a refund is not yet paid or a treasury notice not yet
    /// delivered or settled: the back office's work on the contract
    /// ([`crate::world::OpenItems`]).
    pub fn has_open_items(&self) -> bool {
        self.refunds.values().any(|r| !r.paid)
            || self
                .treasury_notices
                .iter()
                .any(|n| n.delivered.is_none() || n.settled.is_none())
    }

    /// The state right after a `ContractSubscribed` envelope; `None` for any other
    /// event (a contract stream starts with its subscription).
    pub fn from_subscription(env: &Envelope) -> Option<ContractState> {
        let Event::ContractSubscribed(s) = &env.event else {
            return None;
        };
        let start = env.effective_date;
        let m = YearMonth::of(start);
        let mut payments = vec![(m, s.payment.clone())];
        let mut debit_days = Vec::new();
        let mut mandates = Vec::new();
        if let PaymentSetup::DirectDebit { debit_day, mandate } = &s.payment {
            debit_days.push((m, *debit_day));
            mandates.push((m, mandate.clone()));
        }
        payments.truncate(1);
        // SUB-FIRST-PAYMENT: an agency direct-debit subscription pays its first month
        // at the agency and debits start the month after; remote subscriptions start
        // on the 1st and are debited from the start month.
        let billing_from = if s.channel == Channel::Agency {
            m.plus(1)
        } else {
            m
        };
        Some(ContractState {
            id: env.stream.id,
            holder: s.holder,
            payer: s.payer,
            payers: vec![(m, s.payer)],
            channel: s.channel,
            start_date: start,
            rulebook: s.rulebook.clone(),
            third_party_payer: s.third_party_payer,
            product: s.product,
            products: vec![(start, s.product)],
            billed_products: vec![(m, s.product)],
            pending_zone_change: None,
            payments,
            debit_days,
            debit_day_requests: Vec::new(),
            mandates,
            mandate_revoked: None,
            revoked_spans: Vec::new(),
            last_presented_mandate: None,
            presented_mandates: BTreeSet::new(),
            statuses: vec![StatusChange {
                from: start,
                status: Status::Active,
            }],
            periods: vec![Period {
                start,
                remaining_days: s.remaining_days,
                rulebook: s.rulebook.clone(),
                billing_from,
                first_free_month: s.first_free_month,
                end: None,
                billing_stops_from: None,
            }],
            planned_resumption: None,
            suspension_registered_on: None,
            support: s.support,
            losses: Vec::new(),
            money: ContractMoney::default(),
            debits: BTreeMap::new(),
            rejections: Vec::new(),
            refunds: BTreeMap::new(),
            one_off_payments: Vec::new(),
            cash_paid_until: None,
            cash_period_paid: Money::ZERO,
            cash_period_refunded: Money::ZERO,
            cash_period_zone_due: Money::ZERO,
            renewal_notices: Vec::new(),
            senior_switch: None,
            fraud: None,
            termination: None,
            treasury_notices: Vec::new(),
            last_event_date: start,
            unpaid_since: None,
            prepared: Vec::new(),
        })
    }

    /// The status on a date.
    pub fn status_on(&self, date: NaiveDate) -> Option<Status> {
        self.statuses
            .iter()
            .rev()
            .find(|s| s.from <= date)
            .map(|s| s.status)
    }

    /// The latest status, whatever its date (a status recorded for a future date
    /// counts: a contract whose suspension is scheduled is no longer "active" for
    /// `SUB-ONE-ACTIVE` from that date).
    pub fn current_status(&self) -> Status {
        self.statuses
            .last()
            .map(|s| s.status)
            .unwrap_or(Status::Active)
    }

    /// True once terminated (whatever the date).
    pub fn is_terminated(&self) -> bool {
        matches!(self.current_status(), Status::Terminated { .. })
    }

    /// The date the current suspension took effect, when the contract is suspended.
    pub fn suspended_since(&self) -> Option<NaiveDate> {
        match self.statuses.last() {
            Some(s) if matches!(s.status, Status::Suspended { .. }) => Some(s.from),
            _ => None,
        }
    }

    /// The current (last) period.
    pub fn current_period(&self) -> Option<&Period> {
        self.periods.last()
    }

    /// The period in force on at least one day of `m`, latest first.
    pub fn period_covering(&self, m: YearMonth) -> Option<&Period> {
        self.periods.iter().rev().find(|p| p.covers_month(m))
    }

    /// The payment method for month `m`.
    pub fn payment_at(&self, m: YearMonth) -> Option<PaymentSetup> {
        self.payment_setup_at(m).cloned()
    }

    /// The payment method for month `m`, borrowed ([`ContractState::payment_at`]
    /// without copying the mandate: the billing clock asks it for every month it
    /// reconciles).
    pub fn payment_setup_at(&self, m: YearMonth) -> Option<&PaymentSetup> {
        at_month_ref(&self.payments, m)
    }

    /// The current payment method.
    pub fn payment(&self) -> Option<&PaymentSetup> {
        self.payments.last().map(|(_, p)| p)
    }

    /// The debit day for month `m` (day 1 by default, `PAY-DEBIT-DAY`).
    pub fn debit_day_at(&self, m: YearMonth) -> DebitDay {
        at_month(&self.debit_days, m).unwrap_or_default()
    }

    /// The debit date of month `m`.
    pub fn debit_date(&self, m: YearMonth) -> NaiveDate {
        m.day_clamped(u32::from(self.debit_day_at(m).day()))
    }

    /// The mandate debited for month `m`.
    pub fn mandate_at(&self, m: YearMonth) -> Option<Mandate> {
        at_month(&self.mandates, m)
    }

    /// The mandate of this contract for a collection on `date` (the debit of
    /// that date's month), with its sequence type and amendment as they
    /// stand now (`PAY-MANDATE-SEQUENCE`, `PAY-MANDATE-AMENDMENT`; see
    /// [`collection_mandate`]); `None` when the contract has no mandate for
    /// that month. A debit presented keeps its own ([`DebitRecord::presented_as`]).
    pub fn collection_mandate(&self, date: NaiveDate) -> Option<CollectionMandate> {
        let m = YearMonth::of(date);
        let direct = self
            .payment_setup_at(m)
            .is_some_and(PaymentSetup::is_direct_debit);
        let history = MandateHistory {
            in_force: at_month_ref(&self.mandates, m).filter(|_| direct),
            revoked: self.mandate_revoked,
            presented: &self.presented_mandates,
            last_presented: self.last_presented_mandate.as_ref(),
        };
        collection_mandate(history, date)
    }

    /// The payer debited for month `m`.
    pub fn payer_at(&self, m: YearMonth) -> Uuid {
        at_month(&self.payers, m).unwrap_or(self.payer)
    }

    /// The product billed in month `m`.
    pub fn billed_product_at(&self, m: YearMonth) -> Product {
        at_month(&self.billed_products, m).unwrap_or(self.product)
    }

    /// The product in force on a date.
    pub fn product_on(&self, date: NaiveDate) -> Product {
        self.products
            .iter()
            .rev()
            .find(|(d, _)| *d <= date)
            .map(|(_, p)| *p)
            .unwrap_or(self.product)
    }

    /// Folds one event of this contract's stream and checks the invariants of the
    /// fold ([`ContractState::assert_invariants`]). Cannot fail, holds no rule.
    pub fn apply(&mut self, env: &Envelope) {
        self.fold_event(env);
        self.assert_invariants();
    }

    /// Folds one event without checking the invariants: the world's batch fold
    /// ([`crate::world::World::apply_all`]) checks them once, after the batch.
    pub(crate) fn fold_event(&mut self, env: &Envelope) {
        self.keep_prepared_terms(env);
        self.fold_terms_and_money(env);
    }

    /// Folds one event into the state (everything but the prepared terms), by
    /// event family: the payment terms, the money (first payment, debits,
    /// payments, refunds), the status, the product and support, the Trésor
    /// Public notices.
    fn fold_terms_and_money(&mut self, env: &Envelope) {
        let date = env.effective_date;
        if date > self.last_event_date {
            self.last_event_date = date;
        }
        match &env.event {
            Event::FirstPaymentCollected(p) => self.fold_first_payment(p, date),
            Event::DebitDayChanged(_)
            | Event::PayerChanged(_)
            | Event::MandateChanged(_)
            | Event::MandateRevoked(_)
            | Event::PaymentMethodSwitched(_) => self.fold_payment_terms(env),
            Event::DebitPresented(_) | Event::DebitRejected(_) => self.fold_debit(env),
            Event::FeeCharged(_)
            | Event::DebtSettled(_)
            | Event::CashPaymentReceived(_)
            | Event::CashRenewalNoticeSent(_) => self.fold_payment(env),
            Event::RefundDue(_) | Event::RefundPaid(_) => self.fold_refund(env),
            Event::ContractSuspended(_)
            | Event::ContractResumed(_)
            | Event::ContractTerminated(_) => self.fold_status(env),
            Event::ZonesChanged(_)
            | Event::LossDeclared(_)
            | Event::SeniorSwitchRequested(_)
            | Event::SeniorSwitchValidated(_)
            | Event::FraudEstablished(_) => self.fold_product_and_support(env),
            Event::TreasuryNoticeIssued(_)
            | Event::TreasuryNoticeDelivered(_)
            | Event::TreasuryNoticeSettled(_) => self.fold_treasury_notice(env),
            // The subscription opens the state (`from_subscription`); annulment is
            // handled by the world (it rebuilds the stream); events of other
            // streams never reach a contract.
            _ => {}
        }
        if !self.money.debt().is_positive() {
            self.unpaid_since = None;
        }
    }

    /// A new cash period paid `paid`: nothing of it refunded yet, no zone
    /// difference owed on it yet (`PAY-CASH`, `PAY-CASH-REFUND`).
    fn start_cash_period(&mut self, paid: Money) {
        self.cash_period_paid = paid;
        self.cash_period_refunded = Money::ZERO;
        self.cash_period_zone_due = Money::ZERO;
    }

    /// `SUB-FIRST-PAYMENT`: the first month (or the cash year) and the dossier
    /// fee, paid at subscription.
    fn fold_first_payment(&mut self, p: &FirstPaymentCollected, date: NaiveDate) {
        self.add_lines_due(&p.lines, None);
        self.money.collected += p.amount + p.dossier_fee;
        for l in &p.lines {
            self.money.months.entry(l.month).or_default().collected += l.amount;
        }
        *self.money.fees.entry(FeeKind::Dossier).or_default() += p.dossier_fee;
        self.money.due += p.dossier_fee;
        self.one_off_payments.push(OneOffPayment {
            date,
            amount: p.amount + p.dossier_fee,
            means: p.means,
        });
        if matches!(self.payment(), Some(PaymentSetup::Cash)) {
            self.start_cash_period(p.amount);
            // PAY-CASH (§4.13.2): the payment covers 12 consecutive months
            // of travel from the start date, not from the day it was paid (an
            // online subscription is paid up to 60 days before its start).
            self.cash_paid_until = super::timing::cash_period_last_day(self.start_date.max(date));
        }
    }

    /// The payment terms: debit day, payer, mandate, payment method.
    fn fold_payment_terms(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::DebitDayChanged(d) => {
                self.debit_days.push((d.effective_from_month, d.debit_day));
                self.debit_days.sort_by_key(|(m, _)| *m);
                self.debit_day_requests
                    .push(crate::calendar::paris_date(env.recorded_at));
            }
            Event::PayerChanged(p) => {
                self.payer = p.payer;
                self.payers.push((p.effective_from_month, p.payer));
                if let Some(m) = &p.mandate {
                    self.mandates.push((p.effective_from_month, m.clone()));
                    self.close_revoked_span(date);
                }
            }
            Event::MandateChanged(m) => {
                self.mandates
                    .push((m.effective_from_month, m.mandate.clone()));
                self.close_revoked_span(date);
            }
            Event::MandateRevoked(_) => {
                self.mandate_revoked = Some(date);
                self.revoked_spans.push((date, None));
            }
            Event::PaymentMethodSwitched(s) => self.fold_method_switched(s, date),
            _ => {}
        }
    }

    /// `PAY-SWITCH-TO-DEBIT` / `PAY-SWITCH-TO-CASH`.
    fn fold_method_switched(&mut self, s: &PaymentMethodSwitched, date: NaiveDate) {
        self.payments.push((s.effective_from_month, s.to.clone()));
        if let PaymentSetup::DirectDebit { debit_day, mandate } = &s.to {
            self.debit_days.push((s.effective_from_month, *debit_day));
            self.mandates
                .push((s.effective_from_month, mandate.clone()));
            self.close_revoked_span(date);
            return;
        }
        if let Some(a) = s.amount_due {
            self.money.due += a;
            self.money.unattributed_due += a;
            self.start_cash_period(a);
        }
        // PAY-SWITCH-TO-CASH: the cash payment covers the rest of the
        // current 12-month cycle, through its free month.
        let end = self
            .periods
            .last()
            .and_then(|p| p.free_month_on_or_after(s.effective_from_month));
        self.cash_paid_until = end.map(|m| m.last_day());
    }

    /// A debit presented, or rejected by the bank (`PAY-REJECT`).
    fn fold_debit(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::DebitPresented(d) => {
                // PAY-MANDATE-SEQUENCE, PAY-MANDATE-AMENDMENT: decided on the
                // state before this debit, which the lines below change.
                let presented_as = self.collection_mandate(date).map(|m| Presentation::of(&m));
                // PAY-MANDATE-AMENDMENT: a presented debit carried the
                // mandate's amendment, if any, to the bank; the next
                // collection compares with this mandate.
                self.last_presented_mandate = self.mandate_at(d.month);
                self.presented_mandates.insert(d.mandate_reference.clone());
                self.add_lines_due(&d.lines, Some((d.month, d.due)));
                self.money.collected += d.amount;
                self.money.months.entry(d.month).or_default().collected += d.amount;
                self.debits.insert(
                    d.month,
                    DebitRecord {
                        event_id: env.event_id,
                        date,
                        amount: d.amount,
                        due: d.due,
                        rejected: false,
                        payer: d.payer,
                        recorded_at: env.recorded_at,
                        presented_as,
                    },
                );
            }
            Event::DebitRejected(r) => {
                self.money.collected -= r.amount;
                self.money.months.entry(r.month).or_default().collected -= r.amount;
                if let Some(d) = self.debits.get_mut(&r.month) {
                    d.rejected = true;
                }
                if self.unpaid_since.is_none() {
                    self.unpaid_since = Some(date);
                }
                self.rejections.push(Rejection {
                    event_id: env.event_id,
                    date,
                    month: r.month,
                    amount: r.amount,
                    reason_code: r.reason_code,
                });
            }
            _ => {}
        }
    }

    /// Fees charged, debts settled, cash payments and their renewal notices.
    fn fold_payment(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::FeeCharged(f) => {
                self.money.due += f.amount;
                *self.money.fees.entry(f.kind).or_default() += f.amount;
            }
            Event::DebtSettled(s) => {
                self.money.collected += s.amount;
                self.one_off_payments.push(OneOffPayment {
                    date,
                    amount: s.amount,
                    means: match s.via {
                        navigo_events_schema::event::SettlementChannel::OnlineCard => {
                            PaymentMeans::CardOnline
                        }
                        _ => PaymentMeans::Card,
                    },
                });
            }
            Event::CashPaymentReceived(c) => {
                self.money.collected += c.amount;
                self.money.due += c.due;
                self.money.unattributed_due += c.due;
                self.one_off_payments.push(OneOffPayment {
                    date,
                    amount: c.amount,
                    means: c.means,
                });
                // PAY-CASH: a payment covering a new period extends the coverage to
                // the same day 12 months on.
                if c.due.is_positive() {
                    self.start_cash_period(c.due);
                    let from = self
                        .cash_paid_until
                        .and_then(|d| d.succ_opt())
                        .unwrap_or(date);
                    self.cash_paid_until = super::timing::cash_period_last_day(from);
                }
            }
            Event::CashRenewalNoticeSent(n) => self.renewal_notices.push(n.period_end),
            _ => {}
        }
    }

    /// A refund due, or paid.
    fn fold_refund(&mut self, env: &Envelope) {
        match &env.event {
            Event::RefundDue(r) => {
                self.money.refunds_pending += r.amount;
                // PAY-CASH-REFUND: the unused part of a cash payment is no longer
                // owed; the refund returns it.
                if r.reason == RefundReason::CashUnused {
                    self.money.due -= r.amount;
                    self.money.unattributed_due -= r.amount;
                    // What is refunded of the period cannot be refunded again.
                    self.cash_period_refunded += r.amount;
                }
                self.refunds.insert(
                    env.event_id,
                    Refund {
                        amount: r.amount,
                        reason: r.reason,
                        date: env.effective_date,
                        due_by: r.due_by,
                        method: r.method,
                        beneficiary: r.beneficiary,
                        paid: false,
                    },
                );
            }
            Event::RefundPaid(p) => {
                self.money.returned += p.amount;
                if let Some(r) = self.refunds.get_mut(&p.refund_event_id) {
                    if !r.paid {
                        r.paid = true;
                        self.money.refunds_pending -= r.amount;
                    }
                }
            }
            _ => {}
        }
    }

    /// Suspension, resumption, termination.
    fn fold_status(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::ContractSuspended(s) => {
                self.statuses.push(StatusChange {
                    from: date,
                    status: Status::Suspended { cause: s.cause },
                });
                self.planned_resumption = s.planned_resumption;
                self.suspension_registered_on = Some(crate::calendar::paris_date(env.recorded_at));
                if let Some(p) = self.periods.last_mut() {
                    p.end = Some(date);
                    p.billing_stops_from = Some(s.billing_stops_from);
                }
                self.release_months_not_in_force();
            }
            Event::ContractResumed(r) => self.fold_resumed(r, date),
            Event::ContractTerminated(t) => {
                self.statuses.push(StatusChange {
                    from: date,
                    status: Status::Terminated { reason: t.reason },
                });
                self.termination = Some((date, t.reason, t.rulebook.clone()));
                if let Some(p) = self.periods.last_mut() {
                    if p.end.is_none_or(|e| e > date) {
                        p.end = Some(date);
                    }
                    let stops = p
                        .billing_stops_from
                        .map_or(t.billing_stops_from, |s| s.min(t.billing_stops_from));
                    p.billing_stops_from = Some(stops);
                }
                self.release_months_not_in_force();
            }
            _ => {}
        }
    }

    /// `SUSP-RESUME`: a new period, with the payment it resumes with.
    fn fold_resumed(&mut self, r: &ContractResumed, date: NaiveDate) {
        self.statuses.push(StatusChange {
            from: date,
            status: Status::Active,
        });
        self.planned_resumption = None;
        let m = r.billing_from;
        if self.payment() != Some(&r.payment) {
            self.payments.push((m, r.payment.clone()));
            if let PaymentSetup::DirectDebit { debit_day, mandate } = &r.payment {
                self.debit_days.push((m, *debit_day));
                self.mandates.push((m, mandate.clone()));
            }
        }
        // SUSP-RESUME, §11.3: a cash contract pays a new period of 12
        // consecutive months from the resumption.
        if let Some(a) = r.cash_due {
            self.money.due += a;
            self.money.unattributed_due += a;
            self.start_cash_period(a);
            self.cash_paid_until = super::timing::cash_period_last_day(date);
        }
        self.periods.push(Period {
            start: date,
            remaining_days: r.remaining_days,
            rulebook: r.rulebook.clone(),
            billing_from: r.billing_from,
            first_free_month: r.first_free_month,
            end: None,
            billing_stops_from: None,
        });
    }

    /// Zones, the Senior switch, losses and the support, a fraud finding.
    fn fold_product_and_support(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::ZonesChanged(z) => {
                let new = Product::Annual { zones: z.to };
                self.product = new;
                self.products.push((date, new));
                self.billed_products.push((z.billed_from_month, new));
                self.billed_products.sort_by_key(|(m, _)| *m);
                self.pending_zone_change = None;
                // ZONE-UP on a cash contract: the difference is due at once.
                if let Some(a) = z.cash_due {
                    self.money.due += a;
                    self.money.unattributed_due += a;
                    self.cash_period_zone_due += a;
                }
            }
            Event::LossDeclared(l) => {
                self.support = l.replacement_support;
                self.losses.push(Loss {
                    date,
                    kind: l.kind,
                    fee: l.fee,
                });
            }
            Event::SeniorSwitchRequested(s) => {
                self.senior_switch = Some(SeniorSwitchPending {
                    requested: date,
                    processing_until: s.processing_until,
                    declaration: s.declaration,
                });
            }
            Event::SeniorSwitchValidated(v) => {
                self.senior_switch = None;
                self.product = Product::Senior;
                self.products.push((date, Product::Senior));
                self.billed_products
                    .push((v.effective_from_month, Product::Senior));
                self.billed_products.sort_by_key(|(m, _)| *m);
            }
            Event::FraudEstablished(f) => {
                self.fraud = Some((f.fraudster, f.accomplices.clone()));
            }
            _ => {}
        }
    }

    /// A Trésor Public notice issued, delivered, settled (`BAN-TREASURY-2Y`).
    fn fold_treasury_notice(&mut self, env: &Envelope) {
        let date = env.effective_date;
        match &env.event {
            Event::TreasuryNoticeIssued(n) => self.treasury_notices.push(TreasuryNotice {
                notice_ref: n.notice_ref.clone(),
                payer: n.payer,
                amount: n.amount,
                issued: date,
                delivered: None,
                settled: None,
            }),
            Event::TreasuryNoticeDelivered(n) => {
                if let Some(t) = self.treasury_notice_mut(&n.notice_ref) {
                    t.delivered = Some(date);
                }
            }
            Event::TreasuryNoticeSettled(n) => {
                self.money.collected += n.amount;
                if let Some(t) = self.treasury_notice_mut(&n.notice_ref) {
                    t.settled = Some(date);
                }
            }
            _ => {}
        }
    }

    fn treasury_notice_mut(&mut self, notice_ref: &str) -> Option<&mut TreasuryNotice> {
        self.treasury_notices
            .iter_mut()
            .find(|t| t.notice_ref == notice_ref)
    }

    /// Keeps the terms before a change of the debit terms (`PAY-CUTOFF`), and
    /// drops those no debit can be prepared from any more. This is bookkeeping,
    /// not a rule: which set a debit reads is decided by the billing clock
    /// (`charges::prepared_terms`), from the date each change was registered.
    ///
    /// A change registered by a person (customer, agent, import) keeps the terms
    /// it replaces, once per registration date. The ledger's own decisions (the
    /// billing clock, bank returns) register nothing new: they carry out what was
    /// registered before (a resumption planned with the suspension) or what the
    /// rules impose on a date (an unpaid termination), so they are folded into the
    /// kept terms too, except a planned resumption into terms that did not plan
    /// it.
    fn keep_prepared_terms(&mut self, env: &Envelope) {
        match &env.event {
            Event::DebitPresented(d) => {
                // A change registered in month M reaches the debits from M+1 or M+2
                // (PAY-CUTOFF), so its terms can be the prepared terms of the debit
                // of M+1 at the latest; the clock never presents a month at or
                // before one already debited.
                let reach = super::timing::CUTOFF_MONTHS_AHEAD_MAX - 1;
                self.prepared
                    .retain(|p| YearMonth::of(p.registered_on).plus(reach) > d.month);
            }
            e if changes_debit_terms(e) => {
                if env.actor.role == ActorRole::System {
                    for p in &mut self.prepared {
                        let unplanned = matches!(e, Event::ContractResumed(_))
                            && p.before.planned_resumption != Some(env.effective_date);
                        if !unplanned {
                            p.before.fold_terms_and_money(env);
                        }
                    }
                    return;
                }
                let registered_on = crate::calendar::paris_date(env.recorded_at);
                if self
                    .prepared
                    .last()
                    .is_some_and(|p| p.registered_on == registered_on)
                {
                    // The terms before the first change of the day are the ones a
                    // debit prepared before that day reads.
                    return;
                }
                let before = Box::new(self.terms_only());
                self.prepared.push(PreparedTerms {
                    registered_on,
                    before,
                });
                if self.prepared.len() > PREPARED_TERMS_MAX {
                    self.prepared.remove(0);
                }
            }
            _ => {}
        }
    }

    /// A copy of the contract without its money and history (see
    /// [`PreparedTerms::before`]).
    fn terms_only(&mut self) -> ContractState {
        let prepared = std::mem::take(&mut self.prepared);
        let mut terms = self.clone();
        self.prepared = prepared;
        terms.money = ContractMoney::default();
        terms.debits = BTreeMap::new();
        terms.rejections = Vec::new();
        terms.refunds = BTreeMap::new();
        terms.one_off_payments = Vec::new();
        terms.losses = Vec::new();
        terms.treasury_notices = Vec::new();
        terms
    }

    /// A suspension or termination whose effective date makes a month already
    /// debited a month without a day in force (an agency suspension on the 1st
    /// after that day's debit, an unpaid termination on a debit date, a backdated
    /// agency termination) leaves that month not due: the debit was taken although
    /// no longer owed, and its amount becomes a credit that the clock refunds
    /// (`SUSP-MONTH-DUE`, `TERM-BY-PAYER` as read in `contract::timing`;
    /// `PAY-CUTOFF` Decision, `PAY-REFUND-30D`). This is the fold's definition of
    /// what is due, not a rule: the months are those no period covers.
    fn release_months_not_in_force(&mut self) {
        let released: Vec<YearMonth> = self
            .money
            .months
            .iter()
            .filter(|(m, mm)| !mm.due.is_zero() && self.period_covering(**m).is_none())
            .map(|(m, _)| *m)
            .collect();
        for m in released {
            if let Some(mm) = self.money.months.get_mut(&m) {
                self.money.due -= mm.due;
                mm.due = Money::ZERO;
            }
        }
    }

    /// A new mandate, payer or method ends the span without a mandate.
    fn close_revoked_span(&mut self, date: NaiveDate) {
        self.mandate_revoked = None;
        if let Some(last) = self.revoked_spans.last_mut() {
            if last.1.is_none() {
                last.1 = Some(date);
            }
        }
    }

    /// Attributes the due of charge lines to their months; fee lines go to fees.
    /// `debit` is the debit's own month and its `due` field (see the module docs).
    fn add_lines_due(&mut self, lines: &[ChargeLine], debit: Option<(YearMonth, Money)>) {
        let obligation: Money = lines
            .iter()
            .filter(|l| is_obligation(l.kind))
            .map(|l| l.amount)
            .sum();
        let shortfall = match debit {
            Some((_, due)) if due < obligation => obligation - due,
            _ => Money::ZERO,
        };
        for l in lines.iter().filter(|l| is_obligation(l.kind)) {
            match l.kind {
                ChargeKind::DossierFee => {
                    *self.money.fees.entry(FeeKind::Dossier).or_default() += l.amount;
                }
                _ => self.money.months.entry(l.month).or_default().due += l.amount,
            }
            self.money.due += l.amount;
        }
        if let Some((m, _)) = debit {
            if shortfall.is_positive() {
                self.release_not_owed(lines, m, shortfall);
            }
        }
    }

    /// Takes back what a debit took beyond what its months cost
    /// (`PAY-CUTOFF` Decision, refunded by the clock): from the debit's own
    /// month first, up to what its lines put there, then from the earlier
    /// months it reconciled, latest first, each up to what its lines put there;
    /// anything left from the debit's month. A debit prepared with the terms in
    /// force never takes more than its own month's lines, so for it this is
    /// the debit's month alone, as it always was.
    fn release_not_owed(&mut self, lines: &[ChargeLine], m: YearMonth, shortfall: Money) {
        let mut by_month = travel_by_month(lines);
        let own = by_month.remove(&m).unwrap_or(Money::ZERO);
        let mut left = shortfall;
        let order = std::iter::once((m, own)).chain(by_month.into_iter().rev());
        for (k, put) in order {
            let take = left.min(put).max(Money::ZERO);
            if take.is_positive() {
                self.money.months.entry(k).or_default().due -= take;
                left -= take;
            }
        }
        if left.is_positive() {
            self.money.months.entry(m).or_default().due -= left;
        }
        self.money.due -= shortfall;
    }

    /// Checks the invariants of the fold. A broken invariant is a bug in `apply`
    /// (or a corrupt log): it stops the program with a clear message rather than
    /// letting a wrong balance through.
    pub fn assert_invariants(&self) {
        let month_due: Money = self.money.months.values().map(|m| m.due).sum();
        let fees: Money = self.money.fees.values().copied().sum();
        // PAY-DUE-VS-COLLECTED: every euro due is a month's travel, a fee, or a cash
        // amount; the total kept by each event must match the attribution.
        assert_eq!(
            self.money.due,
            month_due + fees + self.money.unattributed_due,
            "contract {}: total due {} differs from months {} + fees {} + cash {} \
             (PAY-DUE-VS-COLLECTED)",
            self.id,
            self.money.due,
            month_due,
            fees,
            self.money.unattributed_due
        );
        let pending: Money = self
            .refunds
            .values()
            .filter(|r| !r.paid)
            .map(|r| r.amount)
            .sum();
        assert_eq!(
            self.money.refunds_pending, pending,
            "contract {}: pending refunds out of step with the refunds due",
            self.id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(start: NaiveDate, end: Option<NaiveDate>) -> Period {
        Period {
            start,
            remaining_days: 0,
            rulebook: "CGVU-2026".to_owned(),
            billing_from: YearMonth::of(start),
            first_free_month: None,
            end,
            billing_stops_from: None,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn susp_month_due_period_ending_on_its_own_start_day_covers_no_month() {
        // Given a resumption on 2026-11-20 and a suspension effective the same day,
        let empty = period(d(2026, 11, 20), Some(d(2026, 11, 20)));
        // then no day of November is in force: the month is not owed for this period.
        let nov = YearMonth::new(2026, 11).unwrap();
        assert!(!empty.covers_month(nov));
        // A period with one day in force in the month still covers it.
        let one_day = period(d(2026, 11, 20), Some(d(2026, 11, 21)));
        assert!(one_day.covers_month(nov));
        assert!(!one_day.covers_month(nov.plus(1)));
        // An open period covers its start month and every month after.
        let open = period(d(2026, 11, 20), None);
        assert!(open.covers_month(nov) && open.covers_month(nov.plus(5)));
        assert!(!open.covers_month(nov.plus(-1)));
    }
}
