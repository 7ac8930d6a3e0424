//! The materialized projections as SQL tables, when the log is in
//! PostgreSQL: the rows of the views (computed by replay's per-id folds, the
//! very code that fills the sled projections) turned into the tables of
//! `store-postgres`'s `projections` (`docs/sql-projections.md`), kept by
//! `rebuild`, `follow` and the service's projector, and checked by
//! `check-projections` against an as-of computation from the log.
//!
//! Decision: the SQL tables have a checkpoint of their own, beside the sled
//! projections' (which each service keeps in its data directory for its
//! lists): each sink folds what it has not folded yet, so a crash between the
//! two leaves neither behind for good, and services sharing a database keep
//! one set of tables, each step applied once whoever computes it first
//! ([`SqlProjections::apply`] moves the checkpoint only from where the step
//! started).
//!
//! Decision: the rows of a step are computed (views folded, decoded and
//! turned into rows) on a blocking thread, never on the runtime's workers,
//! where a service's commands are judged: a catch-up's thread computes its
//! batches in order and hands each to the step's task through a channel of
//! [`SQL_BATCHES_AHEAD_MAX`], which writes it with its checkpoint and awaits
//! only the database. The batches are applied in order, each from the
//! checkpoint the previous one reached, so the exactly-once promise is the
//! same as when they were computed in turn; a failed write ends the step
//! with the tables at the last batch committed, and the thread's batch
//! computed ahead is dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use navigo_events_schema::views::{
    ContractBalance, ContractStateView, DebitCalendar, DebitStatus, PersonBans, PersonRefunds,
    PersonSummary, ProjectionCheck, ProjectionHashes, ProjectionMismatch,
};
use navigo_events_schema::Envelope;
use navigo_ledger_core::Ledger;
use navigo_replay::materialize::index::{is_debit, status_tag};
use navigo_replay::materialize::rows::{rows_of_slice, rows_of_tail};
use navigo_replay::materialize::{compute_rows, Progress, Rows};
use navigo_store::EventStore;
use navigo_store_postgres::projections::{
    Applied, BanRow, ContractRow, DebitRow, PersonRow, ProjectionBatch, RefundRow, SqlCheckpoint,
    SqlProjections,
};
use uuid::Uuid;

use super::admin::{read_chunk, SlicePlan};

/// Events folded into the SQL tables per transaction when they catch up: a
/// crash loses at most the batch in flight, never a part of one, and the
/// tables move forward in steps readers can see.
pub const SQL_CATCH_UP_EVENTS_MAX: usize = 256;

/// Batches a catch-up's computing thread may hold ready ahead of the one
/// being written: enough to compute the next while the database writes one,
/// and no more memory than that.
pub const SQL_BATCHES_AHEAD_MAX: usize = 1;

/// Events shared with the thread that computes the rows of a step.
pub type SharedEvents = Arc<Vec<Envelope>>;

/// A serialisable enum's wire name (`"active"`, `"SUB-WINDOW"`...).
fn wire<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    match serde_json::to_value(v)? {
        serde_json::Value::String(s) => Ok(s),
        other => anyhow::bail!("expected a wire name, found {other}"),
    }
}

fn view<T: serde::de::DeserializeOwned>(json: &[u8]) -> anyhow::Result<T> {
    Ok(serde_json::from_slice(json)?)
}

fn text(json: &[u8]) -> anyhow::Result<String> {
    Ok(String::from_utf8(json.to_vec())?)
}

/// The rows of one contract from its three views.
fn contract_rows(
    id: Uuid,
    state: &[u8],
    balance: &[u8],
    calendar: &[u8],
    out: &mut ProjectionBatch,
) -> anyhow::Result<()> {
    let s: ContractStateView = view(state)?;
    let b: ContractBalance = view(balance)?;
    let c: DebitCalendar = view(calendar)?;
    let next_debit = c
        .rows
        .iter()
        .filter(|r| is_debit(r) && r.status == DebitStatus::Scheduled)
        .filter_map(|r| r.debit_date)
        .min();
    out.contracts.push(ContractRow {
        contract: id,
        status: status_tag(&s.status).to_owned(),
        product: s.product.key().to_string(),
        holder: s.holder,
        payer: s.payer,
        balance: b.totals.balance.to_string(),
        debt: b.totals.debt.to_string(),
        credit: b.totals.credit.to_string(),
        next_debit: next_debit.map(|d| d.to_string()),
        state_view: text(state)?,
        balance_view: text(balance)?,
        calendar_view: text(calendar)?,
    });
    for (n, r) in c.rows.iter().enumerate() {
        out.debits.push(DebitRow {
            contract: id,
            row_number: i32::try_from(n)?,
            month: r.month.to_string(),
            debit_date: r.debit_date.map(|d| d.to_string()),
            amount: r.amount.to_string(),
            status: wire(&r.status)?,
            debit: is_debit(r),
            recorded: r.recorded,
        });
    }
    Ok(())
}

