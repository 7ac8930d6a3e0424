//! The independent verifier on its own: its proof checks against a naive
//! RFC 6962 tree (the definition itself) at every small size, its refusal of
//! any other proof, no panic on any input, and its binary's exit codes.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey};
use navigo_verifier::note::{self, PublicKey};
use navigo_verifier::tree::{
    check_consistency, check_inclusion, empty_root, leaf_hash, node_hash, Frontier, Hash,
};
use navigo_verifier::{bundle, export, proofs};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// RFC 6962's MTH, by its definition: split at the largest power of two
/// smaller than n.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than n (n > 1).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// RFC 6962's PATH(m, D[n]).
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// RFC 6962's SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("record {i}").as_bytes()))
        .collect()
}

#[test]
fn independent_tree_checks_every_inclusion_and_consistency_proof_of_the_definition_up_to_33() {
    let all = leaves(34);
    for n in 1..=33 {
        let tree = &all[..n];
        let root = mth(tree);
        // The frontier gives the definition's root, from any split.
        for split in 0..=n {
            let mut f = Frontier::from_subtrees(0, &[]).unwrap();
            tree[..split].iter().for_each(|l| f.append(*l));
            let mut g = Frontier::from_subtrees(split as u64, &subtrees(&tree[..split])).unwrap();
            tree[split..].iter().for_each(|l| g.append(*l));
            assert_eq!(g.root(), root, "n {n} split {split}");
        }
        for m in 0..n {
            let p = path(m, tree);
            check_inclusion(m as u64, n as u64, &tree[m], &p, &root).unwrap();
            // Not for another leaf, or a path one hash short or long. (The
            // same path and root may hold at another size: a root binds no
            // size, which is why a proof is checked against a checkpoint's
            // size and root together.)
            assert!(check_inclusion(m as u64, n as u64, &all[n], &p, &root).is_err());
            if !p.is_empty() {
                assert!(check_inclusion(m as u64, n as u64, &tree[m], &p[1..], &root).is_err());
            }
            let mut long = p.clone();
            long.push(root);
            assert!(check_inclusion(m as u64, n as u64, &tree[m], &long, &root).is_err());
        }
        for m in 1..=n {
            let old = mth(&tree[..m]);
            let p = subproof(m, tree, true);
            check_consistency(m as u64, n as u64, &old, &root, &p).unwrap();
            for i in 0..p.len() {
                let mut bad = p.clone();
                bad[i][0] ^= 1;
                assert!(check_consistency(m as u64, n as u64, &old, &root, &bad).is_err());
            }
            assert!(check_consistency(m as u64, n as u64, &root, &old, &p).is_err() || m == n);
        }
    }
}

/// The complete subtrees of a tree, largest first (an export's `before`).
fn subtrees(tree: &[Hash]) -> Vec<Hash> {
    let mut out = Vec::new();
    let mut start = 0;
    for level in (0..64).rev() {
        let size = 1usize << level;
        if tree.len() - start >= size && (tree.len() >> level) & 1 == 1 {
            out.push(mth(&tree[start..start + size]));
            start += size;
        }
    }
    out
}

