//! The store's contract, one behaviour per test: positions and sequences, version
//! conflicts, idempotency, the recorded-at clock, named limits, all-or-nothing
//! appends, recovery on reopen and refusal of a directory that is not a ledger.

mod store_support;

use chrono::Duration;
use navigo_store::{AppendOutcome, EventStore, ExpectedVersion, Limits, StoreError};
use navigo_store_sled::{InitOutcome, SledStore};
use std::sync::Arc;
use store_support::*;

async fn collect_all(store: &SledStore, from: u64) -> Vec<u64> {
    let mut s = store.read_all(from);
    let mut out = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        out.push(item.unwrap().position);
    }
    out
}

#[tokio::test]
async fn store_assigns_gapless_positions_and_stream_sequences() {
    // Given an empty ledger
    let (store, _dir, _) = new_store("gapless");
    // When two streams receive interleaved appends
    let a = store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a1"), event("a2")],
        ))
        .await
        .unwrap();
    let b = store
        .append(request(stream(2), ExpectedVersion::Any, vec![event("b1")]))
        .await
        .unwrap();
    let c = store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(2),
            vec![event("a3")],
        ))
        .await
        .unwrap();
    // Then positions run 1.. without gaps and each stream counts from 1
    assert_eq!(
        a,
        AppendOutcome::Appended {
            positions: vec![1, 2],
            stream_version: 2
        }
    );
    assert_eq!(
        b,
        AppendOutcome::Appended {
            positions: vec![3],
            stream_version: 1
        }
    );
    assert_eq!(
        c,
        AppendOutcome::Appended {
            positions: vec![4],
            stream_version: 3
        }
    );
    let s1 = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    assert_eq!(
        s1.iter().map(|e| e.stream_seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        s1.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    let part = store.read_stream(stream(1), 2..=2).await.unwrap();
    assert_eq!(part.len(), 1);
    assert_eq!(part[0].position, 2);
    assert_eq!(collect_all(&store, 1).await, vec![1, 2, 3, 4]);
    assert_eq!(collect_all(&store, 3).await, vec![3, 4]);
    assert_eq!(store.head().await.unwrap().position, 4);
    assert_eq!(store.stream_version(stream(1)).await.unwrap(), 3);
    assert_eq!(store.stream_version(stream(9)).await.unwrap(), 0);
    assert!(store.verify().unwrap().is_ok());
    // And the chain links each record to the previous one
    let all = store.read_stream(stream(2), 1..=1).await.unwrap();
    assert_eq!(all[0].prev_hash, s1[1].hash);
}

#[tokio::test]
async fn store_append_stored_returns_exactly_the_envelopes_read_stream_returns() {
    // Given a ledger whose clock reads an instant with nanoseconds
    let (store, _dir, clock) = new_store("append-stored");
    clock.set(t0() + Duration::nanoseconds(123_456_789));
    // When events are appended through `append_stored`: several in one append
    // with a key, another stream, an import instant with nanoseconds
    let mut keyed = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("s1"), event("s2"), event("s3")],
    );
    keyed.idempotency_key = Some("stored-1".into());
    let (o1, e1) = store.append_stored(keyed.clone()).await.unwrap();
    let (o2, e2) = store
        .append_stored(request(stream(2), ExpectedVersion::Any, vec![event("t1")]))
        .await
        .unwrap();
    let mut imported = request(stream(1), ExpectedVersion::Exact(3), vec![event("s4")]);
    imported.recorded_at = Some(t0() + Duration::days(1) + Duration::nanoseconds(7));
    let (_, e3) = store.append_stored(imported).await.unwrap();
    // Then each returned envelope equals the record read back, hashes included
    assert_eq!(o1.positions(), &[1, 2, 3]);
    assert_eq!(o2.positions(), &[4]);
    assert_eq!(e1, store.read_stream(stream(1), 1..=3).await.unwrap());
    assert_eq!(e2, store.read_stream(stream(2), 1..=1).await.unwrap());
    assert_eq!(e3, store.read_stream(stream(1), 4..=4).await.unwrap());
    assert_eq!(e3[0].prev_hash, e2[0].hash);
    // And a retry answered `AlreadyAppended` returns no envelope
    let (again, none) = store.append_stored(keyed).await.unwrap();
    assert!(matches!(again, AppendOutcome::AlreadyAppended { .. }));
    assert!(none.is_empty());
}

#[tokio::test]
async fn store_refuses_a_stale_expected_version_with_the_actual_one() {
    let (store, _dir, _) = new_store("conflict");
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("x")],
        ))
        .await
        .unwrap();
    let err = store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("y")],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.head().await.unwrap().position, 1);
}

