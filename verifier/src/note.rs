//! Signed checkpoints (docs/checkpoints.md, *The key* and *The checkpoint's
//! text*): the verifier key, the C2SP signed note, and the checkpoint's five
//! lines in their canonical form.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::tree::Hash;
use crate::Invalid;

/// The algorithm byte of an Ed25519 key in the signed-note encoding.
const ALG_ED25519: u8 = 0x01;
/// The signature line's prefix: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// The largest note read, as the signed-note reference implementations.
pub const NOTE_BYTES_MAX: usize = 1_000_000;
/// The most signature lines a note may carry.
pub const NOTE_SIGNATURES_MAX: usize = 100;
const HEADS: &str = "navigo-heads";
const RECORDED_AT: &str = "navigo-recorded-at";

/// An auditor's verifier key: `<name>+<key id, 8 hex>+<base64 of 0x01 ‖ key>`.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub name: String,
    pub id: u32,
    key: VerifyingKey,
}

impl PublicKey {
    /// Reads the key as `key public` prints it (surrounding whitespace,
    /// such as the final line feed, is ignored).
    ///
    /// # Errors
    /// Any other text, or a key id that is not the key's.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new(format!("public key: {why}"));
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<key id>+<base64>"));
        };
        if !name_is_valid(name) {
            return Err(bad("the name is empty or holds a space or '+'"));
        }
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the key id is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id is not hex"))?;
        let bytes = BASE64_STANDARD
            .decode(encoded)
            .map_err(|_| bad("the key is not base64"))?;
        let [ALG_ED25519, key @ ..] = bytes.as_slice() else {
            return Err(bad("not an Ed25519 key (algorithm byte 0x01)"));
        };
        let key: [u8; 32] = key.try_into().map_err(|_| bad("not 32 bytes of key"))?;
        if key_id(name, &key) != id {
            return Err(bad("the key id is not that of the name and key"));
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 point"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

/// The signed-note key id: the first 4 bytes (big-endian) of
/// `SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)`.
fn key_id(name: &str, key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn name_is_valid(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('+')
}

/// What a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub heads_count: u64,
    pub heads_root: Hash,
    /// The last record's recorded-at, `None` for "none".
    pub recorded_at: Option<String>,
}

/// Opens a signed note with `key`: its form, then every signature line of
/// this key (other keys' lines, a witness's cosignature say, are left
/// unchecked, as C2SP says), at least one, then the checkpoint's text.
///
/// # Errors
/// The first problem, naming the line.
pub fn open(note: &[u8], key: &PublicKey) -> Result<Checkpoint, Invalid> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(Invalid::new("signed note: larger than 1,000,000 bytes"));
    }
    let note = std::str::from_utf8(note).map_err(|e| {
        Invalid::new(format!(
            "signed note: not UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    if let Some(at) = note.find(|c: char| c < ' ' && c != '\n') {
        return Err(Invalid::new(format!(
            "signed note: a control character at byte {at}"
        )));
    }
    let Some((text, sigs)) = note.rsplit_once("\n\n") else {
        return Err(Invalid::new(
            "signed note: no empty line before the signatures",
        ));
    };
    let text = format!("{text}\n");
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(Invalid::new(
            "signed note: the last signature line has no line feed",
        ));
    };
    let lines: Vec<&str> = sigs.split('\n').collect();
    if lines.len() > NOTE_SIGNATURES_MAX {
        return Err(Invalid::new("signed note: more than 100 signature lines"));
    }
    let mut verified = 0;
    for (i, line) in lines.iter().enumerate() {
        if check_signature_line(line, text.as_bytes(), key)
            .map_err(|e| Invalid::new(format!("signed note, signature line {}: {e}", i + 1)))?
        {
            verified += 1;
        }
    }
    if verified == 0 {
        return Err(Invalid::new(format!(
            "signed note: no signature by {}+{:08x}",
            key.name, key.id
        )));
    }
    let c = parse_checkpoint(&text)?;
    if c.origin != key.name {
        return Err(Invalid::new(format!(
            "checkpoint line 1: origin {:?} is not the key's name {:?}",
            c.origin, key.name
        )));
    }
    Ok(c)
}

/// Whether the line is a valid signature of `text` by `key` (false: another
/// key's line).
fn check_signature_line(line: &str, text: &[u8], key: &PublicKey) -> Result<bool, Invalid> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| Invalid::new("does not start with an em dash and a space"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| Invalid::new("expected `— <name> <base64>`"))?;
    let bytes = BASE64_STANDARD
        .decode(encoded)
        .map_err(|_| Invalid::new("the signature is not base64"))?;
    if bytes.len() < 5 {
        return Err(Invalid::new(
            "the signature is shorter than a key id and one byte",
        ));
    }
    let id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if name != key.name || id != key.id {
        return Ok(false);
    }
    let sig: [u8; 64] = bytes[4..]
        .try_into()
        .map_err(|_| Invalid::new("an Ed25519 signature is 64 bytes"))?;
    // Decision: `verify_strict` (no small-order key, no malleable
    // signature): what the ledger signs always passes it.
    key.key
        .verify_strict(text, &Signature::from_bytes(&sig))
        .map_err(|_| Invalid::new(format!("the signature by {name} does not hold")))?;
    Ok(true)
}

/// Reads the checkpoint's five lines, refusing any text but their
/// canonical form.
///
/// # Errors
/// The first line that is not as the document writes it.
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, Invalid> {
    let bad = |n: usize, why: &str| Invalid::new(format!("checkpoint line {n}: {why}"));
    let Some(body) = text.strip_suffix('\n') else {
        return Err(bad(5, "no final line feed"));
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let [origin, size, root, heads, recorded_at] = lines[..] else {
        return Err(Invalid::new(format!(
            "checkpoint: {} lines where there are 5",
            lines.len()
        )));
    };
    if origin.is_empty() {
        return Err(bad(1, "the origin is empty"));
    }
    let size = decimal(size).ok_or_else(|| bad(2, "the size is not a canonical decimal"))?;
    let root = hash_b64(root).ok_or_else(|| bad(3, "the root is not base64 of 32 bytes"))?;
    let heads_words: Vec<&str> = heads.split(' ').collect();
    let [HEADS, count, heads_root] = heads_words[..] else {
        return Err(bad(4, "expected `navigo-heads <count> <root>`"));
    };
    let heads_count =
        decimal(count).ok_or_else(|| bad(4, "the count is not a canonical decimal"))?;
    let heads_root =
        hash_b64(heads_root).ok_or_else(|| bad(4, "the root is not base64 of 32 bytes"))?;
    let at = match recorded_at.split_once(' ') {
        Some((RECORDED_AT, "none")) => None,
        Some((RECORDED_AT, at)) if !at.is_empty() && !at.contains(char::is_whitespace) => {
            Some(at.to_owned())
        }
        _ => return Err(bad(5, "expected `navigo-recorded-at <instant or none>`")),
    };
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        heads_count,
        heads_root,
        recorded_at: at,
    })
}

/// A decimal without sign or leading zero.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// Base64 (standard, padded, no stray bits) of exactly 32 bytes.
pub(crate) fn hash_b64(s: &str) -> Option<Hash> {
    BASE64_STANDARD.decode(s).ok()?.try_into().ok()
}
