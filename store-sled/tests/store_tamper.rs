//! Tampering: change stored bytes through the sled API and `verify` names the
//! position; readers refuse the record too.

mod store_support;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_store::{EventStore, ExpectedVersion, Limits, StoreError};
use navigo_store_sled::keys::{log_key, stream_key};
use navigo_store_sled::{verify_ledger, Problem, SledStore};
use store_support::*;

/// Events in the ledger tampered with.
const EVENTS: u64 = 50;

/// A closed ledger of [`EVENTS`] events over three streams.
async fn ledger(name: &str) -> std::path::PathBuf {
    let (store, dir, _) = new_store(name);
    for i in 0..EVENTS {
        let r = request(
            stream(u128::from(i % 3)),
            ExpectedVersion::Any,
            vec![event(&format!("e{i}"))],
        );
        store.append(r).await.unwrap();
    }
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    dir
}

#[tokio::test]
async fn verify_names_the_position_of_a_flipped_payload_byte() {
    // Given a sound ledger, when one byte of record 17's JSON changes
    let dir = ledger("tamper-payload").await;
    with_tree(&dir, |t| flip(t, 17, 5));
    // Then verify reports position 17, hash mismatch
    let report = verify_ledger(&dir).unwrap();
    let bad = report.first_bad.expect("tampering must be detected");
    assert_eq!(bad.position, 17);
    assert!(matches!(bad.problem, Problem::HashMismatch { .. }), "{bad}");
    assert_eq!(report.records_checked, 16);
    // And a reader of the log stops there with a corruption error
    let store = SledStore::open(
        &dir,
        Limits::default(),
        std::sync::Arc::new(navigo_store::ManualClock::new(t0())),
    )
    .unwrap();
    let mut s = store.read_all(1);
    let mut last_ok = 0;
    while let Some(item) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
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
async fn verify_names_the_position_of_a_flipped_byte_of_a_compressed_record() {
    // Given a sound format-2 ledger, whose record 17 is stored compressed
    let dir = ledger("tamper-compressed").await;
    let mut stored = Vec::new();
    with_tree(&dir, |t| {
        stored = t.get(log_key(17)).unwrap().unwrap().to_vec()
    });
    assert_eq!(
        stored[HASH_LEN],
        navigo_store_sled::frame::CODEC_ZSTD_DICT_1
    );
    // When bytes of its compressed body in turn have one bit flipped
    // (whatever the byte: zstd may then refuse the body, or give back other
    // bytes than the canonical JSON)
    let mut original = Vec::new();
    with_tree(&dir, |t| original = record(t, 17));
    let mut unseen = Vec::new();
    // (every byte of the frame header, then every fifth byte: each opening of
    // the ledger costs a few milliseconds)
    let body = HASH_LEN + 1;
    let header = body..body + 8;
    let mut tried = 0;
    for i in header.chain((body + 8..stored.len()).step_by(5)) {
        tried += 1;
        let mut bytes = stored.clone();
        bytes[i] ^= 0x10;
        with_tree(&dir, |t| {
            t.insert(log_key(17), bytes).unwrap();
        });
        // Then verify names position 17, as undecodable or a hash mismatch,
        // unless the flipped bit changes no byte of the canonical JSON (a bit
        // of the zstd frame header that decompression ignores): the hash
        // covers the canonical bytes, and those are what every reader gets
        let report = verify_ledger(&dir).unwrap();
        let Some(bad) = report.first_bad else {
            let mut given_back = Vec::new();
            with_tree(&dir, |t| given_back = record(t, 17));
            assert_eq!(given_back, original, "byte {i} changed the record unseen");
            unseen.push(i);
            continue;
        };
        assert_eq!(bad.position, 17, "byte {i}: {bad}");
        assert!(
            matches!(
                bad.problem,
                Problem::HashMismatch { .. } | Problem::Undecodable(_)
            ),
            "byte {i}: {bad}"
        );
    }
    // And such bits are few. Most are in the frame header (magic number,
    // frame descriptor, content size), but a bit of the compressed stream that
    // the decoder does not read (padding of a bit stream) can be one too: what
    // matters, asserted above, is that each gives back the canonical bytes.
    assert!(
        unseen.len() * 4 <= tried,
        "{unseen:?} of {tried} flips unseen"
    );
}

#[tokio::test]
async fn verify_names_the_position_of_a_flipped_hash_byte() {
    let dir = ledger("tamper-hash").await;
    with_tree(&dir, |t| {
        let mut bytes = t.get(log_key(3)).unwrap().unwrap().to_vec();
        bytes[HASH_LEN - 1] ^= 0x80;
        t.insert(log_key(3), bytes).unwrap();
    });
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 3);
    assert!(matches!(bad.problem, Problem::HashMismatch { .. }), "{bad}");
}

