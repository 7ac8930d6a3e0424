//! Upcasting: older schema versions are read and converted on load, so that the
//! rest of the ledger only ever sees current types. Stored bytes are never
//! rewritten (the hash chain covers them).
//!
//! Known upcasts:
//! - `LossDeclared` v1 → v2. Before the phone and watch supports (CGVU-2026 §5.5),
//!   v1 recorded `{"stolen": bool, "fee": "8.00", "rank_in_period": n}` and the
//!   support was always the pass. v2 names the kind, the support lost and the
//!   support of the replacement.
//! - `DebitPresented` v1 → v2 added `due`, the part of the amount owed
//!   (`PAY-DUE-VS-COLLECTED`). A v1 debit knew no debit "taken but not owed": its
//!   due is the sum of its obligation lines (every line but credit deducted and
//!   debt carried).
//! - `CashPaymentReceived` v1 → v2 added `due`. A v1 cash payment paid for the
//!   period it covers: its due is its amount.
//! - `ContractSuspended` v1 → v2 added `not_due_from` and
//!   `prepared_debits_refunded` (`SUSP-MONTH-DUE`, `PAY-CUTOFF`). A v1 suspension
//!   left them to be read from its effective date, which the upcast takes from
//!   the envelope ([`decode_event_on`]): the first month not due is the month
//!   after the month of the last day in force (the day before the effective
//!   date), as the ledger has always read `SUSP-MONTH-DUE` (core's
//!   `contract::timing::last_due_month`), and the months from it to
//!   `billing_stops_from` are those whose prepared debit the clock took and
//!   refunded.
//! - `ContractTerminated` v1 → v2 renamed the wire value of the reason
//!   `suspension_over12_months` (serde's snake case of `SuspensionOver12Months`)
//!   to `suspension_over_12_months`, as RULES.md and every reader spell it; the
//!   other reasons and fields are unchanged.
//! - `PersonRegistered`, `AddressChanged` and `WorkStudyPlaceDeclared` v1 → v2
//!   moved the personal fields into a sealed field (`crate::sealed`). A v1 record
//!   holds them in clear: it is read as a clear legacy value (`{"clear": ...}`),
//!   which no key opens and no erasure can unwrite.
//! - `SeniorSwitchRequested` v1 → v2 moved the proof of age into a field
//!   sealed with the holder's key and named the holder. A v1 record holds the
//!   proof in clear and names no holder: it is read as a clear legacy value.
//! - `EventAnnulled` v1 → v2 sealed the reason with the key of the person it
//!   concerns and named that person. A v1 record holds the reason in clear and
//!   names no person: it is read as a clear legacy value.
//! - `ContractSubscribed`, `PayerChanged`, `MandateChanged`,
//!   `PaymentMethodSwitched` and `ContractResumed` v1 → v2 changed the mandate
//!   they carry: v1 recorded `{"reference", "account_ref"}` (an opaque account
//!   reference, never an IBAN); v2 records the payer who signed it, the
//!   signature date and the debtor's account sealed with the payer's key
//!   (`crate::mandate`). A v1 mandate is read as a legacy one
//!   ([`Mandate::legacy`]): its reference, no payer, no signature date, and its
//!   account reference as a clear legacy value. Decision: the views show such a
//!   mandate without a signature date and with its account reference
//!   (`DebtorView::Legacy`), and the bank files cannot be built from it until a
//!   new mandate is recorded (`ChangeMandate`), since no IBAN is known.
//! - `BankFileImported` v1 → v2 added the operator's decision (`skipped`,
//!   `decided_by`). A v1 import had no decision: it skipped nothing.
//! - `CollectionFileIssued` and `RefundFileIssued` v1 → v2 added `parts`, the
//!   number of `BankFilePart` events listing the items before the event's own
//!   list. A v1 file listed every item in its own event: it has no part.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::event::{
    AddressChanged, AgeProof, EventAnnulled, PersonDetails, PersonRegistered, PlaceProof,
    SeniorSwitchRequested, WorkStudyPlaceDeclared,
};
use crate::event::{
    CashPaymentReceived, ChargeKind, ChargeLine, ContractSuspended, ContractTerminated,
    DebitPresented, LossDeclared, LossKind, PaymentMeans, SuspensionCause, TerminationReason,
};
use crate::mandate::Mandate;
use crate::sealed::Sealed;
use crate::types::{Address, Channel, ClientNumber, Money, PlaceKind, Support, YearMonth};

