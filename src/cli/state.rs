//! `navigo-ledger state CONTRACT [--at DATE] [--known-at INSTANT] [--zone Z
//! [--instant T]] [--json]`: a contract's state on a date, as known at an instant;
//! with `--zone`, whether it may be used in that zone (`USE-DEZONAGE`).
//!
//! This module also holds what the projection subcommands (`state`, `balance`,
//! `calendar`, `bans`, `refunds`) share: the `--at` / `--known-at` / `--json`
//! arguments, their validation against the system clock, and the JSON output.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::PaymentSetup;
use navigo_events_schema::views::{
    ContractStateView, ScheduledChanges, StatusView, ValidityReason, ValidityView,
};
use navigo_projections::{state, Folded, Query};
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;
use serde::Serialize;
use uuid::Uuid;

use super::{BadInput, CmdResult, SystemClock};

/// The arguments every projection subcommand takes besides its id (each
/// command names the kind of id it takes).
#[derive(Debug, clap::Args)]
pub struct AsOfArgs {
    /// The effective Europe/Paris date read (YYYY-MM-DD); default: today.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Only events recorded at or before this UTC instant count (RFC 3339, e.g.
    /// 2026-11-20T10:00:00Z); default: everything. Not in the future.
    #[arg(long, value_name = "INSTANT")]
    pub known_at: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The parsed arguments.
pub struct AsOf {
    /// The id.
    pub id: Uuid,
    /// The query.
    pub query: Query,
    /// JSON output.
    pub json: bool,
}

/// Parses the id (`label`: its argument's name, as the help shows it) and the
/// shared arguments against `now`.
///
/// # Errors
/// [`BadInput`] for a malformed id, date or instant, or an instant in the future.
pub fn parse_as_of(
    label: &str,
    id: &str,
    args: &AsOfArgs,
    now: DateTime<Utc>,
) -> Result<AsOf, BadInput> {
    let id: Uuid = id
        .parse()
        .map_err(|e| BadInput(format!("{label} {id:?} is not a UUID: {e}")))?;
    let at = match &args.at {
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| BadInput(format!("--at {s:?} is not a date YYYY-MM-DD: {e}")))?,
        None => paris_date(now),
    };
    let known_at = match &args.known_at {
        Some(s) => {
            let t = parse_instant("--known-at", s)?;
            if t > now {
                return Err(BadInput(format!(
                    "--known-at {s} is in the future (now is {}); nothing is known after now",
                    now.format("%Y-%m-%dT%H:%M:%SZ")
                )));
            }
            Some(t)
        }
        None => None,
    };
    Ok(AsOf {
        id,
        query: Query { at, known_at },
        json: args.json,
    })
}

/// Parses an RFC 3339 instant.
///
/// # Errors
/// [`BadInput`] naming the option.
pub fn parse_instant(option: &str, s: &str) -> Result<DateTime<Utc>, BadInput> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            BadInput(format!(
                "{option} {s:?} is not an RFC 3339 instant (e.g. 2026-11-20T10:00:00Z): {e}"
            ))
        })
}

