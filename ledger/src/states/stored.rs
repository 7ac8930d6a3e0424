//! The stored form of a paged contract state: positional (postcard), with
//! dates, months and amounts as integers.
//!
//! `ContractState`'s own serde form is the one its JSON snapshot and views
//! keep: fields by name, dates and amounts as text, tagged enums
//! (`Product`, `PaymentSetup`, `ActivityDeclaration`) and the mandates'
//! skipped fields and untagged sealed account, which only a self-describing
//! format can read back. Paging a state in decoded that form (CBOR) at about
//! 40 % of a paged import's CPU. This module is a private mirror of the
//! state, derived with serde's `remote` so that the compiler checks it field
//! for field against `ContractState` (a field added there and not here does
//! not build), whose enums are plain and whose leaves are integers:
//!
//! - a date is its days from the common era (`i32`); a month is its months
//!   from year 0 (`i32`);
//! - an amount is the decimal's mantissa and scale (`i128`, `u32`): exact,
//!   never a float;
//! - a mandate's sealed account is kept as the JSON bytes of its own serde
//!   form (sealed, or clear for a legacy mandate), the one form `Sealed`
//!   promises to read back; a contract holds few mandates, so the nested
//!   JSON costs little.
//!
//! Changing anything here changes the stored bytes: raise
//! `STATE_SCHEMA_VERSION` with it (entries of another version are refused and
//! rebuilt from the log).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use navigo_events_schema::event::{
    FeeKind, LossKind, PaymentMeans, RefundMethod, RefundReason, TerminationReason,
};
use navigo_events_schema::mandate::MandateDebtor;
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::types::{
    ActivityDeclaration, Channel, DebitDay, Mandate, PaymentSetup, Product, ReasonCode, Support,
    Zones,
};
use navigo_events_schema::{Money, YearMonth};
use navigo_rules::contract::collection::Presentation;
use navigo_rules::contract::state::{
    ContractMoney, ContractState, DebitRecord, Loss, MonthMoney, OneOffPayment, Period,
    PreparedTerms, Refund, Rejection, SeniorSwitchPending, Status, StatusChange, TreasuryNotice,
};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_with::{serde_as, DeserializeAs, Same, SerializeAs};
use uuid::Uuid;

/// The stored bytes of a contract state.
///
/// # Errors
/// Only if a mandate's sealed account does not serialise, which a state read
/// from the log never holds (an erased view of it is never stored).
pub fn encode(state: &ContractState) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_stdvec(&AsStored(state))
}

/// The contract state stored bytes hold.
///
/// # Errors
/// Bytes that are not a whole stored state of this version.
pub fn decode(bytes: &[u8]) -> Result<ContractState, postcard::Error> {
    let (state, rest) = postcard::take_from_bytes::<FromStored>(bytes)?;
    if rest.is_empty() {
        Ok(state.0)
    } else {
        Err(postcard::Error::DeserializeBadEncoding)
    }
}

struct AsStored<'a>(&'a ContractState);

impl Serialize for AsStored<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredContract::serialize(self.0, s)
    }
}

struct FromStored(ContractState);

impl<'de> Deserialize<'de> for FromStored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StoredContract::deserialize(d).map(FromStored)
    }
}

/// Implements serde_with's adapters for a mirror derived with `remote`, so that
/// the mirror can be named inside a vector, a map or an option.
macro_rules! remote_as {
    ($($mirror:ident => $t:ty),+ $(,)?) => {$(
        impl SerializeAs<$t> for $mirror {
            fn serialize_as<S: Serializer>(v: &$t, s: S) -> Result<S::Ok, S::Error> {
                $mirror::serialize(v, s)
            }
        }
        impl<'de> DeserializeAs<'de, $t> for $mirror {
            fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                $mirror::deserialize(d)
            }
        }
    )+};
}

/// A date as its days from the common era.
struct Days;

impl SerializeAs<NaiveDate> for Days {
    fn serialize_as<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(d.num_days_from_ce())
    }
}

impl<'de> DeserializeAs<'de, NaiveDate> for Days {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let days = i32::deserialize(d)?;
        NaiveDate::from_num_days_from_ce_opt(days)
            .ok_or_else(|| D::Error::custom(format!("date: {days} days from the era is no date")))
    }
}

