//! Injected faults (feature `faults`, for tests): [`FaultyStore`] wraps a
//! store and fails its appends from a chosen point on, as a failed flush
//! does: the store's writer acknowledges nothing after a failed flush (a later
//! flush could make a later batch durable over a lost earlier one), so every
//! append submitted after the failing one fails too, until the store is
//! recovered ([`FaultyStore::heal`], as reopening it does). A failed append
//! reaches nothing of the wrapped store: what it asked is not in the log.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use navigo_events_schema::{Envelope, StreamId};
use navigo_merkle::{ConsistencyProof, InclusionProof, StreamHeads, TreeHead};

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
}

impl<S: EventStore> FaultyStore<S> {
    /// `inner`, with no fault armed.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            submitted: AtomicU64::new(0),
            fail_from: AtomicU64::new(DISARMED),
        }
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
        self.admit()?;
        self.inner.append_stored(request).await
    }

    async fn prepare_appends(&self, requests: &mut [AppendRequest]) -> Result<(), StoreError> {
        self.inner.prepare_appends(requests).await
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
