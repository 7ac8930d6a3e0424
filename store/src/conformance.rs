//! The conformance suite: what every [`EventStore`] promises (the guarantees in
//! the crate's documentation), as tests any backend runs against itself.
//!
//! A backend implements [`Backend`] (how to make, close, check and tamper with
//! one of its stores) and expands [`conformance_suite!`](crate::conformance_suite)
//! in one of its test files; the caller's dev-dependencies need `tokio` (with a
//! multi-threaded runtime) and `proptest`:
//!
//! ```text
//! navigo_store::conformance_suite!(SledBackend);
//! ```
//!
//! Each check is a public `async fn` taking the backend, so that a backend may
//! also call one alone. The checks cover appends (gapless positions and stream
//! sequences, what `append_stored` returns, named limits, recovery on reopen),
//! conflicts (stale versions, one winner per version under concurrency, one
//! refused request not failing its group), idempotency (retries answered, other
//! content refused, concurrent retries appending once), ordering (import
//! instants, a clock stepped back), a tampered record refused by every reader
//! naming its position, random operation sequences against a model, and what
//! a durable backend keeps beside the log for the ledger (idempotency keys read
//! by prefix, derived data).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use navigo_events_schema::event::MandateRevoked;
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Envelope, Event, NewEvent, StreamId};
use proptest::prelude::*;
use uuid::Uuid;

pub mod sealed;

use crate::{
    next_envelope, AppendOutcome, AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock,
    StoreError,
};

/// What the suite needs of a backend: a fresh place for each test, opening and
/// closing a store there, the backend's own full check, and a tamperer.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The store under test.
    type Store: EventStore + 'static;
    /// Where a store keeps its data (a directory, a database schema).
    type Place: Send + Sync;

    /// A new, empty place for the test `name` (each call a different one).
    async fn place(&self, name: &str) -> Self::Place;

    /// Opens the store of `place` with `limits`, its clock reading `clock`.
    async fn open(
        &self,
        place: &Self::Place,
        limits: Limits,
        clock: Arc<ManualClock>,
    ) -> Self::Store;

    /// Closes `store` once everything it acknowledged is durable.
    async fn close(&self, store: Self::Store);

    /// The backend's own complete check of what a store holds (the hash chain,
    /// its indexes): `Err` describes the first problem.
    ///
    /// # Errors
    /// The first problem found.
    async fn verify(&self, store: &Self::Store) -> Result<(), String>;

    /// Changes one bit of the record stored at `position` in a closed `place`,
    /// `offset_from_end` bytes before the record's end (inside its JSON), as
    /// someone with access to the storage but not to the store would (a file
    /// edited on disk, a row updated with SQL).
    async fn tamper(&self, place: &Self::Place, position: u64, offset_from_end: usize);
}

