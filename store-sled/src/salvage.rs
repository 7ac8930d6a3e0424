//! Salvage: every record of a damaged ledger that still verifies, from two
//! sources, and exactly which positions are lost.
//!
//! - **sled**, when it opens: every `L` key read one by one, so that a range
//!   sled cannot read costs the positions in it and no others;
//! - **the raw files** of the sled directory, always: sled keeps a stored
//!   record's bytes contiguous in its segments (`db`) and blob files
//!   (`blobs/N`), so a record is found by its shape alone — a 32-byte hash,
//!   then codec 1 and a zstd frame (format 2), or a JSON object, after codec 0
//!   (format 2) or right after the hash (format 1) — and kept only when the
//!   canonical JSON it gives back hashes to that hash. No sled structure is
//!   trusted: a damaged page table, segment header or configuration costs
//!   nothing the raw bytes still hold.
//!
//! A record found several times (sled rewrites segments, and both sources find
//! the same record) counts once; two different records that both verify at one
//! position are a conflict, and neither is kept: which one the ledger held is
//! not something the files can tell.
//!
//! Nothing here writes: the raw scan only reads, and sled is opened on a
//! directory the caller gives, which must be a private copy (sled's recovery
//! rewrites the tail of its log, which on a damaged directory destroys what the
//! raw scan could have found).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{decode_record, Hash};

use crate::export::ExportedRecord;
use crate::format::Format;
use crate::frame::{self, CODEC_RAW, CODEC_ZSTD_DICT_1};
use crate::guard;
use crate::keys;
use crate::read::check_hash;

/// The four bytes every zstd frame starts with (RFC 8878, 3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Every canonical record JSON starts with these bytes (its first field is
/// `position`, `docs/storage-format.md`).
const RECORD_JSON_START: &[u8] = b"{\"position\":";

/// One recovered record: what an export line holds, and the hash it links to.
#[derive(Debug, Clone, PartialEq)]
pub struct SalvagedRecord {
    /// The record as an export writes it.
    pub record: ExportedRecord,
    /// Its `prev_hash`: the hash of the record before it in the chain.
    pub prev_hash: Hash,
}

/// What sled could do with the copy it was given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SledRead {
    /// Why sled could not open the copy (`None`: it opened).
    pub open_error: Option<String>,
    /// The last `L` key sled lists, when it could list one.
    pub last_key: Option<u64>,
    /// Positions whose key sled could not read, or whose stored bytes did not
    /// verify, with what went wrong.
    pub failed: Vec<(u64, String)>,
}

/// What a salvage recovered and what it could not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SalvageReport {
    /// Every recovered record, in position order.
    pub records: Vec<SalvagedRecord>,
    /// The last position any source names: what the log held at least.
    pub highest_known: u64,
    /// The positions from 1 to `highest_known` not recovered, as ranges.
    pub lost: Vec<RangeInclusive<u64>>,
    /// Positions where two different records both verify (left out, and
    /// counted in `lost`).
    pub conflicts: Vec<u64>,
    /// Positions whose record does not link to the recovered record just
    /// before it (or, at position 1, to the genesis hash).
    pub chain_breaks: Vec<u64>,
    /// What sled could read.
    pub sled: SledRead,
    /// The files the raw scan read.
    pub files_scanned: Vec<PathBuf>,
    /// Records the raw scan found (copies of one record counted each time).
    pub raw_hits: u64,
}

impl SalvageReport {
    /// Whether every position up to the highest known was recovered, with no
    /// conflict and no break in the chain.
    pub fn is_complete(&self) -> bool {
        self.lost.is_empty() && self.chain_breaks.is_empty()
    }

    /// The last recovered record: its position and hash.
    pub fn head(&self) -> Option<(u64, Hash)> {
        self.records
            .last()
            .map(|r| (r.record.position, r.record.hash))
    }
}

/// The verified records found, by position, then by hash (copies of one record
/// fall on one entry).
type Found = BTreeMap<u64, BTreeMap<[u8; HASH_LEN], SalvagedRecord>>;

