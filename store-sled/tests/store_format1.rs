//! A ledger written in store format 1 (by the version before format 2) still
//! opens, reads, verifies and takes appends, in format 1.
//!
//! The fixture is written by the format-1 writer kept here: sled with its
//! default settings, the marker file and tree marker of format 1, and records
//! stored as `hash ‖ canonical JSON` under the same keys as format 2.

mod store_support;

use std::path::Path;
use std::sync::Arc;

use chrono::Duration;
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{encode_record, Assigned, Hash, NewEvent};
use navigo_store::{AppendOutcome, EventStore, ExpectedVersion, Limits, ManualClock, StoreError};
use navigo_store_sled::keys::{self, log_key, stream_key, IdemEntry};
use navigo_store_sled::{verify_ledger, Format, InitOutcome, SledStore};
use store_support::*;

/// Events of the fixture, over three streams.
const FIXTURE_EVENTS: u64 = 30;
/// The idempotency key of the fixture's first append.
const FIXTURE_KEY: &str = "fixture-first-append";

/// Writes a format-1 ledger of [`FIXTURE_EVENTS`] events into `dir` exactly
/// as the format-1 store laid it out.
fn write_format1_ledger(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(keys::MARKER_FILE),
        "navigo-ledger store format 1\n",
    )
    .unwrap();
    let db = sled::Config::new().path(dir).open().unwrap();
    let tree = db.open_tree(keys::TREE_NAME).unwrap();
    tree.insert(keys::FORMAT_KEY, &b"navigo-ledger store format 1"[..])
        .unwrap();
    let mut prev = Hash::GENESIS;
    let mut seqs = [0u64; 3];
    for position in 1..=FIXTURE_EVENTS {
        let s = ((position - 1) % 3) as usize;
        seqs[s] += 1;
        let key = (position == 1).then_some(FIXTURE_KEY);
        let e: NewEvent = event(&format!("v1-{position}"));
        let a = Assigned {
            stream: stream(s as u128),
            stream_seq: seqs[s],
            position,
            recorded_at: t0() + Duration::seconds(position as i64),
            idempotency_key: key,
            prev_hash: prev,
        };
        let (record, hash) = encode_record(&a, &e).unwrap();
        tree.insert(log_key(position), record).unwrap();
        tree.insert(
            stream_key(&a.stream, a.stream_seq),
            &position.to_be_bytes()[..],
        )
        .unwrap();
        if let Some(k) = key {
            let entry = IdemEntry {
                digest: [7; 32],
                first: position,
                count: 1,
            };
            tree.insert(keys::idem_key(k), &entry.encode()[..]).unwrap();
        }
        prev = hash;
    }
    db.flush().unwrap();
}

fn open(dir: &Path) -> SledStore {
    let clock = Arc::new(ManualClock::new(t0() + Duration::days(1)));
    SledStore::open(dir, Limits::default(), clock).unwrap()
}

