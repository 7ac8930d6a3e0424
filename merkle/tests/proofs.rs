//! The tree's proofs: they verify at every size, not only powers of two, and
//! every single-bit change of a proof, a leaf, a root or a size is refused.

use navigo_merkle::{leaf_hash, ConsistencyProof, Hash, InclusionProof, MemoryTree, TreeHead};
use proptest::prelude::*;

fn tree(size: u64) -> MemoryTree {
    MemoryTree::from_leaves((0..size).map(|i| leaf_hash(format!("record {i}").as_bytes())))
}

/// The head of the first `size` records, from a tree holding more.
fn root_at(t: &MemoryTree, size: u64) -> TreeHead {
    TreeHead {
        size,
        root: navigo_merkle::root(size, t).unwrap(),
    }
}

fn flip_root(h: TreeHead, bit: usize) -> TreeHead {
    TreeHead {
        root: flip(h.root, bit),
        ..h
    }
}

fn flip(h: Hash, bit: usize) -> Hash {
    let mut b = h.0;
    b[bit / 8] ^= 1 << (bit % 8);
    Hash(b)
}

/// Every single-bit mutation of an inclusion proof's hashes and numbers.
fn inclusion_mutants(p: &InclusionProof) -> Vec<InclusionProof> {
    let mut out = Vec::new();
    for bit in 0..256 {
        out.push(InclusionProof {
            leaf: flip(p.leaf, bit),
            ..p.clone()
        });
        for i in 0..p.path.len() {
            let mut m = p.clone();
            m.path[i] = flip(m.path[i], bit);
            out.push(m);
        }
    }
    for bit in 0..64 {
        out.push(InclusionProof {
            size: p.size ^ 1 << bit,
            ..p.clone()
        });
        out.push(InclusionProof {
            index: p.index ^ 1 << bit,
            ..p.clone()
        });
    }
    out
}

fn consistency_mutants(p: &ConsistencyProof) -> Vec<ConsistencyProof> {
    let mut out = Vec::new();
    for bit in 0..256 {
        for i in 0..p.path.len() {
            let mut m = p.clone();
            m.path[i] = flip(m.path[i], bit);
            out.push(m);
        }
    }
    for bit in 0..64 {
        out.push(ConsistencyProof {
            old_size: p.old_size ^ 1 << bit,
            ..p.clone()
        });
        out.push(ConsistencyProof {
            new_size: p.new_size ^ 1 << bit,
            ..p.clone()
        });
    }
    out
}

#[test]
fn merkle_inclusion_holds_at_every_size_and_index_up_to_70() {
    // Given a tree of 70 records, for every prefix size and every record in it
    let t = tree(70);
    for size in 1..=70 {
        let root = root_at(&t, size);
        for index in 0..size {
            // When the record's inclusion is proven, then the proof holds
            let p = InclusionProof::prove(size, index, &t).unwrap();
            p.check(root).unwrap();
            assert_eq!(p.leaf, leaf_hash(format!("record {index}").as_bytes()));
            // And it holds against no other size's root
            if size > 1 {
                assert!(p.check(root_at(&t, size - 1)).is_err());
            }
        }
    }
}

#[test]
fn merkle_consistency_holds_between_every_pair_of_sizes_up_to_70() {
    let t = tree(70);
    for new in 0..=70 {
        for old in 0..=new {
            let p = ConsistencyProof::prove(old, new, &t).unwrap();
            p.check(root_at(&t, old), root_at(&t, new)).unwrap();
        }
    }
}

#[test]
fn merkle_every_single_bit_mutation_of_a_proof_is_refused_exhaustively_on_small_trees() {
    let t = tree(23);
    for size in [1, 2, 3, 5, 8, 13, 23] {
        let root = root_at(&t, size);
        for index in 0..size {
            let p = InclusionProof::prove(size, index, &t).unwrap();
            for m in inclusion_mutants(&p) {
                assert!(m.check(root).is_err(), "mutant accepted: {m:?}");
            }
            for bit in 0..256 {
                assert!(p.check(flip_root(root, bit)).is_err());
            }
        }
        for old in 1..size {
            let p = ConsistencyProof::prove(old, size, &t).unwrap();
            let (r0, r1) = (root_at(&t, old), root_at(&t, size));
            for m in consistency_mutants(&p) {
                assert!(m.check(r0, r1).is_err(), "mutant accepted: {m:?}");
            }
            for bit in 0..256 {
                assert!(p.check(flip_root(r0, bit), r1).is_err());
                assert!(p.check(r0, flip_root(r1, bit)).is_err());
            }
        }
    }
}

#[test]
fn merkle_a_rewritten_or_truncated_history_fails_consistency_with_a_kept_root() {
    // Given the root an auditor kept at 40 records
    let honest = tree(60);
    let kept = root_at(&honest, 40);
    // When record 39 (the newest the auditor saw) is rewritten and the log grows
    let mut forged =
        MemoryTree::from_leaves((0..39).map(|i| leaf_hash(format!("record {i}").as_bytes())));
    forged.append(leaf_hash(b"record 39, 80 euros less"));
    for i in 40..60 {
        forged.append(leaf_hash(format!("record {i}").as_bytes()));
    }
    // Then no consistency proof from the forged log leads from the kept root
    let p = ConsistencyProof::prove(40, 60, &forged).unwrap();
    assert!(p.check(kept, root_at(&forged, 60)).is_err());
    // And a log cut back below the kept size cannot be proven to extend it
    assert!(ConsistencyProof::prove(40, 34, &honest).is_err());
    let shrunk = ConsistencyProof {
        old_size: 40,
        new_size: 34,
        path: vec![],
    };
    assert!(shrunk.check(kept, root_at(&honest, 34)).is_err());
}

#[test]
fn merkle_a_proof_longer_than_any_tree_needs_is_refused_before_hashing() {
    let t = tree(9);
    let mut p = InclusionProof::prove(9, 4, &t).unwrap();
    p.path.extend(std::iter::repeat_n(Hash::default(), 10_000));
    assert!(p.check(root_at(&t, 9)).is_err());
}

#[test]
fn merkle_proofs_round_trip_through_json_unchanged() {
    let t = tree(11);
    let p = InclusionProof::prove(11, 6, &t).unwrap();
    let back: InclusionProof = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    back.check(root_at(&t, 11)).unwrap();
    let c = ConsistencyProof::prove(5, 11, &t).unwrap();
    let back: ConsistencyProof = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merkle_random_bit_flips_of_proofs_in_large_trees_are_refused(
        size in 1u64..5_000,
        index_seed in any::<u64>(),
        old_seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let t = tree(size);
        let root = root_at(&t, size);
        let p = InclusionProof::prove(size, index_seed % size, &t).unwrap();
        prop_assert!(p.check(root).is_ok());
        let mutants = inclusion_mutants(&p);
        prop_assert!(mutants[pick.index(mutants.len())].check(root).is_err());
        let old = 1 + old_seed % size;
        let c = ConsistencyProof::prove(old, size, &t).unwrap();
        let old_root = root_at(&t, old);
        prop_assert!(c.check(old_root, root).is_ok());
        let mutants = consistency_mutants(&c);
        if !mutants.is_empty() {
            prop_assert!(mutants[pick.index(mutants.len())].check(old_root, root).is_err());
        }
    }
}
