//! Injected faults (feature `faults`, for tests): [`FaultyStore`] wraps a
//! store and fails its appends from a chosen point on, as a failed flush
//! does: the store's writer acknowledges nothing after a failed flush (a later
//! flush could make a later batch durable over a lost earlier one), so every
//! append submitted after the failing one fails too, until the store is
//! recovered ([`FaultyStore::heal`], as reopening it does). A failed append
//! reaches nothing of the wrapped store: what it asked is not in the log.
//!
//! It also keeps a journal of the preparations and appends it saw, in order
//! ([`FaultyStore::journal`]), and can hold each preparation back
//! ([`FaultyStore::hold_preparations`]), as a slow flush of a key store does:
//! what a test of a submit loop reads the order of its calls from.

use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use async_trait::async_trait;
use navigo_events_schema::{Envelope, StreamId};
use navigo_merkle::{ConsistencyProof, InclusionProof, StreamHeads, TreeHead};
use uuid::Uuid;

use crate::{
    AppendOutcome, AppendRequest, DerivedBatch, DerivedEntries, EnvelopeStream, EventStore, Head,
    StoreError,
};

/// No fault armed.
const DISARMED: u64 = u64::MAX;

/// A store whose appends fail from a chosen one on.
pub struct FaultyStore<S> {
    inner: S,
    /// Appends submitted so far (counted when first polled, which is the
    /// order a writer takes them in).
    submitted: AtomicU64,
    /// The number of the first append that fails ([`DISARMED`]: none).
    fail_from: AtomicU64,
    /// Times a preparation yields before it reaches the wrapped store.
    preparation_yields: AtomicU64,
    journal: Mutex<Vec<Step>>,
    /// Every write of a derived space that clears it fails.
    fail_clears: AtomicBool,
    /// Writes of derived entries still let through ([`DISARMED`]: all).
    derived_writes_left: AtomicU64,
}

/// One call the store saw, named by the event ids of its appends (an
/// append by its first event's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A preparation of these appends began.
    Preparing(Vec<Uuid>),
    /// It returned.
    Prepared(Vec<Uuid>),
    /// An append was submitted (first polled).
    Submitted(Uuid),
    /// Its answer came back.
    Answered(Uuid),
}

fn first_event(request: &AppendRequest) -> Uuid {
    request.events.first().map_or(Uuid::nil(), |e| e.event_id)
}