/// The rows of one person from their bans, refunds and summary views; the
/// summary's names are left out (sealed data never reaches the tables).
fn person_rows(
    id: Uuid,
    bans: &[u8],
    refunds: &[u8],
    person: &[u8],
    out: &mut ProjectionBatch,
) -> anyhow::Result<()> {
    let b: PersonBans = view(bans)?;
    let r: PersonRefunds = view(refunds)?;
    let p: PersonSummary = view(person)?;
    out.persons.push(PersonRow {
        person: id,
        client_number: p.client_number.to_string(),
        erased: p.erased,
        bans_view: text(bans)?,
        refunds_view: text(refunds)?,
    });
    for (n, w) in b.windows.iter().enumerate() {
        out.bans.push(BanRow {
            person: id,
            window_number: i32::try_from(n)?,
            contract: w.contract,
            rule: wire(&w.rule)?,
            role: wire(&w.role)?,
            start_date: w.start.to_string(),
            end_date: w.end.to_string(),
            until_date: w.until.to_string(),
            lifted_on: w.lifted.as_ref().map(|l| l.date.to_string()),
        });
    }
    for (n, f) in r.refunds.iter().enumerate() {
        out.refunds.push(RefundRow {
            person: id,
            refund_number: i32::try_from(n)?,
            event_id: f.event_id,
            contract: f.contract,
            reason: wire(&f.reason)?,
            amount: f.amount.to_string(),
            date: f.date.to_string(),
            due_by: f.due_by.to_string(),
            method: wire(&f.method)?,
            beneficiary: f.beneficiary,
            status: wire(&f.status)?,
        });
    }
    Ok(())
}

/// The table rows of materialized `rows` (every view of each contract and
/// person they hold).
///
/// # Errors
/// A contract or person missing one of its views, a view that does not
/// decode.
pub fn batch_of(rows: &Rows) -> anyhow::Result<ProjectionBatch> {
    let kind = |k: &str| rows.get(k).cloned().unwrap_or_default();
    let (state, balance, calendar) = (kind("state"), kind("balance"), kind("calendar"));
    let (bans, refunds, persons) = (kind("bans"), kind("refunds"), kind("person"));
    let mut out = ProjectionBatch::default();
    let missing = |what: &str, id: &Uuid| anyhow::anyhow!("the {what} view of {id} is missing");
    for (id, s) in &state {
        let b = balance.get(id).ok_or_else(|| missing("balance", id))?;
        let c = calendar.get(id).ok_or_else(|| missing("calendar", id))?;
        contract_rows(*id, s, b, c, &mut out)?;
    }
    for (id, p) in &persons {
        let b = bans.get(id).ok_or_else(|| missing("bans", id))?;
        let r = refunds.get(id).ok_or_else(|| missing("refunds", id))?;
        person_rows(*id, b, r, p, &mut out)?;
    }
    Ok(out)
}

/// Runs `compute` on a blocking thread, off the runtime's workers.
///
/// # Errors
/// `compute`'s, or the thread's panic.
async fn off_runtime<T: Send + 'static>(
    compute: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(compute).await?
}

/// Replaces every row by the views on `at` of `events` (the whole log),
/// computed off the runtime's workers.
///
/// # Errors
/// A view that cannot be computed, a storage failure (nothing changed).
pub async fn rebuild_whole(
    sql: &SqlProjections,
    events: SharedEvents,
    at: NaiveDate,
) -> anyhow::Result<SqlCheckpoint> {
    let position = events.last().map_or(0, |e| e.position);
    let batch = off_runtime(move || batch_of(&rows_of_tail(&events, &events, at, true)?)).await?;
    let mut build = sql.begin_rebuild().await?;
    build.insert(&batch).await?;
    Ok(build.finish(position, &at.to_string()).await?)
}