use crate::event::Event;
use crate::DecodeError;

/// Decodes an event payload of any known version of `type_name`, without its
/// envelope. A stored event is decoded with [`decode_event_on`]: an old version
/// whose upcast reads the effective date is refused here.
///
/// # Errors
/// Unknown type, a version newer than the code knows or with no upcaster, a
/// version whose upcast needs the effective date, or a payload that does not
/// decode.
pub fn decode_event(type_name: &str, version: u32, data: &str) -> Result<Event, DecodeError> {
    decode(type_name, version, data, None)
}

/// Decodes an event payload of any known version of `type_name`, recorded with
/// the effective date `effective_date` (an upcast may derive from it a field a
/// later version states).
///
/// # Errors
/// Unknown type, a version newer than the code knows or with no upcaster, or a
/// payload that does not decode.
pub fn decode_event_on(
    type_name: &str,
    version: u32,
    data: &str,
    effective_date: NaiveDate,
) -> Result<Event, DecodeError> {
    decode(type_name, version, data, Some(effective_date))
}

fn decode(
    type_name: &str,
    version: u32,
    data: &str,
    effective_date: Option<NaiveDate>,
) -> Result<Event, DecodeError> {
    let current = Event::current_version(type_name)
        .ok_or_else(|| DecodeError::UnknownType(type_name.to_owned()))?;
    if version == current {
        return Event::decode_current(type_name, data);
    }
    if version == 0 || version > current {
        return Err(DecodeError::UnknownVersion {
            type_name: type_name.to_owned(),
            version,
            current,
        });
    }
    let mut value: Value = serde_json::from_str(data).map_err(|e| DecodeError::Payload {
        type_name: type_name.to_owned(),
        source: e,
    })?;
    let mut v = version;
    while v < current {
        value = upcast_one(type_name, v, value, effective_date)?;
        v += 1;
    }
    let text = value.to_string();
    Event::decode_current(type_name, &text)
}

/// `LossDeclared` version 1, kept to decode old records and to publish its schema.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LossDeclared")]
pub struct LossDeclaredV1 {
    /// True for a theft, false for a loss.
    pub stolen: bool,
    /// Replacement fee.
    pub fee: Money,
    /// Rank of the replacement in the free-replacement period.
    pub rank_in_period: u32,
}

// `BankFileImported` version 1 (no operator's decision), kept to decode old
// records and to publish its schema, whose description is version 1's own:
/// A file the bank sent was read and its returned debits recorded: the
/// evidence that the file was imported, and once.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BankFileImported")]
pub struct BankFileImportedV1 {
    /// Status report or notification.
    pub kind: crate::event::BankFileKind,
    /// `GrpHdr/MsgId` of the bank's file.
    pub message_id: String,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier the file was read for.
    pub creditor_id: String,
    /// How many transactions came back.
    pub returned: u64,
    /// The event ids of the `DebitRejected` the import recorded, in file order.
    pub rejection_event_ids: Vec<uuid::Uuid>,
}

/// `DebitPresented` version 1 (no `due`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DebitPresented")]
pub struct DebitPresentedV1 {
    /// The month the debit is for.
    pub month: YearMonth,
    /// Total presented: the sum of the lines.
    pub amount: Money,
    /// The composition.
    pub lines: Vec<ChargeLine>,
    /// The mandate debited.
    pub mandate_reference: String,
    /// The payer debited.
    pub payer: uuid::Uuid,
}