#[tokio::test]
async fn store_format1_ledger_opens_reads_and_verifies_as_it_is() {
    // Given a ledger written in format 1
    let dir = fresh_dir("format1-read");
    write_format1_ledger(&dir);
    // When the current version opens it
    assert_eq!(SledStore::init(&dir).unwrap(), InitOutcome::AlreadyLedger);
    let store = open(&dir);
    // Then it is a format-1 ledger, whose records all read and verify
    assert_eq!(store.format(), Format::V1);
    assert!(store.verify().unwrap().is_ok());
    let all = store.read_all_parallel(1).unwrap();
    assert_eq!(all.len() as u64, FIXTURE_EVENTS);
    let s1 = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    assert_eq!(s1.len(), 10);
    assert_eq!(s1[0].position, 2);
    assert_eq!(store.head().await.unwrap().hash, all[29].hash);
    // And its idempotency keys are the ones format 1 stored: other content
    // under the fixture's key is refused
    let mut r = request(stream(0), ExpectedVersion::Any, vec![event("other")]);
    r.idempotency_key = Some(FIXTURE_KEY.into());
    let err = store.append(r).await.unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err}"
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn store_format1_ledger_takes_appends_in_format1_and_reopens() {
    // Given a ledger written in format 1, opened by the current version
    let dir = fresh_dir("format1-append");
    write_format1_ledger(&dir);
    let store = open(&dir);
    // When events are appended (one with an idempotency key, retried)
    let mut r = request(stream(1), ExpectedVersion::Exact(10), vec![event("new")]);
    r.idempotency_key = Some("after-upgrade".into());
    let first = store.append(r.clone()).await.unwrap();
    assert!(matches!(first, AppendOutcome::Appended { .. }));
    let retry = store.append(r).await.unwrap();
    assert!(matches!(retry, AppendOutcome::AlreadyAppended { .. }));
    store.close().await.unwrap();
    // Then the new record is stored as format 1 stores records (hash ‖ JSON),
    // in a sled database still opened with format 1's settings
    {
        let db = sled::Config::new().path(&dir).open().unwrap();
        let tree = db.open_tree(keys::TREE_NAME).unwrap();
        let stored = tree.get(log_key(FIXTURE_EVENTS + 1)).unwrap().unwrap();
        assert_eq!(stored[HASH_LEN], b'{');
        let (claimed, actual) = navigo_events_schema::record_hashes(&stored).unwrap();
        assert_eq!(claimed, actual);
    }
    // And the ledger reopens and verifies whole, the marker still format 1
    let report = verify_ledger(&dir).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records_checked, FIXTURE_EVENTS + 1);
    assert_eq!(
        std::fs::read_to_string(dir.join(keys::MARKER_FILE)).unwrap(),
        "navigo-ledger store format 1\n"
    );
    let store = open(&dir);
    assert_eq!(
        store.read_stream(stream(1), 11..=11).await.unwrap()[0].position,
        FIXTURE_EVENTS + 1
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn store_new_ledger_is_format4_with_compressed_records() {
    // Given a ledger created now
    let (store, dir, _) = new_store("format2-new");
    store
        .append(request(stream(0), ExpectedVersion::Any, vec![event("a")]))
        .await
        .unwrap();
    assert_eq!(store.format(), Format::V4);
    store.close().await.unwrap();
    // Then both markers say format 4, and its record is stored compressed
    assert_eq!(
        std::fs::read_to_string(dir.join(keys::MARKER_FILE)).unwrap(),
        "navigo-ledger store format 4\n"
    );
    with_tree(&dir, |t| {
        assert_eq!(
            t.get(keys::FORMAT_KEY).unwrap().unwrap().as_ref(),
            b"navigo-ledger store format 4"
        );
        let stored = t.get(log_key(1)).unwrap().unwrap();
        assert_eq!(
            stored[HASH_LEN],
            navigo_store_sled::frame::CODEC_ZSTD_DICT_1
        );
        assert!(stored.len() < record(t, 1).len());
    });
    // And a marker file naming a format this version does not know is refused
    std::fs::write(
        dir.join(keys::MARKER_FILE),
        "navigo-ledger store format 5\n",
    )
    .unwrap();
    let err =
        SledStore::open(&dir, Limits::default(), Arc::new(ManualClock::new(t0()))).unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
}

/// A range of stream 1 (across its first and second blocks), how many
/// events it holds, and the version of stream 2.
async fn index_reads(store: &SledStore) -> (Vec<navigo_events_schema::Envelope>, usize, u64) {
    let range = store.read_stream(stream(1), 60..=70).await.unwrap();
    let all = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    (
        range,
        all.len(),
        store.stream_version(stream(2)).await.unwrap(),
    )
}

#[tokio::test]
async fn store_format4_keeps_one_index_key_per_stream_and_block_and_format3_one_per_record() {
    // Given a new ledger, and a ledger created in format 3 (as the version
    // before format 4 created it)
    let (v4, v4_dir, _) = new_store("format4-blocks");
    let v3_dir = fresh_dir("format3-per-record");
    SledStore::init_as(&v3_dir, Format::V3).unwrap();
    let v3 = SledStore::open(&v3_dir, Limits::default(), Arc::new(ManualClock::new(t0()))).unwrap();
    assert_eq!(v3.format(), Format::V3);
    // When each takes the same 150-odd events on one stream and about 10 on
    // another, in appends of one to four events
    let mut per_stream = [0u64; 2];
    for store in [&v4, &v3] {
        per_stream = [0; 2];
        while per_stream[0] + per_stream[1] < 160 {
            let n = per_stream[0] + per_stream[1];
            let size = 1 + n % 4;
            let s = usize::from(n >= 150);
            let events = (0..size).map(|i| event(&format!("e{n}-{i}"))).collect();
            store
                .append(request(stream(s as u128 + 1), ExpectedVersion::Any, events))
                .await
                .unwrap();
            per_stream[s] += size;
        }
    }
    let (a, b) = (index_reads(&v4).await, index_reads(&v3).await);
    // Then both read the same, and verify
    assert_eq!(
        a.0.iter().map(|e| e.stream_seq).collect::<Vec<_>>(),
        (60..=70).collect::<Vec<_>>()
    );
    assert_eq!(
        a.0.iter().map(|e| e.position).collect::<Vec<_>>(),
        b.0.iter().map(|e| e.position).collect::<Vec<_>>()
    );
    assert_eq!((a.1, a.2), (b.1, b.2));
    for store in [v4, v3] {
        assert!(store.verify().unwrap().is_ok());
        store.close().await.unwrap();
    }
    // And the format-4 index holds a key per stream and block of 64, the
    // format-3 one a key per record
    let index_keys = |dir: &Path| {
        let raw = navigo_store_sled::raw::RawLedger::open(dir).unwrap();
        raw.tree().scan_prefix([keys::STREAM]).count()
    };
    assert_eq!(per_stream[0].div_ceil(64), 3);
    assert_eq!(index_keys(&v4_dir) as u64, 3 + 1);
    assert_eq!(index_keys(&v3_dir) as u64, per_stream[0] + per_stream[1]);
    std::fs::remove_dir_all(&v4_dir).unwrap();
    std::fs::remove_dir_all(&v3_dir).unwrap();
}

#[tokio::test]
async fn salvage_recovers_every_record_of_a_format1_ledger_from_sled_and_from_its_raw_files() {
    // Given a ledger written in format 1 (records stored as hash ‖ JSON)
    let dir = fresh_dir("format1-salvage");
    write_format1_ledger(&dir);
    let copy = fresh_dir("format1-salvage-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    // When it is salvaged with sled (on the copy) and from the raw files
    // alone, then both recover every record, the chain unbroken
    let positions = |r: &navigo_store_sled::salvage::SalvageReport| {
        r.records
            .iter()
            .map(|r| r.record.position)
            .collect::<Vec<_>>()
    };
    for sled_copy in [Some(copy.as_path()), None] {
        let report = navigo_store_sled::salvage::salvage(&dir, sled_copy).unwrap();
        assert_eq!(report.sled.open_error.is_none(), sled_copy.is_some());
        assert_eq!(positions(&report), (1..=FIXTURE_EVENTS).collect::<Vec<_>>());
        assert!(report.is_complete(), "{report:?}");
    }
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
