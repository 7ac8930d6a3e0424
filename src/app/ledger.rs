//! Opening the ledger where it is ([`Place`]: a data directory, or a
//! PostgreSQL database), for reading (the whole log, or the slice of one id)
//! or for writing (a [`Ledger`] judging commands against a clock), and loading
//! the built-in reference data into it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use navigo_events_schema::{CommandEnvelope, Envelope};
use navigo_ledger_core::{ClockMode, Ledger, LedgerError};
use navigo_rules::Policy;
use navigo_store::{Clock, EventStore, Limits, StoreError};
use navigo_store_postgres::PgStore;
use navigo_store_sled::SledStore;
use uuid::Uuid;

use super::clock::SystemClock;
use super::keystore::KeyStore;
use super::place::Place;
use super::read::{self, Subject};
use super::replay::{self, WhatIfSlice};
use super::store::{AnyStore, Backend};

/// The recorded-at instant of the built-in reference data on a fresh ledger
/// (2011-06-01T00:00:00Z).
const BUILTIN_RECORDED_AT: DateTime<Utc> =
    DateTime::from_timestamp_nanos(1_306_886_400_000_000_000);

/// Creates the ledger at `place` if there is none; `true` when it was
/// created, `false` when a ledger was there already.
///
/// # Errors
/// The place holds something that is not a ledger (untouched), or the
/// database cannot be reached (named without its password).
pub async fn init_store(place: &Place) -> Result<bool, StoreError> {
    match place.postgres() {
        None => Ok(SledStore::init(place.data())? == navigo_store_sled::InitOutcome::Created),
        Some(pg) => PgStore::init(pg)
            .await
            .map(|o| o == navigo_store_postgres::InitOutcome::Created)
            .map_err(|e| naming(pg, e)),
    }
}

/// Opens the ledger at `place` with the system clock and the default limits.
///
/// # Errors
/// Not a ledger (nothing is written), a corrupt head, a storage failure.
pub async fn open_store(place: &Place) -> Result<AnyStore, StoreError> {
    open_store_with(place, Limits::default(), Arc::new(SystemClock)).await
}

/// Opens the ledger at `place` with `limits`, its instants read from `clock`.
///
/// # Errors
/// Not a ledger (nothing is written), a corrupt head, a storage failure; for
/// PostgreSQL, each names the database without its password.
pub async fn open_store_with(
    place: &Place,
    limits: Limits,
    clock: Arc<dyn Clock>,
) -> Result<AnyStore, StoreError> {
    let backend = match place.postgres() {
        None => Backend::Sled(SledStore::open(place.data(), limits, clock)?),
        Some(pg) => Backend::Postgres(
            PgStore::open(pg, limits, clock)
                .await
                .map_err(|e| naming(pg, e))?,
        ),
    };
    let keys = open_key_store(place.data())?;
    Ok(AnyStore::new(backend, Some(Arc::new(keys))))
}

/// The key store of the data directory `data` (created with it; for
/// PostgreSQL the directory is created when missing, as for its other files).
///
/// # Errors
/// The directory or the key store cannot be opened.
pub fn open_key_store(data: &std::path::Path) -> Result<KeyStore, StoreError> {
    std::fs::create_dir_all(data)
        .map_err(|e| StoreError::Storage(format!("data directory {}: {e}", data.display())))?;
    KeyStore::open(data).map_err(|e| StoreError::Storage(e.to_string()))
}

/// A failure to create or open a PostgreSQL ledger, naming the database
/// (without its password), whose errors name a schema or nothing.
fn naming(pg: &navigo_store_postgres::PgConfig, e: StoreError) -> StoreError {
    match e {
        StoreError::NotALedger { path, why } => StoreError::NotALedger {
            path: format!("{} ({path})", pg.shown()),
            why,
        },
        StoreError::Storage(why) => StoreError::Storage(format!("{}: {why}", pg.shown())),
        other => other,
    }
}

/// Opens the ledger, reads the whole log and closes the store again: for the
/// commands about the whole log (rebuild, check-projections, the demo's
/// checks); a one-id read takes its slice instead ([`read_slice`]). The store is closed before a read error
/// is returned, so the sled lock is never left held.
///
/// # Errors
/// The ledger cannot be opened, read or closed.
pub async fn read_whole_log(data: &Place) -> Result<Vec<Envelope>, StoreError> {
    let store = open_store(data).await?;
    let events = navigo_ledger_core::load::read_everything(&store).await;
    store.close().await?;
    events
}

