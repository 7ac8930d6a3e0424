//! The pain.008.001.08 direct-debit file of one collection date.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::Money;

use crate::creditor::{field, parse_bic, parse_iban, Creditor};
use crate::error::BuildError;
use crate::summary::{cents, money, sha256_hex, FileSummary};

/// The most transactions one file may carry.
///
/// Decision: the EPC rulebook sets no limit, banks do (often about 100,000
/// transactions or a few hundred megabytes a file). A million keeps one
/// collection date of the whole population in one file at about 500 MB, the
/// most a bank channel is likely to take; beyond it the caller splits the
/// date into several files, each with its own message id.
pub const FILE_TRANSACTIONS_MAX: usize = 1_000_000;

/// The sequence type of a debit under its mandate (`SeqTp`): the first debit of
/// a mandate, or a later one. The rulebook puts it on the payment-information
/// block, so a file holds one block per sequence type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SequenceType {
    /// The first collection under the mandate (`FRST`).
    First,
    /// A recurring collection (`RCUR`).
    Recurring,
}

impl SequenceType {
    fn to_sepa(self) -> sepa::SequenceType {
        match self {
            SequenceType::First => sepa::SequenceType::Frst,
            SequenceType::Recurring => sepa::SequenceType::Rcur,
        }
    }
}

/// A change of the mandate since the last collection, announced in the next
/// one (`AmdmntInd` true and `AmdmntInfDtls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    /// The mandate reference before it changed, when it changed.
    pub previous_mandate_reference: Option<String>,
    /// The payer moved to another account or bank (`SMNDA`).
    pub debtor_account_changed: bool,
}

/// One debit of the file. Its `Debug` masks the payer's IBAN.
#[derive(Clone, PartialEq, Eq)]
pub struct Debit {
    /// The end-to-end id (at most 35 characters), by which the bank reports
    /// on the debit.
    pub end_to_end_id: String,
    /// The amount, strictly positive.
    pub amount: Money,
    /// The unique mandate reference (UMR).
    pub mandate_reference: String,
    /// The day the mandate was signed.
    pub mandate_signed_on: NaiveDate,
    /// First or recurring.
    pub sequence: SequenceType,
    /// The mandate's change since the last collection, if any.
    pub amendment: Option<Amendment>,
    /// The payer's name.
    pub debtor_name: String,
    /// The payer's IBAN.
    pub debtor_iban: String,
    /// The payer's BIC, when known (the EPC allows none inside the EEA).
    pub debtor_bic: Option<String>,
    /// What the payer reads on their statement (at most 140 characters).
    pub remittance: String,
}

impl std::fmt::Debug for Debit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Debit")
            .field("end_to_end_id", &self.end_to_end_id)
            .field("amount", &self.amount)
            .field("mandate_reference", &self.mandate_reference)
            .field("mandate_signed_on", &self.mandate_signed_on)
            .field("sequence", &self.sequence)
            .field("amendment", &self.amendment)
            .field("debtor_name", &self.debtor_name)
            .field("debtor_iban", &crate::mask_iban(&self.debtor_iban))
            .field("debtor_bic", &self.debtor_bic)
            .field("remittance", &self.remittance)
            .finish()
    }
}

/// Everything a collection file is made of. The message id and the creation
/// instant are inputs, never the clock, so that the same input gives the same
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInput {
    /// `GrpHdr/MsgId` (at most 35 characters), unique per file sent.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`.
    pub created_at: DateTime<Utc>,
    /// Who collects.
    pub creditor: Creditor,
    /// The requested collection date (`ReqdColltnDt`).
    pub collection_date: NaiveDate,
    /// The debits, in any order.
    pub debits: Vec<Debit>,
}

/// A pain.008.001.08 file and its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionFile {
    /// The XML, UTF-8.
    pub bytes: Vec<u8>,
    /// Its message id, count, control sum and SHA-256.
    pub summary: FileSummary,
}

