//! The pain.001.001.09 credit-transfer file of refunds due.

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::Money;

use crate::collection::{check_count, check_end_to_end_id, check_unique, iso_date_time};
use crate::creditor::{parse_bic, parse_iban, Creditor};
use crate::error::BuildError;
use crate::summary::{cents, sha256_hex, FileSummary};

/// One refund: a credit transfer from the creditor's account to the payer's.
/// Its `Debug` masks the payee's IBAN.
#[derive(Clone, PartialEq, Eq)]
pub struct Refund {
    /// The end-to-end id (at most 35 characters).
    pub end_to_end_id: String,
    /// The amount, strictly positive.
    pub amount: Money,
    /// The payee's name.
    pub payee_name: String,
    /// The payee's IBAN.
    pub payee_iban: String,
    /// The payee's BIC, when known.
    pub payee_bic: Option<String>,
    /// What the payee reads on their statement (at most 140 characters).
    pub remittance: String,
}

impl std::fmt::Debug for Refund {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refund")
            .field("end_to_end_id", &self.end_to_end_id)
            .field("amount", &self.amount)
            .field("payee_name", &self.payee_name)
            .field("payee_iban", &crate::mask_iban(&self.payee_iban))
            .field("payee_bic", &self.payee_bic)
            .field("remittance", &self.remittance)
            .finish()
    }
}

/// Everything a refund file is made of; the message id and the creation
/// instant are inputs, never the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundInput {
    /// `GrpHdr/MsgId` (at most 35 characters).
    pub message_id: String,
    /// `GrpHdr/CreDtTm`.
    pub created_at: DateTime<Utc>,
    /// The account paying the refunds: the creditor of the collections.
    pub creditor: Creditor,
    /// The requested execution date (`ReqdExctnDt`).
    pub execution_date: NaiveDate,
    /// The refunds, in any order.
    pub refunds: Vec<Refund>,
}

/// A pain.001.001.09 file and its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFile {
    /// The XML, UTF-8.
    pub bytes: Vec<u8>,
    /// Its message id, count, control sum and SHA-256.
    pub summary: FileSummary,
}

impl RefundFile {
    /// Builds the file: one payment-information block, the refunds in
    /// end-to-end id order so that the bytes do not depend on the input's.
    ///
    /// # Errors
    /// As [`crate::CollectionFile::build`].
    pub fn build(input: &RefundInput) -> Result<RefundFile, BuildError> {
        check_count(input.refunds.len())?;
        let mut refunds: Vec<&Refund> = input.refunds.iter().collect();
        refunds.sort_by(|a, b| a.end_to_end_id.cmp(&b.end_to_end_id));
        check_unique(refunds.iter().map(|r| r.end_to_end_id.as_str()))?;
        let c = &input.creditor;
        // `CreditTransferGroup::new` defaults the execution date from the
        // clock; it is always replaced by the input's date here.
        let mut group = sepa::CreditTransferGroup::new(c.name.clone(), &c.iban)
            .execution_date(input.execution_date.format("%Y-%m-%d").to_string())
            .debtor_bic(c.bic.clone());
        let mut control = Money::ZERO;
        for r in refunds {
            control += r.amount;
            group = group.add_entry(entry(r)?);
        }
        let xml = sepa::Pain001Builder::new(c.name.clone())
            .msg_id(input.message_id.clone())
            .created_at(iso_date_time(input.created_at))
            .add_group(group)
            .build()
            .map_err(|e| {
                BuildError::Rulebook(format!("pain.001 message {}: {e}", input.message_id))
            })?;
        Ok(RefundFile {
            summary: FileSummary {
                message_id: input.message_id.clone(),
                transactions: input.refunds.len() as u64,
                control_sum: control,
                sha256: sha256_hex(xml.as_bytes()),
            },
            bytes: xml.into_bytes(),
        })
    }
}

fn entry(r: &Refund) -> Result<sepa::CreditTransferEntry, BuildError> {
    let id = r.end_to_end_id.as_str();
    check_end_to_end_id(id)?;
    let mut e = sepa::CreditTransferEntry::new(
        r.payee_name.clone(),
        parse_iban(Some(id), "payee_iban", &r.payee_iban)?,
        cents(id, r.amount)?,
        id,
    )
    .with_description(r.remittance.clone());
    if let Some(bic) = &r.payee_bic {
        e = e.with_bic(parse_bic(Some(id), "payee_bic", bic)?);
    }
    Ok(e)
}
