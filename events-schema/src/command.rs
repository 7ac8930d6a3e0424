//! The command format: what `navigo-ledger apply` reads (one JSON object per line)
//! and what the HTTP service accepts. A command is a request; the rules engine in
//! `navigo-rules` turns it into events or refuses it with a rule id.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::envelope::StreamId;
use crate::event::{
    CampaignPublished, ClaimKind, FilerCapacity, FraudKind, LossKind, PaymentMeans,
    ReasonCodesPublished, RefundMethod, SchoolHolidaysPublished, SettlementChannel,
    TariffPublished, TerminationReason,
};
use crate::strict::{self, FieldError, TaggedEnum};
use crate::types::{
    ActivityDeclaration, Actor, Address, Channel, ClientNumber, DebitDay, MandateInput, Money,
    PaymentRequest, PlaceKind, Product, ReasonCode, Support, YearMonth, Zones,
};

/// A command with its request context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandEnvelope {
    /// The request instant (UTC). Its Europe/Paris date is the request date; it is
    /// also the recorded-at instant of the events when applied from a file.
    pub request_at: DateTime<Utc>,
    /// Who asks.
    pub actor: Actor,
    /// Through which channel; none for system and bank commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Retrying with the same key returns the first answer and appends nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Optimistic concurrency: the version of the command's subject stream
    /// ([`Command::subject`]) the request was decided on — the stream version a
    /// client read (the `ETag` of the contract's state over HTTP). When the
    /// stream has moved since, the command is refused as a conflict and nothing is
    /// appended; absent, the command is judged against the current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// The command.
    pub command: Command,
}

impl Command {
    /// The stream whose version [`CommandEnvelope::expected_version`] refers to:
    /// the contract for contract commands, the person for person commands and
    /// refund claims (they are recorded on the holder's stream), the catalogue or
    /// the campaign for reference data, the stream the command names for a refund
    /// payment or an annulment. `None` for the billing clock, which touches every
    /// contract.
    pub fn subject(&self) -> Option<StreamId> {
        let contract = |id: Uuid| Some(StreamId::contract(id));
        match self {
            Command::RegisterPerson(c) => Some(StreamId::person(c.person_id)),
            Command::ChangeAddress(c) => Some(StreamId::person(c.person_id)),
            Command::DeclareWorkStudyPlace(c) => Some(StreamId::person(c.person_id)),
            Command::ErasePersonalData(c) => Some(StreamId::person(c.person_id)),
            Command::FileRefundClaim(c) => Some(StreamId::person(c.holder)),
            Command::Subscribe(c) => contract(c.contract_id),
            Command::ChangeDebitDay(c) => contract(c.contract_id),
            Command::ChangePayer(c) => contract(c.contract_id),
            Command::ChangeMandate(c) => contract(c.contract_id),
            Command::RevokeMandate(c)
            | Command::TerminateByPayer(c)
            | Command::ValidateSeniorSwitch(c) => contract(c.contract_id),
            Command::SwitchPaymentMethod(c) => contract(c.contract_id),
            Command::RecordDebitPresented(c) => contract(c.contract_id),
            Command::RecordDebitRejected(c) => contract(c.contract_id),
            Command::SettleDebt(c) => contract(c.contract_id),
            Command::RecordCashPayment(c) => contract(c.contract_id),
            Command::Suspend(c) => contract(c.contract_id),
            Command::Resume(c) => contract(c.contract_id),
            Command::ChangeZones(c) => contract(c.contract_id),
            Command::DeclareLoss(c) => contract(c.contract_id),
            Command::TerminateByAgency(c) => contract(c.contract_id),
            Command::EstablishFraud(c) => contract(c.contract_id),
            Command::IssueTreasuryNotice(c) | Command::DeliverTreasuryNotice(c) => {
                contract(c.contract_id)
            }
            Command::SettleTreasuryNotice(c) => contract(c.contract_id),
            Command::RequestSeniorSwitch(c) => contract(c.contract_id),
            Command::PublishTariff(_)
            | Command::PublishSchoolHolidays(_)
            | Command::PublishReasonCodes(_) => Some(StreamId::catalogue()),
            Command::PublishCampaign(c) => Some(StreamId::campaign(c.campaign_id)),
            Command::PayRefund(c) => Some(c.stream),
            Command::AnnulEvent(c) => Some(c.stream),
            Command::AdvanceClock(_) => None,
        }
    }
}