/// `CashPaymentReceived` version 1 (no `due`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CashPaymentReceived")]
pub struct CashPaymentReceivedV1 {
    /// Amount received.
    pub amount: Money,
    /// How it was paid.
    pub means: PaymentMeans,
    /// Channel of the payment.
    pub channel: Channel,
    /// First month covered.
    pub covers_from: YearMonth,
    /// Last month covered.
    pub covers_until: YearMonth,
}

// `ContractSuspended` version 1 (no `not_due_from`, no
// `prepared_debits_refunded`), kept to decode old records and to publish its
// schema; its doc comments are the ones version 1 was published with, so that
// its schema file stays as it was.
/// The contract was suspended from the event's effective date (`SUSP-*`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ContractSuspended")]
pub struct ContractSuspendedV1 {
    /// Why.
    pub cause: SuspensionCause,
    /// Planned resumption date given with the request (`SUSP-RESUME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_resumption: Option<NaiveDate>,
    /// First month whose debit is no longer presented (`PAY-CUTOFF`). It says
    /// when debits stop, not what is due: the month in progress on the last day
    /// in force is due in full (`SUSP-MONTH-DUE`); a month before this one that the
    /// contract is not in force on at all (a suspension from its 1st requested
    /// after the cutoff) is still debited, as the debit was prepared, with nothing
    /// due, and refunded within 30 days (`PAY-REFUND-30D`).
    pub billing_stops_from: YearMonth,
}

// The person events of version 1 held their personal fields in clear; they are
// kept to decode old records and to publish their schemas, with the doc comments
// version 1 was published with. Version 2 reads them as clear legacy values
// (`{"clear": ...}` in the sealed field, see `crate::sealed`): the old record's
// bytes cannot be rewritten, so an erasure cannot remove their content.
/// A person (holder and/or payer) became known to the ledger.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PersonRegistered")]
pub struct PersonRegisteredV1 {
    /// Customer number (numéro client).
    pub client_number: ClientNumber,
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

/// The person's residence changed from the event's effective date on.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AddressChanged")]
pub struct AddressChangedV1 {
    /// The new residence.
    pub address: Address,
}

/// The person declared a place of work or study, with proof (`REF-PLACE`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "WorkStudyPlaceDeclared")]
pub struct WorkStudyPlaceDeclaredV1 {
    /// Work or study.
    pub kind: PlaceKind,
    /// Municipality of the place, as written in the campaign lists.
    pub municipality: String,
    /// Reference of the proof document.
    pub proof_ref: String,
}

/// A switch of an Annual 1-5 contract to the Senior tariff was requested (`SENIOR-SWITCH`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SeniorSwitchRequested")]
pub struct SeniorSwitchRequestedV1 {
    /// Activity declaration.
    pub declaration: crate::types::ActivityDeclaration,
    /// Reference of the proof of age.
    pub age_proof_ref: String,
    /// Earliest validation date: 5 working days after the request.
    pub processing_until: NaiveDate,
}

/// An earlier event of the same stream is annulled: a correction, never an edit.
/// Views known after this event ignore the annulled one; views known before it
/// still see it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EventAnnulled")]
// Version 1 kept the reason in clear; its doc comment is the published
// schema's description, which does not change.
pub struct EventAnnulledV1 {
    /// The event id annulled.
    pub annulled_event_id: uuid::Uuid,
    /// Its global position.
    pub annulled_position: u64,
    /// Why, for the audit trail.
    pub reason: String,
}

/// The events whose version 1 carried a version 1 mandate, with the path of
/// that mandate in their payload and the published version 1 schema (frozen:
/// no Rust type keeps the version 1 mandate, and a published schema does not
/// change).
const MANDATE_V1_EVENTS: [(&str, &[&str], &str); 5] = [
    (
        "ContractSubscribed",
        &["payment", "mandate"],
        include_str!("../schemas/events/ContractSubscribed.v1.json"),
    ),
    (
        "PayerChanged",
        &["mandate"],
        include_str!("../schemas/events/PayerChanged.v1.json"),
    ),
    (
        "MandateChanged",
        &["mandate"],
        include_str!("../schemas/events/MandateChanged.v1.json"),
    ),
    (
        "PaymentMethodSwitched",
        &["to", "mandate"],
        include_str!("../schemas/events/PaymentMethodSwitched.v1.json"),
    ),
    (
        "ContractResumed",
        &["payment", "mandate"],
        include_str!("../schemas/events/ContractResumed.v1.json"),
    ),
];

/// A version 1 mandate, `{"reference", "account_ref"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MandateV1 {
    reference: String,
    account_ref: String,
}

