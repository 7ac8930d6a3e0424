//! Derived data (snapshots of the ledger's folded state) in a sled tree of its
//! own, [`DERIVED_TREE_NAME`], beside the log's tree: never in the hash chain,
//! never read by `verify`, and rebuilt from the log by its reader whenever it
//! does not verify (the reader owns the framing and the hash; this module only
//! stores bytes).
//!
//! | key                         | value                                         |
//! |-----------------------------|-----------------------------------------------|
//! | `H` ‖ name                  | total bytes (u64 BE) ‖ chunk count (u32 BE)   |
//! | `C` ‖ name ‖ 0 ‖ index (u32 BE) | the chunk's bytes ([`DERIVED_CHUNK_BYTES_MAX`] at most) |
//!
//! | `K` ‖ space ‖ 0 ‖ key       | one entry of a keyed space (see below)        |
//!
//! A blob is cut into chunks so that no sled value is larger than a few
//! megabytes; the header and every chunk are replaced in one sled batch, so a
//! reader sees the old blob or the new one whole.
//!
//! Where the tree lives depends on the store format ([`open`]): in the log's
//! sled database (formats 1 and 2), or in a sled database of its own in
//! [`DERIVED_DIR`] (formats 3 and 4). The paged states are a working set the billing
//! clock rewrites every month, where the log only grows: sharing sled's
//! segments, the rewritten states kept the log's segments from being
//! reclaimed, and a region's files held four times their live bytes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use navigo_store::StoreError;

use crate::format::{derived_sled_config, Format};
use crate::writer::storage;
use crate::{open_waiting_for_lock, OpenFailure};

/// The directory, inside a format-3 ledger's, of its derived database.
pub const DERIVED_DIR: &str = "derived";
/// Where a close writes the compacted copy of the derived database before it
/// takes [`DERIVED_DIR`]'s place.
const COMPACTED_DIR: &str = "derived.compacted";
/// Where the derived database stands between the two renames of a swap.
const REPLACED_DIR: &str = "derived.replaced";

/// The multiple of its live bytes (every key and value) beyond which the
/// derived database is rewritten compactly, besides
/// [`DERIVED_FILES_SLACK_BYTES`]: by a close, and by a write while the store
/// is open ([`Derived::write_with`]).
///
/// Decision: sled did not reclaim the segments of the rewritten states: at
/// 10,000 contracts with a cache of 5,000 states, the derived database's
/// files held about seven times their live bytes after the import. Copying
/// the live entries into a fresh database bounds the files by this factor,
/// at the cost of reading and writing the live states once each time the
/// files outgrow it. Compacting only at close was not enough: a
/// million-contract import rewrites its states for an hour in one process,
/// and its derived database had reached 2.9 GB, still growing, when the
/// disk ran low.
///
/// Decision: five, not two. A fresh copy is not as small as its live bytes:
/// sled's pages are log-structured, and the node versions the copy itself
/// superseded stay in the file (sled reuses their segments, never gives them
/// back): 21.0 MB of files for 8.1 MB live, 2.6 times, in the test that
/// rewrites 4,000 entries of 2,000 bytes. With a bound of twice the live
/// bytes, every copy left the files near the bound, and the next few
/// megabytes written started another: copying took three quarters of an
/// import whose states exceed the cache. At five times, a copy is followed
/// by about as many bytes written as it holds before the next one.
pub const DERIVED_FILES_PER_LIVE_MAX: u64 = 5;

/// Bytes of sled's files a derived database may hold beyond
/// [`DERIVED_FILES_PER_LIVE_MAX`] times its live bytes without being
/// compacted: sixteen segments, so that a small ledger is not copied at every
/// close for the segments sled keeps whatever the data.
pub const DERIVED_FILES_SLACK_BYTES: u64 = 16 * crate::format::DERIVED_SEGMENT_BYTES as u64;