/// The instant the suite's clocks stand at.
pub fn t0() -> DateTime<Utc> {
    "2026-11-24T10:00:00Z".parse().unwrap_or_default()
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A small event whose payload carries `tag`, with ids no other call returns.
pub fn event(tag: &str) -> NewEvent {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    NewEvent {
        event_id: Uuid::from_u128(u128::from(n) << 64 | 0xe),
        effective_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
        actor: Actor {
            role: ActorRole::Agent,
            id: "A1".into(),
        },
        channel: None,
        correlation_id: Uuid::from_u128(u128::from(n) << 64 | 0xc),
        causation_id: None,
        event: Event::MandateRevoked(MandateRevoked {
            reference: tag.to_owned(),
        }),
    }
}

/// A contract stream numbered `n`.
pub fn stream(n: u128) -> StreamId {
    StreamId::contract(Uuid::from_u128(n + 1))
}

/// An append of `events` to `stream`.
pub fn request(
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> AppendRequest {
    AppendRequest::new(stream, expected, events)
}

/// The `read_all` stream from `from`, every item unwrapped.
///
/// # Panics
/// On a read error (the suite's stores are sound unless tampered with).
pub async fn read_all<S: EventStore>(store: &S, from: u64) -> Vec<Envelope> {
    let mut s = store.read_all(from);
    let mut out = Vec::new();
    while let Some(item) = next_envelope(&mut s).await {
        out.push(item.expect("a sound store reads back"));
    }
    out
}

/// A new store of `backend` at a fresh place, with a manual clock at [`t0`].
pub async fn new_store<B: Backend>(
    backend: &B,
    name: &str,
    limits: Limits,
) -> (B::Store, B::Place, Arc<ManualClock>) {
    let place = backend.place(name).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let store = backend.open(&place, limits, clock.clone()).await;
    (store, place, clock)
}

async fn assert_verifies<B: Backend>(backend: &B, store: &B::Store) {
    if let Err(why) = backend.verify(store).await {
        panic!("the backend's own check fails: {why}");
    }
}

/// Positions start at 1 and run without gaps across streams; each stream counts
/// its own sequence from 1; reads by stream, by range and from a position agree;
/// each record's hash links to the previous one.
pub async fn gapless_positions_and_stream_sequences<B: Backend>(backend: &B) {
    // Given an empty store
    let (store, _place, _) = new_store(backend, "gapless", Limits::default()).await;
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
    let positions = |v: Vec<Envelope>| v.iter().map(|e| e.position).collect::<Vec<_>>();
    assert_eq!(positions(read_all(&store, 1).await), vec![1, 2, 3, 4]);
    assert_eq!(positions(read_all(&store, 3).await), vec![3, 4]);
    assert_eq!(store.head().await.unwrap().position, 4);
    assert_eq!(store.stream_version(stream(1)).await.unwrap(), 3);
    assert_eq!(store.stream_version(stream(9)).await.unwrap(), 0);
    assert_verifies(backend, &store).await;
    // And the chain links each record to the previous one
    let all = store.read_stream(stream(2), 1..=1).await.unwrap();
    assert_eq!(all[0].prev_hash, s1[1].hash);
    backend.close(store).await;
}

/// `append_stored` returns exactly the envelopes `read_stream` returns, hashes
/// and instants to the nanosecond included, and none for a retry.
pub async fn append_stored_returns_what_read_stream_returns<B: Backend>(backend: &B) {
    // Given a store whose clock reads an instant with nanoseconds
    let (store, _place, clock) = new_store(backend, "append-stored", Limits::default()).await;
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
    backend.close(store).await;
}

/// A stale expected version is refused naming the actual version; nothing is
/// written.
pub async fn stale_expected_version_refused_with_the_actual_one<B: Backend>(backend: &B) {
    let (store, _place, _) = new_store(backend, "conflict", Limits::default()).await;
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
    backend.close(store).await;
}

/// A retry under the same idempotency key with the same content is answered
/// with the first positions and writes nothing; other content, or another
/// stream, under the key is a conflict.
pub async fn retry_with_the_same_key_already_appended<B: Backend>(backend: &B) {
    // Given an append with an idempotency key
    let (store, _place, _) = new_store(backend, "idem", Limits::default()).await;
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
        e.event_id = Uuid::from_u128(e.event_id.as_u128() + 1);
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
    backend.close(store).await;
}

/// An import instant earlier than the head's is refused as out of order; an
/// equal one is in order.
pub async fn import_instant_earlier_than_the_head_refused<B: Backend>(backend: &B) {
    let (store, _place, _) = new_store(backend, "order", Limits::default()).await;
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
    backend.close(store).await;
}

/// A clock stepped back records the head's instant: recorded-at instants never
/// decrease with position.
pub async fn clock_stepped_back_clamped_to_the_head_instant<B: Backend>(backend: &B) {
    let (store, _place, clock) = new_store(backend, "clamp", Limits::default()).await;
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
    backend.close(store).await;
}

/// Appends beyond a named limit, and empty appends, are refused naming the
/// limit; nothing of them is written.
pub async fn appends_beyond_named_limits_refused<B: Backend>(backend: &B) {
    let limits = Limits {
        events_per_append_max: 3,
        event_bytes_max: 600,
        idempotency_key_bytes_max: 8,
        ..Limits::default()
    };
    let (store, _place, _) = new_store(backend, "limits", limits).await;
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
    backend.close(store).await;
}

/// Concurrent appends, one in four with an impossible expected version: those
/// are refused, every other one is written. Needs a multi-threaded runtime.
pub async fn one_refused_request_does_not_fail_its_group<B: Backend>(backend: &B) {
    let (store, _place, _) = new_store(backend, "group", Limits::default()).await;
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
    assert_verifies(backend, &store).await;
}

/// A store closed and opened again has the same head and stream versions, and
/// goes on from them.
pub async fn head_and_versions_recovered_on_reopen<B: Backend>(backend: &B) {
    let (store, place, clock) = new_store(backend, "reopen", Limits::default()).await;
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a"), event("b")],
        ))
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    backend.close(store).await;
    let store = backend.open(&place, Limits::default(), clock).await;
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
    assert_verifies(backend, &store).await;
    backend.close(store).await;
}