/// Replaces the version 1 mandate at `path` in `value`, when there is one (a
/// cash payment has none), by the legacy mandate it reads as.
fn upcast_mandate_v1(mut value: Value, path: &[&str]) -> Result<Value, serde_json::Error> {
    let mut at = &mut value;
    for key in path {
        match at.get_mut(*key) {
            Some(inner) => at = inner,
            None => return Ok(value),
        }
    }
    if !at.is_null() {
        let v1: MandateV1 = serde_json::from_value(at.take())?;
        *at = serde_json::to_value(Mandate::legacy(v1.reference, v1.account_ref))?;
    }
    Ok(value)
}

/// The wire value of `TerminationReason::SuspensionOver12Months` in
/// `ContractTerminated` version 1.
pub const SUSPENSION_OVER_12_MONTHS_V1: &str = "suspension_over12_months";

/// Schemas of the versions older than the current ones: (type, version, schema).
pub fn old_schemas() -> Vec<(&'static str, u32, schemars::Schema)> {
    let mut out = vec![
        ("LossDeclared", 1, schemars::schema_for!(LossDeclaredV1)),
        (
            "BankFileImported",
            1,
            schemars::schema_for!(BankFileImportedV1),
        ),
        ("DebitPresented", 1, schemars::schema_for!(DebitPresentedV1)),
        (
            "CashPaymentReceived",
            1,
            schemars::schema_for!(CashPaymentReceivedV1),
        ),
        (
            "ContractSuspended",
            1,
            schemars::schema_for!(ContractSuspendedV1),
        ),
        ("ContractTerminated", 1, contract_terminated_v1_schema()),
        (
            "PersonRegistered",
            1,
            schemars::schema_for!(PersonRegisteredV1),
        ),
        ("AddressChanged", 1, schemars::schema_for!(AddressChangedV1)),
        (
            "WorkStudyPlaceDeclared",
            1,
            schemars::schema_for!(WorkStudyPlaceDeclaredV1),
        ),
        (
            "SeniorSwitchRequested",
            1,
            schemars::schema_for!(SeniorSwitchRequestedV1),
        ),
        ("EventAnnulled", 1, schemars::schema_for!(EventAnnulledV1)),
    ];
    let published = MANDATE_V1_EVENTS
        .iter()
        .map(|(name, _, published)| (*name, *published))
        .chain(PARTS_V1_EVENTS);
    for (name, published) in published {
        if let Ok(schema) = serde_json::from_str::<schemars::Schema>(published) {
            out.push((name, 1, schema));
        }
    }
    out
}

/// The events whose version 2 added `parts` (a file's list in parts), with
/// their published version 1 schema: version 2 is version 1 with no part.
const PARTS_V1_EVENTS: [(&str, &str); 2] = [
    (
        "CollectionFileIssued",
        include_str!("../schemas/events/CollectionFileIssued.v1.json"),
    ),
    (
        "RefundFileIssued",
        include_str!("../schemas/events/RefundFileIssued.v1.json"),
    ),
];

/// Version 1 of an event of [`PARTS_V1_EVENTS`] as version 2: every item was
/// in the event itself.
fn upcast_parts_v1(mut value: Value) -> Result<Value, serde_json::Error> {
    match value.as_object_mut() {
        Some(fields) if !fields.contains_key("parts") => {
            fields.insert("parts".into(), Value::from(0u32));
            Ok(value)
        }
        _ => Err(<serde_json::Error as serde::de::Error>::custom(
            "version 1 of a file's event is an object without `parts`",
        )),
    }
}

