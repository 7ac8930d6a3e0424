//! Running commands: one command judged by the ledger, or the billing clock run
//! through a date, each answered with the events it appended as views.

use super::store::AnyStore;
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
    ledger
        .execute(cmd, mode)
        .await
        .map(|events| CommandAccepted::of(&events))
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
    let events = ledger.advance_to(to, now, mode).await?;
    Ok(events.iter().map(StoredEvent::from).collect())
}
