//! The checks of [`EventStore::import_sealed`]: records another store sealed
//! are stored as they are (positions, sequences, instants, hashes, the tree,
//! the idempotency index rebuilt), and a record that is not the next one of
//! the log, or does not verify, is refused with nothing written.

use super::*;

/// The records `from..=to` of `store` as another store sealed them: each
/// `hash ‖ canonical JSON`, from the trait alone (an inclusion proof returns
/// the canonical record, a read its hash).
///
/// # Panics
/// On a read error (the suite's stores are sound unless tampered with).
pub async fn sealed_records<S: EventStore>(store: &S, from: u64, to: u64) -> Vec<Vec<u8>> {
    let head = store.head().await.unwrap().position;
    let mut out = Vec::new();
    let all = read_all(store, from).await;
    for e in all.into_iter().take_while(|e| e.position <= to) {
        let (_, canonical) = store.prove_inclusion(head, e.position).await.unwrap();
        let mut record = e.hash.0.to_vec();
        record.extend_from_slice(&canonical);
        out.push(record);
    }
    out
}

/// A source log of 9 records: keyed appends of one and of three events,
/// unkeyed ones, three streams, instants that move on.
async fn source<B: Backend>(backend: &B, name: &str) -> (B::Store, Arc<ManualClock>) {
    let (store, _place, clock) = new_store(backend, name, Limits::default()).await;
    let mut keyed = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("k1"), event("k2"), event("k3")],
    );
    keyed.idempotency_key = Some("cmd-1#0@f".into());
    store.append(keyed).await.unwrap();
    clock.set(t0() + Duration::seconds(5));
    let plain = request(stream(2), ExpectedVersion::Any, vec![event("p1")]);
    store.append(plain).await.unwrap();
    let mut one = request(stream(1), ExpectedVersion::Exact(3), vec![event("k4")]);
    one.idempotency_key = Some("cmd-2#0@f".into());
    store.append(one).await.unwrap();
    clock.set(t0() + Duration::milliseconds(7_250));
    for tag in ["q1", "q2", "q3"] {
        let r = request(stream(3), ExpectedVersion::Any, vec![event(tag)]);
        store.append(r).await.unwrap();
    }
    let mut last = request(stream(2), ExpectedVersion::Exact(1), vec![event("p2")]);
    last.idempotency_key = Some("cmd-3#0@f".into());
    store.append(last).await.unwrap();
    (store, clock)
}

/// An import refused at `at`.
fn assert_refused_at(e: StoreError, at: u64) {
    match e {
        StoreError::ImportRefused { position, .. } if position == at => {}
        other => panic!("expected a refusal at {at}, got {other}"),
    }
}

