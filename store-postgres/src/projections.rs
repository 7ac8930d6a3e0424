//! The materialized projections as SQL tables beside the ledger, for
//! projection services that query with SQL (`docs/sql-projections.md`).
//!
//! The tables live in a schema of their own, the ledger's schema name
//! followed by [`PROJECTION_SCHEMA_SUFFIX`] (`navigo_projections` for the
//! default ledger), so that a role can be given them and nothing of the log
//! ([`SqlProjections::grant_reader`]). Their layout is `sql/projections.sql`.
//! Which views fill the rows is the binary's business: this module stores
//! [`ProjectionBatch`]es, and guarantees that rows and the checkpoint (the
//! last log position folded) move together:
//!
//! - [`SqlProjections::apply`] replaces the rows of the ids of a batch and
//!   moves the checkpoint in one transaction, only from the checkpoint the
//!   batch was computed after (locked first): a batch is applied exactly once,
//!   whichever process (a `follow`, several services) computed it, and a crash
//!   between two batches leaves the tables at the first one's checkpoint.
//! - [`SqlProjections::begin_rebuild`] replaces every row in one transaction
//!   (readers see the old tables until it commits, then the new ones).
//!
//! Decision: tables of another layout than [`PROJECTION_LAYOUT`] (the one
//! their checkpoint row records) are refused, not rebuilt behind the
//! operator's back: [`SqlProjections::open`] refuses them before creating
//! anything, and every read of the checkpoint (each step of a follower that
//! opened them before another binary replaced them) refuses them too, naming
//! both layouts and saying that `rebuild` replaces them. Only a rebuild,
//! opened by [`SqlProjections::open_to_rebuild`], replaces tables of an older
//! layout, dropping and creating them inside its one transaction; tables of
//! a newer layout are a newer binary's, and even a rebuild refuses them.

use deadpool_postgres::{Object, Pool};
use navigo_store::StoreError;
use uuid::Uuid;

use crate::error::{pg, pool, to_i64, to_u64};
use crate::projection_rows::{insert_rows, read_batch};
pub use crate::projection_rows::{
    BanRow, ContractRow, DebitRow, PersonRow, ProjectionBatch, RefundRow,
};
use crate::schema::{check_schema_name, SCHEMA_NAME_BYTES_MAX};
use crate::PgConfig;

/// What follows the ledger's schema name in the name of its projection schema.
pub const PROJECTION_SCHEMA_SUFFIX: &str = "_projections";

/// The layout of the tables `sql/projections.sql` creates, recorded in the
/// checkpoint row. One more at every change of the tables that a binary of
/// the previous layout could not read or write.
pub const PROJECTION_LAYOUT: i32 = 1;

/// Connections the projection tables' pool opens: one writer (its
/// transactions are serialised by the checkpoint row anyway) and one reader.
const PROJECTION_CONNECTIONS_MAX: usize = 2;

/// The tables, in the order a rebuild empties them (and drops them, when it
/// replaces tables of an older layout: a layout that renames a table keeps
/// the old name here).
const TABLES: [&str; 6] = [
    "contracts",
    "debits",
    "persons",
    "bans",
    "refunds",
    "checkpoint",
];

/// The checkpoint row: what the tables cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlCheckpoint {
    /// The last log position folded.
    pub position: u64,
    /// The effective date the views are read on, `YYYY-MM-DD`.
    pub at: String,
    /// One more at every rebuild.
    pub generation: u64,
}

/// What [`SqlProjections::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The rows and the checkpoint were written.
    Done(SqlCheckpoint),
    /// The tables were no longer at the checkpoint the batch was computed
    /// after (another process moved or rebuilt them): nothing was written.
    Moved(Option<SqlCheckpoint>),
}

/// The projection tables of one ledger.
#[derive(Clone)]
pub struct SqlProjections {
    pool: Pool,
    schema: String,
}

impl std::fmt::Debug for SqlProjections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlProjections")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The projection schema of the ledger in `ledger_schema`.
///
/// # Errors
/// [`StoreError::NotALedger`] when the name would be longer than PostgreSQL
/// keeps.
pub fn projection_schema(ledger_schema: &str) -> Result<String, StoreError> {
    let name = format!("{ledger_schema}{PROJECTION_SCHEMA_SUFFIX}");
    check_schema_name(&name).map_err(|why| {
        crate::error::not_a_ledger(
            ledger_schema,
            format!(
                "its projection schema {why} (a ledger schema of at most {} bytes has one)",
                SCHEMA_NAME_BYTES_MAX - PROJECTION_SCHEMA_SUFFIX.len()
            ),
        )
    })?;
    Ok(name)
}

