//! SEPA mandates (`PAY-METHOD`, `PAY-PAYER-CHANGE`): the unique mandate
//! reference, the signature date and the debtor's account.
//!
//! The account (IBAN, BIC, holder's name) is the payer's personal data: in an
//! event it is a [`Sealed`] value under the payer's key, so that erasing the
//! payer makes it unreadable (`TERM-RETENTION`). The reference (UMR) stays in
//! clear: it is the bank's matching key, chosen by the creditor, and names no
//! one. A command gives the account in clear ([`MandateInput`]); the IBAN is
//! validated there with the `sepa` crate, which the bank files use too, so that
//! one validator decides what an IBAN is.
//!
//! An IBAN is never written whole to a log, an error or a view: its `Debug` and
//! `Display` show the [`MaskedIban`], and a parse error never repeats the input.
//! Only [`Iban::as_str`] gives the full text, for the bank file and for the
//! person's own access request.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::sealed::Sealed;

/// Characters of an IBAN left visible at its end by [`MaskedIban`].
pub const IBAN_VISIBLE_TAIL_CHARS: usize = 4;
/// Characters of an IBAN's head left visible by [`MaskedIban`]: the country
/// code and the check digits, which identify no account.
pub const IBAN_VISIBLE_HEAD_CHARS: usize = 4;
/// Longest account holder's name, as a SEPA message carries it (the `Nm` of a
/// debtor in pain.008 is at most 70 characters).
pub const HOLDER_NAME_CHARS_MAX: usize = 70;
/// Longest unique mandate reference (the `MndtId` of pain.008, EPC AT-01).
pub const MANDATE_REFERENCE_CHARS_MAX: usize = 35;

/// Why a mandate's field was refused. The messages never repeat the input: an
/// IBAN or a name must not reach an error, hence a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MandateError {
    /// Not a valid IBAN (length, characters, country length or checksum).
    #[error("not a valid IBAN: {0}; give the account's IBAN as printed on its bank details")]
    Iban(String),
    /// A valid IBAN of a country outside the SEPA direct-debit scheme.
    #[error(
        "an IBAN of country {0}, which is outside the SEPA scheme: a direct debit needs an \
         account in a SEPA country"
    )]
    NotSepa(String),
    /// Not a valid BIC.
    #[error(
        "not a valid BIC: {0}; give the 8 or 11 characters of the bank's BIC, or leave it out"
    )]
    Bic(String),
    /// An empty or too long holder's name, or one with control characters.
    #[error("the account holder's name must be 1 to {HOLDER_NAME_CHARS_MAX} printable characters")]
    HolderName,
    /// An empty or too long mandate reference.
    #[error(
        "a unique mandate reference is 1 to {MANDATE_REFERENCE_CHARS_MAX} characters of the \
         SEPA set (letters, digits, / - ? : ( ) . , ' + and space)"
    )]
    Reference,
}

/// A validated IBAN, normalised (no spaces, upper case). Shown masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(sepa::Iban);

impl Iban {
    /// The full IBAN, normalised: for the bank file and the person's own access
    /// request only, never for a log, an error or a view.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The IBAN as it may be shown.
    pub fn masked(&self) -> MaskedIban {
        MaskedIban::of(self.as_str())
    }
}

/// Largest French bank or branch code (5 digits).
const FR_CODE_MAX: u32 = 99_999;
/// Largest French account number built by [`Iban::french`] (11 digits).
const FR_ACCOUNT_MAX: u64 = 99_999_999_999;

impl Iban {
    /// The French IBAN of the RIB `bank`, `branch`, `account` (taken modulo
    /// their 5, 5 and 11 digits), with its RIB key and its IBAN check digits
    /// computed: the simulator's and the tests' accounts, valid by
    /// construction.
    pub fn french(bank: u32, branch: u32, account: u64) -> Iban {
        let (bank, branch) = (bank % (FR_CODE_MAX + 1), branch % (FR_CODE_MAX + 1));
        let account = account % (FR_ACCOUNT_MAX + 1);
        // The RIB key: 97 - (89 bank + 15 branch + 3 account) mod 97.
        let sum = (89 * u64::from(bank) + 15 * u64::from(branch) + 3 * account) % 97;
        let bban = format!("{bank:05}{branch:05}{account:011}{:02}", 97 - sum);
        // ISO 13616: the check digits make the number BBAN ‖ "FR" ‖ cd ≡ 1 mod 97;
        // F = 15, R = 27.
        let rem = format!("{bban}152700")
            .bytes()
            .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
        let iban = format!("FR{:02}{bban}", 98 - rem);
        sepa::validate_iban(&iban)
            .map(Iban)
            .unwrap_or_else(|e| unreachable!("a French IBAN built from its digits is valid: {e}"))
    }
}

