//! `navigo-ledger what-if ID --commands FILE [--at DATE] [--json]`: hypothetical
//! commands on a contract, judged and clocked in memory; nothing is appended.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use navigo_events_schema::CommandEnvelope;
use serde_json::Value;

use super::as_of::{parse_date, parse_id};
use super::exit::CmdResult;
use super::output::{print_json_sorted, sorted};
use crate::app::error::BadInput;
use crate::app::ledger::read_what_if_slice;
use crate::app::place::Place;
use crate::app::replay::what_if;

/// Arguments of `what-if`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract (UUID).
    pub id: String,
    /// JSON lines of commands (the `apply` format).
    #[arg(long, value_name = "FILE")]
    pub commands: PathBuf,
    /// The date both views are read on; default: the later of the real log's
    /// last date and the last command.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The commands of the file, a malformed line named by its number.
fn read_commands(path: &Path) -> Result<Vec<CommandEnvelope>, BadInput> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("--commands {}: {e}", path.display())))?;
    let mut cmds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let c = CommandEnvelope::from_json(line)
            .map_err(|e| BadInput(format!("--commands line {}: {e}", i + 1)))?;
        cmds.push(c);
    }
    Ok(cmds)
}

/// Runs the hypothetical.
///
/// # Errors
/// Bad input (a malformed line names its number), unknown contract, storage.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let id = parse_id(&args.id)?;
    let at = args
        .at
        .as_deref()
        .map(|s| parse_date("--at", s))
        .transpose()?;
    let cmds = read_commands(&args.commands)?;
    let read = read_what_if_slice(data, id, &cmds).await?;
    let w = what_if(&read, id, &cmds, at).map_err(|e| BadInput(e.to_string()))?;
    if args.json {
        print_json_sorted(&w)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "what-if on {id}, read on {} (nothing appended; {} real events of the contract set aside)",
        w.at, w.set_aside
    )?;
    for o in &w.outcomes {
        writeln!(out, "  {}", sorted(o)?)?;
    }
    writeln!(
        out,
        "balance   actual {}   hypothetical {}",
        balance(&w.actual),
        balance(&w.hypothetical)
    )?;
    let (ra, rh) = (calendar_rows(&w.actual), calendar_rows(&w.hypothetical));
    writeln!(out, "{:<44} | hypothetical", "actual calendar")?;
    for i in 0..ra.len().max(rh.len()) {
        writeln!(
            out,
            "{:<44} | {}",
            ra.get(i).map_or("", |s| s),
            rh.get(i).map_or("", |s| s)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The balance of a side's views.
fn balance(views: &BTreeMap<String, Value>) -> Value {
    views
        .get("balance")
        .and_then(|b| b.pointer("/totals/balance"))
        .cloned()
        .unwrap_or_default()
}

/// The rows of a side's calendar, one line each: month, amount, status.
fn calendar_rows(views: &BTreeMap<String, Value>) -> Vec<String> {
    views
        .get("calendar")
        .and_then(|c| c.get("rows"))
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.get("month").cloned().unwrap_or_default(),
                        r.get("amount").cloned().unwrap_or_default(),
                        r.get("status").cloned().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
