//! Tampering: rows edited with SQL behind the store's back; `verify` names the
//! position and what is wrong, and readers refuse the record too.

mod support;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_store::verify::{BadRecord, Problem};
use navigo_store::{EventStore, ExpectedVersion, Limits, ManualClock, StoreError};
use navigo_store_postgres::{verify_ledger, PgConfig, PgStore};
use std::sync::Arc;
use support::*;

/// Events in the ledger tampered with.
const EVENTS: u64 = 50;

/// A closed ledger of [`EVENTS`] events over three streams, one event per append.
async fn ledger(name: &str) -> PgConfig {
    let (store, config, _) = new_store(name).await;
    for i in 0..EVENTS {
        let mut r = request(
            stream(u128::from(i % 3)),
            ExpectedVersion::Any,
            vec![event(&format!("e{i}"))],
        );
        r.idempotency_key = (i == 40).then(|| "key-40".to_owned());
        store.append(r).await.unwrap();
    }
    assert!(store.verify().await.unwrap().is_ok());
    store.close().await.unwrap();
    config
}

async fn open(config: &PgConfig) -> Result<PgStore, StoreError> {
    let clock = Arc::new(ManualClock::new(t0()));
    PgStore::open(config, Limits::default(), clock).await
}

async fn first_bad(config: &PgConfig) -> BadRecord {
    let report = verify_ledger(config).await.unwrap();
    report.first_bad.expect("tampering must be detected")
}

#[tokio::test]
async fn verify_names_the_position_of_a_payload_byte_flipped_with_sql() {
    // Given a sound ledger, when one byte of record 17's JSON changes
    let config = ledger("payload").await;
    sql(&config, &flip(17, 5)).await;
    // Then verify reports position 17, hash mismatch, after 16 sound records
    let store = open(&config).await.unwrap();
    let report = store.verify().await.unwrap();
    let bad = report.first_bad.clone().unwrap();
    assert_eq!(bad.position, 17);
    assert!(matches!(bad.problem, Problem::HashMismatch { .. }), "{bad}");
    assert_eq!(report.records_checked, 16);
    // And the log stream stops there naming it
    let mut s = store.read_all(1);
    let mut last_ok = 0;
    while let Some(item) = navigo_store::next_envelope(&mut s).await {
        match item {
            Ok(e) => last_ok = e.position,
            Err(StoreError::Corrupt { position, .. }) => {
                assert_eq!(position, 17);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(last_ok, 16);
}

#[tokio::test]
async fn verify_names_the_position_of_a_hash_byte_flipped_with_sql() {
    let config = ledger("hash").await;
    sql(
        &config,
        &format!(
            "UPDATE {{s}}.events SET record = set_byte(record, {i}, get_byte(record, {i}) # 128) \
             WHERE position = 3",
            i = HASH_LEN - 1
        ),
    )
    .await;
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 3);
    assert!(matches!(bad.problem, Problem::HashMismatch { .. }), "{bad}");
}

#[tokio::test]
async fn verify_detects_a_record_rewritten_with_a_fresh_hash_through_the_chain() {
    // Given a tamperer who edits record 20 and recomputes its own hash
    let config = ledger("rehash").await;
    let store = open(&config).await.unwrap();
    let original = store.read_stream(stream(1), 7..=7).await.unwrap();
    assert_eq!(original[0].position, 20);
    store.close().await.unwrap();
    let (bytes, _) = navigo_events_schema::encode_record(
        &navigo_events_schema::Assigned {
            stream: original[0].stream,
            stream_seq: 7,
            position: 20,
            recorded_at: original[0].recorded_at,
            idempotency_key: None,
            prev_hash: original[0].prev_hash,
        },
        &{
            let mut e = original[0].clone().into_new();
            e.event = event("e99").event;
            e
        },
    )
    .unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sql(
        &config,
        &format!("UPDATE {{s}}.events SET record = '\\x{hex}'::bytea WHERE position = 20"),
    )
    .await;
    // Then the record's leaf no longer matches the Merkle tree kept with it
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 20);
    assert!(matches!(bad.problem, Problem::TreeNode { .. }), "{bad}");
    // And without the tree (removed too), the record itself verifies but the
    // next one's link does not
    sql(&config, "DELETE FROM {s}.tree_runs").await;
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 21);
    assert!(matches!(bad.problem, Problem::BrokenLink { .. }), "{bad}");
}

#[tokio::test]
async fn verify_names_a_missing_row_and_stream_columns_that_do_not_match_the_record() {
    let config = ledger("gap").await;
    sql(&config, "DELETE FROM {s}.events WHERE position = 30").await;
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 30);
    assert!(
        matches!(
            bad.problem,
            Problem::Missing {
                next_found: Some(31)
            }
        ),
        "{bad}"
    );

    // Positions 8 and 11 are stream 1's third and fourth events: their
    // sequence columns swapped, each row is indexed as the other.
    let config = ledger("columns").await;
    sql(
        &config,
        "UPDATE {s}.events SET stream_seq = stream_seq + 100 WHERE position IN (8, 11); \
         UPDATE {s}.events SET stream_seq = 4 WHERE position = 8; \
         UPDATE {s}.events SET stream_seq = 3 WHERE position = 11",
    )
    .await;
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 8);
    assert!(
        matches!(
            bad.problem,
            Problem::IndexMismatch {
                index_points_to: Some(11),
                ..
            }
        ),
        "{bad}"
    );
    // And reading the stream refuses the misplaced record
    let store = open(&config).await.unwrap();
    let err = store
        .read_stream(stream(1), 1..=u64::MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { position: 11, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn verify_detects_the_log_cut_short_behind_the_head_row() {
    // Given a ledger whose last two rows are deleted (the head row untouched)
    let config = ledger("cut").await;
    sql(&config, "DELETE FROM {s}.events WHERE position > 48").await;
    // Then open refuses it, naming the head position,
    let err = open(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                position: EVENTS,
                ..
            }
        ),
        "{err}"
    );
    // and verify names the first position the head row claims beyond the log.
    let bad = first_bad(&config).await;
    assert!(
        matches!(
            bad.problem,
            Problem::HeadMismatch {
                stored_position: EVENTS,
                ..
            }
        ),
        "{bad}"
    );
    assert_eq!(bad.position, 49);
}

#[tokio::test]
async fn open_refuses_a_ledger_whose_head_record_is_corrupt() {
    let config = ledger("head").await;
    sql(&config, &flip(EVENTS, 3)).await;
    let err = open(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                position: EVENTS,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn verify_names_an_idempotency_entry_beyond_the_log() {
    let config = ledger("idem").await;
    sql(
        &config,
        "UPDATE {s}.idempotency SET first_position = 60 WHERE key = 'key-40'",
    )
    .await;
    let bad = first_bad(&config).await;
    assert_eq!(bad.position, 60);
    assert!(
        matches!(&bad.problem, Problem::DanglingIndex { what } if what.contains("key-40")),
        "{bad}"
    );
}
