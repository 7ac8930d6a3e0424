//! Reading: every record read is checked on the way out (its hash, its position,
//! its link to the previous record in `read_all`), so that corruption surfaces as
//! a clear [`StoreError::Corrupt`] instead of a wrong projection.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use futures_core::Stream;
use navigo_events_schema::envelope::HASH_LEN;
use navigo_events_schema::{decode_record, record_hashes, Envelope, Hash};

use crate::format::Format;
use crate::writer::storage;
use crate::{frame, keys};
use navigo_store::{Head, StoreError};

/// Records read from sled per poll of the `read_all` stream once its buffer is empty.
pub const READ_ALL_CHUNK_RECORDS: usize = 512;

/// Checks and decodes the record stored at `position` as `stored` in a ledger
/// of `format`.
pub(crate) fn check_record(
    position: u64,
    format: Format,
    stored: &[u8],
) -> Result<Envelope, StoreError> {
    let record = unframe_at(position, format, stored)?;
    check_hash(position, &record)?;
    decode_at(position, &record)
}

/// The record (`hash ‖ canonical JSON`) stored at `position` as `stored`.
pub(crate) fn unframe_at(
    position: u64,
    format: Format,
    stored: &[u8],
) -> Result<std::borrow::Cow<'_, [u8]>, StoreError> {
    frame::unframe(format, stored).map_err(|why| StoreError::Corrupt {
        position,
        why: format!("undecodable: {why}"),
    })
}

/// Checks that a record's bytes hash to the hash it claims.
pub(crate) fn check_hash(position: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let (claimed, actual) = record_hashes(bytes).map_err(|e| corrupt(e.to_string()))?;
    if claimed != actual {
        return Err(corrupt(format!(
            "hash mismatch: the record claims {claimed}, its bytes hash to {actual}"
        )));
    }
    Ok(())
}

/// Decodes the record stored at `position` and checks that it says so.
fn decode_at(position: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { position, why };
    let env = decode_record(bytes).map_err(|e| corrupt(format!("undecodable: {e}")))?;
    if env.position != position {
        return Err(corrupt(format!(
            "the record stored under position {position} says position {}",
            env.position
        )));
    }
    Ok(env)
}

/// Bytes of verified records a store keeps (`VerifiedRecords`); when full, it
/// forgets them all and starts again (the next read of each hashes it again).
pub const VERIFIED_RECORDS_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The records whose hash this store has checked, with their bytes, by position.
///
/// `read_stream` returns a record only if its bytes hash to the hash it claims.
/// Hashing is a fifth of a stream read (BLAKE3 over every byte, measured by the
/// calendar benchmark), and
/// per-contract projections read the same streams again and again: a record
/// whose bytes are exactly the bytes already verified at that position hashes
/// to the same value, so comparing the bytes (a memory comparison, many times
/// cheaper) keeps the check. Bytes that differ in any way (a record changed on
/// disk since) are hashed again, and a mismatch is reported as before.
#[derive(Debug, Default)]
pub(crate) struct VerifiedRecords {
    records: std::collections::HashMap<u64, sled::IVec>,
    bytes: usize,
}

impl VerifiedRecords {
    /// Forgets every record.
    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    fn holds(&self, position: u64, bytes: &[u8]) -> bool {
        self.records
            .get(&position)
            .is_some_and(|v| v.as_ref() == bytes)
    }

    fn insert(&mut self, position: u64, bytes: sled::IVec) {
        if self.bytes + bytes.len() > VERIFIED_RECORDS_BYTES_MAX {
            self.clear();
        }
        self.bytes += bytes.len();
        if let Some(old) = self.records.insert(position, bytes) {
            self.bytes -= old.len();
        }
    }
}

/// [`check_record`], hashing only stored bytes not verified before at that
/// position (see [`VerifiedRecords`]; the stored bytes are compared, so a
/// compressed record is compared compressed).
pub(crate) fn check_record_once(
    position: u64,
    format: Format,
    bytes: &sled::IVec,
    verified: &RwLock<VerifiedRecords>,
) -> Result<Envelope, StoreError> {
    let known = match verified.read() {
        Ok(v) => v.holds(position, bytes),
        Err(p) => p.into_inner().holds(position, bytes),
    };
    let record = unframe_at(position, format, bytes)?;
    if !known {
        check_hash(position, &record)?;
        match verified.write() {
            Ok(mut v) => v.insert(position, bytes.clone()),
            Err(p) => p.into_inner().insert(position, bytes.clone()),
        }
    }
    decode_at(position, &record)
}

/// The hash a stored record claims (its first 32 bytes, in every format).
pub(crate) fn claimed_hash(position: u64, bytes: &[u8]) -> Result<Hash, StoreError> {
    if bytes.len() <= HASH_LEN {
        return Err(StoreError::Corrupt {
            position,
            why: format!("record truncated to {} bytes", bytes.len()),
        });
    }
    let mut h = [0u8; HASH_LEN];
    h.copy_from_slice(&bytes[..HASH_LEN]);
    Ok(Hash(h))
}

