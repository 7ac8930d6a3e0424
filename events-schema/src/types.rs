//! Value types shared by events and commands. Each one is parsed, never merely
//! validated: a value that exists is a valid value (STYLE.md, "parse, don't validate").

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::strict::{self, TaggedEnum};

/// A parse failure of a value type: names the type and the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {why}")]
pub struct ParseError {
    /// The type being parsed, e.g. `zones`.
    pub what: &'static str,
    /// The input as received.
    pub input: String,
    /// Why it was refused and what a valid value looks like.
    pub why: &'static str,
}

impl ParseError {
    fn new(what: &'static str, input: impl Into<String>, why: &'static str) -> Self {
        ParseError {
            what,
            input: input.into(),
            why,
        }
    }
}

/// Implements `Serialize`/`Deserialize` through `Display`/`FromStr`, so that the
/// JSON form is the same string a person types and parsing is the only way in,
/// and `JsonSchema` as a string of that pattern (with its description when given).
/// Used here and by the envelope's [`crate::envelope::StreamId`] and
/// [`crate::envelope::Hash`].
macro_rules! string_serde {
    ($t:ty, $schema_name:literal, $pattern:literal, $desc:literal) => {
        string_serde!(@ser $t);
        string_serde!(@de $t);
        string_serde!(@schema $t, $schema_name, $pattern, $desc);
    };
    // The same, with `Serialize` through `$t::write_display` (a stack copy of
    // `Display`'s output, see `StackStr`) instead of the formatting machinery:
    // for the types every view and every stored event writes many times.
    (fast $t:ty, $schema_name:literal, $pattern:literal, $desc:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut buf = StackStr::new();
                match self.write_display(&mut buf) {
                    Some(text) => s.serialize_str(text),
                    None => s.collect_str(self),
                }
            }
        }
        string_serde!(@de $t);
        string_serde!(@schema $t, $schema_name, $pattern, $desc);
    };
    ($t:ty, $schema_name:literal, $pattern:literal) => {
        string_serde!(@ser $t);
        string_serde!(@de $t);
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $schema_name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "pattern": $pattern})
            }
        }
    };
    (@schema $t:ty, $schema_name:literal, $pattern:literal, $desc:literal) => {
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $schema_name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $desc,
                })
            }
        }
    };
    (@ser $t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
    (@de $t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

/// Implements `Display` of unit enums as their wire value (`online`, not the
/// Rust variant `Online`): the spelling of RULES.md, of the JSON and of every
/// message that names a value.
macro_rules! wire_display {
    ($($t:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // A unit variant serialises to its wire string; nothing else is
                // passed to this macro.
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(s)) => f.write_str(&s),
                    _ => write!(f, "{self:?}"),
                }
            }
        }
    )+};
}
pub(crate) use wire_display;

wire_display!(PlaceKind, Channel, ActorRole, Support, Mark);

/// Bytes of [`StackStr`]: the longest text written through it (a `Money` of 28
/// digits with its sign and point is 30 bytes).
const STACK_STR_BYTES_MAX: usize = 48;

/// A small text built on the stack: the `Display` output of a value type written
/// without `fmt`'s machinery, for serialization (encoding views and events
/// spends a tenth of its time formatting amounts and months).
struct StackStr {
    buf: [u8; STACK_STR_BYTES_MAX],
    len: usize,
}

impl StackStr {
    fn new() -> StackStr {
        StackStr {
            buf: [0; STACK_STR_BYTES_MAX],
            len: 0,
        }
    }

    /// Appends ASCII bytes; `None` when they do not fit (the caller falls back
    /// to `Display`).
    fn push(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    /// The text; only ASCII digits, '-' and '.' are ever pushed.
    fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.buf.get(..self.len)?).ok()
    }
}

