//! The single writer: a dedicated thread that owns every write to the tree.
//!
//! Appends arrive on a bounded queue with a reply channel each. The writer takes
//! one, drains whatever else is already queued (up to `Limits::batch_appends_max`
//! requests and `Limits::batch_events_max` events), validates each request against
//! the durable state plus what the batch already accepted, completes the records
//! (pre-encoded on the callers' tasks, see `Prepared`) chaining their hashes,
//! seals them (compressed for the ledger's format, their Merkle leaves
//! computed) and hands the batch on. A second thread, the applier, adds the
//! Merkle tree's nodes and applies the whole batch as one atomic sled batch. A
//! third, the flusher, then flushes and only after the flush returns replies
//! to every request of the batch. While the applier applies and the flusher
//! flushes, the writer chains and seals the next batches and new requests
//! queue up: one flush covers every batch applied before it started. That is
//! the group commit, pipelined.
//!
//! Because this thread is the only writer, version checks and position assignment
//! need no read-modify-write retry: the in-memory head and stream versions are the
//! truth once a batch is durable, and the overlay of the batch being built is the
//! truth for the requests inside it. A request refused inside a batch (conflict,
//! limit, out of order) adds nothing to it and does not affect the others.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use navigo_events_schema::envelope::recorded_at_json;
use navigo_events_schema::{Hash, StreamId};
use tokio::sync::{mpsc, oneshot};

use crate::format::Format;
use crate::frame;
use crate::keys::{self, IdemEntry};
use crate::stream_index::StreamIndex;
use navigo_store::assign::{recorded_at, Prepared, Written};
use navigo_store::sealed;
use navigo_store::{
    AppendOutcome, AppendRequest, Clock, ExpectedVersion, Head, Limits, StoreError,
};

pub(crate) use crate::batch::{storage, KeyValue};

/// A request's records as the writer prepares them: the writes that store
/// them (each record canonical, sealed with their batch: [`seal_batch`]) and
/// their chain hashes, in position order.
type Records = (Vec<KeyValue>, Vec<Hash>);

/// Batches the writer has handed to the applier and the applier has not
/// applied yet. When this many wait, the writer waits too and the request queue fills,
/// so that the next batch is larger.
pub const APPLY_QUEUE_BATCHES_MAX: usize = 2;

/// Stream versions kept in the writer's cache. When full, the cache is cleared and
/// refilled from the stream index on demand: a bound, not an eviction policy,
/// because a miss costs one short index read.
pub const STREAM_CACHE_ENTRIES_MAX: usize = 100_000;

/// Requests waiting for the writer. Callers wait (back-pressure) when it is full.
pub const QUEUE_APPENDS_MAX: usize = 4_096;

/// The reply to an all-or-nothing multi-request append.
pub type AllReply = Result<Vec<AppendOutcome>, AppendAllError>;

/// Why an all-or-nothing append wrote nothing.
#[derive(Debug, thiserror::Error)]
#[error("{}{error}", match request_index { Some(i) => format!("request {i}: "), None => String::new() })]
pub struct AppendAllError {
    /// The index of the request that was refused, when one was.
    pub request_index: Option<usize>,
    /// Why.
    pub error: StoreError,
}

/// The reply to one append: the outcome, and what was assigned when it wrote.
/// What an idempotency key says of a request: a retry of an append already
/// made (its positions), or a new append (its content digest, when it has a
/// key).
enum KeyCheck {
    Retry(Vec<u64>),
    New(Option<[u8; 32]>),
}

pub(crate) type OneReply = Result<(AppendOutcome, Option<Written>), StoreError>;

/// A unit of work for the writer.
pub(crate) enum Job {
    /// One append request.
    One {
        request: Prepared,
        reply: oneshot::Sender<OneReply>,
    },
    /// Several append requests, all written or none.
    All {
        requests: Vec<Prepared>,
        reply: oneshot::Sender<AllReply>,
    },
    /// Records another store sealed, stored as they are, all or none.
    Sealed {
        records: Vec<Vec<u8>>,
        reply: oneshot::Sender<SealedReply>,
    },
}

/// The reply to an import of sealed records: the head they leave.
pub(crate) type SealedReply = Result<Head, StoreError>;

impl Job {
    fn events(&self) -> usize {
        match self {
            Job::One { request, .. } => request.request.events.len(),
            Job::All { requests, .. } => requests.iter().map(|r| r.request.events.len()).sum(),
            Job::Sealed { records, .. } => records.len(),
        }
    }
}

