//! `navigo-ledger state CONTRACT [--at DATE] [--known-at INSTANT] [--zone Z
//! [--instant T]] [--json]`: a contract's state on a date, as known at an instant;
//! with `--zone`, whether it may be used in that zone (`USE-DEZONAGE`).

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::mandate::DebtorView;
use navigo_events_schema::views::{
    ContractStateView, PaymentView, ScheduledChanges, StateAndValidity, StatusView, ValidityReason,
    ValidityView,
};
use navigo_store::Clock;

use super::as_of::{as_of_query, parse_as_of, parse_instant, unknown, AsOfArgs};
use super::exit::CmdResult;
use super::output::{name, print_json, print_json_sorted};
use super::remote;
use crate::app::clock::SystemClock;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::{contract_state, Subject};

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
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        if args.zone.is_some() {
            // Decision: the service's state route answers no validity, so a
            // `--zone` question has no route to take beside the service.
            return Err(remote::not_through_service(
                &svc,
                "`state --zone`",
                "ask without --zone, or stop the service",
            ));
        }
        let (id, query) = as_of_query("CONTRACT", &args.contract, &args.as_of)?;
        let view: ContractStateView =
            remote::get(&svc, &format!("/v1/contracts/{id}/state"), &query).await?;
        return print(view, None, args.as_of.json);
    }
    let now = SystemClock.now();
    let q = parse_as_of("CONTRACT", &args.contract, &args.as_of, now)?;
    let instant = match &args.instant {
        Some(s) => parse_instant("--instant", s)?,
        None => now,
    };
    let events = read_slice(data, q.id, Subject::Contract).await?;
    let zone = args.zone.map(|z| (z, instant));
    let read = contract_state(&events, q.id, &q.query, zone).map_err(unknown)?;
    print(read.view, read.validity, q.json)
}

/// Prints the state, read here or through the service, as JSON or a table.
fn print(view: ContractStateView, validity: Option<ValidityView>, json: bool) -> CmdResult {
    if json {
        match validity {
            // The pair has always been printed with its keys sorted, the
            // state's too (it was a JSON map); the state alone, as declared.
            Some(validity) => print_json_sorted(&StateAndValidity {
                state: view,
                validity,
            })?,
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

fn payment_text(p: &PaymentView) -> String {
    match p {
        PaymentView::Cash => "cash".to_owned(),
        PaymentView::DirectDebit { debit_day, mandate } => format!(
            "direct debit, debit day {}, mandate {}{}",
            debit_day.day(),
            mandate.reference,
            match &mandate.debtor {
                DebtorView::Account { iban, .. } => format!(", account {iban}"),
                DebtorView::Legacy { .. } | DebtorView::Unreadable => String::new(),
            }
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
