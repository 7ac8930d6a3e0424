//! Every list a projection service reads (`GET /v1/lists/{name}`, `navigo-ledger
//! list NAME`), asked of a generated region with filter values drawn evenly
//! over the terms of each list's own index (read from its keys, so that a
//! million-contract region's rows are never held): p50 and p99 of one page,
//! each query alternating with its raw reference.
//!
//! The list path is the binary's own code, not a stand-in: `src/app/lists.rs` is
//! compiled here as a module (as `sealed_rebuild` compiles the key store), and a
//! query is what the service's handler does after the HTTP exchange: the
//! parameters read and checked (`lists::ask`), the generation and its indexes
//! checked, the index's range scanned from the cursor, the entries decoded
//! (`lists::page`). The raw reference is sled alone on the same bytes: the
//! same tree's range from the same bound to the page's cursor (the entries the
//! page examined, which for the one list that filters beyond its range, bans
//! active on a date, are more than it gives), each entry decoded from its
//! stored form (`index::decode_entry`: decompressed, its JSON parsed) and
//! its id read from its key.
//!
//! The ledger: `NAVIGO_BENCH_LEDGER=<data directory>` whose projections are
//! built (the regional bench's kept ledger, `NAVIGO_BENCH_KEEP`, or a demo's
//! directory). Without it, the binary's `demo` generates
//! `NAVIGO_BENCH_CONTRACTS` contracts (default 2,000) from 2024-01-01 through
//! 2026-10-31 into a temporary directory, projections included. Queries per list:
//! `NAVIGO_BENCH_QUERIES` (default 400), drawn evenly from the index's terms;
//! rows per page: `NAVIGO_BENCH_LIMIT` (default the lists' own, 100); each
//! query and its reference timed `NAVIGO_BENCH_ROUNDS` times (default 3), the
//! least kept.
//!
//! `cargo bench -p navigo-ledger --bench lists`

// The binary's module is compiled whole; the bench calls only some of it (and
// a bench without the test harness leaves its unit tests, and their imports, out).
#[allow(dead_code, unused_imports)]
#[path = "../src/app/lists.rs"]
mod lists;

use std::hint::black_box;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::Duration;
use navigo_events_schema::views::ListPage;
use navigo_replay::materialize::index::{self, key_id, Term, LIST_PAGE_ROWS_DEFAULT};
use navigo_replay::materialize::ProjectionDb;
use serde_json::Value;

use lists::{ListSpec, Mode, ValueKind, LISTS};

/// The binary's allocator (`src/main.rs`), so that a page costs here what it
/// costs the service: under glibc's `malloc` the 100,000-contract ledger's
/// pages spent a third of their samples in `_int_malloc` (sled's nodes paged
/// in and dropped), the raw scans alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Characters of a name a person search types (the start of a family name).
const NAME_PREFIX_CHARS: usize = 3;
/// Days before a ban window's end the `bans-active` query asks about.
const BAN_QUERY_DAYS_BEFORE_END: i64 = 30;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A ledger with its projections built, and the temporary directory to remove
/// when the bench made it.
fn ledger() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Ok(dir) = std::env::var("NAVIGO_BENCH_LEDGER") {
        return (PathBuf::from(dir), None);
    }
    let contracts = env_or("NAVIGO_BENCH_CONTRACTS", 2_000);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("ledger");
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_navigo-ledger"))
        .arg("--data")
        .arg(&data)
        .args([
            "demo",
            "--json",
            "--from",
            "2024-01-01",
            "--through",
            "2026-10-31",
        ])
        .args(["--contracts", &contracts.to_string()])
        .output()
        .expect("run the demo");
    assert!(
        out.status.success(),
        "the demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "generated {contracts} contracts with `demo` in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    (data, Some(tmp))
}

/// The parameter value a query of `spec` asks with, from a term of its index.
fn value_of(spec: &ListSpec, term: &Term) -> String {
    let text = match term {
        Term::Text(s) => s.clone(),
        Term::Id(id) => id.to_string(),
        Term::Date(d) if spec.mode == Mode::ActiveOn => {
            (*d - Duration::days(BAN_QUERY_DAYS_BEFORE_END)).to_string()
        }
        Term::Date(d) => d.to_string(),
        // A debt above the one drawn, less a cent: that contract and the
        // larger debts.
        Term::Cents(c) => {
            let c = (c - 1).max(0);
            format!("{}.{:02}", c / 100, c % 100)
        }
    };
    match spec.value {
        ValueKind::Name => text.chars().take(NAME_PREFIX_CHARS).collect(),
        _ => text,
    }
}

/// The term of an entry's key as `spec` reads it: the key's encoded term
/// ([`Term::encode`]) unescaped up to its terminator, the row's id after it
/// left out. Checked: the term and the key's id encode back to the key.
fn term_of(spec: &ListSpec, key: &[u8]) -> Term {
    let mut raw = Vec::with_capacity(key.len());
    let mut bytes = key[..key.len().saturating_sub(16)].iter();
    while let Some(&b) = bytes.next() {
        match (b, b == 0 && bytes.next() == Some(&0xFF)) {
            (0, true) => raw.push(0),
            // `0x00 0x00`: the terminator.
            (0, false) => break,
            (b, _) => raw.push(b),
        }
    }
    let text = || String::from_utf8(raw.clone()).expect("a text term");
    let term = match spec.value {
        ValueKind::Id => Term::Id(uuid::Uuid::from_slice(&raw).expect("an id term")),
        ValueKind::Date => Term::Date(text().parse().expect("a date term")),
        ValueKind::Amount => {
            let flipped = u64::from_be_bytes(raw.as_slice().try_into().expect("an amount term"));
            Term::Cents(i64::from_be_bytes((flipped ^ (1 << 63)).to_be_bytes()))
        }
        _ => Term::Text(text()),
    };
    let id = key_id(spec.index, key).expect("an entry's id");
    assert_eq!(index::entry_key(&term, id), key, "the key's term decoded");
    term
}

