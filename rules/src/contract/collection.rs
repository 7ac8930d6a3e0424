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

use std::collections::BTreeSet;

use chrono::NaiveDate;
use navigo_events_schema::mandate::{Mandate, MandateDebtor};
use navigo_events_schema::sealed::Sealed;

/// What a contract's state knows of its mandates for a collection, as
/// `ContractState::collection_mandate` reads it.
#[derive(Debug, Clone, Copy)]
pub struct MandateHistory<'a> {
    /// The mandate in force for the collection's month, when the contract is
    /// paid by direct debit that month.
    pub in_force: Option<&'a Mandate>,
    /// The day the mandate was revoked, if it was.
    pub revoked: Option<NaiveDate>,
    /// The references debits were presented under.
    pub presented: &'a BTreeSet<String>,
    /// The mandate the last debit was presented under.
    pub last_presented: Option<&'a Mandate>,
}

/// The sequence type of a collection (ISO 20022 `SeqTp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// How a debit went to the bank under its mandate, decided as it was
/// presented (`PAY-MANDATE-SEQUENCE`, `PAY-MANDATE-AMENDMENT`) and kept with
/// the debit ([`super::state::DebitRecord`]): what its collection file says,
/// whenever the file is built. A later debit changes both for the contract
/// (the next one is `RCUR`, the amendment is cleared), not for this one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Presentation {
    /// `FRST` or `RCUR`.
    pub sequence: SequenceType,
    /// The original mandate reference, when an amendment renumbered it.
    pub amended_from_reference: Option<String>,
    /// Whether an amendment changed the debtor account.
    pub amended_debtor: bool,
}

impl Presentation {
    /// The presentation of a debit collected under `m`.
    pub fn of(m: &CollectionMandate) -> Presentation {
        let amendment = m.amendment.as_ref();
        Presentation {
            sequence: m.sequence,
            amended_from_reference: amendment.and_then(|a| a.original_reference.clone()),
            amended_debtor: amendment.is_some_and(|a| a.original_debtor.is_some()),
        }
    }

    /// Whether the collection carries an amendment.
    pub fn amended(&self) -> bool {
        self.amended_from_reference.is_some() || self.amended_debtor
    }
}

/// The mandate of a contract whose mandates `h` describes for a collection
/// on `collection_date`, with its sequence type and amendment; `None` when
/// the contract has no mandate for that month (paid in cash, or the mandate
/// revoked and not replaced).
pub fn collection_mandate(
    h: MandateHistory<'_>,
    collection_date: NaiveDate,
) -> Option<CollectionMandate> {
    if h.revoked.is_some_and(|d| d <= collection_date) {
        return None;
    }
    let mandate = h.in_force?.clone();
    let sequence = if h.presented.contains(&mandate.reference) {
        SequenceType::Recurrent
    } else {
        SequenceType::First
    };
    let amendment = h.last_presented.and_then(|last| amendment(last, &mandate));
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
