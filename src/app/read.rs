//! Reading each view of the projections from the slice of the log it reads: a
//! contract's state, balance and calendar, a payer's balance, a person's bans
//! and refunds. Both transports take the slice the same way ([`slice`]: the
//! id's streams, picked by the ledger's indexes and read from its store), so a
//! one-id read costs the id's history, not the ledger's.

use chrono::{DateTime, Utc};
use navigo_events_schema::views::{
    ContractBalance, ContractStateView, DebitCalendar, PayerBalance, PersonBans, PersonRefunds,
    ValidityView,
};
use navigo_events_schema::{Envelope, StreamId};
use navigo_ledger_core::{Ledger, LedgerError};
use navigo_projections::calendar::Horizon;
use navigo_projections::slice::{read_contract_slice, read_person_slice};
use navigo_projections::{balance, bans, calendar, refunds, state, Folded, ProjectionError, Query};
use navigo_rules::Policy;
use navigo_store::EventStore;
use uuid::Uuid;

/// Whose slice of the log a one-id read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A contract's views (state, balance, calendar, what-if).
    Contract,
    /// A person's views (bans, refunds).
    Person,
    /// A contract's when the ledger knows the id as one, else a person's: a
    /// balance, an audit trail, a diff.
    ContractOrPerson,
}

/// The slice of the log the views of `id` read: its streams (a contract's
/// [`read_contract_slice`], a person's [`read_person_slice`]; for
/// [`Subject::ContractOrPerson`], the contract's when the ledger knows the id
/// as one), read from the ledger's store and merged in position order, in
/// time proportional to those streams, not to the log. Empty for an
/// id the ledger does not know: the view then says the id is unknown, as the
/// whole log's reading would (a superset of streams, or none, changes no
/// answer: the queries filter a slice as they filter the log, which
/// `tests/projections_slice.rs` checks on a generated population).
///
/// # Errors
/// A store failure or a corrupt record of the slice.
pub async fn slice<S: EventStore>(
    ledger: &Ledger<S>,
    id: Uuid,
    subject: Subject,
) -> Result<Vec<Envelope>, LedgerError> {
    let read = |streams| async move { ledger.read_streams(&streams).await };
    if subject != Subject::Person {
        if let Some(events) = read_contract_slice(ledger.world(), id, read).await? {
            return Ok(events);
        }
        if subject == Subject::Contract {
            return Ok(Vec::new());
        }
    }
    let events = read_person_slice(ledger.world(), id, read).await?;
    Ok(events.unwrap_or_default())
}

/// A contract's state as read, with what goes with it.
pub struct StateRead {
    /// The state.
    pub view: ContractStateView,
    /// May it be used in the zone asked, at the instant asked (`USE-DEZONAGE`).
    pub validity: Option<ValidityView>,
    /// The contract stream's version in this reading: the service's ETag, which
    /// makes a command sent back with it as If-Match a conflict if anything was
    /// recorded on the contract since.
    pub version: u64,
}

/// A contract's state on `q`; with `zone`, whether it may be used in that zone
/// at that instant.
///
/// # Errors
/// An unknown contract.
pub fn contract_state(
    events: &[Envelope],
    contract: Uuid,
    q: &Query,
    zone: Option<(u8, DateTime<Utc>)>,
) -> Result<StateRead, ProjectionError> {
    let input = Folded::new(events, q);
    let view = state::contract_state(&input, contract)?;
    let validity = match zone {
        Some((z, instant)) => Some(state::validity(&input, contract, z, instant)?),
        None => None,
    };
    Ok(StateRead {
        view,
        validity,
        version: input.known().version(StreamId::contract(contract)),
    })
}

/// The balance of a contract, or of a payer (every contract they pay or paid).
pub enum Balance {
    /// A contract's.
    Contract(ContractBalance),
    /// A payer's.
    Payer(PayerBalance),
}

/// The balance of `id`: a contract's when the ledger knows it as one, else a
/// payer's (`PAY-DUE-VS-COLLECTED`).
///
/// # Errors
/// An id that is neither a contract nor a person.
pub fn balance(events: &[Envelope], id: Uuid, q: &Query) -> Result<Balance, ProjectionError> {
    let input = Folded::new(events, q);
    if input.known().contract(id).is_some() {
        return balance::contract_balance(&input, id).map(Balance::Contract);
    }
    balance::payer_balance(&input, id).map(Balance::Payer)
}

/// The balance of a contract (`PAY-DUE-VS-COLLECTED`).
///
/// # Errors
/// An unknown contract.
pub fn contract_balance(
    events: &[Envelope],
    contract: Uuid,
    q: &Query,
) -> Result<ContractBalance, ProjectionError> {
    balance::contract_balance(&Folded::new(events, q), contract)
}

/// A contract's debit calendar, from its start to `horizon` months after the
/// month read (the policy's default when `None`).
///
/// # Errors
/// An unknown contract, a calendar longer than its bound.
pub fn calendar(
    events: &[Envelope],
    contract: Uuid,
    q: &Query,
    horizon: Option<Horizon>,
) -> Result<DebitCalendar, ProjectionError> {
    if events.is_empty() {
        return Err(ProjectionError::UnknownContract(contract));
    }
    calendar::calendar(
        &Folded::new(events, q),
        contract,
        &Policy::default(),
        horizon,
    )
}

/// A person's ban windows, and whether they may be payer or holder.
///
/// # Errors
/// An unknown person.
pub fn person_bans(
    events: &[Envelope],
    person: Uuid,
    q: &Query,
) -> Result<PersonBans, ProjectionError> {
    bans::person_bans(&Folded::new(events, q), person)
}

/// A person's refund entitlements.
///
/// # Errors
/// An unknown person.
pub fn person_refunds(
    events: &[Envelope],
    person: Uuid,
    q: &Query,
) -> Result<PersonRefunds, ProjectionError> {
    refunds::person_refunds(&Folded::new(events, q), person)
}
