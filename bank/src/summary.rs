//! What is recorded of a file: enough to name it, count it and prove its bytes.

use navigo_events_schema::types::Money;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::error::BuildError;

/// The evidence of a file: its message id, how many transactions it carries,
/// their sum, and the SHA-256 of its bytes (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/NbOfTxs`.
    pub transactions: u64,
    /// `GrpHdr/CtrlSum`.
    pub control_sum: Money,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// The SHA-256 of bytes, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An amount of a transaction in cents, as `sepa` takes it: strictly positive.
pub(crate) fn cents(debit: &str, amount: Money) -> Result<i64, BuildError> {
    if !amount.is_positive() {
        return Err(crate::creditor::field(
            Some(debit),
            "amount",
            format!("{amount} refused: a transaction moves a positive amount"),
        ));
    }
    (amount.value() * Decimal::ONE_HUNDRED)
        .to_i64()
        .ok_or_else(|| {
            crate::creditor::field(Some(debit), "amount", format!("{amount} is out of range"))
        })
}

/// Cents back to money.
pub(crate) fn money(cents: i64) -> Money {
    Money::from_cents(cents)
}
