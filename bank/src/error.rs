//! What a bank file refuses, going out or coming in.

/// A file that cannot be written: the input names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A field of the input is refused; `debit` names the transaction by its
    /// end-to-end id when the field is one of a transaction's.
    #[error("{}{field}: {reason}", debit.as_ref().map(|d| format!("transaction {d}: ")).unwrap_or_default())]
    Field {
        /// The end-to-end id of the transaction, when the field is one of its.
        debit: Option<String>,
        /// The field, by its name in the input (`debtor_iban`, `amount`).
        field: &'static str,
        /// Why, and what would be accepted.
        reason: String,
    },
    /// Two transactions carry the same end-to-end id: the bank would report on
    /// both under one id, and a return could not be matched to one of them.
    #[error("end-to-end id {0} appears twice: each transaction of a file needs its own")]
    DuplicateEndToEndId(String),
    /// A file with no transaction.
    #[error("no transaction: a file carries at least one")]
    Empty,
    /// More transactions than one file may carry.
    #[error("{count} transactions exceed file_transactions_max ({max}): split the file")]
    TooMany {
        /// How many were given.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A rule of the EPC rulebook the `sepa` builder checks (lengths, the SEPA
    /// character set, dates, amounts), with the element it is about.
    #[error("{0}")]
    Rulebook(String),
}

/// What kind of refusal a [`ReadError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// Not well-formed XML, or larger than a file may be.
    Malformed,
    /// Well-formed, but not the message the reader expects: another message
    /// type or version, or an element missing or of the wrong form.
    Schema,
    /// A count or a sum that disagrees with the transactions it sums.
    ControlSum,
    /// A file about another creditor's account or identifier.
    Creditor,
    /// A report on a file this ledger never sent.
    UnknownMessage,
    /// A reason code the ledger does not know.
    ReasonCode,
}

/// A file the bank sent, refused whole: nothing of it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, <{element}>: {reason}")]
pub struct ReadError {
    /// What kind of refusal.
    pub kind: ReadErrorKind,
    /// The element, by its name or its path below the element named.
    pub element: String,
    /// The 1-based line of that element (or where the XML breaks).
    pub line: u32,
    /// Why, and what would be accepted.
    pub reason: String,
}
