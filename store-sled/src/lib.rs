//! The sled implementation of the event store ([`navigo_store::EventStore`]).
//!
//! - Layout: see [`keys`]. One tree; a group commit is one atomic sled batch.
//! - Writes: see [`writer`]. One writer thread gathers concurrent appends into
//!   one atomic batch, a flusher thread flushes (one flush may cover several
//!   batches); nothing is acknowledged before the flush that holds it returns.
//! - Reads: see [`read`]. Readers only see positions at or below the durable head,
//!   and check every record they return.
//! - Verification: see [`verify`].
//!
//! A data directory is a ledger when it holds the marker file [`keys::MARKER_FILE`]
//! (written by [`SledStore::init`]) and the tree holds the format marker. Anything
//! else is refused by [`SledStore::open`] before sled opens it, so a mistyped
//! `--data` never gets a sled database written into it.

#![warn(missing_docs)]

mod batch;
pub mod checkpoints;
pub mod derived;
pub mod export;
pub mod format;
pub mod frame;
pub mod guard;
pub mod keys;
mod merkle;
pub mod raw;
pub mod read;
pub mod salvage;
pub mod stream_index;
pub mod verify;
pub mod writer;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use navigo_events_schema::{Envelope, Hash, StreamId, StreamKind};
use tokio::sync::{mpsc, oneshot};

pub use batch::SALVAGE_HINT;
pub use format::Format;
use navigo_store::assign::{stored_envelopes, Prepared, Written};
use navigo_store::{
    AppendOutcome, AppendRequest, Clock, EnvelopeStream, EventStore, Head, Limits, StoreError,
};
pub use read::VERIFIED_RECORDS_BYTES_MAX;
use read::{
    check_record, check_record_once, committed, read_log, ReadAll, VerifiedRecords,
    READ_LOG_CHUNK_RECORDS, READ_LOG_WORKERS_MAX,
};
pub use verify::{BadRecord, Problem, VerifyReport};
use writer::{storage, stream_version_on_disk, Job, Writer};
pub use writer::{
    AppendAllError, APPLY_QUEUE_BATCHES_MAX, FLUSH_QUEUE_BATCHES_MAX, QUEUE_APPENDS_MAX,
    STREAM_CACHE_ENTRIES_MAX,
};

/// What [`SledStore::init`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// A new, empty ledger was created.
    Created,
    /// The directory already held a ledger; nothing was changed.
    AlreadyLedger,
}

/// Counts over a ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The durable head.
    pub head: Head,
    /// Events in the log.
    pub events: u64,
    /// Streams per kind.
    pub streams: BTreeMap<StreamKind, u64>,
    /// Idempotency keys recorded.
    pub idempotency_keys: u64,
    /// Size of the sled files on disk.
    pub disk_bytes: u64,
}

/// The durable, hash-chained event store on sled.
///
/// Recorded-at instants come from the [`Clock`] given to [`SledStore::open`], or
/// from the request's import instant. A clock earlier than the head is clamped to
/// the head's instant; an import instant earlier than the head is refused
/// ([`StoreError::OutOfOrder`]).
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// The ledger's directory, where an orderly close leaves its fingerprint.
    path: std::path::PathBuf,
    /// The ledger's store format: how its records are stored.
    format: Format,
    /// Derived data (snapshots, paged states), apart from the log, and
    /// sled's files as opened (boxed: the store is one variant of the
    /// binary's backend enum): see [`derived`].
    apart: Box<Apart>,
    head: Arc<RwLock<Head>>,
    tx: mpsc::Sender<Job>,
    limits: Limits,
    writer_done: Option<oneshot::Receiver<()>>,
    /// Records `read_stream` has hashed, so that a record read again is compared
    /// with its verified bytes instead of hashed again.
    verified: RwLock<VerifiedRecords>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("head", &committed(&self.head))
            .finish_non_exhaustive()
    }
}

fn not_a_ledger(path: &Path, why: impl Into<String>) -> StoreError {
    StoreError::NotALedger {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Checks, without writing anything, that `path` is a ledger directory, and
/// reads the format its marker file names.
fn check_marker(path: &Path) -> Result<Format, StoreError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| not_a_ledger(path, format!("{e} (create one with `navigo-ledger init`)")))?;
    if !meta.is_dir() {
        return Err(not_a_ledger(path, "not a directory"));
    }
    match format::read_marker(path) {
        Some(Ok(format)) => Ok(format),
        Some(Err(content)) => Err(not_a_ledger(
            path,
            format!(
                "{} has unexpected content {:?} (a store format this version does not know?)",
                keys::MARKER_FILE,
                content.chars().take(64).collect::<String>()
            ),
        )),
        None => Err(not_a_ledger(
            path,
            format!(
                "no {} marker file (create a ledger with `navigo-ledger init`)",
                keys::MARKER_FILE
            ),
        )),
    }
}

