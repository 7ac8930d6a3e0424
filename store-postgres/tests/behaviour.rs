//! What the PostgreSQL store does beyond the conformance suite: the records it
//! stores are the sled store's byte for byte, several stores (processes) share
//! one database without a gap or a duplicate, a follower never skips or stalls,
//! an append or an import holding the head lock gives up a row another
//! transaction holds (and is made again) instead of deadlocking with it, and
//! a schema that is
//! not a ledger is refused without being touched.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use navigo_events_schema::NewEvent;
use navigo_store::conformance::read_all;
use navigo_store::conformance::sealed::sealed_records;
use navigo_store::{
    next_envelope, AppendOutcome, EventStore, ExpectedVersion, Limits, ManualClock, StoreError,
};
use navigo_store_postgres::{InitOutcome, PgConfig, PgStore};
use navigo_store_sled::SledStore;
use support::*;

/// Another connection to the ledger's database (as another process's append
/// sent in one round trip would be) that has inserted a row at `position`
/// in a transaction left open; with the ledger's quoted schema name.
async fn holding_uncommitted_row(
    config: &PgConfig,
    position: u64,
) -> (tokio_postgres::Client, String) {
    let other = raw().await;
    let s = format!("\"{}\"", config.schema);
    other
        .batch_execute(&format!(
            "BEGIN; INSERT INTO {s}.events (position, stream_kind, stream_id, stream_seq, record) \
             VALUES ({position}, 'contract', '00000000-0000-0000-0000-00000000ffff', 1, '\\x00')"
        ))
        .await
        .unwrap();
    (other, s)
}

#[tokio::test]
async fn store_records_are_byte_for_byte_the_sled_store_records() {
    // Given the same appends (keys, imports, several streams, a clock that
    // moves) sent to a sled store and to a PostgreSQL store
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pg-vs-sled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).unwrap();
    let sled_clock = Arc::new(ManualClock::new(t0()));
    let sled = SledStore::open(&dir, Limits::default(), sled_clock.clone()).unwrap();
    let (pg, _config, pg_clock) = new_store("bytes").await;
    let events: Vec<NewEvent> = (0..12).map(|i| event(&format!("é\"{i}\\€"))).collect();
    for (i, chunk) in events.chunks(3).enumerate() {
        let mut r = request(stream(i as u128 % 2), ExpectedVersion::Any, chunk.to_vec());
        r.idempotency_key = (i % 2 == 0).then(|| format!("key-{i}"));
        r.recorded_at = (i == 2).then(|| t0() + chrono::Duration::nanoseconds(86_400_000_001_500));
        for c in [&sled_clock, &pg_clock] {
            c.set(t0() + chrono::Duration::milliseconds(i as i64 * 7));
        }
        let a = sled.append(r.clone()).await.unwrap();
        let b = pg.append(r).await.unwrap();
        assert_eq!(a, b);
    }
    // Then both logs hold the same envelopes, hashes included: the same bytes
    let from_sled = read_all(&sled, 1).await;
    let from_pg = read_all(&pg, 1).await;
    assert_eq!(from_sled.len(), 12);
    assert_eq!(from_sled, from_pg);
    assert_eq!(sled.head().await.unwrap(), pg.head().await.unwrap());
    sled.close().await.unwrap();
    pg.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tasks per store in the two-store race.
