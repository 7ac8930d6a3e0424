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

/// The line after which `check-projections` on PostgreSQL reports on the
/// database's projection tables.
const SQL_TABLES_LINE: &str = "SQL projection tables:\n";

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
            // On PostgreSQL the check goes on with the database's projection
            // tables, which a data directory has not: they must be
            // consistent, and what comes before is compared with sled's.
            "check-projections" => match out.split_once(SQL_TABLES_LINE) {
                Some((local, sql)) => {
                    assert!(place.store.is_some(), "{out}");
                    assert!(!sql.contains("DIFFERS") && !sql.contains("lags"), "{sql}");
                    local.to_owned()
                }
                None => {
                    assert!(place.store.is_none(), "no SQL tables checked: {out}");
                    out
                }
            },
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
    // The services' projectors bring the database's projection tables to the
    // head, each step applied once whichever service computes it.
    let head_sql = "SELECT position::text FROM navigo.head";
    let checkpoint_sql = format!("SELECT position::text FROM {PROJECTIONS}.checkpoint");
    let mut waited = 0;
    while query_texts(&place, head_sql) != query_texts(&place, &checkpoint_sql) {
        assert!(
            waited < PROJECTOR_WAIT_MS_MAX,
            "the projection tables lag the head"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 100;
    }
    for (mut child, _) in servers {
        let _ = child.kill();
        let _ = child.wait();
    }
    // Then `check-projections` finds them equal to the views computed from
    // the log, at the head;
    let check = sql_check(&place);
    assert_eq!(check["consistent"], true, "{check}");
    assert!(
        check["projections"][2]["rows"].as_u64() >= Some(1),
        "{check}"
    );
    // and each distinct registration is accepted once, and the shared
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

/// `follow` processes killed midway in the exactly-once test, at most.
const FOLLOW_KILLS_MAX: usize = 4;

/// How long the two services' projectors may take to reach the head.
const PROJECTOR_WAIT_MS_MAX: u64 = 30_000;

/// The projection schema of a ledger in the default schema.
const PROJECTIONS: &str = "navigo_projections";

/// The database name of a test URL (its last path segment).
fn database_of(place: &Place) -> String {
    let url = place.store.as_deref().expect("a database");
    url.rsplit('/').next().expect("a database name").to_owned()
}

/// The rows `sql` answers, each row's first column as text.
fn query_texts(place: &Place, sql: &str) -> Vec<Option<String>> {
    let db = database_of(place);
    block_on(async {
        let (client, conn) = cluster()
            .connection(&db)
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect");
        let task = tokio::spawn(conn);
        let rows = client
            .query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = task.await;
        rows.iter().map(|r| r.get::<_, Option<String>>(0)).collect()
    })
}

/// One JSON value the database answers (`sql` selects one text).
fn query_json(place: &Place, sql: &str) -> serde_json::Value {
    let texts = query_texts(place, sql);
    let text = texts
        .first()
        .cloned()
        .flatten()
        .unwrap_or_else(|| panic!("{sql}: no row"));
    serde_json::from_str(&text).expect("JSON")
}

/// The texts of rows, one after the other (a null as nothing).
fn joined(texts: Vec<Option<String>>) -> String {
    texts.into_iter().flatten().collect::<Vec<_>>().join("")
}

/// Every table of the projection schema as text, in key order, and the
/// checkpoint's position.
fn dump_projections(place: &Place) -> (Vec<String>, u64) {
    let mut out = Vec::new();
    for (table, key) in [
        ("contracts", "contract"),
        ("debits", "contract, row_number"),
        ("persons", "person"),
        ("bans", "person, window_number"),
        ("refunds", "person, refund_number"),
    ] {
        let sql = format!(
            "SELECT coalesce(json_agg(t ORDER BY {key})::text, '[]') FROM {PROJECTIONS}.{table} t"
        );
        out.push(joined(query_texts(place, &sql)));
    }
    let position = query_texts(
        place,
        &format!("SELECT position::text FROM {PROJECTIONS}.checkpoint"),
    );
    let position = joined(position).parse().unwrap_or(0);
    (out, position)
}

#[test]
fn pg_projections_after_the_main_path_the_sql_tables_equal_the_views_the_cli_prints() {
    // Given the main path run on a PostgreSQL ledger (its `rebuild` fills the
    // projection tables too),
    let pg = pg_place("sql_views");
    main_path(&pg);
    // when the tables are read with SQL,
    let cli_view = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&ok(&pg, args)).expect("a view")
    };
    // then each contract's state, balance and calendar are the views the
    // command line prints, with their columns for filtering,
    for c in [CONTRACT_A, CONTRACT_B] {
        let row = |col: &str| {
            query_json(
                &pg,
                &format!("SELECT {col}::text FROM {PROJECTIONS}.contracts WHERE contract = '{c}'"),
            )
        };
        let state = cli_view(&["state", c, "--json"]);
        assert_eq!(row("state_view"), state, "{c}");
        assert_eq!(
            row("balance_view"),
            cli_view(&["balance", c, "--json"]),
            "{c}"
        );
        let calendar = cli_view(&["calendar", c, "--json"]);
        assert_eq!(row("calendar_view"), calendar, "{c}");
        let columns = query_json(
            &pg,
            &format!(
                "SELECT json_build_array(status, holder, payer)::text FROM {PROJECTIONS}.contracts \
                 WHERE contract = '{c}'"
            ),
        );
        assert_eq!(columns[0], state["status"]["status"], "{c}");
        assert_eq!(columns[1], state["holder"], "{c}");
        assert_eq!(columns[2], state["payer"], "{c}");
        // one calendar row per row of the view, in its order;
        let debits = query_json(
            &pg,
            &format!(
                "SELECT coalesce(json_agg(json_build_array(month, debit_date, amount::text, status) \
                 ORDER BY row_number), '[]')::text FROM {PROJECTIONS}.debits WHERE contract = '{c}'"
            ),
        );
        let rows = calendar["rows"].as_array().expect("rows");
        assert_eq!(debits.as_array().map(Vec::len), Some(rows.len()), "{c}");
        for (d, r) in debits.as_array().into_iter().flatten().zip(rows) {
            assert_eq!(d[0], r["month"]);
            assert_eq!(d[1], r["debit_date"]);
            assert_eq!(d[2], r["amount"]);
            assert_eq!(d[3], r["status"]);
        }
    }
    // a person's bans and refunds are the views printed,
    let person = |col: &str| {
        query_json(
            &pg,
            &format!("SELECT {col}::text FROM {PROJECTIONS}.persons WHERE person = '{PERSON_A}'"),
        )
    };
    assert_eq!(person("bans_view"), cli_view(&["bans", PERSON_A, "--json"]));
    assert_eq!(
        person("refunds_view"),
        cli_view(&["refunds", PERSON_A, "--json"])
    );
    // and no personal data reaches the tables: persons carry no name column
    // and no row holds the scenario's names.
    let columns = query_texts(
        &pg,
        &format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = '{PROJECTIONS}' AND table_name = 'persons' ORDER BY column_name"
        ),
    );
    let columns: Vec<String> = columns.into_iter().flatten().collect();
    assert_eq!(
        columns,
        [
            "bans_view",
            "client_number",
            "erased",
            "person",
            "refunds_view"
        ]
    );
    let (tables, _) = dump_projections(&pg);
    for t in &tables {
        for name in ["Alice", "Durand", "Lefèvre", "Montreuil"] {
            assert!(!t.contains(name), "{name} in the projection tables");
        }
    }
}

