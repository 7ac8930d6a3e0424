//! The rows of the projection tables ([`crate::projections`]), and how they
//! go to and from PostgreSQL: one multi-row `INSERT ... SELECT FROM unnest(...)` per table
//! (the driver sends each column as one array), and the reads of a check.
//! Dates, amounts and views travel as text and are cast by the server, so
//! that a bad value is the server's refusal naming the column, never a
//! silent conversion here.

use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::error::pg;
use navigo_store::StoreError;

/// A contract's row (table `contracts`). Dates are `YYYY-MM-DD`, amounts
/// decimal text with two decimals, views their JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    /// The contract.
    pub contract: Uuid,
    /// Its status tag on the date read (`active`, `suspended`...).
    pub status: String,
    /// Its product's key.
    pub product: String,
    /// Its holder.
    pub holder: Uuid,
    /// Its payer.
    pub payer: Uuid,
    /// The balance's totals: balance, debt, credit.
    pub balance: String,
    /// What the payer owes.
    pub debt: String,
    /// What the payer is owed.
    pub credit: String,
    /// The first debit still scheduled, if any.
    pub next_debit: Option<String>,
    /// The state view.
    pub state_view: String,
    /// The balance view.
    pub balance_view: String,
    /// The debit calendar view.
    pub calendar_view: String,
}

/// A row of a contract's debit calendar (table `debits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitRow {
    /// The contract.
    pub contract: Uuid,
    /// Its place in the calendar view's rows, from 0.
    pub row_number: i32,
    /// The month billed, `YYYY-MM`.
    pub month: String,
    /// The day the debit is taken, if any.
    pub debit_date: Option<String>,
    /// Its amount.
    pub amount: String,
    /// Its status.
    pub status: String,
    /// Whether money is taken (or to be) on `debit_date`.
    pub debit: bool,
    /// Whether the ledger recorded it (else forecast).
    pub recorded: bool,
}

/// A person's row (table `persons`): no clear personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    /// The person.
    pub person: Uuid,
    /// Their client number.
    pub client_number: String,
    /// Whether their personal data was erased.
    pub erased: bool,
    /// Their bans view.
    pub bans_view: String,
    /// Their refunds view.
    pub refunds_view: String,
}

/// A ban window of a person (table `bans`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRow {
    /// The person banned.
    pub person: Uuid,
    /// Its place in the bans view's windows, from 0.
    pub window_number: i32,
    /// The contract whose facts opened it.
    pub contract: Uuid,
    /// The rule id.
    pub rule: String,
    /// The role forbidden (`payer`, `holder`).
    pub role: String,
    /// First day banned.
    pub start_date: String,
    /// First day no longer banned (a lift included).
    pub end_date: String,
    /// The end without a lift.
    pub until_date: String,
    /// The day a lift took effect, if any.
    pub lifted_on: Option<String>,
}

/// A refund of a person (table `refunds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRow {
    /// The person whose refunds view lists it.
    pub person: Uuid,
    /// Its place in the view's refunds, from 0.
    pub refund_number: i32,
    /// The event that decided it.
    pub event_id: Uuid,
    /// The contract it concerns, if one.
    pub contract: Option<Uuid>,
    /// Why it is owed.
    pub reason: String,
    /// How much.
    pub amount: String,
    /// The day it was decided.
    pub date: String,
    /// The day it is to be paid by.
    pub due_by: String,
    /// How it is paid.
    pub method: String,
    /// Who is paid.
    pub beneficiary: Uuid,
    /// `due`, `paid` or `overdue` on the date read.
    pub status: String,
}

/// Rows of every table: those of a set of contracts and persons, whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectionBatch {
    /// Contracts.
    pub contracts: Vec<ContractRow>,
    /// Their calendars' rows.
    pub debits: Vec<DebitRow>,
    /// Persons.
    pub persons: Vec<PersonRow>,
    /// Their ban windows.
    pub bans: Vec<BanRow>,
    /// Their refunds.
    pub refunds: Vec<RefundRow>,
}

/// Runs one `INSERT INTO "s".table SELECT <casts> FROM unnest(<arrays>)`.
async fn insert_unnest<C: GenericClient>(
    c: &C,
    s: &str,
    table: &str,
    columns: &[(&str, &str)],
    params: &[&(dyn ToSql + Sync)],
) -> Result<(), StoreError> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let casts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("c{i}::{ty}"))
        .collect();
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            let element = match *ty {
                "uuid" | "boolean" | "integer" => ty,
                _ => "text",
            };
            format!("${}::{element}[]", i + 1)
        })
        .collect();
    let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
    let sql = format!(
        "INSERT INTO \"{s}\".{table} ({}) SELECT {} FROM unnest({}) AS t({})",
        names.join(", "),
        casts.join(", "),
        arrays.join(", "),
        aliases.join(", ")
    );
    c.execute(&sql, params).await.map_err(pg)?;
    Ok(())
}

fn col<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