/// The idempotency keys under a prefix are exactly those that start with it,
/// in byte order (the order of their UTF-8 bytes, whatever a database's
/// collation), each with the positions of its append, at most the number asked
/// for, and the same after reopening. Keys holding characters a pattern
/// language treats specially (`%`, `_`) are plain characters here.
pub async fn idempotency_keys_read_by_prefix_in_byte_order<B: Backend>(backend: &B) {
    // Given appends under keys that share prefixes, in an order unlike byte order
    let (store, place, clock) = new_store(backend, "key-prefix", Limits::default()).await;
    let keyed = [
        ("cmd-é#0", 1),
        ("cmd-a#1", 2),
        ("cmd-Z#0", 1),
        ("cmd-a#0", 1),
        ("cmd-a%#0", 1),
        ("cmd_a#0", 1),
        ("cmd-ab#0", 1),
        ("other#0", 1),
    ];
    for (n, (key, count)) in (0u128..).zip(keyed) {
        let events = (0..count).map(|_| event(key)).collect();
        let mut r = request(stream(n), ExpectedVersion::Exact(0), events);
        r.idempotency_key = Some(key.to_owned());
        store.append(r).await.unwrap();
    }
    // Then a prefix reads its keys only, in byte order, with their positions
    let read = |prefix: &'static str, max: usize| {
        let store = &store;
        async move { store.idempotency_keys(prefix, max).await.unwrap() }
    };
    let owned = |v: &[(&str, Vec<u64>)]| -> Vec<(String, Vec<u64>)> {
        v.iter()
            .map(|(k, p)| ((*k).to_owned(), p.clone()))
            .collect()
    };
    assert_eq!(
        read("cmd-a#", 10).await,
        owned(&[("cmd-a#0", vec![5]), ("cmd-a#1", vec![2, 3])])
    );
    let all_cmd = read("cmd-", 10).await;
    let keys: Vec<&str> = all_cmd.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["cmd-Z#0", "cmd-a#0", "cmd-a#1", "cmd-a%#0", "cmd-ab#0", "cmd-é#0"]
    );
    assert_eq!(read("cmd-", 2).await, all_cmd[..2].to_vec());
    assert_eq!(read("cmd_", 10).await, owned(&[("cmd_a#0", vec![7])]));
    assert_eq!(read("cmd-a%", 10).await, owned(&[("cmd-a%#0", vec![6])]));
    assert_eq!(read("cmd-é#0", 10).await, owned(&[("cmd-é#0", vec![1])]));
    assert!(read("cmd-b", 10).await.is_empty());
    assert_eq!(read("", 100).await.len(), keyed.len());
    // And the same after reopening
    backend.close(store).await;
    let store = backend.open(&place, Limits::default(), clock).await;
    assert_eq!(
        store.idempotency_keys("cmd-a#", 10).await.unwrap(),
        owned(&[("cmd-a#0", vec![5]), ("cmd-a#1", vec![2, 3])])
    );
    backend.close(store).await;
}

/// Bytes of the large derived blob of the check below: more than one chunk of
/// either durable backend (4 MiB), not a multiple of it.
const DERIVED_TEST_BYTES: usize = 9 * 1024 * 1024 + 17;

/// Derived data is kept apart from the log: absent until written, read back
/// whole (a blob larger than a backend's chunks too), replaced whole, one name
/// independent of another, durable across a reopen, and never in the log (the
/// head does not move and the backend's own check passes).
pub async fn derived_data_kept_apart_from_the_log<B: Backend>(backend: &B) {
    // Given a store with one event
    let (store, place, clock) = new_store(backend, "derived", Limits::default()).await;
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a")],
        ))
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    assert_eq!(store.read_derived("snapshot").await.unwrap(), None);
    // When a large blob and a small one are written, then the large one replaced
    let large: Vec<u8> = (0..DERIVED_TEST_BYTES).map(|i| (i % 251) as u8).collect();
    store.write_derived("snapshot", &large).await.unwrap();
    store.write_derived("other", b"kept").await.unwrap();
    assert_eq!(store.read_derived("snapshot").await.unwrap(), Some(large));
    store.write_derived("snapshot", b"smaller").await.unwrap();
    // Then each reads back whole, the log is untouched, and a reopen keeps them
    assert_eq!(
        store.read_derived("snapshot").await.unwrap().as_deref(),
        Some(&b"smaller"[..])
    );
    assert_eq!(store.head().await.unwrap(), head);
    assert_verifies(backend, &store).await;
    backend.close(store).await;
    let store = backend.open(&place, Limits::default(), clock).await;
    assert_eq!(
        store.read_derived("snapshot").await.unwrap().as_deref(),
        Some(&b"smaller"[..])
    );
    assert_eq!(
        store.read_derived("other").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(read_all(&store, 1).await.len(), 1);
    backend.close(store).await;
}