/// How long opening waits for sled's file lock. sled releases it when the last
/// handle of a previous instance in this process is dropped, which its background
/// threads may delay by a few milliseconds after `close`; another process holding
/// the ledger keeps it, and gets a clear error after this wait.
pub const OPEN_LOCK_WAIT_MS_MAX: u64 = 3_000;

/// The decoding threads of a whole-log read: one per core, at most
/// [`READ_LOG_WORKERS_MAX`].
fn read_log_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(READ_LOG_WORKERS_MAX)
}

/// Why sled did not open a database.
pub(crate) enum OpenFailure {
    /// Another instance holds sled's file lock beyond the wait.
    Locked(StoreError),
    /// sled's own error.
    Sled(sled::Error),
}

/// Opens the sled database `config` names, waiting up to
/// [`OPEN_LOCK_WAIT_MS_MAX`] for its file lock.
pub(crate) fn open_waiting_for_lock(
    path: &Path,
    config: impl Fn() -> sled::Config,
) -> Result<sled::Db, OpenFailure> {
    let step_ms = 20;
    let mut waited = 0;
    loop {
        match config().open() {
            Ok(db) => return Ok(db),
            Err(e) if waited < OPEN_LOCK_WAIT_MS_MAX && e.to_string().contains("acquire lock") => {
                std::thread::sleep(std::time::Duration::from_millis(step_ms));
                waited += step_ms;
            }
            Err(e) if e.to_string().contains("acquire lock") => {
                return Err(OpenFailure::Locked(StoreError::Storage(format!(
                    "{e} (is another navigo-ledger process using {}?)",
                    path.display()
                ))))
            }
            Err(e) => return Err(OpenFailure::Sled(e)),
        }
    }
}

/// Opens sled with the settings of `format`, waiting up to
/// [`OPEN_LOCK_WAIT_MS_MAX`] for its file lock.
pub(crate) fn open_sled(path: &Path, format: Format) -> Result<sled::Db, StoreError> {
    let copied = guard::before_open(path)?;
    match open_waiting_for_lock(path, || format.sled_config(path)) {
        Ok(db) => Ok(db),
        Err(OpenFailure::Locked(e)) => Err(e),
        Err(OpenFailure::Sled(e)) => Err(match (copied, in_directory(path, &e)) {
            (true, StoreError::Storage(why)) => {
                let mut why = why + &guard::kept_aside_note(path);
                if matches!(e, sled::Error::Corruption { .. }) {
                    why += &damaged_positions(&path.join(guard::BEFORE_RECOVERY_DIR));
                }
                StoreError::Storage(why)
            }
            (_, other) => other,
        }),
    }
}

/// What a scan of the raw files kept aside says of a corruption sled names no
/// position for: the positions no verifying record stands for, or that every
/// record is whole (the damage is then in sled's own metadata).
fn damaged_positions(kept: &Path) -> String {
    let Ok(report) = salvage::salvage(kept, None) else {
        return String::new();
    };
    let ranges: Vec<String> = report
        .lost
        .iter()
        .map(|r| match (r.start(), r.end()) {
            (a, b) if a == b => a.to_string(),
            (a, b) => format!("{a} to {b}"),
        })
        .collect();
    if ranges.is_empty() {
        format!(
            "; a scan of those files finds every record from 1 to {} whole",
            report.highest_known
        )
    } else {
        format!(
            "; a scan of those files finds no whole record at position {} (of 1 to {})",
            ranges.join(", "),
            report.highest_known
        )
    }
}

/// A sled failure opening the ledger in `path`, naming the directory (the
/// file and offset, for a corruption, are in [`batch::describe`]'s text).
fn in_directory(path: &Path, e: &sled::Error) -> StoreError {
    StoreError::Storage(format!(
        "the ledger in {}: {}",
        path.display(),
        batch::describe(e)
    ))
}

/// Opens the sled database of a ledger directory whose marker file names
/// `format`, and its tree, checking that the tree's format marker agrees.
pub(crate) fn open_db(path: &Path, format: Format) -> Result<(sled::Db, sled::Tree), StoreError> {
    let db = open_sled(path, format)?;
    let tree = db
        .open_tree(keys::TREE_NAME)
        .map_err(|e| in_directory(path, &e))?;
    match tree
        .get(keys::FORMAT_KEY)
        .map_err(|e| in_directory(path, &e))?
    {
        Some(v) if v.as_ref() == format.tree_marker() => Ok((db, tree)),
        Some(v) => Err(not_a_ledger(
            path,
            format!(
                "the database says {:?}, its marker file says format {}",
                String::from_utf8_lossy(&v),
                format.number()
            ),
        )),
        None => Err(not_a_ledger(path, "the database lacks the format marker")),
    }
}

