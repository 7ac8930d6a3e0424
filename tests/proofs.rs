//! Tamper evidence an auditor can rely on, through the binary: the signing
//! key, signed checkpoints, proofs that round-trip from the command line's
//! JSON into a check that uses the merkle crate alone, and `verify --against`
//! catching the insider attacks the chain alone cannot (a rewritten newest
//! record with its hash recomputed, a cut tail).

mod cli_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use navigo_events_schema::{Envelope, StreamKind};
use navigo_merkle::{
    check_head, leaf_hash, Checkpoint, CheckpointVerifier, ConsistencyProof, Hash, InclusionProof,
    StreamHead,
};
use navigo_store::{Limits, ManualClock};
use navigo_store_sled::SledStore;
use serde_json::Value;
use uuid::Uuid;

use cli_support::{json, ok, run, Out, STREAM_A, STREAM_B};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("proofs-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn line(stream: &str, reference: &str) -> String {
    format!(
        "{{\"stream\":\"{stream}\",\"type\":\"MandateRevoked\",\"schema_version\":1,\
         \"effective_date\":\"2026-11-01\",\"actor\":{{\"role\":\"agent\",\"id\":\"A1\"}},\
         \"data\":{{\"reference\":\"{reference}\"}}}}\n"
    )
}

/// Appends records `from..to` (references `R<n>`), every third on stream B.
fn append(data: &Path, from: u32, to: u32) {
    if from == to {
        return;
    }
    let input: String = (from..to)
        .map(|i| {
            let stream = if i % 3 == 2 { STREAM_B } else { STREAM_A };
            line(stream, &format!("R{i:02}"))
        })
        .collect();
    let out = run(data, &["append"], Some(&input));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A ledger of `n` records, a signing key and its public key file (both kept
/// beside the ledger, outside its directory).
struct Fixture {
    dir: PathBuf,
    data: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

impl Fixture {
    fn new(name: &str, n: u32) -> Fixture {
        let dir = fresh_dir(name);
        let data = dir.join("ledger");
        ok(&data, &["init", "--empty"]);
        append(&data, 0, n);
        let key = dir.join("signing.key");
        ok(
            &data,
            &["key", "create", "--key-file", key.to_str().unwrap()],
        );
        let public = dir.join("signing.pub");
        let text = ok(
            &data,
            &["key", "public", "--key-file", key.to_str().unwrap()],
        );
        std::fs::write(&public, text).unwrap();
        Fixture {
            dir,
            data,
            key,
            public,
        }
    }

    /// Signs and keeps a checkpoint; the auditor keeps its note in `file`.
    fn checkpoint(&self, file: &str) -> PathBuf {
        let note = ok(
            &self.data,
            &["checkpoint", "--key-file", self.key.to_str().unwrap()],
        );
        let path = self.dir.join(file);
        std::fs::write(&path, note).unwrap();
        path
    }

    /// The auditor's own opening of a kept checkpoint: the merkle crate only.
    fn open(&self, file: &Path) -> Checkpoint {
        let public = std::fs::read_to_string(&self.public).unwrap();
        CheckpointVerifier::new(public.trim())
            .unwrap()
            .open(&std::fs::read(file).unwrap())
            .unwrap()
    }

    fn against(&self, data: &Path, checkpoint: &Path, public: &Path) -> (i32, Value, String) {
        let out = run(
            data,
            &[
                "verify",
                "--against",
                checkpoint.to_str().unwrap(),
                "--key",
                public.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        let v = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        (out.code, v, out.stderr)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hash(v: &Value) -> Hash {
    serde_json::from_value(v.clone()).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

/// What an insider with write access does to the newest record: edits its
/// canonical JSON, recomputes its BLAKE3 hash, and has the Merkle tree
/// recomputed from the records as they now are (the tree's nodes removed; the
/// next open computes them again), so that nothing on disk disagrees.
fn rewrite_newest_record(data: &Path, position: u64, from: &str, to: &str) {
    let raw = navigo_store_sled::raw::RawLedger::open(data).unwrap();
    let record = raw.record(position).unwrap().unwrap();
    let json = String::from_utf8(record[32..].to_vec()).unwrap();
    assert!(json.contains(from), "{json}");
    let edited = json.replace(from, to);
    let mut bytes = blake3::hash(edited.as_bytes()).as_bytes().to_vec();
    bytes.extend_from_slice(edited.as_bytes());
    raw.put_record(position, &bytes).unwrap();
    raw.remove_merkle_tree().unwrap();
    raw.flush().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn key_create_writes_an_owner_only_file_never_overwrites_it_and_exports_its_public_half() {
    // Given a ledger and a key created beside it
    let f = Fixture::new("key", 1);
    // Then the private key is readable by its owner only
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let private = std::fs::read_to_string(&f.key).unwrap();
    assert!(
        private.starts_with("PRIVATE+KEY+navigo-ledger+"),
        "{private}"
    );
    // And the exported public key is its verifier key, which never holds the
    // private half
    let public = std::fs::read_to_string(&f.public).unwrap();
    assert!(public.starts_with("navigo-ledger+"), "{public}");
    assert!(!public.contains("PRIVATE"));
    CheckpointVerifier::new(public.trim()).unwrap();

    // When the key is created again at the same path
    let again = run(
        &f.data,
        &["key", "create", "--key-file", f.key.to_str().unwrap()],
        None,
    );
    // Then it is refused naming the file, and the key is unchanged
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains(f.key.to_str().unwrap()),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("refusing to overwrite"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(&f.key).unwrap(), private);

    // And a key inside the data directory is refused, nothing written
    let inside = f.data.join("signing.key");
    let out = run(
        &f.data,
        &["key", "create", "--key-file", inside.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("inside the data directory"),
        "{}",
        out.stderr
    );
    assert!(!inside.exists());

    // And exporting from a file that holds no key names the file
    let out = run(
        &f.data,
        &["key", "public", "--key-file", f.public.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(f.public.to_str().unwrap()),
        "{}",
        out.stderr
    );
}

#[test]
fn checkpoint_states_size_root_heads_and_last_instant_and_every_one_is_kept() {
    // Given a ledger of 5 records and a checkpoint of it, then of 8
    let f = Fixture::new("kept", 5);
    let first = f.open(&f.checkpoint("first.note"));
    append(&f.data, 5, 8);
    let second = f.open(&f.checkpoint("second.note"));

    // Then each states the log's size, two streams and the last instant
    assert_eq!((first.size, second.size), (5, 8));
    assert_eq!((first.heads_count, second.heads_count), (2, 2));
    assert_eq!(first.origin, "navigo-ledger");
    assert!(second.last_recorded_at.is_some());
    assert_ne!(first.root, second.root);

    // And both are kept, in order, as signed
    let list = json(&ok(&f.data, &["checkpoint", "--list", "--json"]));
    let kept = list["checkpoints"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "{list}");
    assert_eq!(kept[0]["number"], 1);
    assert_eq!(kept[1]["size"], 8);
    let note = std::fs::read_to_string(f.dir.join("second.note")).unwrap();
    assert_eq!(kept[1]["signed_note"], note.as_str());
}

#[test]
fn verify_against_a_rewritten_newest_record_with_its_hash_recomputed_fails_where_verify_alone_passes(
) {
    // Given a checkpoint at 20 records, 10 more, and a checkpoint at 30 the
    // auditor keeps
    let f = Fixture::new("rewrite", 20);
    f.checkpoint("at-20.note");
    append(&f.data, 20, 30);
    let kept = f.checkpoint("at-30.note");
    let (code, v, err) = f.against(&f.data, &kept, &f.public);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["ok"], true);

    // When an insider rewrites the newest record and recomputes its hash
    // and the tree
    rewrite_newest_record(&f.data, 30, "R29", "X29");
    ok(&f.data, &["stats"]);

    // Then verify alone passes: the chain and the tree agree with the records
    let out = run(&f.data, &["verify"], None);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // But verify against the kept checkpoint fails, naming the root and the
    // positions between the last checkpoint the log agrees with and the end
    let (code, v, err) = f.against(&f.data, &kept, &f.public);
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["difference"], "root");
    assert_eq!(v["position"], 21, "{v}");
    assert_eq!(v["log_size"], 30);
    assert_ne!(v["log_root"], v["checkpoint_root"]);
    assert!(
        v["message"].as_str().unwrap().contains("from 21 to 30"),
        "{v}"
    );
}

#[test]
fn verify_against_a_cut_tail_fails_naming_the_size_where_verify_alone_passes() {
    // Given a ledger of 24 records, a copy of it as it was, then 6 more and
    // a checkpoint of the 30 the auditor keeps
    let f = Fixture::new("cut", 24);
    let cut = f.dir.join("cut");
    copy_dir(&f.data, &cut);
    append(&f.data, 24, 30);
    let kept = f.checkpoint("at-30.note");

    // When the log is the copy, six records short (a tail cut or zeroed:
    // what remains is a sound log of 24)
    // Then verify alone passes
    let out = run(&cut, &["verify"], None);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // But verify against the checkpoint fails naming the size and the first
    // missing position
    let (code, v, err) = f.against(&cut, &kept, &f.public);
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(v["difference"], "size");
    assert_eq!(v["log_size"], 24);
    assert_eq!(v["checkpoint_size"], 30);
    assert_eq!(v["position"], 25);
    assert!(v["message"].as_str().unwrap().contains("25 to 30"), "{v}");
    // And the text output says the same
    let out = run(
        &cut,
        &[
            "verify",
            "--against",
            kept.to_str().unwrap(),
            "--key",
            f.public.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("FAILED against the checkpoint (30 records"),
        "{}",
        out.stdout
    );
}

#[test]
fn verify_against_a_log_that_grew_after_the_checkpoint_passes() {
    // Given a checkpoint at 9 and 4 more records since
    let f = Fixture::new("grew", 9);
    let kept = f.checkpoint("at-9.note");
    append(&f.data, 9, 13);
    // Then the log extends the checkpoint
    let (code, v, err) = f.against(&f.data, &kept, &f.public);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(
        (v["log_size"].as_u64(), v["checkpoint_size"].as_u64()),
        (Some(13), Some(9))
    );
    assert_eq!(v["log_root"], v["checkpoint_root"]);
}

#[test]
fn verify_against_a_checkpoint_signed_by_another_key_is_refused() {
    // Given a checkpoint, and the public key of another key pair
    let f = Fixture::new("other-key", 6);
    let kept = f.checkpoint("cp.note");
    let other = f.dir.join("other.key");
    ok(
        &f.data,
        &["key", "create", "--key-file", other.to_str().unwrap()],
    );
    let other_public = f.dir.join("other.pub");
    let text = ok(
        &f.data,
        &["key", "public", "--key-file", other.to_str().unwrap()],
    );
    std::fs::write(&other_public, text).unwrap();

    // When the log is verified against it with the other key
    let (code, v, err) = f.against(&f.data, &kept, &other_public);
    // Then the checkpoint is refused, naming both files, with no verdict
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(v, Value::Null);
    assert!(err.contains("is refused with the key"), "{err}");
    assert!(err.contains(other_public.to_str().unwrap()), "{err}");
}

#[test]
fn verify_against_a_tampered_checkpoint_text_is_refused() {
    // Given a kept checkpoint of 12 records
    let f = Fixture::new("tampered", 12);
    let kept = f.checkpoint("cp.note");
    let note = std::fs::read_to_string(&kept).unwrap();
    // When its size line is changed to claim fewer records (a log cut to
    // fit it would then pass), or its root, or its heads line
    let root = note.lines().nth(2).unwrap().to_owned();
    let edits = [
        note.replacen("\n12\n", "\n11\n", 1),
        note.replacen(&root, &root.replace(&root[..4], "AAAA"), 1),
        note.replacen("navigo-heads 2 ", "navigo-heads 1 ", 1),
    ];
    for (i, edited) in edits.iter().enumerate() {
        assert_ne!(edited, &note, "edit {i} changed nothing");
        let file = f.dir.join(format!("edited-{i}.note"));
        std::fs::write(&file, edited).unwrap();
        // Then it is refused: its signature no longer holds
        let (code, v, err) = f.against(&f.data, &file, &f.public);
        assert_eq!(code, 1, "edit {i}: {v} {err}");
        assert!(err.contains("is refused with the key"), "edit {i}: {err}");
    }
}

#[test]
fn prove_inclusion_of_every_record_round_trips_into_a_check_with_the_merkle_crate_alone() {
    // Given 13 records (not a power of two) and a checkpoint the auditor keeps
    let f = Fixture::new("inclusion", 13);
    let checkpoint = f.open(&f.checkpoint("cp.note"));
    for position in 1..=13u64 {
        // When the record's proof is printed
        let v = json(&ok(
            &f.data,
            &["prove", "inclusion", &position.to_string(), "--size", "13"],
        ));
        // Then the record hashes to the leaf, and the leaf leads to the
        // signed root by the path
        let leaf = hash(&v["leaf"]);
        assert_eq!(leaf, leaf_hash(v["record"].as_str().unwrap().as_bytes()));
        let proof = InclusionProof {
            size: v["size"].as_u64().unwrap(),
            index: position - 1,
            leaf,
            path: hashes(&v["path"]),
        };
        proof.check(checkpoint.tree()).unwrap();
        // And another record's leaf does not
        let forged = InclusionProof {
            leaf: leaf_hash(b"another record"),
            ..proof
        };
        assert!(forged.check(checkpoint.tree()).is_err());
    }
    // And a position outside the tree is bad input naming it
    let out = run(&f.data, &["prove", "inclusion", "14", "--size", "13"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("position 14"), "{}", out.stderr);
}

#[test]
fn prove_consistency_round_trips_between_two_kept_checkpoints() {
    // Given checkpoints at 7 and 13 records
    let f = Fixture::new("consistency", 7);
    let old = f.open(&f.checkpoint("at-7.note"));
    append(&f.data, 7, 13);
    let new = f.open(&f.checkpoint("at-13.note"));
    // When the consistency proof is printed
    let v = json(&ok(&f.data, &["prove", "consistency", "7", "13"]));
    // Then it holds between the two signed trees, with the merkle crate alone
    let proof = ConsistencyProof {
        old_size: 7,
        new_size: 13,
        path: hashes(&v["path"]),
    };
    proof.check(old.tree(), new.tree()).unwrap();
    assert_eq!(hash(&v["old_root"]), old.root);
    assert_eq!(hash(&v["new_root"]), new.root);
    // And sizes in the wrong order are bad input
    assert_eq!(
        run(&f.data, &["prove", "consistency", "13", "7"], None).code,
        2
    );
}

#[test]
fn prove_stream_shows_a_history_complete_against_the_signed_stream_head_map() {
    // Given 10 records, 3 of them on stream B, and a checkpoint
    let f = Fixture::new("stream", 10);
    let checkpoint = f.open(&f.checkpoint("cp.note"));
    // When stream B's completeness is proven
    let v = json(&ok(&f.data, &["prove", "stream", STREAM_B]));
    // Then its head says 3 records, the last at position 9, and the entry is
    // in the map the checkpoint signs
    assert_eq!(
        (v["version"].as_u64(), v["last_position"].as_u64()),
        (Some(3), Some(9))
    );
    let head = StreamHead {
        stream: STREAM_B.to_owned(),
        version: 3,
        last_position: 9,
    };
    let entry = InclusionProof {
        size: checkpoint.heads_count,
        index: v["entry_index"].as_u64().unwrap(),
        leaf: hash(&v["entry_leaf"]),
        path: hashes(&v["entry_path"]),
    };
    check_head(&head, &entry, checkpoint.heads()).unwrap();
    // And a head claiming fewer records is not
    let shorter = StreamHead { version: 2, ..head };
    assert!(check_head(&shorter, &entry, checkpoint.heads()).is_err());
    // And the last record is in the checkpoint's tree
    let last = &v["last_record"];
    let proof = InclusionProof {
        size: checkpoint.size,
        index: 8,
        leaf: hash(&last["leaf"]),
        path: hashes(&last["path"]),
    };
    proof.check(checkpoint.tree()).unwrap();
    assert!(last["record"].as_str().unwrap().contains(STREAM_B));
}

#[test]
fn verify_against_names_a_record_the_checkpoint_covers_that_does_not_verify() {
    // Given a kept checkpoint of 10 records
    let f = Fixture::new("flipped", 10);
    let kept = f.checkpoint("cp.note");
    // When one byte of record 4 changes, its hash left as it was
    {
        let raw = navigo_store_sled::raw::RawLedger::open(&f.data).unwrap();
        let mut bytes = raw.record(4).unwrap().unwrap();
        let i = bytes.len() - 10;
        bytes[i] ^= 0x04;
        raw.put_record(4, &bytes).unwrap();
        raw.flush().unwrap();
    }
    // Then verify against the checkpoint names the record and its position
    let (code, v, err) = f.against(&f.data, &kept, &f.public);
    assert_eq!(code, 1, "{v} {err}");
    assert_eq!(v["difference"], "record", "{v}");
    assert_eq!(v["position"], 4);
    assert_eq!(v["verify"]["first_bad"]["position"], 4);
}

const CONTRACT_A: &str = "0196a000-0000-7000-8000-00000000000a";

/// The year scenario of the HTTP tests (a contract's year with the built-in
/// reference data), a key, a checkpoint mid-year and one at the end.
fn year(name: &str) -> Fixture {
    let f = Fixture::new(name, 0);
    let _ = std::fs::remove_dir_all(&f.data);
    ok(&f.data, &["init"]);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let out = run(&f.data, &["apply", scenario.to_str().unwrap()], None);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    f.checkpoint("end.note");
    f
}

fn bundle(f: &Fixture, known_at: &str) -> PathBuf {
    let text = ok(&f.data, &["bundle", CONTRACT_A, "--known-at", known_at]);
    let file = f
        .dir
        .join(format!("bundle-{}.json", known_at.replace(':', "-")));
    std::fs::write(&file, text).unwrap();
    file
}

fn verify_bundle(f: &Fixture, file: &Path, at: &str) -> Out {
    run(
        &f.data,
        &[
            "verify-bundle",
            file.to_str().unwrap(),
            "--key",
            f.public.to_str().unwrap(),
            "--at",
            at,
        ],
        None,
    )
}

#[test]
fn bundle_round_trips_through_verify_bundle_to_the_ledgers_own_views() {
    // Given a contract's year and a kept checkpoint
    let f = year("bundle");
    for known_at in ["2027-10-15T08:00:00Z", "2027-01-10T00:00:00Z"] {
        // When its bundle as known at an instant is checked offline (the
        // ledger moved away: the bundle alone is read)
        let file = bundle(&f, known_at);
        let moved = f.dir.join("moved");
        std::fs::rename(&f.data, &moved).unwrap();
        let out = verify_bundle(&f, &file, "2027-06-15");
        std::fs::rename(&moved, &f.data).unwrap();
        assert_eq!(out.code, 0, "{known_at}: {}", out.stderr);
        let checked = json(&out.stdout);
        // Then its views are the ledger's own as known at that instant
        assert_eq!(checked["ok"], true);
        for view in ["balance", "calendar"] {
            let own = json(&ok(
                &f.data,
                &[
                    view,
                    CONTRACT_A,
                    "--at",
                    "2027-06-15",
                    "--known-at",
                    known_at,
                    "--json",
                ],
            ));
            assert_eq!(checked[view], own, "{known_at} {view}");
        }
    }
}

#[test]
fn verify_bundle_refuses_an_edited_record_a_missing_record_and_another_key() {
    // Given a contract's bundle
    let f = year("bundle-tamper");
    let file = bundle(&f, "2027-10-15T08:00:00Z");
    let b = json(&std::fs::read_to_string(&file).unwrap());
    let contract = format!("contract:{CONTRACT_A}");
    let i = b["streams"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["stream"] == contract.as_str())
        .unwrap();
    // When one record's text is edited, or the last record dropped
    let mut edited = b.clone();
    let r = edited["streams"][i]["records"][1]["record"]
        .as_str()
        .unwrap()
        .to_owned();
    edited["streams"][i]["records"][1]["record"] =
        Value::String(r.replacen("\"data\":{", "\"data\":{\"x\":1,", 1));
    let mut dropped = b.clone();
    dropped["streams"][i]["records"]
        .as_array_mut()
        .unwrap()
        .pop();
    for (what, bad, named) in [
        ("edited", edited, "record at position"),
        ("dropped", dropped, "the signed map says"),
    ] {
        let bad_file = f.dir.join(format!("{what}.json"));
        std::fs::write(&bad_file, bad.to_string()).unwrap();
        let out = verify_bundle(&f, &bad_file, "2027-06-15");
        // Then it is refused, naming what does not hold
        assert_eq!(out.code, 1, "{what}: {}", out.stdout);
        assert!(out.stderr.contains(named), "{what}: {}", out.stderr);
    }
    // And the genuine bundle with another key's public half is refused
    let other = f.dir.join("other.key");
    ok(
        &f.data,
        &["key", "create", "--key-file", other.to_str().unwrap()],
    );
    let text = ok(
        &f.data,
        &["key", "public", "--key-file", other.to_str().unwrap()],
    );
    std::fs::write(&f.public, text).unwrap();
    let out = verify_bundle(&f, &file, "2027-06-15");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("signature"), "{}", out.stderr);
}

/// A generated population's ledger (`demo`, small), a key and a checkpoint
/// covering its whole log, and every person with the contracts whose records
/// recorded by `PERSON_KNOWN_AT` name them as holder or payer.
fn population(name: &str) -> (Fixture, BTreeMap<Uuid, BTreeSet<Uuid>>) {
    let f = Fixture::new(name, 0);
    let _ = std::fs::remove_dir_all(&f.data);
    ok(
        &f.data,
        &[
            "demo",
            "--contracts",
            "12",
            "--seed",
            "2024",
            "--through",
            "2024-12-31",
            "--json",
        ],
    );
    f.checkpoint("end.note");
    let known_at: DateTime<Utc> = PERSON_KNOWN_AT.parse().unwrap();
    let mut persons: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for e in log(&f.data) {
        match e.stream.kind {
            StreamKind::Person => {
                persons.entry(e.stream.id).or_default();
            }
            StreamKind::Contract if e.recorded_at <= known_at => {
                for p in e.event.contract_parties() {
                    persons.entry(p).or_default().insert(e.stream.id);
                }
            }
            _ => {}
        }
    }
    (f, persons)
}

/// The whole log, read in-process through the store (every record checked).
fn log(data: &Path) -> Vec<Envelope> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let clock = Arc::new(ManualClock::new("2011-06-01T00:00:00Z".parse().unwrap()));
        let store = SledStore::open(data, Limits::default(), clock).unwrap();
        let events = navigo_ledger_core::load::read_everything(&store)
            .await
            .unwrap();
        store.close().await.unwrap();
        events
    })
}

const PERSON_KNOWN_AT: &str = "2024-10-01T00:00:00Z";
const PERSON_AT: &str = "2024-09-15";

fn person_bundle(f: &Fixture, person: Uuid) -> (PathBuf, Value) {
    let text = ok(
        &f.data,
        &["bundle", &person.to_string(), "--known-at", PERSON_KNOWN_AT],
    );
    let file = f.dir.join(format!("person-{person}.json"));
    std::fs::write(&file, &text).unwrap();
    (file, json(&text))
}

#[test]
fn bundle_of_every_person_round_trips_through_verify_bundle_to_the_ledgers_own_views() {
    // Given a generated population, a kept checkpoint, and the ledger's own
    // views of each contract as known at an instant
    let (f, persons) = population("person-bundles");
    assert!(persons.len() >= 12, "{} persons", persons.len());
    let mut own: BTreeMap<(Uuid, &str), Value> = BTreeMap::new();
    for contract in persons.values().flatten() {
        for view in ["balance", "calendar"] {
            own.entry((*contract, view)).or_insert_with(|| {
                let id = contract.to_string();
                let args = [view, &id, "--at", PERSON_AT, "--known-at", PERSON_KNOWN_AT];
                json(&ok(&f.data, &[&args[..], &["--json"]].concat()))
            });
        }
    }
    let moved = f.dir.join("moved");
    for (person, contracts) in &persons {
        // When each person's bundle is written, then checked offline (the
        // ledger moved away: the bundle alone is read)
        let (file, b) = person_bundle(&f, *person);
        std::fs::rename(&f.data, &moved).unwrap();
        let out = verify_bundle(&f, &file, PERSON_AT);
        std::fs::rename(&moved, &f.data).unwrap();
        assert_eq!(out.code, 0, "{person}: {}", out.stderr);
        let checked = json(&out.stdout);
        // Then it lists exactly the person's contracts as known then, and
        // each contract's views are the ledger's own
        let listed: Vec<String> = contracts.iter().map(ToString::to_string).collect();
        assert_eq!(b["person"], person.to_string());
        assert_eq!(b["contracts"], serde_json::json!(listed), "{person}");
        assert_eq!(checked["ok"], true);
        assert_eq!(checked["person"], person.to_string());
        let views = checked["contracts"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        assert_eq!(views.len(), contracts.len(), "{person}");
        for (v, contract) in views.iter().zip(contracts) {
            assert_eq!(v["contract"], contract.to_string());
            for view in ["balance", "calendar"] {
                assert_eq!(
                    v[view],
                    own[&(*contract, view)],
                    "{person} {contract} {view}"
                );
            }
        }
    }
}

#[test]
fn verify_bundle_refuses_a_persons_bundle_without_a_record_of_one_of_their_contracts() {
    // Given the bundle of a person who holds or pays a contract
    let (f, persons) = population("person-bundle-tamper");
    let (person, contracts) = persons
        .iter()
        .find(|(_, c)| !c.is_empty())
        .expect("a person with a contract");
    let contract = format!("contract:{}", contracts.first().unwrap());
    let (_, b) = person_bundle(&f, *person);
    let i = b["streams"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["stream"] == contract.as_str())
        .expect("the contract's stream");
    // When one record of that contract's stream is dropped, or the whole
    // stream, or a contract the person is no party to is listed
    let mut dropped = b.clone();
    dropped["streams"][i]["records"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let mut no_stream = b.clone();
    no_stream["streams"].as_array_mut().unwrap().remove(i);
    let stranger = persons
        .values()
        .flatten()
        .find(|c| !contracts.contains(c))
        .expect("another contract");
    let mut foreign = b.clone();
    foreign["contracts"] = serde_json::json!([stranger.to_string()]);
    for (what, bad, named) in [
        (
            "dropped",
            dropped,
            format!("{contract}: the signed map says"),
        ),
        ("no-stream", no_stream, format!("no stream {contract}")),
        ("foreign", foreign, format!("no stream contract:{stranger}")),
    ] {
        let bad_file = f.dir.join(format!("{what}.json"));
        std::fs::write(&bad_file, bad.to_string()).unwrap();
        let out = verify_bundle(&f, &bad_file, PERSON_AT);
        // Then it is refused, naming the contract's stream
        assert_eq!(out.code, 1, "{what}: {}", out.stdout);
        assert!(out.stderr.contains(&named), "{what}: {}", out.stderr);
    }
}