/// Prints a view as pretty JSON.
///
/// # Errors
/// A write failure.
pub fn print_json<T: Serialize>(view: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(view).context("serialising the view")?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// The snake-case name a view gives an enum value (its JSON form).
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// An amount in euros, right-aligned by the caller.
pub fn eur(m: navigo_events_schema::Money) -> String {
    format!("{m} €")
}

/// An unknown id is bad input (exit 2), with the projection's message.
pub fn unknown(e: navigo_projections::ProjectionError) -> BadInput {
    BadInput(e.to_string())
}

/// What `bans` and `refunds` share: parses the arguments against the system
/// clock, reads the whole log and computes the person's view with `view`; with
/// `--json` prints it and returns `None` (done), else returns it for the
/// caller's table.
///
/// # Errors
/// Bad input (exit 2), an unknown person, a storage failure.
pub async fn person_view<T: Serialize>(
    data: &Path,
    person: &str,
    args: &AsOfArgs,
    view: impl FnOnce(
        &[navigo_events_schema::Envelope],
        Uuid,
        &Query,
    ) -> Result<T, navigo_projections::ProjectionError>,
) -> anyhow::Result<Option<T>> {
    let q = parse_as_of("PERSON", person, args, SystemClock.now())?;
    let events = super::read_whole_log(data).await?;
    let v = view(&events, q.id, &q.query).map_err(unknown)?;
    if q.json {
        print_json(&v)?;
        return Ok(None);
    }
    Ok(Some(v))
}

/// Arguments of `person`-reading commands (`bans`, `refunds`).
#[derive(Debug, clap::Args)]
pub struct PersonArgs {
    /// The person's id (UUID).
    #[arg(value_name = "PERSON")]
    pub person: String,
    #[command(flatten)]
    pub as_of: AsOfArgs,
}

/// Arguments of `state`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract's id (UUID).
    #[arg(value_name = "CONTRACT")]
    contract: String,
    #[command(flatten)]
    as_of: AsOfArgs,
    /// Also answer "may this contract be used in zone Z?" (`USE-DEZONAGE`).
    #[arg(long, value_name = "Z")]
    zone: Option<u8>,
    /// The instant of the validity query (RFC 3339); default: now.
    #[arg(long, value_name = "INSTANT", requires = "zone")]
    instant: Option<String>,
}

