//! A generated population driven through a ledger on sled: the set-up the
//! property, slice and replay tests share. Each test names its seed, size and
//! months; what happens to the ledger between the population and the log it
//! reads back (a fraud, annulments, rare contracts) stays in the test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::command::AdvanceClock;
use navigo_events_schema::types::Actor;
use navigo_events_schema::{Command, CommandEnvelope, Envelope};
use navigo_ledger_core::{ClockMode, Ledger};
use navigo_rules::Policy;
use navigo_sim::{drive, generate, PopulationConfig};
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;

/// The first day of every generated population.
pub const POPULATION_FROM: (i32, u32, u32) = (2024, 1, 1);

/// A date.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// The instant a command of `date` is made: ten in the morning in Paris.
pub fn morning(date: NaiveDate) -> DateTime<Utc> {
    navigo_rules::calendar::paris_start_of_day(date) + Duration::hours(10)
}

/// A scratch directory of the test binary, emptied first:
/// `CARGO_TARGET_TMPDIR/<name>-<pid>-<n>`, where `n` counts the calls, so that
/// tests running at once under the same name (several generate the same
/// population) never share one: one would remove it under the other.
pub fn scratch(name: &str) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A new ledger in `dir` with the built-in reference data (as known on
/// 2011-06-01), then the generator's population of `contracts` contracts
/// from 2024-01-01 through `through` driven through it.
pub async fn generated_ledger(
    dir: &Path,
    seed: u64,
    contracts: u32,
    through: NaiveDate,
) -> Ledger<SledStore> {
    let reference_at = morning(day(2011, 6, 1));
    SledStore::init(dir).expect("init");
    let store = SledStore::open(
        dir,
        Limits::default(),
        Arc::new(ManualClock::new(reference_at)),
    )
    .expect("open");
    let mut ledger = Ledger::open(store, Policy::default(), seed)
        .await
        .expect("ledger");
    ledger
        .load_builtin_reference(reference_at, ClockMode::Import)
        .await
        .expect("reference data");
    let campaigns = navigo_rules::reference::builtin_campaigns().expect("campaigns");
    let (y, m, d) = POPULATION_FROM;
    let config = PopulationConfig {
        seed,
        contracts,
        from: day(y, m, d),
        through,
    };
    drive(
        &mut ledger,
        &generate(config, &campaigns).commands,
        &mut |_| {},
    )
    .await
    .expect("drive");
    ledger
}

/// The billing clock on the first of every month from `from` through
/// `through`, each month's clock preceded by what `before` gives for it
/// (judged as imported history; a refusal fails the test).
pub async fn advance_monthly(
    ledger: &mut Ledger<SledStore>,
    from: NaiveDate,
    through: NaiveDate,
    mut before: impl FnMut(NaiveDate) -> Vec<CommandEnvelope>,
) {
    let mut month = from;
    while month <= through {
        for c in before(month) {
            ledger
                .execute(&c, ClockMode::Import)
                .await
                .unwrap_or_else(|e| panic!("before the clock of {month}: {e}"));
        }
        let clock = CommandEnvelope {
            request_at: morning(month),
            actor: Actor::billing_clock(),
            channel: None,
            idempotency_key: None,
            expected_version: None,
            command: Command::AdvanceClock(AdvanceClock { to: month }),
        };
        ledger
            .execute(&clock, ClockMode::Import)
            .await
            .expect("clock");
        month = month
            .checked_add_months(chrono::Months::new(1))
            .expect("month");
    }
}

/// The ledger's whole stored log; the store is closed.
pub async fn into_log(ledger: Ledger<SledStore>) -> Vec<Envelope> {
    let store = ledger.into_store();
    let events = navigo_ledger_core::load::read_everything(&store)
        .await
        .expect("read");
    let _ = store.close().await;
    events
}

/// Runs `f` on a runtime of its own, then removes `dir`: for the tests that
/// generate their population outside an async test.
pub fn in_scratch<T>(dir: &Path, f: impl std::future::Future<Output = T>) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(f);
    let _ = std::fs::remove_dir_all(dir);
    out
}
