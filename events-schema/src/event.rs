//! The event types. Each is a past-tense variant of [`Event`] with a payload struct,
//! a stable type name (the variant name) and a schema version.
//!
//! On disk an event is `{"type": "...", "schema_version": N, "data": {...}}` inside the
//! envelope. Reading an older version goes through [`crate::upcast`] first.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rule::RuleId;
use crate::sealed::{Sealed, SealedField};
use crate::types::{
    ActivityDeclaration, Address, Channel, ClientNumber, DebitDay, Mandate, Mark, Money,
    PaymentSetup, PlaceKind, Product, ProductKey, ReasonCode, Support, YearMonth, Zones,
};

// ---------------------------------------------------------------------------
// Person stream

/// A person (holder and/or payer) became known to the ledger. Version 2 seals
/// everything but the client number with the person's key ([`Sealed`]); version 1
/// held the same fields in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRegistered {
    /// Customer number (numéro client): the operator's identifier of the person,
    /// kept in clear so that an erased person's contracts stay traceable.
    pub client_number: ClientNumber,
    /// Names, birth date, proof of emancipation and residence, sealed.
    pub personal: Sealed<PersonDetails>,
}

/// The personal data of a registration (`PersonRegistered`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonDetails {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Birth date (`SUB-AGE`, `SUB-SENIOR`, `REF-CLAIMANT`).
    pub birth_date: NaiveDate,
    /// Reference of the proof of emancipation of a minor aged 16 or 17, if any
    /// (`SUB-AGE`: such a minor may be payer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emancipation_proof: Option<String>,
    /// Residence from the event's effective date (`REF-PLACE`).
    pub address: Address,
}

/// The person's residence changed from the event's effective date on. Version 2
/// seals the address with the person's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressChanged {
    /// The new residence, sealed.
    pub address: Sealed<Address>,
}

/// The person declared a place of work or study, with proof (`REF-PLACE`).
/// Version 2 seals the municipality and the proof with the person's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkStudyPlaceDeclared {
    /// Work or study.
    pub kind: PlaceKind,
    /// Where, and the proof, sealed.
    pub place: Sealed<PlaceProof>,
}

/// The personal data of a declared place of work or study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceProof {
    /// Municipality of the place, as written in the campaign lists.
    pub municipality: String,
    /// Reference of the proof document.
    pub proof_ref: String,
}

/// The person's personal data was erased (`TERM-RETENTION`): the person's key was
/// destroyed before this event was appended, so every field sealed with it is
/// unreadable for good. The operator and the instant are the envelope's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataErased {
    /// The legal basis of the erasure, as the operator stated it.
    pub basis: String,
}

/// The first record of a ledger written by `reseal` from an older one: what the
/// old log was when it was read (its size, head hash, Merkle root and store
/// format), so that the new chain is tied to the old one and an auditor holding
/// a checkpoint of the old log can check the claim against it. It is the only
/// event of the ledger's own stream ([`crate::StreamId::ledger`]); the operator
/// is the envelope's actor.
///
/// Decision: the record's recorded-at instant is the old log's first record's
/// (a log's instants never decrease, and every copied record keeps its own),
/// so the instant the reseal ran is stated here, in `resealed_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerResealed {
    /// The records of the old log (its head position).
    pub source_records: u64,
    /// The BLAKE3 hash of the old log's last record (its chain head),
    /// hexadecimal (64 digits, all zeros for an empty log).
    pub source_head_hash: String,
    /// The recorded-at instant of the old log's last record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_head_recorded_at: Option<DateTime<Utc>>,
    /// The size of the old log's Merkle tree (its record count).
    pub source_tree_size: u64,
    /// The SHA-256 root of the old log's Merkle tree (RFC 6962) of that size,
    /// hexadecimal (64 digits).
    pub source_tree_root: String,
    /// The old store's format, as its marker names it.
    pub source_store_format: String,
    /// The server's instant when the reseal ran.
    pub resealed_at: DateTime<Utc>,
}

/// A filer asked for a punctuality refund for this holder (`REF-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundClaimFiled {
    /// The campaign stream id.
    pub campaign_id: Uuid,
    /// The person filing: the holder, the payer or a legal guardian (`REF-CLAIMANT`).
    pub filer: Uuid,
    /// In which capacity the filer acts.
    pub filer_capacity: FilerCapacity,
    /// A request inside the filing window, or a claim (complaint) until the claims
    /// deadline (`REF-WINDOW`).
    pub kind: ClaimKind,
}

/// Capacity of a refund filer (`REF-CLAIMANT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilerCapacity {
    /// The holder.
    Holder,
    /// The payer of one of the holder's contracts.
    Payer,
    /// The legal guardian of a minor filer.
    LegalGuardian,
}

/// Request or claim (`REF-WINDOW`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// A refund request inside the filing window.
    Request,
    /// A complaint about a request's outcome, until the claims deadline.
    Claim,
}

/// The outcome of a punctuality refund claim, per operation of the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundClaimDecided {
    /// The event id of the [`RefundClaimFiled`] decided.
    pub claim_event_id: Uuid,
    /// The campaign stream id.
    pub campaign_id: Uuid,
    /// One line per operation of the campaign.
    pub operations: Vec<OperationDecision>,
    /// Who receives the refund (`REF-BENEFICIARY`), when anything is granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<Uuid>,
    /// Total granted over all operations.
    pub total: Money,
}

/// The decision on one operation of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationDecision {
    /// Operation id within the campaign.
    pub operation: String,
    /// Eligible or not.
    pub eligible: bool,
    /// The rule that decided (`REF-MIN-3`, `REF-PLACE`, `REF-AMOUNT`...).
    pub rule: RuleId,
    /// Held months among the operation's bad months (`REF-HELD-MONTHS`).
    pub held_months: Vec<YearMonth>,
    /// Amount granted (zero when not eligible).
    pub amount: Money,
    /// How the amount was computed, for a person to read.
    pub explanation: String,
}