/// Salvages the ledger whose files are in `files` (only read), opening sled on
/// `sled_copy` (a private copy of it, which sled may rewrite) when given.
///
/// # Errors
/// `files` cannot be listed; a file that cannot be read is skipped and said in
/// [`SalvageReport::files_scanned`] by its absence.
pub fn salvage(files: &Path, sled_copy: Option<&Path>) -> std::io::Result<SalvageReport> {
    salvage_in_windows(files, sled_copy, ScanWindow::DEFAULT)
}

/// [`salvage`], the raw scan reading files in `window`s (the tests use small
/// ones, so that records straddle their boundaries).
///
/// # Errors
/// As [`salvage`].
pub fn salvage_in_windows(
    files: &Path,
    sled_copy: Option<&Path>,
    window: ScanWindow,
) -> std::io::Result<SalvageReport> {
    let mut found = Found::new();
    let mut report = SalvageReport::default();
    for file in sled_files(files)? {
        if let Ok(hits) = scan_file(&file, window, &mut found) {
            report.raw_hits += hits;
            report.files_scanned.push(file);
        }
    }
    let raw_max = found.keys().next_back().copied().unwrap_or(0);
    if let Some(copy) = sled_copy {
        report.sled = read_with_sled(copy, raw_max, &mut found);
    } else {
        report.sled.open_error = Some("no copy to open sled on".into());
    }
    report.highest_known = raw_max
        .max(report.sled.last_key.unwrap_or(0))
        .max(found.keys().next_back().copied().unwrap_or(0));
    settle(found, &mut report);
    Ok(report)
}

/// Every regular file under `dir` (recursively) but the marker file and the
/// copy set aside before a recovery, in name order: sled's `db`, `conf`,
/// `blobs/N` and snapshots.
fn sled_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        match e.file_type() {
            // The copy an open made before sled's recovery is a ledger of its
            // own, salvaged by naming it: mixing its records with these would
            // make every record changed since a conflict.
            Ok(t) if t.is_dir() && !guard::is_copy_aside(&e.file_name()) => {
                out.extend(sled_files(&path)?)
            }
            Ok(t) if t.is_file() && e.file_name() != keys::MARKER_FILE => out.push(path),
            _ => {}
        }
    }
    Ok(out)
}

/// The record (`hash ‖ canonical JSON`), checked: its hash, its decoding, a
/// position from 1.
fn verified(record: &[u8]) -> Option<SalvagedRecord> {
    check_hash(0, record).ok()?;
    let env = decode_record(record).ok()?;
    if env.position == 0 {
        return None;
    }
    Some(SalvagedRecord {
        record: ExportedRecord {
            position: env.position,
            stream: env.stream,
            stream_seq: env.stream_seq,
            hash: env.hash,
            canonical: record.get(HASH_LEN..)?.to_vec(),
        },
        prev_hash: env.prev_hash,
    })
}

fn keep(found: &mut Found, r: SalvagedRecord) {
    found
        .entry(r.record.position)
        .or_default()
        .entry(r.record.hash.0)
        .or_insert(r);
}

/// How much of a file one window of the raw scan starts records in: a file
/// (sled's `db` may hold gigabytes) is read a window at a time.
pub const SCAN_STEP_BYTES: u64 = 64 * 1024 * 1024;

/// How the raw scan reads a file: windows in which records start, each read
/// with the bytes after it that a record starting in it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanWindow {
    /// Bytes in which records start.
    pub step_bytes: u64,
    /// Bytes read after them.
    pub after_bytes: u64,
}

impl ScanWindow {
    /// The windows [`salvage`] reads: [`SCAN_STEP_BYTES`], and more after
    /// them than any stored record.
    pub const DEFAULT: ScanWindow = ScanWindow {
        step_bytes: SCAN_STEP_BYTES,
        after_bytes: SCAN_AFTER_BYTES,
    };
}

