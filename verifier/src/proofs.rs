//! The proofs `prove` prints (docs/checkpoints.md, *Proofs*), checked
//! against checkpoints the auditor opened with the key.

use serde::Deserialize;

use crate::note::{self, hash_b64, Checkpoint, PublicKey};
use crate::record;
use crate::tree::{check_consistency, check_inclusion, leaf_hash, Hash};
use crate::Invalid;

/// The view `inclusion-proof`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionView {
    pub position: u64,
    pub size: u64,
    pub root: String,
    pub leaf: String,
    pub path: Vec<String>,
    pub record: String,
}

/// The view `consistency-proof`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyView {
    pub old_size: u64,
    pub new_size: u64,
    pub old_root: String,
    pub new_root: String,
    pub path: Vec<String>,
}

/// The checkpoint a stream proof is about, as the ledger lists it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointView {
    pub number: u64,
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub stream_heads: u64,
    pub stream_heads_root: String,
    pub signed_note: String,
    #[serde(default)]
    pub last_recorded_at: Option<String>,
}

/// The view `stream-proof`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamView {
    pub stream: String,
    pub version: u64,
    pub last_position: u64,
    pub entry_index: u64,
    pub entry_leaf: String,
    pub entry_path: Vec<String>,
    pub last_record: InclusionView,
    pub checkpoint: CheckpointView,
}

/// Decodes a JSON view, naming the field at fault.
///
/// # Errors
/// Anything but exactly the view's fields.
pub fn parse<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Result<T, Invalid> {
    serde_json::from_slice(text).map_err(|e| Invalid::new(e.to_string()))
}

/// One base64 hash of `field`.
pub(crate) fn hash(field: &str, s: &str) -> Result<Hash, Invalid> {
    hash_b64(s).ok_or_else(|| Invalid::new(format!("field `{field}`: not base64 of 32 bytes")))
}

/// A path of base64 hashes of `field`.
pub(crate) fn path(field: &str, v: &[String]) -> Result<Vec<Hash>, Invalid> {
    v.iter()
        .enumerate()
        .map(|(i, s)| hash(&format!("{field}[{i}]"), s))
        .collect()
}

/// Checks an inclusion proof against a checkpoint: its record's leaf, its
/// path from the leaf to the checkpoint's root, at the checkpoint's size.
///
/// # Errors
/// The first field or path step that does not hold.
pub fn check_inclusion_view(v: &InclusionView, trusted: &Checkpoint) -> Result<(), Invalid> {
    let leaf = hash("leaf", &v.leaf)?;
    if leaf_hash(v.record.as_bytes()) != leaf {
        return Err(Invalid::new("field `leaf`: not SHA-256(0x00 ‖ record)"));
    }
    if hash("root", &v.root)? != trusted.root || v.size != trusted.size {
        return Err(Invalid::new(format!(
            "fields `size`, `root`: not the checkpoint's (size {})",
            trusted.size
        )));
    }
    let index = v
        .position
        .checked_sub(1)
        .ok_or_else(|| Invalid::new("field `position`: positions start at 1"))?;
    let r = record::head(v.record.as_bytes()).map_err(|e| e.at("field `record`"))?;
    if r.position != v.position {
        return Err(Invalid::new(format!(
            "field `record`: the record is at position {}, not {}",
            r.position, v.position
        )));
    }
    check_inclusion(index, v.size, &leaf, &path("path", &v.path)?, &trusted.root)
        .map_err(|e| e.at("field `path`"))
}

