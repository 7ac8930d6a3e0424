//! `navigo-ledger migrate`: a generated ledger copied from a data directory
//! into PostgreSQL and back gives byte-identical exports, the same
//! verification and the same kept checkpoints (which verify against the
//! copies); a target holding another log is refused with nothing written; an
//! interrupted copy resumes and ends equal; a tampered source record is
//! refused naming its position, nothing from it on written. The server is a
//! throwaway cluster the tests start (`navigo_store_postgres::cluster`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use navigo_store_postgres::cluster::Cluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_navigo-ledger");
/// The tests' clock: after the demo's last simulated day.
const NOW: &str = "2025-01-15T08:00:00Z";
/// Records one batch of the copy stores at most (`MIGRATE_BATCH_RECORDS`).
const MIGRATE_BATCH_RECORDS: u64 = 1_024;

/// A finished run: (exit code, stdout, stderr).
type Run = (i32, String, String);

/// Runs the binary with `args` (which name the ledgers), at [`NOW`], with
/// the extra environment `env`.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env("NAVIGO_TEST_NOW", NOW)
        .env_remove("NAVIGO_TOKEN")
        .env_remove("NAVIGO_STORE")
        .env_remove("NAVIGO_TEST_MIGRATE_STOP_AFTER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

/// The standard output of a run that must succeed.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn cluster() -> &'static Cluster {
    Cluster::shared().unwrap_or_else(|e| panic!("{e}"))
}

/// This test binary's scratch directory. The generated source ledger is
/// shared by the tests through a static, which is never dropped: the first
/// call removes the scratch directories of earlier runs whose process is gone
/// instead, so that at most the last run's stays.
fn scratch() -> PathBuf {
    static SWEPT: OnceLock<()> = OnceLock::new();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    SWEPT.get_or_init(|| sweep_earlier_runs(&root));
    root.join(format!("cli-migrate-{}", std::process::id()))
}

/// Removes `cli-migrate-PID` under `root` for every PID no longer running.
fn sweep_earlier_runs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("cli-migrate-")) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh directory `name` under the scratch directory (not created).
fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A fresh database `name` of the cluster, and its URL.
fn fresh_database(name: &str) -> String {
    let db = format!("{name}_{}", std::process::id());
    block_on(cluster().create_database(&db)).unwrap_or_else(|e| panic!("{e}"));
    cluster().url(&db)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The generated ledger every test copies from (made once): a small demo
/// population (more records than one batch of the copy holds), then a
/// signed checkpoint kept; with its key's public half.
struct Source {
    data: PathBuf,
    public: PathBuf,
    checkpoint: PathBuf,
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = fresh_dir("source");
        let data = dir.join("ledger");
        let demo = [
            "--data",
            s(&data),
            "demo",
            "--contracts",
            "120",
            "--seed",
            "7",
            "--through",
            "2024-12-31",
            "--json",
        ];
        ok(&demo);
        let key = dir.join("signing.key");
        ok(&["--data", s(&data), "key", "create", "--key-file", s(&key)]);
        let public = dir.join("signing.pub");
        let text = ok(&["--data", s(&data), "key", "public", "--key-file", s(&key)]);
        std::fs::write(&public, text).expect("write the public key");
        let note = ok(&["--data", s(&data), "checkpoint", "--key-file", s(&key)]);
        let checkpoint = dir.join("checkpoint.note");
        std::fs::write(&checkpoint, note).expect("write the checkpoint");
        Source {
            data,
            public,
            checkpoint,
        }
    })
}

/// A private copy of the source's data directory (so that a test may change it).
fn copy_of_source(name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    let status = Command::new("cp")
        .args(["-a", s(&source().data), s(&dir)])
        .status()
        .expect("cp");
    assert!(status.success());
    dir
}

/// `--data DIR [--store URL]` of a ledger.
fn at<'a>(data: &'a Path, store: Option<&'a str>) -> Vec<&'a str> {
    let mut out = vec!["--data", s(data)];
    out.extend(store.map(|url| ["--store", url]).into_iter().flatten());
    out
}

/// The export of a ledger's whole log, as bytes.
fn export(data: &Path, store: Option<&str>, name: &str) -> Vec<u8> {
    let file = scratch().join(format!("{name}.export.jsonl"));
    let _ = std::fs::remove_file(&file);
    let mut args = at(data, store);
    args.extend(["export", "--out", s(&file)]);
    ok(&args);
    let bytes = std::fs::read(&file).expect("read the export");
    let _ = std::fs::remove_file(&file);
    bytes
}

