//! `navigo-ledger verify [--json] [--against CHECKPOINT --key PUBKEY]`:
//! recomputes every hash and the chain, and checks that the log extends a
//! checkpoint an auditor kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hyper::Method;
use navigo_events_schema::views::VerifyView;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::output::print_json_line;
use super::readonly::open_for_reading;
use super::remote;
use crate::app::against::{against, open_checkpoint};
use crate::app::place::Place;
use crate::app::verify::{verify, verify_view};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object (ok, records, streams, head, first_bad) instead of text.
    #[arg(long)]
    json: bool,
    /// A checkpoint you kept (its signed note, or `checkpoint --json`): the
    /// log must extend it, else the size, root or position that differs is
    /// named.
    #[arg(long, value_name = "CHECKPOINT_FILE", requires = "key")]
    against: Option<PathBuf>,
    /// The public key that signed the checkpoint (`key public`).
    #[arg(long, value_name = "PUBKEY_FILE", requires = "against")]
    key: Option<PathBuf>,
}

/// Verifies the ledger; exit 1 and the first bad position when it does not verify.
///
/// # Errors
/// Not a ledger, or a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        if args.against.is_some() {
            return Err(remote::not_through_service(
                &svc,
                "`verify --against`",
                "ask the service (POST /v1/proofs/against with an auditor's token), or stop it \
                 first",
            ));
        }
        let query = [("shape", "cli".to_owned())];
        let view: VerifyView = remote::job(&svc, Method::GET, "/v1/verify", &query).await?;
        return print(&view, args.json);
    }
    let readable = open_for_reading(data)?;
    let data = readable.place();
    if let (Some(file), Some(key)) = (&args.against, &args.key) {
        return run_against(data, file, key, args.json).await;
    }
    print(&verify_view(&verify(data).await?), args.json)
}

/// Prints a verification, as text or JSON: exit 1 when it failed.
///
/// # Errors
/// Stdout cannot be written.
fn print(report: &VerifyView, json: bool) -> CmdResult {
    let code = if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    };
    if json {
        print_json_line(report)?;
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

/// `verify --against`: exit 1 unless the log verifies and extends the
/// checkpoint.
async fn run_against(data: &Place, file: &Path, key: &Path, json: bool) -> CmdResult {
    let (checkpoint, public_key) = open_checkpoint(file, key)?;
    let view = against(data, &checkpoint, &public_key).await?;
    let code = if view.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    };
    if json {
        print_json_line(&view)?;
        return Ok(code);
    }
    match (&view.message, &view.verify.first_bad) {
        (None, None) => outln!(
            "ok: {} records verify and extend the checkpoint of {} ({} records, root {})",
            view.log_size,
            view.checkpoint_origin,
            view.checkpoint_size,
            view.checkpoint_root
        ),
        (Some(m), _) => outln!(
            "FAILED against the checkpoint ({} records, root {}) at position {}: {m}",
            view.checkpoint_size,
            view.checkpoint_root,
            view.position.unwrap_or_default()
        ),
        (None, Some(bad)) => outln!(
            "the log extends the checkpoint, but FAILED at position {}: {}",
            bad.position,
            bad.problem
        ),
    }
    Ok(code)
}