impl SqlProjections {
    /// Opens the projection tables of the ledger `config` names, creating
    /// their schema and tables when absent.
    ///
    /// # Errors
    /// Tables of another layout than [`PROJECTION_LAYOUT`] (nothing is
    /// created; `rebuild` replaces them), a schema name too long, a storage
    /// failure.
    pub async fn open(config: &PgConfig) -> Result<SqlProjections, StoreError> {
        SqlProjections::open_as(config, false).await
    }

    /// Opens the projection tables for a rebuild ([`SqlProjections::begin_rebuild`]):
    /// as [`SqlProjections::open`], except that tables of an older layout are
    /// accepted, left as they are until the rebuild replaces them.
    ///
    /// # Errors
    /// Tables of a newer layout, a schema name too long, a storage failure.
    pub async fn open_to_rebuild(config: &PgConfig) -> Result<SqlProjections, StoreError> {
        SqlProjections::open_as(config, true).await
    }

    async fn open_as(config: &PgConfig, rebuild: bool) -> Result<SqlProjections, StoreError> {
        let schema = projection_schema(&config.schema)?;
        let pool = config.pool("navigo-projections", PROJECTION_CONNECTIONS_MAX)?;
        let mut conn = pool.get().await.map_err(crate::error::pool)?;
        let tx = conn.transaction().await.map_err(pg)?;
        // Two processes opening them at once take turns here.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&schema])
            .await
            .map_err(pg)?;
        match stored_layout(&*tx, &schema).await? {
            // Created when absent; indexes a layout adds without changing a
            // table's rows are created here too.
            None => tx.batch_execute(&ddl(&schema)).await.map_err(pg)?,
            Some(layout) if layout == PROJECTION_LAYOUT => {
                tx.batch_execute(&ddl(&schema)).await.map_err(pg)?;
            }
            // Left as they are: the rebuild replaces them.
            Some(layout) if rebuild && layout < PROJECTION_LAYOUT => {}
            Some(layout) => return Err(other_layout(&schema, layout)),
        }
        tx.commit().await.map_err(pg)?;
        drop(conn);
        Ok(SqlProjections { pool, schema })
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool)
    }

    /// What the tables cover, `None` before the first rebuild.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn checkpoint(&self) -> Result<Option<SqlCheckpoint>, StoreError> {
        let conn = self.conn().await?;
        read_checkpoint(&**conn, &self.schema, false).await
    }

    /// Replaces the rows of every contract and person of `batch` by its rows
    /// and moves the checkpoint to `position`, in one transaction, if the
    /// tables are still at `after` (locked first, so that a batch is applied
    /// once even when several processes compute it).
    ///
    /// # Errors
    /// A storage failure (nothing is written).
    pub async fn apply(
        &self,
        after: &SqlCheckpoint,
        batch: &ProjectionBatch,
        position: u64,
    ) -> Result<Applied, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let now = read_checkpoint(&*tx, &self.schema, true).await?;
        if now.as_ref() != Some(after) {
            return Ok(Applied::Moved(now));
        }
        delete_ids(&*tx, &self.schema, batch).await?;
        insert_rows(&*tx, &self.schema, batch).await?;
        let s = &self.schema;
        tx.execute(
            &format!("UPDATE \"{s}\".checkpoint SET position = $1"),
            &[&to_i64(position)?],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(Applied::Done(SqlCheckpoint {
            position,
            ..after.clone()
        }))
    }

    /// Starts replacing every row: a transaction that holds the checkpoint
    /// row's table locked against other writers (readers go on reading the
    /// old rows) and has emptied the tables.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn begin_rebuild(&self) -> Result<SqlRebuild, StoreError> {
        let conn = self.conn().await?;
        let s = &self.schema;
        // Two rebuilds take turns (the mode conflicts with itself); a
        // catch-up waits on the checkpoint row, then finds it replaced.
        let lock = format!("BEGIN; LOCK TABLE \"{s}\".checkpoint IN SHARE ROW EXCLUSIVE MODE");
        let mut empty = String::new();
        for t in TABLES {
            empty.push_str(&format!("DELETE FROM \"{s}\".{t}; "));
        }
        let begun = async {
            conn.batch_execute(&lock).await.map_err(pg)?;
            let before = read_checkpoint_row(&**conn, s, false).await?;
            match before.as_ref().map(|(_, layout)| *layout) {
                Some(layout) if layout > PROJECTION_LAYOUT => return Err(other_layout(s, layout)),
                Some(layout) if layout < PROJECTION_LAYOUT => {
                    conn.batch_execute(&replace_tables(s)).await.map_err(pg)?;
                }
                _ => conn.batch_execute(&empty).await.map_err(pg)?,
            }
            Ok::<_, StoreError>(before.map(|(c, _)| c))
        }
        .await;
        match begun {
            Ok(before) => Ok(SqlRebuild {
                conn: Some(conn),
                schema: s.clone(),
                generation: before.map_or(1, |c| c.generation + 1),
            }),
            Err(e) => {
                // Inside a transaction: closed rather than pooled.
                drop(Object::take(conn));
                Err(e)
            }
        }
    }

    /// Every row, each table in key order (for a check).
    ///
    /// # Errors
    /// A storage failure or a stored value out of range.
    pub async fn read_all(&self) -> Result<(Option<SqlCheckpoint>, ProjectionBatch), StoreError> {
        let mut conn = self.conn().await?;
        // One snapshot for the checkpoint and every table.
        let tx = conn
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let checkpoint = read_checkpoint(&*tx, &self.schema, false).await?;
        let batch = read_batch(&*tx, &self.schema).await?;
        tx.commit().await.map_err(pg)?;
        Ok((checkpoint, batch))
    }

    /// Lets `role` read the projection tables and nothing else of the ledger:
    /// creates it (`NOLOGIN`: an operator gives it a login or grants it to
    /// one) when it does not exist, and grants it the use of the projection
    /// schema and `SELECT` on its tables, present and future. The role gets
    /// no privilege on the ledger's own schema, so it can read no record of
    /// the log, and no write on the tables.
    ///
    /// # Errors
    /// A role name that is not a plain lower-case identifier, a storage
    /// failure (e.g. the connecting role may not create roles).
    pub async fn grant_reader(&self, role: &str) -> Result<(), StoreError> {
        // A role name follows the rule of a schema name (a plain identifier,
        // written into statements unquoted by the operator as well).
        check_schema_name(role).map_err(|_| {
            StoreError::Storage(format!(
                "role {role:?}: lower-case letters, digits and underscores, not starting \
                 with a digit, at most {SCHEMA_NAME_BYTES_MAX} bytes"
            ))
        })?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                &[&role],
            )
            .await
            .map_err(pg)?
            .get(0);
        let s = &self.schema;
        let mut sql = String::new();
        if !exists {
            sql.push_str(&format!("CREATE ROLE \"{role}\" NOLOGIN; "));
        }
        sql.push_str(&format!(
            "GRANT USAGE ON SCHEMA \"{s}\" TO \"{role}\"; \
             GRANT SELECT ON ALL TABLES IN SCHEMA \"{s}\" TO \"{role}\"; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA \"{s}\" GRANT SELECT ON TABLES TO \"{role}\";"
        ));
        tx.batch_execute(&sql).await.map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
}

