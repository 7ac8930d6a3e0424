//! Signed checkpoints and the stream-head map: a checkpoint opens only with
//! its key and only as signed, every single-bit change of a signed note is
//! refused, and a stream's head is proven against the root it signs.

use navigo_merkle::{
    check_head, generate_key, leaf_hash, public_key_of, Checkpoint, CheckpointSigner,
    CheckpointVerifier, MemoryTree, StreamHead, StreamHeads,
};
use rand_core::OsRng;

fn keys() -> (CheckpointSigner, CheckpointVerifier) {
    let (private, public) = generate_key(&mut OsRng, "navigo-ledger-test");
    (
        CheckpointSigner::new(&private).unwrap(),
        CheckpointVerifier::new(&public).unwrap(),
    )
}

fn heads() -> StreamHeads {
    StreamHeads::new(vec![
        StreamHead {
            stream: "person/b".into(),
            version: 3,
            last_position: 9,
        },
        StreamHead {
            stream: "contract/a".into(),
            version: 5,
            last_position: 12,
        },
        StreamHead {
            stream: "contract/c".into(),
            version: 1,
            last_position: 2,
        },
    ])
}

fn checkpoint() -> Checkpoint {
    let t = MemoryTree::from_leaves((0..12).map(|i| leaf_hash(&[i])));
    let h = heads();
    Checkpoint {
        origin: "navigo-ledger/0192f0c4".into(),
        size: 12,
        root: t.root(),
        heads_count: h.len(),
        heads_root: h.root(),
        last_recorded_at: Some("2026-12-05T23:10:00Z".into()),
    }
}

#[test]
fn checkpoint_signed_opens_with_its_key_unchanged() {
    let (signer, verifier) = keys();
    let signed = signer.sign(&checkpoint()).unwrap();
    assert_eq!(verifier.open(&signed).unwrap(), checkpoint());
    let text = String::from_utf8(signed).unwrap();
    assert!(text.starts_with("navigo-ledger/0192f0c4\n12\n"), "{text}");
    assert!(text.contains("\nnavigo-heads 3 "), "{text}");
}

#[test]
fn checkpoint_of_an_empty_log_says_no_recorded_at() {
    let (signer, verifier) = keys();
    let empty = Checkpoint {
        size: 0,
        root: MemoryTree::default().root(),
        heads_count: 0,
        heads_root: StreamHeads::default().root(),
        last_recorded_at: None,
        ..checkpoint()
    };
    assert_eq!(verifier.open(&signer.sign(&empty).unwrap()).unwrap(), empty);
}

#[test]
fn checkpoint_every_single_bit_mutation_of_a_signed_note_is_refused() {
    let (signer, verifier) = keys();
    let signed = signer.sign(&checkpoint()).unwrap();
    for byte in 0..signed.len() {
        for bit in 0..8 {
            let mut m = signed.clone();
            m[byte] ^= 1 << bit;
            assert!(
                verifier.open(&m).is_err(),
                "byte {byte} bit {bit} accepted: {}",
                String::from_utf8_lossy(&m)
            );
        }
    }
}

#[test]
fn checkpoint_signed_by_another_key_is_refused_naming_the_key() {
    let (signer, _) = keys();
    let (_, other) = keys();
    let err = other
        .open(&signer.sign(&checkpoint()).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("navigo-ledger-test+"), "{err}");
}

#[test]
fn checkpoint_text_not_in_canonical_form_is_refused() {
    let text = String::from_utf8(checkpoint().text().unwrap()).unwrap();
    for bad in [
        text.replace("\n12\n", "\n012\n"),
        text.replace("navigo-heads 3", "navigo-heads 03"),
        format!("{text}extra line\n"),
        text.replace("navigo-recorded-at 2026-12-05T23:10:00Z\n", ""),
    ] {
        assert!(
            Checkpoint::parse(bad.as_bytes()).is_err(),
            "accepted: {bad}"
        );
    }
    assert_eq!(Checkpoint::parse(text.as_bytes()).unwrap(), checkpoint());
}

#[test]
fn checkpoint_stream_heads_prove_each_stream_and_no_other() {
    let h = heads();
    let root = h.head();
    for stream in ["contract/a", "contract/c", "person/b"] {
        let (head, proof) = h.prove(stream).unwrap();
        check_head(&head, &proof, root).unwrap();
        // A head claiming one record less (a history cut short) is refused
        let short = StreamHead {
            version: head.version - 1,
            ..head.clone()
        };
        assert!(check_head(&short, &proof, root).is_err());
        let moved = StreamHead {
            last_position: head.last_position + 1,
            ..head
        };
        assert!(check_head(&moved, &proof, root).is_err());
    }
    assert!(h.prove("contract/b").is_none());
}

#[test]
fn checkpoint_stream_heads_are_a_function_of_the_log_whatever_the_order() {
    let mut v = vec![
        StreamHead {
            stream: "contract/a".into(),
            version: 4,
            last_position: 10,
        },
        StreamHead {
            stream: "person/b".into(),
            version: 3,
            last_position: 9,
        },
        StreamHead {
            stream: "contract/a".into(),
            version: 5,
            last_position: 12,
        },
        StreamHead {
            stream: "contract/c".into(),
            version: 1,
            last_position: 2,
        },
    ];
    let a = StreamHeads::new(v.clone());
    v.reverse();
    assert_eq!(a.root(), StreamHeads::new(v).root());
    assert_eq!(a.root(), heads().root());
}

#[test]
fn key_public_of_a_private_key_is_the_verifier_generated_with_it() {
    // Given key pairs (enough that some key's base64 holds a '+', which also
    // separates the key's fields)
    for _ in 0..64 {
        let (private, public) = generate_key(&mut OsRng, "navigo-ledger-test");
        assert_eq!(public_key_of(&private).unwrap(), public, "{private}");
    }
    let (private, public) = generate_key(&mut OsRng, "navigo-ledger-test");

    // When the public half is derived from the private key alone
    let derived = public_key_of(&private).unwrap();

    // Then it is the verifier key generated with it, and it opens what the
    // private key signs
    assert_eq!(derived, public);
    let signed = CheckpointSigner::new(&private)
        .unwrap()
        .sign(&checkpoint())
        .unwrap();
    CheckpointVerifier::new(&derived)
        .unwrap()
        .open(&signed)
        .unwrap();
    // And a verifier key or a damaged private key is refused
    assert!(public_key_of(&public).is_err());
    let mut damaged = private.clone();
    damaged.pop();
    assert!(public_key_of(&damaged).is_err());
}