/// Entries' bytes of one batch of the copy.
const COMPACT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The sled tree of derived data.
pub const DERIVED_TREE_NAME: &[u8] = b"navigo-derived";
/// Bytes of one chunk of a derived blob.
pub const DERIVED_CHUNK_BYTES_MAX: usize = 4 * 1024 * 1024;
const HEADER: u8 = b'H';
const CHUNK: u8 = b'C';
const KEYED: u8 = b'K';

/// The derived database of an open store: its handles, which a compaction
/// replaces whole while the store is open, and what the store knows of its
/// live bytes.
pub(crate) struct Derived {
    /// The ledger's directory when the database is apart (formats 3 and 4): only
    /// then is it compacted while open.
    ledger: Option<PathBuf>,
    handles: RwLock<Handles>,
    /// Held by every write and by a compaction, which copies the database
    /// while no write can change it (reads go on, from the old handles).
    writes: Mutex<Growth>,
}

/// The derived database and its tree.
#[derive(Clone)]
pub(crate) struct Handles {
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
}

/// When a write counts the live bytes, to decide whether to compact.
struct Growth {
    /// Compactions since the store opened.
    compactions: u64,
    /// The multiple of the live bytes beyond which a count compacts:
    /// [`DERIVED_FILES_PER_LIVE_MAX`] unless set tighter.
    files_per_live_max: u64,
    /// The files' bytes beyond which a write counts the live bytes again.
    ///
    /// Decision: counting reads the whole database, which an open must not
    /// pay: at open this is the bound of live bytes as large as the files
    /// (the files are at least the live bytes, and at most
    /// [`DERIVED_FILES_PER_LIVE_MAX`] times them after an orderly close), so
    /// a database bloated by a crash is compacted at the latest when it has
    /// doubled once more. After a count that finds the files within their
    /// bound, the next count waits until the files have grown by a
    /// [`RECOUNT_AFTER_LIVE_PART`] of the live bytes: a region's import
    /// keeps its files near the bound while its states grow, and counting at
    /// every write that found them beyond the last count's bound took a
    /// third of the million-contract import's time.
    next_count: u64,
}

/// Between two counts of the live bytes that do not compact, the files grow
/// by at least the live bytes divided by this, so that counting reads at
/// most this many bytes for each byte written; the files may then reach
/// their bound plus that part of the live bytes before a count compacts
/// them.
pub const RECOUNT_AFTER_LIVE_PART: u64 = 2;

impl Derived {
    /// The derived database of the ledger in `ledger`, whose log's database
    /// `log_db` is open: that database itself for formats 1 and 2; for
    /// formats 3 and 4, the database in [`DERIVED_DIR`], created when absent.
    ///
    /// Decision: a derived database sled cannot open (damaged, or not
    /// sled's) is removed and created empty. Derived data is never the only
    /// copy of anything: the ledger finds no states and rebuilds them from
    /// the log, as it does for states that do not verify.
    ///
    /// # Errors
    /// Another process holding the database, or a storage failure of the
    /// log's database or of a new, empty derived database.
    pub(crate) fn open(
        ledger: &Path,
        format: Format,
        log_db: &sled::Db,
    ) -> Result<Derived, StoreError> {
        let (db, ledger) = if format.derived_apart() {
            (open_or_replace(ledger)?, Some(ledger.to_path_buf()))
        } else {
            (log_db.clone(), None)
        };
        let tree = db.open_tree(DERIVED_TREE_NAME).map_err(storage)?;
        let files = ledger
            .as_ref()
            .map_or(0, |l| files_bytes(&l.join(DERIVED_DIR)));
        Ok(Derived {
            ledger,
            handles: RwLock::new(Handles { db, tree }),
            writes: Mutex::new(Growth {
                compactions: 0,
                files_per_live_max: DERIVED_FILES_PER_LIVE_MAX,
                next_count: files_bound(files, DERIVED_FILES_PER_LIVE_MAX),
            }),
        })
    }

