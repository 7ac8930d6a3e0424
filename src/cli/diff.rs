//! `navigo-ledger diff ID --known-at A --known-at B` or `--at A --at B`: what
//! changed in the calendar, balance, bans and refunds between two views, and
//! which events caused each change.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;
use navigo_projections::Query;
use navigo_replay::diff::diff;
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;

use super::state::{parse_instant, print_json};
use super::{BadInput, CmdResult, SystemClock};

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

fn date(s: &str) -> Result<NaiveDate, BadInput> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| BadInput(format!("--at {s:?} is not a date YYYY-MM-DD: {e}")))
}

/// Prints the diff.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let id: uuid::Uuid = args
        .id
        .parse()
        .map_err(|e| BadInput(format!("ID {:?} is not a UUID: {e}", args.id)))?;
    let today = paris_date(SystemClock.now());
    let (a, b) = match (args.known_at.as_slice(), args.at.as_slice()) {
        ([ka, kb], ats) if ats.len() <= 1 => {
            let at = ats.first().map(|s| date(s)).transpose()?.unwrap_or(today);
            (
                Query {
                    at,
                    known_at: Some(parse_instant("--known-at", ka)?),
                },
                Query {
                    at,
                    known_at: Some(parse_instant("--known-at", kb)?),
                },
            )
        }
        ([], [x, y]) => (Query::on(date(x)?), Query::on(date(y)?)),
        _ => {
            return Err(BadInput(
                "give either two --known-at (and at most one --at) or two --at".into(),
            )
            .into())
        }
    };
    let events = super::read_whole_log(data).await?;
    let d = diff(&events, id, &a, &b).map_err(|e| BadInput(e.to_string()))?;
    if args.json {
        print_json(&serde_json::json!({
            "id": id,
            "from": {"at": a.at, "known_at": a.known_at},
            "to": {"at": b.at, "known_at": b.known_at},
            "changes": d.changes.iter().map(|c| serde_json::json!({
                "path": c.path, "before": c.before, "after": c.after, "caused_by": c.caused_by})).collect::<Vec<_>>(),
            "events": d.causes.iter().map(|c| serde_json::json!({
                "position": c.envelope.position, "type": c.envelope.event.type_name(),
                "recorded_at": c.envelope.recorded_at, "effective_date": c.envelope.effective_date,
                "rules": c.rules, "explanation": c.explanation, "hash": c.envelope.hash.to_string()})).collect::<Vec<_>>(),
        }))?;
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
    for c in &d.causes {
        writeln!(out, "  {} [{}]", c.explanation, c.rules.join(","))?;
    }
    Ok(ExitCode::SUCCESS)
}
