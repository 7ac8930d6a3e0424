//! An `export` file (docs/checkpoints.md, *Export*): a header line, then one
//! line per record, each a compact JSON object ending in a line feed.

use std::collections::BTreeMap;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::Deserialize;

use crate::instant::{rfc3339, Instant};
use crate::note::{hash_b64, Checkpoint};
use crate::record::{self, GENESIS};
use crate::tree::{leaf_hash, Frontier, Hash};
use crate::Invalid;

/// The header's `format`.
pub const FORMAT: &str = "navigo-ledger-export";
/// The only `version` this verifier reads.
pub const VERSION: u64 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u64,
    from: u64,
    to: u64,
    size: u64,
    root: String,
    before: Vec<String>,
    prev_hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    position: u64,
    stream: String,
    sequence: u64,
    hash: String,
    record: String,
}

/// What a valid export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub from: u64,
    pub to: u64,
    pub root: Hash,
    /// The hash of record `to`: the chain head `verify` prints.
    pub chain_head: String,
    /// The checkpoint's size when one was checked.
    pub checkpoint_size: Option<u64>,
}

/// Checks an export file, and, given a checkpoint the auditor trusts, that
/// its root is that of the export's records: the whole export's root when
/// the sizes are equal, a prefix's root when the checkpoint is smaller (the
/// format allows it only when the checkpoint's size is at least `from − 1`:
/// a smaller tree's root cannot be rebuilt from the subtrees of `before`).
///
/// # Errors
/// The first problem, naming the line (1 is the header) and field.
pub fn check(file: &[u8], checkpoint: Option<&Checkpoint>) -> Result<Summary, Invalid> {
    let text = std::str::from_utf8(file)
        .map_err(|e| Invalid::new(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err(Invalid::new("the file does not end with a line feed"));
    };
    let mut lines = body.split('\n');
    let header = lines.next().unwrap_or_default();
    let header: Header =
        serde_json::from_str(header).map_err(|e| Invalid::new(format!("line 1 (header): {e}")))?;
    let (mut frontier, mut prev) = check_header(&header).map_err(|e| e.at("line 1 (header)"))?;
    let count = header.to - (header.from - 1);
    // A checkpoint of size m is checked once the frontier covers m leaves.
    let target = checkpoint.map(|c| c.size);
    if let Some(m) = target {
        check_target(m, &header)?;
    }
    let mut checked = None;
    let mut check_at = |f: &Frontier| {
        if let (Some(c), Some(m)) = (checkpoint, target) {
            if f.size() == m {
                checked = Some(f.root() == c.root);
            }
        }
    };
    check_at(&frontier);
    let mut seqs: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_recorded: Option<Instant> = None;
    let mut n = 0u64;
    for (i, line) in lines.enumerate() {
        let number = i + 2;
        let position = header.from.saturating_add(n);
        if n == count {
            return Err(Invalid::new(format!(
                "line {number}: a line after position {} (`to`)",
                header.to
            )));
        }
        let (leaf, hash) = check_line(line, position, &prev, header.from, &mut seqs)
            .and_then(|(leaf, hash, at)| {
                check_recorded_at(at, last_recorded)?;
                last_recorded = Some(at);
                Ok((leaf, hash))
            })
            .map_err(|e| e.at(format!("line {number} (position {position})")))?;
        frontier.append(leaf);
        check_at(&frontier);
        prev = hash;
        n += 1;
    }
    if n != count {
        return Err(Invalid::new(format!(
            "line {}: the file ends at position {}, the header says `to` is {}",
            n + 2,
            header.from.saturating_add(n),
            header.to
        )));
    }
    let root = frontier.root();
    if hash_b64(&header.root) != Some(root) {
        return Err(Invalid::new(format!(
            "line 1 (header), field `root`: the records give another root for size {}",
            header.size
        )));
    }
    if checked == Some(false) {
        let m = target.unwrap_or_default();
        return Err(Invalid::new(format!(
            "the checkpoint's root for size {m} is not that of the export's first {m} records"
        )));
    }
    Ok(Summary {
        from: header.from,
        to: header.to,
        root,
        chain_head: prev,
        checkpoint_size: target,
    })
}

/// The header's own consistency; the frontier of the records before `from`
/// and the hash the first record must link to.
fn check_header(h: &Header) -> Result<(Frontier, String), Invalid> {
    let field = |name: &str, why: String| Invalid::new(format!("field `{name}`: {why}"));
    if h.format != FORMAT {
        return Err(field("format", format!("{:?} is not {FORMAT:?}", h.format)));
    }
    if h.version != VERSION {
        return Err(field("version", format!("{} is not {VERSION}", h.version)));
    }
    if h.from == 0 {
        return Err(field("from", "positions start at 1".into()));
    }
    if h.to < h.from - 1 {
        return Err(field("to", format!("{} is before `from` {}", h.to, h.from)));
    }
    if h.size != h.to {
        return Err(field("size", format!("{} is not `to` {}", h.size, h.to)));
    }
    if hash_b64(&h.root).is_none() {
        return Err(field("root", "not base64 of 32 bytes".into()));
    }
    let mut before = Vec::with_capacity(h.before.len());
    for (i, b) in h.before.iter().enumerate() {
        before.push(
            hash_b64(b)
                .ok_or_else(|| field("before", format!("entry {i} is not base64 of 32 bytes")))?,
        );
    }
    let frontier =
        Frontier::from_subtrees(h.from - 1, &before).map_err(|e| field("before", e.0))?;
    let genesis = h.from == 1;
    if !record::is_hex_hash(&h.prev_hash) || (genesis && h.prev_hash != GENESIS) {
        return Err(field(
            "prev_hash",
            "not 64 lowercase hex digits (64 zeros when `from` is 1)".into(),
        ));
    }
    Ok((frontier, h.prev_hash.clone()))
}

/// Whether the format lets a checkpoint of size `m` be checked against this
/// export.
fn check_target(m: u64, h: &Header) -> Result<(), Invalid> {
    if m > h.to {
        return Err(Invalid::new(format!(
            "the checkpoint covers {m} records, the export stops at {}: the log the export \
             was taken from is shorter than the checkpoint, or the export is a window",
            h.to
        )));
    }
    if m < h.from - 1 {
        return Err(Invalid::new(format!(
            "the checkpoint's size {m} is before the export's window (from {}): its root \
             cannot be rebuilt from `before`; export from position {} or earlier",
            h.from,
            m + 1
        )));
    }
    Ok(())
}

/// The record's instant never comes before the one of the record before it
/// (docs/storage-format.md, *What `verify` checks*).
fn check_recorded_at(at: Instant, before: Option<Instant>) -> Result<(), Invalid> {
    match before {
        Some(b) if at < b => Err(Invalid::new(
            "the record's `recorded_at` is before the record's before it",
        )),
        _ => Ok(()),
    }
}

/// One record line: its fields against its record; the leaf, the hash and
/// the instant it was recorded at.
fn check_line(
    line: &str,
    position: u64,
    prev: &str,
    from: u64,
    seqs: &mut BTreeMap<String, u64>,
) -> Result<(Hash, String, Instant), Invalid> {
    let l: Line = serde_json::from_str(line).map_err(|e| Invalid::new(e.to_string()))?;
    if l.position != position {
        return Err(Invalid::new(format!(
            "field `position`: {} where {position} follows",
            l.position
        )));
    }
    let bytes = BASE64_STANDARD
        .decode(&l.record)
        .map_err(|e| Invalid::new(format!("field `record`: not base64 ({e})")))?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if l.hash != hash {
        return Err(Invalid::new(
            "field `hash`: not the BLAKE3 of `record` in 64 lowercase hex digits",
        ));
    }
    let r = record::head(&bytes).map_err(|e| e.at("field `record`"))?;
    if r.position != l.position || r.stream != l.stream || r.stream_seq != l.sequence {
        return Err(Invalid::new(format!(
            "the record is {} seq {} at position {}, the line says {} seq {} at {}",
            r.stream, r.stream_seq, r.position, l.stream, l.sequence, l.position
        )));
    }
    if r.prev_hash != prev {
        return Err(Invalid::new(
            "the record's `prev_hash` is not the hash of the record before",
        ));
    }
    check_sequence(&l, from, seqs)?;
    let at = rfc3339(r.recorded_at.as_bytes()).ok_or_else(|| {
        Invalid::new("field `record`: its `recorded_at` is not an RFC 3339 instant")
    })?;
    Ok((leaf_hash(&bytes), hash, at))
}

/// A stream's sequences run from 1 without gap: within the file, each is the
/// one before plus one; from the log's start, the first is 1.
fn check_sequence(l: &Line, from: u64, seqs: &mut BTreeMap<String, u64>) -> Result<(), Invalid> {
    let expected = match seqs.get(&l.stream) {
        Some(last) => Some(last.saturating_add(1)),
        None if from == 1 => Some(1),
        None => None,
    };
    if expected.is_some_and(|e| e != l.sequence) || l.sequence == 0 {
        return Err(Invalid::new(format!(
            "field `sequence`: {} of {} does not follow {}",
            l.sequence,
            l.stream,
            seqs.get(&l.stream).copied().unwrap_or(0)
        )));
    }
    seqs.insert(l.stream.clone(), l.sequence);
    Ok(())
}