/// Bytes read before a window: the hash and codec before a record's body.
const SCAN_BEFORE_BYTES: u64 = 64;

/// Bytes read after a window, so that a record starting in it is read whole:
/// more than any stored record (its body at most [`frame::CANONICAL_BYTES_MAX`]
/// and a zstd frame's few bytes of header and block headers).
const SCAN_AFTER_BYTES: u64 = frame::CANONICAL_BYTES_MAX as u64 + 1024 * 1024;

/// Finds every verifying record in the file at `path`, reading it in
/// `window`s; returns how many it found.
fn scan_file(path: &Path, window: ScanWindow, found: &mut Found) -> std::io::Result<u64> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let (mut base, mut hits, mut buf) = (0u64, 0, Vec::new());
    while base < len {
        let lo = base.saturating_sub(SCAN_BEFORE_BYTES);
        let hi = base
            .saturating_add(window.step_bytes)
            .saturating_add(window.after_bytes)
            .min(len);
        buf.clear();
        file.seek(SeekFrom::Start(lo))?;
        (&mut file).take(hi - lo).read_to_end(&mut buf)?;
        let from = usize::try_from(base - lo).unwrap_or(usize::MAX);
        let end = base.saturating_add(window.step_bytes).min(hi);
        let to = usize::try_from(end - lo).unwrap_or(usize::MAX);
        hits += scan(&buf, from..to, found);
        base = end;
    }
    Ok(hits)
}

/// Finds every verifying record of `bytes` whose body starts in `starts`;
/// returns how many it found.
fn scan(bytes: &[u8], starts: std::ops::Range<usize>, found: &mut Found) -> u64 {
    let mut hits = 0;
    let anchors = |needle: &[u8]| {
        memchr::memmem::find_iter(bytes, needle)
            .filter(|at| starts.contains(at))
            .collect::<Vec<_>>()
    };
    for at in anchors(&ZSTD_MAGIC) {
        if let Some(r) = compressed_record_at(bytes, at) {
            keep(found, r);
            hits += 1;
        }
    }
    for at in anchors(RECORD_JSON_START) {
        for r in json_records_at(bytes, at) {
            keep(found, r);
            hits += 1;
        }
    }
    hits
}

/// A format-2 record whose zstd frame starts at `at`: the codec byte before
/// it is 1 and the hash before that.
fn compressed_record_at(bytes: &[u8], at: usize) -> Option<SalvagedRecord> {
    let start = at.checked_sub(HASH_LEN + 1)?;
    if bytes[at - 1] != CODEC_ZSTD_DICT_1 {
        return None;
    }
    let len = zstd::zstd_safe::find_frame_compressed_size(&bytes[at..]).ok()?;
    let stored = bytes.get(start..at.checked_add(len)?)?;
    let record = frame::unframe(Format::V2, stored).ok()?;
    verified(&record)
}

/// The records whose canonical JSON starts at `at`: after a hash (format 1)
/// or after a hash and codec 0 (format 2). The JSON's end is where serde_json's
/// streaming parser finishes its first value.
fn json_records_at(bytes: &[u8], at: usize) -> Vec<SalvagedRecord> {
    let mut stream =
        serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<serde_json::Value>();
    let end = match stream.next() {
        Some(Ok(_)) => at + stream.byte_offset(),
        _ => return Vec::new(),
    };
    let json = &bytes[at..end];
    let mut out = Vec::new();
    let mut try_hash = |hash_at: Option<usize>| {
        let Some(h) = hash_at.and_then(|h| bytes.get(h..h + HASH_LEN)) else {
            return;
        };
        let mut record = Vec::with_capacity(HASH_LEN + json.len());
        record.extend_from_slice(h);
        record.extend_from_slice(json);
        out.extend(verified(&record));
    };
    try_hash(at.checked_sub(HASH_LEN));
    if at > HASH_LEN && bytes[at - 1] == CODEC_RAW {
        try_hash(at.checked_sub(HASH_LEN + 1));
    }
    out
}

