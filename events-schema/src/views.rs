//! Every JSON output of the ledger, typed. The views the projections answer
//! with (`navigo-projections`) are in this file: balances, debit calendars, ban
//! windows, refund entitlements and contract state, each computed for an
//! effective Europe/Paris date (`at`) as known at a recorded UTC instant
//! (`known_at`), printed by `navigo-ledger state|balance|calendar|bans|refunds
//! --json` and served by the HTTP API, and the access request that gathers
//! them about one person (`SubjectExport`). The other outputs of the binary, by
//! resource, are in the modules of `views/`: the command paths (`commands`), the
//! auditor's reads (`replay`), the ledger's health (`ledger`), the materialized
//! projections' maintenance (`materialized`), the demo's summary (`demo`), the
//! HTTP service's own answers (`service`), the personal space (`accounts`),
//! the person's data as such: retention and access requests (`personal`), and
//! the bank files' commands (`bank`).
//! This crate is the only one that derives serde, so they all live here; each
//! has its JSON Schema under `schemas/views/`.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{
    ChargeLine, FeeKind, OperationDecision, RefundMethod, RefundReason, SuspensionCause,
    TerminationReason,
};
use crate::mandate::MandateView;
use crate::types::{Channel, DebitDay, PaymentSetup, Product, Support};
use crate::{Money, RuleId, YearMonth};

mod accounts;
mod as_of;
mod bank;
mod commands;
mod demo;
pub mod instant;
mod ledger;
mod lists;
mod materialized;
mod personal;
mod proofs;
mod replay;
mod service;

pub use accounts::{
    AccountCreated, AccountStatus, Attestation, AttestationHolder, AttestationStatus, MyContracts,
    OnlineRenewal, SessionOpened,
};
pub use as_of::AsOf;
pub use bank::{BankImportView, CollectionFileView, CreditorView, RefundFileView};
pub use commands::{
    Accepted, ApplyOutcome, BatchFailure, BatchOutcome, BatchOutcomes, CommandAccepted, StoredEvent,
};
pub use demo::{
    DemoAmounts, DemoAudit, DemoBalances, DemoChain, DemoOperationRefunds, DemoProjections,
    DemoRequests, DemoSummary, DemoViewRows,
};
pub use ledger::{
    FirstBad, HeadView, LogRootsView, MigrateView, ResealView, StatsView, VerifyAnswer, VerifyView,
};
pub use lists::{ListItem, ListPage, PersonSummary};
pub use materialized::{
    FollowProgress, ProjectionCheck, ProjectionHashes, ProjectionMismatch, RebuildSummary,
};
pub use personal::{
    AddressFrom, RetentionDueView, RetentionPolicyView, RetentionView, SubjectAccount,
    SubjectIdentity, SubjectPlace, SubjectRole,
};
pub use proofs::{
    AgainstView, BundleRecord, BundleStream, CheckpointList, CheckpointView, ConsistencyProofView,
    Difference, DisputeBundle, InclusionProofView, KeyCreated, StreamProofView,
};
pub use replay::{
    AuditEntryView, AuditTrail, CauseView, ChangeView, DiffView, HypotheticalEvent,
    WhatIfJudgement, WhatIfOutcome, WhatIfView,
};
pub use service::{
    ErrorBody, ErrorKind, FeedPage, Health, Live, PartnerAnswer, PartnerCode, Readiness, Ready,
};

/// What a row of a balance statement counts (`PAY-DUE-VS-COLLECTED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BalanceItem {
    /// A fee charged (its kind in the row's `fee`): due only; the payment of a
    /// fee is collected by a debit (its month's row) or a one-off payment (the
    /// `payments` row).
    Fee,
    /// Cash (`PAY-CASH`): the annual prices paid in cash (subscription, renewal,
    /// switch to cash, resumption, `ZONE-UP` differences), net of the unused part
    /// refunded (`PAY-CASH-REFUND`). Due only; the money received is in the
    /// `payments` row.
    Cash,
    /// Money received outside a month's debit: the dossier fee and cash paid at
    /// subscription, cash payments, debt settlements, Trésor Public settlements.
    /// Collected only.
    Payments,
    /// Refunds paid. Returned only.
    Refunds,
    /// The travel of one month paid by direct debit (or at the agency for the
    /// first month, `SUB-FIRST-PAYMENT`): what the month costs and what the
    /// debits presented for it collected, net of rejections.
    Month,
}

