//! The cost of sealed personal data on appends and on a whole rebuild: the
//! same population written twice into two fresh sled stores, once with every
//! personal field sealed with its person's key and once clear, alternately in
//! the same run, then rebuilt from each alternately.
//!
//! The sealing is the binary's own code, not a stand-in: this bench lives in
//! the binary's package so that it can compile `src/app/keystore.rs` (the key
//! store file, its slots and flushes), `src/app/sealing.rs` and
//! `src/app/store.rs` (`AnyStore`, which seals every request it appends) as
//! modules of its own; no library crate can depend on the binary.
//!
//! The write phase is the binary's import batch's
//! (`navigo_ledger_core::import::submit`): each command's request sealed when
//! it is judged, with keys drawn ahead (`EventStore::seal_ahead`,
//! `KeyStore::key_ahead`); then the staged requests handed to
//! `navigo_ledger_core::submit_prepared`, the ledger's own submit loop:
//! [`APPENDS_IN_FLIGHT_MAX`] at a time, each chunk's new keys written with one
//! flush (`AnyStore::prepare_appends`) while the chunk before it is in flight,
//! and its appends submitted together once that flush returned. The clear
//! side runs the very same calls on an `AnyStore` without a key store, as the
//! binary does without one. One append per event, as the simulator's commands
//! and the billing clock's steps make them, so a chunk of 1,024 appends holds
//! the persons of about 34 copies of the history: one key flush per chunk.
//!
//! The rebuild reads the log from the store, opens the sealed fields with
//! `sealing::open_all` (a key store look-up and one XChaCha20-Poly1305 opening
//! per field, as the binary's store does after a read), and folds and writes
//! every projection into a fresh projection database.
//!
//! `cargo bench -p navigo-ledger --bench sealed_rebuild` (events:
//! `NAVIGO_BENCH_EVENTS`, default 200 000; rounds: `NAVIGO_BENCH_ROUNDS`,
//! default 3, the least time of each kind kept; `NAVIGO_BENCH_WRITE_ONLY=1`:
//! the write phase only). The side written first in a round alternates. The log is copies of one
//! realistic history (a person, an agency subscription, seven months of
//! debits), so about one event in thirty is a person's.

// The binary's modules are compiled whole; the bench calls only some of them.
#[allow(dead_code)]
#[path = "../src/app/keystore.rs"]
mod keystore;
#[allow(dead_code)]
#[path = "../src/app/sealing.rs"]
mod sealing;
#[allow(dead_code)]
#[path = "../src/app/store.rs"]
mod store;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use keystore::KeyStore;
use navigo_events_schema::{Envelope, Event, NewEvent, StreamId, StreamKind};
use navigo_ledger_core::load::read_everything;
use navigo_ledger_core::{submit_prepared, APPENDS_IN_FLIGHT_MAX};
use navigo_replay::materialize::ProjectionDb;
use navigo_store::{
    AppendOutcome, AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock, StoreError,
};
use navigo_store_sled::SledStore;
use navigo_testkit::*;
use store::{AnyStore, Backend};
use uuid::Uuid;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The appends of a population: the reference data's, then copies of one
/// history each with its own person and contract, one request per event, in
/// the order the history was made.
struct Population {
    reference: Vec<(StreamId, NewEvent)>,
    copies: Vec<Vec<AppendRequest>>,
}

impl Population {
    fn events(&self) -> usize {
        self.reference.len() + self.copies.iter().flatten().count()
    }
}

/// About `target` events: the reference data and as many copies of the
/// template history as fit.
fn population(target: u64) -> Population {
    let s = agency_contract_billed_through(d(2027, 2, 1));
    let (template, reference): (Vec<_>, Vec<_>) = s
        .log
        .into_iter()
        .partition(|(stream, _)| matches!(stream.kind, StreamKind::Contract | StreamKind::Person));
    let per = template.len() as u64;
    let copies = (1..=(target.saturating_sub(reference.len() as u64) / per).max(1))
        .map(|n| copy(&template, u128::from(n)))
        .collect();
    Population { reference, copies }
}

