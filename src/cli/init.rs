//! `navigo-ledger init`: creates an empty ledger.

use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::sled_store::{InitOutcome, SledStore};

use super::CmdResult;

/// Creates the ledger, or says it already exists.
///
/// # Errors
/// `--data` is a file or a non-empty directory that is not a ledger (untouched).
pub fn run(data: &Path) -> CmdResult {
    match SledStore::init(data)? {
        InitOutcome::Created => println!("created an empty ledger in {}", data.display()),
        InitOutcome::AlreadyLedger => {
            println!("{} is already a ledger; nothing changed", data.display())
        }
    }
    Ok(ExitCode::SUCCESS)
}
