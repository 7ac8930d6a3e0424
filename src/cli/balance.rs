//! `navigo-ledger balance ID [--at DATE] [--known-at INSTANT] [--json]`: the balance
//! of a contract, or of a payer (every contract they pay) when ID is a person
//! (`PAY-DUE-VS-COLLECTED`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use navigo_core::store::Clock;
use navigo_events_schema::views::{BalanceTotals, ContractBalance};
use navigo_projections::{balance, Worlds};

use super::state::{eur, name, parse_as_of, print_json, unknown, AsOfArgs};
use super::{CmdResult, SystemClock};

/// Arguments of `balance`: only the shared ones.
pub type Args = AsOfArgs;

/// Prints the balance.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let q = parse_as_of(&args, SystemClock.now())?;
    let events = super::read_whole_log(data).await?;
    let worlds = Worlds::new(&events, &q.query);
    let mut out = std::io::stdout().lock();
    if worlds.known.contract(q.id).is_some() {
        let b = balance::contract_balance_in(&worlds.at, q.id, &q.query).map_err(unknown)?;
        if q.json {
            print_json(&b)?;
        } else {
            writeln!(out, "contract {} on {}", b.contract, b.as_of.at)?;
            write_contract(&mut out, &b)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let b = balance::payer_balance_in(&worlds, q.id, &q.query).map_err(unknown)?;
    if q.json {
        print_json(&b)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "payer {} on {}", b.payer, b.as_of.at)?;
    write_totals(&mut out, &b.totals)?;
    for c in &b.contracts {
        writeln!(out)?;
        writeln!(out, "contract {}", c.contract)?;
        write_contract(&mut out, c)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_totals(out: &mut impl Write, t: &BalanceTotals) -> std::io::Result<()> {
    for (label, m) in [
        ("due", t.due),
        ("collected", t.collected),
        ("returned", t.returned),
        ("balance", t.balance),
        ("debt", t.debt),
        ("credit", t.credit),
        ("refunds pending", t.refunds_pending),
    ] {
        writeln!(out, "  {label:<16} {:>12}", eur(m))?;
    }
    writeln!(
        out,
        "  (PAY-DUE-VS-COLLECTED: balance = due − collected + returned)"
    )
}

fn write_contract(out: &mut impl Write, b: &ContractBalance) -> std::io::Result<()> {
    write_totals(out, &b.totals)?;
    if !b.fees.is_empty() {
        writeln!(out, "  {:<16} {:>12}", "FEE", "AMOUNT")?;
        for f in &b.fees {
            writeln!(out, "  {:<16} {:>12}", name(&f.kind), eur(f.amount))?;
        }
    }
    writeln!(out, "  {:<8} {:>12} {:>12}", "MONTH", "DUE", "COLLECTED")?;
    for m in &b.months {
        writeln!(
            out,
            "  {:<8} {:>12} {:>12}",
            m.month.to_string(),
            eur(m.due),
            eur(m.collected)
        )?;
    }
    Ok(())
}
