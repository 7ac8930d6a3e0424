//! Concurrent appends: optimistic concurrency lets exactly one writer win each
//! version, and one idempotency key yields one append however many callers race.

mod store_support;

use std::sync::Arc;

use navigo_store::{AppendOutcome, EventStore, ExpectedVersion, StoreError};
use store_support::*;

/// Tasks racing for each version.
const TASKS: usize = 16;
/// Versions raced for.
const ROUNDS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_lets_exactly_one_writer_win_each_expected_version() {
    // Given one stream and many tasks
    let (store, _dir, _) = new_store("race-version");
    let store = Arc::new(store);
    let s = stream(1);
    let mut won_positions = Vec::new();
    for version in 0..ROUNDS {
        // When every task appends expecting the same version
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let tag = format!("v{version}-t{t}");
                store
                    .append(request(
                        s,
                        ExpectedVersion::Exact(version),
                        vec![event(&tag)],
                    ))
                    .await
            }));
        }
        // Then exactly one wins and every other one is told the actual version
        let mut winners = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(AppendOutcome::Appended {
                    positions,
                    stream_version,
                }) => {
                    assert_eq!(stream_version, version + 1);
                    won_positions.extend(positions);
                    winners += 1;
                }
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    assert_eq!((expected, actual), (version, version + 1));
                }
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(winners, 1, "version {version}");
    }
    // And the stream holds one event per version, no duplicate, no gap
    let events = store.read_stream(s, 1..=u64::MAX).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.stream_seq).collect();
    assert_eq!(seqs, (1..=ROUNDS).collect::<Vec<_>>());
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    assert_eq!(positions, won_positions);
    assert_eq!(store.head().await.unwrap().position, ROUNDS);
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_appends_one_event_for_one_idempotency_key_under_concurrent_retries() {
    // Given an append with a key, sent by many tasks at once
    let (store, _dir, _) = new_store("race-idem");
    let store = Arc::new(store);
    let mut r = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("pay-once")],
    );
    r.idempotency_key = Some("payment-42".into());
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        let r = r.clone();
        handles.push(tokio::spawn(async move { store.append(r).await }));
    }
    // Then one call appends and every other is answered AlreadyAppended
    let mut appended = 0;
    let mut already = 0;
    for h in handles {
        match h.await.unwrap().unwrap() {
            AppendOutcome::Appended { positions, .. } => {
                assert_eq!(positions, vec![1]);
                appended += 1;
            }
            AppendOutcome::AlreadyAppended { positions } => {
                assert_eq!(positions, vec![1]);
                already += 1;
            }
        }
    }
    assert_eq!((appended, already), (1, TASKS - 1));
    // And a later sequential retry is answered the same way
    let again = store.append(r).await.unwrap();
    assert_eq!(again, AppendOutcome::AlreadyAppended { positions: vec![1] });
    assert_eq!(store.head().await.unwrap().position, 1);
    assert_eq!(
        store
            .read_stream(stream(1), 1..=u64::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
}