macro_rules! commands {
    ($( $(#[$doc:meta])* $variant:ident($payload:ty), )+) => {
        /// Every command, one variant per request kind.
        #[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
        #[serde(tag = "type")]
        pub enum Command {
            $( $(#[$doc])* $variant($payload), )+
        }

        /// The externally tagged mirror that decodes [`Command`] (see
        /// `crate::strict`), generated from the same list so that it cannot
        /// miss a variant.
        #[derive(Deserialize)]
        #[serde(remote = "Command")]
        enum CommandByType {
            $( $variant($payload), )+
        }
    };
}

commands! {
    // --- persons
    /// Register a person (holder and/or payer).
    RegisterPerson(RegisterPerson),
    /// Record a new residence from a date.
    ChangeAddress(ChangeAddress),
    /// Declare a place of work or study.
    DeclareWorkStudyPlace(DeclareWorkStudyPlace),
    /// Erase a person's personal data (`TERM-RETENTION`): their key is destroyed
    /// and `PersonalDataErased` recorded.
    ErasePersonalData(ErasePersonalData),
    // --- subscription
    /// Subscribe a contract.
    Subscribe(Subscribe),
    // --- payment
    /// Change the debit day.
    ChangeDebitDay(ChangeDebitDay),
    /// Change the payer.
    ChangePayer(ChangePayer),
    /// Change the mandate or bank account.
    ChangeMandate(ChangeMandate),
    /// Revoke the mandate.
    RevokeMandate(ContractRef),
    /// Switch between direct debit and cash.
    SwitchPaymentMethod(SwitchPaymentMethod),
    /// Record a debit presented to the bank (import; the billing clock presents them
    /// itself).
    RecordDebitPresented(RecordDebitPresented),
    /// Record a bank rejection of a debit.
    RecordDebitRejected(RecordDebitRejected),
    /// Settle debt.
    SettleDebt(SettleDebt),
    /// Record a cash payment (renewal, switch to cash).
    RecordCashPayment(RecordCashPayment),
    /// Pay a refund that is due.
    PayRefund(PayRefund),
    // --- suspension
    /// Suspend a contract.
    Suspend(Suspend),
    /// Resume a suspended contract.
    Resume(Resume),
    // --- zones
    /// Change zones.
    ChangeZones(ChangeZones),
    // --- loss
    /// Declare a loss or theft.
    DeclareLoss(DeclareLoss),
    // --- termination
    /// Termination asked by the payer.
    TerminateByPayer(ContractRef),
    /// Termination by the agency.
    TerminateByAgency(TerminateByAgency),
    /// Establish fraud.
    EstablishFraud(EstablishFraud),
    // --- treasury
    /// Issue a Trésor Public notice.
    IssueTreasuryNotice(TreasuryNoticeRef),
    /// Record the delivery of a notice.
    DeliverTreasuryNotice(TreasuryNoticeRef),
    /// Record the settlement of a notice with the Trésor Public.
    SettleTreasuryNotice(SettleTreasuryNotice),
    // --- senior
    /// Request the Senior switch of an Annual 1-5 contract.
    RequestSeniorSwitch(RequestSeniorSwitch),
    /// Validate a requested Senior switch.
    ValidateSeniorSwitch(ContractRef),
    // --- reference data
    /// Publish a tariff.
    PublishTariff(TariffPublished),
    /// Publish zone C school holidays.
    PublishSchoolHolidays(SchoolHolidaysPublished),
    /// Publish reject reason codes.
    PublishReasonCodes(ReasonCodesPublished),
    /// Publish a punctuality campaign.
    PublishCampaign(PublishCampaign),
    /// File a punctuality refund claim.
    FileRefundClaim(FileRefundClaim),
    // --- corrections
    /// Annul an earlier event (a correction, never an edit).
    AnnulEvent(AnnulEvent),
    // --- clock
    /// Run the billing clock through a date, at the command's request instant, so
    /// that a scenario file replays the system events in order.
    AdvanceClock(AdvanceClock),
}

impl TaggedEnum for Command {
    const TAG: &'static str = "type";
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CommandByType::deserialize(d)
    }
}

impl Command {
    /// Refuses a decoded command whose fields contradict each other or exceed a
    /// bound: the path of the offending field relative to the command, and why.
    ///
    /// Decision: these checks run after decoding, not inside it, so that a
    /// reader can tell a text that is not a command of the format (malformed:
    /// what the JSON Schema describes) from a command of the format that no
    /// request may carry (an amount beyond its bound, a Senior declaration with
    /// an Annual product, hours beyond the period's): the HTTP service answers
    /// the first 400 and the second 422; `apply` answers both as malformed.
    fn check(&self) -> Result<(), (String, String)> {
        for (path, amount) in self.amounts() {
            amount.check_command_amount().map_err(|why| (path, why))?;
        }
        let declaration = match self {
            Command::Subscribe(s) => s.check_product_declaration()?,
            Command::RequestSeniorSwitch(r) => Some(("declaration", r.declaration)),
            _ => None,
        };
        if let Some((field, d)) = declaration {
            check_declared_hours(d).map_err(|why| (format!("{field}.hours"), why))?;
        }
        Ok(())
    }
}

impl CommandEnvelope {
    /// Decodes one command strictly ([`crate::from_json_str`]: unknown fields
    /// refused, the offending field named by its path) and [`CommandEnvelope::check`]s
    /// it: what `apply` and the what-if read.
    ///
    /// # Errors
    /// The offending field and why, for a malformed or an unacceptable command.
    pub fn from_json(text: &str) -> Result<CommandEnvelope, FieldError> {
        let command: CommandEnvelope = crate::from_json_str(text)?;
        command.check()?;
        Ok(command)
    }

    /// Refuses a command whose fields contradict each other or exceed a bound
    /// (see [`Command::check`]), naming the field by its path
    /// (`command.prices[0].annual`).
    ///
    /// # Errors
    /// The offending field and why.
    pub fn check(&self) -> Result<(), FieldError> {
        self.command.check().map_err(|(path, why)| FieldError {
            field: Some(strict::join_paths("command", &path)),
            message: why,
        })
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::deserialize_tagged(d)
    }
}

impl Command {
    /// Every amount the command carries, with its path inside the command: what
    /// [`Money::COMMAND_AMOUNT_EUROS_MAX`] bounds. Every variant is listed, so
    /// that a new command decides what its amounts are.
    pub fn amounts(&self) -> Vec<(String, Money)> {
        let one = |amount: Money| vec![("amount".to_owned(), amount)];
        match self {
            Command::PublishTariff(t) => t
                .prices
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("prices[{i}].annual"), p.annual))
                .collect(),
            Command::SettleDebt(c) => one(c.amount),
            Command::RecordCashPayment(c) => one(c.amount),
            Command::SettleTreasuryNotice(c) => one(c.amount),
            Command::RegisterPerson(_)
            | Command::ChangeAddress(_)
            | Command::DeclareWorkStudyPlace(_)
            | Command::ErasePersonalData(_)
            | Command::Subscribe(_)
            | Command::ChangeDebitDay(_)
            | Command::ChangePayer(_)
            | Command::ChangeMandate(_)
            | Command::RevokeMandate(_)
            | Command::SwitchPaymentMethod(_)
            | Command::RecordDebitPresented(_)
            | Command::RecordDebitRejected(_)
            | Command::PayRefund(_)
            | Command::Suspend(_)
            | Command::Resume(_)
            | Command::ChangeZones(_)
            | Command::DeclareLoss(_)
            | Command::TerminateByPayer(_)
            | Command::TerminateByAgency(_)
            | Command::EstablishFraud(_)
            | Command::IssueTreasuryNotice(_)
            | Command::DeliverTreasuryNotice(_)
            | Command::ValidateSeniorSwitch(_)
            | Command::RequestSeniorSwitch(_)
            | Command::PublishSchoolHolidays(_)
            | Command::PublishReasonCodes(_)
            | Command::PublishCampaign(_)
            | Command::FileRefundClaim(_)
            | Command::AnnulEvent(_)
            | Command::AdvanceClock(_) => Vec::new(),
        }
    }
}

/// Refuses declared hours below zero or beyond the hours of their period: a
/// declaration no one can make, which the `SUB-SENIOR` threshold alone would
/// take as "below half-time".
fn check_declared_hours(d: ActivityDeclaration) -> Result<(), String> {
    match d.hours_and_period_max() {
        Some((hours, max)) if hours.is_sign_negative() || hours > max => Err(format!(
            "{hours} hours declared for {d}: declared hours are between 0 and {max}, the \
             hours of the period"
        )),
        _ => Ok(()),
    }
}

impl Subscribe {
    /// The Senior declaration and its field, refusing one given with an Annual
    /// product, which would be stored with a contract it says nothing about.
    fn check_product_declaration(
        &self,
    ) -> Result<Option<(&'static str, ActivityDeclaration)>, (String, String)> {
        match (self.product, self.senior_declaration) {
            (Product::Annual { zones }, Some(_)) => Err((
                "senior_declaration".to_owned(),
                format!(
                    "an activity declaration belongs to the senior product, not to annual \
                     {zones}; remove it, or subscribe the product {{\"kind\": \"senior\"}}"
                ),
            )),
            (_, d) => Ok(d.map(|d| ("senior_declaration", d))),
        }
    }
}

/// Register a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPerson {
    /// The person's id (person stream).
    pub person_id: Uuid,
    /// Customer number.
    pub client_number: ClientNumber,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Proof of emancipation of a minor aged 16 or 17.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emancipation_proof: Option<String>,
    /// Residence.
    pub address: Address,
    /// Residence from this date (defaults to the request date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_since: Option<NaiveDate>,
}