/// The decimal digits of `n`, most significant first, in `out`; returns how
/// many (none for zero).
fn digits_u128(mut n: u128, out: &mut [u8; 40]) -> usize {
    let mut rev = [0u8; 40];
    let mut len = 0;
    while n > 0 && len < rev.len() {
        rev[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    for i in 0..len {
        out[i] = rev[len - 1 - i];
    }
    len
}

// ---------------------------------------------------------------------------
// Money

/// An amount in euros with at most two decimals (RULES.md §0). Negative amounts are
/// allowed: a credit, a carried difference in the customer's favour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    /// Zero euros.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The largest amount, either way, a command may carry: a tariff's annual
    /// price, a settlement, a cash payment (10,000.00 €).
    ///
    /// Decision: the largest amount a command can rightly carry is the annual
    /// price of the dearest product (about 1,000 € for zones 1-5 in 2026), or a
    /// contract's debt, which termination for unpaid debt keeps below a year of
    /// installments. Ten times that leaves room for decades of tariff rises and
    /// still refuses an amount whose decimal point slipped two places ("99880"
    /// for "998.80"), let alone 99,999,999,999.99. Computed amounts (balances,
    /// totals of many contracts) are not bounded by it: only what a person types.
    pub const COMMAND_AMOUNT_EUROS_MAX: Money =
        Money(Decimal::from_parts(1_000_000, 0, 0, false, 2));

    /// Refuses an amount of a command beyond [`Money::COMMAND_AMOUNT_EUROS_MAX`]
    /// either way.
    ///
    /// # Errors
    /// The reason, naming the bound.
    pub fn check_command_amount(self) -> Result<(), String> {
        if self.0.abs() > Self::COMMAND_AMOUNT_EUROS_MAX.0 {
            return Err(format!(
                "{self} exceeds command_amount_euros_max ({}): an amount of a command is \
                 at most {} either way; check the decimal point",
                Self::COMMAND_AMOUNT_EUROS_MAX,
                Self::COMMAND_AMOUNT_EUROS_MAX
            ));
        }
        Ok(())
    }

    /// Builds an amount from a decimal that already has at most two decimals.
    ///
    /// # Errors
    /// Refuses a value with more than two decimals: round it first with [`Money::round`].
    pub fn new(value: Decimal) -> Result<Money, ParseError> {
        if value.normalize().scale() > 2 {
            return Err(ParseError::new(
                "amount",
                value.to_string(),
                "at most two decimals (cents)",
            ));
        }
        let mut v = value;
        v.rescale(2);
        Ok(Money(v))
    }

    /// Rounds a computed value to the cent, half away from zero: the one rounding
    /// rule of the ledger (RULES.md §0, applied once at the end of each formula).
    pub fn round(value: Decimal) -> Money {
        let mut v = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        v.rescale(2);
        Money(v)
    }

    /// Whole cents, for exact integer arithmetic.
    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2))
    }

    /// The amount as a decimal with scale 2.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// True when the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// True when strictly above zero.
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// True when strictly below zero.
    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}
impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}
impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}
impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Money {
    /// Writes exactly what `Display` writes (`{:.2}` of the decimal: a '-' when
    /// the sign is negative, even for a negative zero; the whole part, "0" when
    /// empty; the point; the decimals padded with zeros to two), for an amount of
    /// at most two decimals, which every `Money` has (`new` and `round` rescale
    /// to two). `None` otherwise (`Display` truncates longer decimals): the
    /// caller uses `Display`.
    fn write_display<'b>(&self, out: &'b mut StackStr) -> Option<&'b str> {
        let scale = self.0.scale() as usize;
        if scale > 2 {
            return None;
        }
        let mut digits = [0u8; 40];
        let n = digits_u128(self.0.mantissa().unsigned_abs(), &mut digits);
        if self.0.is_sign_negative() {
            out.push(b"-")?;
        }
        // Left-pad with zeros so that there are at least `scale` digits.
        let pad = scale.saturating_sub(n);
        let len = n + pad;
        let whole = len - scale;
        let digit = |i: usize| if i < pad { b'0' } else { digits[i - pad] };
        if whole == 0 {
            out.push(b"0")?;
        }
        for i in 0..whole {
            out.push(&[digit(i)])?;
        }
        out.push(b".")?;
        for i in whole..len {
            out.push(&[digit(i)])?;
        }
        for _ in scale..2 {
            out.push(b"0")?;
        }
        out.as_str()
    }
}