/// A ledger file of `persons` registrations and a subscription for every
/// tenth, in the order of their instants (the year scenario's forms).
fn many_commands(persons: u32) -> String {
    let mut lines = Vec::new();
    for i in 0..persons {
        let person = format!("0196a000-0000-7000-8000-{:012x}", 0xe0000 + i);
        let at = format!(
            "2026-07-01T{:02}:{:02}:{:02}Z",
            8 + i / 3600,
            (i / 60) % 60,
            i % 60
        );
        lines.push(serde_json::json!({
            "request_at": at, "actor": {"role": "agent", "id": "AG-0417"}, "channel": "agency",
            "command": {"type": "RegisterPerson", "person_id": person,
                        "client_number": format!("NV{:08}", 50_000 + i),
                        "first_name": "Chloé", "last_name": "Martin", "birth_date": "1990-01-01",
                        "address": {"street": "1 rue X", "postal_code": "75001", "municipality": "Paris"}}
        }));
    }
    for i in (0..persons).step_by(10) {
        let person = format!("0196a000-0000-7000-8000-{:012x}", 0xe0000 + i);
        let contract = format!("0196a000-0000-7000-8000-{:012x}", 0xf0000 + i);
        let at = format!(
            "2026-07-12T{:02}:{:02}:{:02}Z",
            8 + i / 3600,
            (i / 60) % 60,
            i % 60
        );
        lines.push(serde_json::json!({
            "request_at": at, "actor": {"role": "agent", "id": "AG-0417"}, "channel": "agency",
            "command": {"type": "Subscribe", "contract_id": contract, "holder": person, "payer": person,
                        "product": {"kind": "annual", "zones": "1-5"}, "start_date": "2026-07-12",
                        "payment": {"method": "direct_debit", "debit_day": 1,
                                    "mandate": {"reference": format!("MA-{i}"), "signed_on": "2026-07-01",
                                                "debtor": {"iban": "FR7630006000011234567890189",
                                                           "holder_name": "Chloé Martin"}}},
                        "support": "pass"}
        }));
    }
    let mut out = std::fs::read_to_string(scenario())
        .expect("scenario")
        .lines()
        .take(1)
        .map(str::to_owned)
        .collect::<Vec<_>>();
    out.extend(lines.iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// The SQL tables' check (the last JSON line of `check-projections --json`).
fn sql_check(place: &Place) -> serde_json::Value {
    let (_, out, err) = run(place, &["check-projections", "--json"]);
    let last = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no check: {err}"));
    serde_json::from_str(last).expect("a check")
}

#[test]
fn pg_projections_follow_stopped_at_any_point_resumes_exactly_once() {
    // Given a PostgreSQL ledger whose projections were built when it held
    // the reference data only, then hundreds of commands and a year of
    // billing appended (a tail of many catch-up batches),
    let pg = pg_place("sql_resume");
    ok(&pg, &["init"]);
    ok(&pg, &["rebuild"]);
    let file = pg.data.with_extension("many.jsonl");
    std::fs::write(&file, many_commands(600)).expect("write the commands");
    let (code, out, err) = run(&pg, &["apply", file.to_str().expect("path")]);
    assert!(code == 0 || code == 1, "apply: {out}{err}");
    let _ = std::fs::remove_file(&file);
    ok(&pg, &["advance", "--to", "2027-10-15"]);
    let head: u64 = serde_json::from_str::<serde_json::Value>(&ok(&pg, &["stats", "--json"]))
        .expect("stats")["head"]["position"]
        .as_u64()
        .expect("head position");
    // when a `follow` is killed as soon as it has moved the tables (at
    // whatever point of its next batch it then is), again and again,
    let checkpoint = || dump_projections(&pg).1;
    let start = checkpoint();
    let mut seen = Vec::new();
    for _ in 0..FOLLOW_KILLS_MAX {
        let before = seen.last().copied().unwrap_or(start);
        let mut child = Command::new(BIN)
            .env("NAVIGO_TEST_NOW", NOW)
            .arg("--data")
            .arg(&pg.data)
            .arg("--store")
            .arg(pg.store.as_deref().expect("url"))
            .args(["follow", "--json", "--interval-ms", "50"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("follow");
        let mut waited = 0;
        while checkpoint() == before && waited < PROJECTOR_WAIT_MS_MAX {
            std::thread::sleep(std::time::Duration::from_millis(10));
            waited += 10;
        }
        let _ = child.kill();
        let _ = child.wait();
        // then after each kill the tables hold exactly the views of the log
        // through their checkpoint (never a part of a batch),
        let check = sql_check(&pg);
        assert_eq!(check["mismatches"], serde_json::json!([]), "{check}");
        seen.push(check["checkpoint"].as_u64().unwrap_or(0));
        if seen.last() == Some(&head) {
            break;
        }
    }
    assert!(
        seen.iter().any(|c| *c > start && *c < head),
        "no kill stopped the catch-up midway: {seen:?} from {start} to {head}"
    );
    // and a `follow --once` resumed from there brings them to the head with
    // every row equal to a rebuild's from the whole log.
    ok(&pg, &["follow", "--once"]);
    let (followed, at) = dump_projections(&pg);
    assert_eq!(at, head, "checkpoints after each kill: {seen:?}");
    let check = sql_check(&pg);
    assert_eq!(check["consistent"], true, "{check}");
    ok(&pg, &["rebuild"]);
    let (rebuilt, at) = dump_projections(&pg);
    assert_eq!(at, head);
    assert_eq!(followed.len(), rebuilt.len());
    for (f, r) in followed.iter().zip(&rebuilt) {
        assert!(f == r, "the followed tables differ from a rebuild's");
    }
    assert!(
        followed[2].len() > 1_000,
        "persons projected: {}",
        followed[2].len()
    );
}

#[test]
fn pg_projections_reader_role_reads_the_tables_and_nothing_else() {
    // Given a PostgreSQL ledger with its projection tables built,
    let pg = pg_place("sql_reader");
    ok(&pg, &["init"]);
    let (code, out, err) = run(&pg, &["apply", &scenario()]);
    assert!(code == 0 || code == 1, "apply: {out}{err}");
    ok(&pg, &["rebuild"]);
    // (a role name that is not a plain identifier is refused, naming it,
    // and so is a ledger in a data directory, which has no SQL tables)
    let (code, _, err) = run(&pg, &["grant-reader", "x\"; DROP TABLE navigo.events; --"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("role \"x"), "{err}");
    let sled = sled_place("sql_reader_sled");
    ok(&sled, &["init"]);
    let (code, _, err) = run(&sled, &["grant-reader", "someone"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--store postgres://"), "{err}");
    // when `grant-reader` gives a role the projections,
    let role = format!("reader_{}", std::process::id());
    let granted = ok(&pg, &["grant-reader", &role]);
    assert!(granted.contains(PROJECTIONS), "{granted}");
    // then, acting as that role, it can select every projection table,
    let db = database_of(&pg);
    let as_role = |sql: &str| -> Result<(), String> {
        block_on(async {
            let (client, conn) = cluster()
                .connection(&db)
                .connect(tokio_postgres::NoTls)
                .await
                .expect("connect");
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("SET ROLE {role}"))
                .await
                .expect("set role");
            let r = client.batch_execute(sql).await.map_err(|e| {
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_owned())
            });
            drop(client);
            let _ = task.await;
            r
        })
    };
    for t in [
        "checkpoint",
        "contracts",
        "debits",
        "persons",
        "bans",
        "refunds",
    ] {
        as_role(&format!("SELECT * FROM {PROJECTIONS}.{t}"))
            .unwrap_or_else(|e| panic!("select {t}: {e}"));
    }
    // can write none of them,
    for sql in [
        format!("UPDATE {PROJECTIONS}.checkpoint SET position = 0"),
        format!("DELETE FROM {PROJECTIONS}.contracts"),
        format!("INSERT INTO {PROJECTIONS}.persons (person, client_number, erased, bans_view, refunds_view) \
                 VALUES (gen_random_uuid(), 'X', false, '{{}}', '{{}}')"),
        format!("TRUNCATE {PROJECTIONS}.bans"),
    ] {
        let e = as_role(&sql).expect_err(&sql);
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    // and can neither read nor write the log's tables.
    for sql in [
        "SELECT * FROM navigo.events",
        "SELECT * FROM navigo.head",
        "DELETE FROM navigo.events",
        "INSERT INTO navigo.idempotency VALUES ('k', '\\x00', 1, 1)",
    ] {
        let e = as_role(sql).expect_err(sql);
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
}

#[test]
fn pg_projections_tables_of_an_older_layout_are_refused_by_follow_and_check_then_replaced_by_rebuild(
) {
    // Given a PostgreSQL ledger whose projection tables were built and given
    // to a reader role, then found of an older layout than this binary's,
    let pg = pg_place("sql_layout");
    ok(&pg, &["init"]);
    let (code, out, err) = run(&pg, &["apply", &scenario()]);
    assert!(code == 0 || code == 1, "apply: {out}{err}");
    ok(&pg, &["rebuild"]);
    let role = format!("layout_reader_{}", std::process::id());
    ok(&pg, &["grant-reader", &role]);
    query_texts(
        &pg,
        &format!("UPDATE {PROJECTIONS}.checkpoint SET layout = 0"),
    );
    let before = dump_projections(&pg);
    // when `follow` and `check-projections` open them,
    for args in [&["follow", "--once"][..], &["check-projections"]] {
        let (code, out, err) = run(&pg, args);
        // then each is refused, naming both layouts and what to do,
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains("are of layout 0"), "{args:?}: {err}");
        assert!(err.contains("reads and writes layout 1"), "{args:?}: {err}");
        assert!(
            err.contains("run `navigo-ledger rebuild`"),
            "{args:?}: {err}"
        );
    }
    // and nothing of the tables changed;
    assert_eq!(dump_projections(&pg), before);
    // when `rebuild` runs,
    ok(&pg, &["rebuild"]);
    // then the tables are of this layout, hold the same rows, are checked
    // equal to the log's views, and the reader role still reads them.
    let layout = query_texts(
        &pg,
        &format!("SELECT layout::text FROM {PROJECTIONS}.checkpoint"),
    );
    assert_eq!(joined(layout), "1");
    assert_eq!(dump_projections(&pg), before);
    let check = sql_check(&pg);
    assert_eq!(check["consistent"], true, "{check}");
    let read = query_texts(
        &pg,
        &format!("SELECT has_table_privilege('{role}', '{PROJECTIONS}.contracts', 'SELECT')::text"),
    );
    assert_eq!(joined(read), "true");
}
