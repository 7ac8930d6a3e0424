//! `navigo-ledger verify [--json]`: recomputes every hash and the chain.

use std::path::Path;
use std::process::ExitCode;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::output::print_json_line;
use crate::app::verify::{verify, verify_view};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object (ok, records, streams, head, first_bad) instead of text.
    #[arg(long)]
    json: bool,
}

/// Verifies the ledger; exit 1 and the first bad position when it does not verify.
///
/// # Errors
/// Not a ledger, or a storage failure.
pub fn run(data: &Path, args: Args) -> CmdResult {
    let report = verify(data)?;
    let code = if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    };
    if args.json {
        print_json_line(&verify_view(&report))?;
        return Ok(code);
    }
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
        }
        Some(bad) => {
            outln!("FAILED at position {}: {}", bad.position, bad.problem);
            outln!(
                "the {} records before it verify (last sound hash {})",
                report.records_checked,
                report.head.hash
            );
        }
    }
    Ok(code)
}
