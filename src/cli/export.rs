//! `navigo-ledger export [--from P] [--to P] --out FILE`: the log as JSON
//! lines an auditor checks without the ledger (docs/checkpoints.md, *Export*).
//! Beside a running service, the service writes the same lines
//! (`GET /v1/export`) and they are kept under `--out` as a local export keeps
//! them.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::exit::CmdResult;
use super::out_file::OutFile;
use super::readonly::open_for_reading;
use super::remote::{self, RouteQuery};
use crate::app::export::{export, ExportHeader, ExportLine, ExportSummary};
use crate::app::ledger::open_store;
use crate::app::place::Place;
use crate::app::served::ServeRecord;

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
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let out = &args.out;
    let mut partial = OutFile::create(out, "export")?;
    if let Some(svc) = remote::service(data) {
        let summary = through_service(&svc, &args, &mut partial).await?;
        partial.persist()?;
        return print(out, &summary);
    }
    let readable = open_for_reading(data)?;
    let store = open_store(readable.place()).await?;
    let mut writer = BufWriter::new(partial.file());
    let written = export(&store, args.from, args.to, &mut writer).await;
    store.close().await?;
    let summary =
        written.map_err(|e| e.context(format!("nothing written to {}", out.display())))?;
    writer.flush()?;
    drop(writer);
    partial.persist()?;
    print(out, &summary)
}

/// Prints what an export wrote.
fn print(out: &Path, summary: &ExportSummary) -> CmdResult {
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

/// The export written by the service (`GET /v1/export`, the same lines the
/// local export writes), streamed into `partial`; its summary read back from
/// the lines: the header, how many records follow it and the last one's hash.
///
/// # Errors
/// What the service refuses, a transfer cut short, a record count that is not
/// the window's (nothing is then kept under `--out`).
async fn through_service(
    svc: &ServeRecord,
    args: &Args,
    partial: &mut OutFile,
) -> anyhow::Result<ExportSummary> {
    let mut query: RouteQuery = Vec::new();
    query.extend(args.from.map(|p| ("from", p.to_string())));
    query.extend(args.to.map(|p| ("to", p.to_string())));
    let mut lines = Lines::new(BufWriter::new(partial.file()));
    remote::get_into(svc, "/v1/export", &query, &mut lines)
        .await
        .with_context(|| format!("nothing written to {}", args.out.display()))?;
    lines.inner.flush()?;
    let header: ExportHeader =
        serde_json::from_slice(&lines.first).context("the export's header line")?;
    let records = lines.count.saturating_sub(1);
    let chain_head = if records == 0 {
        header.prev_hash.clone()
    } else {
        serde_json::from_slice::<ExportLine>(&lines.last)
            .context("the export's last line")?
            .hash
    };
    let expected = (header.to + 1).saturating_sub(header.from);
    if records != expected {
        anyhow::bail!(
            "the service sent {records} records for positions {} to {}: nothing written to {}",
            header.from,
            header.to,
            args.out.display()
        );
    }
    Ok(ExportSummary {
        header,
        records,
        chain_head,
    })
}

/// A writer that passes its bytes on and keeps the first and the last line
/// and the number of lines.
struct Lines<W> {
    inner: W,
    first: Vec<u8>,
    last: Vec<u8>,
    current: Vec<u8>,
    count: u64,
}

impl<W> Lines<W> {
    fn new(inner: W) -> Lines<W> {
        Lines {
            inner,
            first: Vec::new(),
            last: Vec::new(),
            current: Vec::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.inner.write_all(bytes)?;
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            self.current.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                self.count += 1;
                let line = std::mem::take(&mut self.current);
                if self.count == 1 {
                    self.first = line;
                } else {
                    self.last = line;
                }
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
