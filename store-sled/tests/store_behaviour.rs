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