// ---------------------------------------------------------------------------
// Contract stream

/// A contract was subscribed. The event's effective date is the start date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractSubscribed {
    /// The holder (person stream id).
    pub holder: Uuid,
    /// The payer (person stream id); may be the holder.
    pub payer: Uuid,
    /// Annual on a zone range, or Senior.
    pub product: Product,
    /// Channel of the request (`SUB-WINDOW`).
    pub channel: Channel,
    /// Direct debit or cash (`PAY-METHOD`).
    pub payment: PaymentSetup,
    /// Financed by a third-party payer (Tiers Payant, `SUB-THIRD-PARTY`).
    pub third_party_payer: bool,
    /// Senior activity declaration (`SUB-SENIOR`), for Senior contracts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senior_declaration: Option<ActivityDeclaration>,
    /// The support the contract is loaded on (`LOSS-SUPPORT`).
    pub support: Support,
    /// The rulebook in force on the request date, which judged it (RULES.md §0).
    pub rulebook: String,
    /// Remaining days of the start month, both ends included (RULES.md §0).
    pub remaining_days: u32,
    /// First month of the first free-month cycle's free month (`PAY-FREE-MONTH`);
    /// none for Senior (`PAY-SENIOR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_free_month: Option<YearMonth>,
}

/// The first payment was collected at subscription (`SUB-FIRST-PAYMENT`): the
/// first month's amount at the agency, or the annual price for cash, plus the
/// dossier fee (`TAR-DOSSIER-FEE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstPaymentCollected {
    /// Amount for travel (first month, or the annual price for cash).
    pub amount: Money,
    /// Dossier fee included in the payment.
    pub dossier_fee: Money,
    /// How it was paid.
    pub means: PaymentMeans,
    /// The months of travel this payment covers, first and last included.
    pub covers_from: YearMonth,
    /// Last month covered.
    pub covers_until: YearMonth,
    /// The composition of the amount.
    pub lines: Vec<ChargeLine>,
}

/// How a one-off payment was made (`PAY-REFUND-METHOD` reads it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMeans {
    /// Bank card online.
    CardOnline,
    /// Bank card at an agency or by phone.
    Card,
    /// Cheque.
    Cheque,
    /// Cash at an agency.
    Cash,
    /// Direct debit.
    DirectDebit,
}

/// The payer chose another debit day, effective from a month (`PAY-DEBIT-DAY`,
/// `PAY-CUTOFF`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebitDayChanged {
    /// The new day.
    pub debit_day: DebitDay,
    /// First month debited on the new day.
    pub effective_from_month: YearMonth,
}

/// A new payer took over (`PAY-PAYER-CHANGE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerChanged {
    /// The new payer (person stream id).
    pub payer: Uuid,
    /// The new payer's mandate (direct debit contracts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate: Option<Mandate>,
    /// First month debited from the new payer (`PAY-CUTOFF`).
    pub effective_from_month: YearMonth,
}

/// The mandate or bank account changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MandateChanged {
    /// The new mandate.
    pub mandate: Mandate,
    /// First month debited on it (`PAY-CUTOFF`).
    pub effective_from_month: YearMonth,
}

/// The payer revoked the mandate (`PAY-PAYER-CHANGE`, CGVU-2026 §4.14.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MandateRevoked {
    /// The mandate reference revoked.
    pub reference: String,
}

/// The payment method changed (`PAY-SWITCH-TO-CASH`, `PAY-SWITCH-TO-DEBIT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodSwitched {
    /// The new method.
    pub to: PaymentSetup,
    /// First month under the new method (`PAY-CUTOFF`).
    pub effective_from_month: YearMonth,
    /// For a switch to cash: the annual price minus the installments already paid
    /// in the current 12-month cycle, due at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<Money>,
}

/// One line of a charge: what it is, how much, and the tariff entry used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeLine {
    /// What the line is.
    pub kind: ChargeKind,
    /// Signed amount (negative for a credit deducted).
    pub amount: Money,
    /// Number of days for a prorated month (`TAR-PRORATA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// The month the line is for.
    pub month: YearMonth,
    /// The tariff entry used, when the line comes from a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff: Option<TariffRef>,
}

/// The kinds of charge lines (`TAR-*`, `PAY-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    /// A full Annual installment (annual / 11, `TAR-INSTALLMENT`).
    FullInstallment,
    /// A prorated month (`TAR-PRORATA`).
    Prorated,
    /// The free month (`PAY-FREE-MONTH`): amount zero.
    FreeMonth,
    /// A Senior installment (annual / 12, `PAY-SENIOR`).
    SeniorInstallment,
    /// A difference carried from a zone change (`ZONE-UP`/`ZONE-DOWN`).
    ZoneDifference,
    /// A difference carried from a late cutoff (`PAY-CUTOFF`).
    CutoffDifference,
    /// A credit deducted from the debit (`PAY-DUE-VS-COLLECTED`).
    CreditDeducted,
    /// Debt carried onto the debit.
    DebtCarried,
    /// Dossier fee (`TAR-DOSSIER-FEE`).
    DossierFee,
    /// The annual cash price (`PAY-CASH`).
    CashAnnual,
}

/// The tariff entry a price came from, with its verified / derived / unverified mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffRef {
    /// The product key priced.
    pub product: ProductKey,
    /// The tariff's effective-from date.
    pub effective_from: NaiveDate,
    /// The annual price used.
    pub annual: Money,
    /// The mark of that price in the catalogue.
    pub mark: Mark,
}

