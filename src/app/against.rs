//! `verify --against`: the log checked against a checkpoint an auditor kept.
//! The chain alone cannot see a rewritten newest record whose hash was
//! recomputed, nor a cut tail; a signed checkpoint can: the log must hold at
//! least the records it covers, and their tree must have its root.

use std::path::Path;

use navigo_events_schema::views::{AgainstView, Difference};
use navigo_merkle::{Checkpoint, CheckpointVerifier};
use navigo_store::EventStore;
use navigo_store_sled::VerifyReport;

use super::error::BadInput;
use super::keys;
use super::ledger::open_store;
use super::place::Place;
use super::store::AnyStore;
use super::verify::{verify, verify_view};

/// Reads the checkpoint in `file` (a signed note, or the JSON view
/// `checkpoint --json` prints, whose `signed_note` is taken) and opens it
/// with the verifier key in `key_file`: the checkpoint and the key's text.
///
/// # Errors
/// [`BadInput`] naming a file that cannot be read; a checkpoint that does not
/// open with the key (altered, or signed by another key), naming both files.
pub fn open_checkpoint(file: &Path, key_file: &Path) -> anyhow::Result<(Checkpoint, String)> {
    let (verifier, public_key) = keys::verifier(key_file)?;
    let bytes = std::fs::read(file)
        .map_err(|e| BadInput(format!("the checkpoint file {}: {e}", file.display())))?;
    let note = signed_note_of(&bytes).unwrap_or(bytes);
    let checkpoint = verifier.open(&note).map_err(|e| {
        anyhow::anyhow!(
            "the checkpoint {} is refused with the key {}: {e}",
            file.display(),
            key_file.display()
        )
    })?;
    Ok((checkpoint, public_key))
}

/// The signed note inside the JSON of a checkpoint view, if `bytes` is one.
fn signed_note_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some(v.get("signed_note")?.as_str()?.as_bytes().to_vec())
}

/// What differs between the log and a checkpoint.
struct Found {
    difference: Difference,
    position: u64,
    message: String,
}

/// Checks the ledger in `data` (every record and the chain) and that it
/// extends `checkpoint`.
///
/// # Errors
/// Not a ledger, or a storage failure.
pub async fn against(
    data: &Place,
    checkpoint: &Checkpoint,
    public_key: &str,
) -> anyhow::Result<AgainstView> {
    let report = verify(data).await?;
    let first_bad = report.first_bad.as_ref().map(|b| b.position);
    match (open_store(data).await, first_bad) {
        (Ok(store), _) => {
            let view = against_store(&store, &report, checkpoint, public_key).await;
            store.close().await?;
            view
        }
        // A ledger too damaged to open is compared no further than its first
        // bad record, which verify names.
        (Err(e), Some(bad)) => {
            let found = Found {
                difference: Difference::Record,
                position: bad,
                message: format!("record {bad} does not verify and the ledger does not open: {e}"),
            };
            Ok(view(
                &report,
                checkpoint,
                report.head.position,
                None,
                Some(found),
            ))
        }
        (Err(e), None) => Err(e.into()),
    }
}

/// The log of an open `store`, whose verification is `report`, against
/// `checkpoint`.
///
/// # Errors
/// A storage failure.
pub async fn against_store(
    store: &AnyStore,
    report: &VerifyReport,
    checkpoint: &Checkpoint,
    public_key: &str,
) -> anyhow::Result<AgainstView> {
    let first_bad = report.first_bad.as_ref().map(|b| b.position);
    let (log_size, log_root, found) = compare(store, checkpoint, public_key, first_bad).await?;
    Ok(view(report, checkpoint, log_size, log_root, found))
}

fn view(
    report: &VerifyReport,
    checkpoint: &Checkpoint,
    log_size: u64,
    log_root: Option<String>,
    found: Option<Found>,
) -> AgainstView {
    AgainstView {
        ok: report.is_ok() && found.is_none(),
        checkpoint_origin: checkpoint.origin.clone(),
        checkpoint_size: checkpoint.size,
        checkpoint_root: checkpoint.root.to_string(),
        log_size,
        log_root,
        difference: found.as_ref().map(|f| f.difference),
        position: found.as_ref().map(|f| f.position),
        message: found.map(|f| f.message),
        verify: verify_view(report),
    }
}

async fn compare(
    store: &AnyStore,
    c: &Checkpoint,
    public_key: &str,
    first_bad: Option<u64>,
) -> anyhow::Result<(u64, Option<String>, Option<Found>)> {
    let log_size = store.head().await?.position;
    if log_size < c.size {
        let message = format!(
            "the log holds {log_size} records but the checkpoint covers {}: records {} to {} \
             are missing (the tail was cut or zeroed)",
            c.size,
            log_size + 1,
            c.size
        );
        let found = Found {
            difference: Difference::Size,
            position: log_size + 1,
            message,
        };
        return Ok((log_size, None, Some(found)));
    }
    if let Some(bad) = first_bad.filter(|p| *p <= c.size) {
        let message = format!(
            "record {bad}, which the checkpoint covers, does not verify: the log cannot be \
             compared with the checkpoint from there"
        );
        let found = Found {
            difference: Difference::Record,
            position: bad,
            message,
        };
        return Ok((log_size, None, Some(found)));
    }
    let root = EventStore::tree_head(store, c.size).await?.root;
    if root == c.root {
        return Ok((log_size, Some(root.to_string()), None));
    }
    let agreed = last_agreeing_size(store, c, public_key).await?;
    let message = format!(
        "the log's first {} records have root {root}, the checkpoint signed {}: a record at a \
         position from {} to {} was rewritten",
        c.size,
        c.root,
        agreed + 1,
        c.size
    );
    let found = Found {
        difference: Difference::Root,
        position: agreed + 1,
        message,
    };
    Ok((log_size, Some(root.to_string()), Some(found)))
}

/// The largest size of a checkpoint the ledger kept, signed by the auditor's
/// key for the same log and smaller than `c`, whose root the log still has:
/// the records up to it are those that were signed, so a rewrite is after it.
/// 0 when there is none. A kept note that does not open with the key is
/// skipped: only what the key signed narrows the search.
async fn last_agreeing_size(
    store: &AnyStore,
    c: &Checkpoint,
    public_key: &str,
) -> anyhow::Result<u64> {
    let kept = signed_by(public_key, &EventStore::checkpoints(store).await?);
    let mut agreed = 0;
    for kept in kept {
        if kept.origin != c.origin || kept.size >= c.size || kept.size <= agreed {
            continue;
        }
        if EventStore::tree_head(store, kept.size).await?.root == kept.root {
            agreed = kept.size;
        }
    }
    Ok(agreed)
}

/// The checkpoints among `notes` that open with `public_key`. The verifier
/// lives only here: it is not `Send`, and the callers await.
fn signed_by(public_key: &str, notes: &[Vec<u8>]) -> Vec<Checkpoint> {
    let Ok(verifier) = CheckpointVerifier::new(public_key) else {
        return Vec::new();
    };
    notes.iter().filter_map(|n| verifier.open(n).ok()).collect()
}