/// The hasher of the writer's stream-version maps.
///
/// Decision: the default SipHash cost about a tenth of the writer thread's time
/// per event (four to five lookups or inserts per request, profiled with
/// `perf` on the 64-writer benchmark). Keys are stream ids (a kind and a UUID), so
/// a multiply-rotate hash over 8-byte words is enough; it is seeded at random per
/// writer (from the standard library's random hasher state) so that crafted ids
/// cannot be aimed at a known hash function, and the map is bounded by
/// [`STREAM_CACHE_ENTRIES_MAX`] in any case.
#[derive(Clone, Copy)]
pub(crate) struct StreamHashState {
    seed: u64,
}

impl Default for StreamHashState {
    fn default() -> Self {
        StreamHashState {
            seed: std::collections::hash_map::RandomState::new().hash_one(0x6e61_7669_676f_u64),
        }
    }
}

impl BuildHasher for StreamHashState {
    type Hasher = StreamHasher;
    fn build_hasher(&self) -> StreamHasher {
        StreamHasher(self.seed)
    }
}

/// See [`StreamHashState`].
pub(crate) struct StreamHasher(u64);

impl StreamHasher {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for StreamHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // A final mix so that the low bits (the bucket index) depend on every word.
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(Self::K) ^ (h >> 32)
    }
}

/// Stream versions by stream.
pub(crate) type VersionMap = HashMap<StreamId, u64, StreamHashState>;

/// The durable state the writer owns.
pub(crate) struct Writer {
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
    /// How records are stored (the ledger's format, never changed by appends).
    pub(crate) format: Format,
    /// Whether the Merkle tree is maintained: always, except in the benchmark
    /// that prices it (`SledStore::open_without_tree`).
    pub(crate) keep_tree: bool,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    /// The durable head (what the last flushed batch left).
    pub(crate) head: Head,
    /// Durable stream versions, a bounded cache of the stream index.
    pub(crate) versions: VersionMap,
    /// The head readers see: updated only after a flush returns.
    pub(crate) shared_head: Arc<RwLock<Head>>,
    /// Set when a write or flush failed: the state on disk is then unknown to this
    /// process, so every later append is refused until the store is reopened.
    pub(crate) failed: Arc<Mutex<Option<String>>>,
    /// The last recorded-at instant encoded, and its JSON: consecutive requests
    /// mostly share one (see `Overlay::now`).
    pub(crate) recorded_json: Option<(DateTime<Utc>, Vec<u8>)>,
    /// The batches handed to the applier and not applied yet.
    pub(crate) in_flight: InFlight,
}

/// What the batches handed to the applier and not yet applied to the tree
/// accepted: the writer judges the next requests against it, since the tree
/// does not hold them yet (a retry's idempotency key, a stream's version once
/// the version cache was cleared). It holds at most the batches the applier's
/// queue holds ([`APPLY_QUEUE_BATCHES_MAX`]) and the one it applies.
#[derive(Default)]
pub(crate) struct InFlight {
    /// By batch number, oldest first.
    batches: std::collections::VecDeque<(u64, VersionMap, HashMap<String, IdemEntry>)>,
    /// The number of the next batch handed over.
    next: u64,
    /// The number of the last batch the applier is done with (applied, or
    /// refused after a failure), plus one.
    applied: Arc<std::sync::atomic::AtomicU64>,
}

impl InFlight {
    /// Forgets the batches the applier is done with.
    fn prune(&mut self) {
        let applied = self.applied.load(std::sync::atomic::Ordering::Acquire);
        while self.batches.front().is_some_and(|(n, _, _)| *n < applied) {
            self.batches.pop_front();
        }
    }

    fn version(&self, stream: &StreamId) -> Option<u64> {
        self.batches
            .iter()
            .rev()
            .find_map(|(_, versions, _)| versions.get(stream).copied())
    }

    fn key(&self, key: &str) -> Option<IdemEntry> {
        self.batches
            .iter()
            .find_map(|(_, _, keys)| keys.get(key).copied())
    }
}

/// What a batch under construction has accepted so far.
#[derive(Clone)]
struct Overlay {
    head: Head,
    versions: VersionMap,
    keys: HashMap<String, IdemEntry>,
    /// The store clock, read once per batch.
    ///
    /// Decision: every request of a group commit that brings no import instant is
    /// recorded at the same instant, read when the batch starts. They are learnt
    /// together (none is durable before the others), recorded-at still never
    /// decreases with position, and one reading per batch saves a clock read and
    /// the formatting of an instant per request.
    now: DateTime<Utc>,
}

/// A reply owed once the batch is durable.
enum Owed {
    One(oneshot::Sender<OneReply>, OneReply),
    All(oneshot::Sender<AllReply>, AllReply),
    Sealed(oneshot::Sender<SealedReply>, SealedReply),
}

impl Owed {
    /// A job answered without being looked at (the store has failed).
    fn refused(job: Job) -> Owed {
        let error = StoreError::Closed;
        match job {
            Job::One { reply, .. } => Owed::One(reply, Err(error)),
            Job::All { reply, .. } => Owed::All(
                reply,
                Err(AppendAllError {
                    request_index: None,
                    error,
                }),
            ),
            Job::Sealed { reply, .. } => Owed::Sealed(reply, Err(error)),
        }
    }
}