/// Replaces every row by the views on `at` of `ledger`'s log a slice at a
/// time (the chunks of `app::admin::rebuild_by_slices`), in one transaction:
/// readers see the old tables until the new ones are whole.
///
/// # Errors
/// A store or storage failure, a view that cannot be computed: nothing
/// changed.
pub async fn rebuild_by_slices<S: EventStore>(
    ledger: &mut Ledger<S>,
    sql: &SqlProjections,
    at: NaiveDate,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<SqlCheckpoint> {
    let plan = SlicePlan::of(ledger.world());
    let checkpoint = ledger.world().position;
    let mut build = sql.begin_rebuild().await?;
    let mut done = 0;
    for (c, p) in plan.chunks() {
        let slice = read_chunk(ledger, c, p).await?;
        let batch = batch_of(&rows_of_slice(c, p, &slice, checkpoint, at)?)?;
        build.insert(&batch).await?;
        done += (c.len() + p.len()) as u64;
        progress(plan.projected(done));
    }
    Ok(build.finish(checkpoint, &at.to_string()).await?)
}

/// Folds `tail` (the events after `after`'s position, in position order)
/// into the tables, [`SQL_CATCH_UP_EVENTS_MAX`] events per transaction, each
/// batch's rows computed from `events` through its last event: the whole log
/// when `whole`, else the slice of the streams the tail's ids read. The rows
/// are computed on a blocking thread (see the module's decision). Returns
/// the checkpoint reached, or `None` when another process moved the tables
/// meanwhile (nothing more is written: the next step starts from theirs).
///
/// # Errors
/// A view that cannot be computed, a storage failure (the tables stay at the
/// last batch committed, where the next step resumes).
pub async fn catch_up(
    sql: &SqlProjections,
    after: SqlCheckpoint,
    tail: SharedEvents,
    events: SharedEvents,
    whole: bool,
) -> anyhow::Result<Option<SqlCheckpoint>> {
    catch_up_by(sql, after, tail, events, whole, SQL_CATCH_UP_EVENTS_MAX).await
}

/// [`catch_up`] in batches of `per_batch` events.
async fn catch_up_by(
    sql: &SqlProjections,
    after: SqlCheckpoint,
    tail: SharedEvents,
    events: SharedEvents,
    whole: bool,
    per_batch: usize,
) -> anyhow::Result<Option<SqlCheckpoint>> {
    let at: NaiveDate = after.at.parse()?;
    let (ready, mut batches) = tokio::sync::mpsc::channel(SQL_BATCHES_AHEAD_MAX);
    let from = after.position;
    let computing = tokio::task::spawn_blocking(move || {
        let batches = Batches {
            tail: &tail,
            events: &events,
            at,
            whole,
            per_batch,
        };
        batches.compute_after(from, &ready);
    });
    let mut now = after;
    while let Some(batch) = batches.recv().await {
        let (rows, last) = batch?;
        match sql.apply(&now, &rows, last).await? {
            Applied::Done(c) => now = c,
            Applied::Moved(_) => return Ok(None),
        }
    }
    // Every batch sent was applied; a thread that panicked sent fewer.
    computing.await?;
    Ok(Some(now))
}

/// A batch's rows and the last position they cover, or why they could not
/// be computed.
type ComputedBatch = anyhow::Result<(ProjectionBatch, u64)>;

/// What a catch-up folds, cut into batches (see [`catch_up`]).
struct Batches<'a> {
    tail: &'a [Envelope],
    events: &'a [Envelope],
    at: NaiveDate,
    whole: bool,
    per_batch: usize,
}

impl Batches<'_> {
    /// Computes the rows of each batch of the tail after position `from` in
    /// order and sends them to `ready`; stops at the first failure (sent
    /// too) or when the receiver is gone (the step ended).
    fn compute_after(&self, from: u64, ready: &tokio::sync::mpsc::Sender<ComputedBatch>) {
        let start = self.tail.partition_point(|e| e.position <= from);
        for batch in self
            .tail
            .get(start..)
            .unwrap_or_default()
            .chunks(self.per_batch.max(1))
        {
            let Some(last) = batch.last().map(|e| e.position) else {
                continue;
            };
            let rows = self.rows(batch, last);
            let failed = rows.is_err();
            if ready.blocking_send(rows.map(|r| (r, last))).is_err() || failed {
                return;
            }
        }
    }

    /// The rows of `batch`, computed from the events through `last`.
    fn rows(&self, batch: &[Envelope], last: u64) -> anyhow::Result<ProjectionBatch> {
        let through = self.events.partition_point(|e| e.position <= last);
        let known = self.events.get(..through).unwrap_or_default();
        batch_of(&rows_of_tail(batch, known, self.at, self.whole)?)
    }
}

