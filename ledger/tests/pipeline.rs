//! The pipelined command path ([`Ledger::begin_pipeline`]): commands judged on
//! top of the not-yet-durable events of the ones before them, their appends
//! group-committed, each answered once durable. A failed flush (injected by
//! `navigo_store::faults::FaultyStore`) fails every command judged on top of
//! it: none is answered as accepted, none is visible to a read of the world or
//! of the log, and the ledger judges the next command against the durable log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use navigo_events_schema::{CommandEnvelope, StreamId};
use navigo_ledger_core::{Ledger, LedgerError};
use navigo_rules::Policy;
use navigo_store::faults::FaultyStore;
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::{d, pid, register};
use proptest::prelude::*;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    "2011-01-02T12:00:00Z".parse().unwrap()
}

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).unwrap();
    dir
}

fn sled(dir: &Path) -> SledStore {
    SledStore::open(dir, Limits::default(), Arc::new(ManualClock::new(now()))).unwrap()
}

async fn open(dir: &Path) -> Ledger<FaultyStore<SledStore>> {
    Ledger::open(FaultyStore::new(sled(dir)), Policy::default(), 7)
        .await
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(now())))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Person `n`'s registration (one event, one append).
fn person(n: u128) -> CommandEnvelope {
    register(n, d(1990, 5, 17))
}

fn stream(n: u128) -> StreamId {
    StreamId::person(pid(n))
}

/// Runs `cmds` as one pipelined batch.
async fn batch(
    ledger: &mut Ledger<FaultyStore<SledStore>>,
    cmds: &[CommandEnvelope],
) -> navigo_ledger_core::pipeline::PipelineOutcome {
    let mut b = ledger.begin_pipeline(now()).await.unwrap();
    for c in cmds {
        ledger.execute_pipelined(&mut b, c).await;
    }
    ledger.end_pipeline(b).await
}

/// The persons of the durable log.
async fn logged_persons(store: &impl EventStore) -> BTreeSet<Uuid> {
    let log = store.read_log(1).await.unwrap();
    log.iter()
        .filter(|e| e.stream.kind == navigo_events_schema::StreamKind::Person)
        .map(|e| e.stream.id)
        .collect()
}

/// Persons 1 and 2 accepted, then the flush of person 3's append fails:
/// persons 3 and 4, and a duplicate of person 3 that the provisional world
/// would have refused, are judged on top of it.
async fn failed_batch(
    ledger: &mut Ledger<FaultyStore<SledStore>>,
) -> navigo_ledger_core::pipeline::PipelineOutcome {
    ledger.store().fail_after(2);
    batch(
        ledger,
        &[person(1), person(2), person(3), person(4), person(3)],
    )
    .await
}

