//! The writer: one task per store that owns every append, gathering the
//! requests queued meanwhile into one transaction (the group commit, as the
//! sled store's writer does).
//!
//! A batch is judged (no I/O) against what the writer's last batch leaves:
//! the head, the streams' versions, the Merkle tree's frontier. It validates
//! each request against that state plus what the batch already accepted
//! (versions, keys, limits, recorded-at), splices the assigned fields into
//! the pre-encoded records, chains their hashes and computes the tree nodes
//! they complete. Then one pipelined round trip writes it: `BEGIN`; insert
//! the events, the keys and the tree's nodes (one row for the batch's run of
//! nodes); lock the head row (`SELECT … FOR UPDATE`); check, under the lock,
//! that the head, the versions of the batch's streams and the absence of its
//! idempotency keys are what the batch was judged against (`append_check`,
//! which fails the transaction otherwise); move the head; `COMMIT`. The head
//! lock is held for the check, the head's update and the commit only: the
//! rows are inserted before, while the transaction sent before commits. That
//! transaction is in flight while the writer gathers, judges and sends the
//! next batch on a second connection, which inserts its rows and then waits
//! in the database for the head lock: at most [`WRITER_CONNECTIONS`] in
//! flight. The next batch is gathered once a connection is free, so that it
//! holds every append that arrived meanwhile, and, while the other
//! transaction is in flight, once the appends the last commit answered came
//! back (at most [`GATHER_WAIT_MAX`]): commits are flushed one after the
//! other, so each should carry every append it can.
//!
//! When the check fails (the previous batch failed, or another process
//! appended), or when the writer knows no state to judge against (the first
//! batch, a stream of unknown version appended to without an exact expected
//! version), the batch is judged against the state read under the head lock
//! instead, in two pipelined round trips (three when the tree's frontier must
//! be read too), as every batch was before. Such a transaction gives up
//! waiting for a row another transaction holds (see
//! [`ROW_WAIT_UNDER_LOCK_MS`](crate::schema::ROW_WAIT_UNDER_LOCK_MS)) and is made again: that row is another
//! process's one-round-trip append, waiting for the head lock this one holds.
//!
//! Every writer of the database — this task, another process's — locks the
//! head row first, so appends are serialised across processes, positions are
//! assigned gapless from the head (no sequence), and a commit becomes visible
//! only after every position before it (the lock is released when the commit
//! is). The commit does not wait for its flush (`synchronous_commit = off`
//! for the append transaction alone), so that the head lock is released at
//! once and the commits after it share flushes; in the same round trip, the
//! durable head is moved past it in a transaction committed durably
//! (`synchronous_commit = on`, forced on every connection of the store),
//! whose flush covers the commit, and nothing is answered before that
//! returns (see `crate::durable`). A failed transaction leaves nothing stale behind:
//! the writer drops that connection (the server rolls back whatever it held),
//! and the next batch's check finds the head elsewhere than it was judged on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use deadpool_postgres::{Object, Pool};
use navigo_events_schema::envelope::recorded_at_json;
use navigo_events_schema::{Hash, StreamId};
use navigo_store::assign::{check_record_len, recorded_at, Prepared, Written};
use navigo_store::{AppendOutcome, Clock, ExpectedVersion, Head, Limits, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::{pg, pool, to_i64, to_u64};
use crate::merkle::{frontier_at, leaf_of, NodeRows, Nodes};
use crate::rows::{parse_head, parse_kind};
use crate::schema::Sql;

/// Requests waiting for the writer. Callers wait (back-pressure) when it is full.
pub const QUEUE_APPENDS_MAX: usize = 4_096;

/// The reply to one append: the outcome, and what was assigned when it wrote.
pub(crate) type OneReply = Result<(AppendOutcome, Option<Written>), StoreError>;

/// One append request for the writer, with where its answer goes.
pub(crate) struct Job {
    pub(crate) request: Prepared,
    pub(crate) reply: oneshot::Sender<OneReply>,
}

/// What an idempotency key recorded: the content digest of the first append
/// under it and its positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdemEntry {
    digest: [u8; 32],
    pub(crate) first: u64,
    count: u32,
}

/// The state a batch is judged against: the database's as read under the head
/// lock, plus what the batch has accepted so far.
struct Overlay {
    head: Head,
    versions: HashMap<StreamId, u64>,
    keys: HashMap<String, IdemEntry>,
    /// The store clock, read once per batch.
    ///
    /// Decision (as the sled store): every request of a group commit that
    /// brings no import instant is recorded at the same instant, read when the
    /// batch starts; they are learnt together, and recorded-at still never
    /// decreases with position.
    now: DateTime<Utc>,
}

/// The rows a batch inserts, column by column (sent as arrays and unnested).
#[derive(Default)]
pub(crate) struct Rows {
    positions: Vec<i64>,
    kinds: Vec<&'static str>,
    ids: Vec<Uuid>,
    seqs: Vec<i64>,
    records: Vec<Vec<u8>>,
    keys: Vec<String>,
    digests: Vec<Vec<u8>>,
    firsts: Vec<i64>,
    counts: Vec<i32>,
}