/// An instant as its microseconds from the Unix epoch (the precision of a
/// record's `recorded_at`, and inside `i64` for 292,000 years).
struct Micros;

impl SerializeAs<DateTime<Utc>> for Micros {
    fn serialize_as<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.timestamp_micros())
    }
}

impl<'de> DeserializeAs<'de, DateTime<Utc>> for Micros {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let micros = i64::deserialize(d)?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| D::Error::custom(format!("instant: {micros} µs is no instant")))
    }
}

/// A month as its months from January of year 0.
struct Months;

impl SerializeAs<YearMonth> for Months {
    fn serialize_as<S: Serializer>(m: &YearMonth, s: S) -> Result<S::Ok, S::Error> {
        // Months of 1 to 12 and years of 1900 to 2200 (`YearMonth::new`): no overflow.
        s.serialize_i32(m.year() * 12 + m.month() as i32 - 1)
    }
}

impl<'de> DeserializeAs<'de, YearMonth> for Months {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let n = i32::deserialize(d)?;
        let month = u32::try_from(n.rem_euclid(12) + 1).map_err(D::Error::custom)?;
        YearMonth::new(n.div_euclid(12), month).map_err(|e| D::Error::custom(format!("month: {e}")))
    }
}

/// A decimal as its mantissa and scale: exact.
struct Exact;

impl SerializeAs<Decimal> for Exact {
    fn serialize_as<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        (v.mantissa(), v.scale()).serialize(s)
    }
}

impl<'de> DeserializeAs<'de, Decimal> for Exact {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let (mantissa, scale) = <(i128, u32)>::deserialize(d)?;
        Decimal::try_from_i128_with_scale(mantissa, scale)
            .map_err(|e| D::Error::custom(format!("decimal: {e}")))
    }
}

/// An amount as its decimal's mantissa and scale.
struct Cents;

impl SerializeAs<Money> for Cents {
    fn serialize_as<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
        Exact::serialize_as(&m.value(), s)
    }
}

impl<'de> DeserializeAs<'de, Money> for Cents {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let v = Exact::deserialize_as(d)?;
        Money::new(v).map_err(|e| D::Error::custom(format!("amount: {e}")))
    }
}

/// A mandate's sealed account as the JSON bytes of its own serde form.
struct SealedJson;

impl SerializeAs<Sealed<MandateDebtor>> for SealedJson {
    fn serialize_as<S: Serializer>(v: &Sealed<MandateDebtor>, s: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_vec(v).map_err(serde::ser::Error::custom)?;
        s.serialize_bytes(&json)
    }
}

impl<'de> DeserializeAs<'de, Sealed<MandateDebtor>> for SealedJson {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<Sealed<MandateDebtor>, D::Error> {
        let json = <&[u8]>::deserialize(d)?;
        serde_json::from_slice(json).map_err(|e| D::Error::custom(format!("mandate debtor: {e}")))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Product")]
enum StoredProduct {
    Annual { zones: Zones },
    Senior,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "Mandate")]
struct StoredMandate {
    reference: String,
    payer: Option<Uuid>,
    #[serde_as(as = "Option<Days>")]
    signed_on: Option<NaiveDate>,
    #[serde_as(as = "SealedJson")]
    debtor: Sealed<MandateDebtor>,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "PaymentSetup")]
enum StoredSetup {
    DirectDebit {
        debit_day: DebitDay,
        #[serde_as(as = "StoredMandate")]
        mandate: Mandate,
    },
    Cash,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "ActivityDeclaration")]
enum StoredDeclaration {
    NoActivity,
    HoursPerWeek {
        #[serde_as(as = "Exact")]
        hours: Decimal,
    },
    HoursPerMonth {
        #[serde_as(as = "Exact")]
        hours: Decimal,
    },
    HoursPerYear {
        #[serde_as(as = "Exact")]
        hours: Decimal,
    },
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "StatusChange")]
struct StoredStatusChange {
    #[serde_as(as = "Days")]
    from: NaiveDate,
    status: Status,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "Period")]
