//! `navigo-ledger verify [--json]`: recomputes every hash and the chain.

use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::sled_store::verify_ledger;
use navigo_core::store::Head;
use serde_json::{json, Value};

use super::{CmdResult, EXIT_REFUSED};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object (ok, records, streams, head, first_bad) instead of text.
    #[arg(long)]
    json: bool,
}

/// The JSON of a head: position, hash and recorded-at instant.
pub fn head_json(h: &Head) -> Value {
    json!({
        "position": h.position,
        "hash": h.hash.to_string(),
        "recorded_at": h.recorded_at.map(|t| t.to_rfc3339()),
    })
}

/// Verifies the ledger; exit 1 and the first bad position when it does not verify.
///
/// # Errors
/// Not a ledger, or a storage failure.
pub fn run(data: &Path, args: Args) -> CmdResult {
    let report = verify_ledger(data)?;
    let code = if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    };
    if args.json {
        let v = json!({
            "ok": report.is_ok(),
            "records_checked": report.records_checked,
            "streams": report.streams,
            // The last sound record: the head when the ledger verifies.
            "head": head_json(&report.head),
            "first_bad": report.first_bad.as_ref().map(|b| json!({
                "position": b.position,
                "problem": b.problem.to_string(),
            })),
        });
        outln!("{v}");
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
