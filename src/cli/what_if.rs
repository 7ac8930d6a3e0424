//! `navigo-ledger what-if ID --commands FILE [--at DATE] [--json]`: hypothetical
//! commands on a contract, judged and clocked in memory; nothing is appended.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_events_schema::CommandEnvelope;
use navigo_replay::whatif::what_if;

use super::state::print_json;
use super::{BadInput, CmdResult};

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

/// Runs the hypothetical.
///
/// # Errors
/// Bad input (a malformed line names its number), unknown contract, storage.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let id: uuid::Uuid = args
        .id
        .parse()
        .map_err(|e| BadInput(format!("ID {:?} is not a UUID: {e}", args.id)))?;
    let at = args
        .at
        .as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|e| BadInput(format!("--at {s:?} is not a date YYYY-MM-DD: {e}")))
        })
        .transpose()?;
    let text = std::fs::read_to_string(&args.commands)
        .map_err(|e| BadInput(format!("--commands {}: {e}", args.commands.display())))?;
    let mut cmds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let c = CommandEnvelope::from_json(line)
            .map_err(|e| BadInput(format!("--commands line {}: {e}", i + 1)))?;
        cmds.push(c);
    }
    let events = super::read_whole_log(data).await?;
    let w = what_if(&events, id, &cmds, at).map_err(|e| BadInput(e.to_string()))?;
    let outcomes: Vec<serde_json::Value> = w
        .outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(evs) => serde_json::json!({"request_at": o.request_at, "command": o.command,
                "accepted": evs.iter().map(|(t, d)| serde_json::json!({"type": t, "effective_date": d})).collect::<Vec<_>>()}),
            Err(r) => serde_json::json!({"request_at": o.request_at, "command": o.command, "refused": r}),
        })
        .collect();
    if args.json {
        print_json(
            &serde_json::json!({"contract": id, "at": w.at, "set_aside": w.set_aside,
            "outcomes": outcomes, "actual": w.actual, "hypothetical": w.hypothetical}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "what-if on {id}, read on {} (nothing appended; {} real events of the contract set aside)",
        w.at, w.set_aside
    )?;
    for o in &outcomes {
        writeln!(out, "  {o}")?;
    }
    let bal = |v: &std::collections::BTreeMap<&str, serde_json::Value>| {
        v.get("balance")
            .and_then(|b| b.pointer("/totals/balance"))
            .cloned()
            .unwrap_or_default()
    };
    writeln!(
        out,
        "balance   actual {}   hypothetical {}",
        bal(&w.actual),
        bal(&w.hypothetical)
    )?;
    let rows = |v: &std::collections::BTreeMap<&str, serde_json::Value>| -> Vec<String> {
        v.get("calendar")
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
    };
    let (ra, rh) = (rows(&w.actual), rows(&w.hypothetical));
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
