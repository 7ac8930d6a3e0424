//! The projection tables' layout: tables of another layout than this
//! binary's [`PROJECTION_LAYOUT`] are refused at open and at every step,
//! naming both layouts and what to do, with nothing written; a rebuild
//! replaces tables of an older layout in its one transaction and refuses a
//! newer one.

mod support;

use navigo_store_postgres::projections::{
    projection_schema, Applied, ContractRow, DebitRow, ProjectionBatch, SqlProjections,
    PROJECTION_LAYOUT,
};
use navigo_store_postgres::PgConfig;
use support::*;
use uuid::Uuid;

/// The rows of one contract `n` with one debit row.
fn batch(n: u128) -> ProjectionBatch {
    let contract = Uuid::from_u128(n);
    ProjectionBatch {
        contracts: vec![ContractRow {
            contract,
            status: "active".into(),
            product: "navigo-annuel".into(),
            holder: Uuid::from_u128(1_000 + n),
            payer: Uuid::from_u128(1_000 + n),
            balance: "0.00".into(),
            debt: "0.00".into(),
            credit: "0.00".into(),
            next_debit: Some("2027-02-05".into()),
            state_view: "{}".into(),
            balance_view: "{}".into(),
            calendar_view: "{}".into(),
        }],
        debits: vec![DebitRow {
            contract,
            row_number: 0,
            month: "2027-02".into(),
            debit_date: Some("2027-02-05".into()),
            amount: "90.80".into(),
            status: "scheduled".into(),
            debit: true,
            recorded: false,
        }],
        ..ProjectionBatch::default()
    }
}

/// A ledger whose projection tables were built once, with contract 1's rows
/// at position 7 on 2027-02-14.
async fn built(name: &str) -> (PgConfig, SqlProjections, String) {
    let config = fresh_place(name).await;
    let sql = SqlProjections::open(&config).await.unwrap();
    let mut build = sql.begin_rebuild().await.unwrap();
    build.insert(&batch(1)).await.unwrap();
    build.finish(7, "2027-02-14").await.unwrap();
    let schema = projection_schema(&config.schema).unwrap();
    (config, sql, schema)
}