/// The id of the first person stream of a ledger's export.
fn first_person(data: &Path) -> String {
    let bytes = export(data, None, "first-person");
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|r| Some(r["stream"].as_str()?.strip_prefix("person:")?.to_owned()))
        .expect("a person stream in the export")
}

/// `verify --json` of a ledger.
fn verify(data: &Path, store: Option<&str>) -> Value {
    let mut args = at(data, store);
    args.extend(["verify", "--json"]);
    serde_json::from_str(&ok(&args)).expect("verify's JSON")
}

/// The kept checkpoints of a ledger, as `checkpoint --list --json` prints them.
fn checkpoints(data: &Path, store: Option<&str>) -> Value {
    let mut args = at(data, store);
    args.extend(["checkpoint", "--list", "--json"]);
    serde_json::from_str(&ok(&args)).expect("the list's JSON")
}

/// `migrate --from FROM --to TO --json`, with `env`.
fn migrate(from: &str, to: &str, env: &[(&str, &str)]) -> Run {
    migrate_with(scratch().join("default-data"), from, to, env)
}

/// [`migrate`] with `data` as the data directory of a PostgreSQL side.
fn migrate_with(data: PathBuf, from: &str, to: &str, env: &[(&str, &str)]) -> Run {
    let data = data.to_string_lossy().into_owned();
    let args = [
        "--data", &data, "migrate", "--from", from, "--to", to, "--json",
    ];
    run_env(&args, env)
}

/// The head position of a ledger.
fn head(data: &Path, store: Option<&str>) -> u64 {
    verify(data, store)["head"]["position"]
        .as_u64()
        .expect("a head position")
}