const RACERS: usize = 8;
/// Appends each racer makes.
const RACER_APPENDS: u64 = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_two_stores_on_one_database_keep_positions_gapless_and_versions_exact() {
    // Given two stores (two service instances) on the same ledger
    let config = fresh_place("two").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let open = || PgStore::open(&config, Limits::default(), clock.clone());
    let stores = [
        Arc::new(open().await.unwrap()),
        Arc::new(open().await.unwrap()),
    ];
    // When tasks of both race for the same four streams with exact versions,
    // retrying each conflict with the version they are told
    let mut handles = Vec::new();
    for t in 0..2 * RACERS {
        let store = stores[t % 2].clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..RACER_APPENDS {
                let s = stream((t as u128 + u128::from(i)) % 4);
                let e = event(&format!("t{t}-{i}"));
                let mut expected = store.stream_version(s).await.unwrap();
                loop {
                    let r = request(s, ExpectedVersion::Exact(expected), vec![e.clone()]);
                    match store.append(r).await {
                        Ok(out) => break mine.push((out.positions()[0], e.event_id)),
                        Err(StoreError::Conflict { actual, .. }) => expected = actual,
                        Err(other) => panic!("{other}"),
                    }
                }
            }
            mine
        }));
    }
    let mut acked = BTreeMap::new();
    for h in handles {
        for (position, id) in h.await.unwrap() {
            assert!(
                acked.insert(position, id).is_none(),
                "position {position} twice"
            );
        }
    }
    // Then every append has its own position, together 1..=head, each stream's
    // sequence is gapless, and both stores see the same log
    let n = 2 * RACERS as u64 * RACER_APPENDS;
    assert_eq!(
        acked.keys().copied().collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    let log = read_all(&*stores[0], 1).await;
    assert_eq!(log, read_all(&*stores[1], 1).await);
    for e in &log {
        assert_eq!(acked[&e.position], e.event_id);
    }
    assert!(stores[1].verify().await.unwrap().is_ok());
    // And one keyed append sent to both at once is written once
    let mut r = request(stream(9), ExpectedVersion::Any, vec![event("once")]);
    r.idempotency_key = Some("both".into());
    let (a, b) = tokio::join!(stores[0].append(r.clone()), stores[1].append(r));
    let outcomes = [a.unwrap(), b.unwrap()];
    let appended = outcomes
        .iter()
        .filter(|o| matches!(o, AppendOutcome::Appended { .. }))
        .count();
    assert_eq!(appended, 1);
    assert_eq!(outcomes[0].positions(), outcomes[1].positions());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_follower_never_skips_or_stalls_while_writers_commit() {
    // Given writers appending concurrently, in appends of one to three events
    let (store, _config, _) = new_store("follower").await;
    let store = Arc::new(store);
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..16u128 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..20usize {
                let events = (0..1 + i % 3).map(|_| event("f")).collect();
                let r = request(stream(w), ExpectedVersion::Any, events);
                store.append(r).await.unwrap();
            }
        }));
    }
    // When a follower reads the log again and again from where it stopped
    let follower = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut next = 1u64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let mut s = store.read_all(next);
                while let Some(item) = next_envelope(&mut s).await {
                    // Then it sees every position once, in order
                    assert_eq!(item.unwrap().position, next, "skipped");
                    next += 1;
                }
                if finished {
                    return next - 1;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    // And, once the writers are done, it has reached the head
    let seen = follower.await.unwrap();
    assert_eq!(seen, store.head().await.unwrap().position);
    // Sixteen writers, each seven appends of one event, seven of two, six of three.
    assert_eq!(seen, 16 * (7 + 7 * 2 + 6 * 3));
}

#[tokio::test]
async fn store_refuses_a_schema_that_is_not_a_ledger_without_touching_it() {
    // Given a schema holding someone else's table
    let config = PgConfig::new(
        cluster().connection(DATABASE),
        &format!("notes_{}", std::process::id()),
    )
    .unwrap();
    sql(
        &config,
        "CREATE SCHEMA {s}; CREATE TABLE {s}.notes (body text); \
         INSERT INTO {s}.notes VALUES ('precious')",
    )
    .await;
    let clock = Arc::new(ManualClock::new(t0()));
    // When it is initialised or opened as a ledger, then both are refused
    let err = PgStore::init(&config).await.unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    let err = PgStore::open(&config, Limits::default(), clock.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    // And nothing was written into it
    sql(
        &config,
        "DO $$ BEGIN IF (SELECT count(*) FROM pg_tables WHERE schemaname = \
         (SELECT nspname FROM pg_namespace WHERE oid = '{s}'::regnamespace)) <> 1 \
         THEN RAISE EXCEPTION 'written into'; END IF; END $$",
    )
    .await;
    // A schema that does not exist is refused by open, and not created
    let missing = PgConfig::new(cluster().connection(DATABASE), "no_such_ledger").unwrap();
    let err = PgStore::open(&missing, Limits::default(), clock)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
    // A bad schema name is refused before anything is sent
    assert!(PgConfig::new(cluster().connection(DATABASE), "a\"; DROP").is_err());
}

#[tokio::test]
async fn store_init_answers_already_a_ledger_and_open_refuses_a_newer_format() {
    let config = fresh_place("versions").await;
    assert_eq!(
        PgStore::init(&config).await.unwrap(),
        InitOutcome::AlreadyLedger
    );
    // A ledger written by a later build (the next format version) is not opened
    let later = format!(
        "INSERT INTO {{s}}.schema_migrations (version, name) VALUES ({}, 'later')",
        navigo_store_postgres::VERSION + 1
    );
    sql(&config, &later).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let err = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotALedger { why, .. } if why.contains("newer")),
        "{err}"
    );
    let err = PgStore::init(&config).await.unwrap_err();
    assert!(matches!(err, StoreError::NotALedger { .. }), "{err}");
}

