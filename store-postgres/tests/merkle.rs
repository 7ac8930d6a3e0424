//! The Merkle tree and checkpoints in PostgreSQL, beyond the conformance
//! suite: a ledger without its tree (written before it, or its nodes lost)
//! gets it computed from its records on open; `verify` names an altered or
//! missing node; two stores appending to one database keep one sound tree;
//! checkpoints cannot be rewritten or removed, even with SQL.

mod support;

use navigo_store::verify::Problem;
use navigo_store::{EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_postgres::merkle::CATCH_UP_RECORDS_PER_BATCH;
use navigo_store_postgres::{verify_ledger, PgConfig, PgStore};
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
        sql(&config, &format!("DELETE FROM {{s}}.tree_nodes{cut}")).await;
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

#[tokio::test]
async fn merkle_verify_names_an_altered_or_missing_tree_node() {
    // Given a ledger of 30 records
    let (store, config, _) = new_store("merkle-verify").await;
    fill(&store, 30, 1).await;
    store.close().await.unwrap();
    // When a node's hash is changed with SQL
    sql(
        &config,
        "UPDATE {s}.tree_nodes SET hash = sha256(hash) WHERE idx = 7",
    )
    .await;
    // Then verify names that node
    let bad = verify_ledger(&config).await.unwrap().first_bad.unwrap();
    assert!(
        matches!(bad.problem, Problem::TreeNode { index: 7, .. }),
        "{bad}"
    );
    // And when a node is removed instead, verify names it missing
    sql(&config, "DELETE FROM {s}.tree_nodes WHERE idx IN (7, 20)").await;
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
