//! `export`: the log written out in position order as JSON lines, with
//! everything an auditor needs to recompute the BLAKE3 chain and the RFC 6962
//! Merkle root from the file alone (docs/checkpoints.md, *Export*). Every
//! record is checked as it is written; the first that does not verify stops
//! the export, naming its position.

use std::io::Write;

use base64::Engine as _;
use navigo_merkle::{leaf_hash, Frontier};
use navigo_store::{EventStore, ExportedRecord, StoreError};
use navigo_store_sled::export::ExportReader;
use serde::{Deserialize, Serialize};

use super::error::BadInput;
use super::store::{AnyStore, Backend};

/// The name of the export format, the header's `format`.
pub const EXPORT_FORMAT: &str = "navigo-ledger-export";
/// The version of the export format this binary writes.
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// [`EXPORT_FORMAT_VERSION`].
    pub version: u32,
    /// The first position exported (1 for the whole log).
    pub from: u64,
    /// The last position exported (`from - 1` when none is).
    pub to: u64,
    /// The size of the tree whose root follows: `to`.
    pub size: u64,
    /// The Merkle root of the first `size` records, base64.
    pub root: String,
    /// The roots of the complete subtrees covering the records before
    /// `from`, largest first, base64 (one per one bit of `from - 1`): with
    /// them the root is recomputed from the exported records alone.
    pub before: Vec<String>,
    /// The hash of the record before `from` (64 zeros before position 1),
    /// hex: the first exported record's `prev_hash`.
    pub prev_hash: String,
}

/// One record line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLine {
    /// The record's position.
    pub position: u64,
    /// Its stream, `kind:uuid`.
    pub stream: String,
    /// Its sequence in the stream, from 1.
    pub sequence: u64,
    /// BLAKE3 of `record`, hex: the chain's link.
    pub hash: String,
    /// The canonical record JSON, base64 (standard alphabet, padded): the
    /// exact bytes the hash and the Merkle leaf cover.
    pub record: String,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// The header written.
    pub header: ExportHeader,
    /// How many record lines follow it.
    pub records: u64,
    /// The hash of the last record written (the header's `prev_hash` when
    /// none was): the chain head at `to`.
    pub chain_head: String,
}

/// The window `from..=to` of a log of `head` records: by default the whole
/// log.
///
/// # Errors
/// [`BadInput`] for position 0, a window beyond the head, or `from` after `to`.
pub fn window(from: Option<u64>, to: Option<u64>, head: u64) -> anyhow::Result<(u64, u64)> {
    let to = to.unwrap_or(head);
    let from = from.unwrap_or(1);
    if from == 0 {
        return Err(BadInput("--from 0: positions start at 1".into()).into());
    }
    if to > head {
        return Err(BadInput(format!("--to {to} is after the log's last position {head}")).into());
    }
    // An empty window is only that of an empty log (or of --to 0).
    if from > to && !(from == 1 && to == 0) {
        return Err(BadInput(format!("--from {from} is after --to {to}")).into());
    }
    Ok((from, to))
}

/// Writes the records `from..=to` of `log` (by default the whole log, through
/// the head the reader was taken at) as an export to `out`: the header line, then one line per record.
///
/// # Errors
/// [`BadInput`] for a window outside the log; [`StoreError::Corrupt`] naming
/// the first record that does not verify (what was written before it is
/// incomplete: the caller discards it); the stored tree's root not matching
/// the records; a write failure.
pub async fn export(
    store: &AnyStore,
    from: Option<u64>,
    to: Option<u64>,
    out: &mut impl Write,
) -> anyhow::Result<ExportSummary> {
    let s = match store.backend() {
        Backend::Sled(s) => return export_detached(&s.export_reader(), from, to, out),
        Backend::Postgres(s) => s,
    };
    let head = EventStore::head(store).await?.position;
    let (from, to) = window(from, to, head)?;
    let root = EventStore::tree_head(store, to).await?.root;
    let frontier = store.tree_frontier(from - 1).await?;
    let mut prev = s.hash_at(from - 1).await?;
    let header = export_header(from, to, &root, &frontier, prev);
    let mut lines = Lines::start(out, &header, frontier)?;
    let mut next = from;
    while next <= to {
        let chunk = s.export_chunk(prev, next, to).await?;
        for r in chunk {
            prev = r.hash;
            next = r.position + 1;
            lines.record(&r)?;
        }
    }
    lines.finish(header, to, &root)
}

