//! What a SEPA collection file needs of a contract's mandate on a collection
//! date: the mandate in force, its sequence type and its amendment
//! (`PAY-MANDATE-SEQUENCE`, `PAY-MANDATE-AMENDMENT`). The bank-file code calls
//! [`collection_mandate`] for each debit it writes; the debtor's account it
//! returns is sealed with the payer's key, opened by the store that read the
//! contract (or unreadable once the payer is erased).
//!
//! Decision (`PAY-MANDATE-SEQUENCE`): the first collection under a mandate
//! reference is `FRST`, every later one `RCUR`. Since the 2016 EPC SDD Core
//! rulebook (version 9) `FRST` is optional and a first collection may be sent as
//! `RCUR`; `FRST` is still accepted by every bank and tells the debtor's bank
//! that no collection preceded, so the ledger keeps it.
//!
//! Decision (`PAY-MANDATE-AMENDMENT`): the mandate in force is compared with
//! the one the last debit was presented under. A changed account under the
//! same reference (a `MandateChanged` or a payer change that kept the
//! reference) is an amendment naming the original debtor account; a changed
//! reference with the same signature date is the same signed mandate
//! renumbered, an amendment naming the original mandate reference. A new
//! reference with another signature date is a new mandate the payer signed
//! (`PAY-PAYER-CHANGE`: a new payer signs a new mandate): it is collected as
//! `FRST`, with no amendment, as the EPC rulebook wants for a new mandate. The
//! amendment is cleared by the next `DebitPresented` (the file that carried
//! it): a rejection of that debit does not restore it, the bank having learnt
//! the amendment with the collection it rejected.

use chrono::NaiveDate;
use navigo_events_schema::mandate::{Mandate, MandateDebtor};
use navigo_events_schema::sealed::Sealed;
use navigo_events_schema::YearMonth;

use super::state::ContractState;

/// The sequence type of a collection (ISO 20022 `SeqTp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceType {
    /// `FRST`: the first collection under the mandate.
    First,
    /// `RCUR`: a collection after the first.
    Recurrent,
}

impl SequenceType {
    /// The ISO 20022 code.
    pub fn code(self) -> &'static str {
        match self {
            SequenceType::First => "FRST",
            SequenceType::Recurrent => "RCUR",
        }
    }
}

/// How the mandate in force differs from the one the last debit was presented
/// under (ISO 20022 `AmdmntInfDtls`).
#[derive(Debug, Clone, PartialEq)]
pub struct MandateAmendment {
    /// The original mandate reference (`OrgnlMndtId`), when it changed.
    pub original_reference: Option<String>,
    /// The original debtor account (`OrgnlDbtrAcct`), when it changed; sealed
    /// with the key of the payer who signed the original mandate.
    pub original_debtor: Option<Sealed<MandateDebtor>>,
}

/// What a collection file needs of a contract's mandate on a collection date.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMandate {
    /// The mandate in force: reference (UMR), signature date, payer and the
    /// sealed debtor account.
    pub mandate: Mandate,
    /// `FRST` or `RCUR`.
    pub sequence: SequenceType,
    /// The amendment since the last collection, if any.
    pub amendment: Option<MandateAmendment>,
}

/// The mandate of contract `c` for a collection on `collection_date` (the debit
/// of that date's month), with its sequence type and amendment; `None` when
/// the contract has no mandate for that month (paid in cash, or the mandate
/// revoked and not replaced).
pub fn collection_mandate(
    c: &ContractState,
    collection_date: NaiveDate,
) -> Option<CollectionMandate> {
    let m = YearMonth::of(collection_date);
    c.payment_setup_at(m).filter(|p| p.is_direct_debit())?;
    if c.mandate_revoked.is_some_and(|d| d <= collection_date) {
        return None;
    }
    let mandate = c.mandate_at(m)?;
    let sequence = if c.presented_mandates.contains(&mandate.reference) {
        SequenceType::Recurrent
    } else {
        SequenceType::First
    };
    let amendment = c
        .last_presented_mandate
        .as_ref()
        .and_then(|last| amendment(last, &mandate));
    Some(CollectionMandate {
        mandate,
        sequence,
        amendment,
    })
}

/// See the module's Decision (`PAY-MANDATE-AMENDMENT`).
fn amendment(last: &Mandate, now: &Mandate) -> Option<MandateAmendment> {
    let renumbered = last.reference != now.reference;
    if renumbered && last.signed_on != now.signed_on {
        // A new mandate, not an amendment.
        return None;
    }
    let original_reference = renumbered.then(|| last.reference.clone());
    let original_debtor = (last.debtor != now.debtor).then(|| last.debtor.clone());
    if original_reference.is_none() && original_debtor.is_none() {
        return None;
    }
    Some(MandateAmendment {
        original_reference,
        original_debtor,
    })
}
