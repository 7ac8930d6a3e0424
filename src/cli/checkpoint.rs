//! `navigo-ledger checkpoint --key-file FILE | --list`: signs and keeps a
//! checkpoint of the log, or lists those kept.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::CmdResult;
use super::output::print_json;
use crate::app::ledger::open_store;
use crate::app::place::Place;
use crate::app::{keys, proofs};

/// Arguments of `checkpoint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The private key that signs it (`key create`).
    #[arg(long, value_name = "FILE", required_unless_present = "list")]
    key_file: Option<PathBuf>,
    /// List every checkpoint kept instead of issuing one.
    #[arg(long, conflicts_with = "key_file")]
    list: bool,
    /// The checkpoint view (or the list) as JSON instead of the signed note.
    #[arg(long)]
    json: bool,
}

/// Issues a checkpoint, or lists them.
///
/// # Errors
/// A missing or malformed key, not a ledger, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let signer = match &args.key_file {
        Some(f) => Some(keys::signer(f)?),
        None => None,
    };
    let store = open_store(data).await?;
    let result = match &signer {
        Some(signer) => proofs::issue(&store, signer)
            .await
            .map(|c| (vec![c], false)),
        None => proofs::list(&store).await.map(|l| (l.checkpoints, true)),
    };
    store.close().await?;
    let (checkpoints, listed) = result?;
    if args.json && listed {
        print_json(&navigo_events_schema::views::CheckpointList { checkpoints })?;
    } else if args.json {
        for c in &checkpoints {
            print_json(c)?;
        }
    } else {
        let mut out = std::io::stdout().lock();
        for c in &checkpoints {
            if listed {
                writeln!(out, "# checkpoint {}", c.number)?;
            }
            out.write_all(c.signed_note.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