/// Records imported in two calls (cut between two appends) are the source's
/// byte for byte: the same envelopes and hashes, tree roots, stream versions
/// and heads, idempotency keys; a retry of a keyed append is answered with
/// its first positions (the digest rebuilt from the records), other content
/// under its key refused; appends go on after the imported head; the store's
/// own check passes, after a reopen too.
pub async fn sealed_records_stored_as_they_are<B: Backend>(backend: &B) {
    // Given a source log and its sealed records
    let (src, _) = source(backend, "sealed-src").await;
    let records = sealed_records(&src, 1, 9).await;
    // When an empty store takes them in, in two calls
    let (dst, place, clock) = new_store(backend, "sealed-dst", Limits::default()).await;
    let head4 = dst.import_sealed(records[..4].to_vec()).await.unwrap();
    let head9 = dst.import_sealed(records[4..].to_vec()).await.unwrap();
    // Then it holds the source's log exactly
    let want = read_all(&src, 1).await;
    assert_eq!(head4.hash, want[3].hash);
    assert_eq!(head9, src.head().await.unwrap());
    assert_eq!(read_all(&dst, 1).await, want);
    assert_eq!(sealed_records(&dst, 1, 9).await, records);
    for size in [1, 4, 5, 9] {
        let (a, b) = (src.tree_head(size).await, dst.tree_head(size).await);
        assert_eq!(a.unwrap(), b.unwrap(), "tree of {size}");
    }
    let heads = src.stream_heads(9).await.unwrap().head();
    assert_eq!(dst.stream_heads(9).await.unwrap().head(), heads);
    for n in 1..=3 {
        let (a, b) = (src.stream_version(stream(n)), dst.stream_version(stream(n)));
        assert_eq!(a.await.unwrap(), b.await.unwrap(), "stream {n}");
    }
    let keys = dst.idempotency_keys("cmd-", 10).await.unwrap();
    assert_eq!(keys, src.idempotency_keys("cmd-", 10).await.unwrap());
    assert_eq!(keys[0], ("cmd-1#0@f".to_owned(), vec![1, 2, 3]));
    assert_verifies(backend, &dst).await;
    // And a retry of an imported keyed append is the append already made
    let mut retry = request(
        stream(1),
        ExpectedVersion::Exact(0),
        vec![event("k1"), event("k2"), event("k3")],
    );
    retry.idempotency_key = Some("cmd-1#0@f".into());
    let out = dst.append(retry.clone()).await.unwrap();
    let first = vec![1, 2, 3];
    assert_eq!(out, AppendOutcome::AlreadyAppended { positions: first });
    retry.events.pop();
    let err = dst.append(retry).await.unwrap_err();
    let conflict = matches!(err, StoreError::IdempotencyConflict { .. });
    assert!(conflict, "{err}");
    // And the next append follows the imported head
    clock.set(t0() + Duration::seconds(60));
    let next = request(stream(1), ExpectedVersion::Exact(4), vec![event("n")]);
    assert_eq!(dst.append(next).await.unwrap().positions(), &[10]);
    let tenth = read_all(&dst, 10).await;
    assert_eq!(tenth[0].prev_hash, head9.hash);
    backend.close(dst).await;
    let dst = backend.open(&place, Limits::default(), clock).await;
    assert_eq!(dst.head().await.unwrap().position, 10);
    assert_verifies(backend, &dst).await;
    backend.close(dst).await;
    backend.close(src).await;
}

/// A record that is not the next one is refused naming its position, and so
/// is one whose bytes do not hash to its hash; nothing of the call is
/// written, records before the bad one included.
pub async fn sealed_records_refused_unless_the_next_ones<B: Backend>(backend: &B) {
    // Given a source log and a store holding its first 4 records
    let (src, _) = source(backend, "sealed-bad-src").await;
    let records = sealed_records(&src, 1, 9).await;
    let (dst, _place, _) = new_store(backend, "sealed-bad-dst", Limits::default()).await;
    dst.import_sealed(records[..4].to_vec()).await.unwrap();
    let head = dst.head().await.unwrap();
    // When a record is skipped, or one already held is given again
    let skipped = dst.import_sealed(records[5..7].to_vec()).await;
    assert_refused_at(skipped.unwrap_err(), 6);
    let again = dst.import_sealed(records[3..5].to_vec()).await;
    assert_refused_at(again.unwrap_err(), 4);
    // When a call's third record has one bit of its JSON changed
    let mut tampered = records[4..8].to_vec();
    let last = tampered[2].len() - 3;
    tampered[2][last] ^= 0x01;
    let err = dst.import_sealed(tampered).await.unwrap_err();
    let corrupt = matches!(err, StoreError::Corrupt { position: 7, .. });
    assert!(corrupt, "{err}");
    // When the records of another log are given (the same positions, another chain)
    let (other, _) = source(backend, "sealed-bad-other").await;
    let foreign = sealed_records(&other, 5, 6).await;
    assert_refused_at(dst.import_sealed(foreign).await.unwrap_err(), 5);
    // Then nothing was written by any of them
    assert_eq!(dst.head().await.unwrap(), head);
    assert_eq!(read_all(&dst, 1).await.len(), 4);
    assert!(dst.import_sealed(Vec::new()).await.is_err());
    // And a store whose own record follows the head refuses the source's next one
    let mine = request(stream(7), ExpectedVersion::Any, vec![event("mine")]);
    dst.append(mine).await.unwrap();
    let after_mine = dst.import_sealed(records[5..6].to_vec()).await;
    assert_refused_at(after_mine.unwrap_err(), 6);
    // And the whole source still goes into an empty store
    let (fresh, _place, _) = new_store(backend, "sealed-bad-fresh", Limits::default()).await;
    fresh.import_sealed(records).await.unwrap();
    assert_verifies(backend, &fresh).await;
    for s in [dst, fresh, other, src] {
        backend.close(s).await;
    }
}
