//! The cost of sealed personal data on a whole rebuild: the same log written
//! twice, once with every personal field sealed with its person's key (as the
//! binary's store writes it) and once with them clear, then rebuilt from each
//! alternately in the same run: the log read from the store, the sealed
//! fields opened (as the binary's store opens them after a read: one key
//! look-up and one XChaCha20-Poly1305 opening per field), and every
//! projection folded and written into a fresh projection database.
//!
//! The append side is timed in the same run: the write phase of the same
//! population into a fresh sled store, sealed against clear, alternating,
//! the least of the rounds of each kind kept. It goes the way an append goes
//! in the binary: each event's personal fields sealed after a key store
//! look-up ([`BenchKeys`]: a lock, the file's length checked and a map read,
//! as `KeyStore::get` does; a new person's key written and made durable in
//! its own slot, as `KeyStore::get_or_create` does), then the store's append
//! with its group commit, awaited until durable.
//!
//! `cargo bench -p navigo-replay --bench sealed_rebuild` (events:
//! `NAVIGO_BENCH_EVENTS`, default 200 000; rounds: `NAVIGO_BENCH_ROUNDS`,
//! default 3, the least time of each kind kept). The log is copies of one
//! realistic history (a person, an agency subscription, seven months of
//! debits), so about one event in thirty is a person's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use navigo_events_schema::sealed::PersonKey;
use navigo_events_schema::{Envelope, Event, NewEvent, StreamId, StreamKind};
use navigo_ledger_core::load::read_everything;
use navigo_replay::materialize::ProjectionDb;
use navigo_store::{AppendRequest, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::SledStore;
use navigo_testkit::*;
use uuid::Uuid;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn key_of(person: Uuid) -> PersonKey {
    *blake3::keyed_hash(&[7; 32], person.as_bytes()).as_bytes()
}

/// Bytes of a key store slot (the binary's `keystore.rs`).
const KEY_SLOT_BYTES: usize = 64;

/// A key store costing what the binary's costs per look-up: a lock, a check
/// of the file's length (whether another process added slots) and a map
/// read; a new person's key written in a slot of its own and made durable
/// (fsync) before the event it seals is appended.
struct BenchKeys {
    file: std::sync::Mutex<std::fs::File>,
    keys: std::sync::Mutex<HashMap<Uuid, PersonKey>>,
}

impl BenchKeys {
    fn create(path: &Path) -> BenchKeys {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .expect("key store file");
        BenchKeys {
            file: std::sync::Mutex::new(file),
            keys: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn get_or_create(&self, person: Uuid) -> PersonKey {
        use std::io::Write as _;
        let mut file = self.file.lock().expect("lock");
        let _length = file.metadata().expect("length").len();
        let mut keys = self.keys.lock().expect("lock");
        if let Some(k) = keys.get(&person) {
            return *k;
        }
        let key = key_of(person);
        let mut slot = [0u8; KEY_SLOT_BYTES];
        slot[16..32].copy_from_slice(person.as_bytes());
        slot[32..].copy_from_slice(&key);
        file.write_all(&slot).expect("slot");
        file.sync_all().expect("fsync");
        keys.insert(person, key);
        key
    }
}

/// Seals every personal field of `e` (of the stream of id `stream_id`)
/// with its person's key from `keys`, as the binary's store does before an
/// append.
fn seal(e: &mut NewEvent, stream_id: Uuid, keys: &BenchKeys) {
    let id = e.event_id;
    for (person, sealing_id, field) in e.event.personal_fields_mut(stream_id, id) {
        let key = keys.get_or_create(person);
        field.seal(person, &key, sealing_id).expect("seal");
    }
}

/// Opens every sealed field of the log with a key store's look-up per field.
fn open_all(events: &mut [Envelope], keys: &HashMap<Uuid, PersonKey>) -> usize {
    let mut opened = 0;
    for env in events {
        let (id, stream) = (env.event_id, env.stream.id);
        for (_, sealing_id, field) in env.event.personal_fields_mut(stream, id) {
            if let Some(person) = field.sealed_for() {
                field
                    .open(person, &keys[&person], sealing_id)
                    .expect("open");
                opened += 1;
            }
        }
    }
    opened
}

/// A store in `dir` holding the reference data and copies of one history up
/// to about `target` events, sealed when `sealed`; the persons' keys and the
/// seconds the appends of the copies took (sealing included).
async fn generate(
    dir: &Path,
    target: u64,
    sealed: bool,
) -> (SledStore, HashMap<Uuid, PersonKey>, f64) {
    let _ = std::fs::remove_dir_all(dir);
    SledStore::init(dir).expect("init");
    let clock = Arc::new(ManualClock::new(at(d(2027, 3, 1))));
    let store = SledStore::open(dir, Limits::default(), clock).expect("open");
    let key_store = BenchKeys::create(&dir.join("bench-personal-keys"));
    let s = agency_contract_billed_through(d(2027, 2, 1));
    let mut per_copy: Vec<(StreamKind, Vec<NewEvent>)> = Vec::new();
    let mut written = 0u64;
    for (stream, e) in &s.log {
        match stream.kind {
            StreamKind::Contract | StreamKind::Person => {
                match per_copy.iter_mut().find(|(k, _)| *k == stream.kind) {
                    Some((_, v)) => v.push(e.clone()),
                    None => per_copy.push((stream.kind, vec![e.clone()])),
                }
            }
            _ => {
                append(&store, *stream, ExpectedVersion::Any, vec![e.clone()]).await;
                written += 1;
            }
        }
    }
    let per: u64 = per_copy.iter().map(|(_, v)| v.len() as u64).sum();
    let mut keys = HashMap::new();
    let mut n: u128 = 0;
    let t = Instant::now();
    while written + per <= target.max(per) {
        n += 1;
        let person = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n);
        let contract = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0000 | n);
        keys.insert(person, key_of(person));
        for (kind, template) in &per_copy {
            let stream = match kind {
                StreamKind::Person => StreamId::person(person),
                _ => StreamId::contract(contract),
            };
            let events = template
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut e = e.clone();
                    e.event_id = Uuid::from_u128(
                        (n << 16) | i as u128 | (u128::from(*kind == StreamKind::Person) << 15),
                    );
                    match &mut e.event {
                        Event::ContractSubscribed(x) => {
                            x.holder = person;
                            x.payer = person;
                        }
                        Event::DebitPresented(x) => x.payer = person,
                        _ => {}
                    }
                    if sealed {
                        seal(&mut e, stream.id, &key_store);
                    }
                    e
                })
                .collect();
            append(&store, stream, ExpectedVersion::Exact(0), events).await;
        }
        written += per;
    }
    let secs = t.elapsed().as_secs_f64();
    // Every key the sealing made, the template's payer's too (a copied
    // mandate stays sealed for the person who signed it).
    keys.extend(key_store.keys.into_inner().expect("lock"));
    (store, keys, secs)
}

