//! `migrate`: a ledger's log copied from one store to another (a data
//! directory, a PostgreSQL database, either way) record for record: the same
//! canonical bytes, positions, stream sequences, instants and hashes
//! ([`EventStore::import_sealed`]), every record checked as it is read (its
//! hash, its link, its Merkle leaf) and again as it is stored, then the kept
//! signed checkpoints, each checked against the target's tree first.
//!
//! A target holding a prefix of the source (an interrupted copy) is resumed
//! after it; a target holding anything else is refused before anything is
//! written.
//!
//! Decision: only the log and its checkpoints are copied here (the binary then
//! carries the key store of personal data, `keystore::carry`). The files a data
//! directory keeps beside the log (the API tokens and accounts of
//! `auth.json`, the sessions, `serve.json`, the materialized projections) and
//! the checkpoint signing key are the operator's to carry (README, *Moving a
//! ledger between stores*): credentials and keys are not the log's, and the
//! projections and the ledger's snapshots are derived data each store rebuilds
//! from the log.

use navigo_events_schema::envelope::record_as_written;
use navigo_events_schema::views::MigrateView;
use navigo_events_schema::{Hash, StreamId};
use navigo_merkle::Checkpoint;
use navigo_store::{EventStore, ExportedRecord, Head, StoreError};
use navigo_store_sled::export::ExportRecords;

use super::store::{AnyStore, Backend};
use super::verify::head_view;

/// Records stored in one call of [`EventStore::import_sealed`] (one
/// transaction, or one sled batch), unless an append's records go on after
/// them: a batch never ends inside an append, so that its idempotency entry
/// is rebuilt whole.
pub const MIGRATE_BATCH_RECORDS: usize = 1_024;

/// The environment variable that stops a copy after that many records, as
/// an interruption would (for tests only: the copy then fails, and a second
/// run resumes it).
pub const TEST_STOP_AFTER_ENV: &str = "NAVIGO_TEST_MIGRATE_STOP_AFTER";

/// How a copy is run.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// The source, as messages name it.
    pub from: String,
    /// The target, as messages name it.
    pub to: String,
    /// Stop with an error once this many records are copied (tests simulate
    /// an interruption with it).
    pub stop_after: Option<u64>,
}

/// A refusal of the target, before anything is written to it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetRefused(pub String);

/// Copies the log and the checkpoints of `source` into `target`.
///
/// # Errors
/// [`TargetRefused`] for a target holding another log (nothing written); a
/// source record that does not verify, named by position (the records before
/// it stay copied, a prefix the next run resumes after); a checkpoint that
/// does not match the target's tree; a storage failure.
pub async fn migrate(
    source: &AnyStore,
    target: &AnyStore,
    options: &MigrateOptions,
) -> anyhow::Result<MigrateView> {
    let src_head = source.head().await?;
    let there = check_target(source, target, &src_head, options).await?;
    let src_checkpoints = source.checkpoints().await?;
    let dst_checkpoints = target.checkpoints().await?;
    if !src_checkpoints.starts_with(&dst_checkpoints) {
        return Err(TargetRefused(format!(
            "{} keeps {} checkpoints that are not the first ones of {}: it is another \
             ledger's; nothing was written",
            options.to,
            dst_checkpoints.len(),
            options.from
        ))
        .into());
    }
    let copied = copy_records(source, target, there.position, &src_head, options).await?;
    let head = target.head().await?;
    if head != src_head {
        anyhow::bail!(
            "after the copy the target's head is position {} hash {}, the source's position {} \
             hash {}",
            head.position,
            head.hash,
            src_head.position,
            src_head.hash
        );
    }
    let new = &src_checkpoints[dst_checkpoints.len()..];
    copy_checkpoints(target, new, dst_checkpoints.len(), head.position).await?;
    Ok(MigrateView {
        from: options.from.clone(),
        to: options.to.clone(),
        records_already_there: there.position,
        records_copied: copied,
        checkpoints_copied: new.len() as u64,
        checkpoints: src_checkpoints.len() as u64,
        head: head_view(&head),
    })
}