/// Checks a consistency proof between two checkpoints.
///
/// # Errors
/// Sizes or roots that are not the checkpoints', or a path that fails.
pub fn check_consistency_view(
    v: &ConsistencyView,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), Invalid> {
    if (v.old_size, v.new_size) != (old.size, new.size) {
        return Err(Invalid::new(format!(
            "fields `old_size`, `new_size`: {} and {}, the checkpoints say {} and {}",
            v.old_size, v.new_size, old.size, new.size
        )));
    }
    if hash("old_root", &v.old_root)? != old.root || hash("new_root", &v.new_root)? != new.root {
        return Err(Invalid::new(
            "fields `old_root`, `new_root`: not the checkpoints'",
        ));
    }
    if old.origin != new.origin {
        return Err(Invalid::new("the two checkpoints are of two logs"));
    }
    check_consistency(
        old.size,
        new.size,
        &old.root,
        &new.root,
        &path("path", &v.path)?,
    )
    .map_err(|e| e.at("field `path`"))
}

/// Checks a stream proof: its checkpoint's signature and stated fields, the
/// stream's entry in the signed stream-head map, and its last record's
/// inclusion, that record being the stream's `version`-th.
///
/// # Errors
/// The first field or step that does not hold.
pub fn check_stream_view(v: &StreamView, key: &PublicKey) -> Result<Checkpoint, Invalid> {
    let c = note::open(v.checkpoint.signed_note.as_bytes(), key)
        .map_err(|e| e.at("field `checkpoint.signed_note`"))?;
    let cv = &v.checkpoint;
    let stated = (
        cv.origin.as_str(),
        cv.size,
        hash("checkpoint.root", &cv.root)?,
        cv.stream_heads,
        hash("checkpoint.stream_heads_root", &cv.stream_heads_root)?,
        cv.last_recorded_at.as_deref(),
    );
    let signed = (
        c.origin.as_str(),
        c.size,
        c.root,
        c.heads_count,
        c.heads_root,
        c.recorded_at.as_deref(),
    );
    if stated != signed {
        return Err(Invalid::new(
            "field `checkpoint`: its fields are not those of its signed note",
        ));
    }
    check_entry(
        &Entry {
            stream: &v.stream,
            version: v.version,
            last_position: v.last_position,
            index: v.entry_index,
            path: &v.entry_path,
        },
        &c,
    )?;
    if hash("entry_leaf", &v.entry_leaf)? != entry_leaf(&v.stream, v.version, v.last_position) {
        return Err(Invalid::new(
            "field `entry_leaf`: not the leaf of the entry's line",
        ));
    }
    if v.last_record.position != v.last_position {
        return Err(Invalid::new(
            "field `last_record.position`: not `last_position`",
        ));
    }
    check_inclusion_view(&v.last_record, &c).map_err(|e| e.at("field `last_record`"))?;
    let r = record::head(v.last_record.record.as_bytes())?;
    if r.stream != v.stream || r.stream_seq != v.version {
        return Err(Invalid::new(format!(
            "field `last_record.record`: {} seq {}, not {} seq {}",
            r.stream, r.stream_seq, v.stream, v.version
        )));
    }
    Ok(c)
}

/// One entry of the stream-head map and its proof.
pub(crate) struct Entry<'a> {
    pub stream: &'a str,
    pub version: u64,
    pub last_position: u64,
    pub index: u64,
    pub path: &'a [String],
}

/// The leaf of a stream-head map entry: `SHA-256(0x00 ‖ "<stream> <version>
/// <last position>\n")`.
pub fn entry_leaf(stream: &str, version: u64, last_position: u64) -> Hash {
    leaf_hash(format!("{stream} {version} {last_position}\n").as_bytes())
}

/// Checks that the entry is in the stream-head map the checkpoint signs.
pub(crate) fn check_entry(e: &Entry<'_>, c: &Checkpoint) -> Result<(), Invalid> {
    if e.stream.contains(char::is_whitespace) || e.version == 0 {
        return Err(Invalid::new(format!(
            "stream {:?}: not a stream's entry (a name without space, a version from 1)",
            e.stream
        )));
    }
    let leaf = entry_leaf(e.stream, e.version, e.last_position);
    check_inclusion(
        e.index,
        c.heads_count,
        &leaf,
        &path("entry_path", e.path)?,
        &c.heads_root,
    )
    .map_err(|err| err.at(format!("{}: field `entry_path`", e.stream)))
}
