//! What the sled store does beyond the `EventStore` trait (whose promises the
//! conformance suite checks, `tests/conformance.rs`): all-or-nothing appends to
//! several streams, recognising a ledger directory on `init`, and refusing a
//! directory that is not a ledger without touching it.

mod store_support;

use navigo_store::{EventStore, ExpectedVersion, Limits, StoreError};
use navigo_store_sled::{InitOutcome, SledStore};
use std::sync::Arc;
use store_support::*;

#[tokio::test]
async fn store_append_all_writes_every_request_or_none() {
    let (store, _dir, _) = new_store("all");
    let good = request(stream(1), ExpectedVersion::Exact(0), vec![event("a")]);
    let bad = request(stream(2), ExpectedVersion::Exact(3), vec![event("b")]);
    let err = store.append_all(vec![good.clone(), bad]).await.unwrap_err();
    assert_eq!(err.request_index, Some(1));
    assert!(matches!(err.error, StoreError::Conflict { .. }));
    assert_eq!(store.head().await.unwrap().position, 0);
    // Requests of one call see each other: the second expects the first's version.
    let next = request(stream(1), ExpectedVersion::Exact(1), vec![event("c")]);
    let out = store.append_all(vec![good, next]).await.unwrap();
    assert_eq!(out[0].positions(), &[1]);
    assert_eq!(out[1].positions(), &[2]);
}

#[tokio::test]
async fn store_init_answers_already_a_ledger_for_a_ledger_closed_and_reopened() {
    // The sled part of `store_recovers_head_and_versions_on_reopen` (the suite
    // checks the head and versions): a ledger reopened and closed is still one.
    let (store, dir, clock) = new_store("reopen");
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a"), event("b")],
        ))
        .await
        .unwrap();
    store.close().await.unwrap();
    let store = SledStore::open(&dir, Limits::default(), clock).unwrap();
    store.close().await.unwrap();
    assert_eq!(SledStore::init(&dir).unwrap(), InitOutcome::AlreadyLedger);
}

#[tokio::test]
async fn store_refuses_a_directory_that_is_not_a_ledger_without_touching_it() {
    let dir = fresh_dir("notaledger");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "precious").unwrap();
    let clock = Arc::new(navigo_store::ManualClock::new(t0()));
    let err = SledStore::open(&dir, Limits::default(), clock.clone()).unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    let err = SledStore::init(&dir).unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["notes.txt".to_owned()]);
    // A file, or a path that does not exist, is refused too (and not created).
    let err =
        SledStore::open(&dir.join("notes.txt"), Limits::default(), clock.clone()).unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    let missing = dir.join("missing");
    let err = SledStore::open(&missing, Limits::default(), clock).unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_retries_and_versions_are_judged_against_batches_not_applied_yet() {
    // Given 50 keys each sent by 20 concurrent writers, and 100 concurrent
    // writers appending to one stream at the version they expect, retrying on
    // a conflict: group commits the writer chains while the applier thread
    // still applies the batches before them, which the tree does not hold yet
    let (store, _dir, _) = new_store("in-flight");
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..1_000u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = request(stream(i % 50), ExpectedVersion::Any, vec![event("k")]);
            r.idempotency_key = Some(format!("key-{}", i % 50));
            let outcome = store.append(r).await.unwrap();
            (i % 50, outcome.positions().to_vec())
        }));
    }
    let mut versioned = Vec::new();
    for _ in 0..100 {
        let store = store.clone();
        versioned.push(tokio::spawn(async move {
            loop {
                let v = store.stream_version(stream(999)).await.unwrap();
                let r = request(stream(999), ExpectedVersion::Exact(v), vec![event("v")]);
                match store.append(r).await {
                    Ok(_) => return,
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    let mut by_key = std::collections::BTreeMap::new();
    for t in tasks {
        let (key, positions) = t.await.unwrap();
        by_key.entry(key).or_insert_with(Vec::new).push(positions);
    }
    for t in versioned {
        t.await.unwrap();
    }
    // Then each key was appended once, and every retry answered with its
    // positions; the stream has exactly 100 events; the log verifies
    for (key, answers) in &by_key {
        assert_eq!(answers.len(), 20, "key-{key}");
        assert!(
            answers.iter().all(|p| p == &answers[0]),
            "key-{key}: {answers:?}"
        );
    }
    assert_eq!(store.stream_version(stream(999)).await.unwrap(), 100);
    assert_eq!(store.head().await.unwrap().position, 50 + 100);
    assert!(store.verify().unwrap().is_ok());
}
