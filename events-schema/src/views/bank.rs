//! What the bank commands answer with `--json`: the creditor the files are
//! built and read for (`bank creditor`), a collection file or a refund file
//! issued (`bank collect`, `bank refunds`) and a file of the bank imported
//! (`bank import`). The files' own events are in `event.rs`; these views say
//! what one run did with them.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{BankFileKind, SkippedLine};
use crate::Money;

/// `bank creditor`: the creditor configured in the data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditorView {
    /// The creditor's name, as the files carry it.
    pub name: String,
    /// The SEPA creditor identifier.
    pub creditor_id: String,
    /// The creditor's account, masked (never printed whole).
    pub iban: String,
}

/// `bank collect`: the pain.008 collection file of a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionFileView {
    /// The requested collection date.
    pub collection_date: NaiveDate,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/NbOfTxs`: how many debits the file carries.
    pub count: u64,
    /// `GrpHdr/CtrlSum`: their sum.
    pub control_sum: Money,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier the file was built for.
    pub creditor_id: String,
    /// Where the file was written.
    pub out: String,
    /// Whether its `CollectionFileIssued` was appended by this run; `false`
    /// when the same file was issued before (the same bytes written again).
    pub appended: bool,
}

/// `bank refunds`: the pain.001 refund file of an execution date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundFileView {
    /// The requested execution date.
    pub execution_date: NaiveDate,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/NbOfTxs`: how many refunds the file carries.
    pub count: u64,
    /// `GrpHdr/CtrlSum`: their sum.
    pub control_sum: Money,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The SEPA creditor identifier of the account paying the refunds.
    pub creditor_id: String,
    /// Where the file was written.
    pub out: String,
    /// Whether its `RefundFileIssued` was appended by this run; `false` when
    /// the same file was issued before (the same bytes written again).
    pub appended: bool,
    /// Refund payments this run recorded (`RefundPaid`): every refund of a
    /// new file, or those an interrupted run left unrecorded.
    pub paid_now: u64,
}

/// `bank import`: a pain.002 status report or camt.054 notification read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankImportView {
    /// Status report or notification.
    pub kind: BankFileKind,
    /// `GrpHdr/MsgId` of the bank's file.
    pub message_id: String,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// How many transactions came back.
    pub returned: u64,
    /// The event ids of the `DebitRejected` the import recorded, in file order.
    pub rejection_event_ids: Vec<Uuid>,
    /// The transactions the operator decided to leave out, with why.
    pub skipped: Vec<SkippedLine>,
    /// The operator who decided it; `null` when nothing was left out.
    pub decided_by: Option<String>,
    /// Whether this run appended the import; `false` when the same file was
    /// imported before.
    pub appended: bool,
}
