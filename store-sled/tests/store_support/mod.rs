//! Helpers shared by the store tests: fresh ledgers under the target directory, a
//! fixed clock and small events.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::event::MandateRevoked;
use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::{Event, NewEvent, StreamId};
use navigo_store::{AppendRequest, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::SledStore;
use uuid::Uuid;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh, empty directory for one test.
pub fn fresh_dir(name: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("store-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The instant the test clock stands at.
pub fn t0() -> DateTime<Utc> {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

/// A new ledger in a fresh directory, with a manual clock at [`t0`].
pub fn new_store(name: &str) -> (SledStore, PathBuf, Arc<ManualClock>) {
    new_store_with(name, Limits::default())
}

/// Same, with limits.
pub fn new_store_with(name: &str, limits: Limits) -> (SledStore, PathBuf, Arc<ManualClock>) {
    let dir = fresh_dir(name);
    SledStore::init(&dir).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let store = SledStore::open(&dir, limits, clock.clone()).unwrap();
    (store, dir, clock)
}

/// A small event whose payload carries `tag`.
pub fn event(tag: &str) -> NewEvent {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    NewEvent {
        event_id: Uuid::from_u128(u128::from(n) << 64 | 0xe),
        effective_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        actor: Actor {
            role: ActorRole::Agent,
            id: "A1".into(),
        },
        channel: None,
        correlation_id: Uuid::from_u128(u128::from(n) << 64 | 0xc),
        causation_id: None,
        event: Event::MandateRevoked(MandateRevoked {
            reference: tag.to_owned(),
        }),
    }
}

/// A contract stream numbered `n`.
pub fn stream(n: u128) -> StreamId {
    StreamId::contract(Uuid::from_u128(n + 1))
}

/// An append of `events` to `stream`.
pub fn request(
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> AppendRequest {
    AppendRequest {
        stream,
        expected,
        events,
        idempotency_key: None,
        recorded_at: None,
    }
}

/// A runtime for the property tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Edits the raw tree of a closed ledger (the tampering tests).
pub fn with_tree(dir: &std::path::Path, f: impl FnOnce(&sled::Tree)) {
    // sled's background threads may hold the file lock a few milliseconds after
    // `close` returns (see `OPEN_LOCK_WAIT_MS_MAX`): wait for it as `open` does.
    let mut tries = 0;
    let db = loop {
        match sled::Config::new().path(dir).open() {
            Ok(db) => break db,
            Err(e) if tries < 150 && e.to_string().contains("acquire lock") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    let tree = db.open_tree(navigo_store_sled::keys::TREE_NAME).unwrap();
    f(&tree);
    db.flush().unwrap();
}
