//! The bank side of navigo-ledger: the SEPA files it sends and reads.
//!
//! - [`CollectionFile`]: the pain.008.001.08 direct-debit file of one
//!   collection date, deterministic (its message id and creation instant are
//!   inputs), with its [`FileSummary`] (message id, count, control sum,
//!   SHA-256 of the bytes).
//! - [`RefundFile`]: the pain.001.001.09 credit-transfer file of refunds due.
//! - [`read_status_report`] (pain.002, the rejects) and [`read_notification`]
//!   (camt.054, returns, refunds and reversals): a list of [`Returned`] or one
//!   [`ReadError`] naming the element and the line; never part of a file.
//! - [`StatusReport`] and [`Notification`]: what a bank writes back (the
//!   rejects of a collection file, the returns after settlement), for a test
//!   bank or a simulator to answer the ledger's files.
//!
//! The XML is written and read by the `sepa` crate; this crate types its input
//! with the ledger's [`Money`](navigo_events_schema::types::Money), keeps its
//! output deterministic, and checks what `sepa` does not (line numbers,
//! control sums, creditor, known reason codes). It knows no mandate, contract
//! or event type: the caller turns the ledger's debits into [`Debit`]s and
//! the [`Returned`] into its commands.

#![warn(missing_docs)]

mod answer;
mod collection;
mod creditor;
mod end_to_end;
mod error;
mod located;
mod returns;
mod summary;
mod transfer;

pub use answer::{BankReturn, Notification, StatusReport};
pub use collection::{
    Amendment, CollectionFile, CollectionInput, Debit, SequenceType, FILE_TRANSACTIONS_MAX,
};
pub use creditor::{mask_iban, Creditor};
pub use end_to_end::{debit_end_to_end_id, debit_event_of, refund_end_to_end_id};
pub use error::{BuildError, ReadError, ReadErrorKind};
pub use located::XML_DEPTH_MAX;
pub use returns::{
    read_notification, read_status_report, ReadContext, ReturnFile, ReturnKind, Returned,
    UnknownCodes, RETURN_FILE_BYTES_MAX,
};
pub use summary::FileSummary;
pub use transfer::{Refund, RefundFile, RefundInput};
