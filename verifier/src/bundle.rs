//! A dispute bundle (docs/checkpoints.md, *Dispute bundles*): both signed
//! checkpoints, their consistency, each stream's entry in the stream-head map
//! and every record it holds, in sequence, each in the checkpoint's tree.
//!
//! Not its views: the balance and debit calendar are recomputed by the
//! ledger's rules engine (`verify-bundle`), which this verifier does not
//! re-implement. A bundle it accepts holds exactly the records the signed
//! log holds for these streams; what they mean is the rules' business.

use serde::Deserialize;

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

/// An instant as (seconds since 1970 in UTC, the fraction's digits padded
/// to nanoseconds): comparable.
type Instant = (i64, u64);

fn rfc3339(b: &[u8]) -> Option<Instant> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let sep = |i: usize, c: u8| (b.get(i) == Some(&c)).then_some(());
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    sep(4, b'-')?;
    sep(7, b'-')?;
    matches!(b.get(10), Some(b'T' | b't' | b' ')).then_some(())?;
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    sep(13, b':')?;
    sep(16, b':')?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (day >= 1 && day <= days && hour < 24 && minute < 60 && second <= 60).then_some(())?;
    let mut rest = &b[19..];
    let mut nanos = 0u64;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        (n > 0).then_some(())?;
        nanos = fraction[..n]
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(9)
            .fold(0, |v, c| v * 10 + u64::from(c - b'0'));
        rest = &fraction[n..];
    }
    let offset: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<u32> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            (h < 24 && m < 60).then_some(())?;
            let minutes = i64::from(h * 60 + m);
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset * 60;
    Some((seconds, nanos))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