/// A monthly direct debit was presented to the bank. The event's effective date is
/// the debit date. The debit counts as collected unless a [`DebitRejected`] follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebitPresented {
    /// The month the debit is for.
    pub month: YearMonth,
    /// Total presented: the sum of the lines.
    pub amount: Money,
    /// The part of the amount owed (`PAY-DUE-VS-COLLECTED`): the sum of the lines
    /// that create an obligation (installments, prorated months, differences, fees),
    /// minus the debit's own month when that month is no longer owed because a
    /// change registered after the cutoff stopped it (`PAY-CUTOFF` Decision: the
    /// prepared debit is still taken and the difference refunded, `PAY-REFUND-30D`).
    /// Credit deductions and carried debt are not new obligations.
    pub due: Money,
    /// The composition.
    pub lines: Vec<ChargeLine>,
    /// The mandate debited.
    pub mandate_reference: String,
    /// The payer debited.
    pub payer: Uuid,
}

/// The bank rejected a debit (`PAY-REJECT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebitRejected {
    /// The event id of the [`DebitPresented`].
    pub debit_event_id: Uuid,
    /// The month of that debit.
    pub month: YearMonth,
    /// The amount rejected, which becomes debt.
    pub amount: Money,
    /// ISO 20022 reason code.
    pub reason_code: ReasonCode,
    /// Whether the code is attributable to the payer (`TAR-REJECT-FEE`).
    pub attributable_to_payer: bool,
}

/// Debt was settled (`PAY-REJECT`: online by card, by phone, at an agency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebtSettled {
    /// Amount settled.
    pub amount: Money,
    /// How.
    pub via: SettlementChannel,
}

/// Where a debt was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettlementChannel {
    /// Online, by card.
    OnlineCard,
    /// By phone.
    Phone,
    /// At an agency.
    Agency,
    /// With the Trésor Public, after a notice (`BAN-TREASURY-2Y`).
    TresorPublic,
}

/// A cash payment was received: a renewal or a switch to cash (`PAY-CASH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashPaymentReceived {
    /// Amount received.
    pub amount: Money,
    /// The amount this payment makes due (`PAY-DUE-VS-COLLECTED`): the price of the
    /// period for a renewal; zero when it pays an amount already due (a switch to
    /// cash, whose amount is due from `PaymentMethodSwitched`).
    pub due: Money,
    /// How it was paid.
    pub means: PaymentMeans,
    /// Channel of the payment (renewal deadlines differ per channel).
    pub channel: Channel,
    /// First month covered.
    pub covers_from: YearMonth,
    /// Last month covered.
    pub covers_until: YearMonth,
}

/// A cash renewal notice was sent, at least 45 days before the end (`PAY-CASH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashRenewalNoticeSent {
    /// Last day of the period being renewed.
    pub period_end: NaiveDate,
    /// Amount to pay for the next 12 months.
    pub amount: Money,
}

/// A refund became due (`PAY-REFUND-30D`, `PAY-CASH-REFUND`, `TERM-BY-AGENCY`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundDue {
    /// Amount to refund.
    pub amount: Money,
    /// Why.
    pub reason: RefundReason,
    /// Latest date of payment.
    pub due_by: NaiveDate,
    /// Channel of the refund (`PAY-REFUND-METHOD`).
    pub method: RefundMethod,
    /// The person refunded.
    pub beneficiary: Uuid,
}

/// Why a refund is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// A debit taken after a change registered past the cutoff (`PAY-REFUND-30D`).
    DebitAfterCutoff,
    /// Unused part of a cash payment (`PAY-CASH-REFUND`).
    CashUnused,
    /// A credit on a suspended or terminated contract (`PAY-DUE-VS-COLLECTED`).
    Credit,
    /// Balance of a contract ended because the service was withdrawn (§12.3).
    ServiceWithdrawn,
    /// A punctuality campaign refund (`REF-AMOUNT`).
    Punctuality,
}

/// How a refund is paid (`PAY-REFUND-METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Lettre-chèque.
    LettreCheque,
    /// Back to the card used online.
    Card,
    /// Bank transfer.
    BankTransfer,
}

/// A refund was paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundPaid {
    /// The event id of the [`RefundDue`] paid.
    pub refund_event_id: Uuid,
    /// Amount paid.
    pub amount: Money,
    /// How.
    pub method: RefundMethod,
}

/// The contract was suspended from the event's effective date (`SUSP-*`): the
/// first day no longer in force.
///
/// Version 2 states what is due and what is debited: `not_due_from` and
/// `prepared_debits_refunded` were added; version 1 is upcast on load with the
/// envelope's effective date (see [`crate::upcast`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractSuspended {
    /// Why.
    pub cause: SuspensionCause,
    /// Planned resumption date given with the request (`SUSP-RESUME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_resumption: Option<NaiveDate>,
    /// First month not due (`SUSP-MONTH-DUE`): the month after the month of the
    /// last day in force. The month in progress on that day is due in full; a
    /// suspension effective on the 1st of a month leaves that month not due.
    pub not_due_from: YearMonth,
    /// First month whose debit is no longer presented (`PAY-CUTOFF`): the first
    /// month not due, or a later one when the suspension was registered after the
    /// debit of a month not due was prepared.
    pub billing_stops_from: YearMonth,
    /// The months not due whose debit was already prepared when the suspension was
    /// registered (`PAY-CUTOFF`): the months from `not_due_from` to
    /// `billing_stops_from`, excluded. A debit presented for one of them is taken
    /// as prepared, nothing of it is due, and it is refunded in full within 30
    /// days (`PAY-REFUND-30D`); no debit is presented for a free month or a month
    /// paid in cash. Empty when debits stop with the first month not due.
    pub prepared_debits_refunded: Vec<YearMonth>,
}

/// Why a contract was suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionCause {
    /// The customer asked (`SUSP-ANYTIME`).
    Request,
    /// A cash period ended without renewal (`PAY-CASH`).
    CashPeriodEnded,
}