/// The entries of the index `spec` reads, and up to `n` filter values drawn
/// evenly over them in the index's order (the terms' quantiles). Read from
/// the index's keys, two passes and nothing held but the values: the rows
/// of a million-contract region would not fit in memory.
fn values(spec: &ListSpec, db: &ProjectionDb, n: usize) -> (usize, Vec<String>) {
    let def = index::index(spec.index).expect("the list's index");
    let (_, tree, _) = db.index_tree(def).expect("the index tree");
    let entries = tree.len();
    let step = (entries / n.max(1)).max(1);
    let drawn = tree
        .iter()
        .keys()
        .step_by(step)
        .take(n)
        .map(|k| value_of(spec, &term_of(spec, &k.expect("scan"))))
        .collect();
    (entries, drawn)
}

/// One page through the binary's list code.
fn list_query(db: &ProjectionDb, spec: &'static ListSpec, value: &str, limit: usize) -> ListPage {
    let params = vec![
        (spec.param.to_owned(), value.to_owned()),
        ("limit".to_owned(), limit.to_string()),
    ];
    let asked = lists::ask(spec, &params).expect("the parameters");
    lists::page(db, &asked).expect("the page")
}

/// The keys the page examined: its range up to its cursor (the last entry it
/// examined) when it has one, else the whole range. For a list that filters
/// entries beyond its range (bans active on a date) that is more entries
/// than it gives.
fn examined(spec: &ListSpec, value: &str, page: &ListPage) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let term = lists::term(spec, value).expect("the term");
    let (lo, hi) = lists::range(spec.mode, term).key_bounds();
    match &page.next {
        Some(cursor) => (lo, Bound::Included(hex::decode(cursor).expect("a cursor"))),
        None => (lo, hi),
    }
}

/// The raw reference: the same entries of the same tree, each decoded; the
/// entries read.
fn raw_query(tree: &sled::Tree, name: &str, keys: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> usize {
    let mut n = 0;
    for item in tree.range(keys.clone()) {
        let (k, v) = item.expect("scan");
        let _entry: Value = index::decode_entry(name, &k, &v).expect("an entry");
        key_id(name, &k).expect("an entry's id");
        n += 1;
    }
    n
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The least of `rounds` timings of `f`, in µs: a query takes far less than a
/// scheduler's slice, so the least is the query's own cost on this shared
/// machine, free of the preemptions that other processes cause.
fn least_us(rounds: usize, mut f: impl FnMut()) -> f64 {
    (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

/// Times every query of one list against its reference, each the least of
/// `rounds`, alternating which goes first; prints p50 and p99 of each and
/// their ratio.
fn bench_list(
    db: &ProjectionDb,
    spec: &'static ListSpec,
    values: &[String],
    limit: usize,
    rounds: usize,
) {
    let def = index::index(spec.index).expect("the list's index");
    let (_, tree, name) = db.index_tree(def).expect("the index tree");
    let (mut list_us, mut raw_us, mut entries) = (Vec::new(), Vec::new(), 0);
    for (i, v) in values.iter().enumerate() {
        let page = list_query(db, spec, v, limit);
        entries += page.items.len();
        let keys = examined(spec, v, &page);
        let time_list = || {
            least_us(rounds, || {
                black_box(list_query(db, spec, v, limit));
            })
        };
        let time_raw = || {
            least_us(rounds, || {
                black_box(raw_query(&tree, &name, &keys));
            })
        };
        let (l, r) = if i % 2 == 0 {
            (time_list(), time_raw())
        } else {
            let r = time_raw();
            (time_list(), r)
        };
        list_us.push(l);
        raw_us.push(r);
    }
    if list_us.is_empty() {
        println!("| {} | no row to draw a value from | | | |", spec.name);
        return;
    }
    list_us.sort_by(f64::total_cmp);
    raw_us.sort_by(f64::total_cmp);
    let (l50, l99) = (percentile(&list_us, 0.5), percentile(&list_us, 0.99));
    let (r50, r99) = (percentile(&raw_us, 0.5), percentile(&raw_us, 0.99));
    println!(
        "| {} | {} | {:.1} | {:.0} / {:.0} µs | {:.0} / {:.0} µs | {:.2} |",
        spec.name,
        list_us.len(),
        entries as f64 / list_us.len() as f64,
        l50,
        l99,
        r50,
        r99,
        l99 / r99
    );
}

fn main() {
    let (data, _tmp) = ledger();
    let queries = env_or("NAVIGO_BENCH_QUERIES", 400);
    let limit = env_or("NAVIGO_BENCH_LIMIT", LIST_PAGE_ROWS_DEFAULT);
    let rounds = env_or("NAVIGO_BENCH_ROUNDS", 3);
    let db = ProjectionDb::open(Path::new(&data)).expect("the projections");
    let generation = db
        .current()
        .expect("the generation")
        .expect("projections built");
    println!(
        "projections of {} on {} (checkpoint {}); {queries} queries a list, pages of {limit}",
        data.display(),
        generation.at,
        generation.checkpoint,
    );
    let drawn: Vec<(&'static ListSpec, Vec<String>)> = LISTS
        .iter()
        .map(|spec| {
            let (entries, values) = values(spec, &db, queries);
            println!("{}: {entries} entries in {}", spec.name, spec.index);
            (spec, values)
        })
        .collect();
    println!("least of {rounds} rounds a query");
    println!("| list | queries | entries a page | list p50 / p99 | raw p50 / p99 | p99 ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (spec, values) in &drawn {
        bench_list(&db, spec, values, limit, rounds);
    }
}