/// Verifies a ledger directory without starting a writer, so that a ledger whose
/// head is corrupt can still be examined.
///
/// # Errors
/// [`StoreError::NotALedger`] or a storage failure; corruption is in the report.
pub fn verify_ledger(path: &Path) -> Result<VerifyReport, StoreError> {
    let format = check_marker(path)?;
    let (_db, tree) = open_db(path, format)?;
    verify::verify_tree(&tree, format)
}

/// The derived database of a store, and sled's files as the store opened
/// them.
struct Apart {
    /// In the log's own database (formats 1 and 2) or one of its own (formats 3 and 4).
    derived: derived::Derived,
    /// See [`settle`].
    files_at_open: FilesAtOpen,
}

/// The fingerprints of sled's files of a ledger's databases (see
/// [`guard::current`]): the log's, and the derived one's when apart.
struct FilesAtOpen {
    log: Option<String>,
    derived: Option<String>,
}

impl FilesAtOpen {
    fn now(path: &Path, format: Format) -> FilesAtOpen {
        FilesAtOpen {
            log: guard::current(path),
            derived: format
                .derived_apart()
                .then(|| guard::current(&path.join(derived::DERIVED_DIR)))
                .flatten(),
        }
    }
}

/// Opens sled's databases of the ledger in `path` once more and closes them,
/// after an orderly close has flushed them: each database whose files changed
/// since the store opened it (`at_open`).
///
/// Decision: sled 0.34 writes the snapshot of its page table only when it
/// opens a database, and its open reads every segment written since that
/// snapshot: a process that appended for hours left the whole scan to the
/// next start (9.1 s of the 10.1 s open of a 100,000-contract region, whose
/// files were all written by the import). Reopening here moves that scan to
/// the close of the process that wrote, whose caller is done with the
/// ledger; the next start reads the snapshot and an empty tail. After a
/// crash, an open still scans what was written since the last open. A
/// process that wrote nothing (a read, a verification) leaves its files as
/// its open left them, snapshot included, and pays no second open.
fn settle(path: &Path, format: Format, at_open: &FilesAtOpen) -> Result<(), StoreError> {
    let failed = |e: OpenFailure| match e {
        OpenFailure::Locked(e) => e,
        OpenFailure::Sled(e) => in_directory(path, &e),
    };
    let changed = |dir: &Path, then: &Option<String>| {
        then.is_none() || guard::current(dir).as_ref() != then.as_ref()
    };
    if changed(path, &at_open.log) {
        drop(open_waiting_for_lock(path, || format.sled_config(path)).map_err(failed)?);
    }
    let dir = path.join(derived::DERIVED_DIR);
    if format.derived_apart() && changed(&dir, &at_open.derived) {
        derived::settle_or_compact(path)?;
    }
    Ok(())
}

/// Recovers the head from the last record, checking it.
fn recover_head(tree: &sled::Tree, format: Format) -> Result<Head, StoreError> {
    let last = tree.scan_prefix([keys::LOG]).next_back();
    let Some(item) = last else {
        return Ok(Head {
            position: 0,
            hash: Hash::GENESIS,
            recorded_at: None,
        });
    };
    let (k, v) = item.map_err(storage)?;
    let position = keys::log_key_position(&k).ok_or_else(|| StoreError::Corrupt {
        position: 0,
        why: format!("malformed log key {}", hex::encode(&k)),
    })?;
    let env = check_record(position, format, &v)?;
    Ok(Head {
        position,
        hash: env.hash,
        recorded_at: Some(env.recorded_at),
    })
}

impl SledStore {
    /// Creates an empty ledger in `path` (created if absent). An existing ledger
    /// is left as it is.
    ///
    /// # Errors
    /// [`StoreError::NotALedger`] when `path` is a file, or a non-empty directory
    /// that is not a ledger (nothing is written into it); a storage failure.
    pub fn init(path: &Path) -> Result<InitOutcome, StoreError> {
        SledStore::init_as(path, Format::CURRENT)
    }

