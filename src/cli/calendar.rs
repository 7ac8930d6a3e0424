//! `navigo-ledger calendar CONTRACT [--at DATE] [--known-at INSTANT] [--horizon N]
//! [--json]`: the debit calendar of a contract, from its start to N months after
//! the month of `--at` (default: the policy's `calendar_horizon_months`; more than
//! `CALENDAR_HORIZON_MONTHS_MAX` is refused, exit 2, never cut short).

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::event::ChargeLine;
use navigo_events_schema::views::{DebitCalendar, DebitStatus};
use navigo_projections::calendar::{Horizon, HorizonError, CALENDAR_HORIZON_MONTHS_MAX};
use navigo_rules::Policy;
use navigo_store::Clock;

use super::as_of::{as_of_query, parse_as_of, unknown, AsOfArgs};
use super::exit::CmdResult;
use super::output::{eur, name, print_json};
use super::remote;
use crate::app::clock::SystemClock;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::{calendar, Subject};

/// Arguments of `calendar`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract's id (UUID).
    #[arg(value_name = "CONTRACT")]
    contract: String,
    #[command(flatten)]
    as_of: AsOfArgs,
    #[arg(long, value_name = "N", help = horizon_help(), value_parser = parse_horizon)]
    horizon: Option<Horizon>,
}

/// The help of `--horizon`, with its bound and default as the code has them.
fn horizon_help() -> String {
    format!(
        "Months after the month of --at to show: 0 to {CALENDAR_HORIZON_MONTHS_MAX} \
         (CALENDAR_HORIZON_MONTHS_MAX; a larger horizon is refused, never cut short); \
         default {}",
        Policy::default().calendar_horizon_months
    )
}

fn parse_horizon(s: &str) -> Result<Horizon, String> {
    s.parse().map_err(|e: HorizonError| e.to_string())
}

/// Prints the calendar.
///
/// # Errors
/// Bad input (exit 2), an unknown contract, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        let (id, mut query) = as_of_query("CONTRACT", &args.contract, &args.as_of)?;
        if let Some(h) = args.horizon {
            query.push(("horizon", h.months().to_string()));
        }
        let cal: DebitCalendar =
            remote::get(&svc, &format!("/v1/contracts/{id}/calendar"), &query).await?;
        return print(&cal, args.as_of.json);
    }
    let q = parse_as_of("CONTRACT", &args.contract, &args.as_of, SystemClock.now())?;
    let events = read_slice(data, q.id, Subject::Contract).await?;
    let cal = calendar(&events, q.id, &q.query, args.horizon).map_err(unknown)?;
    print(&cal, q.json)
}

/// Prints a calendar, read here or through the service, as JSON or a table.
fn print(cal: &DebitCalendar, json: bool) -> CmdResult {
    if json {
        print_json(cal)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "contract {} on {} (through {})",
        cal.contract, cal.as_of.at, cal.horizon
    )?;
    writeln!(
        out,
        "{:<8}  {:<10}  {:>11}  {:<15}  COMPOSITION (tariff, mark)",
        "MONTH", "DEBIT DATE", "AMOUNT", "STATUS"
    )?;
    for r in &cal.rows {
        writeln!(
            out,
            "{:<8}  {:<10}  {:>11}  {:<15}  {}",
            r.month.to_string(),
            r.debit_date
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            eur(r.amount),
            name(&r.status).replace('_', " "),
            match (r.status, r.debit_date) {
                (DebitStatus::Carried, Some(d)) => format!("on the debit of {d} (PAY-CUTOFF)"),
                _ => r.lines.iter().map(line).collect::<Vec<_>>().join("; "),
            }
        )?;
    }
    if let Some(c) = &cal.cash {
        writeln!(out)?;
        writeln!(out, "cash coverage {} to {} (PAY-CASH)", c.from, c.until)?;
        writeln!(
            out,
            "renewal notice {}{}",
            c.renewal_notice_date,
            if c.renewal_notice_sent { " (sent)" } else { "" }
        )?;
        for d in &c.deadlines {
            writeln!(
                out,
                "  renew by {:<7} until {}",
                name(&d.channel),
                d.last_day
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn line(l: &ChargeLine) -> String {
    let mut s = format!("{} {} {}", name(&l.kind), l.month, eur(l.amount));
    if let Some(d) = l.days {
        s.push_str(&format!(" ({d} days)"));
    }
    if let Some(t) = &l.tariff {
        s.push_str(&format!(
            " [{} from {}, {}]",
            t.product,
            t.effective_from,
            name(&t.mark)
        ));
    }
    s
}