/// New residence from a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeAddress {
    /// The person.
    pub person_id: Uuid,
    /// The new residence.
    pub address: Address,
    /// From when.
    pub effective_date: NaiveDate,
}

/// Erase a person's personal data (`TERM-RETENTION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasePersonalData {
    /// The person.
    pub person_id: Uuid,
    /// The legal basis of the erasure (retention period over, a data subject's
    /// request...), recorded in the event.
    pub basis: String,
}

/// Declare a place of work or study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareWorkStudyPlace {
    /// The person.
    pub person_id: Uuid,
    /// Work or study.
    pub kind: PlaceKind,
    /// Municipality.
    pub municipality: String,
    /// Proof reference.
    pub proof_ref: String,
    /// From when (defaults to the request date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
}

/// Subscribe a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The new contract's id (contract stream).
    pub contract_id: Uuid,
    /// Holder.
    pub holder: Uuid,
    /// Payer (may be the holder).
    pub payer: Uuid,
    /// Product.
    pub product: Product,
    /// Start date.
    pub start_date: NaiveDate,
    /// Payment method.
    pub payment: PaymentRequest,
    /// Financed by a third-party payer.
    #[serde(default)]
    pub third_party_payer: bool,
    /// Senior activity declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senior_declaration: Option<ActivityDeclaration>,
    /// Support (defaults to the pass).
    #[serde(default = "default_support")]
    pub support: Support,
    /// How the first payment is made at the agency or for cash (defaults to card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_payment_means: Option<PaymentMeans>,
}