    /// The current handles (a reader keeps the ones it took, even if a
    /// compaction replaces them meanwhile).
    pub(crate) fn handles(&self) -> Handles {
        self.handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs the write `write` on the current handles, alone, then, when the
    /// files have grown enough since the last count ([`Growth`]), counts the
    /// live bytes and compacts the database if its files exceed their bound
    /// ([`DERIVED_FILES_PER_LIVE_MAX`], [`DERIVED_FILES_SLACK_BYTES`]).
    ///
    /// The compaction holds up the writes (and this one's caller) for a read
    /// and a write of the live entries; reads go on meanwhile.
    ///
    /// # Errors
    /// The write's failure, or a storage failure of the compaction (the
    /// write itself is then done, and the database is the old one, whole).
    pub(crate) fn write_with(
        &self,
        write: impl FnOnce(&Handles) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut growth = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        let handles = self.handles();
        write(&handles)?;
        let Some(ledger) = &self.ledger else {
            return Ok(());
        };
        let dir = ledger.join(DERIVED_DIR);
        let files = files_bytes(&dir);
        if files <= growth.next_count {
            return Ok(());
        }
        let live = live_bytes(&handles.tree)?;
        growth.next_count = files_bound(live, growth.files_per_live_max);
        if files <= growth.next_count {
            let part = (live / RECOUNT_AFTER_LIVE_PART).max(DERIVED_FILES_SLACK_BYTES);
            growth.next_count = growth.next_count.max(files + part);
            return Ok(());
        }
        let fresh = compact_while_open(ledger, &handles.tree)?;
        *self.handles.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        growth.compactions += 1;
        drop(handles);
        // A reader may still hold the old handles: its files stay readable
        // once removed, until it lets them go.
        let _ = std::fs::remove_dir_all(ledger.join(REPLACED_DIR));
        Ok(())
    }

    /// Sets the multiple of the live bytes beyond which the files are
    /// compacted while the store is open (a close keeps
    /// [`DERIVED_FILES_PER_LIVE_MAX`]).
    pub(crate) fn set_files_per_live_max(&self, multiple: u64) {
        let mut growth = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        growth.files_per_live_max = multiple.max(1);
        // The next write counts, against the new bound.
        growth.next_count = 0;
    }

    /// Compactions since the store opened (waits for a write in progress).
    pub(crate) fn compactions(&self) -> u64 {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .compactions
    }

    /// The handles, for a close.
    pub(crate) fn into_handles(self) -> Handles {
        self.handles
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The bytes sled's files of a derived database of `live` live bytes may
/// hold before it is compacted, `per_live` times those and the slack.
fn files_bound(live: u64, per_live: u64) -> u64 {
    per_live * live + DERIVED_FILES_SLACK_BYTES
}

/// Opens the derived database of a format-3 ledger, after finishing an
/// interrupted swap; removes and recreates one sled cannot open.
fn open_or_replace(ledger: &Path) -> Result<sled::Db, StoreError> {
    let dir = ledger.join(DERIVED_DIR);
    finish_swap(ledger);
    match open_apart(&dir) {
        Ok(db) => Ok(db),
        Err(OpenFailure::Locked(e)) => Err(e),
        Err(OpenFailure::Sled(_)) => {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                StoreError::Storage(format!(
                    "the derived data in {} does not open and cannot be removed: {e}",
                    dir.display()
                ))
            })?;
            open_apart(&dir).map_err(|e| match e {
                OpenFailure::Locked(e) => e,
                OpenFailure::Sled(e) => {
                    StoreError::Storage(format!("a new derived database in {}: {e}", dir.display()))
                }
            })
        }
    }
}

/// Completes or undoes a swap a crash interrupted: a database between the
/// two renames goes back in place (the compacted copy was not yet), and a
/// compacted copy left over is removed.
fn finish_swap(ledger: &Path) {
    let (dir, replaced) = (ledger.join(DERIVED_DIR), ledger.join(REPLACED_DIR));
    if !dir.exists() && replaced.exists() {
        let _ = std::fs::rename(&replaced, &dir);
    }
    let _ = std::fs::remove_dir_all(ledger.join(COMPACTED_DIR));
    let _ = std::fs::remove_dir_all(&replaced);
}

/// The bytes of the files in `dir` and its subdirectories (what a database
/// holds on disk; the benchmarks report it beside the live bytes).
pub fn files_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => files_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// After an orderly close of a format-3 ledger in `ledger`: opens its derived
/// database (which leaves sled a fresh snapshot, see `settle`), and when its
/// files hold more than [`DERIVED_FILES_PER_LIVE_MAX`] times its live bytes
/// and [`DERIVED_FILES_SLACK_BYTES`], copies its entries into a fresh
/// database that takes its place. Says whether it compacted.
///
/// A crash during the copy leaves the database as it was (the copy is
/// removed by the next open); between the two renames, the next open puts
/// the old one back.
///
/// # Errors
/// A storage failure; the derived database is then as it was, or absent
/// (rebuilt from the log by its reader).
pub(crate) fn settle_or_compact(ledger: &Path) -> Result<bool, StoreError> {
    let dir = ledger.join(DERIVED_DIR);
    let db = open_apart(&dir).map_err(|e| open_failed(&dir, e))?;
    let tree = db.open_tree(DERIVED_TREE_NAME).map_err(storage)?;
    if files_bytes(&dir) <= files_bound(live_bytes(&tree)?, DERIVED_FILES_PER_LIVE_MAX) {
        return Ok(false);
    }
    copy_aside(ledger, &tree)?;
    drop((tree, db));
    swap_in(ledger)?;
    let _ = std::fs::remove_dir_all(ledger.join(REPLACED_DIR));
    // Once more, so that sled writes the fresh database's snapshot.
    drop(open_apart(&dir).map_err(|e| open_failed(&dir, e))?);
    Ok(true)
}

/// Compacts the derived database of the open store of `ledger`, whose tree
/// is `tree`: copies it aside, puts the copy in its place and opens it. The
/// old database stays open (for the readers holding it) under
/// [`REPLACED_DIR`], which the caller removes once it dropped its handles.
///
/// A crash at any step leaves what [`settle_or_compact`] leaves. A failure
/// puts the old database back in its place.
///
/// # Errors
/// A storage failure (the old database is then in place, whole).
fn compact_while_open(ledger: &Path, tree: &sled::Tree) -> Result<Handles, StoreError> {
    let dir = ledger.join(DERIVED_DIR);
    copy_aside(ledger, tree)?;
    // Opened once aside, so that sled writes the copy's snapshot there and
    // the open in place below reads the snapshot instead of every segment.
    drop(open_apart(&ledger.join(COMPACTED_DIR)).map_err(|e| open_failed(&dir, e))?);
    swap_in(ledger)?;
    let opened = open_apart(&dir)
        .map_err(|e| open_failed(&dir, e))
        .and_then(|db| {
            let tree = db.open_tree(DERIVED_TREE_NAME).map_err(storage)?;
            Ok(Handles { db, tree })
        });
    if opened.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::rename(ledger.join(REPLACED_DIR), &dir);
    }
    opened
}

