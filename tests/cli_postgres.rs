//! The binary on PostgreSQL (`--store postgres://…`): the command line's main
//! path prints on a PostgreSQL store what it prints on a data directory, byte
//! for byte (the same records, instants and ids: the test clock and seeds fix
//! them); `serve` answers commands and reads from a database; a URL that
//! reaches no server and a database that holds no ledger are refused naming
//! the URL without its password, nothing written. The server is a throwaway
//! cluster the tests start (`navigo_store_postgres::cluster`), installed
//! when the machine has none: no test is skipped without PostgreSQL.

mod http_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use http_support::{
    register, request, serve_with, token, BIN, CONTRACT_A, CONTRACT_B, NOW, PERSON_A,
};
use navigo_store_postgres::cluster::Cluster;

/// The key store file of a data directory (`app::keystore`).
const KEY_STORE: &str = "personal-keys";

/// Where a test's ledger is: its data directory, and the database URL when
/// the log is in PostgreSQL.
struct Place {
    data: PathBuf,
    store: Option<String>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
        let _ = std::fs::remove_file(self.data.with_extension("log"));
    }
}

/// A finished run: (exit code, stdout, stderr).
type Run = (i32, String, String);

/// The test binary's cluster.
fn cluster() -> &'static Cluster {
    Cluster::shared().unwrap_or_else(|e| panic!("{e}"))
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A fresh data directory named after `name`.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-postgres")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A fresh database `name` of the cluster, and its URL.
fn fresh_database(name: &str) -> String {
    let db = format!("{name}_{}", std::process::id());
    block_on(cluster().create_database(&db)).unwrap_or_else(|e| panic!("{e}"));
    cluster().url(&db)
}

/// A ledger in a data directory.
fn sled_place(name: &str) -> Place {
    Place {
        data: fresh_dir(name),
        store: None,
    }
}

/// A ledger in a fresh database, its data directory beside it.
fn pg_place(name: &str) -> Place {
    Place {
        data: fresh_dir(name),
        store: Some(fresh_database(name)),
    }
}

