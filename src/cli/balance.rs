//! `navigo-ledger balance ID [--at DATE] [--known-at INSTANT] [--json]`: the balance
//! of a contract, or of a payer (every contract they pay) when ID is a person
//! (`PAY-DUE-VS-COLLECTED`): totals and the statement whose rows add up to them.

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::views::{BalanceItem, BalanceTotals, ContractBalance};
use navigo_store::Clock;

use super::as_of::{as_of_query, parse_as_of, unknown, AsOfArgs};
use super::exit::CmdResult;
use super::output::{eur, name, print_json};
use super::remote;
use crate::app::clock::SystemClock;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::{balance, Balance, Subject};

/// Arguments of `balance`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The id (UUID) of a contract, or of a person: the balance of every
    /// contract they pay or paid.
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    as_of: AsOfArgs,
}

/// Prints the balance.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        // Decision: the service answers a contract's balance only (its payer
        // balance has no route), so beside it ID must be a contract's; a
        // person's id is answered as an unknown contract, which the route's
        // message says.
        let (id, query) = as_of_query("ID", &args.id, &args.as_of)?;
        let b: ContractBalance =
            remote::get(&svc, &format!("/v1/contracts/{id}/balance"), &query).await?;
        return print(Balance::Contract(b), args.as_of.json);
    }
    let q = parse_as_of("ID", &args.id, &args.as_of, SystemClock.now())?;
    let events = read_slice(data, q.id, Subject::ContractOrPerson).await?;
    print(balance(&events, q.id, &q.query).map_err(unknown)?, q.json)
}

/// Prints a balance, read here or through the service, as JSON or a table.
fn print(b: Balance, json: bool) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match b {
        Balance::Contract(b) if json => print_json(&b)?,
        Balance::Contract(b) => {
            writeln!(out, "contract {} on {}", b.contract, b.as_of.at)?;
            write_contract(&mut out, &b)?;
        }
        Balance::Payer(b) if json => print_json(&b)?,
        Balance::Payer(b) => {
            writeln!(out, "payer {} on {}", b.payer, b.as_of.at)?;
            write_totals(&mut out, &b.totals)?;
            for c in &b.contracts {
                writeln!(out)?;
                writeln!(out, "contract {}", c.contract)?;
                write_contract(&mut out, c)?;
            }
        }
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
    writeln!(
        out,
        "  {:<16} {:>12} {:>12} {:>12}",
        "ROW", "DUE", "COLLECTED", "RETURNED"
    )?;
    for r in &b.rows {
        let label = match (r.item, r.month, r.fee) {
            (BalanceItem::Month, Some(m), _) => m.to_string(),
            (BalanceItem::Fee, _, Some(kind)) => format!("fee {}", name(&kind)),
            (item, _, _) => name(&item),
        };
        writeln!(
            out,
            "  {label:<16} {:>12} {:>12} {:>12}",
            eur(r.due),
            eur(r.collected),
            eur(r.returned)
        )?;
    }
    writeln!(out, "  (the rows add up to the totals)")
}