/// Keyed derived data: absent until written, read by key in the order asked
/// and by prefix in key order, a batch applied whole (sets and removals
/// together), a clearing batch that starts the space again, one space apart
/// from another, durable across a reopen, and never in the log.
pub async fn keyed_derived_entries_written_in_atomic_batches<B: Backend>(backend: &B) {
    use crate::DerivedBatch;
    let set = |k: &[u8], v: &[u8]| (k.to_vec(), Some(v.to_vec()));
    // Given a store with one event
    let (store, place, clock) = new_store(backend, "derived-keyed", Limits::default()).await;
    store
        .append(request(
            stream(1),
            ExpectedVersion::Exact(0),
            vec![event("a")],
        ))
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    let keys = vec![b"c\x01".to_vec(), b"m".to_vec()];
    assert_eq!(
        store.read_derived_entries("states", &keys).await.unwrap(),
        vec![None, None]
    );
    // When a batch sets entries, another sets and removes some, another space is written
    let first = DerivedBatch {
        clear: false,
        entries: vec![
            set(b"c\x01", b"one"),
            set(b"c\x02", b"two"),
            set(b"c\xff", b"last"),
            set(b"p\x01", b"person"),
            set(b"m", b"meta-1"),
        ],
    };
    store.write_derived_entries("states", &first).await.unwrap();
    let second = DerivedBatch {
        clear: false,
        entries: vec![
            (b"c\x02".to_vec(), None),
            set(b"c\x01", b"one-b"),
            set(b"m", b"meta-2"),
        ],
    };
    store
        .write_derived_entries("states", &second)
        .await
        .unwrap();
    store
        .write_derived_entries(
            "other",
            &DerivedBatch {
                clear: false,
                entries: vec![set(b"c\x01", b"elsewhere")],
            },
        )
        .await
        .unwrap();
    // Then keys read back as last written, in the order asked; a prefix in key order
    let asked = vec![b"m".to_vec(), b"c\x02".to_vec(), b"c\x01".to_vec()];
    let expect_read = vec![Some(b"meta-2".to_vec()), None, Some(b"one-b".to_vec())];
    assert_eq!(
        store.read_derived_entries("states", &asked).await.unwrap(),
        expect_read
    );
    let expect_scan = vec![
        (b"c\x01".to_vec(), b"one-b".to_vec()),
        (b"c\xff".to_vec(), b"last".to_vec()),
    ];
    assert_eq!(
        store.scan_derived_entries("states", b"c").await.unwrap(),
        expect_scan
    );
    assert_eq!(store.head().await.unwrap(), head);
    assert_verifies(backend, &store).await;
    // And after a reopen; a clearing batch leaves only its own entries, in its space only
    backend.close(store).await;
    let store = backend.open(&place, Limits::default(), clock).await;
    assert_eq!(
        store.read_derived_entries("states", &asked).await.unwrap(),
        expect_read
    );
    store
        .write_derived_entries(
            "states",
            &DerivedBatch {
                clear: true,
                entries: vec![set(b"m", b"meta-3")],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.scan_derived_entries("states", b"").await.unwrap(),
        vec![(b"m".to_vec(), b"meta-3".to_vec())]
    );
    assert_eq!(
        store.scan_derived_entries("other", b"").await.unwrap(),
        vec![(b"c\x01".to_vec(), b"elsewhere".to_vec())]
    );
    assert_eq!(read_all(&store, 1).await.len(), 1);
    backend.close(store).await;
}

/// Tasks racing for each version.
const RACE_TASKS: usize = 16;
/// Versions raced for.
const RACE_ROUNDS: u64 = 20;

/// Many tasks append expecting the same version: exactly one wins each round,
/// the others are told the actual version. Needs a multi-threaded runtime.
pub async fn exactly_one_writer_wins_each_expected_version<B: Backend>(backend: &B) {
    // Given one stream and many tasks
    let (store, _place, _) = new_store(backend, "race-version", Limits::default()).await;
    let store = Arc::new(store);
    let s = stream(1);
    let mut won_positions = Vec::new();
    for version in 0..RACE_ROUNDS {
        // When every task appends expecting the same version
        let mut handles = Vec::new();
        for t in 0..RACE_TASKS {
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
    assert_eq!(seqs, (1..=RACE_ROUNDS).collect::<Vec<_>>());
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    assert_eq!(positions, won_positions);
    assert_eq!(store.head().await.unwrap().position, RACE_ROUNDS);
    assert_verifies(backend, &store).await;
}

/// One keyed append sent by many tasks at once is written once; every other
/// call, and a later retry, is answered `AlreadyAppended`. Needs a
/// multi-threaded runtime.
pub async fn one_append_per_idempotency_key_under_concurrent_retries<B: Backend>(backend: &B) {
    // Given an append with a key, sent by many tasks at once
    let (store, _place, _) = new_store(backend, "race-idem", Limits::default()).await;
    let store = Arc::new(store);
    let mut r = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("pay-once")],
    );
    r.idempotency_key = Some("payment-42".into());
    let mut handles = Vec::new();
    for _ in 0..RACE_TASKS {
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
    assert_eq!((appended, already), (1, RACE_TASKS - 1));
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

/// Events of the tampered store.
const TAMPER_EVENTS: u64 = 50;
/// The record tampered with (not the head, which an opening store may check).
const TAMPERED: u64 = 17;

/// A record whose stored bytes changed is refused by every reader, naming its
/// position: the `read_all` stream stops there, `read_log` and `read_stream`
/// fail with it.
pub async fn tampered_record_refused_naming_its_position<B: Backend>(backend: &B) {
    // Given a store of 50 events over three streams, closed
    let (store, place, clock) = new_store(backend, "tamper", Limits::default()).await;
    for i in 0..TAMPER_EVENTS {
        let r = request(
            stream(u128::from(i % 3)),
            ExpectedVersion::Any,
            vec![event(&format!("e{i}"))],
        );
        store.append(r).await.unwrap();
    }
    backend.close(store).await;
    // When one byte of record 17's JSON changes behind the store's back
    backend.tamper(&place, TAMPERED, 5).await;
    let store = backend.open(&place, Limits::default(), clock).await;
    // Then the log stream returns the records before it and stops with its position
    let mut s = store.read_all(1);
    let mut last_ok = 0;
    let mut refused = None;
    while let Some(item) = next_envelope(&mut s).await {
        match item {
            Ok(e) => last_ok = e.position,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    drop(s);
    assert_eq!(last_ok, TAMPERED - 1);
    assert!(
        matches!(
            refused,
            Some(StoreError::Corrupt {
                position: TAMPERED,
                ..
            })
        ),
        "{refused:?}"
    );
    // And the whole-log read and the read of its stream refuse it too
    let err = store.read_log(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                position: TAMPERED,
                ..
            }
        ),
        "{err}"
    );
    let its_stream = stream(u128::from((TAMPERED - 1) % 3));
    let err = store
        .read_stream(its_stream, 1..=u64::MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                position: TAMPERED,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        backend.verify(&store).await.is_err(),
        "the backend's check misses it"
    );
    backend.close(store).await;
}

/// The sizes at which the tamper-evidence checks compare the store's tree
/// with the records' (powers of two, and sizes around and between them).
pub const TREE_SIZES: [u64; 12] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 45];

/// A store of 45 events over three streams, appended one by one, in appends of
/// three, and eight appends at once (a group commit).
async fn tree_store<B: Backend>(backend: &B, name: &str) -> (B::Store, B::Place) {
    let (store, place, _) = new_store(backend, name, Limits::default()).await;
    let mut i: u64 = 0;
    while i < 37 {
        let k = if i % 7 == 3 { 3 } else { 1 };
        let events = (0..k).map(|j| event(&format!("e{}", i + j))).collect();
        let r = request(stream(u128::from(i % 3)), ExpectedVersion::Any, events);
        store.append(r).await.unwrap();
        i += k;
    }
    let store = Arc::new(store);
    let at_once: Vec<_> = (0..8u64)
        .map(|j| {
            let s = store.clone();
            let r = request(
                stream(u128::from(j % 3)),
                ExpectedVersion::Any,
                vec![event(&format!("g{j}"))],
            );
            tokio::spawn(async move { s.append(r).await })
        })
        .collect();
    for h in at_once {
        h.await.unwrap().unwrap();
    }
    let Ok(store) = Arc::try_unwrap(store) else {
        panic!("every append is done");
    };
    (store, place)
}

/// The leaves an auditor computes from the envelopes alone: each record
/// encoded again (its hash must be the stored one), its canonical JSON hashed.
fn leaves_of(envelopes: &[Envelope]) -> Vec<navigo_merkle::Hash> {
    envelopes
        .iter()
        .map(|e| {
            let a = navigo_events_schema::Assigned {
                stream: e.stream,
                stream_seq: e.stream_seq,
                position: e.position,
                recorded_at: e.recorded_at,
                idempotency_key: e.idempotency_key.as_deref(),
                prev_hash: e.prev_hash,
            };
            let (bytes, hash) = navigo_events_schema::encode_record(&a, &e.clone().into_new())
                .expect("a stored event encodes again");
            assert_eq!(hash, e.hash, "position {}", e.position);
            navigo_merkle::leaf_hash(&bytes[navigo_events_schema::envelope::HASH_LEN..])
        })
        .collect()
}

/// The tree the store keeps is RFC 6962's over the canonical records: its root
/// at sizes that are and are not powers of two is a memory tree's over the
/// records read back, every inclusion and consistency proof checks against
/// it, the record an inclusion proof returns is the record read, and nothing
/// beyond the head is answered; the tree survives a reopen.
pub async fn merkle_tree_is_the_tree_of_the_records<B: Backend>(backend: &B) {
    // Given a store of 45 events appended singly, in threes and at once
    let (store, place) = tree_store(backend, "merkle-tree").await;
    let envelopes = read_all(&store, 1).await;
    let leaves = leaves_of(&envelopes);
    backend.close(store).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let store = backend.open(&place, Limits::default(), clock).await;
    for size in TREE_SIZES {
        // When the store gives the tree head of `size` records
        let head = store.tree_head(size).await.unwrap();
        // Then it is the tree of the first `size` records
        let expected = navigo_merkle::MemoryTree::from_leaves(leaves[..size as usize].to_vec());
        assert_eq!(head.root, expected.root(), "size {size}");
        // And every inclusion proof leads to it, with the record's leaf
        for position in 1..=size {
            let (proof, record) = store.prove_inclusion(size, position).await.unwrap();
            proof.check(head).unwrap();
            assert_eq!(proof.leaf, leaves[position as usize - 1]);
            assert_eq!(navigo_merkle::leaf_hash(&record), proof.leaf);
        }
        // And every older tree is consistent with it
        for old in TREE_SIZES.into_iter().filter(|o| *o <= size) {
            let old_head = store.tree_head(old).await.unwrap();
            let proof = store.prove_consistency(old, size).await.unwrap();
            proof.check(old_head, head).unwrap();
        }
    }
    // And nothing beyond the head is answered
    assert!(store.tree_head(46).await.is_err());
    assert!(store.prove_inclusion(45, 46).await.is_err());
    assert!(store.prove_inclusion(46, 1).await.is_err());
    assert!(store.prove_consistency(3, 46).await.is_err());
    assert_verifies(backend, &store).await;
    backend.close(store).await;
}

/// The stream-head map as of any size is each stream's last record within it.
pub async fn merkle_stream_heads_are_the_heads_the_records_give<B: Backend>(backend: &B) {
    // Given a store of 45 events over three streams
    let (store, _place) = tree_store(backend, "merkle-heads").await;
    let envelopes = read_all(&store, 1).await;
    for size in TREE_SIZES {
        // When the store gives the stream-head map as of `size` records
        let heads = store.stream_heads(size).await.unwrap();
        // Then it is the map of each stream's last record within `size`
        let expected = navigo_merkle::StreamHeads::new(
            envelopes
                .iter()
                .filter(|e| e.position <= size)
                .map(|e| navigo_merkle::StreamHead {
                    stream: e.stream.to_string(),
                    version: e.stream_seq,
                    last_position: e.position,
                })
                .collect(),
        );
        assert_eq!(heads.root(), expected.root(), "size {size}");
        assert_eq!(heads.len(), size.min(3), "size {size}");
    }
    // And a size beyond the head is refused
    assert!(store.stream_heads(46).await.is_err());
    backend.close(store).await;
}

/// Checkpoints kept by concurrent keepers are each kept once, numbered from 1
/// in the order kept, listed oldest first, and outlive a reopen.
pub async fn merkle_checkpoints_kept_numbered_in_order<B: Backend>(backend: &B) {
    // Given a store and checkpoints kept by two keepers at once
    let (store, place, clock) = new_store(backend, "merkle-kept", Limits::default()).await;
    assert!(store.checkpoints().await.unwrap().is_empty());
    let store = Arc::new(store);
    let keepers: Vec<_> = (0..2u8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut numbers = Vec::new();
                for i in 0..5u8 {
                    numbers.push(store.keep_checkpoint(&[w, i]).await.unwrap());
                }
                numbers
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for k in keepers {
        numbers.extend(k.await.unwrap());
    }
    numbers.sort_unstable();
    // Then every one is kept once under its own number, each keeper's in order
    assert_eq!(numbers, (1..=10).collect::<Vec<u64>>());
    let kept = store.checkpoints().await.unwrap();
    assert_eq!(kept.len(), 10);
    for w in 0..2u8 {
        let mine: Vec<u8> = kept.iter().filter(|k| k[0] == w).map(|k| k[1]).collect();
        assert_eq!(mine, (0..5).collect::<Vec<_>>());
    }
    // And the next is number 11, and all are there after a reopen
    assert_eq!(store.keep_checkpoint(b"last").await.unwrap(), 11);
    let Ok(store) = Arc::try_unwrap(store) else {
        panic!("the keepers are done");
    };
    backend.close(store).await;
    let store = backend.open(&place, Limits::default(), clock).await;
    let again = store.checkpoints().await.unwrap();
    assert_eq!(again.len(), 11);
    assert_eq!(again[..10], kept[..]);
    assert_eq!(again[10], b"last".to_vec());
    backend.close(store).await;
}

/// Streams the random operations pick from.
pub const STREAMS: u128 = 4;

/// One random operation of the property tests.
#[derive(Debug, Clone)]
pub enum Op {
    /// Append `n` events to a stream; `stale` asks for a version off by one.
    Append {
        /// The stream's number.
        stream: u128,
        /// Events.
        n: usize,
        /// With an exact expected version, else `Any`.
        exact: bool,
        /// With an expected version the stream cannot be at.
        stale: bool,
    },
    /// Read one stream.
    ReadStream {
        /// The stream's number.
        stream: u128,
    },
    /// Read the log from a position.
    ReadAll {
        /// The first position read.
        from: u64,
    },
}

/// Random operations.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..STREAMS, 1..4usize, any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(stream, n, exact, stale)| Op::Append { stream, n, exact, stale }),
        1 => (0..STREAMS).prop_map(|stream| Op::ReadStream { stream }),
        1 => (0..40u64).prop_map(|from| Op::ReadAll { from }),
    ]
}

/// A runtime for the property tests, which drive async stores from sync code.
///
/// # Panics
/// When the runtime cannot start.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Checks the whole store against the event ids each stream should hold.
async fn check_consistent<B: Backend>(
    backend: &B,
    store: &B::Store,
    model: &HashMap<u128, Vec<Uuid>>,
) {
    let all = read_all(store, 1).await;
    let head = store.head().await.unwrap();
    assert_eq!(all.len() as u64, head.position);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are gapless");
    }
    for s in 0..STREAMS {
        let events = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        assert_eq!(&ids, model.get(&s).unwrap_or(&Vec::new()), "stream {s}");
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.stream_seq, i as u64 + 1);
            assert_eq!(
                &all[e.position as usize - 1],
                e,
                "read_stream agrees with read_all"
            );
        }
    }
    assert_verifies(backend, store).await;
}