/// The single writer of a store.
pub(crate) struct Writer {
    pub(crate) core: Arc<Core>,
    /// What the last batch this writer sent to commit leaves: the head, the
    /// Merkle tree's frontier nodes there and the versions of the streams it
    /// has written. The next batch is judged against it and written in one
    /// round trip, the database checking under the head lock that it still
    /// holds; when it does not (that commit failed, or another process
    /// appended), the batch is judged again against the state read under the
    /// lock.
    pub(crate) known: Option<Known>,
    /// The transactions sent and not yet reaped, oldest first.
    in_flight: VecDeque<Flight>,
    /// Appends answered by the transactions reaped since the last batch was
    /// gathered: about as many are expected back soon.
    returning: usize,
    /// Answered once the last transaction sent holds the head lock (or has
    /// failed before), so that the next one asks for it after it.
    locked: Option<oneshot::Receiver<()>>,
}

/// A transaction sent, and how many appends it answers.
struct Flight {
    task: JoinHandle<()>,
    appends: usize,
}

/// A batch being gathered from the queue, within the writer's limits.
struct Gather {
    jobs: Vec<Job>,
    events: usize,
    appends_max: usize,
    events_max: usize,
}

impl Gather {
    fn new(first: Job, appends_max: usize, events_max: usize) -> Gather {
        let mut gather = Gather {
            jobs: Vec::new(),
            events: 0,
            appends_max,
            events_max,
        };
        gather.push(first);
        gather
    }

    fn push(&mut self, job: Job) {
        self.events += job.request.request.events.len();
        self.jobs.push(job);
    }

    /// Whether the batch holds as many appends or events as one may.
    fn full(&self) -> bool {
        self.jobs.len() >= self.appends_max || self.events >= self.events_max
    }

    /// Takes what is queued now, until the batch is full.
    fn drain(&mut self, rx: &mut mpsc::Receiver<Job>) {
        while !self.full() {
            match rx.try_recv() {
                Ok(job) => self.push(job),
                Err(_) => return,
            }
        }
    }
}

/// Where a transaction sent in flight stands among the others: it waits
/// until the one sent before holds the head lock, so that the two ask for it
/// in the order they were judged (else the later one would find the head
/// elsewhere than it was judged on, and be judged again), and it says when
/// it holds the lock itself.
struct Order {
    after: Option<oneshot::Receiver<()>>,
    locked: oneshot::Sender<()>,
}

/// What the writer and the transactions it has in flight share.
pub(crate) struct Core {
    /// Connections for the writer alone ([`WRITER_CONNECTIONS`]), so that
    /// readers can never starve it.
    pub(crate) pool: Pool,
    pub(crate) sql: Arc<Sql>,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    /// Set by a transaction in flight that did not write as judged: what the
    /// writer knows is then not the database's, and the next batch reads it.
    pub(crate) stale: AtomicBool,
}

/// Connections of a writer, and so its transactions in flight: while one
/// commits (its rows written, then its flush awaited after the head lock is
/// released), the next batch is judged and sent, and waits for the head lock
/// in the database, so that no commit waits for the writer to wake up and no
/// judging waits for a flush. Measured with four, no better.
pub const WRITER_CONNECTIONS: usize = 2;

/// How long the writer, while a transaction is in flight, waits for the
/// appends that the ended ones answered before it sends the next batch (see
/// `Writer::await_returning`). It bounds the latency this adds to an append
/// when its callers do not come back; it is below a commit's flush on a
/// disk that syncs (a few milliseconds), which the appends answered waited
/// for.
pub const GATHER_WAIT_MAX: std::time::Duration = std::time::Duration::from_millis(2);

/// The state a writer's last commit left (see [`Writer::known`]).
pub(crate) struct Known {
    head: Head,
    nodes: Nodes,
    versions: HashMap<StreamId, u64>,
}

/// Stream versions a writer remembers between batches; past it, it forgets
/// them all (a stream then needs an exact expected version, or a read).
pub const KNOWN_VERSIONS_MAX: usize = 65_536;

/// The SQLSTATE the append check raises when the state a batch was judged
/// against is no longer the database's (`migrations/0005_tree_runs.sql`).
const STATE_MOVED: &str = "NV001";

/// Attempts of an append judged under the head lock whose row waits are
/// given up (see [`ROW_WAIT_UNDER_LOCK_MS`](crate::schema::ROW_WAIT_UNDER_LOCK_MS)), before its appends fail.
pub const SLOW_ATTEMPTS_MAX: u32 = 8;

/// Why an append judged under the head lock did not write.
pub(crate) enum Slow {
    /// It gave up a lock wait and wrote nothing: make it again.
    Again(tokio_postgres::Error),
    /// A failure that ends the batch.
    Failed(StoreError),
}

impl From<StoreError> for Slow {
    fn from(e: StoreError) -> Slow {
        Slow::Failed(e)
    }
}

/// Why a one-round-trip append did not write.
enum Fast {
    /// The state moved: judge the batch again against the database's.
    Moved,
    /// A failure that ends the batch.
    Failed(StoreError),
}

/// Sends the replies; with `failure`, every one becomes that error instead.
fn send_all(owed: Vec<(oneshot::Sender<OneReply>, OneReply)>, failure: Option<&StoreError>) {
    for (reply, r) in owed {
        let r = match failure {
            None => r,
            Some(e) => Err(StoreError::Storage(e.to_string())),
        };
        // The caller may have stopped waiting; its append stands or falls with
        // the batch all the same.
        let _ = reply.send(r);
    }
}