/// One row of a balance statement. The rows of a balance add up to its totals:
/// the sum of their `due`, `collected` and `returned` are the totals' (checked on
/// every view, `PAY-DUE-VS-COLLECTED`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceRow {
    /// What the row counts.
    pub item: BalanceItem,
    /// The month, for a `month` row (absent otherwise).
    pub month: Option<YearMonth>,
    /// The kind of fee, for a `fee` row (absent otherwise).
    pub fee: Option<FeeKind>,
    /// Due.
    pub due: Money,
    /// Collected.
    pub collected: Money,
    /// Returned (refunds paid).
    pub returned: Money,
}

/// Totals of a balance (`PAY-DUE-VS-COLLECTED`): balance = due − collected +
/// returned; positive is a debt, negative a credit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceTotals {
    /// Total due.
    pub due: Money,
    /// Total collected.
    pub collected: Money,
    /// Total returned (refunds paid).
    pub returned: Money,
    /// due − collected + returned.
    pub balance: Money,
    /// The debt (positive balance), zero when none.
    pub debt: Money,
    /// The credit (negative balance, as a positive amount), zero when none.
    pub credit: Money,
    /// Refunds due and not yet paid.
    pub refunds_pending: Money,
}

/// The balance of one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractBalance {
    /// The contract.
    pub contract: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// Totals.
    pub totals: BalanceTotals,
    /// The statement: fees, cash, payments and refunds, then one row per month
    /// in month order; their amounts add up to the totals.
    pub rows: Vec<BalanceRow>,
}

/// The balance of a payer: every contract they pay or paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerBalance {
    /// The payer.
    pub payer: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// Sum over the contracts.
    pub totals: BalanceTotals,
    /// One balance per contract.
    pub contracts: Vec<ContractBalance>,
}

/// The status of one row of a debit calendar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DebitStatus {
    /// Not yet presented on the date read.
    Scheduled,
    /// Presented; the bank may still reject it.
    Presented,
    /// Presented and not rejected.
    Collected,
    /// Rejected and the debt not settled yet.
    Rejected,
    /// Rejected, then the debt was settled.
    Settled,
    /// Taken although no longer owed, and refunded (`PAY-CUTOFF`, `PAY-REFUND-30D`).
    Refunded,
    /// No debit: the contract is suspended that month.
    NoneSuspended,
    /// No debit of its own: the month's installment is a line of the later
    /// debit on the row's date (a resumption or a change registered after the
    /// month's debit was prepared, `PAY-CUTOFF`); that debit's row says whether
    /// it was taken.
    Carried,
    /// No debit: the contract is terminated that month.
    NoneTerminated,
}

/// One month of a debit calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarRow {
    /// The month.
    pub month: YearMonth,
    /// The debit date (debit day, Paris calendar); `None` when no debit.
    pub debit_date: Option<NaiveDate>,
    /// The amount debited.
    pub amount: Money,
    /// Its composition: full, prorated (with days), free month, Senior, carried
    /// differences, dossier fee, credit deducted; each line names its tariff entry
    /// and the entry's verified / derived / unverified mark.
    pub lines: Vec<ChargeLine>,
    /// The status on the date read.
    pub status: DebitStatus,
    /// Whether the row was read from a recorded event (false: forecast by the
    /// billing clock from the state as known).
    pub recorded: bool,
}

/// A renewal deadline of a cash contract for one channel (`PAY-CASH`, §4.13.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalDeadline {
    /// The channel.
    pub channel: Channel,
    /// Last day the renewal payment is accepted by that channel.
    pub last_day: NaiveDate,
}

/// The cash coverage of a contract paid in cash (`PAY-CASH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashCoverage {
    /// First day covered by the current cash period.
    pub from: NaiveDate,
    /// Last day covered.
    pub until: NaiveDate,
    /// The date the renewal notice is due (45 days before the end).
    pub renewal_notice_date: NaiveDate,
    /// Whether the notice was sent by the date read.
    pub renewal_notice_sent: bool,
    /// Renewal deadlines by channel.
    pub deadlines: Vec<RenewalDeadline>,
}

/// The debit calendar of a contract, from its start to a horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebitCalendar {
    /// The contract.
    pub contract: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// Last month shown.
    pub horizon: YearMonth,
    /// One row per month.
    pub rows: Vec<CalendarRow>,
    /// Cash coverage, for a contract paid in cash on the date read.
    pub cash: Option<CashCoverage>,
}

/// The role a ban bars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BanRoleView {
    /// Payer of a new contract.
    Payer,
    /// Holder of a new contract.
    Holder,
}

