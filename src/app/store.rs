//! The binary's one store type: the log in sled (a data directory, the
//! default) or in PostgreSQL (`--store postgres://…`), behind the
//! [`EventStore`] trait by delegation, so that the ledger, the commands and the
//! service are written once for both. The few operations only one backend
//! offers are methods here that say which.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use async_trait::async_trait;
use navigo_events_schema::{Envelope, StreamId, StreamKind};
use navigo_merkle::{ConsistencyProof, Frontier, InclusionProof, StreamHeads, TreeHead};
use navigo_store::verify::VerifyReport;
use navigo_store::{
    AppendOutcome, AppendRequest, DerivedBatch, DerivedEntries, EnvelopeStream, EventStore, Head,
    StoreError,
};
use navigo_store_postgres::PgStore;
use navigo_store_sled::{AppendAllError, SledStore};

use super::keystore::KeyStore;
use super::sealing;

/// The backend holding a ledger's log.
#[derive(Debug)]
pub enum Backend {
    /// The embedded store in a data directory.
    Sled(SledStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

/// The store of a ledger, whichever backend holds it, with the key store of
/// its data directory: personal data is sealed here before it is appended and
/// opened here when it is read ([`super::sealing`]), the one place every
/// reader and writer of the binary passes.
#[derive(Debug)]
pub struct AnyStore {
    backend: Backend,
    keys: Option<Arc<KeyStore>>,
}

/// Runs `$body` with `$s` bound to the store inside `$store`, whichever it is.
macro_rules! each {
    ($store:expr, $s:ident => $body:expr) => {
        match $store {
            Backend::Sled($s) => $body,
            Backend::Postgres($s) => $body,
        }
    };
}

/// The counts of a ledger, as both backends give them.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The head.
    pub head: Head,
    /// Events in the log.
    pub events: u64,
    /// Streams per kind.
    pub streams: BTreeMap<StreamKind, u64>,
    /// Idempotency keys recorded.
    pub idempotency_keys: u64,
    /// Bytes on disk (sled's files, or the tables and indexes on the server).
    pub disk_bytes: u64,
}

/// A verification running apart from the store's borrow (see
/// [`AnyStore::detached_verify`]).
pub enum DetachedVerify {
    /// sled's scan, to run on a blocking thread.
    Sled(Box<dyn FnOnce() -> Result<VerifyReport, StoreError> + Send>),
    /// PostgreSQL's walk, a future on the store's own connection pool.
    Postgres(std::pin::Pin<Box<dyn std::future::Future<Output = VerifyResult> + Send>>),
}

type VerifyResult = Result<VerifyReport, StoreError>;

impl DetachedVerify {
    /// Runs the verification (sled's on a blocking thread).
    ///
    /// # Errors
    /// A storage failure, or the blocking thread failed; corruption is in the
    /// report.
    pub async fn run(self) -> VerifyResult {
        match self {
            DetachedVerify::Sled(task) => tokio::task::spawn_blocking(task)
                .await
                .map_err(|e| StoreError::Storage(format!("the verification failed: {e}")))?,
            DetachedVerify::Postgres(task) => task.await,
        }
    }
}

impl AnyStore {
    /// The store over `backend`, sealing and opening personal data with `keys`
    /// (`None`: personal data is written and read in clear, as the library's
    /// own tests do; the binary always opens the key store).
    pub fn new(backend: Backend, keys: Option<Arc<KeyStore>>) -> AnyStore {
        AnyStore { backend, keys }
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The key store.
    pub fn keys(&self) -> Option<&Arc<KeyStore>> {
        self.keys.as_ref()
    }

    /// Stops the store's writer after the appends already queued and
    /// releases the store (sled's lock, PostgreSQL's connections).
    ///
    /// # Errors
    /// The writer failed.
    pub async fn close(self) -> Result<(), StoreError> {
        each!(self.backend, s => s.close().await)
    }

    /// Verifies every record, the chain and the indexes.
    ///
    /// # Errors
    /// A storage failure; corruption is in the report.
    pub async fn verify(&self) -> VerifyResult {
        match &self.backend {
            Backend::Sled(s) => s.verify(),
            Backend::Postgres(s) => s.verify().await,
        }
    }

    /// The sled store, when the ledger is in a data directory: what the
    /// service's jobs that read sled's log off the ledger's lock take.
    pub fn as_sled(&self) -> Option<&SledStore> {
        match &self.backend {
            Backend::Sled(s) => Some(s),
            Backend::Postgres(_) => None,
        }
    }

    /// [`AnyStore::verify`] as a task that holds no borrow of the store.
    pub fn detached_verify(&self) -> DetachedVerify {
        match &self.backend {
            Backend::Sled(s) => DetachedVerify::Sled(Box::new(s.detached_verify())),
            Backend::Postgres(s) => DetachedVerify::Postgres(Box::pin(s.detached_verify())),
        }
    }

    /// Counts events, streams by kind, idempotency keys and bytes.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        Ok(match &self.backend {
            Backend::Sled(s) => {
                let st = s.stats()?;
                Stats {
                    head: st.head,
                    events: st.events,
                    streams: st.streams,
                    idempotency_keys: st.idempotency_keys,
                    disk_bytes: st.disk_bytes,
                }
            }
            Backend::Postgres(s) => {
                let st = s.stats().await?;
                Stats {
                    head: st.head,
                    events: st.head.position,
                    streams: st.streams,
                    idempotency_keys: st.idempotency_keys,
                    disk_bytes: st.disk_bytes,
                }
            }
        })
    }

    /// Appends several requests all or nothing (`append`, `sample`).
    ///
    /// Decision: sled appends them in one group commit; the PostgreSQL
    /// store's writer has no such call yet, so there a single request is
    /// appended (atomic on its own) and several are refused before anything
    /// is written, rather than appended one by one, which could leave a file
    /// half appended.
    ///
    /// # Errors
    /// The first refused request and why, or a storage failure; nothing is
    /// written.
    pub async fn append_all(
        &self,
        mut requests: Vec<AppendRequest>,
    ) -> Result<Vec<AppendOutcome>, AppendAllError> {
        for (i, request) in requests.iter_mut().enumerate() {
            sealing::seal_request(self.keys.as_deref(), request).map_err(|error| {
                AppendAllError {
                    request_index: Some(i),
                    error,
                }
            })?;
        }
        match &self.backend {
            Backend::Sled(s) => s.append_all(requests).await,
            Backend::Postgres(s) if requests.len() == 1 => {
                let one = requests.remove(0);
                s.append(one)
                    .await
                    .map(|o| vec![o])
                    .map_err(|error| AppendAllError {
                        request_index: Some(0),
                        error,
                    })
            }
            Backend::Postgres(_) => Err(AppendAllError {
                request_index: Some(1),
                error: StoreError::Unsupported(
                    "appending several streams' events all or nothing on PostgreSQL (give one                      stream's events per call)",
                ),
            }),
        }
    }

    /// The frontier of the stored Merkle tree of the first `size` records.
    ///
    /// # Errors
    /// A size beyond the head, or a node that cannot be read.
    pub async fn tree_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        match &self.backend {
            Backend::Sled(s) => s.tree_frontier(size),
            Backend::Postgres(s) => s.tree_frontier(size).await,
        }
    }
}

