//! Proof sizes and verification times (not a timed test): inclusion and
//! consistency proofs at 1 M and 23 M leaves, each check timed beside its
//! reference in the same run, the SHA-256 leaf hash of one record of the
//! store benchmark's size (what a verifier computes at least once per record).
//! Both are timed alternately over several rounds and the least of each kept.
//!
//! ```sh
//! cargo bench -p navigo-merkle --bench proofs
//! NAVIGO_BENCH_LEAVES=1000000 cargo bench -p navigo-merkle --bench proofs
//! ```
//!
//! One tree of the largest size (`NAVIGO_BENCH_LEAVES`, sizes separated by
//! commas, default `1000000,23000000`) is built in memory over synthetic
//! leaves (about 1.5 GB at 23 M: two stored nodes of 32 bytes per leaf); the
//! smaller sizes are its prefixes, as a log's older checkpoints are. For each
//! size, `NAVIGO_BENCH_PROOFS` proofs (default 2,000) of spread indexes and
//! older sizes are read and checked.

use std::time::Instant;

use navigo_merkle::{leaf_hash, root, ConsistencyProof, InclusionProof, MemoryTree, TreeHead};

/// Bytes of a canonical record in the store benchmark (a debit presented).
const RECORD_BYTES: usize = 680;

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().parse().expect("a number"))
        .collect()
}

/// Spread pseudo-random numbers below `n` (a fixed linear congruential
/// sequence: the same indexes every run).
fn spread(count: u64, n: u64) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) % n
        })
        .collect()
}

/// Microseconds per SHA-256 leaf hash of one record: the reference.
fn reference_us(count: u64) -> f64 {
    let mut record = vec![b'x'; RECORD_BYTES];
    let start = Instant::now();
    for i in 0..count {
        record[..8].copy_from_slice(&i.to_le_bytes());
        std::hint::black_box(leaf_hash(std::hint::black_box(&record)));
    }
    start.elapsed().as_secs_f64() * 1e6 / count as f64
}

/// Rounds of each timing: the least of them is kept, the one the other
/// processes of a shared machine disturbed least.
const ROUNDS: u32 = 7;

/// Microseconds per check (`checks` runs `count` of them) and per reference
/// hash, each the least of [`ROUNDS`] rounds run alternately.
fn least(count: u64, mut checks: impl FnMut()) -> (f64, f64) {
    let (mut check, mut reference) = (f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        checks();
        check = check.min(start.elapsed().as_secs_f64() * 1e6 / count as f64);
        reference = reference.min(reference_us(count));
    }
    (check, reference)
}

fn inclusion(tree: &MemoryTree, size: u64, count: u64) {
    let head = TreeHead {
        size,
        root: root(size, tree).unwrap(),
    };
    let indexes = spread(count, size);
    let start = Instant::now();
    let proofs: Vec<InclusionProof> = indexes
        .iter()
        .map(|&i| InclusionProof::prove(size, i, tree).unwrap())
        .collect();
    let read_us = start.elapsed().as_secs_f64() * 1e6 / count as f64;
    let (check_us, reference) = least(count, || {
        for p in &proofs {
            p.check(head).unwrap();
        }
    });
    let hashes: Vec<usize> = proofs.iter().map(|p| p.path.len()).collect();
    let json = serde_json::to_string(&proofs[0]).unwrap().len();
    println!(
        "{size} leaves, inclusion: {}..{} hashes ({}..{} B), read {read_us:.2} µs, check \
         {check_us:.2} µs; reference SHA-256 of a {RECORD_BYTES}-byte record {reference:.2} µs; \
         ratio {:.2}; one proof as JSON {json} B",
        hashes.iter().min().unwrap(),
        hashes.iter().max().unwrap(),
        32 * hashes.iter().min().unwrap(),
        32 * hashes.iter().max().unwrap(),
        check_us / reference
    );
}

fn consistency(tree: &MemoryTree, size: u64, count: u64) {
    let new = TreeHead {
        size,
        root: root(size, tree).unwrap(),
    };
    let olds: Vec<TreeHead> = spread(count, size - 1)
        .into_iter()
        .map(|o| TreeHead {
            size: o + 1,
            root: root(o + 1, tree).unwrap(),
        })
        .collect();
    let start = Instant::now();
    let proofs: Vec<ConsistencyProof> = olds
        .iter()
        .map(|o| ConsistencyProof::prove(o.size, size, tree).unwrap())
        .collect();
    let read_us = start.elapsed().as_secs_f64() * 1e6 / count as f64;
    let (check_us, reference) = least(count, || {
        for (p, o) in proofs.iter().zip(&olds) {
            p.check(*o, new).unwrap();
        }
    });
    let hashes: Vec<usize> = proofs.iter().map(|p| p.path.len()).collect();
    println!(
        "{size} leaves, consistency from older sizes: {}..{} hashes ({}..{} B), read \
         {read_us:.2} µs, check {check_us:.2} µs; reference {reference:.2} µs; ratio {:.2}",
        hashes.iter().min().unwrap(),
        hashes.iter().max().unwrap(),
        32 * hashes.iter().min().unwrap(),
        32 * hashes.iter().max().unwrap(),
        check_us / reference
    );
}

fn main() {
    let sizes = env_list("NAVIGO_BENCH_LEAVES", "1000000,23000000");
    let count = env_list("NAVIGO_BENCH_PROOFS", "2000")[0];
    let largest = *sizes.iter().max().expect("a size");
    let start = Instant::now();
    let mut tree = MemoryTree::default();
    for i in 0..largest {
        tree.append(leaf_hash(&i.to_le_bytes()));
    }
    println!(
        "tree of {largest} leaves built in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    for size in sizes {
        inclusion(&tree, size, count);
        consistency(&tree, size, count);
    }
}