/// An early end of a ban window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BanLift {
    /// First day no longer banned.
    pub date: NaiveDate,
    /// Why.
    pub why: String,
}

/// One ban window of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BanWindowView {
    /// `BAN-UNPAID-2M`, `BAN-TREASURY-2Y`, `BAN-FRAUD-3Y` or `BAN-UNPAID-2011`.
    pub rule: RuleId,
    /// The role barred.
    pub role: BanRoleView,
    /// First day banned.
    pub start: NaiveDate,
    /// First day no longer banned (exclusive), lift included.
    pub end: NaiveDate,
    /// The end before any lift (exclusive).
    pub until: NaiveDate,
    /// Lifted early: when and why, if it was by the date read.
    pub lifted: Option<BanLift>,
    /// The event that opened the window.
    pub opened_by_event: Uuid,
    /// The contract concerned.
    pub contract: Uuid,
    /// The rulebook whose duration applies.
    pub rulebook: String,
    /// Whether the window bars its role on the date read.
    pub active: bool,
}

/// The answer to "may this person be payer / holder on date D?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MayBe {
    /// Yes or no.
    pub allowed: bool,
    /// The window that forbids it.
    pub forbidden_by: Option<BanWindowView>,
}

/// The ban windows of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBans {
    /// The person.
    pub person: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// Every window opened by the date read.
    pub windows: Vec<BanWindowView>,
    /// May the person be payer on the date read?
    pub may_be_payer: MayBe,
    /// May the person be holder on the date read?
    pub may_be_holder: MayBe,
}

/// Where a refund stands on the date read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Due, within its deadline.
    Due,
    /// Paid.
    Paid,
    /// Due and past its deadline.
    Overdue,
}

/// A refund due to a person: cash over-payment, debit after a cutoff, credit,
/// punctuality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundView {
    /// The `RefundDue` event.
    pub event_id: Uuid,
    /// The contract, for a contract refund.
    pub contract: Option<Uuid>,
    /// Why.
    pub reason: RefundReason,
    /// Amount.
    pub amount: Money,
    /// Date it became due.
    pub date: NaiveDate,
    /// Pay by.
    pub due_by: NaiveDate,
    /// How.
    pub method: RefundMethod,
    /// To whom.
    pub beneficiary: Uuid,
    /// Status on the date read.
    pub status: RefundStatus,
}

/// Where a punctuality claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// No request nor claim filed: the operations are the entitlement as assessed.
    NotFiled,
    /// Filed and decided: nothing granted.
    DecidedNothing,
    /// Filed and decided: a refund granted.
    Granted,
}

/// The punctuality entitlement of a holder for one campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEntitlement {
    /// The campaign stream id.
    pub campaign_id: Uuid,
    /// Its name.
    pub name: String,
    /// Per operation: eligible or not, the rule that decides, the held months, the
    /// amount and how it was computed.
    pub operations: Vec<OperationDecision>,
    /// Who would be (or was) paid.
    pub beneficiary: Option<Uuid>,
    /// Total granted or grantable.
    pub total: Money,
    /// Claim status.
    pub claim: ClaimStatus,
    /// A note by the rule that stops a filing on the date read: outside the filing
    /// window (`REF-WINDOW`) the operations are those a request filed on the
    /// window's first day would get; for another refusal (`REF-CLAIMANT`...) no
    /// operation is assessed.
    pub not_assessable: Option<String>,
}

/// The refund entitlements of a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRefunds {
    /// The person.
    pub person: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// Punctuality campaigns, for the person as holder.
    pub campaigns: Vec<CampaignEntitlement>,
    /// Refunds due to the person (as beneficiary) or on their contracts.
    pub refunds: Vec<RefundView>,
}

/// A status of a contract from a date on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatusView {
    /// In force.
    Active {
        /// From.
        from: NaiveDate,
    },
    /// Suspended.
    Suspended {
        /// From.
        from: NaiveDate,
        /// Why.
        cause: SuspensionCause,
    },
    /// Terminated.
    Terminated {
        /// From.
        from: NaiveDate,
        /// Why.
        reason: TerminationReason,
    },
    /// Not started yet on the date read.
    NotStarted {
        /// Start date.
        from: NaiveDate,
    },
}

/// The product from a date on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductFrom {
    /// From.
    pub from: NaiveDate,
    /// Product and zones.
    pub product: Product,
}