/// The committed head, as readers see it.
pub(crate) fn committed(head: &RwLock<Head>) -> Head {
    match head.read() {
        Ok(h) => *h,
        Err(p) => *p.into_inner(),
    }
}

/// The error of a position missing below the head.
fn gap(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        why: "record missing (gap in the log)".into(),
    }
}

/// The hash the record at `from` must link to: the genesis hash for the first
/// position, else the hash the record before it claims (read from sled; it was
/// checked when that record was read, or will be by whoever reads it).
fn hash_before(tree: &sled::Tree, from: u64) -> Result<Hash, StoreError> {
    if from <= 1 {
        return Ok(Hash::GENESIS);
    }
    let p = from - 1;
    match tree.get(keys::log_key(p)) {
        Ok(Some(b)) => claimed_hash(p, &b),
        Ok(None) => Err(gap(p)),
        Err(e) => Err(storage(e)),
    }
}

/// Checks the chain: a record's previous hash is the hash of the record before it
/// (`prev`; `None` when unknown, which no record matches).
fn check_link(prev: Option<Hash>, env: &Envelope) -> Result<(), StoreError> {
    if Some(env.prev_hash) != prev {
        return Err(StoreError::Corrupt {
            position: env.position,
            why: "previous-hash link broken".into(),
        });
    }
    Ok(())
}

/// The stream behind `read_all`: reads the log in chunks from sled, checks each
/// record and its link to the previous one, and ends at the head that was durable
/// when the stream was created (a follower calls `read_all` again from where it
/// stopped).
pub(crate) struct ReadAll {
    tree: sled::Tree,
    format: Format,
    next: u64,
    end: u64,
    prev: Option<Hash>,
    buf: VecDeque<Result<Envelope, StoreError>>,
    done: bool,
}

impl ReadAll {
    pub(crate) fn new(
        tree: sled::Tree,
        format: Format,
        head: &Arc<RwLock<Head>>,
        from: u64,
    ) -> ReadAll {
        let end = committed(head).position;
        ReadAll {
            tree,
            format,
            next: from.max(1),
            end,
            prev: None,
            buf: VecDeque::new(),
            done: false,
        }
    }

    /// Fills the buffer with the next chunk; sets `done` at the end or on error.
    fn fill(&mut self) {
        if self.next > self.end {
            self.done = true;
            return;
        }
        if self.prev.is_none() {
            match hash_before(&self.tree, self.next) {
                Ok(h) => self.prev = Some(h),
                Err(e) => {
                    self.buf.push_back(Err(e));
                    self.done = true;
                    return;
                }
            }
        }
        let range = keys::log_key(self.next)..=keys::log_key(self.end);
        for item in self.tree.range(range).take(READ_ALL_CHUNK_RECORDS) {
            let r = item.map_err(storage).and_then(|(k, v)| {
                let expected = self.next;
                if keys::log_key_position(&k) != Some(expected) {
                    return Err(gap(expected));
                }
                let env = check_record(expected, self.format, &v)?;
                check_link(self.prev, &env)?;
                Ok(env)
            });
            match r {
                Ok(env) => {
                    self.prev = Some(env.hash);
                    self.next += 1;
                    self.buf.push_back(Ok(env));
                }
                Err(e) => {
                    self.buf.push_back(Err(e));
                    self.done = true;
                    return;
                }
            }
        }
        if self.buf.is_empty() {
            // The range ended before `end`: the records up to the head must exist.
            self.buf.push_back(Err(gap(self.next)));
            self.done = true;
        }
    }
}

impl Stream for ReadAll {
    type Item = Result<Envelope, StoreError>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.buf.is_empty() && !this.done {
            this.fill();
        }
        Poll::Ready(this.buf.pop_front())
    }
}

/// Records in one unit of work of [`read_log`]: large enough that handing a
/// chunk to a worker (and its one descent of the sled tree) costs little next to
/// reading and decoding it (a record decodes in a few microseconds), small
/// enough that the chunks in flight stay a few megabytes.
pub const READ_LOG_CHUNK_RECORDS: usize = 1_024;

/// Chunks of [`read_log`] handed to the workers but not yet taken in order by
/// the collector: bounds the decoded envelopes waiting (a few megabytes),
/// whatever the size of the log.
pub const READ_LOG_QUEUE_CHUNKS_MAX: usize = 8;

/// Most reading threads of [`read_log`] (it uses as many as the machine has
/// cores, up to this bound; the dispatcher and the collector are light and
/// share those cores).
pub const READ_LOG_WORKERS_MAX: usize = 8;

/// What a worker makes of one chunk: the records read, decoded and checked, in
/// order, up to the first bad one, and that one's error.
type ChunkResult = (Vec<Envelope>, Option<StoreError>);

