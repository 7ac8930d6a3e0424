//! The independent verifier (`verifier/`, written from the documents alone)
//! against the first implementation (the ledger's binary and the merkle
//! crate, as the existing auditor tests use them): both accept the same
//! genuine exports, checkpoints, proofs and bundles; both refuse every
//! single-bit mutation of them (exhaustively on small ones, sampled on a
//! bundle), the few mutations that leave an artifact's meaning unchanged or
//! touch an unsigned field being listed precisely; and the insider attacks
//! the chain alone misses are refused given a checkpoint the auditor kept.

mod cli_support;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use navigo_events_schema::views::{ConsistencyProofView, InclusionProofView, StreamProofView};
use navigo_merkle::{
    check_head, leaf_hash, Checkpoint, CheckpointVerifier, ConsistencyProof, Frontier, Hash,
    InclusionProof, StreamHead,
};
use navigo_verifier::note::PublicKey;
use navigo_verifier::{bundle, export, note, proofs};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use serde_json::Value;

use cli_support::{ok, run, STREAM_A, STREAM_B};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

fn line(stream: &str, reference: &str) -> String {
    format!(
        "{{\"stream\":\"{stream}\",\"type\":\"MandateRevoked\",\"schema_version\":1,\
         \"effective_date\":\"2026-11-01\",\"actor\":{{\"role\":\"agent\",\"id\":\"A1\"}},\
         \"data\":{{\"reference\":\"{reference}\"}}}}\n"
    )
}

/// A ledger, its signing key and the public key an auditor keeps, in a
/// directory removed on drop.
struct Fixture {
    dir: PathBuf,
    data: PathBuf,
    key: PathBuf,
    public: PathBuf,
    public_text: String,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("independent-verifier-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("ledger");
        let key = dir.join("signing.key");
        let public = dir.join("signing.pub");
        Fixture {
            dir,
            data,
            key,
            public,
            public_text: String::new(),
        }
    }

    /// A ledger of `n` records on two streams (every third on B).
    fn records(name: &str, n: u32) -> Fixture {
        let mut f = Fixture::new(name);
        ok(&f.data, &["init", "--empty"]);
        f.append(0, n);
        f.keys();
        f
    }

    fn keys(&mut self) {
        let key = self.key.to_str().unwrap();
        ok(&self.data, &["key", "create", "--key-file", key]);
        self.public_text = ok(&self.data, &["key", "public", "--key-file", key]);
        std::fs::write(&self.public, &self.public_text).unwrap();
    }

    fn append(&self, from: u32, to: u32) {
        let input: String = (from..to)
            .map(|i| {
                line(
                    if i % 3 == 2 { STREAM_B } else { STREAM_A },
                    &format!("R{i:02}"),
                )
            })
            .collect();
        let out = run(&self.data, &["append"], Some(&input));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }

    /// Signs a checkpoint of the whole log; the auditor keeps its note.
    fn checkpoint(&self, file: &str) -> (PathBuf, Vec<u8>) {
        let note = ok(
            &self.data,
            &["checkpoint", "--key-file", self.key.to_str().unwrap()],
        );
        let path = self.dir.join(file);
        std::fs::write(&path, &note).unwrap();
        (path, note.into_bytes())
    }

    fn export(&self, data: &Path, file: &str, window: &[&str]) -> Vec<u8> {
        let out = self.dir.join(file);
        let mut args = vec!["export", "--out", out.to_str().unwrap()];
        args.extend_from_slice(window);
        ok(data, &args);
        std::fs::read(out).unwrap()
    }

    fn key(&self) -> PublicKey {
        PublicKey::parse(&self.public_text).unwrap()
    }

    fn first_open(&self, note: &[u8]) -> Option<Checkpoint> {
        CheckpointVerifier::new(self.public_text.trim())
            .unwrap()
            .open(note)
            .ok()
    }