impl CollectionFile {
    /// Builds the file: one payment-information block per sequence type
    /// (first collections, then recurring ones), each debit once, in
    /// end-to-end id order within its block, so that the bytes do not depend
    /// on the order the debits were gathered in.
    ///
    /// # Errors
    /// No debit or more than [`FILE_TRANSACTIONS_MAX`], an end-to-end id
    /// twice, a field refused (an IBAN or BIC, a non-positive amount, an
    /// amendment without detail), or a rule of the rulebook that `sepa`
    /// checks (lengths, characters).
    pub fn build(input: &CollectionInput) -> Result<CollectionFile, BuildError> {
        check_count(input.debits.len())?;
        let mut debits: Vec<&Debit> = input.debits.iter().collect();
        debits.sort_by(|a, b| (a.sequence, &a.end_to_end_id).cmp(&(b.sequence, &b.end_to_end_id)));
        check_unique(debits.iter().map(|d| d.end_to_end_id.as_str()))?;
        let creditor = &input.creditor;
        let mut builder = sepa::Pain008Builder::new(creditor.name.clone())
            .msg_id(input.message_id.clone())
            .created_at(iso_date_time(input.created_at));
        let mut control = Money::ZERO;
        for sequence in [SequenceType::First, SequenceType::Recurring] {
            let block: Vec<&&Debit> = debits.iter().filter(|d| d.sequence == sequence).collect();
            if block.is_empty() {
                continue;
            }
            // `DirectDebitGroup::new` defaults the collection date from the
            // clock; it is always replaced by the input's date here.
            let mut group = sepa::DirectDebitGroup::new(
                creditor.name.clone(),
                &creditor.iban,
                creditor.id.clone(),
            )
            .sequence_type(sequence.to_sepa())
            .collection_date(input.collection_date.format("%Y-%m-%d").to_string())
            .creditor_bic(creditor.bic.clone());
            for d in block {
                control += d.amount;
                group = group.add_entry(entry(d)?);
            }
            builder = builder.add_group(group);
        }
        let xml = builder.build().map_err(|e| {
            BuildError::Rulebook(format!("pain.008 message {}: {e}", input.message_id))
        })?;
        debug_assert_eq!(money(builder.total_ct()), control);
        Ok(CollectionFile {
            summary: FileSummary {
                message_id: input.message_id.clone(),
                transactions: input.debits.len() as u64,
                control_sum: control,
                sha256: sha256_hex(xml.as_bytes()),
            },
            bytes: xml.into_bytes(),
        })
    }
}

/// `xs:dateTime` in UTC, to the second.
pub(crate) fn iso_date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn check_count(count: usize) -> Result<(), BuildError> {
    if count == 0 {
        return Err(BuildError::Empty);
    }
    if count > FILE_TRANSACTIONS_MAX {
        return Err(BuildError::TooMany {
            count,
            max: FILE_TRANSACTIONS_MAX,
        });
    }
    Ok(())
}

pub(crate) fn check_unique<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), BuildError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(BuildError::DuplicateEndToEndId(id.to_owned()));
        }
    }
    Ok(())
}

fn entry(d: &Debit) -> Result<sepa::DirectDebitEntry, BuildError> {
    let id = d.end_to_end_id.as_str();
    check_end_to_end_id(id)?;
    let mut e = sepa::DirectDebitEntry::new(
        d.mandate_reference.clone(),
        d.mandate_signed_on.format("%Y-%m-%d").to_string(),
        d.debtor_name.clone(),
        parse_iban(Some(id), "debtor_iban", &d.debtor_iban)?,
        cents(id, d.amount)?,
        id,
    )
    .with_description(d.remittance.clone());
    if let Some(bic) = &d.debtor_bic {
        e = e.with_bic(parse_bic(Some(id), "debtor_bic", bic)?);
    }
    if let Some(a) = &d.amendment {
        e = e.with_amendment(amendment(id, a)?);
    }
    Ok(e)
}

/// The longest end-to-end id (`Max35Text`).
pub(crate) const END_TO_END_ID_CHARS_MAX: usize = 35;

/// Refuses an end-to-end id the bank could not carry, naming the transaction
/// (the rulebook check of `sepa` would name only the element).
pub(crate) fn check_end_to_end_id(id: &str) -> Result<(), BuildError> {
    let n = id.chars().count();
    if n == 0 || n > END_TO_END_ID_CHARS_MAX {
        return Err(field(
            Some(id),
            "end_to_end_id",
            format!("{n} characters: an end-to-end id has 1 to {END_TO_END_ID_CHARS_MAX}"),
        ));
    }
    Ok(())
}

fn amendment(id: &str, a: &Amendment) -> Result<sepa::pain008::MandateAmendment, BuildError> {
    let base = if a.debtor_account_changed {
        sepa::pain008::MandateAmendment::debtor_account_changed()
    } else {
        sepa::pain008::MandateAmendment::default()
    };
    match &a.previous_mandate_reference {
        Some(previous) => Ok(base.with_original_mandate_id(previous.clone())),
        None if a.debtor_account_changed => Ok(base),
        None => Err(field(
            Some(id),
            "amendment",
            "says nothing changed: name the previous mandate reference or the new account \
             (the payer's bank rejects an empty amendment with MD02)",
        )),
    }
}
