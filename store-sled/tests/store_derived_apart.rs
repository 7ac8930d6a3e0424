//! Where derived data (the paged states, snapshots) is kept: in a sled
//! database of its own in format 3, in the log's database in format 2 (read as
//! it is), and what a lost or damaged derived database does (nothing to the
//! log: the derived data is simply absent, and its reader rebuilds it); and
//! that an orderly close leaves sled's next open nothing to recover.

mod store_support;

use std::path::Path;
use std::sync::Arc;

use navigo_store::{DerivedBatch, EventStore, ExpectedVersion, Limits, ManualClock};
use navigo_store_sled::derived::{DERIVED_DIR, DERIVED_TREE_NAME};
use navigo_store_sled::{keys, verify_ledger, Format, InitOutcome, SledStore};
use store_support::*;

const SPACE: &str = "world-states";

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, Limits::default(), Arc::new(ManualClock::new(t0()))).unwrap()
}

fn entry(key: &[u8], value: &[u8]) -> DerivedBatch {
    DerivedBatch {
        clear: false,
        entries: vec![(key.to_vec(), Some(value.to_vec()))],
    }
}

async fn read_entry(store: &SledStore, key: &[u8]) -> Option<Vec<u8>> {
    store
        .read_derived_entries(SPACE, &[key.to_vec()])
        .await
        .unwrap()
        .remove(0)
}

/// Appends one event and writes one derived entry, then closes.
async fn write_some(store: SledStore) {
    store
        .append(request(stream(0), ExpectedVersion::Any, vec![event("a")]))
        .await
        .unwrap();
    store
        .write_derived_entries(SPACE, &entry(b"c1", b"state one"))
        .await
        .unwrap();
    store.close().await.unwrap();
}

/// The number of entries of the derived tree in the sled database in `dir`
/// opened with `config` (0 when the tree does not exist).
fn derived_entries_in(config: sled::Config) -> usize {
    let db = config.open().unwrap();
    let n = if db.tree_names().iter().any(|n| n == DERIVED_TREE_NAME) {
        db.open_tree(DERIVED_TREE_NAME).unwrap().len()
    } else {
        0
    };
    drop(db);
    // sled releases its lock once its threads let go of the database.
    std::thread::sleep(std::time::Duration::from_millis(100));
    n
}