/// Everything the projection schema holds, as comparable text: each table
/// and index with its columns, then the checkpoint and the contracts' rows.
async fn snapshot(c: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    let mut out: Vec<String> = c
        .query(
            "SELECT c.relname || ':' || coalesce(string_agg(a.attname, ',' ORDER BY a.attnum), '') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE n.nspname = $1 GROUP BY c.relname ORDER BY c.relname",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for q in [
        "SELECT position || ' ' || at || ' ' || generation || ' ' || layout FROM \"{s}\".checkpoint",
        "SELECT contract::text FROM \"{s}\".contracts ORDER BY contract",
    ] {
        let q = q.replace("{s}", schema);
        out.extend(c.query(&q, &[]).await.unwrap().iter().map(|r| r.get(0)));
    }
    out
}

/// Sets the layout the checkpoint row records.
async fn record_layout(c: &tokio_postgres::Client, schema: &str, layout: i32) {
    let q = format!("UPDATE \"{schema}\".checkpoint SET layout = $1");
    c.execute(&q, &[&layout]).await.unwrap();
}

/// Asserts `e` refuses tables of `layout`, naming both layouts and `hint`.
fn assert_refused(e: &impl std::fmt::Display, layout: i32, hint: &str) {
    let m = e.to_string();
    assert!(m.contains(&format!("are of layout {layout}")), "{m}");
    assert!(
        m.contains(&format!("reads and writes layout {PROJECTION_LAYOUT}")),
        "{m}"
    );
    assert!(m.contains(hint), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_layout_of_an_older_or_newer_layout_is_refused_at_open_and_at_each_step_writing_nothing(
) {
    for (layout, hint) in [
        (
            PROJECTION_LAYOUT - 1,
            "run `navigo-ledger rebuild` to replace them",
        ),
        (PROJECTION_LAYOUT + 1, "a newer navigo-ledger wrote them"),
    ] {
        // Given tables built, then found of another layout than this binary's
        // (another binary rebuilt them), with one index of ours gone
        let (config, running, schema) = built(&format!("layout_{layout}")).await;
        let c = raw().await;
        record_layout(&c, &schema, layout).await;
        c.batch_execute(&format!("DROP INDEX \"{schema}\".contracts_debt"))
            .await
            .unwrap();
        let before = snapshot(&c, &schema).await;
        // When a follower, a service or a check opens them
        let opened = SqlProjections::open(&config).await;
        // Then they are refused, naming both layouts and what to do, and
        // nothing is created (not even the missing index)
        assert_refused(&opened.unwrap_err(), layout, hint);
        assert_eq!(snapshot(&c, &schema).await, before);
        // When a process that opened them before goes on stepping
        let stale = running.checkpoint().await;
        // Then its reads and writes are refused too, and nothing moves
        assert_refused(&stale.unwrap_err(), layout, hint);
        let after = navigo_store_postgres::projections::SqlCheckpoint {
            position: 7,
            at: "2027-02-14".into(),
            generation: 1,
        };
        let applied = running.apply(&after, &batch(2), 9).await;
        assert_refused(&applied.unwrap_err(), layout, hint);
        assert!(running.read_all().await.is_err());
        assert_eq!(snapshot(&c, &schema).await, before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_layout_rebuild_replaces_tables_of_an_older_layout_in_one_transaction() {
    // Given tables of an older layout: recorded as such, and shaped
    // otherwise (a column this layout has is missing)
    let (config, _, schema) = built("layout_older").await;
    let c = raw().await;
    record_layout(&c, &schema, PROJECTION_LAYOUT - 1).await;
    c.batch_execute(&format!(
        "ALTER TABLE \"{schema}\".contracts DROP COLUMN next_debit"
    ))
    .await
    .unwrap();
    let old = snapshot(&c, &schema).await;
    // When a rebuild opens them, it is not refused and changes nothing yet
    let sql = SqlProjections::open_to_rebuild(&config).await.unwrap();
    assert_eq!(snapshot(&c, &schema).await, old);
    // When a rebuild is abandoned midway (its rows inserted, no checkpoint)
    let mut build = sql.begin_rebuild().await.unwrap();
    build.insert(&batch(2)).await.unwrap();
    drop(build);
    // Then the old tables are whole, as they were
    assert_eq!(snapshot(&c, &schema).await, old);
    // When a rebuild runs to its end
    let mut build = sql.begin_rebuild().await.unwrap();
    build.insert(&batch(3)).await.unwrap();
    let done = build.finish(11, "2027-02-15").await.unwrap();
    // Then the tables are of this layout, with the column back, the
    // rebuild's rows only, and the next generation
    assert_eq!((done.position, done.generation), (11, 2));
    let new = snapshot(&c, &schema).await;
    assert!(new
        .iter()
        .any(|t| t.starts_with("contracts:") && t.contains("next_debit")));
    assert!(new.iter().any(|t| t.starts_with("contracts_debt:")));
    assert!(new.contains(&format!("11 2027-02-15 2 {PROJECTION_LAYOUT}")));
    assert!(new.contains(&Uuid::from_u128(3).to_string()));
    assert!(!new.contains(&Uuid::from_u128(1).to_string()));
    assert!(!new.contains(&Uuid::from_u128(2).to_string()));
    // And a follower opens and steps them again
    let follower = SqlProjections::open(&config).await.unwrap();
    let at = follower.checkpoint().await.unwrap().unwrap();
    let applied = follower.apply(&at, &batch(4), 12).await.unwrap();
    assert!(matches!(applied, Applied::Done(c) if c.position == 12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_layout_rebuild_refuses_tables_of_a_newer_layout_writing_nothing() {
    // Given tables a newer binary built
    let (config, sql, schema) = built("layout_newer").await;
    let c = raw().await;
    record_layout(&c, &schema, PROJECTION_LAYOUT + 1).await;
    let before = snapshot(&c, &schema).await;
    // When this binary's rebuild opens them, or one opened before begins
    let opened = SqlProjections::open_to_rebuild(&config).await;
    let begun = sql.begin_rebuild().await;
    // Then both are refused, naming both layouts, and nothing changed
    assert_refused(&opened.unwrap_err(), PROJECTION_LAYOUT + 1, "newer");
    assert_refused(&begun.err().unwrap(), PROJECTION_LAYOUT + 1, "newer");
    assert_eq!(snapshot(&c, &schema).await, before);
}
