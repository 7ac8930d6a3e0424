//! Refusals and command errors.
//!
//! A business refusal names the rule of RULES.md that forbids the request, the
//! article of the rulebook in force, and says what would make the request
//! acceptable. Bad input (an unknown contract, a command that does not fit the
//! stream's state) is a [`CommandError::Invalid`] that names the field.

use chrono::NaiveDate;
use navigo_events_schema::RuleId;

use crate::rulebook::{self, Rulebook};

/// A request refused by a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by {rule} ({article}): {message}")]
pub struct Refusal {
    /// The rule of RULES.md.
    pub rule: RuleId,
    /// The article of the rulebook in force, e.g. `CGVU-2026 §3.1`.
    pub article: &'static str,
    /// What was wrong and what would make the request acceptable.
    pub message: String,
}

impl Refusal {
    /// A refusal by `rule`, citing its article in `book` (the one constructor:
    /// every refusal names its rule and the article of the rulebook in force).
    pub fn under(book: &Rulebook, rule: RuleId, message: impl Into<String>) -> Refusal {
        Refusal {
            rule,
            article: book.article(rule),
            message: message.into(),
        }
    }

    /// A refusal by `rule` under the rulebook in force on `date`.
    pub fn on(date: NaiveDate, rule: RuleId, message: impl Into<String>) -> Refusal {
        Refusal::under(rulebook::in_force(date), rule, message)
    }
}

/// Why a command produced no events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A business rule refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The command is malformed or does not fit the ledger's state.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field at fault (e.g. `contract_id`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl CommandError {
    /// An invalid-field error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> CommandError {
        CommandError::Invalid {
            field,
            message: message.into(),
        }
    }
}