#[tokio::test]
async fn store_format3_keeps_derived_data_in_a_database_of_its_own() {
    // Given a new ledger, with an event and a derived entry written
    let (store, dir, _) = new_store("derived-apart");
    assert_eq!(store.format(), Format::V3);
    write_some(store).await;
    // Then the entry is in the derived database, and not in the log's
    assert_eq!(
        derived_entries_in(navigo_store_sled::format::derived_sled_config(
            &dir.join(DERIVED_DIR)
        )),
        1
    );
    assert_eq!(
        derived_entries_in(Format::V3.sled_config(&dir)),
        0,
        "derived data in the log's database"
    );
    // And the ledger reopens with its entry and its log whole
    let store = open(&dir);
    assert_eq!(
        read_entry(&store, b"c1").await.as_deref(),
        Some(&b"state one"[..])
    );
    assert_eq!(store.head().await.unwrap().position, 1);
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn store_format2_ledger_keeps_its_derived_data_in_the_log_database() {
    // Given a ledger created in format 2 (its marker file written first, as
    // the version before format 3 wrote it)
    let dir = fresh_dir("derived-format2");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(keys::MARKER_FILE),
        "navigo-ledger store format 2\n",
    )
    .unwrap();
    assert_eq!(SledStore::init(&dir).unwrap(), InitOutcome::Created);
    let store = open(&dir);
    assert_eq!(store.format(), Format::V2);
    // When this version appends and writes derived data into it
    write_some(store).await;
    // Then it stays a format-2 ledger: the entry is in the log's database, no
    // derived database was made, the markers are unchanged
    assert!(!dir.join(DERIVED_DIR).exists());
    assert_eq!(derived_entries_in(Format::V2.sled_config(&dir)), 1);
    assert_eq!(
        std::fs::read_to_string(dir.join(keys::MARKER_FILE)).unwrap(),
        "navigo-ledger store format 2\n"
    );
    let store = open(&dir);
    assert_eq!(
        read_entry(&store, b"c1").await.as_deref(),
        Some(&b"state one"[..])
    );
    store.close().await.unwrap();
    assert!(verify_ledger(&dir).unwrap().is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn store_format3_lost_derived_database_opens_empty_and_the_log_is_whole() {
    // Given a ledger whose derived database was deleted
    let (store, dir, _) = new_store("derived-lost");
    write_some(store).await;
    std::fs::remove_dir_all(dir.join(DERIVED_DIR)).unwrap();
    // When it opens, then its derived data is absent (its reader rebuilds it)
    // and its log is as it was
    let store = open(&dir);
    assert_eq!(read_entry(&store, b"c1").await, None);
    assert_eq!(store.head().await.unwrap().position, 1);
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn store_format3_damaged_derived_database_is_replaced_by_an_empty_one() {
    // Given a ledger whose derived database's files were overwritten
    let (store, dir, _) = new_store("derived-damaged");
    write_some(store).await;
    let derived = dir.join(DERIVED_DIR);
    for file in ["conf", "db"] {
        std::fs::write(derived.join(file), b"not sled's files").unwrap();
    }
    // When it opens, then the damaged database was replaced by an empty one
    // that takes new entries, and the log is whole
    let store = open(&dir);
    assert_eq!(read_entry(&store, b"c1").await, None);
    store
        .write_derived_entries(SPACE, &entry(b"c2", b"state two"))
        .await
        .unwrap();
    assert_eq!(store.head().await.unwrap().position, 1);
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    let store = open(&dir);
    assert_eq!(
        read_entry(&store, b"c2").await.as_deref(),
        Some(&b"state two"[..])
    );
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The names of sled's snapshot files in `dir`, sorted.
fn snapshots(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snap."))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn store_close_leaves_sled_nothing_to_recover_on_the_next_open() {
    // Given a ledger that took appends and derived entries since it opened
    let (store, dir, _) = new_store("close-settles");
    for i in 0..50 {
        store
            .append(request(
                stream(i % 3),
                ExpectedVersion::Any,
                vec![event("e")],
            ))
            .await
            .unwrap();
    }
    write_some(store).await;
    // When sled opens its databases after the orderly close
    let after_close = (snapshots(&dir), snapshots(&dir.join(DERIVED_DIR)));
    assert!(!after_close.0.is_empty() && !after_close.1.is_empty());
    derived_entries_in(Format::V3.sled_config(&dir));
    derived_entries_in(navigo_store_sled::format::derived_sled_config(
        &dir.join(DERIVED_DIR),
    ));
    // Then it found nothing written after its snapshots (it would have
    // written a new snapshot, under the new log position, had it recovered
    // anything)
    assert_eq!(
        (snapshots(&dir), snapshots(&dir.join(DERIVED_DIR))),
        after_close
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bytes of the files under `dir`.
fn files_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                files_bytes(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

#[tokio::test]
async fn store_close_compacts_a_derived_database_bloated_by_rewrites() {
    use navigo_store_sled::derived::{DERIVED_FILES_PER_LIVE_MAX, DERIVED_FILES_SLACK_BYTES};
    // Given 1,000 derived entries of 2,000 bytes each rewritten 40 times, as
    // the billing clock rewrites paged states
    let (store, dir, _) = new_store("derived-compact");
    let value = |round: u8, i: u32| -> Vec<u8> {
        let mut v = vec![round; 2_000];
        v[..4].copy_from_slice(&i.to_be_bytes());
        v
    };
    let key = |i: u32| format!("c{i:05}").into_bytes();
    for round in 0..40u8 {
        let entries = (0..1_000)
            .map(|i| (key(i), Some(value(round, i))))
            .collect();
        store
            .write_derived_entries(
                SPACE,
                &DerivedBatch {
                    clear: false,
                    entries,
                },
            )
            .await
            .unwrap();
    }
    let live = 1_000 * (6 + 2_000) as u64;
    let bound = DERIVED_FILES_PER_LIVE_MAX * live + DERIVED_FILES_SLACK_BYTES;
    let derived = dir.join(DERIVED_DIR);
    let before = files_bytes(&derived);
    assert!(before > bound, "{before} bytes, not bloated beyond {bound}");
    // When the ledger closes
    store.close().await.unwrap();
    // Then the derived database's files are within the bound and hold every
    // entry's last value
    let after = files_bytes(&derived);
    assert!(
        after <= bound,
        "{after} bytes after the close, bound {bound}"
    );
    let store = open(&dir);
    for i in [0, 499, 999] {
        assert_eq!(read_entry(&store, &key(i)).await, Some(value(39, i)));
    }
    assert_eq!(
        store.scan_derived_entries(SPACE, b"").await.unwrap().len(),
        1_000
    );
    store.close().await.unwrap();
    assert!(!dir.join("derived.compacted").exists() && !dir.join("derived.replaced").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn store_compaction_cut_between_its_renames_is_undone_on_open() {
    // Given a ledger whose close was cut while swapping in a compacted copy:
    // the derived database moved aside, the copy not yet in place
    let (store, dir, _) = new_store("derived-swap-cut");
    write_some(store).await;
    std::fs::rename(dir.join(DERIVED_DIR), dir.join("derived.replaced")).unwrap();
    std::fs::create_dir_all(dir.join("derived.compacted")).unwrap();
    std::fs::write(dir.join("derived.compacted").join("db"), b"half a copy").unwrap();
    // When it opens, then the database moved aside is back with its entry,
    // and the copy is gone
    let store = open(&dir);
    assert_eq!(
        read_entry(&store, b"c1").await.as_deref(),
        Some(&b"state one"[..])
    );
    assert!(!dir.join("derived.compacted").exists());
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