/// Drops a connection instead of returning it to its pool: after a failure its
/// state is unknown, and closing it makes the server roll back what it held.
fn discard(conn: Object) {
    drop(Object::take(conn));
}

impl Rows {
    /// Adds the row of one record.
    pub(crate) fn push_record(
        &mut self,
        position: i64,
        stream: StreamId,
        seq: i64,
        record: Vec<u8>,
    ) {
        self.positions.push(position);
        self.kinds.push(stream.kind.as_str());
        self.ids.push(stream.id);
        self.seqs.push(seq);
        self.records.push(record);
    }

    /// Adds the row of one idempotency key.
    pub(crate) fn push_key(&mut self, key: String, digest: [u8; 32], first: i64, count: i32) {
        self.keys.push(key);
        self.digests.push(digest.to_vec());
        self.firsts.push(first);
        self.counts.push(count);
    }
}

impl Writer {
    pub(crate) fn new(core: Core) -> Writer {
        Writer {
            core: Arc::new(core),
            known: None,
            in_flight: VecDeque::new(),
            returning: 0,
            locked: None,
        }
    }

    /// Runs until every sender is dropped and the queue is empty, then waits
    /// for the transactions in flight.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let limits = self.core.limits;
        let appends_max = usize::try_from(limits.batch_appends_max).unwrap_or(usize::MAX);
        let events_max = usize::try_from(limits.batch_events_max).unwrap_or(usize::MAX);
        while let Some(first) = rx.recv().await {
            // The batch is gathered once a transaction may be sent, not
            // before: whatever arrives while the transactions in flight
            // commit joins it, so that each commit carries as many appends
            // as it can.
            self.wait_for_slot().await;
            let mut gather = Gather::new(first, appends_max, events_max);
            gather.drain(&mut rx);
            self.await_returning(&mut rx, &mut gather).await;
            self.batch(gather.jobs).await;
        }
        for flight in self.in_flight.drain(..) {
            // A transaction task answers its own appends; a panic in it
            // leaves them answered with a closed channel.
            let _ = flight.task.await;
        }
    }

    /// Waits until fewer than [`WRITER_CONNECTIONS`] transactions are in
    /// flight, counting the appends that the ended ones answered.
    async fn wait_for_slot(&mut self) {
        while self.in_flight.front().is_some_and(|f| f.task.is_finished()) {
            self.reap().await;
        }
        while self.in_flight.len() >= WRITER_CONNECTIONS {
            self.reap().await;
        }
    }

    /// Waits for the oldest transaction in flight to end.
    async fn reap(&mut self) {
        if let Some(flight) = self.in_flight.pop_front() {
            let _ = flight.task.await;
            self.returning += flight.appends;
        }
    }

    /// While another transaction is in flight, waits for the appends that the
    /// ended transactions answered to come back (a caller answered tends to
    /// append again at once), up to [`GATHER_WAIT_MAX`]: the transaction in
    /// flight waits for its commit's flush, which the batch's own flush would
    /// queue behind anyway, so a batch sent at once would carry only the
    /// appends that the commit did not, and the appends answered would wait
    /// for the commit after it. Stops early when the batch is full, or when
    /// the transaction in flight ends (the database would idle).
    async fn await_returning(&mut self, rx: &mut mpsc::Receiver<Job>, gather: &mut Gather) {
        let want = std::mem::take(&mut self.returning);
        if gather.full() || gather.jobs.len() >= want || self.in_flight.is_empty() {
            return;
        }
        // A timer, not a clock read: no instant is kept or compared.
        let timer = tokio::time::sleep(GATHER_WAIT_MAX);
        tokio::pin!(timer);
        while !gather.full() && gather.jobs.len() < want {
            let Some(flight) = self.in_flight.front_mut() else {
                return;
            };
            tokio::select! {
                biased;
                job = rx.recv() => match job {
                    Some(job) => {
                        gather.push(job);
                        gather.drain(rx);
                    }
                    None => return,
                },
                _ = &mut flight.task => {
                    if let Some(ended) = self.in_flight.pop_front() {
                        self.returning += ended.appends;
                    }
                    return;
                }
                () = &mut timer => return,
            }
        }
    }

    /// Judges one batch and sends it in one transaction, answered when it
    /// ends: in one round trip, in flight while the writer goes on, against
    /// what the last batch leaves when that is known; else in two, the writer
    /// waiting, against the state read under the head lock.
    async fn batch(&mut self, jobs: Vec<Job>) {
        self.wait_for_slot().await;
        let conn = match self.core.pool.get().await {
            Ok(c) => c,
            Err(e) => return failed(jobs, pool(e)),
        };
        let core = self.core.clone();
        let now = core.clock.now();
        let mut known = self.known.take();
        if core.stale.swap(false, Ordering::AcqRel) {
            known = None;
        }
        let known = match (known.as_ref().and_then(|k| predict(k, &jobs, now)), known) {
            (Some(overlay), Some(known)) => match core.judge(overlay, known, &jobs) {
                Ok((judged, after)) => {
                    self.known = Some(after);
                    let (locked, next) = oneshot::channel();
                    let after = self.locked.replace(next);
                    let order = Order { after, locked };
                    let appends = jobs.len();
                    let task = tokio::spawn(core.send(conn, jobs, judged, now, order));
                    self.in_flight.push_back(Flight { task, appends });
                    return;
                }
                Err(e) => {
                    discard(conn);
                    return failed(jobs, e);
                }
            },
            (_, known) => known,
        };
        // Before reading the state, the transactions in flight end: the head
        // lock would make this one wait for them anyway.
        for flight in self.in_flight.drain(..) {
            let _ = flight.task.await;
        }
        drop(conn);
        match core.slow(known, &jobs, now).await {
            Ok((results, known)) => {
                self.known = Some(known);
                answer(jobs, results);
            }
            Err(e) => failed(jobs, e),
        }
    }
}