impl FromStr for Money {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Money, ParseError> {
        let d = Decimal::from_str_exact(s.trim())
            .map_err(|_| ParseError::new("amount", s, "a decimal number of euros such as 90.00"))?;
        Money::new(d).map_err(|_| ParseError::new("amount", s, "at most two decimals (cents)"))
    }
}

string_serde!(
    fast Money,
    "Money",
    "^-?[0-9]+(\\.[0-9]{1,2})?$",
    "An amount in euros with at most two decimals, as a string (\"90.00\")."
);

// ---------------------------------------------------------------------------
// Zones and products

/// A zone range such as `1-5` or `2-3` (CGVU-2026 §2.1.1). The catalogue is data:
/// older ranges (CGU-2011, zone 6) parse too; which ones are sold on a date is the
/// tariff catalogue's business, not this type's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zones {
    from: u8,
    to: u8,
}

impl Zones {
    /// Highest zone number known to any catalogue (zone 6 existed until 2011).
    pub const ZONE_MAX: u8 = 6;
    /// Toutes zones, the only range of the Senior product.
    pub const ALL: Zones = Zones { from: 1, to: 5 };

    /// Builds a range.
    ///
    /// # Errors
    /// Refuses a range outside 1..=6 or with `from >= to`.
    pub fn new(from: u8, to: u8) -> Result<Zones, ParseError> {
        if from < 1 || to > Self::ZONE_MAX || from >= to {
            return Err(ParseError::new(
                "zones",
                format!("{from}-{to}"),
                "two zone numbers between 1 and 6, lower first, such as 1-5 or 2-3",
            ));
        }
        Ok(Zones { from, to })
    }
    /// First zone covered.
    pub fn from(self) -> u8 {
        self.from
    }
    /// Last zone covered.
    pub fn to(self) -> u8 {
        self.to
    }
    /// True when zone `z` is inside the range.
    pub fn covers(self, z: u8) -> bool {
        (self.from..=self.to).contains(&z)
    }
    /// True for "toutes zones" (1-5), which covers every zone of today's network.
    pub fn is_all_zones(self) -> bool {
        self.from == 1 && self.to >= 5
    }
}

impl fmt::Display for Zones {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.from, self.to)
    }
}

impl FromStr for Zones {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Zones, ParseError> {
        let bad = || ParseError::new("zones", s, "two zone numbers such as 1-5 or 2-3");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let a: u8 = a.parse().map_err(|_| bad())?;
        let b: u8 = b.parse().map_err(|_| bad())?;
        Zones::new(a, b).map_err(|e| ParseError {
            input: s.into(),
            ..e
        })
    }
}

// The pattern lists the ranges `Zones::new` accepts (lower zone first, 1 to 6), so
// that a schema validator refuses "3-2" or "1-1" exactly as the parser does.
string_serde!(
    Zones,
    "Zones",
    "^(1-[2-6]|2-[3-6]|3-[4-6]|4-[56]|5-6)$",
    "A zone range such as \"1-5\" (toutes zones), \"2-3\", \"3-4\" or \"4-5\"."
);

/// The product of a contract (RULES.md §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Product {
    /// Navigo Annuel on a zone range: 11 installments a year, a free 12th month.
    Annual {
        /// The zones covered.
        zones: Zones,
    },
    /// Navigo Annuel Tarification Senior: always zones 1-5, 12 installments a year.
    Senior,
}

/// The externally tagged mirror that decodes [`Product`] (see `crate::strict`):
/// `Senior` is an empty struct, so that a field given to it (`zones`) is refused.
#[derive(Deserialize)]
#[serde(remote = "Product", rename_all = "snake_case", deny_unknown_fields)]
enum ProductByKind {
    Annual { zones: Zones },
    Senior {},
}

impl TaggedEnum for Product {
    const TAG: &'static str = "kind";
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ProductByKind::deserialize(d)
    }
}

impl<'de> Deserialize<'de> for Product {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::deserialize_tagged(d)
    }
}

