//! `export` through the binary, checked as an auditor would with the file
//! alone (BLAKE3, base64 and the merkle crate): the chain head and the Merkle
//! root the ledger reports are recomputed from the lines, for the whole log
//! and for windows; a corrupt record stops the export naming its position and
//! leaves no file. And every reading command an auditor runs works on a
//! read-only copy of the data directory without writing into it.

mod cli_support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use navigo_merkle::{leaf_hash, CheckpointVerifier, Frontier, Hash};
use serde_json::Value;

use cli_support::{json, ok, run, Out, STREAM_A, STREAM_B};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A ledger of `n` records on two streams, a signing key and its public
/// half, in a directory removed on drop.
struct Fixture {
    dir: PathBuf,
    data: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

impl Fixture {
    fn new(name: &str, n: u32) -> Fixture {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("export-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("ledger");
        ok(&data, &["init", "--empty"]);
        let input: String = (0..n)
            .map(|i| {
                let stream = if i % 3 == 2 { STREAM_B } else { STREAM_A };
                format!(
                    "{{\"stream\":\"{stream}\",\"type\":\"MandateRevoked\",\"schema_version\":1,\
                     \"effective_date\":\"2026-11-01\",\"actor\":{{\"role\":\"agent\",\"id\":\"A1\"}},\
                     \"data\":{{\"reference\":\"R{i:02}\"}}}}\n"
                )
            })
            .collect();
        let out = run(&data, &["append"], Some(&input));
        assert_eq!(out.code, 0, "{}", out.stderr);
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

    /// Signs a checkpoint, keeps its note in `file`, and opens it as the
    /// auditor does: (size, root).
    fn checkpoint(&self, file: &str) -> (PathBuf, u64, Hash) {
        let note = ok(
            &self.data,
            &["checkpoint", "--key-file", self.key.to_str().unwrap()],
        );
        let path = self.dir.join(file);
        std::fs::write(&path, &note).unwrap();
        let public = std::fs::read_to_string(&self.public).unwrap();
        let c = CheckpointVerifier::new(public.trim())
            .unwrap()
            .open(note.as_bytes())
            .unwrap();
        (path, c.size, c.root)
    }

    fn export(&self, data: &Path, out: &str, window: &[&str]) -> (Out, PathBuf) {
        let file = self.dir.join(out);
        let mut args = vec!["export", "--out", file.to_str().unwrap()];
        args.extend_from_slice(window);
        (run(data, &args, None), file)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What an auditor recomputes from an export alone.
struct Recomputed {
    header: Value,
    root: Hash,
    chain_head: String,
    positions: Vec<u64>,
}

/// The auditor's check of an export file: every line's hash is BLAKE3 of its
/// record, each record links to the one before (the header's `prev_hash`
/// first) and states its position, stream and sequence; the leaves appended
/// to the frontier of the records before the window give the root.
fn recompute(file: &Path) -> Recomputed {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header = json(lines.next().unwrap());
    assert_eq!(header["format"], "navigo-ledger-export");
    assert_eq!(header["version"], 1);
    let from = header["from"].as_u64().unwrap();
    let before: Vec<Hash> = serde_json::from_value(header["before"].clone()).unwrap();
    let mut frontier = Frontier::from_hashes(from - 1, &before).unwrap();
    let mut prev = header["prev_hash"].as_str().unwrap().to_owned();
    let mut positions = Vec::new();
    for line in lines {
        let v = json(line);
        let record = base64::engine::general_purpose::STANDARD
            .decode(v["record"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            blake3::hash(&record).to_hex().as_str(),
            v["hash"].as_str().unwrap()
        );
        let r: Value = serde_json::from_slice(&record).unwrap();
        assert_eq!(r["prev_hash"].as_str().unwrap(), prev, "{line}");
        assert_eq!(r["position"], v["position"]);
        assert_eq!(r["stream"], v["stream"]);
        assert_eq!(r["stream_seq"], v["sequence"]);
        frontier.append(leaf_hash(&record));
        prev = v["hash"].as_str().unwrap().to_owned();
        positions.push(v["position"].as_u64().unwrap());
    }
    assert_eq!(frontier.size(), header["size"].as_u64().unwrap());
    Recomputed {
        root: frontier.root(),
        header,
        chain_head: prev,
        positions,
    }
}

#[test]
fn export_lines_recompute_the_chain_head_and_the_merkle_root_the_ledger_reports() {
    // Given 13 records (not a power of two) and a signed checkpoint of them
    let f = Fixture::new("whole", 13);
    let (_, size, signed_root) = f.checkpoint("cp.note");
    assert_eq!(size, 13);
    // When the whole log is exported
    let (out, file) = f.export(&f.data, "all.jsonl", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Then the file alone gives the chain head verify reports and the root
    // the checkpoint signs, and the header states that root
    let r = recompute(&file);
    assert_eq!(r.positions, (1..=13).collect::<Vec<_>>());
    assert_eq!(r.header["prev_hash"], GENESIS);
    assert_eq!(r.root, signed_root);
    assert_eq!(r.header["root"], signed_root.to_string());
    let verified = json(&ok(&f.data, &["verify", "--json"]));
    assert_eq!(verified["head"]["hash"], r.chain_head.as_str());
    assert!(out.stdout.contains(&r.chain_head), "{}", out.stdout);
}

#[test]
fn export_windows_recompute_the_root_at_their_last_position() {
    // Given 13 records
    let f = Fixture::new("windows", 13);
    let (_, _, root_13) = f.checkpoint("cp.note");
    for (from, to) in [(1u64, 5u64), (6, 13), (4, 4), (13, 13), (2, 12), (8, 9)] {
        // When the window is exported
        let (out, file) = f.export(
            &f.data,
            &format!("w-{from}-{to}.jsonl"),
            &["--from", &from.to_string(), "--to", &to.to_string()],
        );
        assert_eq!(out.code, 0, "{from}..{to}: {}", out.stderr);
        // Then it holds exactly those records, and they recompute the root of
        // the tree of `to` records that the ledger proves
        let r = recompute(&file);
        assert_eq!(r.positions, (from..=to).collect::<Vec<_>>());
        let expected = if to == 13 {
            root_13
        } else {
            let v = json(&ok(
                &f.data,
                &["prove", "consistency", &to.to_string(), "13"],
            ));
            serde_json::from_value(v["old_root"].clone()).unwrap()
        };
        assert_eq!(r.root, expected, "{from}..{to}");
        assert_eq!(r.header["root"], expected.to_string());
    }
}

#[test]
fn export_a_corrupt_record_stops_it_naming_the_position_and_leaves_no_file() {
    // Given one byte of record 7 changed, its hash left as it was
    let f = Fixture::new("corrupt", 10);
    {
        let raw = navigo_store_sled::raw::RawLedger::open(&f.data).unwrap();
        let mut bytes = raw.record(7).unwrap().unwrap();
        let i = bytes.len() - 10;
        bytes[i] ^= 0x04;
        raw.put_record(7, &bytes).unwrap();
        raw.flush().unwrap();
    }
    // When the log is exported
    let (out, file) = f.export(&f.data, "bad.jsonl", &[]);
    // Then it fails naming position 7, and neither the file nor a partial
    // one is left
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("position 7"), "{}", out.stderr);
    assert!(!file.exists());
    let left: Vec<_> = std::fs::read_dir(&f.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("export") || n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // And a window before the damage still exports
    let (out, _) = f.export(&f.data, "good.jsonl", &["--to", "6"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn export_refuses_an_existing_file_and_a_window_outside_the_log() {
    let f = Fixture::new("refusals", 5);
    let (out, file) = f.export(&f.data, "once.jsonl", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = std::fs::read(&file).unwrap();
    // An existing --out is never replaced
    let (out, _) = f.export(&f.data, "once.jsonl", &["--to", "2"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("exists"), "{}", out.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // A window outside the log is bad input naming the argument
    for (name, window) in [
        ("to", vec!["--to", "6"]),
        ("from", vec!["--from", "0"]),
        ("from", vec!["--from", "4", "--to", "3"]),
    ] {
        let (out, file) = f.export(&f.data, "w.jsonl", &window);
        assert_eq!(out.code, 2, "{window:?}: {}", out.stderr);
        assert!(out.stderr.contains(&format!("--{name}")), "{}", out.stderr);
        assert!(!file.exists());
    }
}

/// Every file under `dir` with its mode, length, modification time and
/// content hash: what "nothing was written" is checked against.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, u64, std::time::SystemTime, String)> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = std::fs::metadata(&d).unwrap();
        all.insert(
            d.clone(),
            (
                m.permissions().mode(),
                0,
                m.modified().unwrap(),
                String::new(),
            ),
        );
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                let content = blake3::hash(&std::fs::read(e.path()).unwrap());
                all.insert(
                    e.path(),
                    (
                        m.permissions().mode(),
                        m.len(),
                        m.modified().unwrap(),
                        content.to_hex().to_string(),
                    ),
                );
            }
        }
    }
    all
}

fn set_mode_recursively(dir: &Path, dir_mode: u32, file_mode: u32) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            set_mode_recursively(&e.path(), dir_mode, file_mode);
        } else {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(file_mode)).unwrap();
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode)).unwrap();
}

#[test]
fn read_only_copy_verify_against_prove_and_export_work_and_write_nothing() {
    // Given a ledger with a kept checkpoint, copied for an auditor and made
    // read-only as `chmod -R a-w` does
    let f = Fixture::new("read-only", 9);
    let (note, _, signed_root) = f.checkpoint("cp.note");
    let ro = f.dir.join("auditor-copy");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&f.data)
        .arg(&ro)
        .status()
        .unwrap();
    assert!(status.success());
    set_mode_recursively(&ro, 0o555, 0o444);
    let before = snapshot(&ro);
    let (note, public) = (note.to_str().unwrap(), f.public.to_str().unwrap());
    // When the auditor's commands run on it
    let commands: Vec<Vec<&str>> = vec![
        vec!["verify"],
        vec!["verify", "--against", note, "--key", public],
        vec!["prove", "inclusion", "3"],
        vec!["prove", "consistency", "4", "9"],
    ];
    let mut outputs = Vec::new();
    for args in &commands {
        let out = run(&ro, args, None);
        outputs.push(out);
    }
    let (export, file) = f.export(&ro, "ro.jsonl", &[]);
    outputs.push(export);
    // Then each succeeds, saying on stderr that it read a private copy (the
    // code's decision rests on the permission bits, so this holds also when
    // the tests run as root, for whom chmod does not prevent writing)
    for (args, out) in commands.iter().chain([&vec!["export"]]).zip(&outputs) {
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("is read-only; reading a private copy"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(recompute(&file).root, signed_root);
    // And not one file, mode or modification time of the directory changed,
    // nor was one added or removed
    assert_eq!(snapshot(&ro), before);
    // And a writable ledger is opened in place, without the note
    let out = run(&f.data, &["verify"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("read-only"), "{}", out.stderr);
    set_mode_recursively(&ro, 0o755, 0o644);
}