/// Reads the records `first..=last` from sled and checks each as the `read_all`
/// stream does, in the same order: the position is the next one expected (a
/// missing one is a gap), then [`check_record`] (BLAKE3 of the bytes against the
/// claimed hash, decode with upcasting, the stored position). Stops at the first
/// problem.
fn read_chunk(tree: &sled::Tree, format: Format, first: u64, last: u64) -> ChunkResult {
    let capacity = usize::try_from(last - first + 1).unwrap_or(0);
    let mut envs = Vec::with_capacity(capacity);
    let mut next = first;
    for item in tree.range(keys::log_key(first)..=keys::log_key(last)) {
        let (k, v) = match item {
            Ok(kv) => kv,
            Err(e) => return (envs, Some(storage(e))),
        };
        if keys::log_key_position(&k) != Some(next) {
            return (envs, Some(gap(next)));
        }
        match check_record(next, format, &v) {
            Ok(env) => envs.push(env),
            Err(e) => return (envs, Some(e)),
        }
        next += 1;
    }
    if next <= last {
        // The range ended early: the records up to the head must exist.
        return (envs, Some(gap(next)));
    }
    (envs, None)
}

/// Every record from `from` through `end` (the durable head when the read
/// starts), read and checked exactly as the `read_all` stream checks them, on
/// several threads.
///
/// Structure: a dispatcher thread cuts `from..=end` into chunks of
/// `chunk_records` positions ([`READ_LOG_CHUNK_RECORDS`] in service; tests use
/// small ones to cross many chunk borders) and hands them, in order, to
/// `workers` threads; each worker scans its chunk's key range in sled and
/// checks its records ([`read_chunk`]: gapless positions, hash, decode,
/// position); this thread, the collector, takes the chunks back in order and
/// checks the chain ([`check_link`]: each record's previous hash is the hash of
/// the record before it), which is cheap once the hashes are known. Decoding
/// and hashing are nine tenths of a read of a log that sled holds in its cache
/// (BENCHMARKS.md, Store), and the scan itself is most of it when it does not
/// (sled reads and rebuilds each page): both run in parallel.
///
/// The first problem in position order is the error returned, the same error
/// `read_all` gives at the same record: a later chunk's failure found first by
/// another worker waits until the collector reaches it. At most
/// [`READ_LOG_QUEUE_CHUNKS_MAX`] chunks are in flight.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the position of the first gap, bad hash,
/// undecodable record, wrong position or broken link; a storage failure.
pub(crate) fn read_log(
    tree: &sled::Tree,
    format: Format,
    from: u64,
    end: u64,
    workers: usize,
    chunk_records: usize,
) -> Result<Vec<Envelope>, StoreError> {
    use std::sync::mpsc;
    let from = from.max(1);
    let chunk = u64::try_from(chunk_records.max(1)).unwrap_or(u64::MAX);
    if from > end {
        return Ok(Vec::new());
    }
    let mut prev = Some(hash_before(tree, from)?);
    let mut out = Vec::new();
    // The head says how many records there are: reserve once instead of growing
    // (and copying) a vector of millions of envelopes. A failed reservation
    // only means growing as usual.
    let _ = out.try_reserve_exact(usize::try_from(end - from + 1).unwrap_or(0));
    // A chunk for the workers: its first and last positions, where its result
    // goes. The queue needs no bound of its own: the dispatcher sends a chunk
    // only after its result's receiver, and those are bounded.
    type Job = (u64, u64, mpsc::SyncSender<ChunkResult>);
    let (work_tx, work_rx) = mpsc::channel::<Job>();
    let work_rx = std::sync::Mutex::new(work_rx);
    let (slot_tx, slot_rx) =
        mpsc::sync_channel::<mpsc::Receiver<ChunkResult>>(READ_LOG_QUEUE_CHUNKS_MAX);
    std::thread::scope(|scope| {
        // Owned by this closure, so that it is dropped when the collector stops
        // (at the first error): the dispatcher's next send then fails and it
        // ends, which ends the workers, before the scope joins them.
        let slot_rx = slot_rx;
        for _ in 0..workers.clamp(1, READ_LOG_WORKERS_MAX) {
            let work_rx = &work_rx;
            scope.spawn(move || loop {
                let job = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(p) => p.into_inner().recv(),
                };
                let Ok((first, last, reply)) = job else {
                    // The dispatcher is done (or gave up): no more chunks.
                    return;
                };
                // The collector may have stopped at an earlier error.
                let _ = reply.send(read_chunk(tree, format, first, last));
            });
        }
        // The dispatcher: chunks in position order; every send fails once the
        // collector has stopped, which ends it.
        scope.spawn(move || {
            let mut first = from;
            while first <= end {
                let last = first.saturating_add(chunk - 1).min(end);
                let (reply, result) = mpsc::sync_channel(1);
                if slot_tx.send(result).is_err() || work_tx.send((first, last, reply)).is_err() {
                    return;
                }
                match last.checked_add(1) {
                    Some(n) => first = n,
                    None => return,
                }
            }
        });
        // The collector, on this thread: chunks in order, the chain link of
        // every record, the first error in position order.
        for result in slot_rx.iter() {
            let (envs, failed) = result.recv().map_err(|_| {
                StoreError::Storage("a read_log worker stopped without an answer".into())
            })?;
            for env in envs {
                check_link(prev, &env)?;
                prev = Some(env.hash);
                out.push(env);
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    })?;
    Ok(out)
}