    fn second_open(&self, note: &[u8]) -> Option<note::Checkpoint> {
        note::open(note, &self.key()).ok()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// The first implementation's checks, as the existing auditor tests make them
// with the merkle crate (tests/export.rs, tests/proofs.rs), made fallible.

fn hash_of(s: &str) -> Option<Hash> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

fn hashes_of(v: &[String]) -> Option<Vec<Hash>> {
    v.iter().map(|s| hash_of(s)).collect()
}

/// An export as tests/export.rs recomputes it, against a trusted tree of
/// the export's size when given.
fn first_export(file: &[u8], trusted: Option<&Checkpoint>) -> bool {
    (|| -> Option<()> {
        let text = std::str::from_utf8(file).ok()?;
        let mut lines = text.strip_suffix('\n')?.split('\n');
        let header: Value = serde_json::from_str(lines.next()?).ok()?;
        (header["format"] == "navigo-ledger-export" && header["version"] == 1).then_some(())?;
        let from = header["from"].as_u64().filter(|f| *f >= 1)?;
        let before: Vec<Hash> = serde_json::from_value(header["before"].clone()).ok()?;
        let mut frontier = Frontier::from_hashes(from - 1, &before).ok()?;
        let mut prev = header["prev_hash"].as_str()?.to_owned();
        for (position, line) in (from..).zip(lines) {
            let v: Value = serde_json::from_str(line).ok()?;
            let record = B64.decode(v["record"].as_str()?).ok()?;
            (blake3::hash(&record).to_hex().as_str() == v["hash"].as_str()?).then_some(())?;
            let r: Value = serde_json::from_slice(&record).ok()?;
            let linked = r["prev_hash"].as_str()? == prev
                && r["position"] == v["position"]
                && v["position"].as_u64()? == position
                && r["stream"] == v["stream"]
                && r["stream_seq"] == v["sequence"];
            linked.then_some(())?;
            frontier.append(leaf_hash(&record));
            prev = v["hash"].as_str()?.to_owned();
        }
        let size = header["size"].as_u64()?;
        let whole = frontier.size() == size
            && header["to"].as_u64()? == size
            && hash_of(header["root"].as_str()?)? == frontier.root();
        let kept = trusted.is_none_or(|c| c.size == size && c.root == frontier.root());
        (whole && kept).then_some(())
    })()
    .is_some()
}

/// An inclusion proof view against a trusted checkpoint (tests/proofs.rs).
fn first_inclusion(text: &[u8], c: &Checkpoint) -> bool {
    (|| -> Option<()> {
        let v: InclusionProofView = serde_json::from_slice(text).ok()?;
        let leaf = hash_of(&v.leaf)?;
        let r: Value = serde_json::from_str(&v.record).ok()?;
        let sound = leaf_hash(v.record.as_bytes()) == leaf
            && hash_of(&v.root)? == c.root
            && r["position"].as_u64()? == v.position;
        sound.then_some(())?;
        InclusionProof {
            size: v.size,
            index: v.position.checked_sub(1)?,
            leaf,
            path: hashes_of(&v.path)?,
        }
        .check(c.tree())
        .ok()
    })()
    .is_some()
}

/// A consistency proof view between two trusted checkpoints.
fn first_consistency(text: &[u8], old: &Checkpoint, new: &Checkpoint) -> bool {
    (|| -> Option<()> {
        let v: ConsistencyProofView = serde_json::from_slice(text).ok()?;
        let roots = hash_of(&v.old_root)? == old.root && hash_of(&v.new_root)? == new.root;
        roots.then_some(())?;
        ConsistencyProof {
            old_size: v.old_size,
            new_size: v.new_size,
            path: hashes_of(&v.path)?,
        }
        .check(old.tree(), new.tree())
        .ok()
    })()
    .is_some()
}

/// A stream proof view, its checkpoint opened with the key.
fn first_stream(f: &Fixture, text: &[u8]) -> bool {
    (|| -> Option<()> {
        let v: StreamProofView = serde_json::from_slice(text).ok()?;
        let c = f.first_open(v.checkpoint.signed_note.as_bytes())?;
        let stated = v.checkpoint.size == c.size
            && v.checkpoint.origin == c.origin
            && hash_of(&v.checkpoint.root)? == c.root
            && v.checkpoint.stream_heads == c.heads_count
            && hash_of(&v.checkpoint.stream_heads_root)? == c.heads_root
            && v.checkpoint.last_recorded_at == c.last_recorded_at;
        stated.then_some(())?;
        let head = StreamHead {
            stream: v.stream.clone(),
            version: v.version,
            last_position: v.last_position,
        };
        let entry = InclusionProof {
            size: c.heads_count,
            index: v.entry_index,
            leaf: hash_of(&v.entry_leaf)?,
            path: hashes_of(&v.entry_path)?,
        };
        check_head(&head, &entry, c.heads()).ok()?;
        let last: Value = serde_json::from_str(&v.last_record.record).ok()?;
        let tied = v.last_record.position == v.last_position
            && last["stream"].as_str()? == v.stream
            && last["stream_seq"].as_u64()? == v.version;
        tied.then_some(())?;
        let record = serde_json::to_vec(&v.last_record).ok()?;
        first_inclusion(&record, &c).then_some(())
    })()
    .is_some()
}

/// Every single-bit flip of `bytes`: the bit's number and the flipped bytes.
fn bit_flips(bytes: &[u8]) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    (0..bytes.len() * 8).map(move |bit| {
        let mut b = bytes.to_vec();
        b[bit / 8] ^= 1 << (bit % 8);
        (bit, b)
    })
}

/// Runs both verdicts on every flip: they must agree, and the flips both
/// accept are returned (byte offset, flipped byte) for the test to judge.
fn both_on_every_flip(
    bytes: &[u8],
    first: impl Fn(&[u8]) -> bool,
    second: impl Fn(&[u8]) -> bool,
) -> Vec<(usize, u8)> {
    let mut accepted = Vec::new();
    for (bit, flipped) in bit_flips(bytes) {
        let (a, b) = (first(&flipped), second(&flipped));
        assert_eq!(
            a,
            b,
            "bit {bit} (byte {} {:?} -> {:?}): the first says {a}, the independent verifier {b}",
            bit / 8,
            bytes[bit / 8] as char,
            flipped[bit / 8] as char
        );
        if a {
            accepted.push((bit / 8, flipped[bit / 8]));
        }
    }
    accepted
}

fn second_export(file: &[u8], trusted: Option<&note::Checkpoint>) -> bool {
    export::check(file, trusted).is_ok()
}

#[test]
fn independent_verifier_accepts_what_the_first_accepts_at_sizes_not_powers_of_two_and_windows() {
    // Given a ledger of 13 records and a checkpoint the auditor kept
    let f = Fixture::records("accepts", 13);
    let (_, note) = f.checkpoint("cp13.note");
    let (first_cp, second_cp) = (f.first_open(&note).unwrap(), f.second_open(&note).unwrap());
    // Then both open it to the same statement
    assert_eq!(
        (
            second_cp.size,
            second_cp.root,
            second_cp.heads_count,
            second_cp.heads_root
        ),
        (
            first_cp.size,
            first_cp.root.0,
            first_cp.heads_count,
            first_cp.heads_root.0
        )
    );
    assert_eq!(second_cp.recorded_at, first_cp.last_recorded_at);
    // And both accept the whole export and windows starting after 1, with
    // and without the checkpoint, and agree on the chain head `verify` prints
    for window in [
        &[][..],
        &["--from", "6"],
        &["--from", "2", "--to", "13"],
        &["--from", "13"],
    ] {
        let file = f.export(&f.data, &format!("e{}.jsonl", window.len()), window);
        assert!(first_export(&file, Some(&first_cp)), "{window:?}");
        let s = export::check(&file, Some(&second_cp)).unwrap();
        assert_eq!((s.to, s.root), (13, first_cp.root.0));
        std::fs::remove_file(f.dir.join(format!("e{}.jsonl", window.len()))).unwrap();
    }
    let verify = ok(&f.data, &["verify", "--json"]);
    let head = export::check(&f.export(&f.data, "all.jsonl", &[]), None)
        .unwrap()
        .chain_head;
    assert!(verify.contains(&head), "{verify} does not name {head}");
    // And a window checked against a smaller checkpoint it covers from its
    // `before` onwards (the prefix the format can rebuild)
    f.append(13, 21);
    let (_, note21) = f.checkpoint("cp21.note");
    let window = f.export(&f.data, "w.jsonl", &["--from", "9"]);
    assert!(export::check(&window, Some(&second_cp)).is_ok());
    assert!(export::check(&window, f.second_open(&note21).as_ref()).is_ok());
    // But not one smaller than the window's start: the format cannot rebuild
    // that root, and the verifier says so rather than guessing
    let late = f.export(&f.data, "late.jsonl", &["--from", "15"]);
    let err = export::check(&late, Some(&second_cp)).unwrap_err();
    assert!(err.0.contains("cannot be rebuilt"), "{err}");
    // And both accept every record's inclusion proof, consistency proofs
    // between sizes that are not powers of two, and the stream proofs
    let first21 = f.first_open(&note21).unwrap();
    let second21 = f.second_open(&note21).unwrap();
    for position in 1..=21u64 {
        let p = ok(&f.data, &["prove", "inclusion", &position.to_string()]);
        assert!(first_inclusion(p.as_bytes(), &first21), "{position}");
        let v: proofs::InclusionView = proofs::parse(p.as_bytes()).unwrap();
        proofs::check_inclusion_view(&v, &second21).unwrap();
    }
    let p = ok(&f.data, &["prove", "consistency", "13", "21"]);
    assert!(first_consistency(p.as_bytes(), &first_cp, &first21));
    let v: proofs::ConsistencyView = proofs::parse(p.as_bytes()).unwrap();
    proofs::check_consistency_view(&v, &second_cp, &second21).unwrap();
    for stream in [STREAM_A, STREAM_B] {
        let p = ok(&f.data, &["prove", "stream", stream]);
        assert!(first_stream(&f, p.as_bytes()), "{stream}");
        let v: proofs::StreamView = proofs::parse(p.as_bytes()).unwrap();
        proofs::check_stream_view(&v, &f.key()).unwrap();
    }
}

#[test]
fn independent_verifier_refuses_every_bit_flip_of_an_export_as_the_first_does() {
    // Given a small export of records 3 to 5 (a window: `before` and
    // `prev_hash` are not trivial) and the kept checkpoint of size 5
    let f = Fixture::records("flip-export", 5);
    let (_, note) = f.checkpoint("cp.note");
    let (first_cp, second_cp) = (f.first_open(&note).unwrap(), f.second_open(&note).unwrap());
    let file = f.export(&f.data, "e.jsonl", &["--from", "3"]);
    // When any one bit of it is flipped, then both refuse it
    let accepted = both_on_every_flip(
        &file,
        |b| first_export(b, Some(&first_cp)),
        |b| second_export(b, Some(&second_cp)),
    );
    assert_eq!(accepted, vec![], "flips both accept");
}

#[test]
fn independent_verifier_refuses_every_bit_flip_of_a_checkpoint_as_the_first_does() {
    // Given a signed checkpoint of 7 records
    let f = Fixture::records("flip-checkpoint", 7);
    let (_, note) = f.checkpoint("cp.note");
    // When any one bit of it is flipped, then both refuse it: the text is
    // signed, and the signature's base64 has no spare bits either (strict
    // decoding: its 68 bytes leave 2 padding bits that must be zero)
    let accepted = both_on_every_flip(
        &note,
        |b| f.first_open(b).is_some(),
        |b| f.second_open(b).is_some(),
    );
    assert_eq!(accepted, vec![], "flips both accept");
}

#[test]
fn independent_verifier_refuses_every_bit_flip_of_inclusion_consistency_and_stream_proofs() {
    // Given 11 records, checkpoints at 6 and 11, and the proofs `prove` prints
    let f = Fixture::records("flip-proofs", 6);
    let (_, note6) = f.checkpoint("cp6.note");
    f.append(6, 11);
    let (_, note11) = f.checkpoint("cp11.note");
    let (c6, c11) = (
        f.first_open(&note6).unwrap(),
        f.first_open(&note11).unwrap(),
    );
    let (d6, d11) = (
        f.second_open(&note6).unwrap(),
        f.second_open(&note11).unwrap(),
    );
    let inclusion = ok(&f.data, &["prove", "inclusion", "5"]);
    let consistency = ok(&f.data, &["prove", "consistency", "6", "11"]);
    let stream = ok(&f.data, &["prove", "stream", STREAM_B]);
    // When any one bit of one of them is flipped, then both refuse it
    let accepted = both_on_every_flip(
        inclusion.as_bytes(),
        |b| first_inclusion(b, &c11),
        |b| {
            proofs::parse::<proofs::InclusionView>(b)
                .and_then(|v| proofs::check_inclusion_view(&v, &d11))
                .is_ok()
        },
    );
    assert_eq!(accepted, vec![], "inclusion proof flips both accept");
    let accepted = both_on_every_flip(
        consistency.as_bytes(),
        |b| first_consistency(b, &c6, &c11),
        |b| {
            proofs::parse::<proofs::ConsistencyView>(b)
                .and_then(|v| proofs::check_consistency_view(&v, &d6, &d11))
                .is_ok()
        },
    );
    assert_eq!(accepted, vec![], "consistency proof flips both accept");
    let key = f.key();
    let accepted = both_on_every_flip(
        stream.as_bytes(),
        |b| first_stream(&f, b),
        |b| {
            proofs::parse::<proofs::StreamView>(b)
                .and_then(|v| proofs::check_stream_view(&v, &key))
                .is_ok()
        },
    );
    // but for the checkpoint's `number` (its place in the ledger's list of
    // checkpoints: bookkeeping, not signed), which both let change
    let key_end = stream.find("\"number\":").unwrap() + "\"number\":".len();
    let number = key_end
        + stream[key_end..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap();
    assert!(
        accepted.iter().all(|(byte, _)| *byte == number),
        "stream proof flips both accept: {accepted:?}"
    );
}

/// What an insider with write access does to the newest record: edits its
/// canonical JSON, recomputes its BLAKE3 hash and has the Merkle tree
/// recomputed (as tests/proofs.rs does), so that nothing on disk disagrees.
fn rewrite_newest_record(data: &Path, position: u64, from: &str, to: &str) {
    let raw = navigo_store_sled::raw::RawLedger::open(data).unwrap();
    let record = raw.record(position).unwrap().unwrap();
    let edited = String::from_utf8(record[32..].to_vec())
        .unwrap()
        .replace(from, to);
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

/// A forged export, sound on its own: the record at `position` edited, and
/// every later record's `prev_hash` and hash, and the header's root,
/// recomputed from it.
fn forge_from(file: &[u8], position: u64, from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(file).unwrap();
    let mut lines = text.lines();
    let mut header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let start = header["from"].as_u64().unwrap();
    let before: Vec<Hash> = serde_json::from_value(header["before"].clone()).unwrap();
    let mut frontier = Frontier::from_hashes(start - 1, &before).unwrap();
    let (mut old_prev, mut new_prev) = (String::new(), String::new());
    let mut out = Vec::new();
    for line in lines {
        let mut v: Value = serde_json::from_str(line).unwrap();
        let mut record =
            String::from_utf8(B64.decode(v["record"].as_str().unwrap()).unwrap()).unwrap();
        if v["position"].as_u64().unwrap() == position {
            assert!(record.contains(from), "{record}");
            record = record.replace(from, to);
        } else if !old_prev.is_empty() {
            record = record.replace(&old_prev, &new_prev);
        }
        let hash = blake3::hash(record.as_bytes()).to_hex().to_string();
        if v["position"].as_u64().unwrap() >= position {
            old_prev = v["hash"].as_str().unwrap().to_owned();
            new_prev = hash.clone();
        }
        v["hash"] = Value::String(hash);
        v["record"] = Value::String(B64.encode(record.as_bytes()));
        frontier.append(leaf_hash(record.as_bytes()));
        out.push(serde_json::to_string(&v).unwrap());
    }
    header["root"] = Value::String(B64.encode(frontier.root().0));
    let mut forged = serde_json::to_string(&header).unwrap() + "\n";
    for line in out {
        forged += &line;
        forged.push('\n');
    }
    forged.into_bytes()
}

#[test]
fn independent_verifier_refuses_the_insider_attacks_given_a_kept_checkpoint() {
    // Given a ledger of 24 records, a copy of it as it was, then 6 more and
    // the checkpoint of 30 the auditor keeps
    let f = Fixture::records("attacks", 24);
    let cut = f.dir.join("cut");
    copy_dir(&f.data, &cut);
    f.append(24, 30);
    let (_, note) = f.checkpoint("cp30.note");
    let (first_cp, second_cp) = (f.first_open(&note).unwrap(), f.second_open(&note).unwrap());

    // When the log handed over is six records short (a cut or zeroed tail:
    // what remains is a sound log of 24, and its export verifies alone)
    let short = f.export(&cut, "short.jsonl", &[]);
    assert!(second_export(&short, None) && first_export(&short, None));
    // Then both refuse it against the kept checkpoint, saying so
    assert!(!first_export(&short, Some(&first_cp)));
    let err = export::check(&short, Some(&second_cp)).unwrap_err();
    assert!(
        err.0.contains("covers 30 records, the export stops at 24"),
        "{err}"
    );

    // When a middle record is edited and the whole chain after it rehashed,
    // the root recomputed: an export sound on its own
    let genuine = f.export(&f.data, "genuine.jsonl", &[]);
    let forged = forge_from(&genuine, 10, "R09", "X09");
    assert!(second_export(&forged, None) && first_export(&forged, None));
    // Then both refuse it against the kept checkpoint, naming the root
    assert!(!first_export(&forged, Some(&first_cp)));
    let err = export::check(&forged, Some(&second_cp)).unwrap_err();
    assert!(err.0.contains("root for size 30"), "{err}");

    // When the insider rewrites the newest record in the ledger itself, its
    // hash and the tree recomputed, so that `verify` alone passes
    rewrite_newest_record(&f.data, 30, "R29", "X29");
    assert_eq!(run(&f.data, &["verify"], None).code, 0);
    let rewritten = f.export(&f.data, "rewritten.jsonl", &[]);
    assert!(second_export(&rewritten, None) && first_export(&rewritten, None));
    // Then both refuse its export against the kept checkpoint
    assert!(!first_export(&rewritten, Some(&first_cp)));
    let err = export::check(&rewritten, Some(&second_cp)).unwrap_err();
    assert!(err.0.contains("root for size 30"), "{err}");
}

const CONTRACT_A: &str = "0196a000-0000-7000-8000-00000000000a";
const KNOWN_AT: &str = "2027-10-15T08:00:00Z";

/// The year scenario (a contract's year with the built-in reference data),
/// a key, and checkpoints mid-way and at the end; its bundle.
fn year_bundle(name: &str) -> (Fixture, Vec<u8>) {
    let mut f = Fixture::new(name);
    ok(&f.data, &["init"]);
    f.keys();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let out = run(&f.data, &["apply", scenario.to_str().unwrap()], None);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    f.checkpoint("end.note");
    let bundle = ok(&f.data, &["bundle", CONTRACT_A, "--known-at", KNOWN_AT]);
    (f, bundle.into_bytes())
}

/// The ledger's own `verify-bundle` on bundle bytes.
fn first_bundle(f: &Fixture, bytes: &[u8], n: usize) -> bool {
    let file = f.dir.join(format!("flipped-{n}.json"));
    std::fs::write(&file, bytes).unwrap();
    let args = [
        "verify-bundle",
        file.to_str().unwrap(),
        "--key",
        f.public.to_str().unwrap(),
        "--at",
        "2027-06-15",
    ];
    let code = run(&f.data, &args, None).code;
    std::fs::remove_file(file).unwrap();
    code == 0
}

/// The byte range of a top-level string field's value in a bundle.
fn value_range(bundle: &[u8], field: &str) -> std::ops::Range<usize> {
    let text = std::str::from_utf8(bundle).unwrap();
    let key = format!("\"{field}\": \"");
    let start = text.find(&key).unwrap() + key.len();
    start..start + text[start..].find('"').unwrap()
}

#[test]
fn independent_verifier_accepts_a_bundle_verify_bundle_accepts_and_refuses_its_edits() {
    // Given a contract's dispute bundle that the ledger's verify-bundle accepts
    let (f, genuine) = year_bundle("bundle-accepts");
    assert!(first_bundle(&f, &genuine, 0));
    // Then the independent verifier accepts it too
    let s = bundle::check(&genuine, &f.key()).unwrap();
    assert_eq!(s.contract, CONTRACT_A);
    assert!(s.records > 0 && s.streams >= 1, "{s:?}");
    // And refuses it, as verify-bundle does, with a record dropped
    let mut v: Value = serde_json::from_slice(&genuine).unwrap();
    let records = v["streams"][0]["records"].as_array_mut().unwrap();
    records.pop();
    let dropped = serde_json::to_vec(&v).unwrap();
    assert!(!first_bundle(&f, &dropped, 1));
    let err = bundle::check(&dropped, &f.key()).unwrap_err();
    assert!(err.0.contains("the signed map says"), "{err}");
}

/// Whether an accepted flip is one of the two the format leaves open: the
/// unsigned `known_at` (any other valid instant: the auditor chooses the
/// instant the views are read as of) and the contract's UUID in the other
/// case of a hex letter (the same UUID).
fn flip_is_allowed(genuine: &[u8], byte: usize, flipped: u8) -> bool {
    let in_known_at = value_range(genuine, "known_at").contains(&byte);
    let case_of_contract = value_range(genuine, "contract").contains(&byte)
        && flipped.eq_ignore_ascii_case(&genuine[byte]);
    in_known_at || case_of_contract
}

#[test]
fn independent_verifier_refuses_every_bit_flip_of_a_bundle_and_agrees_with_verify_bundle_on_a_sample(
) {
    // Given a contract's dispute bundle
    let (f, genuine) = year_bundle("bundle-flips");
    let key = f.key();
    // When any one bit of its signed part or its first stream's entry is
    // flipped (exhaustively: the checkpoints, their consistency, the
    // contract and instant), or of a sample of its records, then the
    // independent verifier refuses it, but for the flips the format leaves
    // open
    let head = std::str::from_utf8(&genuine)
        .unwrap()
        .find("\"records\"")
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let elsewhere = (0..1500).map(|_| {
        (head * 8..genuine.len() * 8)
            .new_tree(&mut runner)
            .unwrap()
            .current()
    });
    let mut open = Vec::new();
    for bit in (0..head * 8).chain(elsewhere) {
        let mut flipped = genuine.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if bundle::check(&flipped, &key).is_ok() {
            assert!(
                flip_is_allowed(&genuine, bit / 8, flipped[bit / 8]),
                "bit {bit} accepted"
            );
            open.push(bit);
        }
    }
    assert!(!open.is_empty(), "known_at's digits do give other instants");
    // And on a sample (each run of verify-bundle is a process), the ledger's
    // verify-bundle says the same
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    // Half the sample among the flips the format leaves open, half anywhere.
    let sampled = prop_oneof![0..genuine.len() * 8, proptest::sample::select(open)];
    runner
        .run(&sampled, |bit| {
            let mut flipped = genuine.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let first = first_bundle(&f, &flipped, bit);
            let second = bundle::check(&flipped, &key).is_ok();
            prop_assert_eq!(first, second, "bit {}", bit);
            Ok(())
        })
        .unwrap();
}
