//! `navigo-ledger prove inclusion|consistency|stream`: proofs an auditor
//! checks against a signed checkpoint, as JSON views.

use std::process::ExitCode;

use super::exit::CmdResult;
use super::output::print_json;
use super::readonly::open_for_reading;
use crate::app::ledger::open_store;
use crate::app::place::Place;
use crate::app::proofs;

/// Arguments of `prove`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Prove that a record is in the log's tree.
    ///
    /// The record at POSITION, its leaf and the hashes that lead from it to
    /// the root of the tree of the first --size records (the whole log by
    /// default; give the size of a checkpoint you hold).
    Inclusion {
        /// The record's position.
        position: u64,
        /// The tree's size.
        #[arg(long, value_name = "N")]
        size: Option<u64>,
    },
    /// Prove that the log of NEW records extends the log of OLD records.
    ///
    /// The hashes that show the first OLD records are unchanged in the tree
    /// of NEW (RFC 6962 consistency), with both roots.
    Consistency {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// Prove that a stream's history is complete as of the newest checkpoint.
    ///
    /// The stream's entry in the stream-head map the newest checkpoint signs
    /// (its version and last position) with the entry's proof, and its last
    /// record's inclusion in the checkpoint's tree.
    Stream {
        /// The stream: KIND:UUID, or the UUID of a contract or a person.
        id: String,
    },
}

/// Prints the proof asked.
///
/// # Errors
/// A position or size outside the log, an unknown stream, no checkpoint kept
/// (for `stream`), not a ledger, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let readable = open_for_reading(data)?;
    let store = open_store(readable.place()).await?;
    let printed = prove(&store, args).await;
    store.close().await?;
    printed?;
    Ok(ExitCode::SUCCESS)
}

async fn prove(store: &crate::app::store::AnyStore, args: Args) -> anyhow::Result<()> {
    match args {
        Args::Inclusion { position, size } => {
            print_json(&proofs::prove_inclusion(store, position, size).await?)
        }
        Args::Consistency { old, new } => {
            print_json(&proofs::prove_consistency(store, old, new).await?)
        }
        Args::Stream { id } => {
            let stream = proofs::resolve_stream(store, &id).await?;
            print_json(&proofs::prove_stream(store, stream).await?)
        }
    }
}