/// The write phase of `target` events, clear and sealed alternately, each
/// into a fresh store, `rounds` times: the least seconds of each kind, and
/// the last stores written (the rebuild reads them).
async fn time_writes(
    root: &Path,
    target: u64,
    rounds: u64,
) -> ((SledStore, SledStore), HashMap<Uuid, PersonKey>, f64, f64) {
    let (clear_dir, sealed_dir) = (root.join("clear"), root.join("sealed"));
    let (mut best_clear, mut best_sealed) = (f64::MAX, f64::MAX);
    let mut last = None;
    for round in 1..=rounds {
        if let Some(((c, s), _)) = last.take() {
            let _ = SledStore::close(c).await;
            let _ = SledStore::close(s).await;
        }
        let (clear, _, c) = generate(&clear_dir, target, false).await;
        let (sealed, keys, s) = generate(&sealed_dir, target, true).await;
        println!(
            "write round {round}: clear {c:.2} s, sealed {s:.2} s ({:.3})",
            s / c
        );
        best_clear = best_clear.min(c);
        best_sealed = best_sealed.min(s);
        last = Some(((clear, sealed), keys));
    }
    let (stores, keys) = last.expect("one round at least");
    (stores, keys, best_clear, best_sealed)
}

async fn append(
    store: &SledStore,
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) {
    store
        .append(AppendRequest {
            stream,
            expected,
            events,
            idempotency_key: None,
            recorded_at: None,
        })
        .await
        .expect("append");
}

/// One whole rebuild of `store` into a fresh projection database under
/// `dir`: (seconds, events, fields opened).
async fn rebuild(
    store: &SledStore,
    keys: &HashMap<Uuid, PersonKey>,
    dir: &Path,
) -> (f64, usize, usize) {
    let projections = dir.join("bench-projections");
    let _ = std::fs::remove_dir_all(&projections);
    let t = Instant::now();
    let mut events = read_everything(store).await.expect("read");
    let opened = open_all(&mut events, keys);
    let db = ProjectionDb::open(&projections).expect("projection db");
    db.rebuild(&events, d(2027, 2, 15), &mut |_| {})
        .expect("rebuild");
    let secs = t.elapsed().as_secs_f64();
    let _ = db.close();
    let _ = std::fs::remove_dir_all(&projections);
    (secs, events.len(), opened)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let target = env_or("NAVIGO_BENCH_EVENTS", 200_000);
    let rounds = env_or("NAVIGO_BENCH_ROUNDS", 3).max(1);
    let root = std::env::temp_dir().join(format!("navigo-sealed-bench-{}", std::process::id()));
    let (clear_dir, sealed_dir) = (root.join("clear"), root.join("sealed"));
    let ((clear, sealed), keys, write_clear, write_sealed) =
        time_writes(&root, target, rounds).await;
    println!(
        "load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let (mut best_clear, mut best_sealed) = (f64::MAX, f64::MAX);
    let (mut events, mut opened) = (0, 0);
    for round in 1..=rounds {
        let (c, n, _) = rebuild(&clear, &keys, &clear_dir).await;
        let (s, m, o) = rebuild(&sealed, &keys, &sealed_dir).await;
        assert_eq!(n, m, "the two logs hold the same events");
        (events, opened) = (n, o);
        println!(
            "round {round}: clear {c:.2} s, sealed {s:.2} s ({:.3})",
            s / c
        );
        best_clear = best_clear.min(c);
        best_sealed = best_sealed.min(s);
    }
    println!(
        "whole rebuild of {events} events ({opened} sealed fields opened), least of {rounds}: \
         clear {best_clear:.2} s = {:.0} ev/s; sealed {best_sealed:.2} s = {:.0} ev/s; \
         sealed / clear {:.3}",
        events as f64 / best_clear,
        events as f64 / best_sealed,
        best_sealed / best_clear
    );
    println!(
        "write phase of {events} events (appends awaited until durable), least of {rounds}: \
         clear {write_clear:.2} s = {:.0} ev/s; sealed {write_sealed:.2} s = {:.0} ev/s; \
         sealed / clear {:.3}",
        events as f64 / write_clear,
        events as f64 / write_sealed,
        write_sealed / write_clear
    );
    println!(
        "load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let _ = clear.close().await;
    let _ = sealed.close().await;
    let _ = std::fs::remove_dir_all(&root);
}