/// The bytes of every key and value of `tree`.
fn live_bytes(tree: &sled::Tree) -> Result<u64, StoreError> {
    tree.iter().try_fold(0u64, |live, item| {
        let (k, v) = item.map_err(storage)?;
        Ok(live + (k.len() + v.len()) as u64)
    })
}

/// Copies every entry of `tree` into a fresh database in [`COMPACTED_DIR`],
/// flushed and closed.
fn copy_aside(ledger: &Path, tree: &sled::Tree) -> Result<(), StoreError> {
    let compacted = ledger.join(COMPACTED_DIR);
    let _ = std::fs::remove_dir_all(&compacted);
    let fresh = open_apart(&compacted).map_err(|e| open_failed(&compacted, e))?;
    let into = fresh.open_tree(DERIVED_TREE_NAME).map_err(storage)?;
    let (mut batch, mut bytes) = (sled::Batch::default(), 0);
    for item in tree.iter() {
        let (k, v) = item.map_err(storage)?;
        bytes += k.len() + v.len();
        batch.insert(k, v);
        if bytes >= COMPACT_BATCH_BYTES {
            into.apply_batch(std::mem::take(&mut batch))
                .map_err(storage)?;
            bytes = 0;
        }
    }
    into.apply_batch(batch).map_err(storage)?;
    fresh.flush().map_err(storage)?;
    Ok(())
}

