//! The Merkle tree and checkpoints in PostgreSQL, beyond the conformance
//! suite: a ledger without its tree (written before it, or its nodes lost)
//! gets it computed from its records on open; `verify` names an altered or
//! missing node; two stores appending to one database keep one sound tree;
//! checkpoints cannot be rewritten or removed, even with SQL.

mod support;

use navigo_store::verify::Problem;
use navigo_store::{EventStore, ExpectedVersion, Limits, ManualClock, StoreError};
use navigo_store_postgres::merkle::CATCH_UP_RECORDS_PER_BATCH;
use navigo_store_postgres::{verify_ledger, InitOutcome, PgConfig, PgStore};
use std::sync::Arc;
use support::*;

async fn open(config: &PgConfig) -> PgStore {
    let clock = Arc::new(ManualClock::new(t0()));
    PgStore::open(config, Limits::default(), clock)
        .await
        .unwrap()
}

/// Appends `n` events over three streams, in appends of at most `per_append`.
async fn fill(store: &PgStore, n: u64, per_append: u64) {
    let mut i = 0;
    while i < n {
        let k = per_append.min(n - i);
        let events = (0..k).map(|j| event(&format!("e{}", i + j))).collect();
        let r = request(stream(u128::from(i % 3)), ExpectedVersion::Any, events);
        store.append(r).await.unwrap();
        i += k;
    }
}

#[tokio::test]
async fn merkle_a_ledger_without_its_tree_gets_it_on_open_from_its_records() {
    // Given a ledger of more records than one catch-up transaction computes,
    // and its tree heads at a few sizes
    let n = CATCH_UP_RECORDS_PER_BATCH + 5;
    let (store, config, _) = new_store("merkle-catch-up").await;
    fill(&store, n, 1_000).await;
    let sizes = [1, 7, 4_097, CATCH_UP_RECORDS_PER_BATCH, n];
    let mut kept = Vec::new();
    for size in sizes {
        kept.push(store.tree_head(size).await.unwrap());
    }
    store.close().await.unwrap();
    // When every node is removed (a ledger from before the tree), opened, then
    // the last nodes only removed (a tree cut short), opened again
    for cut in ["", " WHERE idx >= 15"] {
        edit_nodes(&config, &format!("DELETE FROM nodes{cut}")).await;
        let store = open(&config).await;
        // Then the tree is back, the same at every size, and verifies
        for (size, head) in sizes.into_iter().zip(&kept) {
            assert_eq!(store.tree_head(size).await.unwrap(), *head, "{cut}");
        }
        assert!(store.verify().await.unwrap().is_ok());
        // And appends go on from it
        fill(&store, 3, 1).await;
        assert!(store.verify().await.unwrap().is_ok());
        store.close().await.unwrap();
    }
}

/// Lays the ledger's tree out as store format version 4 did, a node a row in
/// `tree_nodes`, with the markers of versions 5 and 6 removed (and the
/// durable head of version 6); `edit` runs on the
/// temporary `nodes (idx, hash)` first.
async fn as_version_four(config: &PgConfig, edit: &str) {
    let v4 = "CREATE TABLE {s}.tree_nodes ( \
                  idx  bigint PRIMARY KEY CHECK (idx >= 0), \
                  hash bytea  NOT NULL CHECK (length(hash) = 32)); \
              INSERT INTO {s}.tree_nodes (idx, hash) SELECT idx, hash FROM nodes; \
              DROP TABLE nodes; DROP TABLE {s}.tree_runs; \
              DROP FUNCTION {s}.append_check(boolean); DROP TABLE {s}.durable; \
              DELETE FROM {s}.schema_migrations WHERE version >= 5";
    sql(config, &format!("{NODES_UNPACK}; {edit}; {v4}")).await;
}

#[tokio::test]
async fn merkle_a_version_four_ledger_a_node_a_row_is_upgraded_by_init_keeping_every_node() {
    // Given a ledger of 700 records (about 1,400 nodes: several runs of 256
    // once upgraded), its tree heads and proofs at a few sizes, laid out as
    // store format version 4 kept its tree, a node a row
    let (store, config, _) = new_store("merkle-v4").await;
    fill(&store, 700, 9).await;
    let sizes = [1, 128, 129, 300, 700];
    let mut kept = Vec::new();
    for size in sizes {
        kept.push(store.tree_head(size).await.unwrap());
    }
    store.close().await.unwrap();
    as_version_four(&config, "SELECT 1").await;
    // When it is opened, it is refused, saying how to upgrade it
    let clock = Arc::new(ManualClock::new(t0()));
    let err = PgStore::open(&config, Limits::default(), clock)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, StoreError::NotALedger { why, .. } if why.contains("init")),
        "{err}"
    );
    // Then init upgrades it in place: the same tree at every size, proofs
    // that check, a ledger that verifies (every node recomputed from the
    // records), and appends that go on from it
    assert_eq!(
        PgStore::init(&config).await.unwrap(),
        InitOutcome::AlreadyLedger
    );
    let store = open(&config).await;
    for (size, head) in sizes.into_iter().zip(&kept) {
        assert_eq!(store.tree_head(size).await.unwrap(), *head);
        let (proof, _) = store.prove_inclusion(700, size).await.unwrap();
        proof.check(kept[4]).unwrap();
    }
    assert!(store.verify().await.unwrap().is_ok());
    fill(&store, 5, 2).await;
    assert!(store.verify().await.unwrap().is_ok());
    store.close().await.unwrap();
}

