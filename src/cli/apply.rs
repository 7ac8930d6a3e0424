//! `navigo-ledger apply FILE|-`: judge commands, one JSON object per line (see
//! events-schema/schemas/command.json), and print one JSON line per input line.
//!
//! Each command is judged on its own, in order: accepted (its events with their
//! positions), refused (rule id, article, message), invalid (field, message),
//! conflict (an idempotency key first used for another command: the key), or
//! malformed (line number, the path of the offending field such as
//! `command.product.zones`, or a null field when the line is not JSON at all:
//! not UTF-8, truncated, too long). A bad line never stops the later ones.
//! Events are recorded at each command's request instant (the import clock) and
//! ids come from `--seed`, so that a scenario written by hand replays to the
//! same chain on a fresh ledger.
//!
//! Exit code: 0 when every line was accepted, 1 when one was refused, invalid or
//! a conflict, 2 when one was malformed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use hyper::StatusCode;
use navigo_events_schema::views::{ApplyOutcome, CommandAccepted};
use navigo_events_schema::{CommandEnvelope, FieldError};
use navigo_ledger_core::{ClockMode, LedgerError};
use navigo_rules::CommandError;

use super::exit::{CmdResult, EXIT_BAD_INPUT, EXIT_REFUSED};
use super::output::print_json_line;
use super::remote::{self, ErrorOr};
use crate::app::clock::SystemClock;
use crate::app::commands::execute;
use crate::app::error::BadInput;
use crate::app::ledger::open_clocked_ledger;
use crate::app::place::Place;
use crate::app::served::ServeRecord;

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

/// The answer to a command's line, and the exit code it asks for.
pub fn outcome(line: usize, result: &Result<CommandAccepted, LedgerError>) -> (ApplyOutcome, u8) {
    let line = line as u64;
    match result {
        Ok(accepted) => (
            ApplyOutcome::Accepted {
                line,
                events: accepted.events.clone(),
            },
            0,
        ),
        Err(LedgerError::Command(CommandError::Refused(r))) => (
            ApplyOutcome::Refused {
                line,
                rule: r.rule,
                article: r.article.to_string(),
                message: r.message.clone(),
            },
            EXIT_REFUSED,
        ),
        Err(LedgerError::Command(CommandError::Invalid { field, message })) => (
            ApplyOutcome::Invalid {
                line,
                field: (*field).to_owned(),
                message: message.clone(),
            },
            EXIT_REFUSED,
        ),
        Err(e @ LedgerError::IdempotencyConflict { key }) => (
            ApplyOutcome::Conflict {
                line,
                key: key.clone(),
                message: e.to_string(),
            },
            EXIT_REFUSED,
        ),
        Err(e) => (
            ApplyOutcome::Error {
                line,
                message: e.to_string(),
            },
            EXIT_REFUSED,
        ),
    }
}

/// One line of the input, read with a bound on its length.
enum InputLine {
    /// The line's bytes, without its end of line.
    Bytes(Vec<u8>),
    /// A line longer than [`COMMAND_LINE_BYTES_MAX`], skipped to its end.
    TooLong,
}

/// Reads the next line, holding at most [`COMMAND_LINE_BYTES_MAX`] bytes of it;
/// `None` at the end of the input.
fn next_line(reader: &mut impl BufRead) -> std::io::Result<Option<InputLine>> {
    let mut buf = Vec::new();
    let limit = COMMAND_LINE_BYTES_MAX as u64 + 1;
    if reader.by_ref().take(limit).read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > COMMAND_LINE_BYTES_MAX {
        skip_line(reader)?;
        return Ok(Some(InputLine::TooLong));
    }
    Ok(Some(InputLine::Bytes(buf)))
}

/// Consumes the input up to and including the next end of line.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
            }
        }
    }
}