/// A batch judged against what the last batch leaves, ready to send.
struct Judged {
    check: Check,
    results: Vec<OneReply>,
    rows: Rows,
    tree: NodeRows,
    head: Head,
}

/// Answers every job of a batch that failed with `e`.
fn failed(jobs: Vec<Job>, e: StoreError) {
    let owed = jobs.into_iter().map(|j| (j.reply, Ok((none(), None))));
    send_all(owed.collect(), Some(&e));
}

impl Core {
    /// Judges the batch against `overlay` (what the last batch leaves):
    /// the rows, the tree's nodes, the check the database makes, and the
    /// state the batch leaves.
    fn judge(
        &self,
        overlay: Overlay,
        known: Known,
        jobs: &[Job],
    ) -> Result<(Judged, Known), StoreError> {
        let check = Check::of(&overlay, jobs)?;
        let (mut nodes, mut versions) = (known.nodes, known.versions);
        let (results, rows, after) = self.decide(overlay, jobs);
        let tree = tree_rows(&mut nodes, &rows)?;
        versions.extend(after.versions);
        nodes.keep_frontier(after.head.position);
        let judged = Judged {
            check,
            results,
            rows,
            tree,
            head: after.head,
        };
        Ok((judged, Known::new(after.head, nodes, versions)))
    }

    /// Writes a judged batch in one round trip, the database checking under
    /// the head lock that what it was judged against still holds, and
    /// answers it; when it does not, judges it again against the state read
    /// under the lock, and writes it.
    async fn send(
        self: Arc<Self>,
        conn: Object,
        jobs: Vec<Job>,
        judged: Judged,
        now: DateTime<Utc>,
        order: Order,
    ) {
        let j = &judged;
        let sql = &self.sql;
        match write_checked(&conn, sql, &j.check, &j.rows, &j.tree, &j.head, order).await {
            Ok(()) => return answer(jobs, judged.results),
            Err(Fast::Failed(e)) => {
                self.stale.store(true, Ordering::Release);
                discard(conn);
                return failed(jobs, e);
            }
            Err(Fast::Moved) => {
                self.stale.store(true, Ordering::Release);
                discard(conn);
            }
        }
        match self.slow(None, &jobs, now).await {
            Ok((results, _)) => answer(jobs, results),
            Err(e) => failed(jobs, e),
        }
    }

    /// Judges the batch against the state read under the head lock and writes
    /// it, on a connection of its own: two pipelined round trips (three when
    /// the tree's frontier must be read too). A transaction that gave up a
    /// row's lock while holding the head lock (see [`ROW_WAIT_UNDER_LOCK_MS`](crate::schema::ROW_WAIT_UNDER_LOCK_MS))
    /// wrote nothing, and is made again, up to [`SLOW_ATTEMPTS_MAX`] times.
    async fn slow(
        &self,
        mut known: Option<Known>,
        jobs: &[Job],
        now: DateTime<Utc>,
    ) -> Result<(Vec<OneReply>, Known), StoreError> {
        let mut attempt = 1;
        loop {
            let conn = self.pool.get().await.map_err(pool)?;
            match self.slow_once(&conn, known.take(), jobs, now).await {
                Ok(done) => return Ok(done),
                Err(Slow::Again(_)) if attempt < SLOW_ATTEMPTS_MAX => {
                    discard(conn);
                    attempt += 1;
                }
                Err(Slow::Again(e)) => {
                    discard(conn);
                    return Err(commit_error(e));
                }
                Err(Slow::Failed(e)) => {
                    discard(conn);
                    return Err(e);
                }
            }
        }
    }

    /// One attempt of [`Core::slow`] on `conn`.
    async fn slow_once(
        &self,
        conn: &Object,
        known: Option<Known>,
        jobs: &[Job],
        now: DateTime<Utc>,
    ) -> Result<(Vec<OneReply>, Known), Slow> {
        let overlay = self.begin(conn, jobs, now).await?;
        // What the last commit left still holds while the head is where it
        // left it; else another process appended, and it is read again.
        let (mut nodes, mut versions) = match known {
            Some(k) if k.head == overlay.head => (k.nodes, k.versions),
            _ => {
                let nodes = frontier_at(conn, &self.sql, overlay.head.position).await?;
                (nodes, HashMap::new())
            }
        };
        let (results, rows, after) = self.decide(overlay, jobs);
        let tree = tree_rows(&mut nodes, &rows)?;
        match try_write_rows(conn, &self.sql, &rows, &tree, &after.head).await {
            Ok(()) => {}
            Err(e) if lock_wait_failed(&e) || found_aborted(&e) => return Err(Slow::Again(e)),
            Err(e) => return Err(Slow::Failed(commit_error(e))),
        }
        versions.extend(after.versions);
        nodes.keep_frontier(after.head.position);
        Ok((results, Known::new(after.head, nodes, versions)))
    }