impl FromStr for Iban {
    type Err = MandateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let iban = sepa::validate_iban(s).map_err(|e| MandateError::Iban(e.to_string()))?;
        if !iban.is_sepa() {
            return Err(MandateError::NotSepa(iban.country_code().to_owned()));
        }
        Ok(Iban(iban))
    }
}

/// Masked: an IBAN reaches no log line through `Debug`.
impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.masked())
    }
}

/// Masked, as [`MaskedIban`].
impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.masked().fmt(f)
    }
}

impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Iban {
    fn schema_name() -> Cow<'static, str> {
        "Iban".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "iban",
            "description": "IBAN of an account in a SEPA country (ISO 13616: country, \
                check digits that pass mod 97, the country's account format); spaces and \
                lower case are accepted and normalised away."
        })
    }
}

/// An IBAN as shown: the country code and check digits, then `*` for every
/// character but the last [`IBAN_VISIBLE_TAIL_CHARS`], in groups of four as an
/// IBAN is printed (`FR76 **** **** **** **** ***0 189`).
///
/// Decision: the last four characters, as a card number is masked, let the
/// payer and an agent tell two accounts apart; the head (country and check
/// digits) says nothing of the account. A bank code alone would narrow the
/// account down to a branch, so it is masked too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct MaskedIban(String);

impl MaskedIban {
    /// Any text given as an IBAN, valid or not, as it may be shown in an error
    /// or a log: without its spaces, upper case, masked as a valid one is; a
    /// text too short to keep anything hidden is masked whole.
    pub fn of_text(text: &str) -> MaskedIban {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.chars().count() <= IBAN_VISIBLE_HEAD_CHARS + IBAN_VISIBLE_TAIL_CHARS {
            return MaskedIban("*".repeat(compact.chars().count().max(1)));
        }
        MaskedIban::of(&compact)
    }

    fn of(iban: &str) -> MaskedIban {
        let n = iban.chars().count();
        let shown = |i: usize| i < IBAN_VISIBLE_HEAD_CHARS || i + IBAN_VISIBLE_TAIL_CHARS >= n;
        let mut out = String::with_capacity(n + n / 4);
        for (i, c) in iban.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(if shown(i) { c } else { '*' });
        }
        MaskedIban(out)
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaskedIban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated BIC (ISO 9362), upper case. A bank's identifier, not personal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bic(sepa::Bic);

impl Bic {
    /// The BIC.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromStr for Bic {
    type Err = MandateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        sepa::validate_bic(s.trim())
            .map(Bic)
            .map_err(|e| MandateError::Bic(e.to_string()))
    }
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Bic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Bic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Bic {
    fn schema_name() -> Cow<'static, str> {
        "Bic".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z]{6}[A-Za-z2-9][A-NP-Za-np-z0-9]([A-Za-z0-9]{3})?$",
            "description": "BIC of the debtor's bank (ISO 9362), 8 or 11 characters."
        })
    }
}

/// The account holder's name: 1 to [`HOLDER_NAME_CHARS_MAX`] printable
/// characters, trimmed. Personal data: its `Debug` hides it. The schema says
/// what the parser accepts: no control character (Unicode category Cc) and at
/// least one that is not white space, so that a client that follows the
/// schema is never refused.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct HolderName(
    #[schemars(
        length(min = 1, max = 70),
        regex(pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")
    )]
    String,
);

impl HolderName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HolderName {
    type Err = MandateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        let n = name.chars().count();
        if n == 0 || n > HOLDER_NAME_CHARS_MAX || name.chars().any(char::is_control) {
            return Err(MandateError::HolderName);
        }
        Ok(HolderName(name.to_owned()))
    }
}

impl fmt::Debug for HolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderName(..)")
    }
}

impl<'de> Deserialize<'de> for HolderName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The debtor's account of a mandate: personal data of the payer, sealed with
/// the payer's key in every event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebtorAccount {
    /// The account's IBAN.
    pub iban: Iban,
    /// The BIC of the account's bank, when given (optional within SEPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<Bic>,
    /// The account holder's name, as the bank knows it.
    pub holder_name: HolderName,
}

/// The account of a mandate recorded before accounts were kept: an opaque
/// reference of the debtor's account, never an IBAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyAccount {
    /// The opaque account reference of the version 1 mandate.
    pub account_ref: String,
}

/// What a mandate's sealed field holds: the debtor's account, or, for a
/// mandate recorded by version 1 of its event, the opaque reference it had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MandateDebtor {
    /// The debtor's account.
    Account(DebtorAccount),
    /// A legacy mandate's account reference (no IBAN is known).
    Legacy(LegacyAccount),
}

