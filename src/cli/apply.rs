//! `navigo-ledger apply FILE|-`: judge commands, one JSON object per line (see
//! events-schema/schemas/command.json), and print one JSON line per input line.
//!
//! Each command is judged on its own, in order: accepted (its events with their
//! positions), refused (rule id, article, message), invalid (field, message), or
//! malformed (line number and the serde error, which names the field). A bad line
//! never stops the later ones. Events are recorded at each command's request
//! instant (the import clock) and ids come from `--seed`, so that a scenario written
//! by hand replays to the same chain on a fresh ledger.
//!
//! Exit code: 0 when every line was accepted, 1 when one was refused or invalid,
//! 2 when one was malformed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use navigo_core::ledger::{ClockMode, Ledger, LedgerError};
use navigo_core::{CommandError, Policy};
use navigo_events_schema::{CommandEnvelope, Envelope};
use serde_json::{json, Value};

use super::{open_store, BadInput, CmdResult, EXIT_BAD_INPUT, EXIT_REFUSED};

/// Bytes of one command line.
pub const COMMAND_LINE_BYTES_MAX: usize = 1024 * 1024;

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File of commands (JSON lines); stdin when `-` or absent.
    file: Option<PathBuf>,
    /// Seed of the event-id generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The JSON of a stored event, as printed by `apply` and `advance`.
pub fn envelope_json(e: &Envelope) -> Value {
    json!({
        "position": e.position,
        "stream": e.stream.to_string(),
        "stream_seq": e.stream_seq,
        "event_id": e.event_id.to_string(),
        "type": e.event.type_name(),
        "effective_date": e.effective_date.to_string(),
        "recorded_at": e.recorded_at.to_rfc3339(),
        "data": e.event.data_to_value().unwrap_or(Value::Null),
    })
}

/// The JSON line of a command's outcome.
pub fn outcome_json(line: usize, result: &Result<Vec<Envelope>, LedgerError>) -> (Value, u8) {
    match result {
        Ok(events) => (
            json!({
                "line": line,
                "status": "accepted",
                "events": events.iter().map(envelope_json).collect::<Vec<_>>(),
            }),
            0,
        ),
        Err(LedgerError::Command(CommandError::Refused(r))) => (
            json!({
                "line": line,
                "status": "refused",
                "rule": r.rule.as_str(),
                "article": r.article,
                "message": r.message,
            }),
            EXIT_REFUSED,
        ),
        Err(LedgerError::Command(CommandError::Invalid { field, message })) => (
            json!({"line": line, "status": "invalid", "field": field, "message": message}),
            EXIT_REFUSED,
        ),
        Err(e) => (
            json!({"line": line, "status": "error", "message": e.to_string()}),
            EXIT_REFUSED,
        ),
    }
}

/// The field a decoding error is in: named by serde for a missing or unknown
/// field, otherwise the last key written before the error's column (serde_json
/// reports a bad value just after it).
fn field_of(line: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for kind in ["missing field `", "unknown field `", "unknown variant `"] {
        if let Some(rest) = msg.split(kind).nth(1) {
            if kind != "unknown variant `" {
                return rest.split('`').next().unwrap_or("?").to_owned();
            }
        }
    }
    last_key_before(line, e.column())
}

/// The last JSON key written in `text` before `column` (a serde_json error's
/// column: it reports a bad value just after its key), or `-` when there is
/// none; the fallback of the field a decoding error names, here and in the HTTP
/// service.
pub(crate) fn last_key_before(text: &str, column: usize) -> String {
    let upto: String = text.chars().take(column).collect();
    let mut field = None;
    let mut rest = upto.as_str();
    while let Some(i) = rest.find("\":") {
        let before = &rest[..i];
        if let Some(start) = before.rfind('"') {
            field = Some(before[start + 1..].to_owned());
        }
        rest = &rest[i + 2..];
    }
    field.unwrap_or_else(|| "-".to_owned())
}

/// Applies the commands.
///
/// # Errors
/// The input cannot be read, the ledger cannot be opened, or the store fails.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let reader: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p == Path::new("-") => Box::new(std::io::stdin()),
        Some(p) => Box::new(
            std::fs::File::open(p)
                .map_err(|e| BadInput(format!("cannot read {}: {e}", p.display())))?,
        ),
    };
    let store = open_store(data)?;
    // The import mode (backfilling history): each command recorded at its
    // request instant, in order, none after the binary's clock.
    let mut ledger = Ledger::open(store, Policy::default(), args.seed)
        .await?
        .with_clock(std::sync::Arc::new(super::SystemClock));
    let mut worst = 0u8;
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let number = i + 1;
        let line = line.map_err(|e| BadInput(format!("line {number}: {e}")))?;
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
            continue;
        }
        if line.len() > COMMAND_LINE_BYTES_MAX {
            outln!(
                "{}",
                json!({"line": number, "status": "malformed",
                       "message": format!("line longer than {COMMAND_LINE_BYTES_MAX} bytes")})
            );
            worst = worst.max(EXIT_BAD_INPUT);
            continue;
        }
        let cmd: CommandEnvelope = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(e) => {
                outln!(
                    "{}",
                    json!({"line": number, "status": "malformed",
                           "field": field_of(&line, &e), "message": e.to_string()})
                );
                worst = worst.max(EXIT_BAD_INPUT);
                continue;
            }
        };
        let result = ledger.execute(&cmd, ClockMode::Import).await;
        if let Err(LedgerError::Store(e)) = &result {
            if !matches!(e, navigo_core::store::StoreError::OutOfOrder { .. }) {
                let (out, _) = outcome_json(number, &result);
                outln!("{out}");
                ledger.into_store().close().await?;
                return Err(anyhow::anyhow!("line {number}: {e}"));
            }
        }
        let (out, code) = outcome_json(number, &result);
        outln!("{out}");
        worst = worst.max(code);
    }
    ledger.into_store().close().await?;
    Ok(if worst == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(worst)
    })
}
