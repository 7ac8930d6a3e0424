//! The RFC 6962 Merkle tree with SHA-256 (docs/storage-format.md, *The Merkle
//! tree*): leaf and node hashes, the checks of inclusion and consistency
//! proofs (the algorithms of RFC 9162, sections 2.1.3.2 and 2.1.4.2), and
//! the frontier an export's root is rebuilt with.

use sha2::{Digest, Sha256};

use crate::Invalid;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The prefix of a leaf's hash, so that a leaf never reads as a node.
const LEAF_PREFIX: u8 = 0x00;
/// The prefix of an interior node's hash.
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 ‖ bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Checks that `leaf` is leaf number `index` of the tree of `size` leaves
/// whose root is `root`, by `path` (leaf side first).
///
/// # Errors
/// The index is outside the tree, the path has the wrong length, or it leads
/// to another root.
pub fn check_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<(), Invalid> {
    if index >= size {
        return Err(Invalid::new(format!(
            "leaf index {index} is outside a tree of {size}"
        )));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for (step, p) in path.iter().enumerate() {
        if s == 0 {
            return Err(Invalid::new(format!(
                "inclusion path step {step}: the path is longer than the tree is deep"
            )));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(Invalid::new(format!(
            "inclusion path: {} steps are too few for leaf {index} of {size}",
            path.len()
        )));
    }
    if r != *root {
        return Err(Invalid::new(format!(
            "inclusion path of leaf {index} leads to another root than that of the tree of {size}"
        )));
    }
    Ok(())
}

/// Checks that the tree of `new_size` leaves (root `new_root`) extends the
/// tree of `old_size` (root `old_root`) by `path`.
///
/// # Errors
/// Sizes that shrink, a path of the wrong length, or roots it does not give.
pub fn check_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<(), Invalid> {
    if old_size > new_size {
        return Err(Invalid::new(format!(
            "consistency: the new size {new_size} is smaller than the old {old_size}"
        )));
    }
    if old_size == 0 || old_size == new_size {
        // Decision: as the ledger's own verifier, an empty tree and an
        // unchanged tree are proven only by the empty path, with the old root
        // the empty tree's (size 0) or the new root itself (same size).
        let expected = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        if !path.is_empty() {
            return Err(Invalid::new(format!(
                "consistency path step 0: {} hashes where none are needed",
                path.len()
            )));
        }
        if *old_root != expected {
            return Err(Invalid::new(
                "consistency: the old root is not the expected one",
            ));
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = path.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(Invalid::new("consistency path step 0: the path is empty"));
    };
    let (mut fr, mut sr) = (*first, *first);
    for (step, c) in rest.iter().enumerate() {
        if s == 0 {
            return Err(Invalid::new(format!(
                "consistency path step {}: the path is too long",
                step + 1
            )));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(Invalid::new("consistency path: too few steps"));
    }
    if fr != *old_root {
        return Err(Invalid::new(format!(
            "consistency path does not lead to the old root (size {old_size})"
        )));
    }
    if sr != *new_root {
        return Err(Invalid::new(format!(
            "consistency path does not lead to the new root (size {new_size})"
        )));
    }
    Ok(())
}

/// The complete subtrees covering the first `size` leaves, largest first: a
/// binary counter whose carries merge two subtrees of the same size.
#[derive(Debug, Clone)]
pub struct Frontier {
    size: u64,
    /// (level, hash): the subtree of 2^level leaves.
    subtrees: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The frontier of `size` leaves from its subtrees' roots, one per one
    /// bit of `size`, largest first.
    ///
    /// # Errors
    /// Not one hash per one bit of `size`.
    pub fn from_subtrees(size: u64, hashes: &[Hash]) -> Result<Self, Invalid> {
        let levels: Vec<u32> = (0..64).rev().filter(|l| size >> l & 1 == 1).collect();
        if levels.len() != hashes.len() {
            return Err(Invalid::new(format!(
                "{} subtree roots for {size} leaves, which need {}",
                hashes.len(),
                levels.len()
            )));
        }
        Ok(Self {
            size,
            subtrees: levels.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    /// How many leaves it covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        self.subtrees.push((0, leaf));
        self.size += 1;
        while let [.., (l1, h1), (l2, h2)] = self.subtrees[..] {
            if l1 != l2 {
                break;
            }
            self.subtrees.truncate(self.subtrees.len() - 2);
            self.subtrees.push((l1 + 1, node_hash(&h1, &h2)));
        }
    }

    /// The root: the subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut hashes = self.subtrees.iter().rev().map(|(_, h)| *h);
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(last, |acc, left| node_hash(&left, &acc))
    }
}