/// The target's head, when it is empty or holds a prefix of the source's log
/// (the same records: its head's hash is the source's record's there, and so
/// is the Merkle root of the records up to it).
///
/// # Errors
/// [`TargetRefused`] naming the target and why it holds another log.
async fn check_target(
    source: &AnyStore,
    target: &AnyStore,
    src_head: &Head,
    options: &MigrateOptions,
) -> anyhow::Result<Head> {
    let there = target.head().await?;
    if there.position == 0 {
        return Ok(there);
    }
    let refused = |why: String| {
        TargetRefused(format!(
            "{} is not empty and does not hold a prefix of {}'s log: {why}; nothing was \
             written (migrate into an empty store)",
            options.to, options.from
        ))
    };
    if there.position > src_head.position {
        return Err(refused(format!(
            "it holds {} records, the source {}",
            there.position, src_head.position
        ))
        .into());
    }
    let theirs = source.tree_head(there.position).await?;
    let ours = target.tree_head(there.position).await?;
    let src_hash = hash_at(source, there.position).await?;
    if theirs != ours || src_hash != there.hash {
        return Err(refused(format!(
            "its record {} hashes to {}, the source's to {src_hash}",
            there.position, there.hash
        ))
        .into());
    }
    Ok(there)
}

/// The hash of the record at `position` of `store` (at least 1).
async fn hash_at(store: &AnyStore, position: u64) -> Result<Hash, StoreError> {
    match store.backend() {
        Backend::Postgres(s) => s.hash_at(position).await,
        Backend::Sled(s) => {
            let mut one = s.export_records(position, position)?;
            match one.next() {
                Some(r) => Ok(r?.hash),
                None => Err(navigo_store::check::gap(position)),
            }
        }
    }
}

/// The source's checked records after a position, a chunk at a time.
pub(super) enum Reader<'a> {
    Sled(ExportRecords),
    Postgres {
        store: &'a navigo_store_postgres::PgStore,
        prev: Hash,
        next: u64,
        to: u64,
    },
}

impl<'a> Reader<'a> {
    /// The records of `source` from `after + 1` through `to`.
    pub(super) async fn new(
        source: &'a AnyStore,
        after: u64,
        to: u64,
    ) -> Result<Reader<'a>, StoreError> {
        Ok(match source.backend() {
            Backend::Sled(s) => Reader::Sled(s.export_records(after + 1, to)?),
            Backend::Postgres(s) => Reader::Postgres {
                store: s,
                prev: s.hash_at(after).await?,
                next: after + 1,
                to,
            },
        })
    }

    /// The next checked records (none at the end).
    pub(super) async fn chunk(&mut self) -> Result<Vec<ExportedRecord>, StoreError> {
        match self {
            Reader::Sled(records) => records.by_ref().take(MIGRATE_BATCH_RECORDS).collect(),
            Reader::Postgres {
                store,
                prev,
                next,
                to,
            } => {
                let chunk = store.export_chunk(*prev, *next, *to).await?;
                if let Some(last) = chunk.last() {
                    *prev = last.hash;
                    *next = last.position + 1;
                }
                Ok(chunk)
            }
        }
    }
}

/// A record read, with what tells where an append ends.
pub(super) struct Pending {
    pub(super) record: Vec<u8>,
    pub(super) stream: StreamId,
    pub(super) key: Option<String>,
}

impl Pending {
    fn of(r: ExportedRecord) -> Result<Pending, StoreError> {
        let mut record = r.hash.0.to_vec();
        record.extend_from_slice(&r.canonical);
        let key = record_as_written(&record)
            .map_err(|e| StoreError::Corrupt {
                position: r.position,
                why: format!("undecodable: {e}"),
            })?
            .idempotency_key;
        Ok(Pending {
            record,
            stream: r.stream,
            key,
        })
    }

    /// Whether `next` belongs to the same append as this record.
    fn same_append(&self, next: &Pending) -> bool {
        self.key.is_some() && self.key == next.key && self.stream == next.stream
    }
}