/// Opens the ledger, reads the slice of the log the views of `id` read
/// ([`read::slice`]) and closes it again: the one-id commands (state, balance,
/// calendar, bans, refunds, audit, diff) read the id's streams, not the log.
///
/// Opening folds the ledger's verified snapshot and the tail of the log after
/// it (the world whose indexes pick the slice); a ledger without a snapshot
/// (written by an earlier version, or by raw appends) is folded whole once.
///
/// Decision: the reader closes the ledger as a writer does, writing a snapshot
/// when it folded events the last one did not cover, so that the next read of
/// a ledger without one opens from it. A snapshot is derived data stored apart
/// from the log, never in the chain, and is verified before it is trusted.
///
/// # Errors
/// The ledger cannot be opened, read or closed.
pub async fn read_slice(data: &Place, id: Uuid, subject: Subject) -> anyhow::Result<Vec<Envelope>> {
    let ledger = open_ledger(data, 0).await?;
    let events = read::slice(&ledger, id, subject).await;
    close_reader(ledger).await?;
    Ok(events?)
}

/// Opens the ledger, reads what a what-if of `commands` on `contract` reads
/// ([`replay::what_if_slice`]) and closes it again, as [`read_slice`] does.
///
/// # Errors
/// The ledger cannot be opened, read or closed.
pub async fn read_what_if_slice(
    data: &Place,
    contract: Uuid,
    commands: &[CommandEnvelope],
) -> anyhow::Result<WhatIfSlice> {
    let ledger = open_ledger(data, 0).await?;
    let read = replay::what_if_slice(&ledger, contract, commands).await;
    close_reader(ledger).await?;
    Ok(read?)
}

/// Closes a ledger opened for reading (see [`read_slice`]).
async fn close_reader(ledger: Ledger<AnyStore>) -> anyhow::Result<()> {
    ledger.close().await?.close().await?;
    Ok(())
}

/// Opens the ledger for writing with the default policy and the id generator
/// seeded with `seed`, judged by no clock of its own: for what loads built-in
/// data or only reads the rules' world.
///
/// # Errors
/// The store cannot be opened, or its log does not fold.
pub async fn open_ledger(data: &Place, seed: u64) -> anyhow::Result<Ledger<AnyStore>> {
    Ok(Ledger::open(open_store(data).await?, Policy::default(), seed).await?)
}

/// Opens the ledger for writing, its store and its commands judged by `clock`:
/// nothing is recorded after its instant.
///
/// # Errors
/// The store cannot be opened, or its log does not fold.
pub async fn open_clocked_ledger(
    data: &Place,
    seed: u64,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Ledger<AnyStore>> {
    open_clocked_ledger_with(data, seed, clock, None).await
}

/// [`open_clocked_ledger`] whose world holds at most `state_cache_entries_max`
/// states between commands (`None`: the ledger's own bound,
/// [`navigo_ledger_core::STATE_CACHE_ENTRIES_MAX`]); tests set it tiny, so
/// that every state a read needs is paged in.
///
/// # Errors
/// The store cannot be opened, or its log does not fold.
pub async fn open_clocked_ledger_with(
    data: &Place,
    seed: u64,
    clock: Arc<dyn Clock>,
    state_cache_entries_max: Option<usize>,
) -> anyhow::Result<Ledger<AnyStore>> {
    let store = open_store_with(data, Limits::default(), clock.clone()).await?;
    let limit = state_cache_entries_max.unwrap_or(navigo_ledger_core::STATE_CACHE_ENTRIES_MAX);
    Ok(Ledger::open_with(store, Policy::default(), seed, limit)
        .await?
        .with_clock(clock))
}

/// Appends the built-in reference data the ledger lacks (tariffs, school
/// holidays, reason codes, campaigns); once only, by their idempotency keys.
///
/// Decision: the built-in data is recorded with the import clock at a fixed
/// instant (or the head's, when the ledger already holds later events), so that
/// two fresh ledgers start with the same chain and a scenario applied to both
/// ends on the same head.
///
/// # Errors
/// The store fails (nothing of the failed append is written).
pub async fn load_builtin_reference(
    ledger: &mut Ledger<AnyStore>,
) -> Result<Vec<Envelope>, LedgerError> {
    let head = ledger.store().head().await?;
    let at = match head.recorded_at {
        Some(h) if h > BUILTIN_RECORDED_AT => h,
        _ => BUILTIN_RECORDED_AT,
    };
    ledger.load_builtin_reference(at, ClockMode::Import).await
}