/// The contract resumed from the event's effective date (`SUSP-RESUME`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractResumed {
    /// The rulebook in force on the resumption date, which governs the new cycle.
    pub rulebook: String,
    /// Remaining days of the resumption month.
    pub remaining_days: u32,
    /// First month whose debit is presented again (`PAY-CUTOFF`). The months in
    /// force from the resumption before it (the resumption month per
    /// `TAR-PRORATA`) are due and collected with that first debit (`PAY-CUTOFF`
    /// Decision: never silently dropped).
    pub billing_from: YearMonth,
    /// The free month of the restarted cycle (`PAY-FREE-MONTH`); none for Senior.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_free_month: Option<YearMonth>,
    /// The payment method from the resumption on (`PAY-SWITCH-TO-DEBIT` allows a
    /// change here).
    pub payment: PaymentSetup,
    /// Cash contracts only: the price of the new cash period of 12 consecutive
    /// months from the resumption date, at the annual price in force on that date,
    /// made due by the resumption (CGVU-2026 §11.3, `SUSP-RESUME`, `PAY-CASH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_due: Option<Money>,
}

/// The zones changed from the event's effective date (`ZONE-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZonesChanged {
    /// Old range.
    pub from: Zones,
    /// New range.
    pub to: Zones,
    /// Dearer (`ZONE-UP`) or cheaper (`ZONE-DOWN`) on the effective date.
    pub direction: ZoneDirection,
    /// First month billed at the new installment.
    pub billed_from_month: YearMonth,
    /// Cash contracts only, on a change to a dearer product (`ZONE-UP`, §7.6): the
    /// installment difference for the month of the effective date and every other
    /// month of the paid cash period (its free month excepted), due at once. A
    /// change to a cheaper product is credited by a `RefundDue` (`cash_unused`) of
    /// the same decision instead (`ZONE-DOWN`, §7.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_due: Option<Money>,
}

/// Direction of a zone change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneDirection {
    /// To a dearer product.
    Up,
    /// To a cheaper (or equal) product.
    Down,
}

/// A loss or theft was declared (`LOSS-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LossDeclared {
    /// Loss or theft.
    pub kind: LossKind,
    /// The support lost; it is opposed at once (`LOSS-OPPOSITION`).
    pub support: Support,
    /// The support of the replacement (`LOSS-SUPPORT`).
    pub replacement_support: Support,
    /// Replacement fee (`LOSS-FREE`, `TAR-REPLACEMENT-FEE`); zero when free.
    pub fee: Money,
    /// Rank of this replacement in the current free-replacement period.
    pub rank_in_period: u32,
}

/// Loss or theft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Lost.
    Loss,
    /// Stolen.
    Theft,
}

/// A fee was charged (`TAR-*-FEE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeCharged {
    /// Which fee.
    pub kind: FeeKind,
    /// Amount.
    pub amount: Money,
    /// The event that caused it (a rejection, a loss declaration...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_event_id: Option<Uuid>,
}

/// Kinds of fees.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// Dossier fee at subscription (`TAR-DOSSIER-FEE`).
    Dossier,
    /// Bank-rejection fee (`TAR-REJECT-FEE`).
    Rejection,
    /// Replacement beyond the free ones (`TAR-REPLACEMENT-FEE`).
    Replacement,
}

/// A switch of an Annual 1-5 contract to the Senior tariff was requested (`SENIOR-SWITCH`).
/// Version 2 seals the proof of age (the reference of an identity document)
/// with the holder's key. Decision: the activity declaration stays clear: the
/// rules judge it again when the switch is validated, and declared hours alone
/// identify no one once the holder's name is erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeniorSwitchRequested {
    /// Activity declaration.
    pub declaration: ActivityDeclaration,
    /// The holder whose proof of age it is, whose key seals it; none in a
    /// version 1 record, whose proof is a clear legacy value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uuid>,
    /// The proof of age, sealed.
    pub age_proof: Sealed<AgeProof>,
    /// Earliest validation date: 5 working days after the request.
    pub processing_until: NaiveDate,
}

/// The personal data of a Senior switch request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgeProof {
    /// Reference of the proof of age (an identity document).
    pub age_proof_ref: String,
}

/// The Senior switch was validated; Senior billing from a month (`SENIOR-SWITCH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeniorSwitchValidated {
    /// First month billed at the Senior installment (`PAY-CUTOFF`).
    pub effective_from_month: YearMonth,
}

/// Fraud was established (`BAN-FRAUD-3Y`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudEstablished {
    /// Subscription or usage fraud.
    pub kind: FraudKind,
    /// The fraudster (person stream id).
    pub fraudster: Uuid,
    /// Accomplices named (CGVU-2026 §12.2.4; ignored under CGU-2011).
    pub accomplices: Vec<Uuid>,
}

/// Kinds of fraud (`TERM-BY-AGENCY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FraudKind {
    /// Fraud at subscription.
    Subscription,
    /// Fraud in use.
    Usage,
}

/// The contract was terminated from the event's effective date (`TERM-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractTerminated {
    /// Why.
    pub reason: TerminationReason,
    /// The rulebook in force on the termination date (ban durations, RULES.md §0).
    pub rulebook: String,
    /// First month no longer debited (`PAY-CUTOFF`).
    pub billing_stops_from: YearMonth,
}