/// [`export`] from a sled ledger's detached reader (through the head it was
/// taken at): what the service runs on a blocking thread, off the ledger's
/// lock, and what a local export of a sled ledger runs.
///
/// # Errors
/// As [`export`].
pub fn export_detached(
    log: &ExportReader,
    from: Option<u64>,
    to: Option<u64>,
    out: &mut impl Write,
) -> anyhow::Result<ExportSummary> {
    let (from, to) = window(from, to, log.head_position())?;
    let root = log.tree_head(to)?.root;
    let frontier = log.tree_frontier(from - 1)?;
    let records = log.export_records(from, to)?;
    let header = export_header(from, to, &root, &frontier, records.prev_hash());
    let mut lines = Lines::start(out, &header, frontier)?;
    for record in records {
        lines.record(&record?)?;
    }
    lines.finish(header, to, &root)
}

/// The header of the export of `from..=to`.
fn export_header(
    from: u64,
    to: u64,
    root: &navigo_merkle::Hash,
    frontier: &Frontier,
    prev_hash: navigo_events_schema::Hash,
) -> ExportHeader {
    ExportHeader {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_FORMAT_VERSION,
        from,
        to,
        size: to,
        root: root.to_string(),
        before: frontier.hashes().iter().map(ToString::to_string).collect(),
        prev_hash: prev_hash.to_string(),
    }
}

/// The record lines of an export being written, and what they add up to.
struct Lines<'a, W: Write> {
    out: &'a mut W,
    /// The Merkle frontier of the records so far (those before the window
    /// from the stored tree, then each one written).
    frontier: Frontier,
    /// The hash of the last record written.
    chain_head: String,
    written: u64,
}

impl<'a, W: Write> Lines<'a, W> {
    /// Writes the header and starts the record lines after it.
    fn start(out: &'a mut W, header: &ExportHeader, frontier: Frontier) -> anyhow::Result<Self> {
        write_line(out, header)?;
        Ok(Lines {
            out,
            frontier,
            chain_head: header.prev_hash.clone(),
            written: 0,
        })
    }

    /// Writes one checked record's line.
    fn record(&mut self, r: &ExportedRecord) -> anyhow::Result<()> {
        self.frontier.append(leaf_hash(&r.canonical));
        self.chain_head = r.hash.to_string();
        let line = ExportLine {
            position: r.position,
            stream: r.stream.to_string(),
            sequence: r.stream_seq,
            hash: self.chain_head.clone(),
            record: base64::engine::general_purpose::STANDARD.encode(&r.canonical),
        };
        write_line(self.out, &line)?;
        self.written += 1;
        Ok(())
    }

    /// Checks the root of what was written against the stored tree's and
    /// sums the export up.
    fn finish(
        self,
        header: ExportHeader,
        to: u64,
        root: &navigo_merkle::Hash,
    ) -> anyhow::Result<ExportSummary> {
        check_root(&self.frontier, to, root)?;
        Ok(ExportSummary {
            header,
            records: self.written,
            chain_head: self.chain_head,
        })
    }
}

/// The root recomputed from the records written must be the stored tree's,
/// the root the header states and checkpoints sign.
fn check_root(
    frontier: &Frontier,
    to: u64,
    stored: &navigo_merkle::Hash,
) -> Result<(), StoreError> {
    let computed = frontier.root();
    if computed == *stored {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        position: to,
        why: format!(
            "the records up to position {to} have Merkle root {computed}, the stored tree says \
             {stored}: the stored tree is damaged (run verify)"
        ),
    })
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}