/// Brings the tables to the end of `events` (the whole log) on `at`: a
/// catch-up when they are on `at`, else a rebuild.
///
/// # Errors
/// As [`catch_up`] and [`rebuild_whole`].
pub async fn follow_whole_log(
    sql: &SqlProjections,
    events: SharedEvents,
    at: NaiveDate,
) -> anyhow::Result<SqlCheckpoint> {
    match sql.checkpoint().await? {
        Some(c) if c.at == at.to_string() => {
            match catch_up(sql, c, events.clone(), events, true).await? {
                Some(c) => Ok(c),
                // Another process is ahead: where it is.
                None => Ok(sql
                    .checkpoint()
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("the SQL tables were emptied meanwhile"))?),
            }
        }
        _ => rebuild_whole(sql, events, at).await,
    }
}

/// Each row as the check compares it: views as canonical JSON (key order,
/// spacing and number forms as PostgreSQL's `jsonb` prints them do not
/// count).
fn canonical(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| json.to_owned())
}

/// Each table's rows keyed by their id and number, as comparable text.
fn tables(b: &ProjectionBatch) -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let mut t: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
    for r in &b.contracts {
        let mut r = r.clone();
        r.state_view = canonical(&r.state_view);
        r.balance_view = canonical(&r.balance_view);
        r.calendar_view = canonical(&r.calendar_view);
        t.entry("contracts")
            .or_default()
            .insert(r.contract.to_string(), format!("{r:?}"));
    }
    for r in &b.debits {
        let k = format!("{} #{}", r.contract, r.row_number);
        t.entry("debits").or_default().insert(k, format!("{r:?}"));
    }
    for r in &b.persons {
        let mut r = r.clone();
        r.bans_view = canonical(&r.bans_view);
        r.refunds_view = canonical(&r.refunds_view);
        t.entry("persons")
            .or_default()
            .insert(r.person.to_string(), format!("{r:?}"));
    }
    for r in &b.bans {
        let k = format!("{} #{}", r.person, r.window_number);
        t.entry("bans").or_default().insert(k, format!("{r:?}"));
    }
    for r in &b.refunds {
        let k = format!("{} #{}", r.person, r.refund_number);
        t.entry("refunds").or_default().insert(k, format!("{r:?}"));
    }
    t
}