impl Product {
    /// The zones the product covers.
    pub fn zones(self) -> Zones {
        match self {
            Product::Annual { zones } => zones,
            Product::Senior => Zones::ALL,
        }
    }
    /// The catalogue key of the product: the zone range, or `senior`.
    pub fn key(self) -> ProductKey {
        match self {
            Product::Annual { zones } => ProductKey::Annual(zones),
            Product::Senior => ProductKey::Senior,
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Product::Annual { zones } => write!(f, "annual {zones}"),
            Product::Senior => f.write_str("senior"),
        }
    }
}

/// The key of a product in the tariff catalogue: `"1-5"`, `"2-3"`, ... or `"senior"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductKey {
    /// A Navigo Annuel zone range.
    Annual(Zones),
    /// Navigo Annuel Tarification Senior.
    Senior,
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductKey::Annual(z) => z.fmt(f),
            ProductKey::Senior => f.write_str("senior"),
        }
    }
}

impl FromStr for ProductKey {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<ProductKey, ParseError> {
        if s.trim() == "senior" {
            return Ok(ProductKey::Senior);
        }
        s.parse()
            .map(ProductKey::Annual)
            .map_err(|_| ParseError::new("product key", s, "a zone range such as 1-5, or senior"))
    }
}

string_serde!(
    ProductKey,
    "ProductKey",
    "^(1-[2-6]|2-[3-6]|3-[4-6]|4-[56]|5-6|senior)$",
    "A catalogue key: a zone range (\"1-5\", \"2-3\", ...) or \"senior\"."
);

// ---------------------------------------------------------------------------
// Payment

/// The day of the month direct debits are taken: 1 (default), 2, 8 or 12
/// (CGVU-2026 §4.14.2, `PAY-DEBIT-DAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DebitDay(u8);

impl DebitDay {
    /// The default debit day.
    pub const DEFAULT: DebitDay = DebitDay(1);
    /// The days a payer may choose.
    pub const ALLOWED: [u8; 4] = [1, 2, 8, 12];

    /// Builds a debit day.
    ///
    /// # Errors
    /// Refuses any day other than 1, 2, 8 or 12.
    pub fn new(day: u8) -> Result<DebitDay, ParseError> {
        if Self::ALLOWED.contains(&day) {
            Ok(DebitDay(day))
        } else {
            Err(ParseError::new(
                "debit day",
                day.to_string(),
                "one of 1, 2, 8 or 12 (PAY-DEBIT-DAY, CGVU-2026 §4.14.2)",
            ))
        }
    }
    /// The day of the month.
    pub fn day(self) -> u8 {
        self.0
    }
}

impl Default for DebitDay {
    fn default() -> Self {
        DebitDay::DEFAULT
    }
}

impl Serialize for DebitDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}
impl<'de> Deserialize<'de> for DebitDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DebitDay::new(u8::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
impl JsonSchema for DebitDay {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DebitDay".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "enum": [1, 2, 8, 12],
            "description": "Day of the month of the direct debit (PAY-DEBIT-DAY)."
        })
    }
}

pub use crate::mandate::{Mandate, MandateInput};

/// How a contract is paid (`PAY-METHOD`, CGVU-2026 §4.5), as events record it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentSetup {
    /// Monthly SEPA direct debit.
    DirectDebit {
        /// Day of the month the debit is taken.
        debit_day: DebitDay,
        /// The mandate signed by the payer.
        mandate: Mandate,
    },
    /// Annual payment in one go (au comptant).
    Cash,
}

/// The externally tagged mirror that decodes [`PaymentSetup`] (see
/// `crate::strict`): `Cash` is an empty struct, so that a direct debit's
/// `debit_day` or `mandate` given to it is refused.
#[derive(Deserialize)]
#[serde(
    remote = "PaymentSetup",
    rename_all = "snake_case",
    deny_unknown_fields
)]
enum PaymentSetupByMethod {
    DirectDebit {
        debit_day: DebitDay,
        mandate: Mandate,
    },
    Cash {},
}

impl TaggedEnum for PaymentSetup {
    const TAG: &'static str = "method";
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PaymentSetupByMethod::deserialize(d)
    }
}