/// Runs the binary on `place` at the tests' instant with `stdin`.
fn run(place: &Place, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.env("NAVIGO_TEST_NOW", NOW)
        .env_remove("NAVIGO_TOKEN")
        .env_remove("NAVIGO_STORE")
        .arg("--data")
        .arg(&place.data);
    if let Some(url) = &place.store {
        cmd.arg("--store").arg(url);
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

/// The standard output of a run that must succeed.
fn ok(place: &Place, args: &[&str]) -> String {
    let (code, out, err) = run(place, args);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

fn scenario() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios/year.jsonl")
        .to_str()
        .expect("path")
        .to_owned()
}

/// The main path of the command line on `place`: every output after `init`
/// (whose line names the place), and the export file.
fn main_path(place: &Place) -> Vec<String> {
    let init = ok(place, &["init"]);
    assert!(init.contains("built-in reference data"), "{init}");
    let mut outs = Vec::new();
    let (code, applied, err) = run(place, &["apply", &scenario()]);
    assert!(code == 0 || code == 1, "apply: {applied}{err}");
    outs.push(applied);
    let export = place.data.with_extension("export.jsonl");
    let _ = std::fs::remove_file(&export);
    let export_arg = export.to_str().expect("path").to_owned();
    for args in [
        vec!["advance", "--to", "2027-10-15"],
        vec!["state", CONTRACT_A],
        vec!["state", CONTRACT_B, "--json"],
        vec!["balance", CONTRACT_A],
        vec!["balance", PERSON_A, "--json"],
        vec!["calendar", CONTRACT_A],
        vec!["calendar", CONTRACT_A, "--at", "2027-03-01", "--json"],
        vec!["bans", PERSON_A],
        vec!["refunds", PERSON_A],
        vec!["history", &format!("contract:{CONTRACT_A}")],
        vec!["verify"],
        vec!["verify", "--json"],
        vec!["audit", CONTRACT_A],
        vec!["audit", PERSON_A, "--json"],
        vec!["export", "--out", &export_arg],
        vec!["prove", "inclusion", "3"],
        vec!["prove", "consistency", "2", "10"],
        vec!["rebuild"],
        vec!["check-projections"],
        vec!["list", "contracts-by-status", "status=active", "--json"],
    ] {
        // The export's file name is the place's own.
        let out = ok(place, &args).replace(&export_arg, "EXPORT");
        // A rebuild's timing is the run's own, not the ledger's.
        let out = match args[0] {
            "rebuild" => out.split(',').next().unwrap_or_default().to_owned(),
            _ => out,
        };
        outs.push(format!("{args:?}\n{out}").replace(&export_arg, "EXPORT"));
    }
    outs.push(std::fs::read_to_string(&export).expect("the export"));
    // The counts but the bytes on disk, which are each backend's own.
    let mut stats = serde_json::from_str::<serde_json::Value>(&ok(place, &["stats", "--json"]))
        .expect("stats JSON");
    stats["disk_bytes"] = serde_json::Value::Null;
    outs.push(stats.to_string());
    let _ = std::fs::remove_file(&export);
    outs
}

#[test]
fn pg_bin_main_path_prints_on_postgres_what_it_prints_on_a_data_directory() {
    // Given the same scenario run on a data directory and on a PostgreSQL
    // database, when each command of the main path runs on both, then every
    // output (and the export) is the same bytes: the same records, chain,
    // positions and views.
    let (sled, pg) = (sled_place("main-sled"), pg_place("main_pg"));
    let on_sled = main_path(&sled);
    // The persons' keys are random: the PostgreSQL ledger is given the data
    // directory's, so that their sealed data is the same bytes.
    let keys = KEY_STORE;
    std::fs::create_dir_all(&pg.data).expect("data directory");
    std::fs::copy(sled.data.join(keys), pg.data.join(keys)).expect("copy the key store");
    let on_pg = main_path(&pg);
    assert_eq!(on_sled.len(), on_pg.len());
    for (a, b) in on_sled.iter().zip(&on_pg) {
        assert_eq!(a, b, "sled and PostgreSQL differ");
    }
    // The verification covers the scenario's records, and the data directory
    // of the PostgreSQL ledger holds no log.
    assert!(on_pg.iter().any(|o| o.contains("ok: ")), "{on_pg:?}");
    assert!(
        !pg.data.join(navigo_store_sled::keys::MARKER_FILE).exists(),
        "the log went to the data directory"
    );
    // And `init` again on the database appends nothing.
    let again = ok(&pg, &["init"]);
    assert!(again.contains("is already a ledger"), "{again}");
    assert!(again.contains("0 events appended"), "{again}");
}

#[test]
fn pg_bin_serve_on_postgres_answers_a_command_and_a_read() {
    // Given a ledger in a database and a data directory holding its tokens,
    let place = pg_place("serve_pg");
    ok(&place, &["init"]);
    std::fs::create_dir_all(&place.data).expect("data directory");
    let agent = token(&place.data, "agent-1", "agent");
    let url = place.store.clone().expect("a database");
    // when `serve --store URL` runs,
    let (mut child, addr) = serve_with(&place.data, NOW, &["--store", &url]);
    let person = "0196a000-0000-7000-8000-0000000000c1";
    let (status, body) = request(
        &addr,
        "POST",
        "/v1/commands",
        Some(&agent),
        Some(&register(person, "NV00000077")),
        &[],
    );
    // then it answers a command (appended to the database)
    assert_eq!(status, 201, "{body}");
    assert!(
        body["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    // and a read of what it appended,
    let (status, bans) = request(
        &addr,
        "GET",
        &format!("/v1/persons/{person}/bans"),
        Some(&agent),
        None,
        &[],
    );
    assert_eq!(status, 200, "{bans}");
    // and the jobs that read sled's log off the ledger's lock refuse a
    // PostgreSQL ledger (409), naming the command line's way instead.
    let auditor = token(&place.data, "auditor-1", "auditor");
    for path in ["/v1/export", "/v1/projections/check"] {
        let (status, body) = request(&addr, "GET", path, Some(&auditor), None, &[]);
        assert_eq!(status, 409, "{path}: {body}");
        assert!(body.to_string().contains("--store"), "{path}: {body}");
    }
    let _ = child.kill();
    let _ = child.wait();
    // and the command line reads the event from the database.
    let history = ok(&place, &["history", &format!("person:{person}")]);
    assert!(history.contains("PersonRegistered"), "{history}");
    assert!(!place
        .data
        .join(navigo_store_sled::keys::MARKER_FILE)
        .exists());
}

#[test]
fn pg_bin_a_url_that_reaches_no_server_is_refused_naming_it_without_its_password() {
    // Given a URL whose socket directory holds no server,
    let place = Place {
        data: fresh_dir("no-server"),
        store: Some("postgres://navigo:s3cret@%2Fnonexistent%2Fnavigo:5432/ledger".into()),
    };
    for args in [vec!["init"], vec!["state", CONTRACT_A], vec!["verify"]] {
        // when a command opens it, then it is refused (exit 1), naming the
        // database without its password,
        let (code, out, err) = run(&place, &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("postgres://navigo@/nonexistent/navigo:5432/ledger"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("s3cret") && !out.contains("s3cret"), "{err}");
    }
    // and a --store that is not a postgres:// URL is bad input, its password
    // hidden too.
    let place = Place {
        data: fresh_dir("not-a-url"),
        store: Some("mysql://navigo:s3cret@db/ledger".into()),
    };
    let (code, _, err) = run(&place, &["state", CONTRACT_A]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not a postgres:// URL") && !err.contains("s3cret"),
        "{err}"
    );
}

/// Fails when the database `db` has a schema `navigo` holding a table
/// `events`: what a ledger would have created.
fn assert_no_ledger_tables(db: &str) {
    let check = "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_tables \
                 WHERE schemaname = 'navigo' AND tablename = 'events') \
                 THEN RAISE EXCEPTION 'ledger tables written'; END IF; END $$";
    block_on(cluster().execute(db, check)).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn pg_bin_a_database_that_holds_no_ledger_is_refused_by_name_and_nothing_is_written() {
    // Given a database without a ledger,
    let db = format!("plain_{}", std::process::id());
    block_on(cluster().create_database(&db)).unwrap_or_else(|e| panic!("{e}"));
    let place = Place {
        data: fresh_dir("plain"),
        store: Some(cluster().url(&db)),
    };
    // when a reading or writing command opens it, then it is refused naming
    // the database, and nothing is created in it;
    for args in [
        vec!["state", CONTRACT_A],
        vec!["advance", "--to", "2027-10-15"],
        vec!["history", &format!("contract:{CONTRACT_A}")],
    ] {
        let (code, out, err) = run(&place, &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(&format!("/{db}")), "{args:?}: {err}");
        assert!(err.contains("is not a navigo ledger"), "{args:?}: {err}");
        assert_no_ledger_tables(&db);
    }
    // and given its schema `navigo` holding someone else's table, `init`
    // refuses it too and leaves the table as it was.
    block_on(cluster().execute(
        &db,
        "CREATE SCHEMA navigo; CREATE TABLE navigo.customers (id int); \
         INSERT INTO navigo.customers VALUES (7)",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = run(&place, &["init"]);
    assert_eq!(code, 1, "init: {out}{err}");
    assert!(err.contains(&format!("/{db}")), "{err}");
    assert!(err.contains("is not a navigo ledger"), "{err}");
    assert_no_ledger_tables(&db);
    block_on(cluster().execute(
        &db,
        "DO $$ BEGIN IF (SELECT count(*) FROM navigo.customers) <> 1 \
         THEN RAISE EXCEPTION 'customers touched'; END IF; END $$",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn pg_bin_sled_only_commands_refuse_a_postgres_store_by_name() {
    // Given a ledger in a database, when `salvage` (which reads sled's files)
    // runs on it, then it is refused as bad input naming what to use instead.
    let place = pg_place("sled_only");
    ok(&place, &["init"]);
    let out = place.data.with_extension("salvage.jsonl");
    let (code, _, err) = run(&place, &["salvage", "--out", out.to_str().expect("path")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("salvage works on a ledger in a data directory"),
        "{err}"
    );
    assert!(err.contains("run verify"), "{err}");
    assert!(!out.exists());
}

/// Registrations each client thread sends.
const REGISTRATIONS_PER_CLIENT: u32 = 6;
/// Concurrent clients, spread over the two services.
const CLIENTS: u32 = 6;
/// The client number every client also tries to register: one may.
const SHARED_CLIENT_NUMBER: &str = "NV00000999";

/// What one client got: (client number, person, status, body).
type Answer = (String, String, u16, serde_json::Value);

/// Client `t`: its own registrations, alternating between the services, then
/// a registration of the shared client number under a person of its own.
fn client(t: u32, addrs: [String; 2], tokens: [String; 2]) -> Vec<Answer> {
    let mut answers = Vec::new();
    for i in 0..=REGISTRATIONS_PER_CLIENT {
        let n = t * 100 + i;
        let person = format!("0196a000-0000-7000-8000-{:012x}", 0xd000 + n);
        let number = if i == REGISTRATIONS_PER_CLIENT {
            SHARED_CLIENT_NUMBER.to_owned()
        } else {
            format!("NV{:08}", 10_000 + n)
        };
        let s = ((t + i) % 2) as usize;
        let body = register(&person, &number);
        let (status, v) = request(
            &addrs[s],
            "POST",
            "/v1/commands",
            Some(&tokens[s]),
            Some(&body),
            &[],
        );
        answers.push((number, person, status, v));
    }
    answers
}

#[test]
fn pg_bin_two_services_on_one_database_lose_no_update_and_duplicate_nothing() {
    // Given one ledger in a database and two services on it, each with a
    // data directory of its own,
    let place = pg_place("two_services");
    ok(&place, &["init"]);
    let url = place.store.clone().expect("a database");
    let dirs = [place.data.join("a"), place.data.join("b")];
    let mut servers = Vec::new();
    let mut tokens = Vec::new();
    // The services share one key store file (each data directory links to
    // it), as services sharing a database must.
    let keys = KEY_STORE;
    let shared_keys = place.data.join(keys);
    for d in &dirs {
        std::fs::create_dir_all(d).expect("data directory");
        std::os::unix::fs::symlink(&shared_keys, d.join(keys)).expect("link the key store");
        tokens.push(token(d, "agent-1", "agent"));
        servers.push(serve_with(d, NOW, &["--store", &url]));
    }
    let addrs = [servers[0].1.clone(), servers[1].1.clone()];
    let tokens = [tokens[0].clone(), tokens[1].clone()];
    // when concurrent clients register persons through both, every one also
    // trying the same client number,
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (a, k) = (addrs.clone(), tokens.clone());
            std::thread::spawn(move || client(t, a, k))
        })
        .collect();
    let answers: Vec<Answer> = threads
        .into_iter()
        .flat_map(|h| h.join().expect("client"))
        .collect();
    for (mut child, _) in servers {
        let _ = child.kill();
        let _ = child.wait();
    }
    // then each distinct registration is accepted once, and the shared
    // client number once only, the others refused naming the field;
    let mut accepted = Vec::new();
    for (number, person, status, v) in &answers {
        if number == SHARED_CLIENT_NUMBER && *status != 201 {
            assert_eq!(
                (*status, v["field"].as_str()),
                (422, Some("client_number")),
                "{v}"
            );
        } else {
            assert_eq!(*status, 201, "{number}: {v}");
            accepted.push((number.clone(), person.clone()));
        }
    }
    let shared = accepted
        .iter()
        .filter(|(n, _)| n == SHARED_CLIENT_NUMBER)
        .count();
    assert_eq!(
        shared, 1,
        "the shared client number registered {shared} times"
    );
    let expected = (CLIENTS * REGISTRATIONS_PER_CLIENT + 1) as usize;
    assert_eq!(accepted.len(), expected);
    // and the log verifies, holding each accepted registration exactly once.
    let verified = ok(&place, &["verify"]);
    assert!(verified.starts_with("ok: "), "{verified}");
    for (_, person) in &accepted {
        let history = ok(&place, &["history", &format!("person:{person}"), "--json"]);
        let registered = history.matches("PersonRegistered").count();
        assert_eq!(registered, 1, "{person}: {history}");
    }
}
