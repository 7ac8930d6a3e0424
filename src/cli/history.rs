//! `navigo-ledger history STREAM`: a stream's events.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use navigo_events_schema::{Envelope, StreamId};

use super::exit::CmdResult;
use crate::app::error::BadInput;
use crate::app::ledger::read_stream;

/// Arguments of `history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stream, `KIND:UUID` (kind: contract, person, catalogue, campaign).
    stream: String,
    /// JSON lines (one envelope per line) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints the stream.
///
/// # Errors
/// A malformed stream id (exit 2), not a ledger, a corrupt record.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let stream: StreamId = args
        .stream
        .parse()
        .map_err(|e| BadInput(format!("STREAM: {e}")))?;
    let events = read_stream(data, stream).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for e in &events {
            let line = serde_json::to_string(e).context("serialising an envelope")?;
            writeln!(out, "{line}")?;
        }
    } else {
        write_table(&mut out, &events)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_table(out: &mut impl Write, events: &[Envelope]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>8} {:>5}  {:<20}  {:<10}  {:<26}  ACTOR",
        "POSITION", "SEQ", "RECORDED AT (UTC)", "EFFECTIVE", "TYPE"
    )?;
    for e in events {
        writeln!(
            out,
            "{:>8} {:>5}  {:<20}  {:<10}  {:<26}  {}:{}",
            e.position,
            e.stream_seq,
            e.recorded_at.format("%Y-%m-%dT%H:%M:%SZ"),
            e.effective_date,
            e.event.type_name(),
            role(e),
            e.actor.id
        )?;
    }
    if events.is_empty() {
        writeln!(out, "(no events)")?;
    }
    Ok(())
}

fn role(e: &Envelope) -> &'static str {
    use navigo_events_schema::types::ActorRole;
    match e.actor.role {
        ActorRole::Customer => "customer",
        ActorRole::Agent => "agent",
        ActorRole::System => "system",
        ActorRole::Import => "import",
    }
}