/// Prints the state of a contract.
///
/// # Errors
/// Bad input (exit 2), an unknown contract, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let now = SystemClock.now();
    let q = parse_as_of("CONTRACT", &args.contract, &args.as_of, now)?;
    let instant = match &args.instant {
        Some(s) => parse_instant("--instant", s)?,
        None => now,
    };
    let events = super::read_whole_log(data).await?;
    let input = Folded::new(&events, &q.query);
    let view = state::contract_state(&input, q.id).map_err(unknown)?;
    let validity = match args.zone {
        Some(z) => Some(state::validity(&input, q.id, z, instant).map_err(unknown)?),
        None => None,
    };
    if q.json {
        match &validity {
            Some(v) => print_json(&serde_json::json!({ "state": view, "validity": v }))?,
            None => print_json(&view)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    write_state(&mut std::io::stdout().lock(), &view, validity.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

/// The state as a table: what holds on the date read, then what is scheduled
/// after it, then the validity answer if asked.
fn write_state(
    out: &mut impl Write,
    view: &ContractStateView,
    validity: Option<&ValidityView>,
) -> std::io::Result<()> {
    writeln!(out, "contract   {}", view.contract)?;
    writeln!(
        out,
        "as of      {}{}",
        view.as_of.at,
        view.as_of
            .known_at
            .map(|k| format!(" as known at {}", k.format("%Y-%m-%dT%H:%M:%SZ")))
            .unwrap_or_default()
    )?;
    writeln!(out, "holder     {}", view.holder)?;
    writeln!(out, "status     {}", status_text(&view.status))?;
    writeln!(out, "product    {}", view.product)?;
    writeln!(
        out,
        "payment    {}",
        view.payment
            .as_ref()
            .map_or_else(|| "-".into(), payment_text)
    )?;
    writeln!(out, "payer      {}", view.payer)?;
    writeln!(out, "support    {}", name(&view.support))?;
    writeln!(
        out,
        "losses     {} in the free-replacement period (LOSS-FREE), {} in the last 12 months (LOSS-TERMINATION)",
        view.losses_in_free_period, view.losses_last_12_months
    )?;
    match &view.free_month {
        Some(f) => writeln!(
            out,
            "free month {} (in {} months; cycle from {}, {}) (PAY-FREE-MONTH)",
            f.next_free_month, f.months_until, f.cycle_start, f.rulebook
        )?,
        None => writeln!(out, "free month -")?,
    }
    for (label, a) in [
        ("attestation", &view.attestation),
        ("retention", &view.retention),
    ] {
        writeln!(
            out,
            "{label:<10} {} ({}){}",
            if a.yes { "yes" } else { "no" },
            a.rule,
            a.message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{:<10}  {:<11}  DETAIL", "FROM", "STATUS")?;
    for s in &view.statuses {
        writeln!(out, "{}", status_row(s))?;
    }
    writeln!(out)?;
    writeln!(out, "{:<10}  PRODUCT", "FROM")?;
    for p in &view.products {
        writeln!(out, "{:<10}  {}", p.from, p.product)?;
    }
    write_scheduled(out, &view.scheduled)?;
    if let Some(v) = validity {
        writeln!(out)?;
        let why = match &v.reason {
            ValidityReason::SchoolHolidays { name } => format!("school holidays ({name})"),
            other => name_of_reason(other),
        };
        writeln!(
            out,
            "zone {} at {}: {} — {} ({})",
            v.zone,
            v.instant.format("%Y-%m-%dT%H:%M:%SZ"),
            if v.valid { "valid" } else { "not valid" },
            why,
            v.rule
        )?;
    }
    Ok(())
}

/// The changes known on the date read that take effect after it, apart from
/// what holds on that date.
fn write_scheduled(out: &mut impl Write, s: &ScheduledChanges) -> std::io::Result<()> {
    let none = s.statuses.is_empty()
        && s.products.is_empty()
        && s.payments.is_empty()
        && s.payers.is_empty();
    writeln!(out)?;
    if none {
        return writeln!(out, "scheduled  nothing");
    }
    writeln!(out, "SCHEDULED (known, effective after the date read)")?;
    for st in &s.statuses {
        writeln!(out, "{}", status_row(st))?;
    }
    for p in &s.products {
        writeln!(out, "{:<10}  product     {}", p.from, p.product)?;
    }
    for p in &s.payments {
        writeln!(
            out,
            "{:<10}  payment     {}",
            p.from_month.first_day(),
            payment_text(&p.payment)
        )?;
    }
    for p in &s.payers {
        writeln!(
            out,
            "{:<10}  payer       {}",
            p.from_month.first_day(),
            p.payer
        )?;
    }
    Ok(())
}

fn payment_text(p: &PaymentSetup) -> String {
    match p {
        PaymentSetup::Cash => "cash".to_owned(),
        PaymentSetup::DirectDebit { debit_day, mandate } => format!(
            "direct debit, debit day {}, mandate {}",
            debit_day.day(),
            mandate.reference
        ),
    }
}

fn name_of_reason(r: &ValidityReason) -> String {
    match serde_json::to_value(r) {
        Ok(v) => v
            .get("reason")
            .and_then(|x| x.as_str())
            .unwrap_or("?")
            .replace('_', " "),
        Err(_) => "?".into(),
    }
}

fn status_text(s: &StatusView) -> String {
    match s {
        StatusView::Active { from } => format!("active since {from}"),
        StatusView::Suspended { from, cause } => {
            format!("suspended since {from} ({})", name(cause))
        }
        StatusView::Terminated { from, reason } => {
            format!("terminated on {from} ({})", name(reason))
        }
        StatusView::NotStarted { from } => format!("not started (starts {from})"),
    }
}

fn status_row(s: &StatusView) -> String {
    match s {
        StatusView::Active { from } => format!("{from:<10}  {:<11}", "active"),
        StatusView::Suspended { from, cause } => {
            format!("{from:<10}  {:<11}  {}", "suspended", name(cause))
        }
        StatusView::Terminated { from, reason } => {
            format!("{from:<10}  {:<11}  {}", "terminated", name(reason))
        }
        StatusView::NotStarted { from } => format!("{from:<10}  {:<11}", "not started"),
    }
}
