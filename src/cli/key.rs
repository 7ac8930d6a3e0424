//! `navigo-ledger key create|public`: the key that signs checkpoints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::CmdResult;
use super::output::print_json_line;
use crate::app::keys::{self, KEY_NAME_DEFAULT};
use crate::app::proofs::key_created_view;

/// Arguments of `key`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Create the key that signs checkpoints.
    ///
    /// Writes a new Ed25519 private key (signed-note format) to --key-file,
    /// readable by its owner only, and prints its public half. An existing
    /// file is never overwritten, and a file inside --data is refused (the
    /// data directory is what auditors receive copies of).
    Create {
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The key's name, which its signatures and verifier key carry.
        #[arg(long, default_value = KEY_NAME_DEFAULT)]
        name: String,
        /// One JSON object (key_file, name, public_key) instead of the key line.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key that checks checkpoints.
    ///
    /// The verifier key of the private key in --key-file, in the signed-note
    /// verifier format (name+id+key), one line: what auditors pass to
    /// `verify --against ... --key`.
    Public {
        /// The private key's file.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// An existing key file, a file inside --data, a malformed name or key, I/O.
pub fn run(data: &Path, args: Args) -> CmdResult {
    match args {
        Args::Create {
            key_file,
            name,
            json,
        } => {
            let created = keys::create(data, &key_file, &name)?;
            if json {
                print_json_line(&key_created_view(&created))?;
            } else {
                outln!("{}", created.public_key);
            }
        }
        Args::Public { key_file } => outln!("{}", keys::public(&key_file)?),
    }
    Ok(ExitCode::SUCCESS)
}