/// A key, its verifier line, and a signed checkpoint of `size` leaves.
fn signed_checkpoint(size: usize) -> (String, Vec<u8>) {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let name = "navigo-ledger";
    let mut key = vec![0x01];
    key.extend_from_slice(signing.verifying_key().as_bytes());
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(&key);
    let id = h.finalize()[..4].to_vec();
    let public = format!("{name}+{}+{}", hex(&id), BASE64_STANDARD.encode(&key));
    let root = BASE64_STANDARD.encode(mth(&leaves(size)));
    let text = format!(
        "{name}\n{size}\n{root}\nnavigo-heads 0 {}\nnavigo-recorded-at none\n",
        BASE64_STANDARD.encode(empty_root())
    );
    let mut sig = id.clone();
    sig.extend_from_slice(&signing.sign(text.as_bytes()).to_bytes());
    let note = format!("{text}\n\u{2014} {name} {}\n", BASE64_STANDARD.encode(sig));
    (public, note.into_bytes())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn independent_checkpoint_opens_a_note_signed_as_documented_and_refuses_every_bit_flip() {
    let (public, note) = signed_checkpoint(5);
    let key = PublicKey::parse(&public).unwrap();
    let c = note::open(&note, &key).unwrap();
    assert_eq!((c.size, c.root), (5, mth(&leaves(5))));
    for bit in 0..note.len() * 8 {
        let mut b = note.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(note::open(&b, &key).is_err(), "bit {bit}");
    }
    // A witness's cosignature (another key's line) is left unchecked.
    let mut cosigned = note.clone();
    cosigned.extend_from_slice("\u{2014} witness AAAAAAAAAAAA\n".as_bytes());
    assert!(note::open(&cosigned, &key).is_ok());
}

#[test]
fn navigo_verify_exits_0_with_a_summary_when_valid_and_1_naming_the_problem_when_not() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("navigo-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (public, note) = signed_checkpoint(9);
    std::fs::write(dir.join("key.pub"), format!("{public}\n")).unwrap();
    std::fs::write(dir.join("cp.note"), &note).unwrap();
    let mut cut = note.clone();
    cut[note.len() - 5] ^= 1;
    std::fs::write(dir.join("bad.note"), &cut).unwrap();
    let run = |file: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_navigo-verify"))
            .args(["checkpoint", dir.join(file).to_str().unwrap(), "--key"])
            .arg(dir.join("key.pub"))
            .output()
            .unwrap()
    };
    let ok = run("cp.note");
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("at size 9"));
    let bad = run("bad.note");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("signature line 1"));
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    /// No input makes any check panic.
    #[test]
    fn independent_verifier_never_panics_on_any_input(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (public, note) = signed_checkpoint(3);
        let key = PublicKey::parse(&public).unwrap();
        let c = note::open(&note, &key).unwrap();
        let _ = export::check(&bytes, Some(&c));
        let _ = note::open(&bytes, &key);
        let _ = bundle::check(&bytes, &key);
        let _ = proofs::parse::<proofs::InclusionView>(&bytes)
            .and_then(|v| proofs::check_inclusion_view(&v, &c));
        let _ = proofs::parse::<proofs::StreamView>(&bytes)
            .and_then(|v| proofs::check_stream_view(&v, &key));
        let _ = PublicKey::parse(&String::from_utf8_lossy(&bytes));
    }

    /// Nor does a well-formed export header with extreme numbers.
    #[test]
    fn independent_export_check_never_panics_on_extreme_windows(from in any::<u64>(), to in any::<u64>(), size in any::<u64>()) {
        let header = format!(
            "{{\"format\":\"navigo-ledger-export\",\"version\":1,\"from\":{from},\"to\":{to},\"size\":{size},\"root\":\"{}\",\"before\":[],\"prev_hash\":\"{}\"}}\n",
            BASE64_STANDARD.encode(empty_root()),
            "0".repeat(64)
        );
        let _ = export::check(header.as_bytes(), None);
        prop_assert!(from != 1 || to != 0 || size != 0 || export::check(header.as_bytes(), None).is_ok());
    }
}

/// An export of records recorded at `instants` (one stream, minimal records
/// holding the fields the verifier reads), hashes and root made as the
/// format says.
fn export_of(instants: &[&str]) -> Vec<u8> {
    let mut prev = "0".repeat(64);
    let mut frontier = Frontier::from_subtrees(0, &[]).unwrap();
    let mut lines = Vec::new();
    for (i, at) in instants.iter().enumerate() {
        let n = i + 1;
        let record = format!(
            "{{\"position\":{n},\"stream\":\"contract:0196a000-0000-7000-8000-00000000000a\",\
             \"stream_seq\":{n},\"prev_hash\":\"{prev}\",\"recorded_at\":\"{at}\"}}"
        );
        let hash = blake3::hash(record.as_bytes()).to_hex().to_string();
        frontier.append(leaf_hash(record.as_bytes()));
        lines.push(format!(
            "{{\"position\":{n},\"stream\":\"contract:0196a000-0000-7000-8000-00000000000a\",\
             \"sequence\":{n},\"hash\":\"{hash}\",\"record\":\"{}\"}}",
            BASE64_STANDARD.encode(record.as_bytes())
        ));
        prev = hash;
    }
    let size = instants.len();
    let header = format!(
        "{{\"format\":\"navigo-ledger-export\",\"version\":1,\"from\":1,\"to\":{size},\
         \"size\":{size},\"root\":\"{}\",\"before\":[],\"prev_hash\":\"{}\"}}",
        BASE64_STANDARD.encode(frontier.root()),
        "0".repeat(64)
    );
    let mut file = header;
    for l in lines {
        file.push('\n');
        file.push_str(&l);
    }
    file.push('\n');
    file.into_bytes()
}

#[test]
fn independent_export_check_refuses_a_recorded_at_before_the_record_before() {
    // Given exports whose chain, sequences and root all hold
    let ordered = export_of(&[
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00Z",
        "2026-11-24T11:00:00.5+01:00",
    ]);
    let unordered = export_of(&["2026-11-24T10:00:00Z", "2026-11-24T09:59:59.999Z"]);
    let malformed = export_of(&["2026-11-24T10:00:00Z", "2026-02-30T10:00:00Z"]);
    // When they are checked, then instants that never decrease (an equal one,
    // the same instant written with an offset) pass
    assert!(export::check(&ordered, None).is_ok());
    // And a record recorded before the one before it is refused, named
    let e = export::check(&unordered, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3 (position 2)") && e.contains("recorded_at"),
        "{e}"
    );
    // And an instant that is not one is refused, named
    let e = export::check(&malformed, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3 (position 2)") && e.contains("RFC 3339"),
        "{e}"
    );
}