/// Puts the copy in [`COMPACTED_DIR`] in the place of [`DERIVED_DIR`], which
/// goes to [`REPLACED_DIR`]; undoes the first rename if the second fails.
fn swap_in(ledger: &Path) -> Result<(), StoreError> {
    let (dir, replaced) = (ledger.join(DERIVED_DIR), ledger.join(REPLACED_DIR));
    let io = |e: std::io::Error| StoreError::Storage(format!("{}: {e}", dir.display()));
    let _ = std::fs::remove_dir_all(&replaced);
    std::fs::rename(&dir, &replaced).map_err(io)?;
    if let Err(e) = std::fs::rename(ledger.join(COMPACTED_DIR), &dir) {
        let _ = std::fs::rename(&replaced, &dir);
        return Err(io(e));
    }
    Ok(())
}

fn open_failed(dir: &Path, e: OpenFailure) -> StoreError {
    match e {
        OpenFailure::Locked(e) => e,
        OpenFailure::Sled(e) => StoreError::Storage(format!("{}: {e}", dir.display())),
    }
}

/// Opens the derived database in `dir`; sled panicking on a damaged file
/// counts as sled failing.
fn open_apart(dir: &Path) -> Result<sled::Db, OpenFailure> {
    catch_unwind(AssertUnwindSafe(|| {
        open_waiting_for_lock(dir, || derived_sled_config(dir))
    }))
    .unwrap_or_else(|_| {
        Err(OpenFailure::Sled(sled::Error::Unsupported(
            "sled panicked opening the derived database".into(),
        )))
    })
}

fn header_key(name: &str) -> Vec<u8> {
    let mut k = vec![HEADER];
    k.extend_from_slice(name.as_bytes());
    k
}