#[test]
fn pipeline_failed_flush_acknowledges_none_of_the_commands_judged_on_top() {
    rt().block_on(async {
        let dir = dir("ack");
        let mut ledger = open(&dir).await;
        let out = failed_batch(&mut ledger).await;
        assert!(ledger.store().failing(), "the fault was met");
        assert_eq!(out.failed_from, Some(2));
        assert!(out.results[0].is_ok() && out.results[1].is_ok());
        for r in &out.results[2..] {
            // The duplicate is not answered with the refusal the lost
            // registration would have given it: it was judged on lost events.
            assert!(
                matches!(r, Err(LedgerError::Store(_))),
                "judged on top of a failed flush: {r:?}"
            );
        }
        // The accepted ones are answered with what the log holds.
        let log = ledger.store().read_log(1).await.unwrap();
        for r in &out.results[..2] {
            for e in r.as_ref().unwrap() {
                let stored = log.iter().find(|s| s.position == e.position).unwrap();
                assert_eq!((stored.event_id, stored.hash), (e.event_id, e.hash));
            }
        }
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn pipeline_failed_flush_none_visible_to_reads_or_the_feed() {
    rt().block_on(async {
        let dir = dir("visible");
        let mut ledger = open(&dir).await;
        failed_batch(&mut ledger).await;
        let head = ledger.store().head().await.unwrap().position;
        assert_eq!(
            ledger.world().position,
            head,
            "the world is the durable log's"
        );
        assert_eq!(
            logged_persons(ledger.store()).await,
            [pid(1), pid(2)].into_iter().collect(),
            "the feed holds the acknowledged commands only"
        );
        for n in [3, 4] {
            assert_eq!(ledger.world().version(stream(n)), 0);
            let seen = ledger
                .read_paged(|w| w.person(pid(n)).is_some())
                .await
                .unwrap();
            assert!(!seen, "person {n} was never recorded");
        }
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn pipeline_failed_flush_service_recovers_and_judges_the_next_command() {
    rt().block_on(async {
        let dir = dir("recovers");
        let mut ledger = open(&dir).await;
        failed_batch(&mut ledger).await;
        ledger.store().heal();
        let out = batch(&mut ledger, &[person(3), person(1), person(5)]).await;
        assert_eq!(out.failed_from, None);
        assert!(out.results[0].is_ok(), "person 3 was lost, not recorded");
        assert!(
            matches!(out.results[1], Err(LedgerError::Command(_))),
            "person 1 was recorded: {:?}",
            out.results[1]
        );
        assert!(out.results[2].is_ok());
        // Reopened, the ledger holds what was acknowledged, and only that.
        let store = ledger.close().await.unwrap().into_inner();
        store.close().await.unwrap();
        let ledger = open(&dir).await;
        assert_eq!(
            logged_persons(ledger.store()).await,
            [1, 2, 3, 5].into_iter().map(pid).collect()
        );
        assert_eq!(ledger.world().version(stream(4)), 0);
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// Person `n`'s registration, under the idempotency key `k<n>` when `keyed`
/// (a second one is a retry, answered with the first one's events).
fn person_keyed((n, keyed): (u128, bool)) -> CommandEnvelope {
    let mut c = person(n);
    if keyed {
        c.idempotency_key = Some(format!("k{n}"));
    }
    c
}

/// A schedule: commands (persons from a small pool, so that some are
/// refused as duplicates and some retried under their key) in batches of
/// the given sizes, and the append after which the flush fails.
fn schedule() -> impl Strategy<Value = (Vec<(u128, bool)>, Vec<usize>, u64)> {
    (
        proptest::collection::vec((1u128..12, any::<bool>()), 1..40),
        proptest::collection::vec(1usize..12, 1..8),
        0u64..30,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Whatever the schedule and wherever the flush fails, every command
    /// answered as accepted is in the log (after the store is reopened) and no
    /// other command's events are.
    #[test]
    fn pipeline_failed_flush_at_a_random_point_keeps_exactly_the_acknowledged(
        (persons, sizes, fail_after) in schedule()
    ) {
        rt().block_on(async {
            let dir = dir("random");
            let mut ledger = open(&dir).await;
            ledger.store().fail_after(fail_after);
            let mut acknowledged = BTreeSet::new();
            let mut rest = persons.iter().copied().map(person_keyed).collect::<Vec<_>>();
            let mut size = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*size.next().unwrap()).min(rest.len());
                let cmds: Vec<_> = rest.drain(..n).collect();
                let out = batch(&mut ledger, &cmds).await;
                for r in out.results.iter().flatten() {
                    acknowledged.extend(r.iter().map(|e| e.event_id));
                }
                if out.failed_from.is_some() {
                    ledger.store().heal();
                }
            }
            let store = ledger.close().await.unwrap().into_inner();
            store.close().await.unwrap();
            let reopened = sled(&dir);
            let logged: BTreeSet<Uuid> = reopened
                .read_log(1)
                .await
                .unwrap()
                .iter()
                .map(|e| e.event_id)
                .collect();
            reopened.close().await.unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            prop_assert_eq!(logged, acknowledged);
            Ok(())
        })?;
    }
}
