//! The Merkle tree the store keeps over its log: its root is the RFC 6962 root
//! of the records' canonical JSON, proofs from it check, a ledger from before
//! the tree gets it on open, and with a tree head an auditor kept, the attacks
//! the chain alone misses are caught: the newest record rewritten with its hash
//! recomputed, and the tail cut off.

mod store_support;

use navigo_events_schema::envelope::HASH_LEN;
use navigo_merkle::{leaf_hash, ConsistencyProof, MemoryTree};
use navigo_store::{EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::keys::{
    be_u64, log_key, merkle_per_node_key, IdemEntry, IDEM, MERKLE, MERKLE_NODES_PER_GROUP, STREAM,
};
use navigo_store_sled::{verify_ledger, Problem, SledStore};
use std::sync::Arc;
use store_support::*;

/// A closed ledger of `n` events over three streams, appended one by one and
/// in a few batches.
async fn ledger(name: &str, n: u64) -> std::path::PathBuf {
    let (store, dir, _) = new_store(name);
    let mut i = 0;
    while i < n {
        let k = if i % 7 == 3 { 3.min(n - i) } else { 1 };
        let events = (0..k).map(|j| event(&format!("e{}", i + j))).collect();
        let r = request(stream(u128::from(i % 3)), ExpectedVersion::Any, events);
        store.append(r).await.unwrap();
        i += k;
    }
    store.close().await.unwrap();
    dir
}

fn open(dir: &std::path::Path) -> SledStore {
    let clock = Arc::new(ManualClock::new(t0()));
    SledStore::open(dir, Limits::default(), clock).unwrap()
}

/// The tree an auditor computes from the records alone.
fn tree_of_records(dir: &std::path::Path, n: u64) -> MemoryTree {
    let mut leaves = Vec::new();
    with_tree(dir, |t| {
        leaves = (1..=n)
            .map(|p| leaf_hash(&record(t, p)[HASH_LEN..]))
            .collect();
    });
    MemoryTree::from_leaves(leaves)
}

#[tokio::test]
async fn merkle_tree_kept_by_the_store_is_the_tree_of_the_records() {
    // Given a ledger of 45 records written by the store
    let dir = ledger("merkle-root", 45).await;
    let expected = tree_of_records(&dir, 45);
    let store = open(&dir);
    // Then every prefix's root is the records' root, and every record's
    // inclusion and every pair's consistency check against it
    for size in 1..=45 {
        let head = store.tree_head(size).unwrap();
        assert_eq!(head.root, navigo_merkle::root(size, &expected).unwrap());
        for position in 1..=size {
            store
                .prove_inclusion(size, position)
                .unwrap()
                .check(head)
                .unwrap();
        }
        for old in 0..=size {
            let old_head = store.tree_head(old).unwrap();
            store
                .prove_consistency(old, size)
                .unwrap()
                .check(old_head, head)
                .unwrap();
        }
    }
    // And nothing beyond the head is answered
    assert!(store.tree_head(46).is_err());
    assert!(store.prove_inclusion(45, 46).is_err());
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn merkle_nodes_stored_in_groups_are_the_tree_of_the_records_across_group_boundaries() {
    // Given a ledger of 300 records, whose nodes (about 600) fill several
    // groups, appended one by one and in batches that straddle groups
    let n = 300;
    let dir = ledger("merkle-groups", n).await;
    let expected = tree_of_records(&dir, n);
    let groups = {
        let mut count = 0;
        with_tree(&dir, |t| count = t.scan_prefix([MERKLE]).count() as u64);
        count
    };
    let nodes = navigo_merkle::stored_node_count(n);
    assert_eq!(groups, nodes.div_ceil(MERKLE_NODES_PER_GROUP));
    // Then every size's root and every record's inclusion at the head check
    let store = open(&dir);
    for size in 1..=n {
        assert_eq!(
            store.tree_head(size).unwrap().root,
            navigo_merkle::root(size, &expected).unwrap()
        );
    }
    let head = store.tree_head(n).unwrap();
    for position in 1..=n {
        store
            .prove_inclusion(n, position)
            .unwrap()
            .check(head)
            .unwrap();
    }
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn merkle_a_ledger_with_a_node_a_key_gets_its_nodes_grouped_on_open() {
    // Given a ledger whose tree is stored as earlier versions stored it, one
    // node a key under `T`
    let n = 150;
    let dir = ledger("merkle-per-node", n).await;
    let expected = tree_of_records(&dir, n).root();
    with_tree(&dir, |t| {
        let mut index = 0u64;
        let groups: Vec<_> = t.scan_prefix([MERKLE]).map(Result::unwrap).collect();
        for (k, v) in groups {
            for node in v.chunks(32) {
                t.insert(merkle_per_node_key(index), node).unwrap();
                index += 1;
            }
            t.remove(k).unwrap();
        }
        assert_eq!(index, navigo_merkle::stored_node_count(n));
    });
    // When it is opened, then its nodes are in groups, none is left a key,
    // the root is the records', and verify checks every node
    let store = open(&dir);
    assert_eq!(store.tree_head(n).unwrap().root, expected);
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    with_tree(&dir, |t| {
        assert_eq!(t.scan_prefix([b'T']).count(), 0);
        assert!(t.scan_prefix([MERKLE]).count() > 1);
    });
}

#[tokio::test]
async fn merkle_records_chained_while_earlier_batches_are_applied_are_the_tree_of_the_records() {
    // Given group commits of many records, chained and sealed by the writer
    // while the applier thread adds the tree's nodes to the batches before
    // them and applies them: one append of 9
    // events, then 40 concurrent single-event appends over 5 streams
    let (store, dir, _) = new_store("merkle-sealed");
    let store = Arc::new(store);
    let big = 9;
    let events = (0..big).map(|j| event(&format!("b{j}"))).collect();
    store
        .append(request(stream(0), ExpectedVersion::Any, events))
        .await
        .unwrap();
    let writers: Vec<_> = (0..40u128)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = request(
                    stream(1 + i % 5),
                    ExpectedVersion::Any,
                    vec![event(&format!("c{i}"))],
                );
                store.append(r).await.unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // Then every record reads back in order, verify checks the chain and each
    // stored leaf and node against its record, and the root is the records'
    let n = big + 40;
    let log = store.read_log(1).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    assert!(store.verify().unwrap().is_ok());
    let head = store.tree_head(n).unwrap();
    Arc::into_inner(store).unwrap().close().await.unwrap();
    let expected = tree_of_records(&dir, n);
    assert_eq!(head.root, navigo_merkle::root(n, &expected).unwrap());
}

#[tokio::test]
async fn merkle_a_ledger_without_its_tree_gets_it_on_open_from_its_records() {
    // Given a ledger whose tree nodes are all gone (as a ledger written before
    // the store kept them)
    let dir = ledger("merkle-catch-up", 30).await;
    let expected = tree_of_records(&dir, 30).root();
    with_tree(&dir, |t| {
        for k in t.scan_prefix([MERKLE]).keys() {
            t.remove(k.unwrap()).unwrap();
        }
    });
    // Then verify, read without opening, checks the records and says nothing
    // of a tree that is not there
    assert!(verify_ledger(&dir).unwrap().is_ok());
    // When it is opened, then its tree is computed from its records
    let store = open(&dir);
    assert_eq!(store.tree_head(30).unwrap().root, expected);
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn merkle_verify_names_an_altered_tree_node() {
    let dir = ledger("merkle-node", 20).await;
    with_tree(&dir, |t| {
        // The tenth node, in the first group of nodes.
        let (k, v) = t.scan_prefix([MERKLE]).next().unwrap().unwrap();
        let mut v = v.to_vec();
        v[9 * 32] ^= 1;
        t.insert(k, v).unwrap();
    });
    let bad = verify_ledger(&dir)
        .unwrap()
        .first_bad
        .expect("an altered node");
    assert!(matches!(bad.problem, Problem::TreeNode { .. }), "{bad}");
}

#[tokio::test]
async fn merkle_the_newest_record_rewritten_with_its_hash_recomputed_is_caught_by_a_kept_tree_head()
{
    // Given a ledger, and the tree head an auditor kept at 40 records
    let dir = ledger("merkle-rewrite", 40).await;
    let kept = open(&dir).tree_head(40).unwrap();
    // When an insider rewrites the newest record, recomputes its hash (so that
    // the chain holds), and rebuilds the tree from the records
    with_tree(&dir, |t| {
        let mut r = record(t, 40);
        let json = String::from_utf8(r[HASH_LEN..].to_vec())
            .unwrap()
            .replacen("\"e39\"", "\"e3X\"", 1);
        let hash = blake3::hash(json.as_bytes());
        r = [hash.as_bytes().as_slice(), json.as_bytes()].concat();
        put_record(t, 40, &r);
        for k in t.scan_prefix([MERKLE]).keys() {
            t.remove(k.unwrap()).unwrap();
        }
    });
    assert!(
        verify_ledger(&dir).unwrap().is_ok(),
        "the chain alone misses it"
    );
    // Then the store's tree no longer has the kept root at 40 records
    let store = open(&dir);
    let now = store.tree_head(40).unwrap();
    assert_ne!(now.root, kept.root);
    let proof = store.prove_consistency(40, 40).unwrap();
    assert!(proof.check(kept, now).is_err());
}

#[tokio::test]
async fn merkle_a_tail_cut_off_is_caught_by_a_kept_tree_head() {
    // Given a ledger, and the tree head an auditor kept at 36 records
    let dir = ledger("merkle-truncate", 36).await;
    let kept = open(&dir).tree_head(36).unwrap();
    // When the last six records are removed, with their tree nodes
    with_tree(&dir, |t| {
        for p in 31..=36 {
            t.remove(log_key(p)).unwrap();
        }
        // (and the index entries that would betray them: the stream index's
        // blocks cut to their positions up to 30)
        for item in t.scan_prefix([STREAM]) {
            let (k, v) = item.unwrap();
            let kept: Vec<u8> = v
                .chunks_exact(8)
                .filter(|p| be_u64(p).is_some_and(|p| p <= 30))
                .flatten()
                .copied()
                .collect();
            if kept.is_empty() {
                t.remove(k).unwrap();
            } else {
                t.insert(k, kept).unwrap();
            }
        }
        for item in t.scan_prefix([IDEM]) {
            let (k, v) = item.unwrap();
            if IdemEntry::decode(&v).is_some_and(|e| e.first > 30) {
                t.remove(k).unwrap();
            }
        }
        for k in t.scan_prefix([MERKLE]).keys() {
            t.remove(k.unwrap()).unwrap();
        }
    });
    assert!(
        verify_ledger(&dir).unwrap().is_ok(),
        "the chain alone misses it"
    );
    // Then the log cannot be shown to extend the kept tree
    let store = open(&dir);
    assert!(store.tree_head(36).is_err());
    let head = store.tree_head(30).unwrap();
    let forged = ConsistencyProof {
        old_size: 36,
        new_size: 30,
        path: vec![],
    };
    assert!(forged.check(kept, head).is_err());
}

#[tokio::test]
async fn merkle_stream_heads_at_every_size_are_the_heads_the_records_give() {
    // Given a ledger of 45 records over three streams
    let dir = ledger("merkle-heads", 45).await;
    let mut envelopes = Vec::new();
    with_tree(&dir, |t| {
        envelopes = (1..=45)
            .map(|p| navigo_events_schema::decode_record(&record(t, p)).unwrap())
            .collect::<Vec<_>>();
    });
    let store = open(&dir);
    for size in 0..=45u64 {
        // When the store gives the stream-head map as of `size` records
        let heads = EventStore::stream_heads(&store, size).await.unwrap();
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
        assert_eq!(heads.head(), expected.head(), "size {size}");
        assert_eq!(heads.len(), size.min(3), "size {size}");
    }
    // And a size beyond the head is refused
    assert!(EventStore::stream_heads(&store, 46).await.is_err());
    store.close().await.unwrap();
}

#[tokio::test]
async fn merkle_checkpoints_are_kept_numbered_in_order_and_outlive_a_reopen() {
    // Given a ledger and checkpoints kept by two writers at once
    let dir = ledger("merkle-kept", 3).await;
    let store = Arc::new(open(&dir));
    let writers: Vec<_> = (0..2u8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..5u8 {
                    store.keep_checkpoint(&[w, i]).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let kept = store.checkpoints().await.unwrap();
    // Then every one is kept once, each writer's in its order
    assert_eq!(kept.len(), 10);
    for w in 0..2u8 {
        let mine: Vec<u8> = kept.iter().filter(|k| k[0] == w).map(|k| k[1]).collect();
        assert_eq!(mine, (0..5).collect::<Vec<_>>());
    }
    // And the next is number 11, and all are there after a reopen
    assert_eq!(store.keep_checkpoint(b"last").await.unwrap(), 11);
    Arc::try_unwrap(store).unwrap().close().await.unwrap();
    let store = open(&dir);
    let again = store.checkpoints().await.unwrap();
    assert_eq!(again.len(), 11);
    assert_eq!(again[..10], kept[..]);
    store.close().await.unwrap();
}
