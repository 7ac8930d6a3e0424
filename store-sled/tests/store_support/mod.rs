//! Helpers shared by the sled store tests: fresh ledgers under the target
//! directory, the suite's clock and small events (`navigo_store::conformance`),
//! raw edits of a closed ledger, and the sled [`SledBackend`] of the conformance
//! suite.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use navigo_store::conformance::Backend;
#[allow(unused_imports)] // Each test file uses some of them.
pub use navigo_store::conformance::{event, request, runtime, stream, t0};
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::keys::log_key;
use navigo_store_sled::SledStore;

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

/// Edits the raw tree of a closed ledger (the tampering tests).
pub fn with_tree(dir: &Path, f: impl FnOnce(&sled::Tree)) {
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

/// Flips one bit of the stored record at `position`, `offset_from_end` bytes
/// before its end.
pub fn flip(tree: &sled::Tree, position: u64, offset_from_end: usize) {
    let mut bytes = tree.get(log_key(position)).unwrap().unwrap().to_vec();
    let i = bytes.len() - offset_from_end;
    bytes[i] ^= 0x01;
    tree.insert(log_key(position), bytes).unwrap();
}

/// The sled backend of the conformance suite: a store is a ledger directory
/// under the target directory.
pub struct SledBackend;

#[async_trait]
impl Backend for SledBackend {
    type Store = SledStore;
    type Place = PathBuf;

    async fn place(&self, name: &str) -> PathBuf {
        let dir = fresh_dir(name);
        SledStore::init(&dir).unwrap();
        dir
    }

    async fn open(&self, place: &PathBuf, limits: Limits, clock: Arc<ManualClock>) -> SledStore {
        SledStore::open(place, limits, clock).unwrap()
    }

    async fn close(&self, store: SledStore) {
        store.close().await.unwrap();
    }

    async fn verify(&self, store: &SledStore) -> Result<(), String> {
        let report = store.verify().map_err(|e| e.to_string())?;
        match report.first_bad {
            None => Ok(()),
            Some(bad) => Err(bad.to_string()),
        }
    }

    async fn tamper(&self, place: &PathBuf, position: u64, offset_from_end: usize) {
        with_tree(place, |t| flip(t, position, offset_from_end));
    }
}