/// Copy `n` of `template`, with a person and a contract of its own.
fn copy(template: &[(StreamId, NewEvent)], n: u128) -> Vec<AppendRequest> {
    let person = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n);
    let contract = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0000 | n);
    let (mut person_version, mut contract_version) = (0, 0);
    template
        .iter()
        .enumerate()
        .map(|(i, (stream, e))| {
            let mut e = e.clone();
            e.event_id = Uuid::from_u128((n << 16) | i as u128);
            match &mut e.event {
                Event::ContractSubscribed(x) => {
                    x.holder = person;
                    x.payer = person;
                }
                Event::DebitPresented(x) => x.payer = person,
                _ => {}
            }
            let (stream, version) = match stream.kind {
                StreamKind::Person => (StreamId::person(person), &mut person_version),
                _ => (StreamId::contract(contract), &mut contract_version),
            };
            let expected = ExpectedVersion::Exact(*version);
            *version += 1;
            request(stream, expected, e)
        })
        .collect()
}

fn request(stream: StreamId, expected: ExpectedVersion, e: NewEvent) -> AppendRequest {
    AppendRequest {
        stream,
        expected,
        events: vec![e],
        idempotency_key: None,
        recorded_at: None,
    }
}

/// A fresh store in `dir`; with a fresh key store in `dir`'s sibling
/// `<dir>.keys` when `sealed`.
fn fresh(dir: &Path, sealed: bool) -> AnyStore {
    let keys_dir = dir.with_extension("keys");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(&keys_dir);
    SledStore::init(dir).expect("init");
    let clock = Arc::new(ManualClock::new(at(d(2027, 3, 1))));
    let store = SledStore::open(dir, Limits::default(), clock).expect("open");
    let keys = sealed.then(|| {
        std::fs::create_dir_all(&keys_dir).expect("key store directory");
        Arc::new(KeyStore::open(&keys_dir).expect("key store"))
    });
    AnyStore::new(Backend::Sled(store), keys)
}

/// Writes `population` into a fresh store in `dir` as the binary's import
/// batch does, sealed when `sealed`: the store and the seconds the copies'
/// appends took (judging's sealing ahead included).
async fn write(dir: &Path, population: &Population, sealed: bool) -> (AnyStore, f64) {
    let store = fresh(dir, sealed);
    for (stream, e) in &population.reference {
        let r = request(*stream, ExpectedVersion::Any, e.clone());
        store.append(r).await.expect("reference data");
    }
    let t = Instant::now();
    let mut staged = Vec::with_capacity(population.events());
    for copy in &population.copies {
        for r in copy {
            let mut r = r.clone();
            // As the ledger's judging does: what it folds is the ciphertext.
            store.seal_ahead(&mut r).expect("seal ahead");
            staged.push((r, ()));
        }
    }
    submit_prepared(&store, staged, |answers| {
        for (answer, ()) in answers {
            match answer? {
                (AppendOutcome::Appended { .. }, _) => {}
                (other, _) => {
                    return Err(StoreError::Storage(format!("answered {other:?}")));
                }
            }
        }
        Ok(())
    })
    .await
    .expect("append");
    (store, t.elapsed().as_secs_f64())
}

/// The last stores written, clear and sealed.
type Written = (AnyStore, AnyStore);

/// The write phase, clear and sealed alternately, each into a fresh store,
/// `rounds` times: the least seconds of each kind, and the last stores written
/// (the rebuild reads them).
async fn time_writes(root: &Path, population: &Population, rounds: u64) -> (Written, f64, f64) {
    let (clear_dir, sealed_dir) = (root.join("clear"), root.join("sealed"));
    let (mut best_clear, mut best_sealed) = (f64::MAX, f64::MAX);
    let mut last: Option<Written> = None;
    for round in 1..=rounds {
        if let Some((c, s)) = last.take() {
            let _ = c.close().await;
            let _ = s.close().await;
        }
        // The side written first follows the closing of the round before,
        // whose stores may still be flushing: the sides take turns.
        let ((clear, c), (sealed, s)) = if round % 2 == 1 {
            let clear = write(&clear_dir, population, false).await;
            (clear, write(&sealed_dir, population, true).await)
        } else {
            let sealed = write(&sealed_dir, population, true).await;
            (write(&clear_dir, population, false).await, sealed)
        };
        println!(
            "write round {round} ({} first): clear {c:.2} s, sealed {s:.2} s ({:.3}); load {}",
            if round % 2 == 1 { "clear" } else { "sealed" },
            s / c,
            load_average()
        );
        best_clear = best_clear.min(c);
        best_sealed = best_sealed.min(s);
        last = Some((clear, sealed));
    }
    (last.expect("one round at least"), best_clear, best_sealed)
}