#[test]
fn migrate_sled_to_postgres_and_back_gives_the_same_log_byte_for_byte() {
    // Given a generated ledger with a kept checkpoint
    let src = source();
    let want = export(&src.data, None, "round-src");
    let pg = fresh_database("migrate_round");
    let pg_data = fresh_dir("round-pg-data");
    let back = fresh_dir("round-back");
    // When it is copied into PostgreSQL, then from there into a new directory
    let (code, out, err) = migrate_with(pg_data.clone(), s(&src.data), &pg, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let view: Value = serde_json::from_str(&out).expect("migrate's JSON");
    let (code, out2, err) = migrate_with(pg_data.clone(), &pg, s(&back), &[]);
    assert_eq!(code, 0, "{out2}{err}");
    // Then every record was copied once, with the checkpoint, each way
    let records = head(&src.data, None);
    assert!(records > MIGRATE_BATCH_RECORDS, "{records} records");
    assert_eq!(view["records_copied"], records);
    assert_eq!(view["records_already_there"], 0);
    assert_eq!(view["checkpoints_copied"], 1);
    let view2: Value = serde_json::from_str(&out2).expect("migrate's JSON");
    assert_eq!(view2["records_copied"], records);
    assert_eq!(view2["head"], view["head"]);
    // And both copies export the source's log byte for byte (records, hashes,
    // the Merkle root) and verify alike
    assert!(export(&pg_data, Some(&pg), "round-pg") == want);
    assert!(export(&back, None, "round-back") == want);
    let verified = verify(&src.data, None);
    assert_eq!(verify(&pg_data, Some(&pg)), verified);
    assert_eq!(verify(&back, None), verified);
    // And they keep the source's checkpoints, which verify against them
    let kept = checkpoints(&src.data, None);
    assert_eq!(checkpoints(&pg_data, Some(&pg)), kept);
    assert_eq!(checkpoints(&back, None), kept);
    for (data, store) in [(&pg_data, Some(pg.as_str())), (&back, None)] {
        let mut args = at(data, store);
        let (cp, public) = (s(&src.checkpoint), s(&src.public));
        args.extend(["verify", "--against", cp, "--key", public]);
        ok(&args);
    }
    // And the key store of personal data came along: both copies open a
    // person's sealed data as the source does
    let person = first_person(&src.data);
    let want_person = ok(&["--data", s(&src.data), "history", &person]);
    assert_eq!(ok(&["--data", s(&back), "history", &person]), want_person);
    let pg_history = ["--data", s(&pg_data), "--store", &pg, "history", &person];
    assert_eq!(ok(&pg_history), want_person);
    // And a second run copies nothing more
    let (code, again, err) = migrate_with(pg_data.clone(), s(&src.data), &pg, &[]);
    assert_eq!(code, 0, "{again}{err}");
    let again: Value = serde_json::from_str(&again).expect("migrate's JSON");
    assert_eq!(again["records_copied"], 0);
    assert_eq!(again["checkpoints_copied"], 0);
    assert_eq!(again["records_already_there"], records);
    for dir in [pg_data, back] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn migrate_refuses_a_target_holding_another_log_writing_nothing() {
    // Given a ledger in PostgreSQL that holds another log than the source's
    let pg = fresh_database("migrate_other");
    let pg_data = fresh_dir("other-pg-data");
    let mut args = at(&pg_data, Some(&pg));
    args.push("init");
    ok(&args);
    let initialised = head(&pg_data, Some(&pg));
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/year.jsonl");
    let mut args = at(&pg_data, Some(&pg));
    args.extend(["apply", s(&scenario)]);
    let (code, out, err) = run_env(&args, &[("NAVIGO_TEST_NOW", "2027-10-15T08:00:00Z")]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(head(&pg_data, Some(&pg)) > initialised);
    let before = export(&pg_data, Some(&pg), "other-before");
    // When the source is migrated into it
    let (code, out, err) = migrate(s(&source().data), &pg, &[]);
    // Then it is refused naming the target, and the target is as it was
    assert_eq!(code, 1, "{out}{err}");
    let db = format!("migrate_other_{}", std::process::id());
    assert!(err.contains("is not empty") && err.contains(&db), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(export(&pg_data, Some(&pg), "other-after") == before);
    // And a directory that is not a ledger is refused untouched
    let junk = fresh_dir("other-junk");
    std::fs::create_dir_all(&junk).expect("mkdir");
    std::fs::write(junk.join("notes.txt"), "mine").expect("write");
    let (code, out, err) = migrate(s(&source().data), s(&junk), &[]);
    assert_eq!(code, 1, "{out}{err}");
    let left: Vec<_> = std::fs::read_dir(&junk).expect("ls").collect();
    assert_eq!(left.len(), 1, "{err}");
    for dir in [pg_data, junk] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn migrate_interrupted_resumes_after_the_prefix_copied_and_ends_equal() {
    // Given a copy into PostgreSQL interrupted after 100 records
    let src = source();
    let pg = fresh_database("migrate_resume");
    let pg_data = fresh_dir("resume-pg-data");
    let stop = [("NAVIGO_TEST_MIGRATE_STOP_AFTER", "100")];
    let (code, out, err) = migrate(s(&src.data), &pg, &stop);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("interrupted after"), "{err}");
    let prefix = head(&pg_data, Some(&pg));
    let records = head(&src.data, None);
    assert!((100..records).contains(&prefix), "{prefix} of {records}");
    let none = checkpoints(&pg_data, Some(&pg))["checkpoints"]
        .as_array()
        .map(Vec::len);
    assert_eq!(none, Some(0));
    // When the same command runs again
    let (code, out, err) = migrate(s(&src.data), &pg, &[]);
    // Then it resumes after the prefix and ends with the source's log
    assert_eq!(code, 0, "{out}{err}");
    let view: Value = serde_json::from_str(&out).expect("migrate's JSON");
    assert_eq!(view["records_already_there"], prefix);
    assert_eq!(view["records_copied"], records - prefix);
    assert_eq!(view["checkpoints_copied"], 1);
    let want = export(&src.data, None, "resume-src");
    assert!(export(&pg_data, Some(&pg), "resume-pg") == want);
    // And back into a directory, interrupted and resumed likewise
    let back = fresh_dir("resume-back");
    let (code, _, err) = migrate(&pg, s(&back), &[("NAVIGO_TEST_MIGRATE_STOP_AFTER", "37")]);
    assert_eq!(code, 1, "{err}");
    let (code, out, err) = migrate(&pg, s(&back), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(export(&back, None, "resume-back") == want);
    for dir in [pg_data, back] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn migrate_refuses_a_tampered_source_record_naming_its_position() {
    // Given a copy of the source whose record at position 1200 (in the
    // copy's second batch) has one bit changed
    let tampered = copy_of_source("tampered-src");
    let position = 1200;
    {
        let raw = navigo_store_sled::raw::RawLedger::open(&tampered).expect("open raw");
        let mut record = raw.record(position).expect("read").expect("a record");
        let at = record.len() - 3;
        record[at] ^= 0x01;
        raw.put_record(position, &record).expect("write");
        raw.tree().flush().expect("flush");
    }
    // When it is migrated into PostgreSQL
    let pg = fresh_database("migrate_tampered");
    let pg_data = fresh_dir("tampered-pg-data");
    let (code, out, err) = migrate(s(&tampered), &pg, &[]);
    // Then the copy is refused naming the position, nothing from it on written
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("position 1200"), "{err}");
    let copied = head(&pg_data, Some(&pg));
    assert!((1..position).contains(&copied), "{copied} records copied");
    let v = verify(&pg_data, Some(&pg));
    assert_eq!(v["ok"], true, "{v}");
    for dir in [tampered, pg_data] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