/// `ContractTerminated` version 1: version 2 with the old spelling of the
/// reason, which is all that differs (no Rust type keeps the old spelling).
fn contract_terminated_v1_schema() -> schemars::Schema {
    fn respell(v: &mut Value) {
        match v {
            Value::String(s)
                if s.as_str() == TerminationReason::SuspensionOver12Months.to_string() =>
            {
                *s = SUSPENSION_OVER_12_MONTHS_V1.to_owned();
            }
            Value::Array(items) => items.iter_mut().for_each(respell),
            Value::Object(fields) => fields.values_mut().for_each(respell),
            _ => {}
        }
    }
    let mut schema = schemars::schema_for!(ContractTerminated).to_value();
    respell(&mut schema);
    schemars::Schema::try_from(schema).unwrap_or_else(|_| schemars::schema_for!(ContractTerminated))
}

/// `ContractSuspended` v1 → v2 on a suspension effective on `effective` (see the
/// module docs).
fn contract_suspended_v2(v1: ContractSuspendedV1, effective: NaiveDate) -> ContractSuspended {
    let last_day_in_force = effective.pred_opt().unwrap_or(effective);
    let not_due_from = YearMonth::of(last_day_in_force).plus(1);
    let mut prepared_debits_refunded = Vec::new();
    let mut m = not_due_from;
    while m < v1.billing_stops_from {
        prepared_debits_refunded.push(m);
        m = m.plus(1);
    }
    ContractSuspended {
        cause: v1.cause,
        planned_resumption: v1.planned_resumption,
        not_due_from,
        billing_stops_from: v1.billing_stops_from,
        prepared_debits_refunded,
    }
}

