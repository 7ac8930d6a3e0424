//! Running commands: one command judged by the ledger, or the billing clock run
//! through a date, each answered with the events it appended as views.

use super::store::{AnyStore, Backend};
use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::views::{CommandAccepted, StoredEvent};
use navigo_events_schema::CommandEnvelope;
use navigo_ledger_core::{ClockMode, Ledger, LedgerError};

/// Judges `cmd` and, when it is accepted, appends its events (or answers the
/// events first appended under its idempotency key).
///
/// # Errors
/// The ledger's refusal, conflict or failure ([`LedgerError`]); nothing is
/// appended then.
pub async fn execute(
    ledger: &mut Ledger<AnyStore>,
    cmd: &CommandEnvelope,
    mode: ClockMode,
) -> Result<CommandAccepted, LedgerError> {
    let lock = shared_lock(ledger).await?;
    let result = ledger.execute(cmd, mode).await;
    release(lock).await?;
    result.map(|events| CommandAccepted::of(&events))
}

/// On a store other processes may write (PostgreSQL), takes the ledger's
/// command lock and folds what they appended, so that the command is judged
/// against the whole log; sled admits one process, whose world is the log.
///
/// Decision: commands are serialised across the services sharing a
/// database rather than judged concurrently and checked at append time:
/// the store checks one stream's version, but a judgment may read other
/// streams (a client number's uniqueness, a payer's bans), which only a
/// judgment against the whole log gets right.
///
/// # Errors
/// A storage failure (the lock is released).
async fn shared_lock(
    ledger: &mut Ledger<AnyStore>,
) -> Result<Option<navigo_store_postgres::commands::CommandLock>, LedgerError> {
    let Backend::Postgres(pg) = ledger.store().backend() else {
        return Ok(None);
    };
    let lock = pg.lock_commands().await?;
    if let Err(e) = ledger.catch_up_with_store().await {
        lock.release().await?;
        return Err(e);
    }
    Ok(Some(lock))
}

async fn release(
    lock: Option<navigo_store_postgres::commands::CommandLock>,
) -> Result<(), LedgerError> {
    match lock {
        Some(l) => Ok(l.release().await?),
        None => Ok(()),
    }
}

/// Runs the billing clock through `to` at the instant `now`, and answers the
/// system events it appended, in date order.
///
/// # Errors
/// `to` beyond the clock's bound, or the store fails (what was appended stays).
pub async fn advance(
    ledger: &mut Ledger<AnyStore>,
    to: NaiveDate,
    now: DateTime<Utc>,
    mode: ClockMode,
) -> Result<Vec<StoredEvent>, LedgerError> {
    let lock = shared_lock(ledger).await?;
    let events = ledger.advance_to(to, now, mode).await;
    release(lock).await?;
    Ok(events?.iter().map(StoredEvent::from).collect())
}

/// Erases the personal data of `person` (`TERM-RETENTION`) at the instant
/// `now`, asked by `actor` on the legal basis `basis`: the store destroys the
/// person's key, then `PersonalDataErased` is appended on the person's stream
/// ([`super::sealing`]). Idempotent: a person already erased gets no new
/// event, and their key is destroyed again (a key store restored from a backup
/// older than the erasure holds it again).
///
/// # Errors
/// An unknown person, an empty basis, or a storage failure (the key is
/// destroyed only when the request was judged acceptable).
pub async fn erase_person(
    ledger: &mut Ledger<AnyStore>,
    person: uuid::Uuid,
    basis: &str,
    actor: navigo_events_schema::types::Actor,
    now: DateTime<Utc>,
) -> Result<CommandAccepted, LedgerError> {
    use navigo_events_schema::command::{Command, ErasePersonalData};
    let cmd = CommandEnvelope {
        request_at: now,
        actor,
        channel: None,
        idempotency_key: None,
        expected_version: None,
        command: Command::ErasePersonalData(ErasePersonalData {
            person_id: person,
            basis: basis.to_owned(),
        }),
    };
    let accepted = execute(ledger, &cmd, ClockMode::Service).await?;
    if let Some(keys) = ledger.store().keys() {
        keys.destroy(person)
            .map_err(|e| navigo_store::StoreError::Storage(e.to_string()))?;
    }
    Ok(accepted)
}
