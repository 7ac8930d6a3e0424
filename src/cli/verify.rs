//! `navigo-ledger verify`: recomputes every hash and the chain.

use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::sled_store::verify_ledger;

use super::{CmdResult, EXIT_REFUSED};

/// Verifies the ledger; exit 1 and the first bad position when it does not verify.
///
/// # Errors
/// Not a ledger, or a storage failure.
pub fn run(data: &Path) -> CmdResult {
    let report = verify_ledger(data)?;
    match &report.first_bad {
        None => {
            let at = report
                .head
                .recorded_at
                .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
            outln!(
                "ok: {} records in {} streams verify; head position {} hash {} recorded at {at}",
                report.records_checked,
                report.streams,
                report.head.position,
                report.head.hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(bad) => {
            outln!("FAILED at position {}: {}", bad.position, bad.problem);
            outln!(
                "the {} records before it verify (last sound hash {})",
                report.records_checked,
                report.head.hash
            );
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}