/// Termination reasons (`TERM-BY-PAYER`, `TERM-BY-AGENCY`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// The payer asked.
    PayerRequest,
    /// Fraud at subscription.
    SubscriptionFraud,
    /// Fraud in use.
    UsageFraud,
    /// Unsettled debt (`PAY-UNPAID-TERMINATION`).
    Unpaid,
    /// Too many losses (`LOSS-TERMINATION`).
    LossLimit,
    /// Mandate revoked without replacement (`PAY-PAYER-CHANGE`).
    MandateRevoked,
    /// Suspended for 12 months (`SUSP-MAX-12M`).
    // Spelt as RULES.md spells it; `ContractTerminated` version 1 spelt it
    // `suspension_over12_months` (serde's snake case of the variant), upcast on load.
    #[serde(rename = "suspension_over_12_months")]
    SuspensionOver12Months,
    /// Debtor deceased, reject code MD07 (`PAY-UNPAID-TERMINATION`).
    PayerDeceased,
    /// The service was withdrawn; the balance is refunded (§12.3).
    ServiceWithdrawn,
    /// Pass returned "n'habite pas à l'adresse indiquée" (CGU-2011 §10.2).
    AddressUnknown,
}

/// A notice (avis des sommes à payer) was issued through the Trésor Public
/// (`BAN-TREASURY-2Y`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TreasuryNoticeIssued {
    /// The payer concerned.
    pub payer: Uuid,
    /// The debt notified.
    pub amount: Money,
    /// Notice reference.
    pub notice_ref: String,
}

/// The notice was delivered to the payer (its receipt opens the ban).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TreasuryNoticeDelivered {
    /// Notice reference.
    pub notice_ref: String,
}

/// The payer settled with the Trésor Public; the ban ends 21 days later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TreasuryNoticeSettled {
    /// Notice reference.
    pub notice_ref: String,
    /// Amount settled.
    pub amount: Money,
}

/// An earlier event of the same stream is annulled: a correction, never an edit.
/// Views known after this event ignore the annulled one; views known before it
/// still see it.
///
/// Version 2 seals the reason with the key of the person it concerns: an
/// operator's own words about a person's file ("debited twice after her call
/// of 2 May") are personal data as much as her address. Decision: the person
/// concerned is the stream's person for a person's stream and the contract's
/// holder for a contract's (the subject of the file, as the Senior switch's
/// proof is the holder's); an annulment on any other stream (reference data,
/// the bank's) concerns no person and its reason stays clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventAnnulled {
    /// The event id annulled.
    pub annulled_event_id: Uuid,
    /// Its global position.
    pub annulled_position: u64,
    /// The person the reason concerns, whose key seals it; none on a stream
    /// of no person, and in a version 1 record, whose reason is a clear
    /// legacy value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Uuid>,
    /// Why, for the audit trail: sealed with the person's key.
    pub reason: Sealed<String>,
}

impl EventAnnulled {
    /// The reason as a reader may show it: the text, or that it was erased
    /// with the person it concerns.
    pub fn reason_text(&self) -> &str {
        self.reason
            .value()
            .map_or("reason erased with the person it concerns", String::as_str)
    }
}

// ---------------------------------------------------------------------------
// Catalogue stream

/// A tariff was published, effective for debits on or after `effective_from`
/// (`TAR-CATALOGUE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffPublished {
    /// First debit date the prices apply to.
    pub effective_from: NaiveDate,
    /// Annual prices by product.
    pub prices: Vec<TariffPrice>,
    /// Where the figures come from.
    pub source: String,
}

/// One annual price of a tariff, with its mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffPrice {
    /// The product.
    pub product: ProductKey,
    /// The annual price (Senior: 12 × the monthly price).
    pub annual: Money,
    /// Verified, derived or unverified.
    pub mark: Mark,
}

/// Zone C school holidays were published (`USE-DEZONAGE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolHolidaysPublished {
    /// The school year, e.g. `2025-26`.
    pub school_year: String,
    /// The holiday periods.
    pub periods: Vec<SchoolHoliday>,
}

/// One school holiday: last day of classes and the day classes resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolHoliday {
    /// Toussaint, Noël, Hiver, Printemps...
    pub name: String,
    /// Last day of classes (dézonage starts the day after, 00:00).
    pub classes_end: NaiveDate,
    /// Day classes resume (dézonage ends the day before, 23:59).
    pub classes_resume: NaiveDate,
    /// Verified or not.
    pub mark: Mark,
}

/// The ISO 20022 reason codes and their fee classification were published
/// (`TAR-REJECT-FEE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonCodesPublished {
    /// The codes.
    pub codes: Vec<ReasonCodeEntry>,
}

/// One reason code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonCodeEntry {
    /// The code.
    pub code: ReasonCode,
    /// Its meaning.
    pub meaning: String,
    /// Attributable to the payer (carries the fee) or a technical incident.
    pub attributable_to_payer: bool,
    /// Verified or not.
    pub mark: Mark,
}

// ---------------------------------------------------------------------------
// Campaign stream

/// A punctuality refund campaign was published (RULES.md §10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPublished {
    /// Name, e.g. `PUNCT-2024`.
    pub name: String,
    /// First day of the filing window (`REF-WINDOW`).
    pub filing_from: NaiveDate,
    /// Last day of the filing window.
    pub filing_until: NaiveDate,
    /// Last day for claims (complaints).
    pub claims_until: NaiveDate,
    /// The operations (axes).
    pub operations: Vec<CampaignOperation>,
    /// Where the data comes from.
    pub source: String,
}

/// One operation of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignOperation {
    /// Short id, unique in the campaign.
    pub id: String,
    /// Its name (line or axis).
    pub name: String,
    /// Months with punctuality at or below 80 %.
    pub bad_months: Vec<YearMonth>,
    /// Eligible municipalities (`REF-PLACE`).
    pub municipalities: Vec<String>,
}

// ---------------------------------------------------------------------------
// Bank stream

