//! A dispute bundle (docs/checkpoints.md, *Dispute bundles*): both signed
//! checkpoints, their consistency, each stream's entry in the stream-head map
//! and every record it holds, in sequence, each in the checkpoint's tree.
//!
//! Not its views: the balance and debit calendar are recomputed by the
//! ledger's rules engine (`verify-bundle`), which this verifier does not
//! re-implement. A bundle it accepts holds exactly the records the signed
//! log holds for these streams; what they mean is the rules' business.

use serde::Deserialize;

use crate::instant::{rfc3339, Instant};
use crate::note::{self, Checkpoint, PublicKey};
use crate::proofs::{check_entry, path, Entry};
use crate::record;
use crate::tree::{check_consistency, check_inclusion, leaf_hash};
use crate::Invalid;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bundle {
    contract: String,
    known_at: String,
    checkpoint: String,
    latest_checkpoint: String,
    consistency_path: Vec<String>,
    streams: Vec<Stream>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stream {
    stream: String,
    version: u64,
    last_position: u64,
    entry_index: u64,
    entry_path: Vec<String>,
    records: Vec<BundleRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleRecord {
    position: u64,
    record: String,
    path: Vec<String>,
}

/// What a valid bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub contract: String,
    pub known_at: String,
    pub checkpoint_size: u64,
    pub latest_size: u64,
    pub streams: usize,
    pub records: u64,
}

/// Checks a dispute bundle with the ledger's verifier key.
///
/// # Errors
/// The first problem, naming the field, stream, position or proof step.
pub fn check(file: &[u8], key: &PublicKey) -> Result<Summary, Invalid> {
    let b: Bundle = serde_json::from_slice(file).map_err(|e| Invalid::new(e.to_string()))?;
    let c = note::open(b.checkpoint.as_bytes(), key).map_err(|e| e.at("field `checkpoint`"))?;
    let latest = note::open(b.latest_checkpoint.as_bytes(), key)
        .map_err(|e| e.at("field `latest_checkpoint`"))?;
    check_consistency(
        c.size,
        latest.size,
        &c.root,
        &latest.root,
        &path("consistency_path", &b.consistency_path)?,
    )
    .map_err(|e| e.at("field `consistency_path`"))?;
    let contract_stream = format!("contract:{}", uuid_text(&b.contract)?);
    let mut records = 0;
    let mut seen = std::collections::BTreeSet::new();
    for s in &b.streams {
        if !seen.insert(s.stream.as_str()) {
            return Err(Invalid::new(format!(
                "stream {} is in the bundle twice",
                s.stream
            )));
        }
        records += check_stream(s, &c)?;
    }
    if !seen.contains(contract_stream.as_str()) {
        return Err(Invalid::new(format!(
            "field `contract`: the bundle holds no stream {contract_stream}"
        )));
    }
    check_known_at(&b, &contract_stream)?;
    Ok(Summary {
        contract: b.contract,
        known_at: b.known_at,
        checkpoint_size: c.size,
        latest_size: latest.size,
        streams: b.streams.len(),
        records,
    })
}

/// One stream: its entry in the signed map, then exactly `version` records,
/// sequences 1 to `version`, the last at `last_position`, each in the tree.
fn check_stream(s: &Stream, c: &Checkpoint) -> Result<u64, Invalid> {
    check_entry(
        &Entry {
            stream: &s.stream,
            version: s.version,
            last_position: s.last_position,
            index: s.entry_index,
            path: &s.entry_path,
        },
        c,
    )?;
    if s.records.len() as u64 != s.version {
        return Err(Invalid::new(format!(
            "{}: the signed map says {} records, the bundle holds {}",
            s.stream,
            s.version,
            s.records.len()
        )));
    }
    let mut previous = 0;
    for (seq, r) in (1u64..).zip(&s.records) {
        let place = format!("{} record {seq} (position {})", s.stream, r.position);
        check_record(r, c).map_err(|e| e.at(&place))?;
        let head = record::head(r.record.as_bytes()).map_err(|e| e.at(&place))?;
        if head.stream != s.stream || head.stream_seq != seq || head.position != r.position {
            return Err(Invalid::new(format!(
                "the record is {} seq {} at position {}",
                head.stream, head.stream_seq, head.position
            ))
            .at(&place));
        }
        if r.position <= previous {
            return Err(Invalid::new("positions do not increase").at(&place));
        }
        previous = r.position;
    }
    if previous != s.last_position {
        return Err(Invalid::new(format!(
            "{}: the last record is at position {previous}, the signed map says {}",
            s.stream, s.last_position
        )));
    }
    Ok(s.version)
}

/// One record's inclusion in the checkpoint's tree.
fn check_record(r: &BundleRecord, c: &Checkpoint) -> Result<(), Invalid> {
    let index = r
        .position
        .checked_sub(1)
        .ok_or_else(|| Invalid::new("positions start at 1"))?;
    check_inclusion(
        index,
        c.size,
        &leaf_hash(r.record.as_bytes()),
        &path("path", &r.path)?,
        &c.root,
    )
    .map_err(|e| e.at("field `path`"))
}

/// The bundle is of the contract as known at `known_at`: its first record
/// (its creation) was recorded by then. Decision: this is the one reading of
/// `known_at` an independent verifier can make without the rules; the
/// ledger's `verify-bundle` refuses a bundle read before its contract
/// existed, and so does this.
fn check_known_at(b: &Bundle, contract_stream: &str) -> Result<(), Invalid> {
    let at = known_at(&b.known_at)?;
    let first = b
        .streams
        .iter()
        .find(|s| s.stream == contract_stream)
        .and_then(|s| s.records.first());
    let recorded = first
        .and_then(|r| record::head(r.record.as_bytes()).ok())
        .and_then(|h| rfc3339(h.recorded_at.as_bytes()));
    match recorded {
        Some(created) if created <= at => Ok(()),
        _ => Err(Invalid::new(format!(
            "field `known_at`: the contract's first record was not recorded by {}",
            b.known_at
        ))),
    }
}

/// The contract's UUID in the lowercase hyphenated form streams are named
/// with. Decision: a UUID is a number, so its hex digits are read in either
/// case, as the ledger's own parser reads them.
fn uuid_text(s: &str) -> Result<String, Invalid> {
    let groups: Vec<&str> = s.split('-').collect();
    let form = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !form {
        return Err(Invalid::new(format!(
            "field `contract`: {s:?} is not a hyphenated UUID"
        )));
    }
    Ok(s.to_ascii_lowercase())
}

/// `known_at` is an RFC 3339 instant. It is not signed: it says as of when
/// the views are to be read (the auditor may choose any), so only its form
/// is checked: RFC 3339's grammar, `T`, `t` or a space between date and
/// time (RFC 3339, 5.6), a real calendar date, and `Z`, `z` or an offset.
fn known_at(s: &str) -> Result<Instant, Invalid> {
    rfc3339(s.as_bytes()).ok_or_else(|| {
        Invalid::new(format!(
            "field `known_at`: {s:?} is not an RFC 3339 instant"
        ))
    })
}
