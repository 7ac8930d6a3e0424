//! Signed checkpoints and proofs, as both transports give them: a checkpoint
//! issued and kept by the store, the proofs an auditor checks against one, and
//! every answer as a view of `navigo_events_schema::views`.

use chrono::SecondsFormat;
use navigo_events_schema::views::{
    CheckpointList, CheckpointView, ConsistencyProofView, InclusionProofView, KeyCreated,
    StreamProofView,
};
use navigo_events_schema::StreamId;
use navigo_merkle::{Checkpoint, CheckpointSigner, Hash, InclusionProof};
use navigo_store::{EventStore, StoreError};

use super::error::BadInput;
use super::keys::CreatedKey;

/// `key create --json`.
pub fn key_created_view(k: &CreatedKey) -> KeyCreated {
    KeyCreated {
        key_file: k.key_file.display().to_string(),
        name: k.name.clone(),
        public_key: k.public_key.clone(),
    }
}

/// A kept checkpoint as a view, read from its signed note.
///
/// # Errors
/// A kept note that is not a checkpoint (the store's bytes were altered).
pub fn checkpoint_view(number: u64, signed: &[u8]) -> anyhow::Result<CheckpointView> {
    let c = Checkpoint::read_unverified(signed)
        .map_err(|e| anyhow::anyhow!("checkpoint number {number}: {e}"))?;
    Ok(CheckpointView {
        number,
        origin: c.origin,
        size: c.size,
        root: c.root.to_string(),
        stream_heads: c.heads_count,
        stream_heads_root: c.heads_root.to_string(),
        last_recorded_at: c.last_recorded_at,
        signed_note: String::from_utf8_lossy(signed).into_owned(),
    })
}

/// Signs a checkpoint of the whole durable log with `signer` (the origin is
/// the key's name) and keeps it in the store.
///
/// # Errors
/// The store keeps no tree (another backend) or fails.
pub async fn issue<S: EventStore + ?Sized>(
    store: &S,
    signer: &CheckpointSigner,
) -> anyhow::Result<CheckpointView> {
    let head = store.head().await?;
    let size = head.position;
    let tree = store.tree_head(size).await?;
    let heads = store.stream_heads(size).await?;
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size,
        root: tree.root,
        heads_count: heads.len(),
        heads_root: heads.root(),
        last_recorded_at: head
            .recorded_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    };
    let signed = signer.sign(&checkpoint)?;
    let number = store.keep_checkpoint(&signed).await?;
    checkpoint_view(number, &signed)
}

/// [`issue`], unless the newest kept checkpoint already covers the head: the
/// periodic checkpoints of `serve` add nothing while the log does not move.
///
/// # Errors
/// As [`issue`].
pub async fn issue_if_moved<S: EventStore + ?Sized>(
    store: &S,
    signer: &CheckpointSigner,
) -> anyhow::Result<Option<CheckpointView>> {
    let head = store.head().await?.position;
    if let Some(latest) = latest(store).await? {
        if latest.size == head {
            return Ok(None);
        }
    }
    issue(store, signer).await.map(Some)
}

/// Every checkpoint kept, oldest first.
///
/// # Errors
/// The store keeps none (another backend), fails, or holds a damaged one.
pub async fn list<S: EventStore + ?Sized>(store: &S) -> anyhow::Result<CheckpointList> {
    let kept = store.checkpoints().await?;
    let checkpoints = (1u64..)
        .zip(&kept)
        .map(|(n, signed)| checkpoint_view(n, signed))
        .collect::<anyhow::Result<_>>()?;
    Ok(CheckpointList { checkpoints })
}

/// The newest checkpoint kept, if any.
///
/// # Errors
/// As [`list`].
pub async fn latest<S: EventStore + ?Sized>(store: &S) -> anyhow::Result<Option<CheckpointView>> {
    let kept = store.checkpoints().await?;
    let Some(last) = kept.last() else {
        return Ok(None);
    };
    checkpoint_view(kept.len() as u64, last).map(Some)
}

fn hashes(path: &[Hash]) -> Vec<String> {
    path.iter().map(ToString::to_string).collect()
}