/// The position in the free-month cycle (`PAY-FREE-MONTH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreeMonthCycle {
    /// Start of the period that carries the cycle.
    pub cycle_start: NaiveDate,
    /// The rulebook of the cycle.
    pub rulebook: String,
    /// The next free month on or after the date read.
    pub next_free_month: YearMonth,
    /// Months from the date read's month to it.
    pub months_until: i32,
}

/// A yes / no answer by a rule, with the message of a no.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleAnswer {
    /// Yes or no.
    pub yes: bool,
    /// The rule.
    pub rule: RuleId,
    /// Why, for a no; the date for a retention.
    pub message: Option<String>,
}

/// The payment method from a month on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentFrom {
    /// First month debited (or paid) this way.
    pub from_month: YearMonth,
    /// The method, with the debit day and the mandate in force from that month.
    pub payment: PaymentView,
}

/// A payment method as a view shows it (`PAY-METHOD`): a direct debit's
/// mandate with its IBAN masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentView {
    /// Monthly SEPA direct debit.
    DirectDebit {
        /// Day of the month the debit is taken.
        debit_day: DebitDay,
        /// The mandate, its IBAN masked.
        mandate: MandateView,
    },
    /// Annual payment in one go (au comptant).
    Cash,
}

impl From<&PaymentSetup> for PaymentView {
    fn from(p: &PaymentSetup) -> PaymentView {
        match p {
            PaymentSetup::DirectDebit { debit_day, mandate } => PaymentView::DirectDebit {
                debit_day: *debit_day,
                mandate: MandateView::from(mandate),
            },
            PaymentSetup::Cash => PaymentView::Cash,
        }
    }
}

/// The payer from a month on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerFrom {
    /// First month debited from this payer.
    pub from_month: YearMonth,
    /// The payer.
    pub payer: Uuid,
}

/// Changes known on the date read that take effect after it: a status, product,
/// payment or payer that does not hold on that date yet. Each list is in date
/// order; all are empty when nothing is scheduled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledChanges {
    /// Statuses from a later date (a suspension, resumption or termination
    /// registered ahead of its effective date).
    pub statuses: Vec<StatusView>,
    /// Products from a later date (a deferred zone change, `ZONE-WHEN`).
    pub products: Vec<ProductFrom>,
    /// Payment methods, debit days or mandates from a later month
    /// (`PAY-DEBIT-DAY`, `PAY-CUTOFF`).
    pub payments: Vec<PaymentFrom>,
    /// Payers from a later month (`PAY-PAYER-CHANGE`, `PAY-CUTOFF`).
    pub payers: Vec<PayerFrom>,
}

/// The state of a contract on a date: what holds on that date, and apart, in
/// `scheduled`, what is known to change after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractStateView {
    /// The contract.
    pub contract: Uuid,
    /// As of.
    pub as_of: AsOf,
    /// The holder.
    pub holder: Uuid,
    /// The status on the date read.
    pub status: StatusView,
    /// The status timeline up to the date read (later changes are in
    /// `scheduled`).
    pub statuses: Vec<StatusView>,
    /// The product on the date read.
    pub product: Product,
    /// The product and zones timeline up to the date read (later changes are in
    /// `scheduled`).
    pub products: Vec<ProductFrom>,
    /// The payment method for the month of the date read, with the debit day and
    /// the mandate in force for that month (`PAY-DEBIT-DAY`): the one debit day
    /// of the view. The mandate's IBAN is masked.
    pub payment: Option<PaymentView>,
    /// The payer for that month.
    pub payer: Uuid,
    /// The active support.
    pub support: Support,
    /// Losses in the current free-replacement period (`LOSS-FREE`).
    pub losses_in_free_period: u32,
    /// Losses in the last 12 months (`LOSS-TERMINATION`).
    pub losses_last_12_months: u32,
    /// The free-month cycle, for an Annual contract in force.
    pub free_month: Option<FreeMonthCycle>,
    /// `TERM-ATTESTATION` for the holder on the date read.
    pub attestation: RuleAnswer,
    /// `TERM-RETENTION` of the holder's data.
    pub retention: RuleAnswer,
    /// Changes known on the date read that take effect after it.
    pub scheduled: ScheduledChanges,
}

/// Why a contract is or is not valid in a zone at an instant (`USE-DEZONAGE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValidityReason {
    /// The zone is among the contract's zones.
    Covered,
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday.
    PublicHoliday,
    /// 15 July to 15 August.
    Summer,
    /// Zone C school holidays.
    SchoolHolidays {
        /// Their name.
        name: String,
    },
    /// Outside the zones, no dézonage.
    NotCovered,
    /// The contract is suspended then.
    Suspended,
    /// The contract is terminated then.
    Terminated,
    /// The contract has not started then.
    NotStarted,
}