impl<S: EventStore> FaultyStore<S> {
    /// `inner`, with no fault armed.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            submitted: AtomicU64::new(0),
            fail_from: AtomicU64::new(DISARMED),
            preparation_yields: AtomicU64::new(0),
            journal: Mutex::new(Vec::new()),
            fail_clears: AtomicBool::new(false),
            derived_writes_left: AtomicU64::new(DISARMED),
        }
    }

    /// Lets `n` more writes of derived entries through, then fails every
    /// later one before it reaches the wrapped store, as a crash after the
    /// `n`th would stop them.
    pub fn fail_derived_writes_after(&self, n: u64) {
        self.derived_writes_left.store(n, Ordering::SeqCst);
    }

    /// Makes every later write of a derived space that clears it fail before
    /// it reaches the wrapped store, as a crash during the clear would stop it.
    pub fn fail_derived_clears(&self) {
        self.fail_clears.store(true, Ordering::SeqCst);
    }

    /// Makes every later preparation yield `times` times to the other
    /// futures of its task before it reaches the wrapped store.
    pub fn hold_preparations(&self, times: u64) {
        self.preparation_yields.store(times, Ordering::SeqCst);
    }

    /// The calls seen so far, in order.
    pub fn journal(&self) -> Vec<Step> {
        self.lock_journal().clone()
    }

    fn note(&self, step: Step) {
        self.lock_journal().push(step);
    }

    fn lock_journal(&self) -> std::sync::MutexGuard<'_, Vec<Step>> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets `n` more appends through, then fails every later one until
    /// [`FaultyStore::heal`].
    pub fn fail_after(&self, n: u64) {
        let now = self.submitted.load(Ordering::SeqCst);
        self.fail_from
            .store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// Recovers: appends go through again.
    pub fn heal(&self) {
        self.fail_from.store(DISARMED, Ordering::SeqCst);
    }

    /// Appends that failed since the store was made (a test checks its fault
    /// was met).
    pub fn failing(&self) -> bool {
        self.submitted.load(Ordering::SeqCst) > self.fail_from.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Gives the wrapped store back.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn admit(&self) -> Result<(), StoreError> {
        let n = self.submitted.fetch_add(1, Ordering::SeqCst);
        if n >= self.fail_from.load(Ordering::SeqCst) {
            return Err(StoreError::Storage(
                "injected fault: the flush of this append failed".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: EventStore> EventStore for FaultyStore<S> {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.admit()?;
        self.inner.append(request).await
    }

    async fn append_stored(
        &self,
        request: AppendRequest,
    ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
        let id = first_event(&request);
        self.note(Step::Submitted(id));
        let answer = match self.admit() {
            Ok(()) => self.inner.append_stored(request).await,
            Err(e) => Err(e),
        };
        self.note(Step::Answered(id));
        answer
    }

    async fn prepare_appends(&self, requests: &mut [AppendRequest]) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = requests.iter().map(first_event).collect();
        self.note(Step::Preparing(ids.clone()));
        for _ in 0..self.preparation_yields.load(Ordering::SeqCst) {
            YieldOnce(false).await;
        }
        let done = self.inner.prepare_appends(requests).await;
        self.note(Step::Prepared(ids));
        done
    }

    async fn read_stream(
        &self,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Envelope>, StoreError> {
        self.inner.read_stream(stream, range).await
    }

    fn read_all(&self, from_position: u64) -> EnvelopeStream<'_> {
        self.inner.read_all(from_position)
    }

    async fn head(&self) -> Result<Head, StoreError> {
        self.inner.head().await
    }

    async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError> {
        self.inner.stream_version(stream).await
    }

    async fn idempotency_keys(
        &self,
        prefix: &str,
        keys_max: usize,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        self.inner.idempotency_keys(prefix, keys_max).await
    }

    fn seal_ahead(&self, request: &mut AppendRequest) -> Result<(), StoreError> {
        self.inner.seal_ahead(request)
    }

    async fn read_derived(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.read_derived(name).await
    }

    async fn write_derived(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.write_derived(name, bytes).await
    }

    async fn read_derived_entries(
        &self,
        space: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.read_derived_entries(space, keys).await
    }

    async fn scan_derived_entries(
        &self,
        space: &str,
        prefix: &[u8],
    ) -> Result<DerivedEntries, StoreError> {
        self.inner.scan_derived_entries(space, prefix).await
    }

    async fn write_derived_entries(
        &self,
        space: &str,
        batch: &DerivedBatch,
    ) -> Result<(), StoreError> {
        if batch.clear && self.fail_clears.load(Ordering::SeqCst) {
            return Err(StoreError::Storage(
                "injected fault: the clear of this derived space was cut".into(),
            ));
        }
        // One atomic step, so that writes made at once never both take the
        // last one let through.
        let taken =
            self.derived_writes_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    (left != DISARMED && left > 0).then(|| left - 1)
                });
        if taken == Err(0) {
            return Err(StoreError::Storage(
                "injected fault: this write of derived entries was cut".into(),
            ));
        }
        self.inner.write_derived_entries(space, batch).await
    }

    async fn tree_head(&self, size: u64) -> Result<TreeHead, StoreError> {
        self.inner.tree_head(size).await
    }

    async fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<(InclusionProof, Vec<u8>), StoreError> {
        self.inner.prove_inclusion(size, position).await
    }

    async fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        self.inner.prove_consistency(old, new).await
    }

    async fn stream_heads(&self, size: u64) -> Result<StreamHeads, StoreError> {
        self.inner.stream_heads(size).await
    }

    async fn keep_checkpoint(&self, signed_note: &[u8]) -> Result<u64, StoreError> {
        self.inner.keep_checkpoint(signed_note).await
    }

    async fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.checkpoints().await
    }
}

/// Pending once, its task woken at once: the other futures of the task run
/// before it resumes.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