#[async_trait]
impl EventStore for AnyStore {
    async fn append(&self, mut request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        sealing::seal_request(self.keys.as_deref(), &mut request)?;
        each!(&self.backend, s => s.append(request).await)
    }

    async fn append_stored(
        &self,
        mut request: AppendRequest,
    ) -> Result<(AppendOutcome, Vec<Envelope>), StoreError> {
        sealing::seal_request(self.keys.as_deref(), &mut request)?;
        each!(&self.backend, s => s.append_stored(request).await)
    }

    fn seal_ahead(&self, request: &mut AppendRequest) -> Result<(), StoreError> {
        sealing::seal_request_ahead(self.keys.as_deref(), request)
    }

    async fn prepare_appends(&self, requests: &mut [AppendRequest]) -> Result<(), StoreError> {
        let Some(keys) = self.keys.clone() else {
            return Ok(());
        };
        let persons = sealing::persons_to_seal_for(requests);
        if persons.is_empty() {
            return Ok(());
        }
        // The flush of the key store blocks: it runs off the runtime's workers,
        // which go on serving requests meanwhile.
        tokio::task::spawn_blocking(move || keys.create_all(&persons))
            .await
            .map_err(|e| StoreError::Storage(format!("making the person keys: {e}")))?
            .map_err(|e| StoreError::Storage(e.to_string()))
    }