/// Sends the replies; with `failure`, every one becomes a storage error instead.
fn send_all(owed: Vec<Owed>, failure: Option<&str>) {
    let err = |why: &str| {
        StoreError::Storage(format!(
            "{why}; nothing of this append is acknowledged: reopen the store"
        ))
    };
    for o in owed {
        match (o, failure) {
            (Owed::One(reply, r), None) => {
                let _ = reply.send(r);
            }
            (Owed::All(reply, r), None) => {
                let _ = reply.send(r);
            }
            (Owed::Sealed(reply, r), None) => {
                let _ = reply.send(r);
            }
            (Owed::Sealed(reply, _), Some(why)) => {
                let _ = reply.send(Err(err(why)));
            }
            (Owed::One(reply, _), Some(why)) => {
                let _ = reply.send(Err(err(why)));
            }
            (Owed::All(reply, _), Some(why)) => {
                let _ = reply.send(Err(AppendAllError {
                    request_index: None,
                    error: err(why),
                }));
            }
        }
    }
}

fn failure(failed: &Mutex<Option<String>>) -> Option<String> {
    match failed.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn set_failed(failed: &Mutex<Option<String>>, why: String) {
    let mut g = failed.lock().unwrap_or_else(|p| p.into_inner());
    if g.is_none() {
        *g = Some(why);
    }
}

/// The replies of one applied batch, and the head it leaves.
struct Bundle {
    owed: Vec<Owed>,
    head: Head,
}

/// A batch the writer has chained and sealed, for the applier: its writes,
/// the 0-based index of its first record in the log and the Merkle leaves of
/// its records, and what the flusher needs after it.
struct Chained {
    number: u64,
    first_index: u64,
    leaves: Vec<navigo_merkle::Hash>,
    writes: Vec<KeyValue>,
    bundle: Bundle,
}

/// Batches applied but not yet flushed. While the flusher flushes, the writer
/// applies the next batches; when this many wait, the writer waits too and the
/// request queue fills, so that the next batch is larger.
pub const FLUSH_QUEUE_BATCHES_MAX: usize = 2;

/// The flushing half of the group commit: takes every applied batch waiting,
/// flushes once for all of them, updates the head readers see, then replies.
struct Flusher {
    db: sled::Db,
    shared_head: Arc<RwLock<Head>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl Flusher {
    fn run(self, rx: Receiver<Bundle>) {
        while let Ok(first) = rx.recv() {
            let mut bundles = vec![first];
            while let Ok(b) = rx.try_recv() {
                bundles.push(b);
            }
            // After a failed flush nothing later may be acknowledged: a later
            // flush could make a later batch durable over a lost earlier one.
            let mut failed = failure(&self.failed);
            if failed.is_none() {
                if let Err(e) = self.db.flush() {
                    let why = format!("sled flush failed: {e}");
                    set_failed(&self.failed, why.clone());
                    failed = Some(why);
                }
            }
            if failed.is_none() {
                if let Some(last) = bundles.last() {
                    match self.shared_head.write() {
                        Ok(mut h) => *h = last.head,
                        Err(p) => *p.into_inner() = last.head,
                    }
                }
            }
            for b in bundles {
                send_all(b.owed, failed.as_deref());
            }
        }
    }
}

impl Writer {
    /// Runs until every sender is dropped.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel(FLUSH_QUEUE_BATCHES_MAX);
        let flusher = Flusher {
            db: self.db.clone(),
            shared_head: self.shared_head.clone(),
            failed: self.failed.clone(),
        };
        let flusher = std::thread::Builder::new()
            .name("navigo-store-flusher".into())
            .spawn(move || flusher.run(flush_rx));
        let (apply_tx, apply_rx) = std::sync::mpsc::sync_channel(APPLY_QUEUE_BATCHES_MAX);
        let applier = Applier {
            tree: self.tree.clone(),
            index: StreamIndex::of(self.format),
            keep_tree: self.keep_tree,
            failed: self.failed.clone(),
            applied: self.in_flight.applied.clone(),
        };
        let applier = std::thread::Builder::new()
            .name("navigo-store-applier".into())
            .spawn(move || applier.run(apply_rx, flush_tx));
        let threads = match (flusher, applier) {
            (Ok(f), Ok(s)) => (f, s),
            (f, s) => {
                let why = [f.err(), s.err()]
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                set_failed(
                    &self.failed,
                    format!("cannot start the applier and flusher threads: {why}"),
                );
                // Answer everything with the failure rather than hang the callers.
                while let Some(job) = rx.blocking_recv() {
                    self.process(vec![job], None);
                }
                return;
            }
        };
        while let Some(first) = rx.blocking_recv() {
            let mut jobs = vec![first];
            let mut events = jobs[0].events();
            let appends_max = self.limits.batch_appends_max.max(1) as usize;
            let events_max = self.limits.batch_events_max as usize;
            while jobs.len() < appends_max && events < events_max {
                match rx.try_recv() {
                    Ok(job) => {
                        events += job.events();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.process(jobs, Some(&apply_tx));
        }
        // The applier ends once it has handed every batch to the flusher, which
        // ends once it has flushed them: the store is closed after both.
        drop(apply_tx);
        let (flusher, applier) = threads;
        let _ = applier.join();
        let _ = flusher.join();
    }

    fn process(&mut self, jobs: Vec<Job>, applier: Option<&SyncSender<Chained>>) {
        let failed = failure(&self.failed);
        let (Some(applier), None) = (applier, &failed) else {
            let why = failed.unwrap_or_else(|| "the applier is not running".into());
            let owed = jobs.into_iter().map(Owed::refused).collect();
            send_all(owed, Some(&why));
            return;
        };
        self.in_flight.prune();
        let mut overlay = Overlay {
            head: self.head,
            versions: VersionMap::with_capacity_and_hasher(jobs.len(), *self.versions.hasher()),
            keys: HashMap::new(),
            now: self.clock.now(),
        };
        let mut batch: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut owed = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::One { request, reply } => {
                    let r = self.prepare(&mut overlay, &mut batch, &request);
                    owed.push(Owed::One(reply, r));
                }
                Job::All { requests, reply } => {
                    let r = self.prepare_all(&mut overlay, &mut batch, &requests);
                    owed.push(Owed::All(reply, r));
                }
                Job::Sealed { records, reply } => {
                    let r = self.prepare_sealed(&mut overlay, &mut batch, records);
                    owed.push(Owed::Sealed(reply, r));
                }
            }
        }
        let first_index = self.head.position;
        let number = self.in_flight.next;
        // A record that cannot be sealed (zstd out of memory) leaves the batch
        // unwritable: nothing of it is written and the store fails, as when a
        // batch does not apply.
        let leaves = match seal_batch(self.format, self.keep_tree, &mut batch) {
            Ok(leaves) => leaves,
            Err(why) => {
                set_failed(&self.failed, why.clone());
                send_all(owed, Some(&why));
                return;
            }
        };
        if !batch.is_empty() {
            // From here on the batch is the truth for the requests after it,
            // as the tree will be once the applier has applied it.
            self.head = overlay.head;
            if self.versions.len() + overlay.versions.len() > STREAM_CACHE_ENTRIES_MAX {
                self.versions.clear();
            }
            self.versions
                .extend(overlay.versions.iter().map(|(k, v)| (*k, *v)));
            self.in_flight
                .batches
                .push_back((number, overlay.versions, overlay.keys));
        }
        self.in_flight.next += 1;
        // Every reply goes through the applier and the flusher, refusals and
        // `AlreadyAppended` included: either may depend on a request of this
        // batch or of a batch still being applied or flushed, which must not
        // be acknowledged before its flush.
        let chained = Chained {
            number,
            first_index,
            leaves,
            writes: batch,
            bundle: Bundle {
                owed,
                head: self.head,
            },
        };
        if let Err(unsent) = applier.send(chained) {
            let why = "the applier stopped".to_owned();
            set_failed(&self.failed, why.clone());
            send_all(unsent.0.bundle.owed, Some(&why));
        }
    }

    fn prepare_all(
        &mut self,
        overlay: &mut Overlay,
        batch: &mut Vec<(Vec<u8>, Vec<u8>)>,
        requests: &[Prepared],
    ) -> AllReply {
        let total: u64 = requests.iter().map(|r| r.request.events.len() as u64).sum();
        if total > u64::from(self.limits.atomic_events_max) {
            return Err(AppendAllError {
                request_index: None,
                error: StoreError::LimitExceeded {
                    limit: "atomic_events_max",
                    max: u64::from(self.limits.atomic_events_max),
                    actual: total,
                },
            });
        }
        let saved = overlay.clone();
        let batch_len = batch.len();
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            match self.prepare(overlay, batch, r) {
                Ok((o, _)) => out.push(o),
                Err(error) => {
                    *overlay = saved;
                    batch.truncate(batch_len);
                    return Err(AppendAllError {
                        request_index: Some(i),
                        error,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Validates one request against the durable state and the overlay, and on
    /// success adds its writes to the batch and its effects to the overlay. On
    /// failure neither is touched. In order: the request's size, its
    /// idempotency key (a retry is answered from the key), the expected
    /// version, the recorded-at instant, then the records, chained.
    fn prepare(
        &mut self,
        overlay: &mut Overlay,
        batch: &mut Vec<(Vec<u8>, Vec<u8>)>,
        p: &Prepared,
    ) -> OneReply {
        let r = &p.request;
        let n = self.check_size(r)?;
        // Idempotency is checked before the version: a retry of an append that
        // succeeded carries the expected version of the first attempt, which no
        // longer matches, and must still be answered `AlreadyAppended`.
        let digest = match self.check_key(overlay, p)? {
            KeyCheck::Retry(positions) => {
                return Ok((AppendOutcome::AlreadyAppended { positions }, None))
            }
            KeyCheck::New(digest) => digest,
        };
        let current = self.version(overlay, &r.stream)?;
        if let ExpectedVersion::Exact(expected) = r.expected {
            if expected != current {
                return Err(StoreError::Conflict {
                    stream: r.stream,
                    expected,
                    actual: current,
                });
            }
        }
        let recorded_at = recorded_at(overlay.now, &overlay.head, r.recorded_at)?;
        let first = overlay
            .head
            .position
            .checked_add(1)
            .ok_or_else(|| StoreError::Storage("global position overflow".into()))?;
        let prev_hash = overlay.head.hash;
        let (mut writes, hashes) = self.records(p, first, current, recorded_at, prev_hash)?;
        let stream_version = current + n;
        if let (Some(key), Some(digest)) = (&r.idempotency_key, digest) {
            let entry = IdemEntry {
                digest,
                first,
                count: n as u32,
            };
            writes.push((keys::idem_key(key), entry.encode().to_vec()));
            overlay.keys.insert(key.clone(), entry);
        }
        batch.extend(writes);
        overlay.head = Head {
            position: first + n - 1,
            hash: hashes.last().copied().unwrap_or(prev_hash),
            recorded_at: Some(recorded_at),
        };
        overlay.versions.insert(r.stream, stream_version);
        let written = Written {
            recorded_at,
            prev_hash,
            hashes,
        };
        Ok((
            AppendOutcome::Appended {
                positions: (first..first + n).collect(),
                stream_version,
            },
            Some(written),
        ))
    }

    /// Records another store sealed, checked and chained onto the overlay's
    /// head as they are ([`navigo_store::sealed`]), with their stream index
    /// entries and the idempotency entries rebuilt from them; on a refusal
    /// neither the batch nor the overlay is touched.
    fn prepare_sealed(
        &mut self,
        overlay: &mut Overlay,
        batch: &mut Vec<(Vec<u8>, Vec<u8>)>,
        records: Vec<Vec<u8>>,
    ) -> SealedReply {
        let parsed = sealed::parse(overlay.head.position, records)?;
        let mut versions = HashMap::new();
        for stream in sealed::streams(&parsed) {
            versions.insert(stream, self.version(overlay, &stream)?);
        }
        let checked = sealed::chain(&overlay.head, parsed, &versions)?;
        for k in &checked.keys {
            if let Some(held) = self.idem_entry(overlay, &k.key)? {
                return Err(sealed::key_held(k, held.first));
            }
        }
        for r in checked.records {
            batch.push((keys::log_key(r.position).to_vec(), r.record));
            batch.push((
                keys::stream_key(&r.stream, r.stream_seq).to_vec(),
                r.position.to_be_bytes().to_vec(),
            ));
        }
        for k in checked.keys {
            let entry = IdemEntry {
                digest: k.digest,
                first: k.first,
                count: k.count,
            };
            batch.push((keys::idem_key(&k.key), entry.encode().to_vec()));
            overlay.keys.insert(k.key, entry);
        }
        overlay.versions.extend(checked.versions);
        overlay.head = checked.head;
        Ok(checked.head)
    }

    /// The number of events of a request: at least one, at most
    /// `events_per_append_max`.
    fn check_size(&self, r: &AppendRequest) -> Result<u64, StoreError> {
        if r.events.is_empty() {
            return Err(StoreError::Empty);
        }
        let n = r.events.len() as u64;
        let max = u64::from(self.limits.events_per_append_max);
        if n > max {
            return Err(StoreError::LimitExceeded {
                limit: "events_per_append_max",
                max,
                actual: n,
            });
        }
        Ok(n)
    }

    /// The idempotency key of a request: within its bound; a retry of the same
    /// content under a key already used is answered with its positions, other
    /// content under it is a conflict.
    fn check_key(&self, overlay: &Overlay, p: &Prepared) -> Result<KeyCheck, StoreError> {
        let Some(key) = &p.request.idempotency_key else {
            return Ok(KeyCheck::New(None));
        };
        let max = u64::from(self.limits.idempotency_key_bytes_max);
        if key.len() as u64 > max {
            return Err(StoreError::LimitExceeded {
                limit: "idempotency_key_bytes_max",
                max,
                actual: key.len() as u64,
            });
        }
        let digest = p.digest.ok_or_else(|| {
            StoreError::Encode("the request reached the writer unprepared".into())
        })?;
        match self.idem_entry(overlay, key)? {
            Some(prev) if prev.digest == digest => Ok(KeyCheck::Retry(prev.positions())),
            Some(_) => Err(StoreError::IdempotencyConflict { key: key.clone() }),
            None => Ok(KeyCheck::New(Some(digest))),
        }
    }

    /// The records of a request from `first` on, each within `event_bytes_max`
    /// and chained to the previous one's hash: the log writes (the canonical
    /// records, sealed with the batch) and stream index writes, and each
    /// record's hash. The recorded-at instant's JSON is kept for the next
    /// append at the same instant.
    fn records(
        &mut self,
        p: &Prepared,
        first: u64,
        current: u64,
        recorded_at: DateTime<Utc>,
        mut prev: Hash,
    ) -> Result<Records, StoreError> {
        let r = &p.request;
        if p.encoded.len() != r.events.len() {
            return Err(StoreError::Encode(
                "the request reached the writer unprepared".into(),
            ));
        }
        let recorded_json = match self.recorded_json.take() {
            Some((at, json)) if at == recorded_at => (at, json),
            _ => (
                recorded_at,
                recorded_at_json(&recorded_at).map_err(|e| StoreError::Encode(e.to_string()))?,
            ),
        };
        let max = u64::from(self.limits.event_bytes_max);
        let mut hashes = Vec::with_capacity(r.events.len());
        let mut writes = Vec::with_capacity(2 * r.events.len() + 1);
        for (i, pre) in p.encoded.iter().enumerate() {
            let i = i as u64;
            let (position, stream_seq) = (first + i, current + 1 + i);
            let mut bytes = Vec::with_capacity(pre.record_len_max());
            let hash = pre.finish(position, stream_seq, &recorded_json.1, &prev, &mut bytes);
            if bytes.len() as u64 > max {
                return Err(StoreError::LimitExceeded {
                    limit: "event_bytes_max",
                    max,
                    actual: bytes.len() as u64,
                });
            }
            // The limit above is on the canonical record, whatever its stored
            // form: what a reader gets back is bounded the same in every format.
            writes.push((keys::log_key(position).to_vec(), bytes));
            writes.push((
                keys::stream_key(&r.stream, stream_seq).to_vec(),
                position.to_be_bytes().to_vec(),
            ));
            hashes.push(hash);
            prev = hash;
        }
        self.recorded_json = Some(recorded_json);
        Ok((writes, hashes))
    }

    fn idem_entry(&self, overlay: &Overlay, key: &str) -> Result<Option<IdemEntry>, StoreError> {
        if let Some(e) = overlay
            .keys
            .get(key)
            .copied()
            .or_else(|| self.in_flight.key(key))
        {
            return Ok(Some(e));
        }
        let k = keys::idem_key(key);
        match self.tree.get(&k).map_err(storage)? {
            None => Ok(None),
            Some(v) => IdemEntry::decode(&v)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt {
                    position: 0,
                    why: format!("idempotency entry of key {key:?} is malformed"),
                }),
        }
    }

    fn version(&mut self, overlay: &Overlay, stream: &StreamId) -> Result<u64, StoreError> {
        if let Some(v) = overlay.versions.get(stream) {
            return Ok(*v);
        }
        // Before the cache: a batch in flight is newer than the tree, and the
        // cache may have been cleared and refilled from the tree since.
        if let Some(v) = self.in_flight.version(stream) {
            return Ok(v);
        }
        if let Some(v) = self.versions.get(stream) {
            return Ok(*v);
        }
        let v = stream_version_on_disk(&self.tree, self.format, stream, u64::MAX)?;
        if self.versions.len() >= STREAM_CACHE_ENTRIES_MAX {
            self.versions.clear();
        }
        self.versions.insert(*stream, v);
        Ok(v)
    }
}

/// The version of a stream: its last sequence whose position is at or below
/// `committed` (readers pass the durable head so that they never see a batch
/// before its flush returned).
pub(crate) fn stream_version_on_disk(
    tree: &sled::Tree,
    format: Format,
    stream: &StreamId,
    committed: u64,
) -> Result<u64, StoreError> {
    let last = StreamIndex::of(format).last_at_or_below(tree, stream, committed)?;
    Ok(last.map_or(0, |(seq, _)| seq))
}

/// A canonical record (`hash ‖ canonical JSON`) sealed: the bytes stored for
/// it in a ledger of `format`, and its Merkle leaf.
fn seal_record(
    format: Format,
    keep_tree: bool,
    record: Vec<u8>,
) -> Result<(Vec<u8>, Option<navigo_merkle::Hash>), String> {
    let leaf = keep_tree.then(|| crate::merkle::leaf_of(&record));
    let framed = match frame::frame(format, &record)? {
        std::borrow::Cow::Owned(framed) => Some(framed),
        std::borrow::Cow::Borrowed(_) => None,
    };
    Ok((framed.unwrap_or(record), leaf))
}

/// Seals a chained batch's records in place: each canonical record (`hash ‖
/// canonical JSON`) becomes the bytes stored for it in a ledger of `format`
/// (compressed), and its Merkle leaf is computed; returns the leaves in
/// position order. Both depend on the whole canonical record, previous hash
/// included, so they follow the chaining.
fn seal_batch(
    format: Format,
    keep_tree: bool,
    batch: &mut [KeyValue],
) -> Result<Vec<navigo_merkle::Hash>, String> {
    let mut leaves = Vec::new();
    for (k, v) in batch {
        if k.first() == Some(&keys::LOG) {
            let (stored, leaf) = seal_record(format, keep_tree, std::mem::take(v))?;
            *v = stored;
            leaves.extend(leaf);
        }
    }
    Ok(leaves)
}

/// The second stage of the group commit: adds the Merkle tree's nodes to each
/// batch the writer chained and sealed, applies it, then hands its replies to
/// the flusher.
///
/// Decision: the writer thread's time was the records' sealing (zstd with the
/// dictionary first, the Merkle leaf's SHA-256), then the tree's nodes (each
/// reading nodes from the tree) and sled's `apply_batch`. Sealing needs the
/// chained bytes, so it stays on the writer; the tree's nodes and the apply
/// move here, on another core, while the writer chains and seals the next
/// batch. The nodes are computed in log order, over the nodes of the batches
/// applied before.
struct Applier {
    tree: sled::Tree,
    /// Turns the batch's index entries into the ledger's format's.
    index: StreamIndex,
    /// See [`Writer::keep_tree`].
    keep_tree: bool,
    failed: Arc<Mutex<Option<String>>>,
    /// See [`InFlight::applied`].
    applied: Arc<std::sync::atomic::AtomicU64>,
}

impl Applier {
    fn run(self, rx: Receiver<Chained>, flusher: SyncSender<Bundle>) {
        while let Ok(chained) = rx.recv() {
            let Chained {
                number,
                first_index,
                leaves,
                writes,
                bundle,
            } = chained;
            // After a failure nothing later is applied: it was chained over
            // a batch that may not be in the tree.
            let failed = failure(&self.failed).or_else(|| {
                let why = self.apply_with_nodes(first_index, &leaves, writes).err()?;
                set_failed(&self.failed, why.clone());
                Some(why)
            });
            self.applied
                .store(number + 1, std::sync::atomic::Ordering::Release);
            match failed {
                Some(why) => send_all(bundle.owed, Some(&why)),
                None => {
                    if let Err(unsent) = flusher.send(bundle) {
                        send_all(unsent.0.owed, Some("the flusher stopped"));
                    }
                }
            }
        }
    }

    /// Adds the tree's nodes for `leaves` to the batch and applies it.
    fn apply_with_nodes(
        &self,
        first_index: u64,
        leaves: &[navigo_merkle::Hash],
        mut batch: Vec<KeyValue>,
    ) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        self.index
            .into_writes(&self.tree, &mut batch)
            .map_err(|e| e.to_string())?;
        if self.keep_tree {
            let nodes = self.tree_nodes(first_index, leaves)?;
            batch.extend(nodes);
        }
        self.apply(batch)
    }

    /// The Merkle tree's nodes for the leaves of a batch's records, the first
    /// of which is leaf `first_index`; written in the same batch as the records.
    fn tree_nodes(
        &self,
        first_index: u64,
        leaves: &[navigo_merkle::Hash],
    ) -> Result<Vec<KeyValue>, String> {
        let mut nodes = crate::merkle::Nodes::new(&self.tree);
        for (index, leaf) in (first_index..).zip(leaves) {
            nodes.append(index, *leaf).map_err(|e| e.to_string())?;
        }
        nodes.into_writes().map_err(|e| e.to_string())
    }

    /// Applies the batch atomically (durable only after the flush that follows).
    ///
    /// Decision: one `Tree::apply_batch`, not a `Tree::transaction` around it.
    /// sled applies a batch under its write lock and seals it in the log so that
    /// recovery replays all of it or none of it, the same mechanism its
    /// transactions commit through. What a transaction adds is conflict detection
    /// between concurrent writers, which cannot occur here: this thread is the only
    /// writer, and the version check, sequences and positions were decided above
    /// against its own state. Measured on the benchmark machine, the transaction
    /// cost about 60 % more writer time per event (24 µs against 15 µs). Readers
    /// never see a batch before its flush: they stop at the durable head.
    ///
    /// Decision: the stream index entries stay in this batch, written by this
    /// thread. Measured alternative (commit 1dcba3b, reverted by the next one):
    /// the flusher wrote them after the flush, with an atomic index checkpoint,
    /// a rebuild of the log tail past it on open and a format bump. The writer's
    /// CPU per event halved (19 µs to 9.5 µs, 64 single-event writers) but the
    /// flusher's grew by as much, and on the two shared cores of the benchmark
    /// machine, where the total CPU per event is what bounds throughput, the same
    /// A/B run gave 23,000 to 27,700 events/s against 28,100 to 28,900 for this
    /// design. It would pay only with an idle core for a third pipeline stage; it
    /// did not justify the recovery path and the format change.
    fn apply(&self, batch: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            b.insert(k, v);
        }
        self.tree
            .apply_batch(b)
            .map_err(|e| format!("sled batch failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use navigo_events_schema::envelope::PreEncoded;
    use navigo_events_schema::event::{ChargeKind, ChargeLine, DebitPresented, MandateRevoked};
    use navigo_events_schema::types::{Actor, ActorRole, Channel};
    use navigo_events_schema::{encode_record, Assigned, Event, Hash, NewEvent, StreamKind};
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters and non-ASCII: everything
        // serde_json escapes or passes through.
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just('\n'),
                Just('\u{1}'),
                Just('é'),
                Just('€'),
                Just('😀'),
                proptest::char::range('a', 'z'),
            ],
            0..12,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    prop_compose! {
        fn new_event()(
            ids in any::<[u128; 3]>(),
            days in 0i64..40_000,
            role in 0usize..4,
            actor_id in text(),
            channel in proptest::option::of(0usize..5),
            caused in any::<bool>(),
            payload in 0usize..2,
            reference in text(),
            cents in 0i64..10_000_000,
        ) -> NewEvent {
            let roles = [ActorRole::Customer, ActorRole::Agent, ActorRole::System, ActorRole::Import];
            let channels = [Channel::Online, Channel::Agency, Channel::Mail, Channel::Email, Channel::Phone];
            let effective_date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Duration::days(days);
            let event = if payload == 0 {
                Event::MandateRevoked(MandateRevoked { reference: reference.clone() })
            } else {
                let month = "2026-12".parse().unwrap();
                let amount = navigo_events_schema::Money::from_cents(cents);
                Event::DebitPresented(DebitPresented {
                    month,
                    amount,
                    due: amount,
                    lines: vec![ChargeLine {
                        kind: ChargeKind::FullInstallment,
                        amount,
                        days: None,
                        month,
                        tariff: None,
                    }],
                    mandate_reference: reference,
                    payer: Uuid::from_u128(ids[0]),
                })
            };
            NewEvent {
                event_id: Uuid::from_u128(ids[0]),
                effective_date,
                actor: Actor { role: roles[role], id: actor_id },
                channel: channel.map(|c| channels[c]),
                correlation_id: Uuid::from_u128(ids[1]),
                causation_id: caused.then(|| Uuid::from_u128(ids[2])),
                event,
            }
        }
    }

    proptest! {
        /// The writer's spliced records are byte for byte `encode_record`'s, so the
        /// stored format (and every hash) is the same as before the fast path.
        #[test]
        fn store_pre_encoded_record_equals_encode_record(
            e in new_event(),
            kind in 0usize..4,
            stream_uuid in any::<u128>(),
            key in proptest::option::of(text()),
            position in any::<u64>(),
            stream_seq in any::<u64>(),
            secs in 0i64..4_000_000_000,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, Just(5_000_000u32), Just(123_000u32)],
            prev in any::<[u8; 32]>(),
        ) {
            let stream = StreamId::new(StreamKind::ALL[kind], Uuid::from_u128(stream_uuid));
            let recorded_at = Utc.timestamp_opt(secs, nanos).unwrap();
            let a = Assigned {
                stream,
                stream_seq,
                position,
                recorded_at,
                idempotency_key: key.as_deref(),
                prev_hash: Hash(prev),
            };
            let (expected, expected_hash) = encode_record(&a, &e).unwrap();
            let pre = PreEncoded::new(stream, key.as_deref(), &e).unwrap();
            let mut out = vec![7u8; 3];
            let hash = pre.finish(position, stream_seq, &recorded_at_json(&recorded_at).unwrap(), &Hash(prev), &mut out);
            prop_assert_eq!(&out[..3], &[7u8; 3][..]);
            prop_assert_eq!(String::from_utf8_lossy(&out[3..]), String::from_utf8_lossy(&expected));
            prop_assert_eq!(hash, expected_hash);
            prop_assert!(out.len() - 3 <= pre.record_len_max());
            let mut data = Vec::new();
            e.event.write_data(&mut data).unwrap();
            prop_assert_eq!(pre.data(), &data[..]);
        }
    }
}