/// Copies the records after `after` through the source's head into the
/// target, in batches that end between appends; returns how many.
///
/// # Errors
/// A source record that does not verify (the batch it is in is not written),
/// the target's refusal, the interruption asked for.
async fn copy_records(
    source: &AnyStore,
    target: &AnyStore,
    after: u64,
    src_head: &Head,
    options: &MigrateOptions,
) -> anyhow::Result<u64> {
    let mut reader = Reader::new(source, after, src_head.position).await?;
    let total = src_head.position - after;
    let mut pending: Vec<Pending> = Vec::new();
    let mut copied = 0u64;
    loop {
        let chunk = reader.chunk().await?;
        let done = chunk.is_empty();
        for r in chunk {
            pending.push(Pending::of(r)?);
        }
        let limit = match options.stop_after {
            Some(stop) => usize::try_from(stop.saturating_sub(copied)).unwrap_or(usize::MAX),
            None => MIGRATE_BATCH_RECORDS,
        }
        .clamp(1, MIGRATE_BATCH_RECORDS);
        while pending.len() >= limit || (done && !pending.is_empty()) {
            let Some(cut) = batch_end(&pending, limit, done) else {
                break;
            };
            let batch: Vec<Vec<u8>> = pending.drain(..cut).map(|p| p.record).collect();
            copied += batch.len() as u64;
            target.import_sealed(batch).await?;
            if options.stop_after.is_some_and(|stop| copied >= stop) && copied < total {
                anyhow::bail!("interrupted after {copied} records, as asked (a test hook)");
            }
        }
        if done {
            return Ok(copied);
        }
    }
}

/// Where a batch of at most `limit` records of `pending` ends: after the
/// last record that ends an append; past `limit` only when one append is
/// longer (its records are stored together). None when no record of
/// `pending` is known to end an append yet: the last one does only once the
/// source is read to its end (`complete`), since the next chunk may carry on
/// its append.
pub(super) fn batch_end(pending: &[Pending], limit: usize, complete: bool) -> Option<usize> {
    let within = limit.min(pending.len());
    let ends = |i: usize| match pending.get(i + 1) {
        Some(next) => !pending[i].same_append(next),
        // A record without a key is an append of its own (no idempotency
        // entry to split); a keyed one may go on in the next chunk.
        None => complete || pending[i].key.is_none(),
    };
    (0..within)
        .rev()
        .find(|i| ends(*i))
        .or_else(|| (within..pending.len()).find(|i| ends(*i)))
        .map(|i| i + 1)
}

/// Keeps the source's checkpoints `new` (numbered after the `kept` the
/// target has) in the target, each first checked against the target's tree:
/// its size within the head, its root the root of the target's tree of that
/// size.
///
/// # Errors
/// A checkpoint that does not read or does not match; a storage failure.
async fn copy_checkpoints(
    target: &AnyStore,
    new: &[Vec<u8>],
    kept: usize,
    head: u64,
) -> anyhow::Result<()> {
    for (number, note) in (kept + 1..).zip(new) {
        let cp = Checkpoint::read_unverified(note)
            .map_err(|e| anyhow::anyhow!("the source's checkpoint {number}: {e}"))?;
        if cp.size > head {
            anyhow::bail!(
                "the source's checkpoint {number} covers {} records, more than the {head} copied",
                cp.size
            );
        }
        if target.tree_head(cp.size).await? != cp.tree() {
            anyhow::bail!(
                "the source's checkpoint {number} states a root of {} records that is not the \
                 copy's: nothing after checkpoint {} was kept",
                cp.size,
                number - 1
            );
        }
        target.keep_checkpoint(note).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(stream: u128, key: Option<&str>) -> Pending {
        Pending {
            record: Vec::new(),
            stream: StreamId::contract(uuid::Uuid::from_u128(stream)),
            key: key.map(str::to_owned),
        }
    }

    #[test]
    fn migrate_a_batch_never_ends_inside_an_append_the_next_chunk_carries_on() {
        // Given a chunk read from a source not read to its end, whose last
        // record is the first of a keyed append of two records
        let chunk = [record(1, Some("a")), record(2, Some("b"))];
        // Then the batch ends before that append, not after the chunk
        assert_eq!(batch_end(&chunk, 2, false), Some(1));
        // and once the source is read to its end, after it.
        assert_eq!(batch_end(&chunk, 2, true), Some(2));
        // A chunk that is all one unfinished append waits for the next chunk;
        let one = [record(2, Some("b")), record(2, Some("b"))];
        assert_eq!(batch_end(&one, 2, false), None);
        // a record without a key ends its own append.
        let keyless = [record(1, Some("a")), record(3, None)];
        assert_eq!(batch_end(&keyless, 2, false), Some(2));
    }
}
