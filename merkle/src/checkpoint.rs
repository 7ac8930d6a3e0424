//! Signed checkpoints: the C2SP tlog-checkpoint text (origin, size, root) with
//! two extension lines of the ledger's own, signed as a C2SP signed note with
//! Ed25519, so that any tool that checks transparency-log checkpoints reads
//! the first three lines:
//!
//! ```text
//! navigo-ledger/<ledger id>
//! <size>
//! <root, base64>
//! navigo-heads <streams> <stream-head map root, base64>
//! navigo-recorded-at <the last record's recorded-at, RFC 3339, or "none">
//!
//! — <key name> <signature, base64>
//! ```

use base64::prelude::{Engine, BASE64_STANDARD};
use rand_core::CryptoRngCore;
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::{Hash, HASH_SIZE};

use crate::{MerkleError, TreeHead};

const HEADS: &str = "navigo-heads";
const RECORDED_AT: &str = "navigo-recorded-at";
const NONE: &str = "none";

/// What a checkpoint states about the log at one size.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The log's name: one key signs the checkpoints of one log.
    pub origin: String,
    /// How many records the tree covers.
    pub size: u64,
    /// The root of the tree of those records.
    pub root: Hash,
    /// How many streams the stream-head map holds, and its root.
    pub heads_count: u64,
    pub heads_root: Hash,
    /// The recorded-at instant of the last record (RFC 3339), none when empty.
    pub last_recorded_at: Option<String>,
}

impl Checkpoint {
    /// The log's tree as this checkpoint states it.
    pub fn tree(&self) -> TreeHead {
        TreeHead {
            size: self.size,
            root: self.root,
        }
    }

    /// The stream-head map's tree as this checkpoint states it.
    pub fn heads(&self) -> TreeHead {
        TreeHead {
            size: self.heads_count,
            root: self.heads_root,
        }
    }

    /// The checkpoint's text, the bytes a signature covers.
    ///
    /// # Errors
    /// An origin or instant that cannot be written on one line.
    pub fn text(&self) -> Result<Vec<u8>, MerkleError> {
        let at = self.last_recorded_at.as_deref().unwrap_or(NONE);
        if at.is_empty() || at.contains(char::is_whitespace) {
            return Err(malformed(format!("recorded-at {at:?} is not one word")));
        }
        let extension = format!(
            "{HEADS} {} {}\n{RECORDED_AT} {at}\n",
            self.heads_count, self.heads_root
        );
        let c = tlog_tiles::Checkpoint::new(&self.origin, self.size, self.root, &extension)
            .map_err(|_| malformed(format!("origin {:?} is not one line", self.origin)))?;
        Ok(c.to_bytes())
    }

    /// Reads a checkpoint's text: exactly the lines [`Checkpoint::text`]
    /// writes, nothing more.
    ///
    /// # Errors
    /// Any other text, naming the line.
    pub fn parse(text: &[u8]) -> Result<Self, MerkleError> {
        let c = tlog_tiles::Checkpoint::from_bytes(text)
            .map_err(|_| malformed("the first three lines are not origin, size and root".into()))?;
        let mut lines = c.extension().lines();
        let (heads_count, heads_root) = parse_heads(lines.next())?;
        let last_recorded_at = parse_recorded_at(lines.next())?;
        if let Some(extra) = lines.next() {
            return Err(malformed(format!("unexpected line {extra:?}")));
        }
        let parsed = Self {
            origin: c.origin().to_owned(),
            size: c.size(),
            root: *c.hash(),
            heads_count,
            heads_root,
            last_recorded_at,
        };
        // One text per checkpoint: a text that does not read back to itself
        // (a leading zero, a second spelling) is refused.
        if parsed.text()? != text {
            return Err(malformed("the text is not in its canonical form".into()));
        }
        Ok(parsed)
    }
}

impl Checkpoint {
    /// The checkpoint a signed note states, its signatures unchecked: for
    /// listing what a ledger kept. An auditor opens a note with
    /// [`CheckpointVerifier::open`], which checks the signature first.
    ///
    /// # Errors
    /// A note that is malformed, or whose text is not a checkpoint.
    pub fn read_unverified(signed: &[u8]) -> Result<Self, MerkleError> {
        let note = Note::from_bytes(signed).map_err(|e| malformed(format!("as a note: {e}")))?;
        Self::parse(note.text())
    }
}

fn parse_heads(line: Option<&str>) -> Result<(u64, Hash), MerkleError> {
    let line = line.ok_or_else(|| malformed(format!("the line {HEADS:?} is missing")))?;
    let bad = || malformed(format!("line {line:?}: expected `{HEADS} <count> <root>`"));
    let mut words = line.split(' ');
    let (Some(HEADS), Some(count), Some(root), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(bad());
    };
    let count = count.parse().map_err(|_| bad())?;
    let root = BASE64_STANDARD.decode(root).map_err(|_| bad())?;
    let root: [u8; HASH_SIZE] = root.try_into().map_err(|_| bad())?;
    Ok((count, Hash(root)))
}