/// A collection file (pain.008) was built for a collection date and handed to
/// the operator to send: the evidence of what was asked of the bank. Its
/// effective date is the collection date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionFileIssued {
    /// The requested collection date (`ReqdColltnDt`).
    pub collection_date: NaiveDate,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/NbOfTxs`: how many debits the file carries.
    pub count: u64,
    /// `GrpHdr/CtrlSum`: their sum.
    pub control_sum: Money,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier the file was built for.
    pub creditor_id: String,
    /// The creditor's account, masked.
    pub creditor_iban_masked: String,
    /// The last debits the file carries, by ascending event id: what a
    /// report the bank sends back on the file is matched against. At most
    /// [`BankFilePart::ITEMS_MAX`]; the debits before them are listed by the
    /// `parts` [`BankFilePart`] events appended before this one.
    pub debits: Vec<IssuedDebit>,
    /// How many [`BankFilePart`] events list the debits before `debits`
    /// (none for a file of at most [`BankFilePart::ITEMS_MAX`] debits).
    pub parts: u32,
}

/// One debit of a collection file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuedDebit {
    /// The `DebitPresented` event id; the debit's end-to-end id is derived
    /// from it.
    pub debit_event_id: Uuid,
    /// The contract debited.
    pub contract_id: Uuid,
    /// The amount collected.
    pub amount: Money,
}

/// A refund file (pain.001 credit transfers) was built for an execution
/// date and handed to the operator to send: the evidence of what the bank was
/// asked to pay. Its effective date is the execution date. Each refund it
/// carries is recorded paid (`RefundPaid`, by bank transfer) on its own
/// stream, with the file's message id in its idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundFileIssued {
    /// The requested execution date (`ReqdExctnDt`).
    pub execution_date: NaiveDate,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/NbOfTxs`: how many refunds the file carries.
    pub count: u64,
    /// `GrpHdr/CtrlSum`: their sum.
    pub control_sum: Money,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier of the account paying the refunds.
    pub creditor_id: String,
    /// That account, masked.
    pub creditor_iban_masked: String,
    /// The last refunds the file carries, by ascending `RefundDue` event id.
    /// At most [`BankFilePart::ITEMS_MAX`]; the refunds before them are
    /// listed by the `parts` [`BankFilePart`] events appended before this one.
    pub refunds: Vec<IssuedRefund>,
    /// How many [`BankFilePart`] events list the refunds before `refunds`
    /// (none for a file of at most [`BankFilePart::ITEMS_MAX`] refunds).
    pub parts: u32,
}

/// A part of the list of what a file issued to the bank carries (its debits,
/// or its refunds), recorded before the file's own event
/// ([`CollectionFileIssued`], [`RefundFileIssued`]), which names how many
/// parts it has.
///
/// Decision: an event is bounded (the store's `event_bytes_max`), and a
/// collection date of a region holds hundreds of thousands of debits, so a
/// file's list is recorded in parts. The file's event comes last and is what
/// makes the file issued: the parts of an issue interrupted before it are
/// left in the chain, belong to no file (their hash is that of no issued
/// file) and are read by no one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankFilePart {
    /// `GrpHdr/MsgId` of the file.
    pub message_id: String,
    /// The SHA-256 of the file's bytes, lowercase hex: the part belongs to
    /// the file of that hash.
    pub sha256: String,
    /// Its number, from 1, in the order of the file's list.
    pub part: u32,
    /// Debits of a collection file, by ascending event id (empty for a
    /// refund file); exactly [`BankFilePart::ITEMS_MAX`] of them.
    pub debits: Vec<IssuedDebit>,
    /// Refunds of a refund file, by ascending `RefundDue` event id (empty
    /// for a collection file); exactly [`BankFilePart::ITEMS_MAX`] of them.
    pub refunds: Vec<IssuedRefund>,
}

impl BankFilePart {
    /// The debits or refunds one event lists (a part, or a file's own
    /// event). Decision: 256 items of the longest kind (a refund: two ids,
    /// its kind and an amount, about 130 bytes as JSON) take about 33 KiB,
    /// half the store's default `event_bytes_max` (64 KiB), leaving room for
    /// the envelope; a test appends a full part to the store.
    pub const ITEMS_MAX: usize = 256;
}

/// One refund of a refund file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuedRefund {
    /// The `RefundDue` event id; the transfer's end-to-end id is derived
    /// from it.
    pub refund_event_id: Uuid,
    /// The kind of stream holding the refund.
    pub stream_kind: RefundStreamKind,
    /// The id of that stream: the contract, or the holder for a punctuality
    /// refund.
    pub stream_id: Uuid,
    /// The amount transferred.
    pub amount: Money,
}

/// Where a refund due is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStreamKind {
    /// A contract's stream (`PAY-REFUND-30D`, `PAY-CASH-REFUND`, a credit).
    Contract,
    /// The holder's person stream (a punctuality refund, `REF-AMOUNT`).
    Person,
}

/// The kind of file the bank sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BankFileKind {
    /// A pain.002 status report (rejects before settlement).
    StatusReport,
    /// A camt.054 notification (returns, refunds, reversals).
    Notification,
}

/// A file the bank sent was read and its returned debits recorded: the
/// evidence that the file was imported, and once.
///
/// Version 2 records an operator's decision on a file refused line by line:
/// `skipped` and `decided_by` were added; version 1 (no decision possible) is
/// read with none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankFileImported {
    /// Status report or notification.
    pub kind: BankFileKind,
    /// `GrpHdr/MsgId` of the bank's file.
    pub message_id: String,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier the file was read for.
    pub creditor_id: String,
    /// How many transactions came back.
    pub returned: u64,
    /// The event ids of the `DebitRejected` the import recorded, in file order.
    pub rejection_event_ids: Vec<Uuid>,
    /// The transactions left out by the operator's decision, each with why
    /// it could not be recorded; empty when the whole file was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedLine>,
    /// The operator who decided to import the file without its `skipped`
    /// transactions; absent when nothing was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// A transaction of a bank file an operator decided to leave out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkippedLine {
    /// Its end-to-end id, as the bank sent it.
    pub end_to_end_id: String,
    /// Its line in the file.
    pub line: u32,
    /// Why it could not be recorded (no debit matches, another amount, an
    /// unknown reason code...), with the rule id.
    pub reason: String,
}