    async fn read_stream(
        &self,
        stream: StreamId,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Envelope>, StoreError> {
        let mut read = each!(&self.backend, s => s.read_stream(stream, range).await)?;
        sealing::open_all(self.keys.as_deref(), &mut read)?;
        Ok(read)
    }

    async fn import_sealed(&self, records: Vec<Vec<u8>>) -> Result<Head, StoreError> {
        each!(&self.backend, s => s.import_sealed(records).await)
    }

    fn read_all(&self, from_position: u64) -> EnvelopeStream<'_> {
        let all = each!(&self.backend, s => s.read_all(from_position));
        match &self.keys {
            None => all,
            Some(keys) => sealing::opening(keys, all),
        }
    }

    async fn read_log(&self, from_position: u64) -> Result<Vec<Envelope>, StoreError> {
        let mut read = each!(&self.backend, s => s.read_log(from_position).await)?;
        sealing::open_all(self.keys.as_deref(), &mut read)?;
        Ok(read)
    }

    async fn head(&self) -> Result<Head, StoreError> {
        each!(&self.backend, s => EventStore::head(s).await)
    }

    async fn stream_version(&self, stream: StreamId) -> Result<u64, StoreError> {
        each!(&self.backend, s => s.stream_version(stream).await)
    }

    async fn idempotency_keys(
        &self,
        prefix: &str,
        keys_max: usize,
    ) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        each!(&self.backend, s => s.idempotency_keys(prefix, keys_max).await)
    }

    async fn read_derived(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        each!(&self.backend, s => s.read_derived(name).await)
    }

    async fn write_derived(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        each!(&self.backend, s => s.write_derived(name, bytes).await)
    }

    async fn read_derived_entries(
        &self,
        space: &str,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let read = each!(&self.backend, s => s.read_derived_entries(space, keys).await)?;
        let Some(store) = &self.keys else {
            return Ok(read);
        };
        keys.iter()
            .zip(read)
            .map(|(key, value)| {
                value
                    .map(|v| sealing::open_derived(store, space, key, v))
                    .transpose()
            })
            .collect()
    }

    async fn scan_derived_entries(
        &self,
        space: &str,
        prefix: &[u8],
    ) -> Result<DerivedEntries, StoreError> {
        let read = each!(&self.backend, s => s.scan_derived_entries(space, prefix).await)?;
        let Some(store) = &self.keys else {
            return Ok(read);
        };
        read.into_iter()
            .map(|(key, value)| {
                let value = sealing::open_derived(store, space, &key, value)?;
                Ok((key, value))
            })
            .collect()
    }

    async fn write_derived_entries(
        &self,
        space: &str,
        batch: &DerivedBatch,
    ) -> Result<(), StoreError> {
        let sealed = match &self.keys {
            Some(keys) => sealing::seal_derived(keys, space, batch)?,
            None => None,
        };
        let batch = sealed.as_ref().unwrap_or(batch);
        each!(&self.backend, s => s.write_derived_entries(space, batch).await)
    }

    async fn tree_head(&self, size: u64) -> Result<TreeHead, StoreError> {
        each!(&self.backend, s => EventStore::tree_head(s, size).await)
    }

    async fn prove_inclusion(
        &self,
        size: u64,
        position: u64,
    ) -> Result<(InclusionProof, Vec<u8>), StoreError> {
        each!(&self.backend, s => EventStore::prove_inclusion(s, size, position).await)
    }

    async fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        each!(&self.backend, s => EventStore::prove_consistency(s, old, new).await)
    }

    async fn stream_heads(&self, size: u64) -> Result<StreamHeads, StoreError> {
        each!(&self.backend, s => EventStore::stream_heads(s, size).await)
    }

    async fn keep_checkpoint(&self, signed_note: &[u8]) -> Result<u64, StoreError> {
        each!(&self.backend, s => EventStore::keep_checkpoint(s, signed_note).await)
    }

    async fn checkpoints(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        each!(&self.backend, s => EventStore::checkpoints(s).await)
    }
}
