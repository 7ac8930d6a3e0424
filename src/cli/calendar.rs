//! `navigo-ledger calendar CONTRACT [--at DATE] [--known-at INSTANT] [--horizon N]
//! [--json]`: the debit calendar of a contract, from its start to N months after
//! the month of `--at` (default: the policy's `calendar_horizon_months`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::Clock;
use navigo_core::Policy;
use navigo_events_schema::event::ChargeLine;
use navigo_events_schema::views::DebitStatus;
use navigo_projections::{calendar, load, ProjectionError};

use super::state::{eur, name, parse_as_of, print_json, unknown, AsOfArgs};
use super::{open_store, CmdResult, SystemClock};

/// Arguments of `calendar`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    as_of: AsOfArgs,
    /// Months after the month of --at to show.
    #[arg(long, value_name = "N")]
    horizon: Option<u32>,
}

/// Prints the calendar.
///
/// # Errors
/// Bad input (exit 2), an unknown contract, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let q = parse_as_of(&args.as_of, SystemClock.now())?;
    let store = open_store(data)?;
    let events = load::read_contract(&store, q.id, false).await;
    store.close().await?;
    let events = events?;
    if events.is_empty() {
        return Err(unknown(ProjectionError::UnknownContract(q.id)).into());
    }
    let cal = calendar::calendar(&events, q.id, &q.query, &Policy::default(), args.horizon)
        .map_err(unknown)?;
    if q.json {
        print_json(&cal)?;
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