/// Random sequences of appends and reads, one at a time, against a model of
/// what each stream holds.
pub async fn sequential_operations_match_a_model<B: Backend>(backend: &B, ops: Vec<Op>) {
    let (store, _place, _) = new_store(backend, "prop-seq", Limits::default()).await;
    let mut model: HashMap<u128, Vec<Uuid>> = HashMap::new();
    let mut head = 0u64;
    for op in ops {
        match op {
            Op::Append {
                stream: s,
                n,
                exact,
                stale,
            } => {
                let version = model.get(&s).map_or(0, |v| v.len() as u64);
                let expected = match (exact, stale) {
                    (_, true) => ExpectedVersion::Exact(version + 1),
                    (true, false) => ExpectedVersion::Exact(version),
                    (false, false) => ExpectedVersion::Any,
                };
                let events: Vec<_> = (0..n).map(|_| event("p")).collect();
                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                let out = store.append(request(stream(s), expected, events)).await;
                if stale {
                    assert!(
                        matches!(out, Err(StoreError::Conflict { actual, .. }) if actual == version)
                    );
                } else {
                    let want: Vec<u64> = (head + 1..=head + n as u64).collect();
                    assert_eq!(
                        out.unwrap(),
                        AppendOutcome::Appended {
                            positions: want,
                            stream_version: version + n as u64,
                        }
                    );
                    head += n as u64;
                    model.entry(s).or_default().extend(ids);
                }
            }
            Op::ReadStream { stream: s } => {
                let got = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
                let ids: Vec<Uuid> = got.iter().map(|e| e.event_id).collect();
                assert_eq!(&ids, model.get(&s).unwrap_or(&Vec::new()));
            }
            Op::ReadAll { from } => {
                let got = read_all(&store, from).await;
                let want: Vec<u64> = (from.max(1)..=head).collect();
                assert_eq!(got.iter().map(|e| e.position).collect::<Vec<_>>(), want);
            }
        }
    }
    check_consistent(backend, &store, &model).await;
    backend.close(store).await;
}