#[tokio::test]
async fn store_answers_an_error_not_an_ack_when_its_transaction_rolls_back() {
    // Given a ledger of one event, and a row slipped in at position 2 behind
    // the store's back (as a writer that ignored the head lock would)
    let (store, config, _) = new_store("rollback").await;
    store
        .append(request(stream(1), ExpectedVersion::Any, vec![event("a")]))
        .await
        .unwrap();
    sql(
        &config,
        "INSERT INTO {s}.events VALUES (2, 'contract', gen_random_uuid(), 1, '\\x00')",
    )
    .await;
    // When the store appends: its insert fails, and PostgreSQL answers the
    // commit pipelined after it by rolling back
    let mut r = request(stream(2), ExpectedVersion::Exact(0), vec![event("b")]);
    r.idempotency_key = Some("rolled-back".into());
    let err = store.append(r.clone()).await.unwrap_err();
    // Then the append is answered with the error, and nothing of it is written
    assert!(
        matches!(&err, StoreError::Storage(why) if why.contains("rolled back")),
        "{err}"
    );
    assert_eq!(store.head().await.unwrap().position, 1);
    assert_eq!(store.stream_version(stream(2)).await.unwrap(), 0);
    // And once the intruder is gone the same append goes through, at position 2
    sql(&config, "DELETE FROM {s}.events WHERE position = 2").await;
    let out = store.append(r).await.unwrap();
    assert_eq!(out.positions(), &[2]);
    assert!(store.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn store_version_one_ledger_refused_until_init_upgrades_it_keeping_its_events() {
    // Given a ledger of two keyed events written at format version 1 (the
    // tables of versions 2 to 6 taken away, as a build of version 1 left them)
    let (store, config, clock) = new_store("upgrade").await;
    let mut r = request(stream(1), ExpectedVersion::Exact(0), vec![event("a")]);
    r.idempotency_key = Some("cmd-1#0".into());
    store.append(r).await.unwrap();
    let mut r = request(stream(2), ExpectedVersion::Exact(0), vec![event("b")]);
    r.idempotency_key = Some("cmd-2#0".into());
    store.append(r).await.unwrap();
    store.close().await.unwrap();
    sql(
        &config,
        "DROP TABLE {s}.derived; DROP TABLE {s}.derived_entries; \
         DROP INDEX {s}.idempotency_key_bytes; \
         DROP TABLE {s}.tree_runs; DROP TABLE {s}.checkpoints; \
         DROP FUNCTION {s}.checkpoints_append_only(); DROP FUNCTION {s}.append_check(boolean); \
         DROP TABLE {s}.durable; \
         DELETE FROM {s}.schema_migrations WHERE version >= 2",
    )
    .await;
    // When it is opened, it is refused, saying how to upgrade it
    let err = PgStore::open(&config, Limits::default(), clock.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotALedger { why, .. } if why.contains("init")),
        "{err}"
    );
    // Then init upgrades it, and the store opens with its events, its keys read
    // by prefix, room for derived data and the Merkle tree of its records
    assert_eq!(
        PgStore::init(&config).await.unwrap(),
        InitOutcome::AlreadyLedger
    );
    let store = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    assert_eq!(read_all(&store, 1).await.len(), 2);
    assert_eq!(
        store.idempotency_keys("cmd-2#", 10).await.unwrap(),
        vec![("cmd-2#0".to_owned(), vec![2])]
    );
    store.write_derived("snapshot", b"s").await.unwrap();
    assert_eq!(
        store.read_derived("snapshot").await.unwrap().as_deref(),
        Some(&b"s"[..])
    );
    let (proof, _) = store.prove_inclusion(2, 2).await.unwrap();
    proof.check(store.tree_head(2).await.unwrap()).unwrap();
    assert!(store.verify().await.unwrap().is_ok());
    store.close().await.unwrap();
}

#[tokio::test]
async fn store_an_append_judged_on_a_state_another_store_moved_is_judged_again() {
    // Given two stores on one ledger, the first having appended to a stream
    // under a key (so that it knows the head, the stream at version 1 and
    // the key as its own commit left them)
    let (a, config, clock) = new_store("judged-again").await;
    let b = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    let mut first = request(stream(1), ExpectedVersion::Exact(0), vec![event("a1")]);
    first.idempotency_key = Some("cmd-a#0".into());
    a.append(first).await.unwrap();
    // When the other store appends twice to that stream, once under a key
    b.append(request(
        stream(1),
        ExpectedVersion::Exact(1),
        vec![event("b1")],
    ))
    .await
    .unwrap();
    let mut keyed = request(stream(1), ExpectedVersion::Exact(2), vec![event("b2")]);
    keyed.idempotency_key = Some("cmd-b#0".into());
    b.append(keyed.clone()).await.unwrap();
    // Then the first store, whose own state is now behind, judges against
    // the database's: the stream is at version 3, not 1
    let out = a
        .append(request(
            stream(1),
            ExpectedVersion::Exact(3),
            vec![event("a2")],
        ))
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            AppendOutcome::Appended {
                stream_version: 4,
                ..
            }
        ),
        "{out:?}"
    );
    // And the other store's key is taken: the same append is answered as
    // already appended, a different one under it refused
    let again = a.append(keyed).await.unwrap();
    assert_eq!(again.positions(), &[3]);
    assert!(matches!(again, AppendOutcome::AlreadyAppended { .. }));
    let mut other = request(stream(2), ExpectedVersion::Any, vec![event("x")]);
    other.idempotency_key = Some("cmd-b#0".into());
    assert!(matches!(
        a.append(other).await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    // And a stale expectation is still a conflict naming the actual version
    let stale = request(stream(1), ExpectedVersion::Exact(1), vec![event("late")]);
    assert!(matches!(
        a.append(stale).await,
        Err(StoreError::Conflict { actual: 4, .. })
    ));
    assert!(a.verify().await.unwrap().is_ok());
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_an_append_holding_the_head_gives_up_a_row_another_transaction_holds_and_is_made_again(
) {
    // Given a ledger with one event, and another transaction (another
    // process's append sent in one round trip) that has inserted its row at
    // the next position, uncommitted, before asking for the head lock
    let (store, config, _) = new_store("row-wait").await;
    store
        .append(request(stream(1), ExpectedVersion::Any, vec![event("e1")]))
        .await
        .unwrap();
    let (other, s) = holding_uncommitted_row(&config, 2).await;
    // When a second store (which knows no state: it judges under the head
    // lock) appends, and meanwhile the other transaction asks for the head
    // lock, then rolls back as such an append does when its check fails
    let clock = Arc::new(ManualClock::new(t0()));
    let second = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    let append = tokio::spawn(async move {
        let out = second
            .append(request(stream(2), ExpectedVersion::Any, vec![event("e2")]))
            .await;
        (second, out)
    });
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    other
        .query_one(&format!("SELECT position FROM {s}.head FOR UPDATE"), &[])
        .await
        .unwrap();
    other.batch_execute("ROLLBACK").await.unwrap();
    // Then the append does not fail on the deadlock the two made: it gave up
    // the row's wait (after 50 ms; else the server breaks the deadlock after
    // a second by failing the append, which waited first), was made again
    // and wrote
    let (second, out) = append.await.unwrap();
    assert_eq!(out.unwrap().positions(), &[2]);
    let log = read_all(&second, 1).await;
    assert_eq!(log.len(), 2);
    assert!(second.verify().await.unwrap().is_ok());
    second.close().await.unwrap();
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_an_import_holding_the_head_gives_up_a_row_another_transaction_holds_writing_nothing()
{
    // Given a source ledger's sealed records, an empty ledger, and another
    // transaction on it (a live append sent in one round trip) that has
    // inserted its row at position 1, uncommitted
    let (src, _, _) = new_store("import-row-wait-src").await;
    for tag in ["e1", "e2"] {
        let r = request(stream(1), ExpectedVersion::Any, vec![event(tag)]);
        src.append(r).await.unwrap();
    }
    let records = sealed_records(&src, 1, 2).await;
    let (dst, config, _) = new_store("import-row-wait").await;
    let (other, _) = holding_uncommitted_row(&config, 1).await;
    // When the ledger imports the records (`migrate`) while that row is held
    let wait_max = std::time::Duration::from_secs(60);
    let held = tokio::time::timeout(wait_max, dst.import_sealed(records.clone())).await;
    // Then the import gives up the row's wait instead of waiting for the
    // other transaction (which would wait for the head lock the import
    // holds), every attempt, and fails having written nothing
    let err = held.expect("the import gave up the row").unwrap_err();
    assert!(matches!(err, StoreError::Storage(_)), "{err}");
    assert_eq!(dst.head().await.unwrap().position, 0);
    // And once the other transaction rolls back, the import stores the
    // source's records
    other.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        dst.import_sealed(records).await.unwrap(),
        src.head().await.unwrap()
    );
    let hashes = |log: Vec<navigo_events_schema::Envelope>| {
        log.into_iter().map(|e| e.hash).collect::<Vec<_>>()
    };
    assert_eq!(
        hashes(read_all(&dst, 1).await),
        hashes(read_all(&src, 1).await)
    );
    assert!(dst.verify().await.unwrap().is_ok());
    dst.close().await.unwrap();
    src.close().await.unwrap();
}
