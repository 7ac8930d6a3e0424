//! `navigo-ledger refunds PERSON [--at DATE] [--known-at INSTANT] [--json]`: the
//! refund entitlements of a person (punctuality campaigns, contract refunds).

use std::io::Write;
use std::process::ExitCode;

use super::as_of::{person_view, PersonArgs};
use super::exit::CmdResult;
use super::output::{eur, name};
use crate::app::place::Place;
use crate::app::read::person_refunds;

/// Arguments of `refunds`: a person and the shared ones.
pub type Args = PersonArgs;

/// Prints the refund entitlements.
///
/// # Errors
/// Bad input (exit 2), an unknown person, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let Some(r) = person_view(data, &args, "refunds", person_refunds).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "person {} on {}", r.person, r.as_of.at)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<10}  {:<20}  {:>11}  {:<10}  {:<13}  {:<8}  CONTRACT",
        "DATE", "REASON", "AMOUNT", "DUE BY", "METHOD", "STATUS"
    )?;
    for x in &r.refunds {
        writeln!(
            out,
            "{:<10}  {:<20}  {:>11}  {:<10}  {:<13}  {:<8}  {}",
            x.date,
            name(&x.reason),
            eur(x.amount),
            x.due_by,
            name(&x.method),
            name(&x.status),
            x.contract
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into())
        )?;
    }
    if r.refunds.is_empty() {
        writeln!(out, "(no refund)")?;
    }
    for c in &r.campaigns {
        writeln!(out)?;
        writeln!(
            out,
            "campaign {} ({}): {} — total {}{}",
            c.name,
            c.campaign_id,
            name(&c.claim).replace('_', " "),
            eur(c.total),
            c.beneficiary
                .map(|b| format!(", beneficiary {b}"))
                .unwrap_or_default()
        )?;
        if let Some(why) = &c.not_assessable {
            writeln!(out, "  not assessable: {why}")?;
        }
        for op in &c.operations {
            writeln!(
                out,
                "  {:<12}  {:<9}  {:<22}  {:>11}  held {}  {}",
                op.operation,
                if op.eligible { "eligible" } else { "no" },
                op.rule.to_string(),
                eur(op.amount),
                op.held_months
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                op.explanation
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