fn hash(rows: &BTreeMap<String, String>) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in rows {
        h.update(&(k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// The table names of a check, in report order.
const TABLE_NAMES: [&str; 5] = ["contracts", "debits", "persons", "bans", "refunds"];

/// Compares every row of the tables with the views computed on demand on the
/// tables' date from `events` (the whole log) through their checkpoint, by
/// the whole log's folds ([`compute_rows`], the oracle the sled check uses).
///
/// # Errors
/// Tables never built, a storage failure, a view that cannot be computed.
pub async fn check(sql: &SqlProjections, events: &[Envelope]) -> anyhow::Result<ProjectionCheck> {
    let (checkpoint, stored) = sql.read_all().await?;
    let c = checkpoint.ok_or_else(|| {
        anyhow::anyhow!(
            "the SQL projection tables ({}) were never built: run `navigo-ledger rebuild`",
            sql.schema()
        )
    })?;
    let at: NaiveDate = c.at.parse()?;
    let through = events.partition_point(|e| e.position <= c.position);
    let expected = batch_of(&compute_rows(
        events.get(..through).unwrap_or_default(),
        at,
    )?)?;
    let (stored, expected) = (tables(&stored), tables(&expected));
    let mut report = ProjectionCheck {
        generation: c.generation,
        at,
        checkpoint: c.position,
        head: events.last().map_or(0, |e| e.position),
        consistent: false,
        projections: Vec::new(),
        mismatches: Vec::new(),
    };
    let empty = BTreeMap::new();
    for name in TABLE_NAMES {
        let s = stored.get(name).unwrap_or(&empty);
        let e = expected.get(name).unwrap_or(&empty);
        report.projections.push(ProjectionHashes {
            name: name.to_owned(),
            rows: s.len() as u64,
            stored_hash: hash(s),
            recomputed_hash: hash(e),
        });
        let keys: std::collections::BTreeSet<&String> = s.keys().chain(e.keys()).collect();
        for k in keys {
            let what = match (s.get(k), e.get(k)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => "differs",
                (Some(_), None) => "stored but not computed",
                (None, _) => "computed but not stored",
            };
            let id = k
                .split(' ')
                .next()
                .and_then(|i| i.parse().ok())
                .unwrap_or_default();
            report.mismatches.push(ProjectionMismatch {
                projection: name.to_owned(),
                id,
                what: what.to_owned(),
            });
        }
    }
    report.consistent = report.mismatches.is_empty() && report.checkpoint == report.head;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_store_postgres::cluster::Cluster;
    use navigo_store_postgres::PgConfig;

    /// The log of the year scenario's first contract, billed through
    /// September 2027 (the core harness's scenario).
    fn log() -> Vec<Envelope> {
        let s = navigo_testkit::agency_contract_billed_through(navigo_testkit::d(2027, 9, 1));
        let mut events: Vec<Envelope> = s.world.history.values().flatten().cloned().collect();
        events.sort_by_key(|e| e.position);
        events
    }

    /// Events per batch in the test: several batches from a short log.
    const PER_BATCH: usize = 2;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sql_catch_up_a_failed_write_leaves_the_checkpoint_at_the_last_batch_committed_and_the_next_step_resumes_there(
    ) {
        let cluster = Cluster::shared().unwrap_or_else(|e| panic!("{e}"));
        let ledger = format!("unit_catch_up_{}", std::process::id());
        let config = PgConfig::new(cluster.connection("postgres"), &ledger).expect("config");
        let sql = SqlProjections::open(&config).await.expect("open");
        let s = sql.schema().to_owned();
        let events = log();
        let head = events.last().expect("events").position;
        let cut = events.len() / 3;
        assert!(
            events.len() - cut > 3 * PER_BATCH,
            "a tail of several batches"
        );
        // Given tables built on a day from the first third of the log,
        let day = navigo_testkit::d(2027, 9, 14);
        let start = rebuild_whole(&sql, Arc::new(events[..cut].to_vec()), day)
            .await
            .expect("rebuild");
        // and a database that refuses any checkpoint past the tail's first
        // batch (the write of the second fails),
        let first = events[cut + PER_BATCH - 1].position;
        let stop = format!(
            "ALTER TABLE \"{s}\".checkpoint ADD CONSTRAINT stop CHECK (position <= {first})"
        );
        cluster
            .execute("postgres", &stop)
            .await
            .expect("constraint");
        // when a step catches the tail up,
        let shared = Arc::new(events.clone());
        let failed = catch_up_by(
            &sql,
            start.clone(),
            shared.clone(),
            shared.clone(),
            true,
            PER_BATCH,
        )
        .await;
        // then it fails, and the tables are at the first batch's checkpoint
        // with exactly the rows of the log through it;
        assert!(failed.is_err(), "{failed:?}");
        let report = check(&sql, &events).await.expect("check");
        assert_eq!(report.checkpoint, first);
        assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
        // when the database takes writes again and the next step starts from
        // the checkpoint,
        let drop = format!("ALTER TABLE \"{s}\".checkpoint DROP CONSTRAINT stop");
        cluster.execute("postgres", &drop).await.expect("drop");
        let now = sql.checkpoint().await.expect("read").expect("built");
        let done = catch_up_by(&sql, now, shared.clone(), shared.clone(), true, PER_BATCH)
            .await
            .expect("resume");
        // then it reaches the head with every row the whole log's views hold;
        assert_eq!(done.map(|c| c.position), Some(head));
        let report = check(&sql, &events).await.expect("check");
        assert!(report.consistent, "{:?}", report.mismatches);
        // and a step computed from a checkpoint the tables left writes nothing.
        let stale = catch_up_by(&sql, start, shared.clone(), shared, true, PER_BATCH).await;
        assert!(matches!(stale, Ok(None)), "{stale:?}");
        assert_eq!(check(&sql, &events).await.expect("check").checkpoint, head);
        let cleanup = format!("DROP SCHEMA \"{s}\" CASCADE");
        cluster
            .execute("postgres", &cleanup)
            .await
            .expect("cleanup");
    }
}