impl<'de> Deserialize<'de> for PaymentSetup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::deserialize_tagged(d)
    }
}

impl fmt::Display for PaymentSetup {
    /// The method's wire value: `direct_debit` or `cash`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentSetup::DirectDebit { .. } => "direct_debit",
            PaymentSetup::Cash => "cash",
        })
    }
}

impl PaymentSetup {
    /// True for direct debit.
    pub fn is_direct_debit(&self) -> bool {
        matches!(self, PaymentSetup::DirectDebit { .. })
    }

    /// The mandate of a direct debit.
    pub fn mandate(&self) -> Option<&Mandate> {
        match self {
            PaymentSetup::DirectDebit { mandate, .. } => Some(mandate),
            PaymentSetup::Cash => None,
        }
    }

    /// The mandate of a direct debit, to seal or open its account.
    pub fn mandate_mut(&mut self) -> Option<&mut Mandate> {
        match self {
            PaymentSetup::DirectDebit { mandate, .. } => Some(mandate),
            PaymentSetup::Cash => None,
        }
    }
}

/// How a contract is to be paid, as a command asks it (`PAY-METHOD`): a direct
/// debit gives its mandate with the debtor's account in clear, validated
/// ([`MandateInput`]); the rules record it as a [`PaymentSetup`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentRequest {
    /// Monthly SEPA direct debit.
    DirectDebit {
        /// Day of the month the debit is taken.
        debit_day: DebitDay,
        /// The mandate signed by the payer.
        mandate: MandateInput,
    },
    /// Annual payment in one go (au comptant).
    Cash,
}

/// The externally tagged mirror that decodes [`PaymentRequest`], as
/// [`PaymentSetupByMethod`] does [`PaymentSetup`].
#[derive(Deserialize)]
#[serde(
    remote = "PaymentRequest",
    rename_all = "snake_case",
    deny_unknown_fields
)]
enum PaymentRequestByMethod {
    DirectDebit {
        debit_day: DebitDay,
        mandate: MandateInput,
    },
    Cash {},
}

impl TaggedEnum for PaymentRequest {
    const TAG: &'static str = "method";
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PaymentRequestByMethod::deserialize(d)
    }
}

impl<'de> Deserialize<'de> for PaymentRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::deserialize_tagged(d)
    }
}

impl PaymentRequest {
    /// True for direct debit.
    pub fn is_direct_debit(&self) -> bool {
        matches!(self, PaymentRequest::DirectDebit { .. })
    }

    /// The payment the rules record for `payer`: a direct debit's account
    /// still clear, to be sealed by the store with the payer's key.
    pub fn to_setup(&self, payer: uuid::Uuid) -> PaymentSetup {
        match self {
            PaymentRequest::DirectDebit { debit_day, mandate } => PaymentSetup::DirectDebit {
                debit_day: *debit_day,
                mandate: mandate.to_mandate(payer),
            },
            PaymentRequest::Cash => PaymentSetup::Cash,
        }
    }
}

impl fmt::Display for PaymentRequest {
    /// The method's wire value: `direct_debit` or `cash`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentRequest::DirectDebit { .. } => "direct_debit",
            PaymentRequest::Cash => "cash",
        })
    }
}

/// An ISO 20022 reject reason code (`PAY-REJECT`): four upper-case letters or digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReasonCode([u8; 4]);

impl ReasonCode {
    /// Debtor deceased: terminates the contract at once (`PAY-UNPAID-TERMINATION`).
    pub const MD07: ReasonCode = ReasonCode(*b"MD07");
    /// Insufficient funds.
    pub const AM04: ReasonCode = ReasonCode(*b"AM04");

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters and digits are accepted by the parser.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasonCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<ReasonCode, ParseError> {
        let b = s.as_bytes();
        if b.len() == 4
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            Ok(ReasonCode([b[0], b[1], b[2], b[3]]))
        } else {
            Err(ParseError::new(
                "reason code",
                s,
                "an ISO 20022 reason code: four upper-case letters or digits such as AM04",
            ))
        }
    }
}

