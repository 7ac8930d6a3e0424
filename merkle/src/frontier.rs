//! The frontier of a tree: the roots of the complete subtrees that cover its
//! leaves, largest first (one per one bit of the size). It is all a verifier
//! needs to keep to append leaves and compute the root of RFC 6962's tree
//! again, so an export of a window of the log carries the frontier of the
//! records before it, and the root of the whole tree is recomputed from the
//! window alone.

use tlog_tiles::{Hash, HashReader};

use crate::tree::storage;
use crate::MerkleError;

/// The roots of the complete subtrees covering the first `size` leaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    /// (level, root) of each complete subtree, from the left: levels strictly
    /// decrease, and `size` is the sum of `2^level`.
    subtrees: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The frontier of the first `size` leaves of a stored tree.
    ///
    /// # Errors
    /// A stored node `reader` cannot give.
    pub fn of_stored<R: HashReader>(size: u64, reader: &R) -> Result<Self, MerkleError> {
        let mut indexes = Vec::new();
        let mut levels = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                indexes.push(tlog_tiles::stored_hash_index(level, start >> level));
                levels.push(level);
                start += 1 << level;
            }
        }
        let hashes = reader.read_hashes(&indexes).map_err(storage)?;
        Ok(Self {
            size,
            subtrees: levels.into_iter().zip(hashes).collect(),
        })
    }

    /// The frontier of `size` leaves from its subtree roots as
    /// [`Frontier::hashes`] gives them.
    ///
    /// # Errors
    /// Not one hash per one bit of `size`.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Result<Self, MerkleError> {
        let levels: Vec<u8> = (0..64u8).rev().filter(|l| size & (1 << l) != 0).collect();
        if levels.len() != hashes.len() {
            return Err(MerkleError::MalformedFrontier {
                size,
                expected: levels.len(),
                got: hashes.len(),
            });
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

    /// The subtree roots, largest (leftmost) first.
    pub fn hashes(&self) -> Vec<Hash> {
        self.subtrees.iter().map(|(_, h)| *h).collect()
    }

    /// Appends one leaf hash: equal subtrees merge, as a binary counter carries.
    pub fn append(&mut self, leaf: Hash) {
        let mut node = (0u8, leaf);
        while let Some(&(level, left)) = self.subtrees.last() {
            if level != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (level + 1, tlog_tiles::node_hash(left, node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// The root of the tree of `size` leaves: RFC 6962 splits at the largest
    /// power of two, so the root folds the subtrees from the right.
    pub fn root(&self) -> Hash {
        let mut rest = self.subtrees.iter().rev().map(|(_, h)| *h);
        let Some(last) = rest.next() else {
            return tlog_tiles::EMPTY_HASH;
        };
        rest.fold(last, |right, left| tlog_tiles::node_hash(left, right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{leaf_hash, MemoryTree};
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn frontier_of_nothing_is_the_empty_tree() {
        assert_eq!(Frontier::default().root(), MemoryTree::default().root());
    }

    proptest! {
        #[test]
        fn frontier_stored_prefix_then_appends_gives_the_tree_root(n in 0u64..300, cut in 0u64..300) {
            // Given a tree of n leaves and the frontier of its first `cut`
            // leaves read from the stored nodes, when the rest is appended,
            // then every intermediate root is the tree's of that size.
            let cut = cut.min(n);
            let all = leaves(n);
            let stored = MemoryTree::from_leaves(all.clone());
            let read = Frontier::of_stored(cut, &stored).unwrap();
            let mut f = Frontier::from_hashes(cut, &read.hashes()).unwrap();
            prop_assert_eq!(&f, &read);
            let mut expected = MemoryTree::from_leaves(all[..cut as usize].to_vec());
            prop_assert_eq!(f.root(), expected.root());
            for leaf in &all[cut as usize..] {
                f.append(*leaf);
                expected.append(*leaf);
                prop_assert_eq!(f.size(), expected.size());
                prop_assert_eq!(f.root(), expected.root());
            }
        }
    }

    #[test]
    fn frontier_from_hashes_refuses_the_wrong_count() {
        assert!(Frontier::from_hashes(5, &leaves(1)).is_err());
        assert!(Frontier::from_hashes(5, &leaves(2)).is_ok());
    }
}