    /// Opens the transaction, locks the head and reads the state the batch
    /// is judged against, in one pipelined round trip.
    async fn begin(
        &self,
        conn: &Object,
        jobs: &[Job],
        now: DateTime<Utc>,
    ) -> Result<Overlay, Slow> {
        let streams = streams_of(jobs);
        let kinds: Vec<&str> = streams.iter().map(|s| s.kind.as_str()).collect();
        let ids: Vec<Uuid> = streams.iter().map(|s| s.id).collect();
        let keys = keys_of(jobs);
        let lock_head = conn.prepare_cached(&self.sql.lock_head).await.map_err(pg)?;
        let versions = conn.prepare_cached(&self.sql.versions).await.map_err(pg)?;
        let read_keys = conn.prepare_cached(&self.sql.keys).await.map_err(pg)?;
        let version_params: [&(dyn ToSql + Sync); 2] = [&kinds, &ids];
        let key_params: [&(dyn ToSql + Sync); 1] = [&keys];
        let (_, head, _, versions, keys) = tokio::try_join!(
            biased;
            conn.batch_execute("BEGIN"),
            conn.query_one(&lock_head, &[]),
            conn.batch_execute(&self.sql.row_wait_under_lock),
            conn.query(&versions, &version_params),
            conn.query(&read_keys, &key_params),
        )
        .map_err(|e| {
            if found_aborted(&e) {
                Slow::Again(e)
            } else {
                Slow::Failed(pg(e))
            }
        })?;
        Ok(Overlay {
            head: parse_head(&head)?,
            versions: parse_versions(&versions)?,
            keys: parse_keys(&keys)?,
            now,
        })
    }

    /// Judges every request of the batch in order against the overlay; the
    /// accepted ones add their rows. Returns each request's outcome, the rows
    /// and the overlay they leave.
    fn decide(&self, mut overlay: Overlay, jobs: &[Job]) -> (Vec<OneReply>, Rows, Overlay) {
        let mut rows = Rows::default();
        let mut recorded_json = None;
        let results = jobs
            .iter()
            .map(|j| self.prepare(&mut overlay, &mut rows, &mut recorded_json, &j.request))
            .collect();
        (results, rows, overlay)
    }

    /// Validates one request against the overlay, and on success adds its rows
    /// and its effects to the overlay. On failure neither is touched.
    fn prepare(
        &self,
        overlay: &mut Overlay,
        rows: &mut Rows,
        recorded_json: &mut Option<(DateTime<Utc>, Vec<u8>)>,
        p: &Prepared,
    ) -> OneReply {
        p.check(&self.limits)?;
        let r = &p.request;
        let n = r.events.len() as u64;
        // Idempotency is checked before the version: a retry of an append that
        // succeeded carries the expected version of the first attempt, which no
        // longer matches, and must still be answered `AlreadyAppended`.
        if let (Some(key), Some(digest)) = (&r.idempotency_key, p.digest) {
            if let Some(prev) = overlay.keys.get(key) {
                if prev.digest == digest {
                    let positions = (0..u64::from(prev.count)).map(|i| prev.first + i);
                    let positions = positions.collect();
                    return Ok((AppendOutcome::AlreadyAppended { positions }, None));
                }
                return Err(StoreError::IdempotencyConflict { key: key.clone() });
            }
        }
        let current = overlay.versions.get(&r.stream).copied().unwrap_or(0);
        if let ExpectedVersion::Exact(expected) = r.expected {
            if expected != current {
                return Err(StoreError::Conflict {
                    stream: r.stream,
                    expected,
                    actual: current,
                });
            }
        }
        let at = recorded_at(overlay.now, &overlay.head, r.recorded_at)?;
        let json = match recorded_json.take() {
            Some((t, json)) if t == at => json,
            _ => recorded_at_json(&at).map_err(|e| StoreError::Encode(e.to_string()))?,
        };
        let first = overlay
            .head
            .position
            .checked_add(1)
            .ok_or_else(|| StoreError::Storage("global position overflow".into()))?;
        let (records, hashes) = self.encode(p, first, current + 1, &json, overlay.head.hash)?;
        *recorded_json = Some((at, json));
        // Every conversion that can fail is done before the first row is added.
        let (pos0, seq0) = (to_i64(first)?, to_i64(current + 1)?);
        let (_, _) = (to_i64(first + n - 1)?, to_i64(current + n)?);
        let count = i32::try_from(n).map_err(|_| StoreError::LimitExceeded {
            limit: "events_per_append_max",
            max: i32::MAX as u64,
            actual: n,
        })?;
        for (i, bytes) in (0i64..).zip(records) {
            rows.positions.push(pos0 + i);
            rows.kinds.push(r.stream.kind.as_str());
            rows.ids.push(r.stream.id);
            rows.seqs.push(seq0 + i);
            rows.records.push(bytes);
        }
        if let (Some(key), Some(digest)) = (&r.idempotency_key, p.digest) {
            rows.keys.push(key.clone());
            rows.digests.push(digest.to_vec());
            rows.firsts.push(pos0);
            rows.counts.push(count);
            let entry = IdemEntry {
                digest,
                first,
                count: count.unsigned_abs(),
            };
            overlay.keys.insert(key.clone(), entry);
        }
        let prev = hashes.last().copied().unwrap_or(overlay.head.hash);
        let stream_version = current + n;
        overlay.versions.insert(r.stream, stream_version);
        let written = Written {
            recorded_at: at,
            prev_hash: overlay.head.hash,
            hashes,
        };
        overlay.head = Head {
            position: first + n - 1,
            hash: prev,
            recorded_at: Some(at),
        };
        let positions = (first..first + n).collect();
        let outcome = AppendOutcome::Appended {
            positions,
            stream_version,
        };
        Ok((outcome, Some(written)))
    }

