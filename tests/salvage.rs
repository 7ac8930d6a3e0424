//! `salvage` through the binary: an intact ledger's salvage is its export,
//! line for line; a flipped byte inside one record's stored bytes costs that
//! position alone, named, with exit 1; a read-only copy is salvaged without a
//! byte of it changing.

mod cli_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use navigo_store_sled::keys::log_key;
use navigo_store_sled::raw::RawLedger;

use cli_support::{json, ok, run, STREAM_A, STREAM_B};

/// Records in the test ledgers.
const RECORDS: u64 = 30;

/// A ledger of [`RECORDS`] records on two streams, in a directory removed on
/// drop.
struct Fixture {
    dir: PathBuf,
    data: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("salvage-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("ledger");
        ok(&data, &["init", "--empty"]);
        // Appended in three runs, so that sled writes three flushes.
        for part in 0..3 {
            let input: String = (part * 10..part * 10 + 10)
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
        }
        Fixture { dir, data }
    }

    fn salvage(&self, data: &Path, out: &str) -> (cli_support::Out, PathBuf) {
        let file = self.dir.join(out);
        let args = ["salvage", "--out", file.to_str().unwrap()];
        (run(data, &args, None), file)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every file under `dir` with its bytes and mode, by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u32, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        if p.is_dir() {
            out.push((p.clone(), mode, Vec::new()));
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), mode, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn set_mode(dir: &Path, file: u32, directory: u32) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            set_mode(&e.path(), file, directory);
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(directory)).unwrap();
        } else {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(file)).unwrap();
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(directory)).unwrap();
}

#[test]
fn salvage_recovers_every_record_of_an_intact_ledger() {
    // Given an intact ledger and its export
    let f = Fixture::new("intact");
    let export = f.dir.join("export.jsonl");
    ok(&f.data, &["export", "--out", export.to_str().unwrap()]);
    // When it is salvaged
    let (out, file) = f.salvage(&f.data, "salvage.jsonl");
    // Then nothing is lost (exit 0) and the file is the export, line for line
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let summary = json(&out.stdout);
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["recovered"], RECORDS);
    assert_eq!(summary["lost"], serde_json::json!([]));
    assert_eq!(summary["head"]["position"], RECORDS);
    let (a, b) = (
        std::fs::read_to_string(&export).unwrap(),
        std::fs::read_to_string(&file).unwrap(),
    );
    assert_eq!(a.lines().count() as u64, RECORDS + 1);
    for (x, y) in a.lines().zip(b.lines()) {
        assert_eq!(x, y);
    }
    assert_eq!(a, b);
}

#[test]
fn salvage_of_a_flipped_byte_in_one_record_names_that_position_alone_and_exits_1() {
    // Given a ledger whose record 12 has one byte flipped in its zstd frame,
    // in every copy of its stored bytes in sled's `db`
    let f = Fixture::new("flip");
    let export = f.dir.join("export.jsonl");
    ok(&f.data, &["export", "--out", export.to_str().unwrap()]);
    let stored = {
        let raw = RawLedger::open(&f.data).unwrap();
        raw.tree().get(log_key(12)).unwrap().unwrap().to_vec()
    };
    let db = f.data.join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let hits: Vec<usize> = bytes
        .windows(stored.len())
        .enumerate()
        .filter(|(_, w)| *w == stored.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert!(!hits.is_empty());
    for at in hits {
        bytes[at + stored.len() - 3] ^= 0x10;
    }
    std::fs::write(&db, &bytes).unwrap();
    // When it is salvaged
    let (out, file) = f.salvage(&f.data, "salvage.jsonl");
    // Then exit 1: position 12 alone is lost, named on stderr and in the
    // summary, and every other record is written as the export wrote it
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let summary = json(&out.stdout);
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["lost"], serde_json::json!([[12, 12]]));
    assert_eq!(summary["lost_count"], 1);
    assert_eq!(summary["recovered"], RECORDS - 1);
    assert_eq!(summary["chain_breaks"], serde_json::json!([]));
    assert_eq!(summary["head"]["position"], RECORDS);
    assert!(out.stderr.contains("lost: position 12\n"), "{}", out.stderr);
    let written = std::fs::read_to_string(&file).unwrap();
    let header = json(written.lines().next().unwrap());
    assert_eq!(header["format"], "navigo-ledger-salvage");
    assert_eq!(header["lost"], serde_json::json!([[12, 12]]));
    let expected: Vec<String> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| json(l)["position"] != 12)
        .map(String::from)
        .collect();
    let got: Vec<String> = written.lines().skip(1).map(String::from).collect();
    assert_eq!(got, expected);
    // And `verify` names sled's file and points to salvage
    let v = run(&f.data, &["verify"], None);
    assert_ne!(v.code, 0);
    let said = format!("{}{}", v.stdout, v.stderr);
    assert!(said.contains("`db`") && said.contains("salvage"), "{said}");
}

#[test]
fn salvage_works_on_a_read_only_copy_and_leaves_it_byte_identical() {
    // Given a ledger made read-only as an auditor receives it
    let f = Fixture::new("read-only");
    let export = f.dir.join("export.jsonl");
    ok(&f.data, &["export", "--out", export.to_str().unwrap()]);
    set_mode(&f.data, 0o444, 0o555);
    let before = snapshot(&f.data);
    // When it is salvaged
    let (out, file) = f.salvage(&f.data, "salvage.jsonl");
    // Then every record is recovered and not a byte (nor a mode) changed
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(&export).unwrap()
    );
    assert!(snapshot(&f.data) == before, "the read-only ledger changed");
    set_mode(&f.data, 0o644, 0o755);
}