/// May this contract be used in zone Z at instant T?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidityView {
    /// The contract.
    pub contract: Uuid,
    /// The zone.
    pub zone: u8,
    /// The instant of validation.
    pub instant: DateTime<Utc>,
    /// Yes or no.
    pub valid: bool,
    /// Always `USE-DEZONAGE`.
    pub rule: RuleId,
    /// Why.
    pub reason: ValidityReason,
}

/// A contract's state and whether it may be used in a zone (`navigo-ledger state
/// --zone Z --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateAndValidity {
    /// The state.
    pub state: ContractStateView,
    /// The answer for the zone (`USE-DEZONAGE`).
    pub validity: ValidityView,
}

/// A dispute bundle (`proofs::DisputeBundle`) checked offline (`navigo-ledger
/// verify-bundle`): its
/// checkpoints, proofs and records hold, and the views of its contract (a
/// contract's bundle) or of each of its person's contracts (a person's bundle)
/// recomputed from its records as known at the bundle's instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleCheck {
    /// Every signature, proof and record holds.
    pub ok: bool,
    /// The contract, for a contract's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// The person, for a person's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The instant read as known at.
    pub known_at: String,
    /// The bundle's checkpoint's size, and the newest checkpoint's.
    pub checkpoint_size: u64,
    /// The newest checkpoint's size.
    pub latest_size: u64,
    /// Records checked.
    pub records_checked: u64,
    /// The contract's balance recomputed from the bundle (a contract's
    /// bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<ContractBalance>,
    /// The contract's debit calendar recomputed from the bundle (a contract's
    /// bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<DebitCalendar>,
    /// Each of the person's contracts with its views recomputed from the
    /// bundle (a person's bundle), in the order of their ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<BundleContractCheck>,
}

/// One contract of a person's bundle, its views recomputed from the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleContractCheck {
    /// The contract.
    pub contract: String,
    /// Its balance.
    pub balance: ContractBalance,
    /// Its debit calendar.
    pub calendar: DebitCalendar,
}

/// A contract of the person, with its views on the date read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectContract {
    /// The contract.
    pub contract: Uuid,
    /// How it concerns the person.
    pub roles: Vec<SubjectRole>,
    /// Its state (`state`).
    pub state: ContractStateView,
    /// Its balance (`balance`).
    pub balance: ContractBalance,
    /// Its debit calendar (`calendar`).
    pub calendar: DebitCalendar,
}

/// `subject-export PERSON`: everything the ledger holds about a person, in
/// readable form (an access request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectExport {
    /// The person.
    pub person: Uuid,
    /// The date the views are read on, everything known.
    pub as_of: AsOf,
    /// The instant of the export, with a numeric offset.
    #[serde(with = "instant::offset")]
    #[schemars(with = "DateTime<Utc>")]
    pub exported_at: DateTime<Utc>,
    /// Who the person is.
    pub identity: SubjectIdentity,
    /// Every contract the person holds, pays or paid, or is named in a fraud
    /// of, in id order.
    pub contracts: Vec<SubjectContract>,
    /// Their ban windows (`bans`).
    pub bans: PersonBans,
    /// Their refund entitlements (`refunds`).
    pub refunds: PersonRefunds,
    /// Their personal-space account, if any.
    pub account: Option<SubjectAccount>,
    /// The mandates they signed as payer, with their accounts in full.
    pub mandates: Vec<SubjectMandate>,
    /// Every event of the person's stream and of those contracts, decoded, in
    /// log order (their sealed fields as stored: the clear values are in
    /// `identity` and `mandates`).
    pub events: Vec<StoredEvent>,
}

/// A mandate the person signed, in an access request.
///
/// Decision: the access request shows the IBAN in full, unlike every view,
/// since it is the person's own data (GDPR art. 15: a copy of the personal
/// data); the file is written readable by its owner only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectMandate {
    /// The contract debited under it.
    pub contract: Uuid,
    /// First month debited under it.
    pub from_month: YearMonth,
    /// Unique mandate reference (UMR).
    pub reference: String,
    /// Signature date; absent for a mandate recorded before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_on: Option<NaiveDate>,
    /// The debtor's account in full: absent for a legacy mandate or once
    /// unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor: Option<crate::mandate::DebtorAccount>,
}