fn default_support() -> Support {
    Support::Pass
}

/// A command that names a contract and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractRef {
    /// The contract.
    pub contract_id: Uuid,
}

/// Change the debit day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeDebitDay {
    /// The contract.
    pub contract_id: Uuid,
    /// The new day.
    pub debit_day: DebitDay,
}

/// Change the payer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePayer {
    /// The contract.
    pub contract_id: Uuid,
    /// The new payer.
    pub payer: Uuid,
    /// The new payer's mandate (direct debit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate: Option<MandateInput>,
}

/// Change the mandate or bank account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeMandate {
    /// The contract.
    pub contract_id: Uuid,
    /// The new mandate.
    pub mandate: MandateInput,
}

/// Switch between direct debit and cash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchPaymentMethod {
    /// The contract.
    pub contract_id: Uuid,
    /// The new method.
    pub to: PaymentRequest,
}

/// Record a debit presented (import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordDebitPresented {
    /// The contract.
    pub contract_id: Uuid,
    /// The month debited.
    pub month: YearMonth,
}

/// Record a bank rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordDebitRejected {
    /// The contract.
    pub contract_id: Uuid,
    /// The month of the debit rejected.
    pub month: YearMonth,
    /// ISO 20022 reason code.
    pub reason_code: ReasonCode,
}