/// The sled store under `store` and its key store.
fn parts(store: &AnyStore) -> (&SledStore, Option<&KeyStore>) {
    let sled = store.as_sled().expect("the bench's stores are sled's");
    (sled, store.keys().map(|k| &**k))
}

/// One whole rebuild of `store` into a fresh projection database under
/// `dir`: (seconds, events, fields opened).
async fn rebuild(store: &SledStore, keys: Option<&KeyStore>, dir: &Path) -> (f64, usize, usize) {
    let projections = dir.join("bench-projections");
    let _ = std::fs::remove_dir_all(&projections);
    let t = Instant::now();
    let mut events = read_everything(store).await.expect("read");
    let opened = sealed_fields(&mut events);
    sealing::open_all(keys, &mut events).expect("open");
    let db = ProjectionDb::open(&projections).expect("projection db");
    db.rebuild(&events, d(2027, 2, 15), &mut |_| {})
        .expect("rebuild");
    let secs = t.elapsed().as_secs_f64();
    let _ = db.close();
    let _ = std::fs::remove_dir_all(&projections);
    (secs, events.len(), opened)
}

/// How many fields of `events` are sealed (counted before they are opened).
fn sealed_fields(events: &mut [Envelope]) -> usize {
    events
        .iter_mut()
        .map(|env| {
            let (id, stream) = (env.event_id, env.stream.id);
            env.event
                .personal_fields_mut(stream, id)
                .into_iter()
                .filter(|(_, _, f)| f.sealed_for().is_some())
                .count()
        })
        .sum()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let target = env_or("NAVIGO_BENCH_EVENTS", 200_000);
    let rounds = env_or("NAVIGO_BENCH_ROUNDS", 3).max(1);
    let root = std::env::temp_dir().join(format!("navigo-sealed-bench-{}", std::process::id()));
    let population = population(target);
    println!(
        "{} events: {} copies of a {}-event history, appends {APPENDS_IN_FLIGHT_MAX} at a time; \
         load {}",
        population.events(),
        population.copies.len(),
        population.copies[0].len(),
        load_average()
    );
    let ((clear, sealed), write_clear, write_sealed) =
        time_writes(&root, &population, rounds).await;
    let ((clear_log, _), (sealed_log, keys)) = (parts(&clear), parts(&sealed));
    let (clear_dir, sealed_dir) = (root.join("clear"), root.join("sealed"));
    let (mut best_clear, mut best_sealed) = (f64::MAX, f64::MAX);
    let (mut events, mut opened) = (0, 0);
    let rebuild_rounds = if env_or("NAVIGO_BENCH_WRITE_ONLY", 0) == 1 {
        0
    } else {
        rounds
    };
    for round in 1..=rebuild_rounds {
        let (c, n, _) = rebuild(clear_log, None, &clear_dir).await;
        let (s, m, o) = rebuild(sealed_log, keys, &sealed_dir).await;
        assert_eq!(n, m, "the two logs hold the same events");
        (events, opened) = (n, o);
        println!(
            "rebuild round {round}: clear {c:.2} s, sealed {s:.2} s ({:.3}); load {}",
            s / c,
            load_average()
        );
        best_clear = best_clear.min(c);
        best_sealed = best_sealed.min(s);
    }
    let copied = (population.events() - population.reference.len()) as f64;
    println!(
        "write phase of {copied} events (appends awaited until durable), least of {rounds}: \
         clear {write_clear:.2} s = {:.0} ev/s; sealed {write_sealed:.2} s = {:.0} ev/s; \
         sealed / clear {:.3}",
        copied / write_clear,
        copied / write_sealed,
        write_sealed / write_clear
    );
    if rebuild_rounds > 0 {
        print_rebuild(events, opened, rounds, best_clear, best_sealed);
    }
    println!("load average after: {}", load_average());
    let _ = clear.close().await;
    let _ = sealed.close().await;
    let _ = std::fs::remove_dir_all(&root);
}

fn print_rebuild(events: usize, opened: usize, rounds: u64, best_clear: f64, best_sealed: f64) {
    println!(
        "whole rebuild of {events} events ({opened} sealed fields opened), least of {rounds}: \
         clear {best_clear:.2} s = {:.0} ev/s; sealed {best_sealed:.2} s = {:.0} ev/s; \
         sealed / clear {:.3}",
        events as f64 / best_clear,
        events as f64 / best_sealed,
        best_sealed / best_clear
    );
}