/// One operation of a concurrent group: what it appended, if anything.
async fn run_concurrently<S: EventStore>(
    store: Arc<S>,
    op: Op,
) -> Option<(u128, Vec<u64>, Vec<Uuid>)> {
    match op {
        Op::Append {
            stream: s,
            n,
            exact,
            stale,
        } => {
            let v = store.stream_version(stream(s)).await.unwrap();
            let expected = match (exact, stale) {
                (_, true) => ExpectedVersion::Exact(v + 7),
                (true, false) => ExpectedVersion::Exact(v),
                (false, false) => ExpectedVersion::Any,
            };
            let events: Vec<_> = (0..n).map(|_| event("c")).collect();
            let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            match store.append(request(stream(s), expected, events)).await {
                Ok(out) => Some((s, out.positions().to_vec(), ids)),
                Err(StoreError::Conflict { .. }) => None,
                Err(e) => panic!("{e}"),
            }
        }
        Op::ReadStream { stream: s } => {
            let evs = store.read_stream(stream(s), 1..=u64::MAX).await.unwrap();
            for (i, e) in evs.iter().enumerate() {
                assert_eq!(e.stream_seq, i as u64 + 1);
            }
            None
        }
        Op::ReadAll { from } => {
            let evs = read_all(&*store, from).await;
            for (i, e) in evs.iter().enumerate() {
                assert_eq!(e.position, from.max(1) + i as u64);
            }
            None
        }
    }
}