/// The command of a line, or the malformed line's answer.
fn parse_line(number: usize, line: InputLine) -> Result<Option<CommandEnvelope>, ApplyOutcome> {
    let malformed = |field: Option<String>, message: String| ApplyOutcome::Malformed {
        line: number as u64,
        field,
        message,
    };
    let bytes = match line {
        InputLine::Bytes(bytes) => bytes,
        InputLine::TooLong => {
            return Err(malformed(
                None,
                format!("line longer than {COMMAND_LINE_BYTES_MAX} bytes"),
            ))
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        malformed(
            None,
            format!(
                "the line is not UTF-8 (from byte {}); commands are UTF-8 JSON",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() || text.trim_start().starts_with("//") {
        return Ok(None);
    }
    CommandEnvelope::from_json(&text)
        .map(Some)
        .map_err(|FieldError { field, message }| malformed(field, message))
}

/// Applies the commands.
///
/// # Errors
/// The input cannot be read, the ledger cannot be opened, or the store fails.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let reader: Box<dyn Read> = match args.file.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p == Path::new("-") => Box::new(std::io::stdin()),
        Some(p) => Box::new(
            std::fs::File::open(p)
                .map_err(|e| BadInput(format!("cannot read {}: {e}", p.display())))?,
        ),
    };
    let mut reader = BufReader::new(reader);
    if let Some(svc) = remote::service(data) {
        return through_service(&svc, &mut reader).await;
    }
    // The import mode (backfilling history): each command recorded at its
    // request instant, in order, none after the binary's clock.
    let mut ledger = open_clocked_ledger(data, args.seed, Arc::new(SystemClock)).await?;
    let mut worst = 0u8;
    let mut number = 0usize;
    loop {
        let line =
            next_line(&mut reader).map_err(|e| BadInput(format!("line {}: {e}", number + 1)))?;
        let Some(line) = line else { break };
        number += 1;
        let cmd = match parse_line(number, line) {
            Ok(Some(cmd)) => cmd,
            Ok(None) => continue,
            Err(answer) => {
                print_json_line(&answer)?;
                worst = worst.max(EXIT_BAD_INPUT);
                continue;
            }
        };
        let result = execute(&mut ledger, &cmd, ClockMode::Import).await;
        let (answer, code) = outcome(number, &result);
        print_json_line(&answer)?;
        if let Err(LedgerError::Store(e)) = &result {
            if !matches!(e, navigo_store::StoreError::OutOfOrder { .. }) {
                ledger.into_store().close().await?;
                return Err(anyhow::anyhow!("line {number}: {e}"));
            }
        }
        worst = worst.max(code);
    }
    ledger.close().await?.close().await?;
    Ok(if worst == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(worst)
    })
}

/// `apply` beside a running service: each command sent to it
/// (`POST /v1/commands` with the token of NAVIGO_TOKEN) as it is written, and
/// its answer printed as the local line's.
///
/// Decision: the command is sent as written, its `actor` and `request_at`
/// included, and the service decides: it records the token's actor and
/// judges at its own instant, refusing another actor (`actor`) or an instant
/// beyond `request_skew_seconds_max` (`request_at`), answered on the line as
/// invalid, naming the field. The import mode (recording each command at its
/// own past instant) is not the service's: backfilling history is done with
/// the service stopped.
///
/// # Errors
/// The input cannot be read; no token, a token the service refuses or a role
/// that may submit no command (the run stops there).
async fn through_service(svc: &ServeRecord, reader: &mut impl BufRead) -> CmdResult {
    let mut worst = 0u8;
    let mut number = 0usize;
    loop {
        let line = next_line(reader).map_err(|e| BadInput(format!("line {}: {e}", number + 1)))?;
        let Some(line) = line else { break };
        number += 1;
        let cmd = match parse_line(number, line) {
            Ok(Some(cmd)) => cmd,
            Ok(None) => continue,
            Err(answer) => {
                print_json_line(&answer)?;
                worst = worst.max(EXIT_BAD_INPUT);
                continue;
            }
        };
        let (status, said) = remote::command_answer(svc, serde_json::to_string(&cmd)?).await?;
        let (answer, code) = served_outcome(number as u64, &cmd, status, said)?;
        print_json_line(&answer)?;
        worst = worst.max(code);
    }
    Ok(if worst == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(worst)
    })
}

/// The line's answer to the service's answer to its command, as [`outcome`]
/// gives the local one.
fn served_outcome(
    line: u64,
    cmd: &CommandEnvelope,
    status: StatusCode,
    said: ErrorOr,
) -> anyhow::Result<(ApplyOutcome, u8)> {
    let e = match said {
        ErrorOr::Answer(body) => {
            let accepted: CommandAccepted = serde_json::from_slice(&body)?;
            let events = accepted.events;
            return Ok((ApplyOutcome::Accepted { line, events }, 0));
        }
        ErrorOr::Error(e) => e,
    };
    let answer = match (e.rule, e.field) {
        (Some(rule), _) => ApplyOutcome::Refused {
            line,
            rule,
            article: e.article.unwrap_or_default(),
            message: e.message,
        },
        (None, _) if status == StatusCode::CONFLICT => ApplyOutcome::Conflict {
            line,
            key: cmd.idempotency_key.clone().unwrap_or_default(),
            message: e.message,
        },
        (None, Some(field)) => ApplyOutcome::Invalid {
            line,
            field,
            message: e.message,
        },
        (None, None) => ApplyOutcome::Error {
            line,
            message: e.message,
        },
    };
    Ok((answer, EXIT_REFUSED))
}
