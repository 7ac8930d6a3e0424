//! `navigo-ledger history ID`: a stream's events, named by its bare id like
//! every other command takes, or as `KIND:UUID`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use navigo_events_schema::{Envelope, StreamId, StreamKind};
use navigo_store::EventStore;
use uuid::Uuid;

use super::exit::CmdResult;
use crate::app::error::BadInput;
use crate::app::ledger::open_store;
use crate::app::place::Place;

/// Arguments of `history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stream: its id (UUID), or `KIND:UUID` (kind: contract, person,
    /// catalogue, campaign, bank) when the kind should be named.
    #[arg(value_name = "ID")]
    stream: String,
    /// JSON lines (one envelope per line) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints the stream.
///
/// # Errors
/// A malformed stream id (exit 2), not a ledger, a corrupt record.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let store = open_store(data).await?;
    let events = read(&store, &args.stream).await;
    store.close().await?;
    let events = events?;
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

/// The events of the stream `arg` names: `KIND:UUID`, or a bare UUID, which
/// names the one stream of any kind with that id.
///
/// # Errors
/// [`BadInput`] for an argument that is neither, a bare id no stream has, or
/// one that several kinds of stream have (the kind must then be named); a
/// corrupt record.
async fn read(store: &impl EventStore, arg: &str) -> anyhow::Result<Vec<Envelope>> {
    if arg.contains(':') {
        let stream: StreamId = arg.parse().map_err(|e| BadInput(format!("ID: {e}")))?;
        return Ok(store.read_stream(stream, 1..=u64::MAX).await?);
    }
    let id: Uuid = arg.trim().parse().map_err(|e| {
        BadInput(format!(
            "ID {arg:?} is neither a UUID nor KIND:UUID (kind: contract, person, catalogue, \
             campaign): {e}"
        ))
    })?;
    let mut found: Vec<(StreamKind, Vec<Envelope>)> = Vec::new();
    for kind in StreamKind::ALL {
        let events = store
            .read_stream(StreamId { kind, id }, 1..=u64::MAX)
            .await?;
        if !events.is_empty() {
            found.push((kind, events));
        }
    }
    match found.len() {
        0 => Err(BadInput(format!("ID {id}: no stream has this id")).into()),
        1 => Ok(found.pop().map(|(_, e)| e).unwrap_or_default()),
        _ => {
            let kinds: Vec<String> = found
                .iter()
                .map(|(k, _)| format!("{}:{id}", k.as_str()))
                .collect();
            Err(BadInput(format!(
                "ID {id} names several streams; name one: {}",
                kinds.join(", ")
            ))
            .into())
        }
    }
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