/// Groups of random operations, the operations of a group at once in whatever
/// order the runtime and the store interleave them: accepted appends own
/// contiguous positions that together are `1..=head`, and each stream holds
/// exactly its accepted events.
pub async fn concurrent_interleavings_keep_positions_gapless<B: Backend>(
    backend: &B,
    groups: Vec<Vec<Op>>,
) {
    let (store, _place, _) = new_store(backend, "prop-conc", Limits::default()).await;
    let store = Arc::new(store);
    // Every append that succeeded, with its event ids, by stream.
    let mut accepted: Vec<(u128, Vec<u64>, Vec<Uuid>)> = Vec::new();
    for group in groups {
        let handles: Vec<_> = group
            .into_iter()
            .map(|op| tokio::spawn(run_concurrently(store.clone(), op)))
            .collect();
        for h in handles {
            if let Some(a) = h.await.unwrap() {
                accepted.push(a);
            }
        }
    }
    // Each accepted append owns contiguous positions; together they are 1..=head.
    let mut positions: Vec<u64> = accepted.iter().flat_map(|a| a.1.clone()).collect();
    positions.sort_unstable();
    let head = store.head().await.unwrap().position;
    assert_eq!(positions, (1..=head).collect::<Vec<_>>());
    // Each stream holds exactly its accepted events, in position order.
    let mut model: HashMap<u128, Vec<(u64, Uuid)>> = HashMap::new();
    for (s, pos, ids) in &accepted {
        model
            .entry(*s)
            .or_default()
            .extend(pos.iter().copied().zip(ids.iter().copied()));
    }
    let model: HashMap<u128, Vec<Uuid>> = model
        .into_iter()
        .map(|(s, mut v)| {
            v.sort_unstable();
            (s, v.into_iter().map(|(_, id)| id).collect())
        })
        .collect();
    check_consistent(backend, &store, &model).await;
}

