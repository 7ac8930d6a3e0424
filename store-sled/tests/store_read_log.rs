//! The parallel whole-log read (`SledStore::read_all_parallel`, behind
//! `EventStore::read_log`): the same envelopes as the `read_all` stream, and the
//! same refusal, naming the same position, of a tampered record, a broken chain
//! or a gap. The logs are larger than one read chunk
//! (`READ_LOG_CHUNK_RECORDS`), so that records cross chunk and worker borders.

mod store_support;

use std::path::Path;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::Envelope;
use navigo_store::{EventStore, ExpectedVersion, Limits, StoreError};
use navigo_store_sled::keys::log_key;
use navigo_store_sled::read::READ_LOG_CHUNK_RECORDS;
use navigo_store_sled::SledStore;
use proptest::prelude::*;
use store_support::*;

/// Events of the tampered ledgers: two and a half read chunks.
const EVENTS: u64 = (READ_LOG_CHUNK_RECORDS as u64) * 5 / 2;

/// Appends `sizes.len()` requests of the given sizes, to streams in turn.
async fn fill(store: &SledStore, sizes: &[usize], streams: u128) {
    for (i, n) in sizes.iter().enumerate() {
        let events = (0..*n).map(|k| event(&format!("e{i}.{k}"))).collect();
        let r = request(stream(i as u128 % streams), ExpectedVersion::Any, events);
        store.append(r).await.unwrap();
    }
}

/// The `read_all` stream from `from`, up to its first error.
async fn drain(store: &SledStore, from: u64) -> (Vec<Envelope>, Option<StoreError>) {
    let mut s = store.read_all(from);
    let mut out = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        match item {
            Ok(e) => out.push(e),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// A closed ledger of [`EVENTS`] events over three streams.
async fn ledger(name: &str) -> std::path::PathBuf {
    let (store, dir, _) = new_store(name);
    let sizes = vec![100; (EVENTS / 100) as usize];
    fill(&store, &sizes, 3).await;
    let rest = (EVENTS % 100) as usize;
    if rest > 0 {
        fill(&store, &[rest], 3).await;
    }
    store.close().await.unwrap();
    dir
}

fn reopen(dir: &Path) -> SledStore {
    SledStore::open(
        dir,
        Limits::default(),
        std::sync::Arc::new(navigo_store::ManualClock::new(t0())),
    )
    .unwrap()
}

/// Both reads of a tampered ledger fail with the same error; returns it.
async fn both_refuse(dir: &Path) -> StoreError {
    let store = reopen(dir);
    let (_, stream_err) = drain(&store, 1).await;
    let stream_err = stream_err.expect("read_all must refuse the log");
    let parallel = store
        .read_all_parallel(1)
        .expect_err("read_all_parallel must refuse the log");
    assert_eq!(parallel.to_string(), stream_err.to_string());
    let via_trait = store
        .read_log(1)
        .await
        .expect_err("read_log must refuse the log");
    assert_eq!(via_trait.to_string(), stream_err.to_string());
    store.close().await.unwrap();
    parallel
}

#[tokio::test]
async fn read_all_parallel_refuses_a_flipped_payload_byte_naming_its_position() {
    // Given a ledger whose record in the third chunk has one JSON byte changed
    let dir = ledger("read-log-flip").await;
    let bad = 2 * READ_LOG_CHUNK_RECORDS as u64 + 17;
    with_tree(&dir, |t| flip(t, bad, 5));
    // When the whole log is read in parallel, then it is refused at that position
    match both_refuse(&dir).await {
        StoreError::Corrupt { position, why } => {
            assert_eq!(position, bad);
            assert!(why.contains("hash mismatch"), "{why}");
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn read_all_parallel_refuses_a_broken_chain_at_the_record_after_the_rewrite() {
    // Given a tamperer who rewrites a record of the second chunk with a fresh
    // hash of its own (the record verifies alone; the next one's link does not)
    let dir = ledger("read-log-chain").await;
    let edited_at = READ_LOG_CHUNK_RECORDS as u64 + 300;
    with_tree(&dir, |t| rewrite_with_fresh_hash(t, edited_at));
    // Then the read is refused at the next position, link broken
    match both_refuse(&dir).await {
        StoreError::Corrupt { position, why } => {
            assert_eq!(position, edited_at + 1);
            assert!(why.contains("previous-hash link broken"), "{why}");
        }
        e => panic!("{e}"),
    }
}

/// Rewrites the record at `position` with an edited payload and a fresh hash of
/// its own: the record verifies alone, the next one's link does not.
fn rewrite_with_fresh_hash(t: &sled::Tree, position: u64) {
    let bytes = record(t, position);
    let json = String::from_utf8(bytes[HASH_LEN..].to_vec()).unwrap();
    let edited = json.replace("\"reference\":\"e", "\"reference\":\"x");
    assert_ne!(edited, json);
    let mut out = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
    out.extend_from_slice(edited.as_bytes());
    put_record(t, position, &out);
}

#[tokio::test]
async fn read_all_parallel_refuses_a_link_broken_across_a_chunk_border() {
    // Given the last record of the first read chunk rewritten with a fresh hash
    // (its successor, the first record of the next chunk, is decoded by another
    // worker than the record it links to)
    let dir = ledger("read-log-border").await;
    let last_of_chunk = READ_LOG_CHUNK_RECORDS as u64;
    with_tree(&dir, |t| rewrite_with_fresh_hash(t, last_of_chunk));
    // Then the read is refused at the first record of the next chunk
    match both_refuse(&dir).await {
        StoreError::Corrupt { position, why } => {
            assert_eq!(position, last_of_chunk + 1);
            assert!(why.contains("previous-hash link broken"), "{why}");
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn read_all_parallel_refuses_a_gap_naming_the_missing_position() {
    // Given a ledger with one record of the last chunk removed
    let dir = ledger("read-log-gap").await;
    let missing = EVENTS - 10;
    with_tree(&dir, |t| {
        t.remove(log_key(missing)).unwrap();
    });
    // Then the read is refused at that position
    match both_refuse(&dir).await {
        StoreError::Corrupt { position, why } => {
            assert_eq!(position, missing);
            assert!(why.contains("gap"), "{why}");
        }
        e => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// On a random log (random request sizes over random streams, past several
    /// read chunks), the parallel read from any position returns exactly the
    /// envelopes of the `read_all` stream.
    #[test]
    fn read_all_parallel_equals_read_all_on_a_random_log(
        sizes in prop::collection::vec(1..120usize, 1..45),
        streams in 1..6u128,
        from_frac in 0.0..1.1f64,
    ) {
        let rt = runtime();
        rt.block_on(async {
            let (store, _, _) = new_store("read-log-prop");
            fill(&store, &sizes, streams).await;
            let total: u64 = sizes.iter().map(|n| *n as u64).sum();
            let from = (total as f64 * from_frac) as u64;
            for from in [0, 1, from] {
                let (expected, err) = drain(&store, from).await;
                assert!(err.is_none());
                let got = store.read_all_parallel(from).unwrap();
                assert_eq!(got, expected, "from {from} of {total}");
                let via_trait = store.read_log(from).await.unwrap();
                assert_eq!(via_trait.len(), expected.len());
            }
            store.close().await.unwrap();
        });
    }
}