fn parse_recorded_at(line: Option<&str>) -> Result<Option<String>, MerkleError> {
    let line = line.ok_or_else(|| malformed(format!("the line {RECORDED_AT:?} is missing")))?;
    match line.split_once(' ') {
        Some((RECORDED_AT, NONE)) => Ok(None),
        Some((RECORDED_AT, at)) if !at.is_empty() && !at.contains(' ') => Ok(Some(at.to_owned())),
        _ => Err(malformed(format!(
            "line {line:?}: expected `{RECORDED_AT} <instant>`"
        ))),
    }
}

fn malformed(why: String) -> MerkleError {
    MerkleError::MalformedCheckpoint(why)
}

/// Creates a key pair for the log named `name`: the private key (kept by the
/// ledger's operator) and the public key (given to auditors), both in the
/// signed-note key encoding.
pub fn generate_key<R: CryptoRngCore + ?Sized>(rng: &mut R, name: &str) -> (String, String) {
    signed_note::generate_key(rng, name)
}

/// The public key (the signed-note verifier key given to auditors) of a
/// private key, so that the operator keeps one file and exports the other
/// half whenever asked.
///
/// # Errors
/// A key that is not a signed-note Ed25519 private key.
pub fn public_key_of(private_key: &str) -> Result<String, MerkleError> {
    let bad = |why: &str| MerkleError::MalformedKey(format!("private key: {why}"));
    // The signer checks every field (`PRIVATE+KEY+<name>+<id>+<base64>`, a
    // name without '+'); once it accepts the key, the fifth field (whose
    // base64 may hold '+') is the algorithm byte and the seed.
    let signer = StandardSigner::new(private_key).map_err(|e| bad(&e.to_string()))?;
    let encoded = private_key.splitn(5, '+').nth(4).unwrap_or_default();
    let bytes = BASE64_STANDARD
        .decode(encoded)
        .map_err(|_| bad("not base64"))?;
    let seed: [u8; 32] = bytes
        .get(1..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("not an Ed25519 seed"))?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    Ok(signed_note::new_ed25519_verifier_key(
        signed_note::Signer::name(&signer),
        &signing.verifying_key(),
    ))
}

/// Signs checkpoints with the ledger's private key.
pub struct CheckpointSigner(StandardSigner);

impl CheckpointSigner {
    /// # Errors
    /// A key that is not a signed-note Ed25519 private key.
    pub fn new(private_key: &str) -> Result<Self, MerkleError> {
        StandardSigner::new(private_key)
            .map(Self)
            .map_err(|e| MerkleError::MalformedKey(format!("private key: {e}")))
    }

    /// The key's name: the name of its signature lines, and the origin of the
    /// checkpoints the ledger signs with it.
    pub fn name(&self) -> &str {
        signed_note::Signer::name(&self.0)
    }

    /// The signed note of `checkpoint`.
    ///
    /// # Errors
    /// A checkpoint that cannot be written (see [`Checkpoint::text`]).
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<Vec<u8>, MerkleError> {
        let mut note = Note::new(&checkpoint.text()?, &[])
            .map_err(|e| malformed(format!("as a note: {e}")))?;
        note.add_sigs(&[&self.0])
            .map_err(|e| MerkleError::MalformedKey(format!("signing: {e}")))?;
        Ok(note.to_bytes())
    }
}

/// Opens checkpoints signed by one public key.
pub struct CheckpointVerifier {
    key: String,
    verifiers: VerifierList,
}

impl CheckpointVerifier {
    /// # Errors
    /// A key that is not a signed-note Ed25519 public key.
    pub fn new(public_key: &str) -> Result<Self, MerkleError> {
        let v = StandardVerifier::new(public_key)
            .map_err(|e| MerkleError::MalformedKey(format!("public key: {e}")))?;
        let key = format!("{}+{:08x}", v.name(), v.key_id());
        Ok(Self {
            key,
            verifiers: VerifierList::new(vec![Box::new(v)]),
        })
    }

    /// The checkpoint of a signed note, once its signature by this key holds.
    ///
    /// # Errors
    /// A note that is malformed or not signed by this key, or whose text is
    /// not a checkpoint.
    pub fn open(&self, signed: &[u8]) -> Result<Checkpoint, MerkleError> {
        let bad = |reason: String| MerkleError::BadSignature {
            key: self.key.clone(),
            reason,
        };
        let note = Note::from_bytes(signed).map_err(|e| bad(e.to_string()))?;
        note.verify(&self.verifiers)
            .map_err(|e| bad(e.to_string()))?;
        Checkpoint::parse(note.text())
    }
}
