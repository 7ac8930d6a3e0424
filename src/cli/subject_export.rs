//! `navigo-ledger subject-export PERSON --out FILE`: everything the ledger
//! holds about a person, in readable JSON (an access request): their identity,
//! the events of their stream and of every contract they hold, pay or paid,
//! or are named in a fraud of, the views of those contracts, their bans and
//! refunds, and the login of their personal-space account (never its password
//! hash, sessions or tokens). The layout is the `subject-export` view
//! (`events-schema/schemas/views/subject-export.json`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use navigo_store::Clock;

use super::as_of::parse_id;
use super::exit::CmdResult;
use super::out_file::OutFile;
use crate::app::auth;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_ledger;
use crate::app::personal::{account_login, subject_export, SubjectError};
use crate::app::place::Place;

/// Arguments of `subject-export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's id (UUID).
    #[arg(value_name = "PERSON")]
    person: String,
    /// The file to write (JSON, readable by the person's own eyes); it must not
    /// exist, and it is created readable by its owner only.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Writes the export under `--out` (only once whole) and prints what it holds,
/// in counts: the file is the only place the person's data goes.
///
/// # Errors
/// A malformed id, an unknown person, an existing `--out` (bad input); a
/// ledger or auth file that cannot be read.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let person = parse_id(&args.person).map_err(|_| BadInput("PERSON is not a UUID".to_owned()))?;
    let mut out = OutFile::create(&args.out, "subject-export")?;
    let login = account_login(&auth::path_in(data), person)?;
    let mut ledger = open_ledger(data, 0).await?;
    let export = subject_export(&mut ledger, person, SystemClock.now(), login).await;
    ledger.close().await?.close().await?;
    let export = match export {
        Ok(e) => e,
        Err(SubjectError::UnknownPerson(p)) => {
            return Err(BadInput(format!("no person {p} in the ledger")).into())
        }
        Err(e) => return Err(e.into()),
    };
    serde_json::to_writer_pretty(&mut *out.file(), &export)?;
    writeln!(out.file())?;
    out.persist()?;
    outln!(
        "subject export of person {person} written to {}: {} events, {} contracts, {} ban windows, {} refunds, account {}",
        args.out.display(),
        export.events.len(),
        export.contracts.len(),
        export.bans.windows.len(),
        export.refunds.refunds.len(),
        if export.account.is_some() { "yes" } else { "none" }
    );
    Ok(ExitCode::SUCCESS)
}