string_serde!(
    ReasonCode,
    "ReasonCode",
    "^[A-Z0-9]{4}$",
    "An ISO 20022 reject reason code such as AM04 or MD07."
);

// ---------------------------------------------------------------------------
// People

/// A customer number (numéro client): 1 to 20 ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientNumber(String);

impl ClientNumber {
    /// Longest accepted client number.
    pub const LEN_MAX: usize = 20;
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClientNumber {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<ClientNumber, ParseError> {
        if !s.is_empty() && s.len() <= Self::LEN_MAX && s.bytes().all(|c| c.is_ascii_alphanumeric())
        {
            Ok(ClientNumber(s.to_owned()))
        } else {
            Err(ParseError::new(
                "client number",
                s,
                "1 to 20 letters or digits",
            ))
        }
    }
}

string_serde!(
    ClientNumber,
    "ClientNumber",
    "^[A-Za-z0-9]{1,20}$",
    "A customer number (numéro client)."
);

/// A postal address, reduced to what the rules read: the municipality
/// (`REF-PLACE`) and its INSEE code when known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street line, free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// Municipality name as written in the campaign lists (e.g. "Argenteuil", "Paris").
    pub municipality: String,
}

/// Whether a declared place is one of work or of study (`REF-PLACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// Place of work.
    Work,
    /// Place of study.
    Study,
}

/// Senior activity declaration (`SUB-SENIOR`, CGVU-2026 §2.2.3): one of the three
/// ways of stating an activity below half-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "declared", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActivityDeclaration {
    /// No professional activity.
    NoActivity,
    /// Hours per week (must be below 17.5).
    HoursPerWeek {
        /// Declared hours.
        hours: rust_decimal::Decimal,
    },
    /// Hours per month (must be below 75.5).
    HoursPerMonth {
        /// Declared hours.
        hours: rust_decimal::Decimal,
    },
    /// Hours per year (must be below 803.5).
    HoursPerYear {
        /// Declared hours.
        hours: rust_decimal::Decimal,
    },
}

/// The externally tagged mirror that decodes [`ActivityDeclaration`] (see
/// `crate::strict`): `NoActivity` is an empty struct, so that `hours` or any
/// other field given to it is refused.
#[derive(Deserialize)]
#[serde(
    remote = "ActivityDeclaration",
    rename_all = "snake_case",
    deny_unknown_fields
)]
enum ActivityDeclarationByName {
    NoActivity {},
    HoursPerWeek { hours: Decimal },
    HoursPerMonth { hours: Decimal },
    HoursPerYear { hours: Decimal },
}

impl TaggedEnum for ActivityDeclaration {
    const TAG: &'static str = "declared";
    fn from_external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ActivityDeclarationByName::deserialize(d)
    }
}

impl<'de> Deserialize<'de> for ActivityDeclaration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict::deserialize_tagged(d)
    }
}

impl ActivityDeclaration {
    /// The declared hours and the hours the period holds (a week of 168 hours,
    /// a month of at most 744, a year of at most 8,784); `None` for no activity.
    pub fn hours_and_period_max(self) -> Option<(Decimal, Decimal)> {
        match self {
            ActivityDeclaration::NoActivity => None,
            ActivityDeclaration::HoursPerWeek { hours } => Some((hours, Decimal::from(7 * 24))),
            ActivityDeclaration::HoursPerMonth { hours } => Some((hours, Decimal::from(31 * 24))),
            ActivityDeclaration::HoursPerYear { hours } => Some((hours, Decimal::from(366 * 24))),
        }
    }
}

