//! `navigo-ledger diff ID --known-at A --known-at B` or `--at A --at B`: what
//! changed in the calendar, balance, bans and refunds between two views, and
//! which events caused each change.

use std::io::Write;
use std::process::ExitCode;

use navigo_projections::Query;
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;

use super::as_of::{parse_date, parse_id, parse_instant};
use super::exit::CmdResult;
use super::output::print_json_sorted;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::Subject;
use crate::app::replay::diff;

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract or person (UUID).
    pub id: String,
    /// Two recorded instants (RFC 3339), read on the same `--at`.
    #[arg(long, value_name = "INSTANT")]
    pub known_at: Vec<String>,
    /// Two effective dates (YYYY-MM-DD); or one, the date both `known_at` views
    /// are read on (default: today).
    #[arg(long, value_name = "DATE")]
    pub at: Vec<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The two readings the arguments ask for.
fn readings(args: &Args) -> Result<(Query, Query), BadInput> {
    let today = paris_date(SystemClock.now());
    match (args.known_at.as_slice(), args.at.as_slice()) {
        ([ka, kb], ats) if ats.len() <= 1 => {
            let at = ats
                .first()
                .map(|s| parse_date("--at", s))
                .transpose()?
                .unwrap_or(today);
            let reading = |k: &str| -> Result<Query, BadInput> {
                Ok(Query {
                    at,
                    known_at: Some(parse_instant("--known-at", k)?),
                })
            };
            Ok((reading(ka)?, reading(kb)?))
        }
        ([], [x, y]) => Ok((
            Query::on(parse_date("--at", x)?),
            Query::on(parse_date("--at", y)?),
        )),
        _ => Err(BadInput(
            "give either two --known-at (and at most one --at) or two --at".into(),
        )),
    }
}

/// Prints the diff.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let id = parse_id(&args.id)?;
    let (a, b) = readings(&args)?;
    let events = read_slice(data, id, Subject::ContractOrPerson).await?;
    let d = diff(&events, id, &a, &b).map_err(|e| BadInput(e.to_string()))?;
    if args.json {
        print_json_sorted(&d)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "diff of {id}: {} changes", d.changes.len())?;
    for c in &d.changes {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref().map_or("(none)".to_string(), |v| v.to_string())
        };
        let by: Vec<String> = c.caused_by.iter().map(|p| format!("#{p}")).collect();
        writeln!(
            out,
            "  {:<48} {} -> {}  caused by {}",
            c.path,
            show(&c.before),
            show(&c.after),
            if by.is_empty() {
                "no event between the views (the read date or the forecast)".to_string()
            } else {
                by.join(" ")
            }
        )?;
    }
    writeln!(out, "events between the two views:")?;
    for c in &d.events {
        writeln!(out, "  {} [{}]", c.explanation, c.rules.join(","))?;
    }
    Ok(ExitCode::SUCCESS)
}
