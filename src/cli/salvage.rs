//! `navigo-ledger salvage --out FILE`: every record of a damaged ledger that
//! still verifies, written as an export, and exactly what is lost
//! (docs/checkpoints.md, *Salvage*).

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::out_file::OutFile;
use crate::app::error::BadInput;
use crate::app::place::Place;
use crate::app::salvage::{salvage, SalvageSummary};

/// Arguments of `salvage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to write; it must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Writes what verifies to a temporary file beside `--out`, renamed to
/// `--out` once written; prints the report on stderr and its JSON summary on
/// stdout. Exit 0 when nothing is lost, 1 when something is (the file is
/// written all the same).
///
/// # Errors
/// An existing or unwritable `--out`, or `--data` not a directory
/// ([`BadInput`]); the private copy cannot be made.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let out = &args.out;
    let data = data.sled_only(
        "salvage",
        "PostgreSQL keeps its own write-ahead log and backups; run verify, and export what \
         verifies",
    )?;
    if !data.is_dir() {
        return Err(BadInput(format!("--data {} is not a directory", data.display())).into());
    }
    let mut partial = OutFile::create(out, "salvage")?;
    let mut writer = BufWriter::new(partial.file());
    let summary = salvage(data, &mut writer)?;
    writer.flush()?;
    drop(writer);
    partial.persist()?;
    report(&summary, out);
    outln!("{}", serde_json::to_string(&summary)?);
    Ok(if summary.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}

/// The report on stderr, for a person.
fn report(s: &SalvageSummary, out: &Path) {
    match &s.sled.error {
        None => eprintln!("sled opened a private copy; every record key was read one by one"),
        Some(e) => eprintln!(
            "sled could not open a private copy ({e}); records were found in the raw files only"
        ),
    }
    eprintln!(
        "recovered {} records of the {} the files name, written to {}",
        s.recovered,
        s.highest_known,
        out.display()
    );
    for [a, b] in &s.lost {
        if a == b {
            eprintln!("lost: position {a}");
        } else {
            eprintln!("lost: positions {a} to {b}");
        }
    }
    for p in &s.conflicts {
        eprintln!("conflict: two different records verify at position {p}; both left out");
    }
    for p in &s.chain_breaks {
        eprintln!("chain break: the record at {p} does not link to the record before it");
    }
    match &s.head {
        Some(h) => eprintln!("head recovered: position {}, hash {}", h.position, h.hash),
        None => eprintln!("no record recovered"),
    }
    if s.complete {
        eprintln!("nothing is lost");
    }
}