#[tokio::test]
async fn verify_detects_a_record_rewritten_with_a_fresh_hash_through_the_chain() {
    // Given a tamperer who edits record 20 and recomputes its own hash
    let dir = ledger("tamper-rehash").await;
    with_tree(&dir, |t| {
        let bytes = record(t, 20);
        let json = String::from_utf8(bytes[HASH_LEN..].to_vec()).unwrap();
        let edited = json.replace("\"e19\"", "\"e99\"");
        assert_ne!(edited, json);
        let mut out = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
        out.extend_from_slice(edited.as_bytes());
        put_record(t, 20, &out);
    });
    // Then the record's leaf no longer matches the Merkle tree kept with it
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 20);
    assert!(matches!(bad.problem, Problem::TreeNode { .. }), "{bad}");
    // And without the tree (removed too), the record itself verifies but the
    // next one's link does not
    with_tree(&dir, |t| {
        for k in t.scan_prefix([navigo_store_sled::keys::MERKLE]).keys() {
            t.remove(k.unwrap()).unwrap();
        }
    });
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 21);
    assert!(matches!(bad.problem, Problem::BrokenLink { .. }), "{bad}");
}

#[tokio::test]
async fn verify_names_a_missing_record_and_a_wrong_index_entry() {
    let dir = ledger("tamper-gap").await;
    with_tree(&dir, |t| {
        t.remove(log_key(30)).unwrap();
    });
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
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

    let dir = ledger("tamper-index").await;
    with_tree(&dir, |t| {
        // Position 8 is stream (8-1) % 3 = 1, its third event: the third
        // position of the stream's first block.
        let key = stream_key(&stream(1), 0);
        let mut block = t.get(key).unwrap().unwrap().to_vec();
        block[16..24].copy_from_slice(&9u64.to_be_bytes());
        t.insert(key, block).unwrap();
    });
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 8);
    assert!(
        matches!(
            bad.problem,
            Problem::IndexMismatch {
                index_points_to: Some(9),
                ..
            }
        ),
        "{bad}"
    );
}

#[tokio::test]
async fn verify_names_a_malformed_index_block_and_an_entry_past_the_stream() {
    // Given a sound ledger whose stream 1 has 17 events in its first block
    let dir = ledger("tamper-block").await;
    let key = stream_key(&stream(1), 0);
    let mut block = Vec::new();
    with_tree(&dir, |t| {
        block = t.get(key).unwrap().unwrap().to_vec();
        assert_eq!(block.len(), 17 * 8);
        // When the block loses three bytes
        t.insert(key, &block[..block.len() - 3]).unwrap();
    });
    // Then the stream's first record (position 2) is reported unindexed
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 2);
    assert!(
        matches!(
            bad.problem,
            Problem::IndexMismatch {
                index_points_to: None,
                ..
            }
        ),
        "{bad}"
    );
    // And when the block instead gains an 18th entry, it is dangling
    with_tree(&dir, |t| {
        block.extend_from_slice(&51u64.to_be_bytes());
        t.insert(key, block.clone()).unwrap();
    });
    let bad = verify_ledger(&dir).unwrap().first_bad.unwrap();
    assert_eq!(bad.position, 51);
    assert!(
        matches!(bad.problem, Problem::DanglingIndex { ref what } if what.contains("seq 18")),
        "{bad}"
    );
}

#[tokio::test]
async fn open_refuses_a_ledger_whose_head_record_is_corrupt() {
    let dir = ledger("tamper-head").await;
    with_tree(&dir, |t| flip(t, EVENTS, 3));
    let clock = std::sync::Arc::new(navigo_store::ManualClock::new(t0()));
    let err = SledStore::open(&dir, Limits::default(), clock).unwrap_err();
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
    assert_eq!(
        verify_ledger(&dir).unwrap().first_bad.unwrap().position,
        EVENTS
    );
}

#[tokio::test]
async fn read_stream_refuses_a_record_changed_after_it_was_verified() {
    // Given an open store whose stream 1 was read once (its records verified and
    // remembered, so that a second read compares bytes instead of hashing),
    let (store, _dir, _) = new_store("tamper-after-read");
    for i in 0..9u64 {
        let r = request(
            stream(u128::from(i % 3)),
            ExpectedVersion::Any,
            vec![event(&format!("e{i}"))],
        );
        store.append(r).await.unwrap();
    }
    let first = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    assert_eq!(first.len(), 3);
    // when one payload byte of its second record (position 5) changes in place,
    let original = store.tree().get(log_key(5)).unwrap().unwrap();
    let bytes = record(store.tree(), 5);
    flip(store.tree(), 5, 5);
    // then the next read hashes the changed bytes and names the position,
    let err = store
        .read_stream(stream(1), 1..=u64::MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { position: 5, .. }),
        "{err}"
    );
    // and a record rewritten with a fresh hash of its own still differs from the
    // bytes verified: it is hashed again, found sound, and returned as it now is.
    let json = String::from_utf8(bytes[HASH_LEN..].to_vec()).unwrap();
    let edited = json.replace("\"e4\"", "\"e7\"");
    assert_ne!(edited, json);
    let mut out = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
    out.extend_from_slice(edited.as_bytes());
    put_record(store.tree(), 5, &out);
    let again = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    assert_ne!(again[1].hash, first[1].hash);
    // Restored, the record reads as it was first read.
    store.tree().insert(log_key(5), original).unwrap();
    let restored = store.read_stream(stream(1), 1..=u64::MAX).await.unwrap();
    assert_eq!(restored, first);
    store.close().await.unwrap();
}