/// Converts one payload from version `from` to `from + 1`, recorded with the
/// effective date `effective_date` when known.
fn upcast_one(
    type_name: &str,
    from: u32,
    value: Value,
    effective_date: Option<NaiveDate>,
) -> Result<Value, DecodeError> {
    let payload_err = |source| DecodeError::Payload {
        type_name: format!("{type_name} v{from}"),
        source,
    };
    if from == 1 {
        if let Some((_, path, _)) = MANDATE_V1_EVENTS.iter().find(|(t, _, _)| *t == type_name) {
            return upcast_mandate_v1(value, path).map_err(payload_err);
        }
        if PARTS_V1_EVENTS.iter().any(|(t, _)| *t == type_name) {
            return upcast_parts_v1(value).map_err(payload_err);
        }
    }
    match (type_name, from) {
        ("PersonRegistered", 1) => {
            let v1: PersonRegisteredV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = PersonRegistered {
                client_number: v1.client_number,
                personal: Sealed::clear(PersonDetails {
                    first_name: v1.first_name,
                    last_name: v1.last_name,
                    birth_date: v1.birth_date,
                    emancipation_proof: v1.emancipation_proof,
                    address: v1.address,
                }),
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("AddressChanged", 1) => {
            let v1: AddressChangedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = AddressChanged {
                address: Sealed::clear(v1.address),
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("WorkStudyPlaceDeclared", 1) => {
            let v1: WorkStudyPlaceDeclaredV1 =
                serde_json::from_value(value).map_err(payload_err)?;
            let v2 = WorkStudyPlaceDeclared {
                kind: v1.kind,
                place: Sealed::clear(PlaceProof {
                    municipality: v1.municipality,
                    proof_ref: v1.proof_ref,
                }),
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("BankFileImported", 1) => {
            let v1: BankFileImportedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = crate::event::BankFileImported {
                kind: v1.kind,
                message_id: v1.message_id,
                sha256: v1.sha256,
                creditor_id: v1.creditor_id,
                returned: v1.returned,
                rejection_event_ids: v1.rejection_event_ids,
                skipped: Vec::new(),
                decided_by: None,
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("SeniorSwitchRequested", 1) => {
            let v1: SeniorSwitchRequestedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = SeniorSwitchRequested {
                declaration: v1.declaration,
                holder: None,
                age_proof: Sealed::clear(AgeProof {
                    age_proof_ref: v1.age_proof_ref,
                }),
                processing_until: v1.processing_until,
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("EventAnnulled", 1) => {
            let v1: EventAnnulledV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = EventAnnulled {
                annulled_event_id: v1.annulled_event_id,
                annulled_position: v1.annulled_position,
                person: None,
                reason: Sealed::clear(v1.reason),
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("LossDeclared", 1) => {
            let v1: LossDeclaredV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = LossDeclared {
                kind: if v1.stolen {
                    LossKind::Theft
                } else {
                    LossKind::Loss
                },
                support: Support::Pass,
                replacement_support: Support::Pass,
                fee: v1.fee,
                rank_in_period: v1.rank_in_period,
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("DebitPresented", 1) => {
            let v1: DebitPresentedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let due = v1
                .lines
                .iter()
                .filter(|l| !matches!(l.kind, ChargeKind::CreditDeducted | ChargeKind::DebtCarried))
                .map(|l| l.amount)
                .sum();
            let v2 = DebitPresented {
                month: v1.month,
                amount: v1.amount,
                due,
                lines: v1.lines,
                mandate_reference: v1.mandate_reference,
                payer: v1.payer,
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("ContractTerminated", 1) => {
            let mut value = value;
            if let Some(reason) = value.get_mut("reason") {
                if reason.as_str() == Some(SUSPENSION_OVER_12_MONTHS_V1) {
                    *reason = Value::String(TerminationReason::SuspensionOver12Months.to_string());
                }
            }
            Ok(value)
        }
        ("CashPaymentReceived", 1) => {
            let v1: CashPaymentReceivedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let v2 = CashPaymentReceived {
                amount: v1.amount,
                due: v1.amount,
                means: v1.means,
                channel: v1.channel,
                covers_from: v1.covers_from,
                covers_until: v1.covers_until,
            };
            serde_json::to_value(v2).map_err(payload_err)
        }
        ("ContractSuspended", 1) => {
            let v1: ContractSuspendedV1 = serde_json::from_value(value).map_err(payload_err)?;
            let Some(effective) = effective_date else {
                return Err(payload_err(
                    <serde_json::Error as serde::de::Error>::custom(
                        "the upcast to version 2 reads the event's effective date: decode it with \
                     its envelope (decode_event_on)",
                    ),
                ));
            };
            serde_json::to_value(contract_suspended_v2(v1, effective)).map_err(payload_err)
        }
        _ => Err(DecodeError::UnknownVersion {
            type_name: type_name.to_owned(),
            version: from,
            current: Event::current_version(type_name).unwrap_or(0),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_declared_v1_is_upcast_to_v2() {
        let v1 = r#"{"stolen": true, "fee": "8.00", "rank_in_period": 3}"#;
        let e = decode_event("LossDeclared", 1, v1).unwrap();
        assert_eq!(
            e,
            Event::LossDeclared(LossDeclared {
                kind: LossKind::Theft,
                support: Support::Pass,
                replacement_support: Support::Pass,
                fee: "8.00".parse::<Money>().unwrap(),
                rank_in_period: 3,
            })
        );
    }

    #[test]
    fn debit_presented_v1_is_upcast_with_due_from_its_obligation_lines() {
        let v1 = r#"{"month":"2026-12","amount":"80.00","lines":[
            {"kind":"full_installment","amount":"90.00","month":"2026-12"},
            {"kind":"credit_deducted","amount":"-10.00","month":"2026-12"}],
            "mandate_reference":"M","payer":"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c02"}"#;
        let Event::DebitPresented(d) = decode_event("DebitPresented", 1, v1).unwrap() else {
            panic!("a debit")
        };
        assert_eq!(d.due, "90.00".parse::<Money>().unwrap());
        assert_eq!(d.amount, "80.00".parse::<Money>().unwrap());
    }

    #[test]
    fn cash_payment_received_v1_is_upcast_with_due_equal_to_its_amount() {
        let v1 = r#"{"amount":"998.80","means":"card","channel":"agency",
            "covers_from":"2027-01","covers_until":"2027-12"}"#;
        let Event::CashPaymentReceived(c) = decode_event("CashPaymentReceived", 1, v1).unwrap()
        else {
            panic!("a cash payment")
        };
        assert_eq!(c.due, c.amount);
    }

    #[test]
    fn pay_bank_file_v1_is_upcast_with_every_item_in_the_event_and_no_part() {
        let debit = r#"{"debit_event_id":"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c01",
            "contract_id":"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c02","amount":"90.80"}"#;
        let head = r#""message_id":"M","count":1,"control_sum":"90.80","sha256":"ab",
            "creditor_id":"FR00ZZZ000000","creditor_iban_masked":"FR76 **** 0000""#;
        let v1 = format!(r#"{{"collection_date":"2026-12-01",{head},"debits":[{debit}]}}"#);
        let Event::CollectionFileIssued(c) = decode_event("CollectionFileIssued", 1, &v1).unwrap()
        else {
            panic!("a collection file")
        };
        assert_eq!((c.parts, c.debits.len()), (0, 1));
        let refund = r#"{"refund_event_id":"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c03",
            "stream_kind":"contract","stream_id":"0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c02",
            "amount":"12.00"}"#;
        let v1 = format!(r#"{{"execution_date":"2026-12-01",{head},"refunds":[{refund}]}}"#);
        let Event::RefundFileIssued(r) = decode_event("RefundFileIssued", 1, &v1).unwrap() else {
            panic!("a refund file")
        };
        assert_eq!((r.parts, r.refunds.len()), (0, 1));
        // A version 1 record that already names parts is not a version 1 record.
        let forged = v1.replacen('{', r#"{"parts":3,"#, 1);
        assert!(decode_event("RefundFileIssued", 1, &forged).is_err());
    }

    fn ym(s: &str) -> YearMonth {
        s.parse().expect("a month")
    }

    fn suspended_v1_on(data: &str, effective: &str) -> ContractSuspended {
        let date: NaiveDate = effective.parse().expect("a date");
        match decode_event_on("ContractSuspended", 1, data, date) {
            Ok(Event::ContractSuspended(s)) => s,
            other => panic!("a suspension: {other:?}"),
        }
    }

    #[test]
    fn susp_month_due_contract_suspended_v1_is_upcast_with_the_months_its_effective_date_gives() {
        // A suspension from the 1st of December registered after the cutoff: the
        // December debit was prepared, so debits stopped from January.
        let late = r#"{"cause":"request","billing_stops_from":"2027-01"}"#;
        let s = suspended_v1_on(late, "2026-12-01");
        assert_eq!(s.not_due_from, ym("2026-12"));
        assert_eq!(s.billing_stops_from, ym("2027-01"));
        assert_eq!(s.prepared_debits_refunded, vec![ym("2026-12")]);
        // From the 20th of November: November is due, December is not.
        let s = suspended_v1_on(late, "2026-11-20");
        assert_eq!(s.not_due_from, ym("2026-12"));
        assert_eq!(s.prepared_debits_refunded, vec![ym("2026-12")]);
        // Registered before the cutoff: nothing prepared, nothing refunded.
        let early = r#"{"cause":"request","planned_resumption":"2027-03-01",
            "billing_stops_from":"2026-12"}"#;
        let s = suspended_v1_on(early, "2026-11-20");
        assert_eq!(s.planned_resumption, "2027-03-01".parse().ok());
        assert_eq!(
            (s.not_due_from, s.billing_stops_from),
            (ym("2026-12"), ym("2026-12"))
        );
        assert!(s.prepared_debits_refunded.is_empty());
        // Without its envelope the upcast cannot read the months: refused, not
        // guessed.
        assert!(matches!(
            decode_event("ContractSuspended", 1, early),
            Err(DecodeError::Payload { .. })
        ));
    }

    #[test]
    fn susp_max_12m_contract_terminated_v1_reason_is_read_as_rules_md_spells_it() {
        // Given version 1 terminations as stored before the wire value was
        // respelt
        let v1 = r#"{"reason":"suspension_over12_months","rulebook":"CGVU-2026",
            "billing_stops_from":"2027-08"}"#;
        // When decoded, then it is the current reason, written the RULES.md way
        let Event::ContractTerminated(t) = decode_event("ContractTerminated", 1, v1).unwrap()
        else {
            panic!("a termination")
        };
        assert_eq!(t.reason, TerminationReason::SuspensionOver12Months);
        assert_eq!(
            serde_json::to_value(&t).unwrap()["reason"],
            "suspension_over_12_months"
        );
        let unpaid = r#"{"reason":"unpaid","rulebook":"CGVU-2026","billing_stops_from":"2027-08"}"#;
        let Event::ContractTerminated(t) = decode_event("ContractTerminated", 1, unpaid).unwrap()
        else {
            panic!("a termination")
        };
        // (the other reasons are unchanged)
        assert_eq!(t.reason, TerminationReason::Unpaid);
        // And the current version refuses the old spelling: it was never written.
        assert!(decode_event("ContractTerminated", 2, v1).is_err());
    }

    #[test]
    fn term_retention_version_1_mandates_are_read_as_clear_legacy_mandates() {
        // Given version 1 events carrying a version 1 mandate
        let mandate = r#"{"reference":"UMR-1","account_ref":"acct-7"}"#;
        let payer = "0192f5a0-6c1e-7b3a-8f21-3d4e5a6b7c02";
        let changed = format!(r#"{{"mandate":{mandate},"effective_from_month":"2026-12"}}"#);
        let payer_changed = format!(
            r#"{{"payer":"{payer}","mandate":{mandate},"effective_from_month":"2026-12"}}"#
        );
        let switched = format!(
            r#"{{"to":{{"method":"direct_debit","debit_day":8,"mandate":{mandate}}},
                "effective_from_month":"2026-12"}}"#
        );
        let cash =
            r#"{"to":{"method":"cash"},"effective_from_month":"2026-12","amount_due":"1.00"}"#;
        // When decoded, then each is the legacy mandate: its reference, no
        // payer, no signature date, the account reference in clear
        let legacy = Mandate::legacy("UMR-1".into(), "acct-7".into());
        let Event::MandateChanged(m) = decode_event("MandateChanged", 1, &changed).unwrap() else {
            panic!("a mandate change")
        };
        assert_eq!(m.mandate, legacy);
        assert!(m.mandate.account().is_none() && m.mandate.debtor.sealed_for().is_none());
        let Event::PayerChanged(p) = decode_event("PayerChanged", 1, &payer_changed).unwrap()
        else {
            panic!("a payer change")
        };
        assert_eq!(p.mandate, Some(legacy.clone()));
        let Event::PaymentMethodSwitched(s) =
            decode_event("PaymentMethodSwitched", 1, &switched).unwrap()
        else {
            panic!("a switch")
        };
        assert_eq!(s.to.mandate(), Some(&legacy));
        // (a switch to cash has no mandate to upcast)
        assert!(decode_event("PaymentMethodSwitched", 1, cash).is_ok());
        // And a legacy mandate has no field to seal: it stays as it was read
        let mut e = Event::MandateChanged(m);
        assert!(e
            .personal_fields_mut(uuid::Uuid::nil(), uuid::Uuid::nil())
            .is_empty());
        // And version 2 refuses a version 1 mandate: it was never written so
        assert!(decode_event("MandateChanged", 2, &changed).is_err());
    }

    #[test]
    fn unknown_versions_and_types_are_errors() {
        assert!(matches!(
            decode_event("LossDeclared", 3, "{}"),
            Err(DecodeError::UnknownVersion { .. })
        ));
        assert!(matches!(
            decode_event("Nope", 1, "{}"),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(matches!(
            decode_event("LossDeclared", 1, r#"{"fee":"1.00"}"#),
            Err(DecodeError::Payload { .. })
        ));
    }
}
