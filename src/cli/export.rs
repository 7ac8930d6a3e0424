//! `navigo-ledger export [--from P] [--to P] --out FILE`: the log as JSON
//! lines an auditor checks without the ledger (docs/checkpoints.md, *Export*).

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::CmdResult;
use super::out_file::OutFile;
use super::readonly::open_for_reading;
use crate::app::export::export;
use crate::app::ledger::open_store;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first position to export (default 1).
    #[arg(long, value_name = "POSITION")]
    from: Option<u64>,
    /// The last position to export (default: the log's last).
    #[arg(long, value_name = "POSITION")]
    to: Option<u64>,
    /// The file to write; it must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Writes the export to a temporary file beside `--out`, renamed to `--out`
/// only once every record verified and the root matched ([`OutFile`]).
///
/// # Errors
/// An existing or unwritable `--out`, a window outside the log (`BadInput`);
/// a record that does not verify (named by position; no file is left); not a
/// ledger; a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let out = &args.out;
    let mut partial = OutFile::create(out, "export")?;
    let readable = open_for_reading(data)?;
    let store = open_store(readable.path())?;
    let mut writer = BufWriter::new(partial.file());
    let written = export(&store.export_reader(), args.from, args.to, &mut writer);
    store.close().await?;
    let summary =
        written.map_err(|e| e.context(format!("nothing written to {}", out.display())))?;
    writer.flush()?;
    drop(writer);
    partial.persist()?;
    outln!(
        "exported {} records (positions {} to {}) to {}: tree of {} records, root {}; chain head {}",
        summary.records,
        summary.header.from,
        summary.header.to,
        out.display(),
        summary.header.size,
        summary.header.root,
        summary.chain_head
    );
    Ok(ExitCode::SUCCESS)
}