/// The proof that the record at `position` is in the tree of `size` records
/// (the whole durable log when `None`).
///
/// # Errors
/// [`BadInput`] for a position outside the tree or a size beyond the log;
/// the store keeps no tree or fails.
pub async fn prove_inclusion<S: EventStore + ?Sized>(
    store: &S,
    position: u64,
    size: Option<u64>,
) -> anyhow::Result<InclusionProofView> {
    let head = store.head().await?.position;
    let size = size.unwrap_or(head);
    if size > head {
        return Err(BadInput(format!("size {size}: the log holds {head} records")).into());
    }
    if position == 0 || position > size {
        return Err(BadInput(format!(
            "position {position}: a tree of {size} records holds positions 1 to {size}"
        ))
        .into());
    }
    let root = store.tree_head(size).await?.root;
    let (proof, record) = store.prove_inclusion(size, position).await?;
    Ok(inclusion_view(&proof, root, &record))
}

fn inclusion_view(proof: &InclusionProof, root: Hash, record: &[u8]) -> InclusionProofView {
    InclusionProofView {
        position: proof.index + 1,
        size: proof.size,
        root: root.to_string(),
        leaf: proof.leaf.to_string(),
        path: hashes(&proof.path),
        record: String::from_utf8_lossy(record).into_owned(),
    }
}

/// The proof that the tree of `new` records extends the tree of `old`.
///
/// # Errors
/// [`BadInput`] for `old > new` or `new` beyond the log; the store keeps no
/// tree or fails.
pub async fn prove_consistency<S: EventStore + ?Sized>(
    store: &S,
    old: u64,
    new: u64,
) -> anyhow::Result<ConsistencyProofView> {
    let head = store.head().await?.position;
    if new > head {
        return Err(BadInput(format!("new size {new}: the log holds {head} records")).into());
    }
    if old > new {
        return Err(BadInput(format!(
            "old size {old} is larger than new size {new}: a log only grows"
        ))
        .into());
    }
    let proof = store.prove_consistency(old, new).await?;
    Ok(ConsistencyProofView {
        old_size: old,
        new_size: new,
        old_root: store.tree_head(old).await?.root.to_string(),
        new_root: store.tree_head(new).await?.root.to_string(),
        path: hashes(&proof.path),
    })
}

/// The proof that `stream`'s history is complete as of the newest kept
/// checkpoint: its entry in the stream-head map the checkpoint signs, and its
/// last record in the checkpoint's tree.
///
/// # Errors
/// [`BadInput`] when no checkpoint is kept or the stream holds no record as
/// of the newest; the store keeps no tree or fails.
pub async fn prove_stream<S: EventStore + ?Sized>(
    store: &S,
    stream: StreamId,
) -> anyhow::Result<StreamProofView> {
    let checkpoint = latest(store).await?.ok_or_else(|| {
        BadInput("no checkpoint is kept yet: issue one (`checkpoint`) first".into())
    })?;
    let heads = store.stream_heads(checkpoint.size).await?;
    let name = stream.to_string();
    let (head, entry) = heads.prove(&name).ok_or_else(|| {
        BadInput(format!(
            "{name} holds no record as of checkpoint {} (size {})",
            checkpoint.number, checkpoint.size
        ))
    })?;
    if heads.root().to_string() != checkpoint.stream_heads_root {
        return Err(StoreError::Corrupt {
            position: checkpoint.size,
            why: format!(
                "the stream-head map as of checkpoint {} no longer has the root it signed",
                checkpoint.number
            ),
        }
        .into());
    }
    let last_record = prove_inclusion(store, head.last_position, Some(checkpoint.size)).await?;
    Ok(StreamProofView {
        stream: name,
        version: head.version,
        last_position: head.last_position,
        entry_index: entry.index,
        entry_leaf: entry.leaf.to_string(),
        entry_path: hashes(&entry.path),
        last_record,
        checkpoint,
    })
}

/// The stream an auditor names: `KIND:UUID`, or a bare UUID taken as the
/// contract, else the person, that holds records.
///
/// # Errors
/// [`BadInput`] naming the id when it is neither.
pub async fn resolve_stream<S: EventStore + ?Sized>(
    store: &S,
    id: &str,
) -> anyhow::Result<StreamId> {
    if let Ok(stream) = id.parse::<StreamId>() {
        return Ok(stream);
    }
    let uuid: uuid::Uuid = id.trim().parse().map_err(|_| {
        BadInput(format!(
            "{id:?} is not a stream: KIND:UUID (contract, person, catalogue, campaign) or a UUID"
        ))
    })?;
    for stream in [StreamId::contract(uuid), StreamId::person(uuid)] {
        if store.stream_version(stream).await? > 0 {
            return Ok(stream);
        }
    }
    Err(BadInput(format!(
        "{id}: no contract and no person with this id holds records"
    ))
    .into())
}
