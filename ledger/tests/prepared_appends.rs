//! The submit loops of an import batch and of a pipelined batch hand their
//! appends to the store a chunk at a time, each chunk prepared first
//! ([`EventStore::prepare_appends`]: a sealing store writes and flushes the
//! new persons' keys there) and the next chunk prepared while the one before
//! it is in flight. The promise: no append is submitted before its own
//! chunk's preparation returned, so that no event sealed with a key is
//! durable before the key is, whatever a crash interrupts. The store here
//! holds every preparation back (as a slow flush of the key file does) and
//! journals the order of its calls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use navigo_ledger_core::{ClockMode, Ledger, APPENDS_IN_FLIGHT_MAX};
use navigo_rules::Policy;
use navigo_store::faults::{FaultyStore, Step};
use navigo_store::{EventStore, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::{d, register};
use uuid::Uuid;

/// Registrations (one append each) in a batch: a little over two chunks.
const PERSONS: u128 = 2 * APPENDS_IN_FLIGHT_MAX as u128 + 100;

/// Yields of each held-back preparation.
const HELD: u64 = 200;

fn now() -> DateTime<Utc> {
    "2011-01-02T12:00:00Z".parse().unwrap()
}

async fn open(name: &str) -> Ledger<FaultyStore<SledStore>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("prepared-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SledStore::init(&dir).unwrap();
    let clock = Arc::new(ManualClock::new(now()));
    let store = SledStore::open(&dir, Limits::default(), clock.clone()).unwrap();
    let store = FaultyStore::new(store);
    store.hold_preparations(HELD);
    Ledger::open(store, Policy::default(), 7)
        .await
        .unwrap()
        .with_clock(clock)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What the journal shows: the chunks prepared, in order, and how many of
/// them began their preparation while the chunk before was still in flight.
/// Panics when an append was submitted before its chunk's preparation
/// returned, or was never prepared.
fn read_journal(journal: &[Step]) -> (Vec<Vec<Uuid>>, usize) {
    let mut chunks: Vec<Vec<Uuid>> = Vec::new();
    let mut chunk_of: BTreeMap<Uuid, usize> = BTreeMap::new();
    let mut prepared: BTreeSet<usize> = BTreeSet::new();
    let mut in_flight: BTreeMap<usize, usize> = BTreeMap::new();
    let mut overlapping = 0;
    for (i, step) in journal.iter().enumerate() {
        match step {
            Step::Preparing(ids) => {
                let c = chunks.len();
                overlapping += usize::from(c > 0 && in_flight.get(&(c - 1)) > Some(&0));
                chunk_of.extend(ids.iter().map(|id| (*id, c)));
                chunks.push(ids.clone());
            }
            Step::Prepared(ids) => {
                prepared.insert(chunk_of[&ids[0]]);
            }
            Step::Submitted(id) => {
                let c = *chunk_of
                    .get(id)
                    .unwrap_or_else(|| panic!("step {i}: append {id} submitted unprepared"));
                assert!(
                    prepared.contains(&c),
                    "step {i}: append {id} submitted before chunk {c}'s preparation returned"
                );
                *in_flight.entry(c).or_default() += 1;
            }
            Step::Answered(id) => {
                *in_flight.entry(chunk_of[id]).or_default() -= 1;
            }
        }
    }
    (chunks, overlapping)
}

/// Begins an import batch and judges [`PERSONS`] registrations into it
/// (a little over two chunks of appends).
async fn judge_registrations<S: EventStore>(ledger: &mut Ledger<S>) {
    ledger.begin_import();
    for n in 1..=PERSONS {
        ledger
            .execute(&register(n, d(1990, 5, 17)), ClockMode::Import)
            .await
            .unwrap();
    }
}

/// The events of the log, by event id.
async fn logged(store: &impl EventStore) -> BTreeSet<Uuid> {
    let log = store.read_log(1).await.unwrap();
    log.iter().map(|e| e.event_id).collect()
}

#[test]
fn sealing_import_appends_wait_for_their_chunks_held_back_preparation_while_the_next_overlaps() {
    rt().block_on(async {
        // Given an import batch of a little over two chunks of registrations,
        // on a store that holds every preparation back
        let mut ledger = open("import").await;
        judge_registrations(&mut ledger).await;
        // When the batch is committed
        ledger.end_import().await.unwrap();
        // Then every append was submitted after its chunk's preparation
        // returned (read_journal panics otherwise), the chunks are the
        // batch's in order, each prepared once, and each chunk after the
        // first was prepared while the one before it was in flight
        let (chunks, overlapping) = read_journal(&ledger.store().journal());
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![APPENDS_IN_FLIGHT_MAX, APPENDS_IN_FLIGHT_MAX, 100]
        );
        assert_eq!(overlapping, chunks.len() - 1);
        // And every prepared append is in the log
        let log = logged(ledger.store()).await;
        assert!(chunks.iter().flatten().all(|id| log.contains(id)));
    });
}

#[test]
fn sealing_pipelined_appends_wait_for_their_chunks_held_back_preparation_while_the_next_overlaps() {
    rt().block_on(async {
        // Given a pipelined batch (a batch body's worth of commands) of a
        // little over two chunks of registrations, on a store that holds
        // every preparation back
        let mut ledger = open("pipeline").await;
        let mut batch = ledger.begin_pipeline(now()).await.unwrap();
        for n in 1..=PERSONS {
            ledger
                .execute_pipelined(&mut batch, &register(n, d(1990, 5, 17)))
                .await;
        }
        // When it ends
        let outcome = ledger.end_pipeline(batch).await;
        // Then every command is answered accepted, every append was
        // submitted after its chunk's preparation returned, and each chunk
        // after the first was prepared while the one before was in flight
        assert!(outcome.results.iter().all(Result::is_ok));
        let (chunks, overlapping) = read_journal(&ledger.store().journal());
        assert_eq!(chunks.len(), 3);
        assert_eq!(overlapping, 2);
        let log = logged(ledger.store()).await;
        assert!(chunks.iter().flatten().all(|id| log.contains(id)));
    });
}

#[test]
fn sealing_a_failed_chunk_stops_the_submission_before_the_next_chunk_is_appended() {
    rt().block_on(async {
        // Given an import batch of a little over two chunks, on a store whose
        // flush fails within the first chunk
        let mut ledger = open("failed").await;
        judge_registrations(&mut ledger).await;
        ledger.store().fail_after(10);
        // When the batch is committed, it fails
        assert!(ledger.end_import().await.is_err());
        // Then no append of a later chunk was submitted (its preparation may
        // have run: a key made for appends never submitted is harmless), and
        // the log holds only appends of the first chunk
        let journal = ledger.store().journal();
        let (chunks, _) = read_journal(&journal);
        let submitted: BTreeSet<Uuid> = journal
            .iter()
            .filter_map(|s| match s {
                Step::Submitted(id) => Some(*id),
                _ => None,
            })
            .collect();
        assert!(submitted.iter().all(|id| chunks[0].contains(id)));
        ledger.store().heal();
        let log = logged(ledger.store()).await;
        assert!(chunks[1..].iter().flatten().all(|id| !log.contains(id)));
    });
}
