//! `navigo-ledger init`: creates an empty ledger.

use std::process::ExitCode;

use super::exit::CmdResult;
use crate::app::ledger::{init_store, load_builtin_reference, open_ledger};
use crate::app::place::Place;

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Create the ledger without the built-in reference data (low-level tests of
    /// the store and of `append`).
    #[arg(long)]
    empty: bool,
}

/// Creates the ledger, or says it already exists.
///
/// # Errors
/// `--data` is a file or a non-empty directory that is not a ledger (untouched).
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if init_store(data).await? {
        outln!("created a ledger in {}", data.shown());
    } else {
        outln!("{} is already a ledger", data.shown());
    }
    if args.empty {
        return Ok(ExitCode::SUCCESS);
    }
    // The built-in reference data is appended once (idempotency keys): a second
    // init appends nothing.
    let mut ledger = open_ledger(data, 0).await?;
    let loaded = load_builtin_reference(&mut ledger).await;
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