struct StoredPeriod {
    #[serde_as(as = "Days")]
    start: NaiveDate,
    remaining_days: u32,
    rulebook: String,
    #[serde_as(as = "Months")]
    billing_from: YearMonth,
    #[serde_as(as = "Option<Months>")]
    first_free_month: Option<YearMonth>,
    #[serde_as(as = "Option<Days>")]
    end: Option<NaiveDate>,
    #[serde_as(as = "Option<Months>")]
    billing_stops_from: Option<YearMonth>,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "MonthMoney")]
struct StoredMonthMoney {
    #[serde_as(as = "Cents")]
    due: Money,
    #[serde_as(as = "Cents")]
    collected: Money,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "ContractMoney")]
struct StoredMoney {
    #[serde_as(as = "Cents")]
    due: Money,
    #[serde_as(as = "Cents")]
    collected: Money,
    #[serde_as(as = "Cents")]
    returned: Money,
    #[serde_as(as = "BTreeMap<Months, StoredMonthMoney>")]
    months: BTreeMap<YearMonth, MonthMoney>,
    #[serde_as(as = "BTreeMap<Same, Cents>")]
    fees: BTreeMap<FeeKind, Money>,
    #[serde_as(as = "Cents")]
    refunds_pending: Money,
    #[serde_as(as = "Cents")]
    unattributed_due: Money,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "DebitRecord")]
struct StoredDebit {
    event_id: Uuid,
    #[serde_as(as = "Days")]
    date: NaiveDate,
    #[serde_as(as = "Cents")]
    amount: Money,
    #[serde_as(as = "Cents")]
    due: Money,
    rejected: bool,
    payer: Uuid,
    #[serde_as(as = "Micros")]
    recorded_at: DateTime<Utc>,
    presented_as: Option<Presentation>,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "Rejection")]
struct StoredRejection {
    event_id: Uuid,
    #[serde_as(as = "Days")]
    date: NaiveDate,
    #[serde_as(as = "Months")]
    month: YearMonth,
    #[serde_as(as = "Cents")]
    amount: Money,
    reason_code: ReasonCode,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "Refund")]
struct StoredRefund {
    #[serde_as(as = "Cents")]
    amount: Money,
    reason: RefundReason,
    #[serde_as(as = "Days")]
    date: NaiveDate,
    #[serde_as(as = "Days")]
    due_by: NaiveDate,
    method: RefundMethod,
    beneficiary: Uuid,
    paid: bool,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "OneOffPayment")]
struct StoredOneOff {
    #[serde_as(as = "Days")]
    date: NaiveDate,
    #[serde_as(as = "Cents")]
    amount: Money,
    means: PaymentMeans,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "Loss")]
struct StoredLoss {
    #[serde_as(as = "Days")]
    date: NaiveDate,
    kind: LossKind,
    #[serde_as(as = "Cents")]
    fee: Money,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "TreasuryNotice")]
struct StoredNotice {
    notice_ref: String,
    payer: Uuid,
    #[serde_as(as = "Cents")]
    amount: Money,
    #[serde_as(as = "Days")]
    issued: NaiveDate,
    #[serde_as(as = "Option<Days>")]
    delivered: Option<NaiveDate>,
    #[serde_as(as = "Option<Days>")]
    settled: Option<NaiveDate>,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "SeniorSwitchPending")]
struct StoredSeniorSwitch {
    #[serde_as(as = "Days")]
    requested: NaiveDate,
    #[serde_as(as = "Days")]
    processing_until: NaiveDate,
    #[serde_as(as = "StoredDeclaration")]
    declaration: ActivityDeclaration,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "PreparedTerms")]