/// A SEPA mandate as events record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mandate {
    /// Unique mandate reference (UMR), in clear: the bank's matching key.
    pub reference: String,
    /// The payer who signed it (person stream id), whose key seals the
    /// account. Absent only from a mandate recorded by version 1 of its event.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "uuid_text::option"
    )]
    #[schemars(with = "Option<Uuid>")]
    pub payer: Option<Uuid>,
    /// The date the payer signed the mandate. Absent only from a mandate
    /// recorded before signature dates were kept (version 1 of its event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_on: Option<NaiveDate>,
    /// The debtor's account, sealed with the payer's key.
    pub debtor: Sealed<MandateDebtor>,
}

impl Mandate {
    /// The version 1 mandate `{reference, account_ref}`, read as a clear legacy
    /// value (no signature date, no IBAN).
    pub fn legacy(reference: String, account_ref: String) -> Mandate {
        Mandate {
            reference,
            payer: None,
            signed_on: None,
            debtor: Sealed::clear(MandateDebtor::Legacy(LegacyAccount { account_ref })),
        }
    }

    /// The debtor's account when it is known and readable: `None` for a legacy
    /// mandate and for a sealed one whose key was destroyed (the payer erased)
    /// or not opened.
    pub fn account(&self) -> Option<&DebtorAccount> {
        match self.debtor.value()? {
            MandateDebtor::Account(a) => Some(a),
            MandateDebtor::Legacy(_) => None,
        }
    }

    /// The command form of this mandate, to record it again (a new payer's
    /// copy, a test): `None` for a legacy mandate or an unreadable account.
    pub fn to_input(&self) -> Option<MandateInput> {
        Some(MandateInput {
            reference: self.reference.parse().ok()?,
            signed_on: self.signed_on?,
            debtor: self.account()?.clone(),
        })
    }

    /// The id the debtor's account is sealed under, with the payer's key, in
    /// place of an event id: every event that records this mandate (its
    /// signature, then a resumption or a switch that carries it on) holds the
    /// same sealed bytes, which open wherever they are.
    ///
    /// Decision: a mandate's sealed account is bound to its reference rather
    /// than to the event that holds it, since the rules carry an unchanged
    /// mandate into later events without opening it; a blob moved to another
    /// mandate's reference or another person's record still does not open.
    pub fn sealing_id(&self) -> Uuid {
        mandate_sealing_id(&self.reference)
    }
}

/// A UUID written as its text in every format. `uuid` writes bytes to a
/// binary format (the paged states' CBOR), which the strict decoding of a
/// tagged enum such as [`crate::types::PaymentSetup`] (through a JSON value)
/// cannot read back; JSON is unchanged (the same hyphenated text).
pub(crate) mod uuid_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use uuid::Uuid;

    /// Writes `id` as text.
    pub fn serialize<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    /// Reads a UUID from its text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }

    /// The same for an optional UUID.
    pub mod option {
        use super::*;

        /// Writes `id`, when given, as text.
        pub fn serialize<S: Serializer>(id: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.collect_str(id),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional UUID from its text.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
            Option::<std::borrow::Cow<str>>::deserialize(d)?
                .map(|t| t.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// See [`Mandate::sealing_id`]: the first 16 bytes of the BLAKE3 of a fixed
/// context and the reference.
pub fn mandate_sealing_id(reference: &str) -> Uuid {
    let mut h = blake3::Hasher::new();
    h.update(b"navigo mandate sealing id v1");
    h.update(reference.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    Uuid::from_bytes(id)
}

/// A mandate as a command gives it: the account in clear, validated, and the
/// signature date required.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MandateInput {
    /// Unique mandate reference (UMR): 1 to 35 characters of the SEPA set.
    pub reference: MandateReference,
    /// The date the payer signed the mandate.
    pub signed_on: NaiveDate,
    /// The debtor's account.
    pub debtor: DebtorAccount,
}

impl MandateInput {
    /// The mandate the rules record for `payer`: the account still clear, to
    /// be sealed by the store with the payer's key before it is written.
    pub fn to_mandate(&self, payer: Uuid) -> Mandate {
        Mandate {
            reference: self.reference.as_str().to_owned(),
            payer: Some(payer),
            signed_on: Some(self.signed_on),
            debtor: Sealed::clear(MandateDebtor::Account(self.debtor.clone())),
        }
    }
}

/// A unique mandate reference as a command gives it (EPC AT-01): 1 to
/// [`MANDATE_REFERENCE_CHARS_MAX`] characters of the SEPA character set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct MandateReference(
    #[schemars(
        length(min = 1, max = 35),
        regex(pattern = r"^[A-Za-z0-9/\-?:().,'+ ]+$")
    )]
    String,
);

