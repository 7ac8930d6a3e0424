//! The creditor: who collects, on which account, under which identifier.

use navigo_events_schema::mandate::MaskedIban;

use crate::error::BuildError;

/// The creditor of every file: its name, account, bank and SEPA creditor
/// identifier, each checked when built (IBAN checksum and country length, BIC
/// form, the identifier's check digits).
#[derive(Clone, PartialEq, Eq)]
pub struct Creditor {
    pub(crate) name: String,
    pub(crate) iban: sepa::Iban,
    pub(crate) bic: sepa::Bic,
    pub(crate) id: sepa::CreditorId,
}

/// The account is masked: a creditor printed in a log shows no full IBAN.
impl std::fmt::Debug for Creditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creditor")
            .field("name", &self.name)
            .field("iban", &self.iban_masked())
            .field("bic", &self.bic.as_str())
            .field("id", &self.id.as_str())
            .finish()
    }
}

impl Creditor {
    /// Checks and builds a creditor.
    ///
    /// # Errors
    /// The field refused (`creditor_iban`, `creditor_bic`, `creditor_id`,
    /// `creditor_name`), its value masked when it is an account number.
    pub fn parse(name: &str, iban: &str, bic: &str, id: &str) -> Result<Creditor, BuildError> {
        if name.trim().is_empty() {
            return Err(field(
                None,
                "creditor_name",
                "empty: the creditor's name is required",
            ));
        }
        Ok(Creditor {
            name: name.trim().to_owned(),
            iban: parse_iban(None, "creditor_iban", iban)?,
            bic: parse_bic(None, "creditor_bic", bic)?,
            id: sepa::validate_creditor_id(id).map_err(|e| {
                field(
                    None,
                    "creditor_id",
                    format!("{id:?} is not a SEPA creditor identifier: {e}"),
                )
            })?,
        })
    }

    /// The creditor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SEPA creditor identifier (`FR12ZZZ123456`).
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The account in full, as the bank's files carry it (a test bank or a
    /// simulator writes it in its answers); views and logs show
    /// [`Creditor::iban_masked`].
    pub fn iban(&self) -> &str {
        self.iban.as_str()
    }

    /// The account, masked (`FR76…0189`).
    pub fn iban_masked(&self) -> String {
        mask_iban(self.iban.as_str())
    }

    pub(crate) fn iban_is(&self, other: &str) -> bool {
        normalize(other) == self.iban.as_str()
    }

    pub(crate) fn id_is(&self, other: &str) -> bool {
        normalize(other) == self.id.as_str()
    }
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// An IBAN as errors and logs may show it: the ledger's one masking
/// ([`MaskedIban::of_text`]), which the views of mandates use too.
pub fn mask_iban(iban: &str) -> String {
    MaskedIban::of_text(iban).to_string()
}

pub(crate) fn field(
    debit: Option<&str>,
    name: &'static str,
    reason: impl Into<String>,
) -> BuildError {
    BuildError::Field {
        debit: debit.map(str::to_owned),
        field: name,
        reason: reason.into(),
    }
}

pub(crate) fn parse_iban(
    debit: Option<&str>,
    name: &'static str,
    raw: &str,
) -> Result<sepa::Iban, BuildError> {
    sepa::validate_iban(raw).map_err(|e| {
        // The error of `sepa` may quote the number; ours shows it masked.
        let kind = match e.to_string() {
            s if s.contains("check") || s.contains("checksum") => "its check digits are wrong",
            s if s.contains("length") => "its length is wrong for its country",
            _ => "it is not an IBAN",
        };
        field(debit, name, format!("{} refused: {kind}", mask_iban(raw)))
    })
}

pub(crate) fn parse_bic(
    debit: Option<&str>,
    name: &'static str,
    raw: &str,
) -> Result<sepa::Bic, BuildError> {
    sepa::validate_bic(raw).map_err(|e| field(debit, name, format!("{raw:?} is not a BIC: {e}")))
}