crate::types::wire_display!(
    FilerCapacity,
    ClaimKind,
    PaymentMeans,
    ChargeKind,
    SettlementChannel,
    RefundReason,
    RefundMethod,
    SuspensionCause,
    ZoneDirection,
    LossKind,
    FeeKind,
    FraudKind,
    TerminationReason,
    BankFileKind,
    RefundStreamKind,
);

// ---------------------------------------------------------------------------
// The enum

macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident = $version:literal ),+ $(,)?) => {
        /// Every event the ledger records. The variant name is the stable type name.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($variant), )+
        }

        impl Event {
            /// Every (type name, current schema version), in declaration order.
            pub const TYPES: &'static [(&'static str, u32)] = &[ $( (stringify!($variant), $version), )+ ];

            /// The stable type name.
            pub fn type_name(&self) -> &'static str {
                match self { $( Event::$variant(_) => stringify!($variant), )+ }
            }

            /// The current schema version of this event's type.
            pub fn schema_version(&self) -> u32 {
                match self { $( Event::$variant(_) => $version, )+ }
            }

            /// The current schema version of a type name, if known.
            pub fn current_version(type_name: &str) -> Option<u32> {
                match type_name { $( stringify!($variant) => Some($version), )+ _ => None }
            }

            /// Serialises the payload alone.
            ///
            /// # Errors
            /// Only if serde_json fails, which the payload types never make it do.
            pub fn data_to_value(&self) -> serde_json::Result<serde_json::Value> {
                match self { $( Event::$variant(p) => serde_json::to_value(p), )+ }
            }

            /// Writes the payload as JSON into a buffer.
            ///
            /// # Errors
            /// Only if serde_json fails.
            pub fn write_data(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
                match self { $( Event::$variant(p) => serde_json::to_writer(out, p), )+ }
            }

            /// Decodes a payload of the *current* version of `type_name`.
            ///
            /// # Errors
            /// Unknown type, or a payload that does not match the type's schema.
            pub fn decode_current(type_name: &str, data: &str) -> Result<Event, crate::DecodeError> {
                match type_name {
                    $( stringify!($variant) => serde_json::from_str(data)
                        .map(Event::$variant)
                        .map_err(|e| crate::DecodeError::Payload { type_name: type_name.to_owned(), source: e }), )+
                    other => Err(crate::DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// The JSON Schema of each type's current version.
            pub fn schemas() -> Vec<(&'static str, u32, schemars::Schema)> {
                vec![ $( (stringify!($variant), $version, schemars::schema_for!($variant)), )+ ]
            }
        }
    };
}

events! {
    /// See [`PersonRegistered`].
    PersonRegistered = 2,
    /// See [`AddressChanged`].
    AddressChanged = 2,
    /// See [`WorkStudyPlaceDeclared`].
    WorkStudyPlaceDeclared = 2,
    /// See [`PersonalDataErased`].
    PersonalDataErased = 1,
    /// See [`RefundClaimFiled`].
    RefundClaimFiled = 1,
    /// See [`RefundClaimDecided`].
    RefundClaimDecided = 1,
    /// See [`ContractSubscribed`]. Version 2 records a mandate with its signature date and
    /// its debtor account sealed with the payer's key; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    ContractSubscribed = 2,
    /// See [`FirstPaymentCollected`].
    FirstPaymentCollected = 1,
    /// See [`DebitDayChanged`].
    DebitDayChanged = 1,
    /// See [`PayerChanged`]. Version 2 records a mandate with its signature date and
    /// its debtor account sealed with the payer's key; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    PayerChanged = 2,
    /// See [`MandateChanged`]. Version 2 records a mandate with its signature date and
    /// its debtor account sealed with the payer's key; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    MandateChanged = 2,
    /// See [`MandateRevoked`].
    MandateRevoked = 1,
    /// See [`PaymentMethodSwitched`]. Version 2 records a mandate with its signature date and
    /// its debtor account sealed with the payer's key; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    PaymentMethodSwitched = 2,
    /// See [`DebitPresented`]. Version 2 added `due` (the part owed); version 1
    /// is upcast on load (see [`crate::upcast`]).
    DebitPresented = 2,
    /// See [`DebitRejected`].
    DebitRejected = 1,
    /// See [`DebtSettled`].
    DebtSettled = 1,
    /// See [`CashPaymentReceived`]. Version 2 added `due`; version 1 is upcast on
    /// load (see [`crate::upcast`]).
    CashPaymentReceived = 2,
    /// See [`CashRenewalNoticeSent`].
    CashRenewalNoticeSent = 1,
    /// See [`RefundDue`].
    RefundDue = 1,
    /// See [`RefundPaid`].
    RefundPaid = 1,
    /// See [`ContractSuspended`]. Version 2 added `not_due_from` and
    /// `prepared_debits_refunded`; version 1 is upcast on load with the
    /// envelope's effective date (see [`crate::upcast`]).
    ContractSuspended = 2,
    /// See [`ContractResumed`]. Version 2 records a mandate with its signature date and
    /// its debtor account sealed with the payer's key; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    ContractResumed = 2,
    /// See [`ZonesChanged`].
    ZonesChanged = 1,
    /// See [`LossDeclared`]. Version 2 split the support from the kind; version 1
    /// is upcast on load (see [`crate::upcast`]).
    LossDeclared = 2,
    /// See [`FeeCharged`].
    FeeCharged = 1,
    /// See [`SeniorSwitchRequested`]. Version 2 seals the proof of age;
    /// version 1 is upcast on load (see [`crate::upcast`]).
    SeniorSwitchRequested = 2,
    /// See [`SeniorSwitchValidated`].
    SeniorSwitchValidated = 1,
    /// See [`FraudEstablished`].
    FraudEstablished = 1,
    /// See [`ContractTerminated`]. Version 2 spells the reason
    /// `suspension_over_12_months` as RULES.md does; version 1 is upcast on load
    /// (see [`crate::upcast`]).
    ContractTerminated = 2,
    /// See [`TreasuryNoticeIssued`].
    TreasuryNoticeIssued = 1,
    /// See [`TreasuryNoticeDelivered`].
    TreasuryNoticeDelivered = 1,
    /// See [`TreasuryNoticeSettled`].
    TreasuryNoticeSettled = 1,
    /// See [`EventAnnulled`]. Version 2 seals the reason; version 1 is upcast
    /// on load (see [`crate::upcast`]).
    EventAnnulled = 2,
    /// See [`TariffPublished`].
    TariffPublished = 1,
    /// See [`SchoolHolidaysPublished`].
    SchoolHolidaysPublished = 1,
    /// See [`ReasonCodesPublished`].
    ReasonCodesPublished = 1,
    /// See [`CampaignPublished`].
    CampaignPublished = 1,
    /// See [`LedgerResealed`].
    LedgerResealed = 1,
    /// See [`CollectionFileIssued`]. Version 2 lists the debits in parts
    /// (`parts`); version 1 is upcast on load (see [`crate::upcast`]).
    CollectionFileIssued = 2,
    /// See [`BankFileImported`].
    BankFileImported = 2,
    /// See [`RefundFileIssued`]. Version 2 lists the refunds in parts
    /// (`parts`); version 1 is upcast on load (see [`crate::upcast`]).
    RefundFileIssued = 2,
    /// See [`BankFilePart`].
    BankFilePart = 1,
}