    /// The records of a request's events from `first` (position) and
    /// `first_seq` (stream sequence) on, chained from `prev`, with their hashes.
    fn encode(
        &self,
        p: &Prepared,
        first: u64,
        first_seq: u64,
        recorded_json: &[u8],
        mut prev: Hash,
    ) -> Result<(Vec<Vec<u8>>, Vec<Hash>), StoreError> {
        let mut records = Vec::with_capacity(p.encoded.len());
        let mut hashes = Vec::with_capacity(p.encoded.len());
        for (i, pre) in (0u64..).zip(&p.encoded) {
            let mut bytes = Vec::with_capacity(pre.record_len_max());
            let hash = pre.finish(first + i, first_seq + i, recorded_json, &prev, &mut bytes);
            check_record_len(&bytes, &self.limits)?;
            records.push(bytes);
            hashes.push(hash);
            prev = hash;
        }
        Ok((records, hashes))
    }
}

/// The Merkle tree's nodes of the batch's records, in position order, computed
/// over `nodes` (the frontier at the head the batch starts from), which keeps
/// them.
pub(crate) fn tree_rows(nodes: &mut Nodes, rows: &Rows) -> Result<NodeRows, StoreError> {
    let mut out = NodeRows::default();
    for (position, record) in rows.positions.iter().zip(&rows.records) {
        let index = u64::try_from(*position - 1)
            .map_err(|_| StoreError::Storage(format!("position {position} below 1")))?;
        out.push(nodes.append(index, leaf_of(record))?)?;
    }
    Ok(out)
}

/// Writes a batch's rows (in the transaction `conn` holds with the head
/// locked), moves the head and commits, pipelined; with nothing to write,
/// only ends the transaction. The caller checks that the head's position
/// fits a bigint.
pub(crate) async fn try_write_rows(
    conn: &Object,
    sql: &Sql,
    rows: &Rows,
    tree: &NodeRows,
    head: &Head,
) -> Result<(), tokio_postgres::Error> {
    if rows.positions.is_empty() {
        // Nothing written, but the outcomes were judged against state that
        // may not be durable yet: they wait for its flush too.
        let settle = conn.prepare_cached(&sql.settle).await?;
        return tokio::try_join!(
            biased;
            conn.batch_execute("COMMIT"),
            conn.query_opt(&settle, &[]),
        )
        .map(|_| ());
    }
    let insert_events = conn.prepare_cached(&sql.insert_events).await?;
    let insert_keys = conn.prepare_cached(&sql.insert_keys).await?;
    let update_head = conn.prepare_cached(&sql.update_head).await?;
    let insert_nodes = conn.prepare_cached(&sql.nodes_insert).await?;
    // Checked by the caller: a position past a bigint never reaches here.
    let position = i64::try_from(head.position).unwrap_or(i64::MAX);
    let hash: &[u8] = &head.hash.0;
    let at = head.recorded_at.map(rfc3339);
    // If any statement before the COMMIT fails, PostgreSQL answers the
    // COMMIT by rolling back: the batch is written only if all succeed.
    let event_params: [&(dyn ToSql + Sync); 5] = [
        &rows.positions,
        &rows.kinds,
        &rows.ids,
        &rows.seqs,
        &rows.records,
    ];
    let key_params: [&(dyn ToSql + Sync); 4] =
        [&rows.keys, &rows.digests, &rows.firsts, &rows.counts];
    let head_params: [&(dyn ToSql + Sync); 3] = [&position, &hash, &at];
    let node_params: [&(dyn ToSql + Sync); 2] = [&tree.first, &tree.hashes];
    let settle = conn.prepare_cached(&sql.settle).await?;
    tokio::try_join!(
        biased;
        conn.execute(&insert_events, &event_params),
        conn.execute(&insert_keys, &key_params),
        conn.execute(&insert_nodes, &node_params),
        conn.execute(&update_head, &head_params),
        conn.batch_execute(COMMIT_UNFLUSHED),
        conn.query_opt(&settle, &[]),
    )
    .map(|_| ())
}

/// Ends an append transaction without waiting for its commit's flush, which
/// would hold the head lock through it: the durable commit sent after it in
/// the same round trip waits for the flush instead (see `crate::durable`).
pub(crate) const COMMIT_UNFLUSHED: &str = "SET LOCAL synchronous_commit = off; COMMIT";