struct StoredPrepared {
    #[serde_as(as = "Days")]
    registered_on: NaiveDate,
    #[serde_as(as = "Box<StoredContract>")]
    before: Box<ContractState>,
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(remote = "ContractState")]
struct StoredContract {
    id: Uuid,
    holder: Uuid,
    payer: Uuid,
    #[serde_as(as = "Vec<(Months, Same)>")]
    payers: Vec<(YearMonth, Uuid)>,
    channel: Channel,
    #[serde_as(as = "Days")]
    start_date: NaiveDate,
    rulebook: String,
    third_party_payer: bool,
    #[serde_as(as = "StoredProduct")]
    product: Product,
    #[serde_as(as = "Vec<(Days, StoredProduct)>")]
    products: Vec<(NaiveDate, Product)>,
    #[serde_as(as = "Vec<(Months, StoredProduct)>")]
    billed_products: Vec<(YearMonth, Product)>,
    #[serde_as(as = "Option<(Days, Same)>")]
    pending_zone_change: Option<(NaiveDate, Zones)>,
    #[serde_as(as = "Vec<(Months, StoredSetup)>")]
    payments: Vec<(YearMonth, PaymentSetup)>,
    #[serde_as(as = "Vec<(Months, Same)>")]
    debit_days: Vec<(YearMonth, DebitDay)>,
    #[serde_as(as = "Vec<Days>")]
    debit_day_requests: Vec<NaiveDate>,
    #[serde_as(as = "Vec<(Months, StoredMandate)>")]
    mandates: Vec<(YearMonth, Mandate)>,
    #[serde_as(as = "Option<Days>")]
    mandate_revoked: Option<NaiveDate>,
    #[serde_as(as = "Vec<(Days, Option<Days>)>")]
    revoked_spans: Vec<(NaiveDate, Option<NaiveDate>)>,
    #[serde_as(as = "Option<StoredMandate>")]
    last_presented_mandate: Option<Mandate>,
    presented_mandates: BTreeSet<String>,
    #[serde_as(as = "Vec<StoredStatusChange>")]
    statuses: Vec<StatusChange>,
    #[serde_as(as = "Vec<StoredPeriod>")]
    periods: Vec<Period>,
    #[serde_as(as = "Option<Days>")]
    planned_resumption: Option<NaiveDate>,
    #[serde_as(as = "Option<Days>")]
    suspension_registered_on: Option<NaiveDate>,
    support: Support,
    #[serde_as(as = "Vec<StoredLoss>")]
    losses: Vec<Loss>,
    #[serde_as(as = "StoredMoney")]
    money: ContractMoney,
    #[serde_as(as = "BTreeMap<Months, StoredDebit>")]
    debits: BTreeMap<YearMonth, DebitRecord>,
    #[serde_as(as = "Vec<StoredRejection>")]
    rejections: Vec<Rejection>,
    #[serde_as(as = "BTreeMap<Same, StoredRefund>")]
    refunds: BTreeMap<Uuid, Refund>,
    #[serde_as(as = "Vec<StoredOneOff>")]
    one_off_payments: Vec<OneOffPayment>,
    #[serde_as(as = "Option<Days>")]
    cash_paid_until: Option<NaiveDate>,
    #[serde_as(as = "Cents")]
    cash_period_paid: Money,
    #[serde_as(as = "Cents")]
    cash_period_refunded: Money,
    #[serde_as(as = "Cents")]
    cash_period_zone_due: Money,
    #[serde_as(as = "Vec<Days>")]
    renewal_notices: Vec<NaiveDate>,
    #[serde_as(as = "Option<StoredSeniorSwitch>")]
    senior_switch: Option<SeniorSwitchPending>,
    fraud: Option<(Uuid, Vec<Uuid>)>,
    #[serde_as(as = "Option<(Days, Same, Same)>")]
    termination: Option<(NaiveDate, TerminationReason, String)>,
    #[serde_as(as = "Vec<StoredNotice>")]
    treasury_notices: Vec<TreasuryNotice>,
    #[serde_as(as = "Days")]
    last_event_date: NaiveDate,
    #[serde_as(as = "Option<Days>")]
    unpaid_since: Option<NaiveDate>,
    #[serde_as(as = "Vec<StoredPrepared>")]
    prepared: Vec<PreparedTerms>,
}

remote_as! {
    StoredProduct => Product,
    StoredMandate => Mandate,
    StoredSetup => PaymentSetup,
    StoredDeclaration => ActivityDeclaration,
    StoredStatusChange => StatusChange,
    StoredPeriod => Period,
    StoredMonthMoney => MonthMoney,
    StoredMoney => ContractMoney,
    StoredDebit => DebitRecord,
    StoredRejection => Rejection,
    StoredRefund => Refund,
    StoredOneOff => OneOffPayment,
    StoredLoss => Loss,
    StoredNotice => TreasuryNotice,
    StoredSeniorSwitch => SeniorSwitchPending,
    StoredPrepared => PreparedTerms,
    StoredContract => ContractState,
}