#[tokio::test]
async fn merkle_a_version_four_ledger_missing_a_node_is_upgraded_and_verify_names_the_node() {
    // Given a version 4 ledger of 40 records whose node 21 was removed
    let (store, config, _) = new_store("merkle-v4-gap").await;
    fill(&store, 40, 3).await;
    store.close().await.unwrap();
    as_version_four(&config, "DELETE FROM nodes WHERE idx = 21").await;
    // When init upgrades it
    PgStore::init(&config).await.unwrap();
    // Then every other node keeps its index: verify names node 21 missing
    let bad = verify_ledger(&config).await.unwrap().first_bad.unwrap();
    match bad.problem {
        Problem::TreeNode { index: 21, why } => assert!(why.contains("missing"), "{why}"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn merkle_verify_names_an_altered_or_missing_tree_node() {
    // Given a ledger of 30 records
    let (store, config, _) = new_store("merkle-verify").await;
    fill(&store, 30, 1).await;
    store.close().await.unwrap();
    // When a node's hash is changed with SQL
    edit_nodes(
        &config,
        "UPDATE nodes SET hash = sha256(hash) WHERE idx = 7",
    )
    .await;
    // Then verify names that node
    let bad = verify_ledger(&config).await.unwrap().first_bad.unwrap();
    assert!(
        matches!(bad.problem, Problem::TreeNode { index: 7, .. }),
        "{bad}"
    );
    // And when a node is removed instead, verify names it missing
    edit_nodes(&config, "DELETE FROM nodes WHERE idx IN (7, 20)").await;
    let bad = verify_ledger(&config).await.unwrap().first_bad.unwrap();
    match bad.problem {
        Problem::TreeNode { index: 7, why } => assert!(why.contains("missing"), "{why}"),
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merkle_two_stores_appending_to_one_database_keep_one_sound_tree() {
    // Given two stores on one ledger, as two service processes would be
    let (a, config, _) = new_store("merkle-two").await;
    let b = open(&config).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    // When both append at once, each its writer's frontier going stale
    // whenever the other commits
    let mut tasks = Vec::new();
    for i in 0..60u64 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let r = request(
                stream(u128::from(i % 5)),
                ExpectedVersion::Any,
                vec![event(&format!("t{i}"))],
            );
            s.append(r).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // And then in turns, so that every batch starts from a head the other
    // store moved
    for i in 0..20u64 {
        let s = if i % 2 == 0 { &a } else { &b };
        fill(s, 1 + i % 3, 2).await;
    }
    // Then the stored tree is the records' (verify recomputes every node from
    // the records) and both stores give the same heads and proofs
    assert!(a.verify().await.unwrap().is_ok());
    for size in [1, 31, 60, 67, 80] {
        let head = a.tree_head(size).await.unwrap();
        assert_eq!(b.tree_head(size).await.unwrap(), head);
        let (proof, _) = b.prove_inclusion(size, size).await.unwrap();
        proof.check(head).unwrap();
    }
    for s in [a, b] {
        Arc::try_unwrap(s).unwrap().close().await.unwrap();
    }
}

#[tokio::test]
async fn merkle_checkpoints_cannot_be_rewritten_or_removed_even_with_sql() {
    // Given a kept checkpoint
    let (store, config, _) = new_store("merkle-append-only").await;
    assert_eq!(store.keep_checkpoint(b"note one").await.unwrap(), 1);
    // When someone with SQL access rewrites, removes or truncates it
    for edit in [
        "UPDATE {s}.checkpoints SET note = 'forged'",
        "DELETE FROM {s}.checkpoints",
        "TRUNCATE {s}.checkpoints",
    ] {
        let edit = edit.replace("{s}", &format!("\"{}\"", config.schema));
        // Then the database refuses
        assert!(cluster().execute(DATABASE, &edit).await.is_err(), "{edit}");
    }
    // And the checkpoint is there as kept
    assert_eq!(
        store.checkpoints().await.unwrap(),
        vec![b"note one".to_vec()]
    );
    store.close().await.unwrap();
}