impl fmt::Display for ActivityDeclaration {
    /// The declaration in wire terms: `no_activity`, `hours_per_week 20`...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivityDeclaration::NoActivity => f.write_str("no_activity"),
            ActivityDeclaration::HoursPerWeek { hours } => write!(f, "hours_per_week {hours}"),
            ActivityDeclaration::HoursPerMonth { hours } => write!(f, "hours_per_month {hours}"),
            ActivityDeclaration::HoursPerYear { hours } => write!(f, "hours_per_year {hours}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Requests

/// The channel a request came through (RULES.md §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Espace Personnel on navigo.fr.
    Online,
    /// Agence commerciale, point de vente RATP, Guichet Services Navigo SNCF.
    Agency,
    /// Postal mail.
    Mail,
    /// Email.
    Email,
    /// Telephone.
    Phone,
}

impl Channel {
    /// True for the remote channels (everything but the agency), which take effect
    /// at the earliest 48 h after the request (`SUSP-ANYTIME`, `ZONE-WHEN`).
    pub fn is_remote(self) -> bool {
        self != Channel::Agency
    }
}

/// Who performed an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    /// The holder or payer, on their own behalf.
    Customer,
    /// An agency or back-office agent.
    Agent,
    /// The ledger itself: billing clock, bank returns.
    System,
    /// An import or a scenario file.
    Import,
}

/// The actor of an event: a role and an identifier within that role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The role.
    pub role: ActorRole,
    /// The identifier (agent number, client number, `billing-clock`...).
    pub id: String,
}

impl Actor {
    /// The billing clock (`advance_to`).
    pub fn billing_clock() -> Actor {
        Actor {
            role: ActorRole::System,
            id: "billing-clock".into(),
        }
    }
}

/// The lost, stolen or replaced support of a contract (`LOSS-SUPPORT`, CGVU-2026 §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// The passe Navigo card.
    Pass,
    /// A phone.
    Phone,
    /// A watch.
    Watch,
}

/// Verified / derived / unverified mark of a reference figure (DATA.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Mark {
    /// V: seen in a public source.
    #[serde(rename = "V")]
    Verified,
    /// D: derived by arithmetic from verified figures.
    #[serde(rename = "D")]
    Derived,
    /// U: unverified estimate.
    #[serde(rename = "U")]
    Unverified,
}

// ---------------------------------------------------------------------------
// Calendar

/// A calendar month (`Month M` of RULES.md §0), written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// Builds a month.
    ///
    /// # Errors
    /// Refuses a month outside 1..=12 or a year outside 1900..=2200.
    pub fn new(year: i32, month: u32) -> Result<YearMonth, ParseError> {
        if !(1..=12).contains(&month) || !(1900..=2200).contains(&year) {
            return Err(ParseError::new(
                "month",
                format!("{year:04}-{month:02}"),
                "YYYY-MM with a year 1900 to 2200 and a month 01 to 12",
            ));
        }
        Ok(YearMonth { year, month })
    }
    /// The month of a date.
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }
    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }
    /// The month number, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }
    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }
    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.plus(1)
            .first_day()
            .pred_opt()
            .unwrap_or(NaiveDate::MIN)
    }
    /// The number of days of the month.
    pub fn days(self) -> u32 {
        self.last_day().day()
    }
    /// The day `day` of the month, clamped to its last day (day 31 of February is
    /// its 28th or 29th).
    pub fn day_clamped(self, day: u32) -> NaiveDate {
        let last = self.days();
        NaiveDate::from_ymd_opt(self.year, self.month, day.clamp(1, last)).unwrap_or(NaiveDate::MIN)
    }
    /// This month plus `n` months (n may be negative).
    pub fn plus(self, n: i32) -> YearMonth {
        let idx = self.year * 12 + (self.month as i32 - 1) + n;
        YearMonth {
            year: idx.div_euclid(12),
            month: (idx.rem_euclid(12) + 1) as u32,
        }
    }
    /// Months from `self` to `other` (positive when `other` is later).
    pub fn months_until(self, other: YearMonth) -> i32 {
        (other.year * 12 + other.month as i32) - (self.year * 12 + self.month as i32)
    }
}

