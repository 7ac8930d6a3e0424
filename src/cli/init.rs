//! `navigo-ledger init`: creates an empty ledger.

use std::path::Path;
use std::process::ExitCode;

use navigo_store::EventStore;
use navigo_store_sled::{InitOutcome, SledStore};

use super::CmdResult;

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Create the ledger without the built-in reference data (low-level tests of
    /// the store and of `append`).
    #[arg(long)]
    empty: bool,
}

/// The recorded-at instant of the built-in reference data on a fresh ledger.
const BUILTIN_RECORDED_AT: chrono::DateTime<chrono::Utc> =
    chrono::DateTime::from_timestamp_nanos(1_306_886_400_000_000_000);

/// Creates the ledger, or says it already exists.
///
/// # Errors
/// `--data` is a file or a non-empty directory that is not a ledger (untouched).
pub async fn run(data: &Path, args: Args) -> CmdResult {
    match SledStore::init(data)? {
        InitOutcome::Created => outln!("created a ledger in {}", data.display()),
        InitOutcome::AlreadyLedger => outln!("{} is already a ledger", data.display()),
    }
    if args.empty {
        return Ok(ExitCode::SUCCESS);
    }
    // The built-in reference data is appended once (idempotency keys): a second
    // init appends nothing.
    let store = super::open_store(data)?;
    let mut ledger =
        navigo_ledger_core::Ledger::open(store, navigo_rules::Policy::default(), 0).await?;
    // Decision: the built-in data is recorded with the import clock at a fixed
    // instant (or the head's, when the ledger already holds later events), so that
    // two fresh ledgers start with the same chain and a scenario applied to both
    // ends on the same head.
    let head = ledger.store().head().await?;
    let at = match head.recorded_at {
        Some(h) if h > BUILTIN_RECORDED_AT => h,
        _ => BUILTIN_RECORDED_AT,
    };
    let loaded = ledger
        .load_builtin_reference(at, navigo_ledger_core::ClockMode::Import)
        .await;
    let store = ledger.into_store();
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            store.close().await?;
            return Err(e.into());
        }
    };
    store.close().await?;
    outln!("built-in reference data: {} events appended", loaded.len());
    Ok(ExitCode::SUCCESS)
}