/// A rebuild of every row in progress ([`SqlProjections::begin_rebuild`]):
/// rows inserted by [`SqlRebuild::insert`], made visible with their
/// checkpoint by [`SqlRebuild::finish`]; dropped unfinished, nothing changes.
pub struct SqlRebuild {
    conn: Option<Object>,
    schema: String,
    generation: u64,
}

impl SqlRebuild {
    fn conn(&self) -> Result<&Object, StoreError> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Storage("the rebuild's connection is gone".into()))
    }

    /// Inserts rows (of ids not inserted before in this rebuild).
    ///
    /// # Errors
    /// A storage failure: the rebuild is then abandoned by dropping it.
    pub async fn insert(&mut self, batch: &ProjectionBatch) -> Result<(), StoreError> {
        insert_rows(&***self.conn()?, &self.schema, batch).await
    }

    /// Writes the checkpoint (`position` on `at`, `YYYY-MM-DD`) and commits.
    ///
    /// # Errors
    /// A storage failure: nothing changed.
    pub async fn finish(mut self, position: u64, at: &str) -> Result<SqlCheckpoint, StoreError> {
        let s = self.schema.clone();
        let generation = self.generation;
        let conn = self.conn()?;
        conn.execute(
            &format!(
                "INSERT INTO \"{s}\".checkpoint (position, at, generation, layout) \
                 VALUES ($1, $2::text::date, $3, $4)"
            ),
            &[
                &to_i64(position)?,
                &at,
                &to_i64(generation)?,
                &PROJECTION_LAYOUT,
            ],
        )
        .await
        .map_err(pg)?;
        conn.batch_execute("COMMIT").await.map_err(pg)?;
        // Committed: the connection goes back to the pool.
        self.conn = None;
        Ok(SqlCheckpoint {
            position,
            at: at.to_owned(),
            generation,
        })
    }
}

