//! What the rules still give once a contract has ended (`TERM-ATTESTATION`,
//! `TERM-RETENTION`; CGVU-2026 §4.14.4, §16.1.4): the attestation a holder or
//! payer may download, and how long a person's data is kept. Read by the
//! contract state view; no command changes them.

use chrono::NaiveDate;
use navigo_events_schema::types::add_months;
use navigo_events_schema::RuleId;
use uuid::Uuid;

use super::state::ContractState;
use crate::calendar::date_of_age;
use crate::refusal::Refusal;
use crate::retention::RetentionPolicy;
use crate::rulebook;

/// `TERM-ATTESTATION`: an attestation stays available this many months after the
/// termination (CGVU-2026 §4.14.4).
pub const ATTESTATION_MONTHS_AFTER_END: u32 = 6;

/// `TERM-ATTESTATION`: the requester is at least this old ("over 16", read as 16
/// or more, the age from which one may be holder or payer, §4.1).
pub const ATTESTATION_AGE_MIN: u32 = 16;

/// `TERM-ATTESTATION` (CGVU-2026 §4.14.4): whether `person`, born on `birth_date`,
/// may download an attestation of contract `c` on `on`: the person is its holder
/// or one of its payers, is 16 or more, and the contract is active, suspended, or
/// terminated less than 6 months ago.
///
/// # Errors
/// A refusal by `TERM-ATTESTATION` saying which condition fails.
pub fn attestation_available(
    c: &ContractState,
    person: Uuid,
    birth_date: NaiveDate,
    on: NaiveDate,
) -> Result<(), Refusal> {
    let book = rulebook::in_force(on);
    let refuse = |message: String| Refusal::under(book, RuleId::TermAttestation, message);
    let party =
        c.holder == person || c.payer == person || c.payers.iter().any(|(_, p)| *p == person);
    if !party {
        return Err(refuse(format!(
            "only the holder or the payer of contract {} may download its attestation",
            c.id
        )));
    }
    let sixteen = date_of_age(birth_date, ATTESTATION_AGE_MIN);
    if on < sixteen {
        return Err(refuse(format!(
            "the attestation is available to a holder or payer aged 16 or more; available from {sixteen}"
        )));
    }
    if let Some((ended, _, _)) = &c.termination {
        let until = add_months(*ended, ATTESTATION_MONTHS_AFTER_END);
        if on >= until && c.is_terminated() {
            return Err(refuse(format!(
                "contract {} was terminated on {ended}; its attestation was available until {}",
                c.id,
                until.pred_opt().unwrap_or(until)
            )));
        }
    }
    Ok(())
}

/// What `TERM-RETENTION` says of a person's data on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Kept: a contract is still in force or suspended (or none ended yet).
    Kept,
    /// Kept until the day before this date, then archived.
    ArchiveFrom(NaiveDate),
}

/// `TERM-RETENTION` (CGVU-2026 §16.1.4): a person's data is kept for the
/// relationship and 5 years after the end of the last contract, then archived.
/// `contracts` are every contract the person holds or pays.
pub fn retention<'a>(contracts: impl IntoIterator<Item = &'a ContractState>) -> Retention {
    let mut last_end: Option<NaiveDate> = None;
    for c in contracts {
        match (&c.termination, c.is_terminated()) {
            (Some((end, _, _)), true) => last_end = Some(last_end.map_or(*end, |l| l.max(*end))),
            _ => return Retention::Kept,
        }
    }
    match last_end {
        Some(end) => Retention::ArchiveFrom(RetentionPolicy::TERM_RETENTION.runs_out(end)),
        None => Retention::Kept,
    }
}
