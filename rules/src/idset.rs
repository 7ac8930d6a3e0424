//! [`IdSet`]: the ids an index key names (a person's contracts, the persons of
//! a client number), held compactly.
//!
//! Decision (memory of a region's indexes): almost every key of the world's
//! indexes names one id (a holder's one contract, a client number's one
//! person), a few name several. A `BTreeSet` per key allocated a whole tree
//! node (about 200 bytes) for that one id; an `IdSet` holds one id inline and
//! several in one exact-size sorted slice, so an index costs about a quarter
//! of what it did, while reading as a sorted set of ids as before.

use uuid::Uuid;

/// A sorted set of ids, one held inline.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdSet {
    /// No id.
    #[default]
    Empty,
    /// One id, inline.
    One(Uuid),
    /// Several ids, sorted, without duplicates.
    Many(Box<[Uuid]>),
}

impl IdSet {
    /// The ids, in order.
    pub fn as_slice(&self) -> &[Uuid] {
        match self {
            IdSet::Empty => &[],
            IdSet::One(id) => std::slice::from_ref(id),
            IdSet::Many(ids) => ids,
        }
    }

    /// Adds `id`; whether it was not there.
    pub fn insert(&mut self, id: Uuid) -> bool {
        let at = match self.as_slice().binary_search(&id) {
            Ok(_) => return false,
            Err(at) => at,
        };
        *self = match std::mem::take(self) {
            IdSet::Empty => IdSet::One(id),
            other => {
                let mut ids = Vec::with_capacity(other.len() + 1);
                ids.extend_from_slice(other.as_slice());
                ids.insert(at, id);
                IdSet::Many(ids.into_boxed_slice())
            }
        };
        true
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: &Uuid) -> bool {
        self.as_slice().binary_search(id).is_ok()
    }

    /// The number of ids.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the set holds no id.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// The ids, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Uuid> {
        self.as_slice().iter()
    }
}

impl<'a> IntoIterator for &'a IdSet {
    type Item = &'a Uuid;
    type IntoIter = std::slice::Iter<'a, Uuid>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<Uuid> for IdSet {
    fn from_iter<I: IntoIterator<Item = Uuid>>(ids: I) -> IdSet {
        let mut set = IdSet::Empty;
        for id in ids {
            set.insert(id);
        }
        set
    }
}

impl serde::Serialize for IdSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for IdSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IdSet, D::Error> {
        let ids: Vec<Uuid> = Vec::deserialize(d)?;
        Ok(ids.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// An `IdSet` reads as the `BTreeSet` it stands for, whatever the
        /// order of insertion, duplicates included.
        #[test]
        fn idset_reads_as_the_btreeset_of_its_ids(ids in prop::collection::vec(0u128..20, 0..12)) {
            let mut set = IdSet::default();
            let mut tree = BTreeSet::new();
            for id in ids.iter().map(|n| Uuid::from_u128(*n)) {
                prop_assert_eq!(set.insert(id), tree.insert(id));
            }
            prop_assert_eq!(set.iter().copied().collect::<Vec<_>>(), tree.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(set.len(), tree.len());
            for n in 0u128..20 {
                let id = Uuid::from_u128(n);
                prop_assert_eq!(set.contains(&id), tree.contains(&id));
            }
        }
    }

    /// One id is held inline: the set is no larger than two words and an id.
    #[test]
    fn idset_of_one_id_allocates_nothing() {
        assert!(std::mem::size_of::<IdSet>() <= 24);
        let mut set = IdSet::default();
        set.insert(Uuid::from_u128(7));
        assert!(matches!(set, IdSet::One(_)));
    }
}