impl Drop for SqlRebuild {
    fn drop(&mut self) {
        // Unfinished: the connection, inside its transaction, is closed
        // rather than pooled, which rolls the transaction back.
        if let Some(conn) = self.conn.take() {
            drop(Object::take(conn));
        }
    }
}

/// The statements that create the projection schema and its tables when
/// absent, on a transaction's search path.
fn ddl(schema: &str) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET LOCAL search_path TO \"{schema}\"; {}",
        include_str!("../sql/projections.sql")
    )
}

/// The statements that drop the tables of an older layout and create this
/// one's, inside a rebuild's transaction.
fn replace_tables(schema: &str) -> String {
    let mut sql = String::new();
    for t in TABLES {
        sql.push_str(&format!("DROP TABLE IF EXISTS \"{schema}\".{t}; "));
    }
    sql + &ddl(schema)
}

/// The refusal of tables of `layout` (another than [`PROJECTION_LAYOUT`]).
fn other_layout(schema: &str, layout: i32) -> StoreError {
    let what = if layout < PROJECTION_LAYOUT {
        "run `navigo-ledger rebuild` to replace them (they are derived from the log)"
    } else {
        "a newer navigo-ledger wrote them: run that version, or drop the schema and \
         run `navigo-ledger rebuild`"
    };
    StoreError::Storage(format!(
        "the SQL projection tables in schema \"{schema}\" are of layout {layout}, and this \
         navigo-ledger reads and writes layout {PROJECTION_LAYOUT}: {what}"
    ))
}

/// The layout the checkpoint row records, `None` when there are no tables
/// yet or they were never built (no row, and so no row in any table).
async fn stored_layout<C: tokio_postgres::GenericClient>(
    c: &C,
    schema: &str,
) -> Result<Option<i32>, StoreError> {
    let table = format!("\"{schema}\".checkpoint");
    let exists: bool = c
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(pg)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let sql = format!("SELECT layout FROM {table}");
    let row = c.query_opt(&sql, &[]).await.map_err(pg)?;
    row.map(|r| r.try_get(0).map_err(pg)).transpose()
}

/// The checkpoint row (`FOR UPDATE` when `lock`), refused when of another
/// layout: a process that opened the tables before another binary replaced
/// them neither reads nor writes them.
async fn read_checkpoint<C: tokio_postgres::GenericClient>(
    c: &C,
    schema: &str,
    lock: bool,
) -> Result<Option<SqlCheckpoint>, StoreError> {
    match read_checkpoint_row(c, schema, lock).await? {
        Some((_, layout)) if layout != PROJECTION_LAYOUT => Err(other_layout(schema, layout)),
        row => Ok(row.map(|(c, _)| c)),
    }
}

/// The checkpoint row and the layout it records (`FOR UPDATE` when `lock`).
async fn read_checkpoint_row<C: tokio_postgres::GenericClient>(
    c: &C,
    schema: &str,
    lock: bool,
) -> Result<Option<(SqlCheckpoint, i32)>, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql =
        format!("SELECT position, at::text, generation, layout FROM \"{schema}\".checkpoint{lock}");
    let Some(row) = c.query_opt(&sql, &[]).await.map_err(pg)? else {
        return Ok(None);
    };
    let checkpoint = SqlCheckpoint {
        position: to_u64(row.try_get(0).map_err(pg)?, 0, "projection checkpoint")?,
        at: row.try_get(1).map_err(pg)?,
        generation: to_u64(row.try_get(2).map_err(pg)?, 0, "projection generation")?,
    };
    Ok(Some((checkpoint, row.try_get(3).map_err(pg)?)))
}

/// Deletes every row of the contracts and persons `batch` holds rows of.
async fn delete_ids<C: tokio_postgres::GenericClient>(
    c: &C,
    s: &str,
    batch: &ProjectionBatch,
) -> Result<(), StoreError> {
    let contracts: Vec<Uuid> = batch.contracts.iter().map(|r| r.contract).collect();
    let persons: Vec<Uuid> = batch.persons.iter().map(|r| r.person).collect();
    for (table, column, ids) in [
        ("contracts", "contract", &contracts),
        ("debits", "contract", &contracts),
        ("persons", "person", &persons),
        ("bans", "person", &persons),
        ("refunds", "person", &persons),
    ] {
        if ids.is_empty() {
            continue;
        }
        let sql = format!("DELETE FROM \"{s}\".{table} WHERE {column} = ANY($1)");
        c.execute(&sql, &[ids]).await.map_err(pg)?;
    }
    Ok(())
}