/// The format a directory's marker names, else format 4 (whose records are
/// format 2's, in the same segments; salvage reads records only) then format 1 (sled
/// refuses a segment size other than the one it was created with, so the
/// wrong one fails to open rather than misreading).
fn formats_to_try(dir: &Path) -> Vec<Format> {
    match crate::format::read_marker(dir) {
        Some(Ok(f)) => vec![f],
        _ => vec![Format::V4, Format::V1],
    }
}

/// Reads every `L` key of the sled database in `copy` one by one, up to the
/// last key sled lists or `raw_max`, whichever is higher. sled panicking on a
/// damaged file counts as sled failing there.
fn read_with_sled(copy: &Path, raw_max: u64, found: &mut Found) -> SledRead {
    let mut out = SledRead::default();
    let mut errors = Vec::new();
    let opened = formats_to_try(copy).into_iter().find_map(|format| {
        let open = catch_unwind(AssertUnwindSafe(|| {
            let db = format.sled_config(copy).open()?;
            let tree = db.open_tree(keys::TREE_NAME)?;
            Ok::<_, sled::Error>((db, tree))
        }));
        match open {
            Ok(Ok(t)) => Some((format, t)),
            Ok(Err(e)) => {
                errors.push(crate::batch::describe(&e));
                None
            }
            Err(_) => {
                errors.push("sled panicked while opening the database".into());
                None
            }
        }
    });
    let Some((format, (_db, tree))) = opened else {
        out.open_error = Some(errors.join("; "));
        return out;
    };
    out.last_key = catch_unwind(AssertUnwindSafe(|| {
        tree.scan_prefix([keys::LOG])
            .next_back()
            .and_then(Result::ok)
            .and_then(|(k, _)| keys::log_key_position(&k))
    }))
    .ok()
    .flatten();
    for position in 1..=out.last_key.unwrap_or(0).max(raw_max) {
        match read_key(&tree, format, position) {
            Ok(r) => keep(found, r),
            Err(why) => out.failed.push((position, why)),
        }
    }
    out
}

/// The record sled holds under `position`, verified.
fn read_key(tree: &sled::Tree, format: Format, position: u64) -> Result<SalvagedRecord, String> {
    let got = catch_unwind(AssertUnwindSafe(|| tree.get(keys::log_key(position))))
        .map_err(|_| "sled panicked reading its key".to_string())?;
    let stored = got
        .map_err(|e| crate::batch::describe(&e))?
        .ok_or("no such key")?;
    let record = frame::unframe(format, &stored).map_err(|e| format!("undecodable: {e}"))?;
    let r = verified(&record).ok_or("its bytes do not verify")?;
    if r.record.position != position {
        return Err(format!("the record says position {}", r.record.position));
    }
    Ok(r)
}

/// Turns what was found into the report: one record per position, conflicts
/// and lost ranges, chain breaks.
fn settle(found: Found, report: &mut SalvageReport) {
    for (position, mut candidates) in found {
        if candidates.len() > 1 {
            report.conflicts.push(position);
            continue;
        }
        if let Some((_, r)) = candidates.pop_first() {
            report.records.push(r);
        }
    }
    let mut next = 1;
    let mut prev: Option<(u64, Hash)> = None;
    for r in &report.records {
        let p = r.record.position;
        if p > next {
            report.lost.push(next..=p - 1);
        }
        // Decision: a link is checked only where the position before was
        // recovered; across a lost range it cannot be, which the range says.
        let expected = match prev {
            Some((q, h)) if q + 1 == p => Some(h),
            _ if p == 1 => Some(Hash::GENESIS),
            _ => None,
        };
        if expected.is_some_and(|h| h != r.prev_hash) {
            report.chain_breaks.push(p);
        }
        prev = Some((p, r.record.hash));
        next = p + 1;
    }
    if next <= report.highest_known {
        report.lost.push(next..=report.highest_known);
    }
}