/// Settle debt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleDebt {
    /// The contract.
    pub contract_id: Uuid,
    /// Amount paid.
    pub amount: Money,
    /// How.
    pub via: SettlementChannel,
}

/// Record a cash payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCashPayment {
    /// The contract.
    pub contract_id: Uuid,
    /// Amount received.
    pub amount: Money,
    /// How.
    pub means: PaymentMeans,
}

/// Pay a refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRefund {
    /// The stream holding the refund (a contract, or a person for punctuality refunds).
    pub stream: StreamId,
    /// The `RefundDue` event paid.
    pub refund_event_id: Uuid,
    /// Override of the method (defaults to the one in `RefundDue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<RefundMethod>,
}

/// Suspend a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspend {
    /// The contract.
    pub contract_id: Uuid,
    /// Wished effective date (defaults to the earliest the channel allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
    /// Planned resumption, within 12 months (`SUSP-RESUME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_resumption: Option<NaiveDate>,
}

/// Resume a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The contract.
    pub contract_id: Uuid,
    /// Resumption date (defaults to the earliest the channel allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
    /// A new payment method from the resumption (`PAY-SWITCH-TO-DEBIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentRequest>,
}

/// Change zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeZones {
    /// The contract.
    pub contract_id: Uuid,
    /// The new range.
    pub zones: Zones,
    /// Effective date: immediate (defaults to the earliest the channel allows) or
    /// the 1st of one of the two following months (`ZONE-WHEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
}

/// Declare a loss or theft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareLoss {
    /// The contract.
    pub contract_id: Uuid,
    /// Loss or theft.
    pub kind: LossKind,
    /// The support lost.
    pub support: Support,
    /// The support of the replacement (defaults to the same kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_support: Option<Support>,
}

/// Termination by the agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateByAgency {
    /// The contract.
    pub contract_id: Uuid,
    /// Why.
    pub reason: TerminationReason,
    /// From when (defaults to the request date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
}

/// Establish fraud on a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstablishFraud {
    /// The contract.
    pub contract_id: Uuid,
    /// Subscription or usage fraud.
    pub kind: FraudKind,
    /// The fraudster.
    pub fraudster: Uuid,
    /// Accomplices named.
    #[serde(default)]
    pub accomplices: Vec<Uuid>,
}

/// A Trésor Public notice of a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TreasuryNoticeRef {
    /// The contract.
    pub contract_id: Uuid,
    /// Notice reference.
    pub notice_ref: String,
}

/// Settlement with the Trésor Public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleTreasuryNotice {
    /// The contract.
    pub contract_id: Uuid,
    /// Notice reference.
    pub notice_ref: String,
    /// Amount settled.
    pub amount: Money,
}

/// Request the Senior switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSeniorSwitch {
    /// The contract.
    pub contract_id: Uuid,
    /// Activity declaration.
    pub declaration: ActivityDeclaration,
    /// Proof of age reference.
    pub age_proof_ref: String,
}

/// Publish a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishCampaign {
    /// The campaign's id (campaign stream).
    pub campaign_id: Uuid,
    /// The campaign.
    pub campaign: CampaignPublished,
}

/// File a punctuality refund claim for a holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRefundClaim {
    /// The holder.
    pub holder: Uuid,
    /// The campaign.
    pub campaign_id: Uuid,
    /// The filer.
    pub filer: Uuid,
    /// In which capacity.
    pub filer_capacity: FilerCapacity,
    /// Request or claim.
    pub kind: ClaimKind,
}

/// Annul an earlier event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnulEvent {
    /// The stream of the event.
    pub stream: StreamId,
    /// The event annulled.
    pub event_id: Uuid,
    /// Why.
    pub reason: String,
}

/// Run the billing clock through a date (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Last date whose system events are emitted.
    pub to: NaiveDate,
}
