//! The durable head: an append commits without waiting for its flush, and is
//! answered only once the durable head, moved by a commit that waited for
//! its flush, covers it; readers read up to the durable head, never past it,
//! and move it to the head when a writer that died between its commit and
//! its flush left it behind.

mod support;

use std::sync::Arc;

use navigo_store::conformance::read_all;
use navigo_store::{AppendOutcome, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_postgres::{PgConfig, PgStore};
use support::*;

/// The durable head's position as its rows hold it (the largest).
async fn durable_position(client: &tokio_postgres::Client, config: &PgConfig) -> u64 {
    let q = format!("SELECT max(position) FROM \"{}\".durable", config.schema);
    let position: i64 = client.query_one(&q, &[]).await.unwrap().get(0);
    u64::try_from(position).unwrap()
}

/// Sets the durable head back to `position`, as a writer that died after
/// the commits past it and before their flush leaves it.
async fn set_durable_back(config: &PgConfig, position: u64) {
    sql(
        config,
        &format!(
            "UPDATE {{s}}.durable SET position = {position}, \
               hash = (SELECT substring(record FROM 1 FOR 32) FROM {{s}}.events \
                       WHERE position = {position}), \
               recorded_at = (SELECT recorded_at FROM {{s}}.head)"
        ),
    )
    .await;
}

fn last_position(outcome: &AppendOutcome) -> u64 {
    match outcome {
        AppendOutcome::Appended { positions, .. }
        | AppendOutcome::AlreadyAppended { positions } => *positions.last().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_durable_head_covers_every_append_when_it_is_answered() {
    // Given eight writers appending concurrently, so that commits overlap
    let (store, config, _) = new_store("durable_answers").await;
    let store = Arc::new(store);
    let mut writers = Vec::new();
    for w in 0..8u128 {
        let (store, config) = (store.clone(), config.clone());
        writers.push(tokio::spawn(async move {
            let client = raw().await;
            for i in 0..12usize {
                let events = (0..1 + i % 3).map(|_| event("d")).collect();
                let r = request(stream(w), ExpectedVersion::Any, events);
                // When an append is answered
                let outcome = store.append(r).await.unwrap();
                // Then the durable head already covers its last position
                let durable = durable_position(&client, &config).await;
                assert!(
                    durable >= last_position(&outcome),
                    "answered {outcome:?} with the durable head at {durable}"
                );
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    // And, once every append is answered, the durable head is the head
    let head = store.head().await.unwrap().position;
    assert_eq!(head, 8 * (4 + 4 * 2 + 4 * 3));
    assert_eq!(durable_position(&raw().await, &config).await, head);
}

#[tokio::test]
async fn store_durable_readers_stop_at_the_durable_head_and_move_it_when_left_behind() {
    // Given three keyed appends on one stream, whose durable head is set back
    // to the first, as a writer that died between the later commits and
    // their flush leaves it
    let (store, config, clock) = new_store("durable_readers").await;
    for i in 0..3 {
        let mut r = request(stream(1), ExpectedVersion::Exact(i), vec![event("r")]);
        r.idempotency_key = Some(format!("cmd-{i}#0"));
        store.append(r).await.unwrap();
    }
    set_durable_back(&config, 1).await;
    // When the stream, its version and the keys are read
    let events = store.read_stream(stream(1), 1..=10).await.unwrap();
    let version = store.stream_version(stream(1)).await.unwrap();
    let keys = store.idempotency_keys("cmd-", 10).await.unwrap();
    // Then they stop at the durable head: the records after it may still be
    // lost by a crash of the server
    assert_eq!(events.len(), 1);
    assert_eq!(version, 1);
    assert_eq!(keys, vec![("cmd-0#0".to_owned(), vec![1])]);
    // When the head is read (as a follower's read of the log does)
    let head = store.head().await.unwrap();
    // Then the reader moved the durable head to the head instead of waiting
    // for a writer that will never come, and every record is read
    assert_eq!(head.position, 3);
    assert_eq!(durable_position(&raw().await, &config).await, 3);
    assert_eq!(read_all(&store, 1).await.len(), 3);
    assert_eq!(store.read_stream(stream(1), 1..=10).await.unwrap().len(), 3);
    // And a follower's read of the log moves it too
    set_durable_back(&config, 2).await;
    assert_eq!(read_all(&store, 1).await.len(), 3);
    assert_eq!(durable_position(&raw().await, &config).await, 3);
    store.close().await.unwrap();
    // And a store opened on a ledger left behind moves it before any read
    set_durable_back(&config, 1).await;
    let reopened = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    assert_eq!(durable_position(&raw().await, &config).await, 3);
    assert_eq!(reopened.stream_version(stream(1)).await.unwrap(), 3);
    reopened.close().await.unwrap();
}

#[tokio::test]
async fn store_durable_version_five_ledger_upgraded_with_its_durable_head_at_its_head() {
    // Given a ledger of two events written at format version 5 (no durable head)
    let (store, config, _) = new_store("durable_upgrade").await;
    for i in 0..2 {
        let r = request(stream(1), ExpectedVersion::Exact(i), vec![event("u")]);
        store.append(r).await.unwrap();
    }
    store.close().await.unwrap();
    sql(
        &config,
        "DROP TABLE {s}.durable; DELETE FROM {s}.schema_migrations WHERE version >= 6",
    )
    .await;
    // When init upgrades it
    PgStore::init(&config).await.unwrap();
    // Then its durable head is its head
    assert_eq!(durable_position(&raw().await, &config).await, 2);
    // And a store opening it reads every record
    let clock = Arc::new(ManualClock::new(t0()));
    let store = PgStore::open(&config, Limits::default(), clock)
        .await
        .unwrap();
    assert_eq!(read_all(&store, 1).await.len(), 2);
    assert_eq!(store.read_stream(stream(1), 1..=2).await.unwrap().len(), 2);
    store.close().await.unwrap();
}
