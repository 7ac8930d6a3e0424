//! `navigo-verify`: checks what navigo-ledger gives an auditor, from the
//! files alone. Exit 0 with a short summary when valid, 1 with the first
//! problem when not (or when a file cannot be read).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use navigo_verifier::note::{self, Checkpoint, PublicKey};
use navigo_verifier::{bundle, export, proofs, Invalid};

/// Checks navigo-ledger's exports, checkpoints, proofs and dispute bundles
/// without the ledger.
#[derive(Debug, Parser)]
#[command(name = "navigo-verify")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// An `export` file; with a checkpoint, that its root is the export's.
    Export {
        file: PathBuf,
        /// A signed checkpoint the auditor kept (needs --key).
        #[arg(long, requires = "key")]
        checkpoint: Option<PathBuf>,
        /// The verifier key (`key public`'s line).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// A signed checkpoint.
    Checkpoint {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// An inclusion proof (`prove inclusion`) against a signed checkpoint.
    Inclusion {
        file: PathBuf,
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// A consistency proof (`prove consistency`) between two checkpoints.
    Consistency {
        file: PathBuf,
        #[arg(long)]
        old: PathBuf,
        #[arg(long)]
        new: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// A stream proof (`prove stream`).
    Stream {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// A dispute bundle (`bundle`), not its views (balance, calendar), which
    /// need the ledger's rules: `verify-bundle` recomputes those.
    Bundle {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(summary) => {
            println!("ok: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<String, Invalid> {
    match command {
        Command::Export {
            file,
            checkpoint,
            key,
        } => {
            let trusted = match (checkpoint, key) {
                (Some(c), Some(k)) => Some(open(&c, &key_of(&k)?)?),
                _ => None,
            };
            let s =
                export::check(&read(&file)?, trusted.as_ref()).map_err(|e| e.at(file.display()))?;
            let against = s
                .checkpoint_size
                .map(|n| format!(", the checkpoint of size {n} agrees"))
                .unwrap_or_default();
            Ok(format!(
                "export of positions {} to {}, chain head {}, root {}{against}",
                s.from,
                s.to,
                s.chain_head,
                b64(&s.root)
            ))
        }
        Command::Checkpoint { file, key } => {
            let c = open(&file, &key_of(&key)?)?;
            Ok(format!(
                "checkpoint of {} at size {}, root {}",
                c.origin,
                c.size,
                b64(&c.root)
            ))
        }
        Command::Inclusion {
            file,
            checkpoint,
            key,
        } => {
            let c = open(&checkpoint, &key_of(&key)?)?;
            let v: proofs::InclusionView = proofs::parse(&read(&file)?)?;
            proofs::check_inclusion_view(&v, &c).map_err(|e| e.at(file.display()))?;
            Ok(format!(
                "position {} is in the checkpoint's tree of {}",
                v.position, c.size
            ))
        }
        Command::Consistency {
            file,
            old,
            new,
            key,
        } => {
            let k = key_of(&key)?;
            let (old, new) = (open(&old, &k)?, open(&new, &k)?);
            let v: proofs::ConsistencyView = proofs::parse(&read(&file)?)?;
            proofs::check_consistency_view(&v, &old, &new).map_err(|e| e.at(file.display()))?;
            Ok(format!(
                "the tree of {} extends the tree of {}",
                new.size, old.size
            ))
        }
        Command::Stream { file, key } => {
            let v: proofs::StreamView = proofs::parse(&read(&file)?)?;
            let c =
                proofs::check_stream_view(&v, &key_of(&key)?).map_err(|e| e.at(file.display()))?;
            Ok(format!(
                "{} holds {} records as of the checkpoint of size {}",
                v.stream, v.version, c.size
            ))
        }
        Command::Bundle { file, key } => {
            let s =
                bundle::check(&read(&file)?, &key_of(&key)?).map_err(|e| e.at(file.display()))?;
            Ok(format!(
                "bundle of contract {} as known at {}: {} streams, {} records, checkpoint of \
                 size {} consistent with the latest of size {} (views not checked: they need \
                 the ledger's rules)",
                s.contract, s.known_at, s.streams, s.records, s.checkpoint_size, s.latest_size
            ))
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Invalid> {
    std::fs::read(path).map_err(|e| Invalid::new(format!("{}: {e}", path.display())))
}

fn key_of(path: &Path) -> Result<PublicKey, Invalid> {
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Invalid::new(format!("{}: not UTF-8", path.display())))?;
    PublicKey::parse(&text).map_err(|e| e.at(path.display()))
}

fn open(path: &Path, key: &PublicKey) -> Result<Checkpoint, Invalid> {
    note::open(&read(path)?, key).map_err(|e| e.at(path.display()))
}

fn b64(h: &[u8]) -> String {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    BASE64_STANDARD.encode(h)
}