    /// [`SledStore::init`], a new ledger being created in `format` instead
    /// of the current one: what an older version created, for the tests and
    /// benches that compare formats. An existing ledger keeps the format its marker
    /// names.
    ///
    /// # Errors
    /// As [`SledStore::init`].
    pub fn init_as(path: &Path, format: Format) -> Result<InitOutcome, StoreError> {
        let io = |e: std::io::Error| StoreError::Storage(format!("{}: {e}", path.display()));
        match std::fs::metadata(path) {
            Ok(m) if !m.is_dir() => return Err(not_a_ledger(path, "not a directory")),
            Ok(_) => {
                let marker = path.join(keys::MARKER_FILE).exists();
                let empty = std::fs::read_dir(path).map_err(io)?.next().is_none();
                if !marker && !empty {
                    return Err(not_a_ledger(
                        path,
                        format!(
                            "a non-empty directory without a {} marker; refusing to write into it",
                            keys::MARKER_FILE
                        ),
                    ));
                }
            }
            Err(_) => std::fs::create_dir_all(path).map_err(io)?,
        }
        // The marker file is written first: a crash between it and the format key
        // leaves a directory that the next `init` completes (marker present, empty
        // log), never a non-empty directory that `init` would refuse. An
        // existing ledger keeps the format its marker names.
        let marker = path.join(keys::MARKER_FILE);
        let format = if marker.exists() {
            check_marker(path)?
        } else {
            std::fs::write(&marker, format.marker_content()).map_err(io)?;
            format
        };
        let db = open_sled(path, format)?;
        let tree = db.open_tree(keys::TREE_NAME).map_err(storage)?;
        let outcome = match tree.get(keys::FORMAT_KEY).map_err(storage)? {
            Some(v) if v.as_ref() == format.tree_marker() => InitOutcome::AlreadyLedger,
            Some(_) => {
                return Err(not_a_ledger(
                    path,
                    "the database's format marker disagrees with its marker file",
                ))
            }
            None => {
                if tree.scan_prefix([keys::LOG]).next().is_some() {
                    return Err(not_a_ledger(
                        path,
                        "records without a format marker; refusing to mark them",
                    ));
                }
                tree.insert(keys::FORMAT_KEY, format.tree_marker())
                    .map_err(storage)?;
                InitOutcome::Created
            }
        };
        db.flush().map_err(storage)?;
        drop((tree, db));
        let _ = guard::after_close(path);
        Ok(outcome)
    }