impl MandateReference {
    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MandateReference {
    type Err = MandateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let sepa_char = |c: char| c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c);
        let n = s.chars().count();
        if n == 0 || n > MANDATE_REFERENCE_CHARS_MAX || !s.chars().all(sepa_char) {
            return Err(MandateError::Reference);
        }
        Ok(MandateReference(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for MandateReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A mandate as a view shows it: the IBAN masked, and what is known when the
/// account cannot be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MandateView {
    /// Unique mandate reference (UMR).
    pub reference: String,
    /// Signature date; absent for a mandate recorded before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_on: Option<NaiveDate>,
    /// The debtor's account as it may be shown.
    pub debtor: DebtorView,
}

/// The debtor's account as a view shows it.
///
/// Decision: a view shows the masked IBAN and the BIC, never the holder's
/// name: views are materialized in derived data that is not sealed per person
/// (the projections' database), and the payer's name is shown by the person's
/// own views already. The access request shows the account in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum DebtorView {
    /// The account, its IBAN masked.
    Account {
        /// The IBAN, masked.
        iban: MaskedIban,
        /// The bank's BIC, when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bic: Option<String>,
    },
    /// A mandate recorded before accounts were kept: its opaque reference.
    Legacy {
        /// The opaque account reference.
        account_ref: String,
    },
    /// Sealed and not readable: the payer's personal data was erased.
    Unreadable,
}

impl From<&Mandate> for MandateView {
    fn from(m: &Mandate) -> MandateView {
        let debtor = match m.debtor.value() {
            Some(MandateDebtor::Account(a)) => DebtorView::Account {
                iban: a.iban.masked(),
                bic: a.bic.as_ref().map(|b| b.as_str().to_owned()),
            },
            Some(MandateDebtor::Legacy(l)) => DebtorView::Legacy {
                account_ref: l.account_ref.clone(),
            },
            None => DebtorView::Unreadable,
        };
        MandateView {
            reference: m.reference.clone(),
            signed_on: m.signed_on,
            debtor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FR: &str = "FR7630006000011234567890189";

    #[test]
    fn pay_method_iban_is_normalised_and_masked() {
        let iban: Iban = "fr76 3000 6000 0112 3456 7890 189".parse().unwrap();
        assert_eq!(iban.as_str(), FR);
        assert_eq!(iban.masked().as_str(), "FR76 **** **** **** **** ***0 189");
        assert_eq!(format!("{iban}"), "FR76 **** **** **** **** ***0 189");
        assert!(!format!("{iban:?}").contains("30006"));
    }

    #[test]
    fn pay_method_french_ibans_are_built_valid() {
        assert_eq!(Iban::french(30006, 1, 12345678901).as_str(), FR);
        assert_eq!(Iban::french(30004, 0, 0).as_str().len(), 27);
    }

    #[test]
    fn pay_method_bad_ibans_are_refused_without_repeating_them() {
        for bad in [
            "FR7630006000011234567890188",       // checksum
            "FR76300060000112345678901",         // length for the country
            "FR76 3000 6000 0112 3456 7890 18!", // character
            "US12",                              // length
        ] {
            let e = bad.parse::<Iban>().unwrap_err().to_string();
            assert!(!e.contains("30006"), "{e}");
        }
        // A valid IBAN outside the SEPA scheme (Brazil).
        let e = "BR1800360305000010009795493C1".parse::<Iban>().unwrap_err();
        assert!(matches!(e, MandateError::NotSepa(_)), "{e}");
    }

    #[test]
    fn pay_method_holder_name_and_reference_are_bounded() {
        assert!("".parse::<HolderName>().is_err());
        assert!("x".repeat(71).parse::<HolderName>().is_err());
        assert_eq!(
            format!("{:?}", " Dupont ".parse::<HolderName>().unwrap()),
            "HolderName(..)"
        );
        assert!("UMR-1".parse::<MandateReference>().is_ok());
        assert!("".parse::<MandateReference>().is_err());
        assert!("é".parse::<MandateReference>().is_err());
        assert!("1".repeat(36).parse::<MandateReference>().is_err());
    }

    #[test]
    fn term_retention_legacy_mandates_read_without_account() {
        let m = Mandate::legacy("M".into(), "ACC-1".into());
        assert!(m.account().is_none());
        let json = serde_json::to_string(&m).unwrap();
        let back: Mandate = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            MandateView::from(&back).debtor,
            DebtorView::Legacy {
                account_ref: "ACC-1".into()
            }
        );
    }
}