impl Event {
    /// The event an annulment annuls; `None` for any other event.
    pub fn annulled_event_id(&self) -> Option<Uuid> {
        match self {
            Event::EventAnnulled(a) => Some(a.annulled_event_id),
            _ => None,
        }
    }

    /// The sealed personal fields of the event, each with the person whose key
    /// seals it, for an event of the stream whose id is `stream_id` (the
    /// person, for a person's event): the store seals them before writing and
    /// opens them after reading, in one place.
    ///
    /// Each field comes as `(person, sealing id, field)`: the sealing id is
    /// bound into the ciphertext with the person, the event's id `event_id`
    /// for a person's fields, the mandate's own id for a mandate's account
    /// ([`crate::mandate::Mandate::sealing_id`]: the rules carry an unchanged
    /// mandate into later events). A legacy mandate, which names no payer, has
    /// no field to seal: it stays the clear value it was.
    pub fn personal_fields_mut(
        &mut self,
        stream_id: Uuid,
        event_id: Uuid,
    ) -> Vec<(Uuid, Uuid, &mut dyn SealedField)> {
        let person = stream_id;
        let mandate = match self {
            Event::PersonRegistered(r) => {
                return vec![(person, event_id, &mut r.personal as &mut dyn SealedField)]
            }
            Event::AddressChanged(a) => {
                return vec![(person, event_id, &mut a.address as &mut dyn SealedField)]
            }
            Event::WorkStudyPlaceDeclared(w) => {
                return vec![(person, event_id, &mut w.place as &mut dyn SealedField)]
            }
            Event::SeniorSwitchRequested(r) => {
                return match r.age_proof.sealed_for().or(r.holder) {
                    Some(holder) => {
                        vec![(holder, event_id, &mut r.age_proof as &mut dyn SealedField)]
                    }
                    None => Vec::new(),
                };
            }
            Event::EventAnnulled(a) => {
                return match a.reason.sealed_for().or(a.person) {
                    Some(person) => vec![(person, event_id, &mut a.reason as &mut dyn SealedField)],
                    None => Vec::new(),
                };
            }
            other => other.mandate_mut(),
        };
        let Some(m) = mandate else {
            return Vec::new();
        };
        let id = m.sealing_id();
        match m.debtor.sealed_for().or(m.payer) {
            Some(payer) => vec![(payer, id, &mut m.debtor as &mut dyn SealedField)],
            None => Vec::new(),
        }
    }

    /// Whether the event's personal fields are free text written about a
    /// person by someone else (an annulment's reason, an operator's words),
    /// which the person's erasure does not stop being recorded: a correction
    /// of an erased person's contract still goes in. Such a field of an
    /// erased person is sealed under a key drawn for it and never kept, so
    /// that it is recorded as erased from the start.
    pub fn holds_free_text_about_a_person(&self) -> bool {
        matches!(self, Event::EventAnnulled(_))
    }

    /// The mandate a contract event records or carries on, if any.
    pub fn mandate_mut(&mut self) -> Option<&mut crate::mandate::Mandate> {
        match self {
            Event::ContractSubscribed(s) => s.payment.mandate_mut(),
            Event::PayerChanged(p) => p.mandate.as_mut(),
            Event::MandateChanged(m) => Some(&mut m.mandate),
            Event::PaymentMethodSwitched(s) => s.to.mandate_mut(),
            Event::ContractResumed(r) => r.payment.mandate_mut(),
            _ => None,
        }
    }

    /// The persons a contract event makes holder or payer of its contract (a
    /// subscription names both, a payer change the new payer): what a reader of
    /// one contract needs to fold its persons.
    pub fn contract_parties(&self) -> Vec<Uuid> {
        match self {
            Event::ContractSubscribed(s) => vec![s.holder, s.payer],
            Event::PayerChanged(p) => vec![p.payer],
            _ => Vec::new(),
        }
    }
}
