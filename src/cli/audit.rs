//! `navigo-ledger audit ID [--known-at INSTANT] [--json]`: every event of a
//! contract or person in order, with recorded-at, effective date, actor, channel,
//! rule ids, running balance, chain hash, and corrections next to what they
//! correct.

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::views::AuditTrail;
use navigo_store::Clock;
use uuid::Uuid;

use super::as_of::{parse_id, parse_instant};
use super::exit::CmdResult;
use super::output::{name, print_json_sorted};
use super::readonly::open_for_reading;
use super::remote;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::read_slice;
use crate::app::place::Place;
use crate::app::read::Subject;
use crate::app::replay::audit;
use crate::app::served::ServeRecord;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract or person (UUID).
    pub id: String,
    /// Only events recorded at or before this UTC instant (RFC 3339).
    #[arg(long, value_name = "INSTANT")]
    pub known_at: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the trail.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        return run_through(&svc, &args).await;
    }
    let id = parse_id(&args.id)?;
    let known_at = match &args.known_at {
        Some(s) => {
            let t = parse_instant("--known-at", s)?;
            if t > SystemClock.now() {
                return Err(BadInput(format!("--known-at {s} is in the future")).into());
            }
            Some(t)
        }
        None => None,
    };
    let readable = open_for_reading(data)?;
    let events = read_slice(readable.place(), id, Subject::ContractOrPerson).await?;
    let trail = audit(&events, id, known_at).map_err(|e| BadInput(e.to_string()))?;
    print(id, &trail, args.json)
}

/// The trail read through the running service (its auditors' route), checked
/// as the local read checks its arguments except against a clock: the
/// service's decides "now".
async fn run_through(svc: &ServeRecord, args: &Args) -> CmdResult {
    let id = parse_id(&args.id)?;
    let mut query = Vec::new();
    if let Some(s) = &args.known_at {
        parse_instant("--known-at", s)?;
        query.push(("known_at", s.clone()));
    }
    let trail: AuditTrail = remote::get(svc, &format!("/v1/audit/{id}"), &query).await?;
    print(id, &trail, args.json)
}

/// Prints a trail, read here or through the service, as JSON or a table.
fn print(id: Uuid, trail: &AuditTrail, json: bool) -> CmdResult {
    if json {
        // The entries alone, as the command has always printed them (the
        // service answers them with the id).
        print_json_sorted(&trail.entries)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "audit of {id} ({} events)", trail.entries.len())?;
    for e in &trail.entries {
        let channel = e.channel.map(|c| name(&c)).unwrap_or_else(|| "-".into());
        let note = match (e.corrects_position, e.annulled_by_position) {
            (Some(p), _) => format!("  corrects #{p}"),
            (_, Some(p)) => format!("  ANNULLED by #{p}"),
            _ => String::new(),
        };
        let hash = e.hash.to_string();
        writeln!(
            out,
            "#{:<6} {:<22} rec {} eff {} {}:{} {} [{}] balance {} hash {}{}",
            e.position,
            e.event_type,
            e.recorded_at.format("%Y-%m-%dT%H:%M:%SZ"),
            e.effective_date,
            name(&e.actor.role),
            e.actor.id,
            channel,
            e.rules
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            e.balance_after,
            &hash[..16.min(hash.len())],
            note
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