/// `date + n months`, clamped to the end of the month (31 January + 1 month is
/// 28/29 February), as RULES.md §0 defines windows.
pub fn add_months(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// `date - n months`, clamped to the end of the month.
pub fn sub_months(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(n))
        .unwrap_or(NaiveDate::MIN)
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl YearMonth {
    /// Writes exactly what `Display` writes, for years 0 to 9999 and months 1 to
    /// 12 (four and two digits); `None` otherwise: the caller uses `Display`.
    fn write_display<'b>(&self, out: &'b mut StackStr) -> Option<&'b str> {
        let y = u32::try_from(self.year).ok().filter(|y| *y <= 9_999)?;
        let m = Some(self.month).filter(|m| (1..=12).contains(m))?;
        let d = |v: u32| b'0' + (v % 10) as u8;
        out.push(&[
            d(y / 1_000),
            d(y / 100),
            d(y / 10),
            d(y),
            b'-',
            d(m / 10),
            d(m),
        ])?;
        out.as_str()
    }
}

impl FromStr for YearMonth {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<YearMonth, ParseError> {
        let bad = || ParseError::new("month", s, "YYYY-MM such as 2026-07");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        YearMonth::new(y, m)
    }
}

string_serde!(
    fast YearMonth,
    "YearMonth",
    "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$",
    "A calendar month, YYYY-MM, of a year 1900 to 2200."
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Amounts and scales the fast serialization is compared on: every cent in a
    /// range around zero, then a deterministic spread of large mantissas.
    fn decimals() -> Vec<Decimal> {
        let mut out = Vec::new();
        for m in -20_000i64..=20_000 {
            for scale in 0..=3 {
                out.push(Decimal::new(m, scale));
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            // xorshift: a spread of 64-bit mantissas, both signs.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = i128::from(x as i64) * i128::from((x >> 40) as u32 + 1);
            for scale in [0, 1, 2, 5] {
                if let Ok(d) = Decimal::try_from_i128_with_scale(m, scale) {
                    out.push(d);
                }
            }
        }
        out.push(Decimal::MAX);
        out.push(Decimal::MIN);
        let mut neg_zero = Decimal::new(0, 2);
        neg_zero.set_sign_negative(true);
        out.push(neg_zero);
        out
    }

    #[test]
    fn money_and_months_serialize_exactly_as_their_display() {
        // Given amounts of every scale and sign (negative zero included) and
        // months across the years
        for d in decimals() {
            let m = Money(d);
            // When serialized, then the JSON is the Display text, byte for byte
            // (stored records are hashed over these bytes)
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{m}\""),
                "{d:?}"
            );
        }
        for year in [-1, 0, 7, 99, 999, 1_999, 2_026, 9_999, 10_000, 123_456] {
            for month in 1..=12 {
                let ym = YearMonth { year, month };
                assert_eq!(serde_json::to_string(&ym).unwrap(), format!("\"{ym}\""));
            }
        }
    }

    #[test]
    fn money_rounds_half_away_from_zero_once() {
        assert_eq!(Money::round("85.505".parse().unwrap()).to_string(), "85.51");
        assert_eq!(
            Money::round("-85.505".parse().unwrap()).to_string(),
            "-85.51"
        );
        assert_eq!(Money::round("4.5".parse().unwrap()).to_string(), "4.50");
        assert!("1.005".parse::<Money>().is_err());
        assert_eq!("90".parse::<Money>().unwrap().to_string(), "90.00");
    }

    #[test]
    fn zones_parse_and_refuse() {
        assert_eq!("2-3".parse::<Zones>().unwrap().to_string(), "2-3");
        assert!("3-2".parse::<Zones>().is_err());
        assert!("0-5".parse::<Zones>().is_err());
        assert!("1-7".parse::<Zones>().is_err());
        assert!("x".parse::<Zones>().is_err());
    }

    #[test]
    fn debit_day_only_allowed_days() {
        for d in 0..=31u8 {
            assert_eq!(
                DebitDay::new(d).is_ok(),
                [1, 2, 8, 12].contains(&d),
                "day {d}"
            );
        }
    }

    #[test]
    fn year_month_arithmetic() {
        let m: YearMonth = "2026-07".parse().unwrap();
        assert_eq!(m.plus(11).to_string(), "2027-06");
        assert_eq!(m.plus(-7).to_string(), "2025-12");
        assert_eq!(m.months_until(m.plus(12)), 12);
        assert_eq!("2024-02".parse::<YearMonth>().unwrap().days(), 29);
        assert_eq!(
            add_months(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(), 1),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
    }
}