fn chunk_prefix(name: &str) -> Vec<u8> {
    let mut k = vec![CHUNK];
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

fn chunk_key(name: &str, index: u32) -> Vec<u8> {
    let mut k = chunk_prefix(name);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The blob stored under `name`, or `None` (none stored, or a header whose
/// chunks are not all there: the reader then rebuilds what it stood for).
///
/// # Errors
/// A storage failure.
pub fn read(tree: &sled::Tree, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(h) = tree.get(header_key(name)).map_err(storage)? else {
        return Ok(None);
    };
    if h.len() != 12 {
        return Ok(None);
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&h[..8]);
    let mut count = [0u8; 4];
    count.copy_from_slice(&h[8..]);
    let (total, count) = (u64::from_be_bytes(total), u32::from_be_bytes(count));
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for i in 0..count {
        match tree.get(chunk_key(name, i)).map_err(storage)? {
            Some(c) => out.extend_from_slice(&c),
            None => return Ok(None),
        }
    }
    Ok((out.len() as u64 == total).then_some(out))
}

/// Replaces the blob stored under `name` in one sled batch, and flushes.
///
/// # Errors
/// A storage failure.
pub fn write(db: &sled::Db, tree: &sled::Tree, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    for old in tree.scan_prefix(chunk_prefix(name)).keys() {
        batch.remove(old.map_err(storage)?);
    }
    let chunks: Vec<&[u8]> = bytes.chunks(DERIVED_CHUNK_BYTES_MAX).collect();
    let count = u32::try_from(chunks.len())
        .map_err(|_| StoreError::Storage(format!("derived data {name} is too large")))?;
    for (i, c) in (0u32..).zip(&chunks) {
        batch.insert(chunk_key(name, i), *c);
    }
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    header.extend_from_slice(&count.to_be_bytes());
    batch.insert(header_key(name), header);
    tree.apply_batch(batch).map_err(storage)?;
    db.flush().map_err(storage)?;
    Ok(())
}

/// The prefix of every entry of a keyed space: `K` ‖ space ‖ 0. A space name
/// holds no NUL byte, so one space's prefix is never another's.
fn keyed_prefix(space: &str) -> Vec<u8> {
    let mut k = vec![KEYED];
    k.extend_from_slice(space.as_bytes());
    k.push(0);
    k
}

fn keyed_key(space: &str, key: &[u8]) -> Vec<u8> {
    let mut k = keyed_prefix(space);
    k.extend_from_slice(key);
    k
}

/// The entries of a keyed space under `keys`, in the order asked.
///
/// # Errors
/// A storage failure.
pub fn read_entries(
    tree: &sled::Tree,
    space: &str,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
    keys.iter()
        .map(|k| {
            let v = tree.get(keyed_key(space, k)).map_err(storage)?;
            Ok(v.map(|v| v.to_vec()))
        })
        .collect()
}

/// The entries of a keyed space whose key starts with `prefix`, in key order.
///
/// # Errors
/// A storage failure.
pub fn scan_entries(
    tree: &sled::Tree,
    space: &str,
    prefix: &[u8],
) -> Result<navigo_store::DerivedEntries, StoreError> {
    let skip = keyed_prefix(space).len();
    tree.scan_prefix(keyed_key(space, prefix))
        .map(|item| {
            let (k, v) = item.map_err(storage)?;
            Ok((k[skip..].to_vec(), v.to_vec()))
        })
        .collect()
}

/// Keys a clear of a keyed space removes in one sled batch. A clear is made in
/// steps of this many, each applied on its own: sled holds a batch whole in
/// memory while it applies it, and a million-contract ledger's states space
/// (about 6 GB, two million keys) cleared in one batch took the process past
/// 19 GB before it was stopped.
pub const CLEAR_STEP_KEYS: usize = 4_096;

/// Applies a keyed batch on the derived tree and flushes: the entries in one
/// sled batch (atomic: sled applies a batch on one tree whole or not at all),
/// after a clear's removals in steps of [`CLEAR_STEP_KEYS`] keys
/// ([`clear_space`]).
///
/// # Errors
/// A storage failure.
pub fn write_entries(
    db: &sled::Db,
    tree: &sled::Tree,
    space: &str,
    batch: &navigo_store::DerivedBatch,
) -> Result<(), StoreError> {
    if batch.clear {
        clear_space(tree, space)?;
    }
    let mut b = sled::Batch::default();
    for (k, v) in &batch.entries {
        match v {
            Some(v) => b.insert(keyed_key(space, k), v.as_slice()),
            None => b.remove(keyed_key(space, k)),
        }
    }
    tree.apply_batch(b).map_err(storage)?;
    db.flush().map_err(storage)?;
    Ok(())
}

/// Removes every entry of a keyed space, [`CLEAR_STEP_KEYS`] keys a batch, so
/// that the memory a clear takes does not grow with the space. A crash between
/// two steps leaves the space partly emptied: a reader of a cleared space must
/// tell such a space from a whole one (the ledger's states remove their meta
/// entry on its own first, and a space without it is rebuilt).
///
/// # Errors
/// A storage failure.
pub fn clear_space(tree: &sled::Tree, space: &str) -> Result<(), StoreError> {
    loop {
        let mut b = sled::Batch::default();
        let mut n = 0;
        for old in tree
            .scan_prefix(keyed_prefix(space))
            .keys()
            .take(CLEAR_STEP_KEYS)
        {
            b.remove(old.map_err(storage)?);
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        tree.apply_batch(b).map_err(storage)?;
    }
}