#[tokio::test]
async fn store_answers_a_retry_with_the_same_key_already_appended() {
    // Given an append with an idempotency key
    let (store, _dir, _) = new_store("idem");
    let mut first = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("same"), event("same2")],
    );
    first.idempotency_key = Some("req-1".into());
    let out1 = store.append(first.clone()).await.unwrap();
    // When it is retried with fresh event ids (same content) and its old expected version
    let mut retry = first.clone();
    for e in &mut retry.events {
        e.event_id = uuid::Uuid::from_u128(e.event_id.as_u128() + 1);
    }
    let out2 = store.append(retry).await.unwrap();
    // Then nothing is written twice and the first positions are returned
    assert_eq!(out1.positions(), &[1, 2]);
    assert_eq!(
        out2,
        AppendOutcome::AlreadyAppended {
            positions: vec![1, 2]
        }
    );
    assert_eq!(store.head().await.unwrap().position, 2);
    // And reusing the key for other content is a conflict
    let mut other = request(stream(1), ExpectedVersion::Any, vec![event("different")]);
    other.idempotency_key = Some("req-1".into());
    let err = store.append(other).await.unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err}"
    );
    let mut other_stream = first.clone();
    other_stream.stream = stream(2);
    let err = store.append(other_stream).await.unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn store_refuses_an_import_instant_earlier_than_the_head() {
    let (store, _dir, _) = new_store("order");
    let mut r = request(stream(1), ExpectedVersion::Any, vec![event("late")]);
    r.recorded_at = Some(t0() + Duration::hours(2));
    store.append(r).await.unwrap();
    let mut early = request(stream(1), ExpectedVersion::Any, vec![event("early")]);
    early.recorded_at = Some(t0() + Duration::hours(1));
    let err = store.append(early).await.unwrap_err();
    assert!(matches!(err, StoreError::OutOfOrder { .. }), "{err}");
    // An equal instant is in order.
    let mut same = request(stream(1), ExpectedVersion::Any, vec![event("same")]);
    same.recorded_at = Some(t0() + Duration::hours(2));
    store.append(same).await.unwrap();
}

#[tokio::test]
async fn store_clamps_a_clock_stepped_back_to_the_head_instant() {
    let (store, _dir, clock) = new_store("clamp");
    clock.set(t0() + Duration::minutes(10));
    store
        .append(request(stream(1), ExpectedVersion::Any, vec![event("a")]))
        .await
        .unwrap();
    clock.set(t0());
    store
        .append(request(stream(1), ExpectedVersion::Any, vec![event("b")]))
        .await
        .unwrap();
    let evs = store.read_stream(stream(1), 1..=2).await.unwrap();
    assert_eq!(evs[0].recorded_at, t0() + Duration::minutes(10));
    assert_eq!(evs[1].recorded_at, t0() + Duration::minutes(10));
    assert_eq!(
        store.head().await.unwrap().recorded_at,
        Some(t0() + Duration::minutes(10))
    );
}

#[tokio::test]
async fn store_refuses_appends_beyond_its_named_limits() {
    let limits = Limits {
        events_per_append_max: 3,
        event_bytes_max: 600,
        idempotency_key_bytes_max: 8,
        ..Limits::default()
    };
    let (store, _dir, _) = new_store_with("limits", limits);
    let too_many = request(
        stream(1),
        ExpectedVersion::Any,
        (0..4).map(|_| event("x")).collect(),
    );
    let err = store.append(too_many).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::LimitExceeded {
                limit: "events_per_append_max",
                max: 3,
                actual: 4
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("events_per_append_max"));
    let big = request(
        stream(1),
        ExpectedVersion::Any,
        vec![event(&"x".repeat(700))],
    );
    let err = store.append(big).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::LimitExceeded {
                limit: "event_bytes_max",
                ..
            }
        ),
        "{err}"
    );
    let mut long_key = request(stream(1), ExpectedVersion::Any, vec![event("x")]);
    long_key.idempotency_key = Some("123456789".into());
    let err = store.append(long_key).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::LimitExceeded {
                limit: "idempotency_key_bytes_max",
                ..
            }
        ),
        "{err}"
    );
    let err = store
        .append(request(stream(1), ExpectedVersion::Any, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Empty), "{err}");
    // Nothing of the refused appends was written.
    assert_eq!(store.head().await.unwrap().position, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_refuses_one_request_of_a_group_commit_without_failing_the_others() {
    let (store, _dir, _) = new_store("group");
    let store = Arc::new(store);
    let mut handles = Vec::new();
    for i in 0..40u128 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            // Every fourth request expects a version its fresh stream cannot have.
            let expected = if i % 4 == 0 {
                ExpectedVersion::Exact(5)
            } else {
                ExpectedVersion::Exact(0)
            };
            s.append(request(stream(100 + i), expected, vec![event("g")]))
                .await
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, refused), (30, 10));
    assert_eq!(store.head().await.unwrap().position, 30);
    assert!(store.verify().unwrap().is_ok());
}

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
async fn store_recovers_head_and_versions_on_reopen() {
    let (store, dir, clock) = new_store("reopen");
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a"), event("b")],
        ))
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    store.close().await.unwrap();
    let store = SledStore::open(&dir, Limits::default(), clock).unwrap();
    assert_eq!(store.head().await.unwrap(), head);
    let err = store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("c")],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 2, .. }),
        "{err}"
    );
    let out = store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(2),
            vec![event("c")],
        ))
        .await
        .unwrap();
    assert_eq!(out.positions(), &[3]);
    assert!(store.verify().unwrap().is_ok());
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