/// Inserts contracts' rows.
async fn insert_contracts<C: GenericClient>(
    c: &C,
    s: &str,
    rows: &[ContractRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_unnest(
        c,
        s,
        "contracts",
        &[
            ("contract", "uuid"),
            ("status", "text"),
            ("product", "text"),
            ("holder", "uuid"),
            ("payer", "uuid"),
            ("balance", "numeric"),
            ("debt", "numeric"),
            ("credit", "numeric"),
            ("next_debit", "date"),
            ("state_view", "jsonb"),
            ("balance_view", "jsonb"),
            ("calendar_view", "jsonb"),
        ],
        &[
            &col(rows, |r| r.contract),
            &col(rows, |r| r.status.as_str()),
            &col(rows, |r| r.product.as_str()),
            &col(rows, |r| r.holder),
            &col(rows, |r| r.payer),
            &col(rows, |r| r.balance.as_str()),
            &col(rows, |r| r.debt.as_str()),
            &col(rows, |r| r.credit.as_str()),
            &col(rows, |r| r.next_debit.as_deref()),
            &col(rows, |r| r.state_view.as_str()),
            &col(rows, |r| r.balance_view.as_str()),
            &col(rows, |r| r.calendar_view.as_str()),
        ],
    )
    .await
}

/// Inserts calendar rows.
async fn insert_debits<C: GenericClient>(
    c: &C,
    s: &str,
    rows: &[DebitRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_unnest(
        c,
        s,
        "debits",
        &[
            ("contract", "uuid"),
            ("row_number", "integer"),
            ("month", "text"),
            ("debit_date", "date"),
            ("amount", "numeric"),
            ("status", "text"),
            ("debit", "boolean"),
            ("recorded", "boolean"),
        ],
        &[
            &col(rows, |r| r.contract),
            &col(rows, |r| r.row_number),
            &col(rows, |r| r.month.as_str()),
            &col(rows, |r| r.debit_date.as_deref()),
            &col(rows, |r| r.amount.as_str()),
            &col(rows, |r| r.status.as_str()),
            &col(rows, |r| r.debit),
            &col(rows, |r| r.recorded),
        ],
    )
    .await
}

/// Inserts persons' rows.
async fn insert_persons<C: GenericClient>(
    c: &C,
    s: &str,
    rows: &[PersonRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_unnest(
        c,
        s,
        "persons",
        &[
            ("person", "uuid"),
            ("client_number", "text"),
            ("erased", "boolean"),
            ("bans_view", "jsonb"),
            ("refunds_view", "jsonb"),
        ],
        &[
            &col(rows, |r| r.person),
            &col(rows, |r| r.client_number.as_str()),
            &col(rows, |r| r.erased),
            &col(rows, |r| r.bans_view.as_str()),
            &col(rows, |r| r.refunds_view.as_str()),
        ],
    )
    .await
}

/// Inserts ban windows.
async fn insert_bans<C: GenericClient>(c: &C, s: &str, rows: &[BanRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_unnest(
        c,
        s,
        "bans",
        &[
            ("person", "uuid"),
            ("window_number", "integer"),
            ("contract", "uuid"),
            ("rule", "text"),
            ("role", "text"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("until_date", "date"),
            ("lifted_on", "date"),
        ],
        &[
            &col(rows, |r| r.person),
            &col(rows, |r| r.window_number),
            &col(rows, |r| r.contract),
            &col(rows, |r| r.rule.as_str()),
            &col(rows, |r| r.role.as_str()),
            &col(rows, |r| r.start_date.as_str()),
            &col(rows, |r| r.end_date.as_str()),
            &col(rows, |r| r.until_date.as_str()),
            &col(rows, |r| r.lifted_on.as_deref()),
        ],
    )
    .await
}

/// Inserts refunds.
async fn insert_refunds<C: GenericClient>(
    c: &C,
    s: &str,
    rows: &[RefundRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_unnest(
        c,
        s,
        "refunds",
        &[
            ("person", "uuid"),
            ("refund_number", "integer"),
            ("event_id", "uuid"),
            ("contract", "uuid"),
            ("reason", "text"),
            ("amount", "numeric"),
            ("date", "date"),
            ("due_by", "date"),
            ("method", "text"),
            ("beneficiary", "uuid"),
            ("status", "text"),
        ],
        &[
            &col(rows, |r| r.person),
            &col(rows, |r| r.refund_number),
            &col(rows, |r| r.event_id),
            &col(rows, |r| r.contract),
            &col(rows, |r| r.reason.as_str()),
            &col(rows, |r| r.amount.as_str()),
            &col(rows, |r| r.date.as_str()),
            &col(rows, |r| r.due_by.as_str()),
            &col(rows, |r| r.method.as_str()),
            &col(rows, |r| r.beneficiary),
            &col(rows, |r| r.status.as_str()),
        ],
    )
    .await
}

/// Inserts the rows of `batch`, one statement per table.
pub(crate) async fn insert_rows<C: GenericClient>(
    c: &C,
    s: &str,
    batch: &ProjectionBatch,
) -> Result<(), StoreError> {
    insert_contracts(c, s, &batch.contracts).await?;
    insert_debits(c, s, &batch.debits).await?;
    insert_persons(c, s, &batch.persons).await?;
    insert_bans(c, s, &batch.bans).await?;
    insert_refunds(c, s, &batch.refunds).await
}

/// Every row of every table, in key order, as text where inserted as text
/// (amounts as the server prints `numeric`, views as it prints `jsonb`).
pub(crate) async fn read_batch<C: GenericClient>(
    c: &C,
    s: &str,
) -> Result<ProjectionBatch, StoreError> {
    let q = |sql: String| async move { c.query(&sql, &[]).await.map_err(pg) };
    let mut b = ProjectionBatch::default();
    for r in q(format!(
        "SELECT contract, status, product, holder, payer, balance::text, debt::text, \
         credit::text, next_debit::text, state_view::text, balance_view::text, \
         calendar_view::text FROM \"{s}\".contracts ORDER BY contract"
    ))
    .await?
    {
        b.contracts.push(ContractRow {
            contract: r.try_get(0).map_err(pg)?,
            status: r.try_get(1).map_err(pg)?,
            product: r.try_get(2).map_err(pg)?,
            holder: r.try_get(3).map_err(pg)?,
            payer: r.try_get(4).map_err(pg)?,
            balance: r.try_get(5).map_err(pg)?,
            debt: r.try_get(6).map_err(pg)?,
            credit: r.try_get(7).map_err(pg)?,
            next_debit: r.try_get(8).map_err(pg)?,
            state_view: r.try_get(9).map_err(pg)?,
            balance_view: r.try_get(10).map_err(pg)?,
            calendar_view: r.try_get(11).map_err(pg)?,
        });
    }
    for r in q(format!(
        "SELECT contract, row_number, month, debit_date::text, amount::text, status, debit, \
         recorded FROM \"{s}\".debits ORDER BY contract, row_number"
    ))
    .await?
    {
        b.debits.push(DebitRow {
            contract: r.try_get(0).map_err(pg)?,
            row_number: r.try_get(1).map_err(pg)?,
            month: r.try_get(2).map_err(pg)?,
            debit_date: r.try_get(3).map_err(pg)?,
            amount: r.try_get(4).map_err(pg)?,
            status: r.try_get(5).map_err(pg)?,
            debit: r.try_get(6).map_err(pg)?,
            recorded: r.try_get(7).map_err(pg)?,
        });
    }
    for r in q(format!(
        "SELECT person, client_number, erased, bans_view::text, refunds_view::text \
         FROM \"{s}\".persons ORDER BY person"
    ))
    .await?
    {
        b.persons.push(PersonRow {
            person: r.try_get(0).map_err(pg)?,
            client_number: r.try_get(1).map_err(pg)?,
            erased: r.try_get(2).map_err(pg)?,
            bans_view: r.try_get(3).map_err(pg)?,
            refunds_view: r.try_get(4).map_err(pg)?,
        });
    }
    for r in q(format!(
        "SELECT person, window_number, contract, rule, role, start_date::text, \
         end_date::text, until_date::text, lifted_on::text FROM \"{s}\".bans \
         ORDER BY person, window_number"
    ))
    .await?
    {
        b.bans.push(BanRow {
            person: r.try_get(0).map_err(pg)?,
            window_number: r.try_get(1).map_err(pg)?,
            contract: r.try_get(2).map_err(pg)?,
            rule: r.try_get(3).map_err(pg)?,
            role: r.try_get(4).map_err(pg)?,
            start_date: r.try_get(5).map_err(pg)?,
            end_date: r.try_get(6).map_err(pg)?,
            until_date: r.try_get(7).map_err(pg)?,
            lifted_on: r.try_get(8).map_err(pg)?,
        });
    }
    for r in q(format!(
        "SELECT person, refund_number, event_id, contract, reason, amount::text, date::text, \
         due_by::text, method, beneficiary, status FROM \"{s}\".refunds \
         ORDER BY person, refund_number"
    ))
    .await?
    {
        let contract: Option<Uuid> = r.try_get(3).map_err(pg)?;
        b.refunds.push(RefundRow {
            person: r.try_get(0).map_err(pg)?,
            refund_number: r.try_get(1).map_err(pg)?,
            event_id: r.try_get(2).map_err(pg)?,
            contract,
            reason: r.try_get(4).map_err(pg)?,
            amount: r.try_get(5).map_err(pg)?,
            date: r.try_get(6).map_err(pg)?,
            due_by: r.try_get(7).map_err(pg)?,
            method: r.try_get(8).map_err(pg)?,
            beneficiary: r.try_get(9).map_err(pg)?,
            status: r.try_get(10).map_err(pg)?,
        });
    }
    Ok(b)
}