/// What a failure of an append transaction's pipelined statements means for
/// the appends it held.
pub(crate) fn commit_error(e: tokio_postgres::Error) -> StoreError {
    if e.as_db_error().is_some() {
        return StoreError::Storage(format!(
            "{}; the transaction was rolled back: nothing of this append was written",
            pg(e)
        ));
    }
    StoreError::Storage(format!(
        "{}; the connection failed before the commit was confirmed: this append \
         may or may not be written (retry it with its idempotency key)",
        pg(e)
    ))
}

/// What the database must still hold, under the head lock, for a batch judged
/// against what the last commit left: that head, those versions of the
/// batch's streams, none of the batch's idempotency keys.
pub(crate) struct Check {
    position: i64,
    hash: Vec<u8>,
    kinds: Vec<&'static str>,
    ids: Vec<Uuid>,
    versions: Vec<i64>,
    keys: Vec<String>,
}

impl Check {
    fn of(overlay: &Overlay, jobs: &[Job]) -> Result<Check, StoreError> {
        let streams = streams_of(jobs);
        let versions = streams
            .iter()
            .map(|s| to_i64(overlay.versions.get(s).copied().unwrap_or(0)))
            .collect::<Result<_, _>>()?;
        Ok(Check {
            position: to_i64(overlay.head.position)?,
            hash: overlay.head.hash.0.to_vec(),
            kinds: streams.iter().map(|s| s.kind.as_str()).collect(),
            ids: streams.iter().map(|s| s.id).collect(),
            versions,
            keys: keys_of(jobs).into_iter().map(str::to_owned).collect(),
        })
    }
}

/// A judged batch written in one transaction, pipelined: `BEGIN` and the
/// rows (events, keys, the tree's run) at once, concurrently with the
/// transaction sent before, which may still hold the head lock; then, once
/// that one holds the lock (so that the two take it in the order they were
/// judged), the head locked, `check` (which fails with [`STATE_MOVED`] when it
/// no longer holds, rolling everything back), the head moved and `COMMIT`.
///
/// The rows are inserted before the head lock is asked for, so that the lock
/// is held only for the check, the head's update and the commit's flush: the
/// transactions of a writer insert their rows while the one before commits,
/// instead of one after the other. Inserting before the check is safe: the
/// rows are invisible until the commit, which the check guards, and a row
/// that collides with one another transaction wrote (another process
/// appended) fails the insert, which means the state moved.
async fn write_checked(
    conn: &Object,
    sql: &Sql,
    check: &Check,
    rows: &Rows,
    tree: &NodeRows,
    head: &Head,
    order: Order,
) -> Result<(), Fast> {
    let prepare = |e| Fast::Failed(pg(e));
    let lock_head = conn.prepare_cached(&sql.lock_head).await.map_err(prepare)?;
    let check_stmt = conn
        .prepare_cached(&sql.append_check)
        .await
        .map_err(prepare)?;
    let insert_events = conn
        .prepare_cached(&sql.insert_events)
        .await
        .map_err(prepare)?;
    let insert_keys = conn
        .prepare_cached(&sql.insert_keys)
        .await
        .map_err(prepare)?;
    let update_head = conn
        .prepare_cached(&sql.update_head)
        .await
        .map_err(prepare)?;
    let insert_nodes = conn
        .prepare_cached(&sql.nodes_insert)
        .await
        .map_err(prepare)?;
    let settle = conn.prepare_cached(&sql.settle).await.map_err(prepare)?;
    let check_params: [&(dyn ToSql + Sync); 6] = [
        &check.position,
        &check.hash,
        &check.kinds,
        &check.ids,
        &check.versions,
        &check.keys,
    ];
    let event_params: [&(dyn ToSql + Sync); 5] = [
        &rows.positions,
        &rows.kinds,
        &rows.ids,
        &rows.seqs,
        &rows.records,
    ];
    let key_params: [&(dyn ToSql + Sync); 4] =
        [&rows.keys, &rows.digests, &rows.firsts, &rows.counts];
    let position = to_i64(head.position).map_err(Fast::Failed)?;
    let hash: &[u8] = &head.hash.0;
    let at = head.recorded_at.map(rfc3339);
    let head_params: [&(dyn ToSql + Sync); 3] = [&position, &hash, &at];
    let node_params: [&(dyn ToSql + Sync); 2] = [&tree.first, &tree.hashes];
    let Order { after, locked } = order;
    let insert = async {
        tokio::try_join!(
            biased;
            conn.batch_execute("BEGIN"),
            conn.execute(&insert_events, &event_params),
            conn.execute(&insert_keys, &key_params),
            conn.execute(&insert_nodes, &node_params),
        )
    };
    let commit = async {
        if let Some(before) = after {
            // Sent or failed, the earlier transaction no longer holds this
            // one back.
            let _ = before.await;
        }
        tokio::try_join!(
            biased;
            async {
                let r = conn.query_one(&lock_head, &[]).await;
                let _ = locked.send(());
                r
            },
            conn.query_one(&check_stmt, &check_params),
            conn.execute(&update_head, &head_params),
            conn.batch_execute(COMMIT_UNFLUSHED),
            conn.query_opt(&settle, &[]),
        )
    };
    match tokio::try_join!(biased; insert, commit) {
        Ok(_) => Ok(()),
        Err(e) if moved(&e) || found_aborted(&e) => Err(Fast::Moved),
        Err(e) => Err(Fast::Failed(commit_error(e))),
    }
}

