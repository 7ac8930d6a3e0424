//! `navigo-ledger bundle ID --known-at T` and `verify-bundle FILE --key
//! PUBKEY`: a dispute bundle of a contract or a person written from the
//! ledger, and checked offline.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::views::DisputeBundle;
use navigo_rules::calendar::paris_date;

use super::exit::CmdResult;
use super::output::print_json;
use super::readonly::open_for_reading;
use crate::app::error::BadInput;
use crate::app::ledger::open_store;
use crate::app::place::Place;
use crate::app::{bundle, keys};

/// Arguments of `bundle`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract, or the person (their bundle holds every contract they
    /// hold or pay as known at the instant).
    #[arg(value_name = "ID")]
    id: String,
    /// The instant the dispute is about: the views are read as known then
    /// (RFC 3339).
    #[arg(long, value_name = "INSTANT")]
    known_at: String,
}

/// Arguments of `verify-bundle`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle (`bundle`'s output).
    file: PathBuf,
    /// The public key that signed its checkpoints (`key public`).
    #[arg(long, value_name = "PUBKEY_FILE")]
    key: PathBuf,
    /// The effective date the views are read on (YYYY-MM-DD); default: the
    /// Europe/Paris date of the bundle's instant.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
}

/// Prints the bundle of a contract or a person as known at an instant.
///
/// # Errors
/// A malformed id or instant, an id neither a contract nor a person, no
/// checkpoint covering the instant, not a ledger, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let id: uuid::Uuid = args
        .id
        .parse()
        .map_err(|e| BadInput(format!("ID is not a UUID: {e}")))?;
    let known_at: DateTime<Utc> = DateTime::parse_from_rfc3339(&args.known_at)
        .map_err(|e| {
            BadInput(format!(
                "--known-at {:?}: not an RFC 3339 instant: {e}",
                args.known_at
            ))
        })?
        .into();
    let readable = open_for_reading(data)?;
    let store = open_store(readable.place()).await?;
    let made = bundle::make(&store, id, known_at).await;
    store.close().await?;
    print_json(&made?)?;
    Ok(ExitCode::SUCCESS)
}

/// Checks a bundle offline (the ledger is not opened) and prints the views
/// recomputed from it.
///
/// # Errors
/// An unreadable file or key; a bundle whose signature, proof or record does
/// not hold, named.
pub fn run_verify(args: VerifyArgs) -> CmdResult {
    let (_, public_key) = keys::verifier(&args.key)?;
    let text = std::fs::read(&args.file)
        .map_err(|e| BadInput(format!("the bundle {}: {e}", args.file.display())))?;
    let b: DisputeBundle = serde_json::from_slice(&text).map_err(|e| {
        BadInput(format!(
            "the bundle {}: not a dispute bundle: {e}",
            args.file.display()
        ))
    })?;
    let at = match &args.at {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| BadInput(format!("--at {s:?}: not a date (YYYY-MM-DD): {e}")))?,
        None => {
            let t: DateTime<Utc> = DateTime::parse_from_rfc3339(&b.known_at)
                .map_err(|e| BadInput(format!("the bundle's known_at: {e}")))?
                .into();
            paris_date(t)
        }
    };
    let checked = bundle::check(&b, &public_key, at)
        .map_err(|e| anyhow::anyhow!("the bundle {} is refused: {e:#}", args.file.display()))?;
    print_json(&checked)?;
    Ok(ExitCode::SUCCESS)
}
