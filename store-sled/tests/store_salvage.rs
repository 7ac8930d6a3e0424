//! Corruption of sled's own files: a flipped byte in a stored record or in
//! sled's metadata. The store's error names the file (and the offset or
//! position when known) and points to `salvage`; `salvage` recovers every
//! other record, from sled key by key or from the raw files when sled cannot
//! open, and names exactly what is lost. Bytes are flipped at offsets found
//! from the files' content (the stored bytes of a known record), never at
//! random ones that may land in free space.

mod store_support;

use std::path::{Path, PathBuf};

use navigo_store::{EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::guard::{BEFORE_RECOVERY_DIR, CLOSED_FILE};
use navigo_store_sled::keys::{log_key, MARKER_FILE};
use navigo_store_sled::raw::RawLedger;
use navigo_store_sled::salvage::{salvage, salvage_in_windows, SalvageReport, ScanWindow};
use navigo_store_sled::SledStore;
use store_support::*;

/// Events in the damaged ledgers.
const EVENTS: u64 = 50;

/// A closed ledger of [`EVENTS`] events over three streams, appended one by
/// one (so that sled writes each record in a flush of its own).
async fn ledger(name: &str) -> PathBuf {
    let (store, dir, _) = new_store(name);
    for i in 0..EVENTS {
        let r = request(
            stream(u128::from(i % 3)),
            ExpectedVersion::Any,
            vec![event(&format!("salvage-{i}"))],
        );
        store.append(r).await.unwrap();
    }
    store.close().await.unwrap();
    dir
}

/// The bytes stored under `position` (hash ‖ codec ‖ zstd frame).
fn stored(dir: &Path, position: u64) -> Vec<u8> {
    let raw = RawLedger::open(dir).unwrap();
    let v = raw.tree().get(log_key(position)).unwrap().unwrap().to_vec();
    drop(raw);
    v
}

/// Every offset of `needle` in `haystack`.
fn offsets(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Every file under `dir`, with its bytes, by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// A copy of the directory `from` in `to`, for sled to open.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Salvages `dir`, sled opening a private copy of it, and checks that the
/// directory is unchanged.
fn salvage_of(dir: &Path) -> SalvageReport {
    let before = snapshot(dir);
    let copy = dir.with_extension("copy");
    let _ = std::fs::remove_dir_all(&copy);
    copy_dir(dir, &copy);
    let report = salvage(dir, Some(&copy)).unwrap();
    std::fs::remove_dir_all(&copy).unwrap();
    assert!(snapshot(dir) == before, "salvage changed {}", dir.display());
    report
}

fn positions(r: &SalvageReport) -> Vec<u64> {
    r.records.iter().map(|r| r.record.position).collect()
}

#[tokio::test]
async fn salvage_recovers_every_record_of_an_intact_ledger_with_their_chain() {
    let dir = ledger("salvage-intact").await;
    let report = salvage_of(&dir);
    assert!(report.sled.open_error.is_none(), "{:?}", report.sled);
    assert_eq!(positions(&report), (1..=EVENTS).collect::<Vec<_>>());
    assert!(report.is_complete(), "{report:?}");
    assert!(report.conflicts.is_empty());
    // The records are the ones an export reads, byte for byte.
    let store = SledStore::open(
        &dir,
        Limits::default(),
        std::sync::Arc::new(ManualClock::new(t0())),
    )
    .unwrap();
    let exported: Vec<_> = store
        .export_records(1, EVENTS)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let salvaged: Vec<_> = report.records.iter().map(|r| r.record.clone()).collect();
    assert_eq!(salvaged, exported);
    assert_eq!(
        report.head().map(|h| h.1),
        Some(EventStore::head(&store).await.unwrap().hash)
    );
    store.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn store_corruption_names_the_file_and_salvage_names_the_one_lost_position() {
    // Given a ledger whose record 17 has one byte flipped inside its zstd
    // frame, in every copy of it sled's files hold
    let dir = ledger("salvage-flip-record").await;
    let bytes = stored(&dir, 17);
    let db = dir.join("db");
    let mut file = std::fs::read(&db).unwrap();
    let found = offsets(&file, &bytes);
    assert!(!found.is_empty(), "record 17's stored bytes are in db");
    for at in &found {
        file[at + bytes.len() - 4] ^= 0x40;
    }
    std::fs::write(&db, &file).unwrap();
    // When it is salvaged, before anything opens it (sled's recovery erases
    // what follows a damaged message in `db`), every other record is
    // recovered and exactly 17 is named as lost
    let report = salvage_of(&dir);
    let mut expected: Vec<u64> = (1..=EVENTS).collect();
    expected.retain(|p| *p != 17);
    assert_eq!(positions(&report), expected);
    assert_eq!(report.lost, vec![17..=17]);
    assert_eq!(report.highest_known, EVENTS);
    assert!(report.chain_breaks.is_empty(), "{:?}", report.chain_breaks);
    // And when the store opens it, the error names the file or the position
    // (sled refuses it: the message's checksum fails)
    let message = SledStore::open(
        &dir,
        Limits::default(),
        std::sync::Arc::new(ManualClock::new(t0())),
    )
    .unwrap_err()
    .to_string();
    for part in [
        dir.display().to_string(),
        "`db`".into(),
        "salvage".into(),
        BEFORE_RECOVERY_DIR.into(),
        "no whole record at position 17 (of 1 to 50)".into(),
    ] {
        assert!(message.contains(&part), "{part} not in: {message}");
    }
    // And sled's files as they were before that open (whose recovery erases
    // what follows the damaged message) are kept aside, where salvage still
    // recovers every record after the damage
    let kept = dir.join(BEFORE_RECOVERY_DIR);
    let report = salvage_of(&kept);
    assert_eq!(positions(&report), expected);
    assert_eq!(report.lost, vec![17..=17]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn store_open_copies_sled_files_aside_unless_an_orderly_close_left_them() {
    let clock = || std::sync::Arc::new(ManualClock::new(t0()));
    // Given a ledger closed in order
    let dir = ledger("guard-orderly").await;
    let kept = dir.join(BEFORE_RECOVERY_DIR);
    // When it opens, then it opens in place: nothing is copied
    let store = SledStore::open(&dir, Limits::default(), clock()).unwrap();
    assert!(!kept.exists(), "an orderly close's files were copied aside");
    // And when a process appends and ends without closing (a crash, which
    // leaves the fingerprint of the last orderly close, not of the files)
    // and the ledger opens again, sled's files are first copied aside,
    // marker included
    let older = std::fs::read(dir.join(CLOSED_FILE)).unwrap();
    let r = request(stream(9), ExpectedVersion::Any, vec![event("after")]);
    store.append(r).await.unwrap();
    store.close().await.unwrap();
    std::fs::write(dir.join(CLOSED_FILE), older).unwrap();
    let store = SledStore::open(&dir, Limits::default(), clock()).unwrap();
    assert!(kept.join("db").is_file() && kept.join(MARKER_FILE).is_file());
    assert_eq!(EventStore::head(&store).await.unwrap().position, EVENTS + 1);
    store.close().await.unwrap();
    // And a byte changed at rest after an orderly close is seen too
    std::fs::remove_dir_all(&kept).unwrap();
    let conf = dir.join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    bytes.push(b'\n');
    std::fs::write(&conf, bytes).unwrap();
    let _ = SledStore::open(&dir, Limits::default(), clock());
    assert!(
        kept.join("db").is_file(),
        "a change at rest was opened in place"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn salvage_recovers_every_record_from_the_raw_files_when_sled_refuses_to_open() {
    // Given a ledger whose sled configuration file has one byte flipped
    let dir = ledger("salvage-conf").await;
    let conf = dir.join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&conf, &bytes).unwrap();
    // When it is opened, the error names the directory and sled's files
    let err = SledStore::open(
        &dir,
        Limits::default(),
        std::sync::Arc::new(ManualClock::new(t0())),
    )
    .unwrap_err()
    .to_string();
    eprintln!("{err}");
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("salvage"), "{err}");
    // And salvage, sled refusing, recovers every record from the raw files
    let report = salvage_of(&dir);
    assert!(report.sled.open_error.is_some(), "{:?}", report.sled);
    assert_eq!(positions(&report), (1..=EVENTS).collect::<Vec<_>>());
    assert!(report.is_complete(), "{report:?}");
    // And so it does reading the files in small windows that records
    // straddle, each record found once
    for step_bytes in [97, 1_000] {
        let window = ScanWindow {
            step_bytes,
            after_bytes: 4_096,
        };
        let small = salvage_in_windows(&dir, None, window).unwrap();
        assert_eq!(small.records, report.records, "windows of {step_bytes}");
        assert_eq!(small.lost, report.lost);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn salvage_leaves_out_both_records_of_a_position_where_two_different_ones_verify() {
    // Given a ledger whose record 5 was rewritten through sled with another
    // payload and a fresh, correct hash (sled keeps the old copy in `db`)
    let dir = ledger("salvage-conflict").await;
    with_tree(&dir, |t| {
        let old = record(t, 5);
        let json = String::from_utf8(old[32..].to_vec()).unwrap();
        let edited = json.replacen("salvage-4", "salvage-X", 1);
        assert_ne!(edited, json);
        let mut new = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
        new.extend_from_slice(edited.as_bytes());
        put_record(t, 5, &new);
    });
    // When it is salvaged, both versions verify at position 5: neither is
    // kept, 5 is named a conflict and lost, and every other record is kept
    let report = salvage_of(&dir);
    assert_eq!(report.conflicts, vec![5]);
    assert_eq!(report.lost, vec![5..=5]);
    assert_eq!(report.records.len() as u64, EVENTS - 1);
    assert!(!report.is_complete());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn salvage_names_a_chain_break_between_two_recovered_records() {
    // Given a ledger whose record 9 was replaced by a verifying record that
    // links to nothing (its prev_hash zeroed, its hash recomputed), the old
    // copy of 9 then wiped from `db`
    let dir = ledger("salvage-break").await;
    let original = stored(&dir, 9);
    with_tree(&dir, |t| {
        let old = record(t, 9);
        let json = String::from_utf8(old[32..].to_vec()).unwrap();
        let prev = json.split("\"prev_hash\":\"").nth(1).unwrap()[..64].to_string();
        let edited = json.replacen(&prev, &"0".repeat(64), 1);
        let mut new = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
        new.extend_from_slice(edited.as_bytes());
        put_record(t, 9, &new);
    });
    let db = dir.join("db");
    let mut file = std::fs::read(&db).unwrap();
    for at in offsets(&file, &original) {
        file[at + original.len() - 4] ^= 0x40;
    }
    std::fs::write(&db, &file).unwrap();
    // When it is salvaged, every record is recovered, and 9 is named a break
    // (as is 10, which links to the original 9)
    let report = salvage_of(&dir);
    assert_eq!(positions(&report), (1..=EVENTS).collect::<Vec<_>>());
    assert!(report.lost.is_empty(), "{:?}", report.lost);
    assert_eq!(report.chain_breaks, vec![9, 10]);
    assert!(!report.is_complete());
    std::fs::remove_dir_all(&dir).unwrap();
}
