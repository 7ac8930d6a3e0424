//! `navigo-ledger audit ID [--known-at INSTANT] [--json]`: every event of a
//! contract or person in order, with recorded-at, effective date, actor, channel,
//! rule ids, running balance, chain hash, and corrections next to what they
//! correct.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use navigo_replay::audit::{audit, AuditEntry};
use navigo_store::Clock;

use super::state::{parse_instant, print_json};
use super::{BadInput, CmdResult, SystemClock};

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

/// The JSON of an audit line.
pub fn entry_json(e: &AuditEntry) -> serde_json::Value {
    let env = &e.envelope;
    serde_json::json!({
        "position": env.position,
        "stream": env.stream.to_string(),
        "stream_seq": env.stream_seq,
        "event_id": env.event_id,
        "type": env.event.type_name(),
        "recorded_at": env.recorded_at,
        "effective_date": env.effective_date,
        "actor": serde_json::to_value(&env.actor).unwrap_or_default(),
        "channel": serde_json::to_value(env.channel).unwrap_or_default(),
        "rules": e.rules.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "balance_after": e.balance_after,
        "corrects_position": e.corrects,
        "annulled_by_position": e.annulled_by,
        "prev_hash": env.prev_hash.to_string(),
        "hash": env.hash.to_string(),
    })
}

/// Prints the trail.
///
/// # Errors
/// Bad input (exit 2), an unknown id, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let id: uuid::Uuid = args
        .id
        .parse()
        .map_err(|e| BadInput(format!("ID {:?} is not a UUID: {e}", args.id)))?;
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
    let events = super::read_whole_log(data).await?;
    let trail = audit(&events, id, known_at).map_err(|e| BadInput(e.to_string()))?;
    if args.json {
        print_json(&trail.iter().map(entry_json).collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "audit of {id} ({} events)", trail.len())?;
    for e in &trail {
        let env = &e.envelope;
        let channel = env
            .channel
            .map(|c| super::state::name(&c))
            .unwrap_or_else(|| "-".into());
        let note = match (e.corrects, e.annulled_by) {
            (Some(p), _) => format!("  corrects #{p}"),
            (_, Some(p)) => format!("  ANNULLED by #{p}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "#{:<6} {:<22} rec {} eff {} {}:{} {} [{}] balance {} hash {}{}",
            env.position,
            env.event.type_name(),
            env.recorded_at.format("%Y-%m-%dT%H:%M:%SZ"),
            env.effective_date,
            super::state::name(&env.actor.role),
            env.actor.id,
            channel,
            e.rules
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            e.balance_after,
            &env.hash.to_string()[..16.min(env.hash.to_string().len())],
            note
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