    /// Opens a ledger created by [`SledStore::init`] and starts its writer thread.
    ///
    /// # Errors
    /// [`StoreError::NotALedger`] (nothing is written), [`StoreError::Corrupt`]
    /// when the head record does not verify, or a storage failure.
    pub fn open(
        path: &Path,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<SledStore, StoreError> {
        Self::open_with(path, limits, clock, true)
    }

    /// For benchmarks only: opens a ledger whose writer does not maintain the
    /// Merkle tree (no leaf hashed, no node written), so that the tree's price
    /// on appends is measured against the same store without it, in the same
    /// run. A ledger written so has no tree for its records: reopened by
    /// [`SledStore::open`], it has them computed then, as a ledger written
    /// before the tree existed.
    ///
    /// # Errors
    /// As [`SledStore::open`].
    #[cfg(feature = "bench-untreed")]
    pub fn open_without_tree(
        path: &Path,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<SledStore, StoreError> {
        Self::open_with(path, limits, clock, false)
    }

    fn open_with(
        path: &Path,
        limits: Limits,
        clock: Arc<dyn Clock>,
        keep_tree: bool,
    ) -> Result<SledStore, StoreError> {
        let format = check_marker(path)?;
        let (db, tree) = open_db(path, format)?;
        let head = recover_head(&tree, format)?;
        merkle::group_per_node_keys(&db, &tree)?;
        merkle::catch_up(&db, &tree, format, head.position)?;
        let apart = Box::new(Apart {
            derived: derived::Derived::open(path, format, &db)?,
            files_at_open: FilesAtOpen::now(path, format),
        });
        let shared_head = Arc::new(RwLock::new(head));
        let (tx, rx) = mpsc::channel(QUEUE_APPENDS_MAX);
        let (done_tx, done_rx) = oneshot::channel();
        let writer = Writer {
            db: db.clone(),
            tree: tree.clone(),
            format,
            keep_tree,
            limits,
            clock,
            head,
            versions: Default::default(),
            shared_head: shared_head.clone(),
            failed: Default::default(),
            recorded_json: None,
            in_flight: Default::default(),
        };
        std::thread::Builder::new()
            .name("navigo-store-writer".into())
            .spawn(move || {
                writer.run(rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| StoreError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(SledStore {
            db,
            tree,
            path: path.to_path_buf(),
            format,
            apart,
            head: shared_head,
            tx,
            limits,
            writer_done: Some(done_rx),
            verified: RwLock::new(VerifiedRecords::default()),
        })
    }

    /// The Merkle tree of the first `size` records: its size and root, what a
    /// checkpoint signs.
    ///
    /// # Errors
    /// A size beyond the durable head, or a tree node that cannot be read.
    pub fn tree_head(&self, size: u64) -> Result<navigo_merkle::TreeHead, StoreError> {
        self.within_head(size)?;
        let root =
            navigo_merkle::root(size, &merkle::Nodes::new(&self.tree)).map_err(tree_error)?;
        Ok(navigo_merkle::TreeHead { size, root })
    }

    /// The proof that the record at `position` is in the tree of the first
    /// `size` records.
    ///
    /// # Errors
    /// A position or size beyond the durable head, or an unreadable node.
    pub fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<navigo_merkle::InclusionProof, StoreError> {
        self.within_head(size)?;
        let index = position
            .checked_sub(1)
            .ok_or_else(|| tree_error("position 0"))?;
        navigo_merkle::InclusionProof::prove(size, index, &merkle::Nodes::new(&self.tree))
            .map_err(tree_error)
    }

    /// The proof that the tree of `new` records extends the tree of `old`.
    ///
    /// # Errors
    /// `new` beyond the durable head or below `old`, or an unreadable node.
    pub fn prove_consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<navigo_merkle::ConsistencyProof, StoreError> {
        self.within_head(new)?;
        navigo_merkle::ConsistencyProof::prove(old, new, &merkle::Nodes::new(&self.tree))
            .map_err(tree_error)
    }

    pub(crate) fn within_head(&self, size: u64) -> Result<(), StoreError> {
        let head = self
            .head
            .read()
            .map_or_else(|p| p.into_inner().position, |h| h.position);
        if size > head {
            return Err(tree_error(format!(
                "a tree of {size} records asked of a log of {head}"
            )));
        }
        Ok(())
    }

    /// Stops the writer after the appends already queued, and flushes. The
    /// directory can be reopened once this returns (and every `read_all` stream
    /// of this store is dropped).
    ///
    /// # Errors
    /// A storage failure of the final flush.
    pub async fn close(mut self) -> Result<(), StoreError> {
        let done = self.writer_done.take();
        let SledStore {
            db,
            tree,
            apart,
            path,
            format,
            tx,
            ..
        } = self;
        drop(tx);
        if let Some(done) = done {
            let _ = done.await;
        }
        db.flush_async().await.map_err(storage)?;
        let Apart {
            derived,
            files_at_open,
        } = *apart;
        let derived = derived.into_handles();
        derived.db.flush_async().await.map_err(storage)?;
        drop((db, tree, derived));
        // Without the fingerprint the next open copies sled's files aside
        // first: slower, never unsafe, so a failure here fails no command.
        let settled = tokio::task::spawn_blocking(move || {
            settle(&path, format, &files_at_open).map(|()| path)
        });
        if let Ok(Ok(path)) = settled.await {
            let _ = guard::after_close(&path);
        }
        Ok(())
    }

    /// Sends one append to the writer; the outcome and, when it wrote, what it
    /// assigned.
    async fn append_one(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Option<Written>), StoreError> {
        let request = Prepared::new(request, &self.limits)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::One { request, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends several requests (to any streams) all or nothing, in one group
    /// commit: `navigo-ledger append` uses it so that a file is appended whole or
    /// not at all.
    ///
    /// # Errors
    /// The first refused request and why, or a storage failure; nothing is written.
    pub async fn append_all(
        &self,
        requests: Vec<AppendRequest>,
    ) -> Result<Vec<AppendOutcome>, AppendAllError> {
        let (reply, rx) = oneshot::channel();
        let closed = || AppendAllError {
            request_index: None,
            error: StoreError::Closed,
        };
        let requests = requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                Prepared::new(r, &self.limits).map_err(|error| AppendAllError {
                    request_index: Some(i),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.tx
            .send(Job::All { requests, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Verifies the whole ledger (see [`verify_ledger`]).
    ///
    /// # Errors
    /// A storage failure; corruption is in the report.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify::verify_tree(&self.tree, self.format)
    }

    /// [`SledStore::verify`] as a task that holds no borrow of the store, to run
    /// on another thread while the store keeps serving (sled reads are
    /// concurrent with the writer). Records appended during the run are checked
    /// if the scan reaches them.
    pub fn detached_verify(
        &self,
    ) -> impl FnOnce() -> Result<VerifyReport, StoreError> + Send + 'static {
        let tree = self.tree.clone();
        let format = self.format;
        move || verify::verify_tree(&tree, format)
    }

    /// Counts events, streams per kind and idempotency keys.
    ///
    /// # Errors
    /// A storage failure or a malformed index key.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let head = committed(&self.head);
        let mut streams: BTreeMap<StreamKind, u64> = BTreeMap::new();
        for item in stream_index::StreamIndex::of(self.format).all(&self.tree) {
            let e = match item? {
                stream_index::Item::Entry(e) => e,
                stream_index::Item::Malformed(why) => {
                    return Err(StoreError::Corrupt { position: 0, why })
                }
            };
            if e.seq == 1 && e.position <= head.position {
                *streams.entry(e.stream.kind).or_default() += 1;
            }
        }
        let idempotency_keys = self.tree.scan_prefix([keys::IDEM]).count() as u64;
        Ok(Stats {
            head,
            events: head.position,
            streams,
            idempotency_keys,
            disk_bytes: self.disk_bytes()?,
        })
    }

    /// The bytes of sled's files: the log's database, and the derived
    /// database when it is apart.
    fn disk_bytes(&self) -> Result<u64, StoreError> {
        let log = self.db.size_on_disk().map_err(storage)?;
        if !self.format.derived_apart() {
            return Ok(log);
        }
        let derived = self.apart.derived.handles().db;
        Ok(log + derived.size_on_disk().map_err(storage)?)
    }

    /// The sled tree, for tools that inspect the raw layout (tests, benchmarks).
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// How many times this store compacted its derived database while open
    /// (the benchmarks report it; see [`derived`]).
    pub fn derived_compactions(&self) -> u64 {
        self.apart.derived.compactions()
    }

    /// Sets a tighter multiple of the live bytes than
    /// [`derived::DERIVED_FILES_PER_LIVE_MAX`] beyond which the derived
    /// database is compacted while this store is open: for a disk too small
    /// for the default, or a test whose writes sled's own reuse of segments
    /// keeps within the default.
    pub fn set_derived_files_per_live_max(&self, multiple: u64) {
        self.apart.derived.set_files_per_live_max(multiple);
    }

    /// The ledger's store format (how its records are stored, see [`frame`]).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Every record from `from_position` through the durable head (as it is when
    /// the call starts), decoded and checked on several threads: the hash of each
    /// record, its position, gapless positions, the chain link of each record to
    /// the one before, upcasting; a bad record is refused with the same
    /// [`StoreError::Corrupt`] (naming its position) as the `read_all` stream
    /// gives, and nothing is returned. Uses as many decoding threads as the
    /// machine has cores (at most [`read::READ_LOG_WORKERS_MAX`]) and blocks the
    /// calling thread; [`EventStore::read_log`] runs it on a thread of its own.
    ///
    /// # Errors
    /// The first corrupt record or gap in position order, a storage failure.
    pub fn read_all_parallel(&self, from_position: u64) -> Result<Vec<Envelope>, StoreError> {
        self.log_reader(from_position)()
    }

    /// [`SledStore::read_all_parallel`] as a task that holds no borrow of the
    /// store, its range fixed now (through the durable head), to run on
    /// another thread while the store keeps serving: an administrative job of
    /// the service reads the log without holding the writer.
    pub fn detached_read_log(
        &self,
        from_position: u64,
    ) -> impl FnOnce() -> Result<Vec<Envelope>, StoreError> + Send + 'static {
        self.log_reader(from_position)
    }

    /// The whole-log read of [`SledStore::read_all_parallel`], its range fixed
    /// now (through the durable head), to run on any thread.
    fn log_reader(
        &self,
        from_position: u64,
    ) -> impl FnOnce() -> Result<Vec<Envelope>, StoreError> + Send + 'static {
        let tree = self.tree.clone();
        let format = self.format;
        let end = committed(&self.head).position;
        let workers = read_log_workers();
        move || {
            read_log(
                &tree,
                format,
                from_position,
                end,
                workers,
                READ_LOG_CHUNK_RECORDS,
            )
        }
    }

    /// Forgets which records were verified: the next read of each hashes it
    /// again (for benchmarks of a first read, and tests).
    pub fn forget_verified(&self) {
        match self.verified.write() {
            Ok(mut v) => v.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }
}

#[async_trait]
impl EventStore for SledStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        Ok(self.append_one(request).await?.0)
    }

    /// The stored envelopes built from what the writer assigned
    /// ([`stored_envelopes`]), not read back.
    async fn append_stored(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
        let (stream, key) = (request.stream, request.idempotency_key.clone());
        let events = request.events.clone();
        let (outcome, written) = self.append_one(request).await?;
        let stored = stored_envelopes(stream, key.as_deref(), events, &outcome, written);
        Ok((outcome, stored))
    }

    async fn import_sealed(&self, records: Vec<Vec<u8>>) -> Result<Head, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Sealed { records, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Envelope>, StoreError> {
        let (start, end) = ((*range.start()).max(1), *range.end());
        if start > end {
            return Ok(Vec::new());
        }
        let head = committed(&self.head).position;
        let index = stream_index::StreamIndex::of(self.format);
        let mut out = Vec::new();
        for (expected_seq, item) in (start..).zip(index.entries(&self.tree, stream, start..=end)) {
            let (seq, pos) = item?;
            if pos > head {
                // Written by a batch whose flush has not returned yet.
                break;
            }
            let bytes = self
                .tree
                .get(keys::log_key(pos))
                .map_err(|e| batch::storage_at(pos, e))?
                .ok_or_else(|| StoreError::Corrupt {
                    position: pos,
                    why: format!("indexed by {stream} but missing from the log"),
                })?;
            let env = check_record_once(pos, self.format, &bytes, &self.verified)?;
            if env.stream != stream || env.stream_seq != seq || env.stream_seq != expected_seq {
                return Err(StoreError::Corrupt {
                    position: pos,
                    why: format!(
                        "indexed as {stream} seq {expected_seq} but the record is {} seq {}",
                        env.stream, env.stream_seq
                    ),
                });
            }
            out.push(env);
        }
        Ok(out)
    }

    fn read_all(&self, from_position: u64) -> EnvelopeStream<'_> {
        Box::pin(ReadAll::new(
            self.tree.clone(),
            self.format,
            &self.head,
            from_position,
        ))
    }

    /// [`SledStore::read_all_parallel`], on a thread of its own so that the
    /// caller's executor is not blocked while the log is read.
    async fn read_log(&self, from_position: u64) -> Result<Vec<Envelope>, StoreError> {
        let read = self.log_reader(from_position);
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("navigo-read-log".into())
            .spawn(move || {
                // The receiver is gone only if the caller stopped waiting.
                let _ = tx.send(read());
            })
            .map_err(|e| StoreError::Storage(format!("cannot start the log reader: {e}")))?;
        rx.await
            .map_err(|_| StoreError::Storage("the log reader stopped without an answer".into()))?
    }

    async fn head(&self) -> Result<Head, StoreError> {
        Ok(committed(&self.head))
    }

    async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError> {
        stream_version_on_disk(
            &self.tree,
            self.format,
            &stream,
            committed(&self.head).position,
        )
    }

    /// A prefix scan of the key index (`I` keys, see [`keys`]).
    async fn idempotency_keys(
        &self,
        prefix: &str,
        keys_max: usize,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(keys::idem_key(prefix)).take(keys_max) {
            let (k, v) = item.map_err(storage)?;
            let entry = keys::IdemEntry::decode(&v).ok_or_else(|| StoreError::Corrupt {
                position: 0,
                why: format!("malformed idempotency entry {}", hex::encode(&k)),
            })?;
            let key = String::from_utf8(k[1..].to_vec()).map_err(|_| StoreError::Corrupt {
                position: entry.first,
                why: format!("idempotency key not UTF-8: {}", hex::encode(&k)),
            })?;
            out.push((key, entry.positions()));
        }
        Ok(out)
    }

    async fn read_derived(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        derived::read(&self.apart.derived.handles().tree, name)
    }

    async fn write_derived(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.apart
            .derived
            .write_with(|h| derived::write(&h.db, &h.tree, name, bytes))
    }

    async fn read_derived_entries(
        &self,
        space: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        derived::read_entries(&self.apart.derived.handles().tree, space, keys)
    }

    async fn scan_derived_entries(
        &self,
        space: &str,
        prefix: &[u8],
    ) -> Result<navigo_store::DerivedEntries, StoreError> {
        derived::scan_entries(&self.apart.derived.handles().tree, space, prefix)
    }

    async fn write_derived_entries(
        &self,
        space: &str,
        batch: &navigo_store::DerivedBatch,
    ) -> Result<(), StoreError> {
        self.apart
            .derived
            .write_with(|h| derived::write_entries(&h.db, &h.tree, space, batch))
    }

    async fn tree_head(&self, size: u64) -> Result<navigo_merkle::TreeHead, StoreError> {
        SledStore::tree_head(self, size)
    }

    async fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<(navigo_merkle::InclusionProof, Vec<u8>), StoreError> {
        let proof = SledStore::prove_inclusion(self, size, position)?;
        let record = merkle::canonical_record(&self.tree, self.format, position)?;
        Ok((proof, record))
    }

    async fn prove_consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<navigo_merkle::ConsistencyProof, StoreError> {
        SledStore::prove_consistency(self, old, new)
    }

    async fn stream_heads(&self, size: u64) -> Result<navigo_merkle::StreamHeads, StoreError> {
        self.within_head(size)?;
        merkle::stream_heads(&self.tree, self.format, size)
    }

    async fn keep_checkpoint(&self, signed_note: &[u8]) -> Result<u64, StoreError> {
        let tree = self
            .db
            .open_tree(checkpoints::CHECKPOINTS_TREE_NAME)
            .map_err(storage)?;
        checkpoints::keep(&self.db, &tree, signed_note)
    }

    async fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let tree = self
            .db
            .open_tree(checkpoints::CHECKPOINTS_TREE_NAME)
            .map_err(storage)?;
        checkpoints::all(&tree)
    }
}

/// The benchmarks' raw reference for reading a stream: a sled prefix scan of its
/// index and a `get`, unframing (decompression in format 2) and JSON decode
/// (`decode_record`) of each record, with no hash, order or sequence check. Panics on a malformed ledger: for benchmarks
/// over ledgers they just wrote.
#[doc(hidden)]
pub fn raw_stream_read(store: &SledStore, stream: StreamId) -> Vec<Envelope> {
    use keys::log_key;
    let tree = store.tree();
    let index = stream_index::StreamIndex::of(store.format());
    let mut out = Vec::new();
    for item in index.entries(tree, stream, 1..=u64::MAX) {
        let (_, position) = item.expect("index");
        let bytes = tree.get(log_key(position)).expect("log").expect("record");
        let record = frame::unframe(store.format(), &bytes).expect("frame");
        out.push(navigo_events_schema::decode_record(&record).expect("decode"));
    }
    out
}

/// The parallel whole-log read against the `read_all` stream, with the
/// internals of [`read`] at hand (chunk sizes and workers).
fn tree_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(format!("the Merkle tree: {e}"))
}

#[cfg(test)]
mod read_log_tests {
    use std::sync::Arc;

    use chrono::NaiveDate;
    use navigo_events_schema::event::MandateRevoked;
    use navigo_events_schema::types::{Actor, ActorRole};
    use navigo_events_schema::{Event, NewEvent, StreamId};
    use uuid::Uuid;

    use super::*;
    use navigo_store::{ExpectedVersion, ManualClock};

    /// A ledger of `n` small events over three streams, appended 10 at a time.
    fn ledger(name: &str, n: u32) -> (SledStore, std::path::PathBuf, tokio::runtime::Runtime) {
        let dir =
            std::env::temp_dir().join(format!("navigo-read-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SledStore::init(&dir).unwrap();
        let clock = Arc::new(ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap()));
        let store = SledStore::open(&dir, Limits::default(), clock).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut i = 0u32;
        while i < n {
            let events: Vec<NewEvent> = (i..(i + 10).min(n))
                .map(|k| NewEvent {
                    event_id: Uuid::from_u128(u128::from(k) + 1),
                    effective_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                    actor: Actor {
                        role: ActorRole::Agent,
                        id: "A1".into(),
                    },
                    channel: None,
                    correlation_id: Uuid::from_u128(u128::from(k) + 1),
                    causation_id: None,
                    event: Event::MandateRevoked(MandateRevoked {
                        reference: format!("r{k}"),
                    }),
                })
                .collect();
            let stream = StreamId::contract(Uuid::from_u128(u128::from(i % 3) + 1));
            rt.block_on(store.append(AppendRequest {
                stream,
                expected: ExpectedVersion::Any,
                events,
                idempotency_key: None,
                recorded_at: None,
            }))
            .unwrap();
            i += 10;
        }
        (store, dir, rt)
    }

    fn drain(store: &SledStore, rt: &tokio::runtime::Runtime, from: u64) -> Vec<Envelope> {
        let mut s = store.read_all(from);
        let mut out = Vec::new();
        while let Some(item) = rt.block_on(std::future::poll_fn(|cx| s.as_mut().poll_next(cx))) {
            out.push(item.unwrap());
        }
        out
    }

    #[test]
    fn read_log_equals_read_all_across_many_small_chunks_and_workers() {
        // Given a ledger of 203 events
        let (store, dir, rt) = ledger("chunks", 203);
        // When it is read with chunks of 1 to 64 records, on 1 to 3 workers,
        // from several positions
        for from in [0, 1, 2, 100, 203, 204] {
            let expected = drain(&store, &rt, from);
            for (workers, chunk) in [(1, 1), (3, 7), (2, 64), (3, 1_024)] {
                let got =
                    read_log(store.tree(), store.format(), from, 203, workers, chunk).unwrap();
                // Then it holds the same envelopes as the read_all stream
                assert_eq!(
                    got, expected,
                    "from {from}, {workers} workers, chunks of {chunk}"
                );
            }
        }
        // And a read stops at the end it is given (the durable head when it starts)
        let f = store.format();
        assert_eq!(read_log(store.tree(), f, 1, 57, 2, 5).unwrap().len(), 57);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn read_log_reports_the_first_bad_record_in_position_order_whichever_worker_finds_it() {
        // Given a ledger whose records 150 and 40 are both flipped, record 40 in
        // the first chunk of the read, 150 in a later one
        let (store, dir, rt) = ledger("first-bad", 200);
        // (a byte of their canonical JSON, stored again in the ledger's format)
        for p in [40u64, 150] {
            let stored = store.tree().get(keys::log_key(p)).unwrap().unwrap();
            let mut b = frame::unframe(store.format(), &stored).unwrap().to_vec();
            let i = b.len() - 3;
            b[i] ^= 0x01;
            let stored = frame::frame(store.format(), &b).unwrap().to_vec();
            store.tree().insert(keys::log_key(p), stored).unwrap();
        }
        drop(rt);
        // When it is read with small chunks on three workers, many times (the
        // worker that finds its error first changes from run to run)
        for _ in 0..20 {
            let err = read_log(store.tree(), store.format(), 1, 200, 3, 8).unwrap_err();
            // Then the error names position 40, the first one
            match err {
                StoreError::Corrupt { position, why } => {
                    assert_eq!(position, 40);
                    assert!(why.contains("hash mismatch"), "{why}");
                }
                e => panic!("{e}"),
            }
        }
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
