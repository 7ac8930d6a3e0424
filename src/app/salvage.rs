//! `salvage`: every record of a damaged ledger that still verifies, written
//! as an export, and exactly which positions are lost (docs/checkpoints.md,
//! *Salvage*). The records are found by `navigo_store_sled::salvage`, from
//! sled key by key and from sled's raw files; this writes them out and says
//! what was recovered.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use navigo_events_schema::Hash;
use navigo_merkle::{leaf_hash, Frontier};
use navigo_store_sled::salvage::{salvage as find_records, SalvageReport};
use serde::Serialize;

use super::export::{ExportHeader, ExportLine, EXPORT_FORMAT, EXPORT_FORMAT_VERSION};
use super::readonly::private_copy;

/// The name of the header of a salvage that lost something: the file is not
/// an export (its records are not the whole log), and says so.
pub const SALVAGE_FORMAT: &str = "navigo-ledger-salvage";
/// The version of that header.
pub const SALVAGE_FORMAT_VERSION: u32 = 1;

/// The first line of a salvage that lost something (one that lost nothing is
/// an export, its header [`ExportHeader`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalvageHeader {
    /// [`SALVAGE_FORMAT`].
    pub format: &'static str,
    /// [`SALVAGE_FORMAT_VERSION`].
    pub version: u32,
    /// The last position any of the ledger's files names.
    pub highest_known: u64,
    /// How many record lines follow.
    pub recovered: u64,
    /// The positions not recovered, as `[first, last]` ranges.
    pub lost: Vec<[u64; 2]>,
    /// Positions where two different records both verify (left out).
    pub conflicts: Vec<u64>,
    /// Positions whose record does not link to the recovered one before it.
    pub chain_breaks: Vec<u64>,
}

/// A head recovered: position and hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadSummary {
    /// Its position.
    pub position: u64,
    /// Its hash, hex.
    pub hash: String,
}

/// What sled could read, as the summary says it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SledSummary {
    /// Whether sled opened the (copied) database.
    pub opened: bool,
    /// Why it did not.
    pub error: Option<String>,
    /// Keys sled could not read or whose bytes did not verify: position and
    /// why.
    pub failed_keys: Vec<(u64, String)>,
}

/// The JSON summary `salvage` prints on stdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalvageSummary {
    /// Whether nothing is lost: every position up to the highest known one
    /// recovered, no conflict, an unbroken chain.
    pub complete: bool,
    /// Recovered records.
    pub recovered: u64,
    /// The last position any of the ledger's files names.
    pub highest_known: u64,
    /// The positions lost, as `[first, last]` ranges.
    pub lost: Vec<[u64; 2]>,
    /// How many positions are lost.
    pub lost_count: u64,
    /// Positions where two different records both verify.
    pub conflicts: Vec<u64>,
    /// Positions whose record does not link to the recovered one before it.
    pub chain_breaks: Vec<u64>,
    /// The last record recovered.
    pub head: Option<HeadSummary>,
    /// What sled could read.
    pub sled: SledSummary,
    /// The files of the data directory read byte by byte.
    pub files_scanned: Vec<String>,
}

/// Salvages the ledger in `data` (never written: sled opens a private copy,
/// the raw scan reads the files) and writes what verifies to `out`.
///
/// # Errors
/// The copy cannot be made, the directory cannot be listed, or `out` cannot be
/// written.
pub fn salvage(data: &Path, out: &mut impl Write) -> anyhow::Result<SalvageSummary> {
    let copy = private_copy(data)?;
    let report = find_records(data, Some(copy.place().data()))?;
    drop(copy);
    write_records(&report, out)?;
    Ok(summary(data, &report))
}

fn ranges(report: &SalvageReport) -> Vec<[u64; 2]> {
    report.lost.iter().map(|r| [*r.start(), *r.end()]).collect()
}

/// The header, then one export line per record. A salvage that lost nothing
/// is the export of the whole log, its root recomputed from the records.
fn write_records(report: &SalvageReport, out: &mut impl Write) -> anyhow::Result<()> {
    if report.is_complete() {
        let mut frontier = Frontier::from_hashes(0, &[])?;
        for r in &report.records {
            frontier.append(leaf_hash(&r.record.canonical));
        }
        let to = report.records.len() as u64;
        write_line(
            out,
            &ExportHeader {
                format: EXPORT_FORMAT.into(),
                version: EXPORT_FORMAT_VERSION,
                from: 1,
                to,
                size: to,
                root: frontier.root().to_string(),
                before: Vec::new(),
                prev_hash: Hash::GENESIS.to_string(),
            },
        )?;
    } else {
        write_line(
            out,
            &SalvageHeader {
                format: SALVAGE_FORMAT,
                version: SALVAGE_FORMAT_VERSION,
                highest_known: report.highest_known,
                recovered: report.records.len() as u64,
                lost: ranges(report),
                conflicts: report.conflicts.clone(),
                chain_breaks: report.chain_breaks.clone(),
            },
        )?;
    }
    for r in &report.records {
        let r = &r.record;
        write_line(
            out,
            &ExportLine {
                position: r.position,
                stream: r.stream.to_string(),
                sequence: r.stream_seq,
                hash: r.hash.to_string(),
                record: base64::engine::general_purpose::STANDARD.encode(&r.canonical),
            },
        )?;
    }
    Ok(())
}

fn summary(data: &Path, report: &SalvageReport) -> SalvageSummary {
    let relative = |p: &Path| {
        p.strip_prefix(data)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    SalvageSummary {
        complete: report.is_complete(),
        recovered: report.records.len() as u64,
        highest_known: report.highest_known,
        lost: ranges(report),
        lost_count: report.lost.iter().map(|r| r.end() - r.start() + 1).sum(),
        conflicts: report.conflicts.clone(),
        chain_breaks: report.chain_breaks.clone(),
        head: report.head().map(|(position, hash)| HeadSummary {
            position,
            hash: hash.to_string(),
        }),
        sled: SledSummary {
            opened: report.sled.open_error.is_none(),
            error: report.sled.open_error.clone(),
            failed_keys: report.sled.failed.clone(),
        },
        files_scanned: report.files_scanned.iter().map(|p| relative(p)).collect(),
    }
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}