/// Whether the first statement of an append transaction to fail found the
/// transaction already failed (`25P02`): nothing of it is written, so its
/// batch is judged again under the head lock on another connection.
///
/// Decision: two services sharing a database met it in two full test runs
/// of seven, an append answered as failed where it should have been judged
/// again, and its cause (a pooled connection left inside a failed
/// transaction, or a first error answered after a later one) was not found. Judging again is safe
/// whatever the cause, since an aborted transaction writes nothing; the
/// connection is closed, not pooled again.
fn found_aborted(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION)
}

/// Whether a failure of a one-round-trip append means that the state it was
/// judged against moved (nothing of it was written): the check failed, one
/// of its rows collided with another transaction's (another process
/// appended, or took one of its keys), or it was chosen to break a deadlock
/// or a lock wait with such a transaction.
fn moved(e: &tokio_postgres::Error) -> bool {
    let code = e.code();
    code.map(|c| c.code()) == Some(STATE_MOVED)
        || code == Some(&SqlState::UNIQUE_VIOLATION)
        || lock_wait_failed(e)
}

/// Whether a statement failed because a lock it waited for was given up:
/// [`ROW_WAIT_UNDER_LOCK_MS`](crate::schema::ROW_WAIT_UNDER_LOCK_MS) passed, or the server broke a deadlock with it.
/// The transaction is rolled back and nothing of it was written.
pub(crate) fn lock_wait_failed(e: &tokio_postgres::Error) -> bool {
    let code = e.code();
    code == Some(&SqlState::LOCK_NOT_AVAILABLE) || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

/// The batch's streams, sorted, once each.
fn streams_of(jobs: &[Job]) -> Vec<StreamId> {
    let mut streams: Vec<StreamId> = jobs.iter().map(|j| j.request.request.stream).collect();
    streams.sort_unstable();
    streams.dedup();
    streams
}

/// The batch's idempotency keys.
fn keys_of(jobs: &[Job]) -> Vec<&str> {
    jobs.iter()
        .filter_map(|j| j.request.request.idempotency_key.as_deref())
        .collect()
}

/// The overlay a batch is judged against in one round trip, from what the
/// last commit left: each stream's version as remembered, else as the first
/// request on it expects (the database checks it); none of its keys taken.
/// None when a stream's version is neither remembered nor expected exactly.
fn predict(known: &Known, jobs: &[Job], now: DateTime<Utc>) -> Option<Overlay> {
    let mut versions = HashMap::new();
    for j in jobs {
        let r = &j.request.request;
        if versions.contains_key(&r.stream) {
            continue;
        }
        let version = match (known.versions.get(&r.stream), r.expected) {
            (Some(v), _) => *v,
            (None, ExpectedVersion::Exact(v)) => v,
            (None, _) => return None,
        };
        versions.insert(r.stream, version);
    }
    Some(Overlay {
        head: known.head,
        versions,
        keys: HashMap::new(),
        now,
    })
}

impl Known {
    /// What a commit left, forgetting every version past
    /// [`KNOWN_VERSIONS_MAX`].
    fn new(head: Head, nodes: Nodes, mut versions: HashMap<StreamId, u64>) -> Known {
        if versions.len() > KNOWN_VERSIONS_MAX {
            versions.clear();
        }
        Known {
            head,
            nodes,
            versions,
        }
    }
}

/// Sends each job the outcome judged for it.
fn answer(jobs: Vec<Job>, results: Vec<OneReply>) {
    let owed = jobs.into_iter().zip(results).map(|(j, r)| (j.reply, r));
    send_all(owed.collect(), None);
}

/// A placeholder outcome, for replies that a failure replaces.
fn none() -> AppendOutcome {
    AppendOutcome::AlreadyAppended {
        positions: Vec::new(),
    }
}

/// An instant as the head row stores it: RFC 3339 to the nanosecond.
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn parse_versions(rows: &[Row]) -> Result<HashMap<StreamId, u64>, StoreError> {
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let kind: &str = row.try_get(0).map_err(pg)?;
        let id: Uuid = row.try_get(1).map_err(pg)?;
        let version: i64 = row.try_get(2).map_err(pg)?;
        let kind = parse_kind(kind).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            why: format!("unknown stream kind {kind:?}"),
        })?;
        out.insert(
            StreamId::new(kind, id),
            to_u64(version, 0, "stream version")?,
        );
    }
    Ok(out)
}

pub(crate) fn parse_keys(rows: &[Row]) -> Result<HashMap<String, IdemEntry>, StoreError> {
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get(0).map_err(pg)?;
        let digest: &[u8] = row.try_get(1).map_err(pg)?;
        let first: i64 = row.try_get(2).map_err(pg)?;
        let count: i32 = row.try_get(3).map_err(pg)?;
        let malformed = || StoreError::Corrupt {
            position: u64::try_from(first).unwrap_or(0),
            why: format!("idempotency entry of key {key:?} is malformed"),
        };
        let entry = IdemEntry {
            digest: digest.try_into().map_err(|_| malformed())?,
            first: u64::try_from(first).map_err(|_| malformed())?,
            count: u32::try_from(count).map_err(|_| malformed())?,
        };
        out.insert(key, entry);
    }
    Ok(out)
}