/// Expands to one test per check of this suite, each against the backend the
/// expression given builds (evaluated once per test). The caller needs `tokio`
/// and `proptest` as dev-dependencies.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        #[tokio::test]
        async fn store_assigns_gapless_positions_and_stream_sequences() {
            $crate::conformance::gapless_positions_and_stream_sequences(&$backend).await;
        }

        #[tokio::test]
        async fn store_append_stored_returns_exactly_the_envelopes_read_stream_returns() {
            $crate::conformance::append_stored_returns_what_read_stream_returns(&$backend).await;
        }

        #[tokio::test]
        async fn store_refuses_a_stale_expected_version_with_the_actual_one() {
            $crate::conformance::stale_expected_version_refused_with_the_actual_one(&$backend)
                .await;
        }

        #[tokio::test]
        async fn store_answers_a_retry_with_the_same_key_already_appended() {
            $crate::conformance::retry_with_the_same_key_already_appended(&$backend).await;
        }

        #[tokio::test]
        async fn store_refuses_an_import_instant_earlier_than_the_head() {
            $crate::conformance::import_instant_earlier_than_the_head_refused(&$backend).await;
        }

        #[tokio::test]
        async fn store_clamps_a_clock_stepped_back_to_the_head_instant() {
            $crate::conformance::clock_stepped_back_clamped_to_the_head_instant(&$backend).await;
        }

        #[tokio::test]
        async fn store_refuses_appends_beyond_its_named_limits() {
            $crate::conformance::appends_beyond_named_limits_refused(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn store_refuses_one_request_of_a_group_commit_without_failing_the_others() {
            $crate::conformance::one_refused_request_does_not_fail_its_group(&$backend).await;
        }

        #[tokio::test]
        async fn store_recovers_head_and_versions_on_reopen() {
            $crate::conformance::head_and_versions_recovered_on_reopen(&$backend).await;
        }

        #[tokio::test]
        async fn store_reads_idempotency_keys_by_prefix_in_byte_order() {
            $crate::conformance::idempotency_keys_read_by_prefix_in_byte_order(&$backend).await;
        }

        #[tokio::test]
        async fn store_keeps_derived_data_apart_from_the_log() {
            $crate::conformance::derived_data_kept_apart_from_the_log(&$backend).await;
        }

        #[tokio::test]
        async fn store_writes_keyed_derived_entries_in_atomic_batches() {
            $crate::conformance::keyed_derived_entries_written_in_atomic_batches(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn store_lets_exactly_one_writer_win_each_expected_version() {
            $crate::conformance::exactly_one_writer_wins_each_expected_version(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn store_appends_one_event_for_one_idempotency_key_under_concurrent_retries() {
            $crate::conformance::one_append_per_idempotency_key_under_concurrent_retries(&$backend)
                .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn merkle_tree_kept_by_the_store_is_the_tree_of_the_records_at_every_size() {
            $crate::conformance::merkle_tree_is_the_tree_of_the_records(&$backend).await;
        }

        #[tokio::test]
        async fn merkle_stream_heads_at_every_size_are_the_heads_the_records_give() {
            $crate::conformance::merkle_stream_heads_are_the_heads_the_records_give(&$backend)
                .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn merkle_checkpoints_are_kept_numbered_in_order_and_outlive_a_reopen() {
            $crate::conformance::merkle_checkpoints_kept_numbered_in_order(&$backend).await;
        }

        #[tokio::test]
        async fn store_refuses_a_tampered_record_in_every_read_naming_its_position() {
            $crate::conformance::tampered_record_refused_naming_its_position(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn store_stores_sealed_records_as_they_are_with_what_it_derives() {
            $crate::conformance::sealed::sealed_records_stored_as_they_are(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn store_refuses_sealed_records_unless_the_next_ones_writing_nothing() {
            $crate::conformance::sealed::sealed_records_refused_unless_the_next_ones(&$backend)
                .await;
        }

        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                cases: 24,
                ..proptest::prelude::ProptestConfig::default()
            })]

            #[test]
            fn store_sequential_operations_match_a_model(
                ops in proptest::collection::vec($crate::conformance::op(), 1..40)
            ) {
                $crate::conformance::runtime().block_on(
                    $crate::conformance::sequential_operations_match_a_model(&$backend, ops),
                );
            }

            #[test]
            fn store_concurrent_interleavings_keep_positions_gapless(
                groups in proptest::collection::vec(
                    proptest::collection::vec($crate::conformance::op(), 1..12),
                    1..6,
                )
            ) {
                $crate::conformance::runtime().block_on(
                    $crate::conformance::concurrent_interleavings_keep_positions_gapless(
                        &$backend, groups,
                    ),
                );
            }
        }
    };
}
