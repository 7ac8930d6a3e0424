//! `navigo-ledger append [FILE]`: raw event lines, all or nothing.
//!
//! Every line is parsed and decoded before anything is written: a malformed line
//! is reported as `line N: field X: why` and nothing of the input is appended.
//! Then consecutive lines form append requests, and all requests go to the store
//! in one all-or-nothing call ([`AnyStore::append_all`]): a version conflict on
//! the last line still leaves the ledger untouched.
//!
//! Grouping (decision): consecutive lines form one append request while they name
//! the same stream, the same idempotency key (or none), the same import instant
//! (or none), and either no expected version or the one that follows the group's
//! (first line's expected version plus the lines before). An idempotency key thus
//! covers the run of lines that carry it. Blank lines are skipped but counted.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::store::AnyStore;
use chrono::{DateTime, NaiveDate, Utc};
use navigo_events_schema::types::{Actor, Channel};
use navigo_events_schema::{DecodeError, NewEvent, RawEventLine, StreamId};
use navigo_store::{AppendOutcome, AppendRequest, ExpectedVersion, Limits, StoreError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::exit::{CmdResult, EXIT_REFUSED};
use crate::app::error::BadInput;
use crate::app::ledger::open_store;
use crate::app::place::Place;

/// Bytes of input read by one `append`.
pub const APPEND_INPUT_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Arguments of `append`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File of raw event lines (JSON, one object per line); stdin when absent or `-`.
    file: Option<PathBuf>,
}

/// One parsed line.
struct Line {
    number: usize,
    raw: RawEventLine,
    event: navigo_events_schema::Event,
}

/// Consecutive lines that form one append request.
struct Group {
    first_line: usize,
    last_line: usize,
    request: AppendRequest,
}

/// Appends the input.
///
/// # Errors
/// A malformed line (exit 2), a refusal by the store (exit 1; nothing appended).
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let input = read_input(args.file.as_deref())?;
    let limits = Limits::default();
    let lines = parse_lines(&input, limits)?;
    if lines.is_empty() {
        return Err(BadInput("no event lines in the input".into()).into());
    }
    let groups = group(lines);
    let store = open_store(data).await?;
    let result = append_groups(&store, groups).await;
    store.close().await?;
    result
}

async fn append_groups(store: &AnyStore, groups: Vec<Group>) -> CmdResult {
    let spans: Vec<(usize, usize, StreamId, Option<String>)> = groups
        .iter()
        .map(|g| {
            (
                g.first_line,
                g.last_line,
                g.request.stream,
                g.request.idempotency_key.clone(),
            )
        })
        .collect();
    let requests = groups.into_iter().map(|g| g.request).collect();
    match store.append_all(requests).await {
        Ok(outcomes) => {
            let mut appended = 0usize;
            let mut already = 0usize;
            for ((first, last, stream, key), outcome) in spans.iter().zip(&outcomes) {
                let lines = line_span(*first, *last);
                match outcome {
                    AppendOutcome::Appended {
                        positions,
                        stream_version,
                    } => {
                        appended += positions.len();
                        outln!(
                            "{lines}: {stream}: appended at {} (stream version {stream_version})",
                            position_span(positions)
                        );
                    }
                    AppendOutcome::AlreadyAppended { positions } => {
                        already += 1;
                        outln!(
                            "{lines}: {stream}: already appended at {} (idempotency key {:?}); nothing written",
                            position_span(positions),
                            key.as_deref().unwrap_or("")
                        );
                    }
                }
            }
            outln!("appended {appended} events; {already} requests were already appended");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let place = e
                .request_index
                .and_then(|i| spans.get(i))
                .map(|(first, last, stream, _)| {
                    format!("{} ({stream}): ", line_span(*first, *last))
                })
                .unwrap_or_default();
            let msg = format!("{place}{}; nothing was appended", e.error);
            match e.error {
                StoreError::LimitExceeded { .. } | StoreError::Empty => Err(BadInput(msg).into()),
                _ => {
                    eprintln!("refused: {msg}");
                    Ok(ExitCode::from(EXIT_REFUSED))
                }
            }
        }
    }
}

fn line_span(first: usize, last: usize) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    }
}

fn position_span(p: &[u64]) -> String {
    match (p.first(), p.last()) {
        (Some(a), Some(b)) if a == b => format!("position {a}"),
        (Some(a), Some(b)) => format!("positions {a}-{b}"),
        _ => "no position".into(),
    }
}

fn read_input(file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limited =
        |r: &mut dyn Read, buf: &mut Vec<u8>| r.take(APPEND_INPUT_BYTES_MAX + 1).read_to_end(buf);
    match file {
        Some(p) if p != Path::new("-") => {
            let mut f = std::fs::File::open(p)
                .map_err(|e| BadInput(format!("cannot read {}: {e}", p.display())))?;
            limited(&mut f, &mut buf)?;
        }
        _ => {
            limited(&mut std::io::stdin().lock(), &mut buf)?;
        }
    }
    if buf.len() as u64 > APPEND_INPUT_BYTES_MAX {
        return Err(BadInput(format!(
            "input larger than {APPEND_INPUT_BYTES_MAX} bytes (APPEND_INPUT_BYTES_MAX): split it"
        ))
        .into());
    }
    Ok(buf)
}

/// Parses every line; the first bad one is the error.
fn parse_lines(input: &[u8], limits: Limits) -> Result<Vec<Line>, BadInput> {
    let mut out = Vec::new();
    for (i, bytes) in input.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| BadInput(format!("line {number}: not UTF-8: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        if out.len() as u64 >= u64::from(limits.atomic_events_max) {
            return Err(BadInput(format!(
                "line {number}: more than {} event lines (atomic_events_max): split the input",
                limits.atomic_events_max
            )));
        }
        out.push(parse_line(number, text)?);
    }
    Ok(out)
}

fn parse_line(number: usize, text: &str) -> Result<Line, BadInput> {
    let bad = |field: &str, why: String| {
        BadInput(format!(
            "line {number}: field {field}: {}",
            strip_location(&why)
        ))
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| BadInput(format!("line {number}: not valid JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(BadInput(format!("line {number}: not a JSON object")));
    };
    let raw: RawEventLine = match serde_json::from_value(value.clone()) {
        Ok(raw) => raw,
        Err(e) => {
            let msg = e.to_string();
            for kind in ["missing field `", "unknown field `"] {
                if let Some(rest) = msg.strip_prefix(kind) {
                    let field = rest.split('`').next().unwrap_or("?");
                    let why = if kind.starts_with("missing") {
                        "missing".to_owned()
                    } else {
                        msg.clone()
                    };
                    return Err(bad(field, why));
                }
            }
            for (field, v) in map {
                if let Err(why) = probe(field, v) {
                    return Err(bad(field, why));
                }
            }
            return Err(BadInput(format!("line {number}: {msg}")));
        }
    };
    let event = raw.event().map_err(|e| match &e {
        DecodeError::UnknownType(_) => bad("type", e.to_string()),
        DecodeError::UnknownVersion { .. } => bad("schema_version", e.to_string()),
        _ => bad("data", e.to_string()),
    })?;
    Ok(Line { number, raw, event })
}

/// serde_json ends its messages with `at line L column C` of the text it parsed,
/// which for a field is not the input's line: dropped to avoid confusion.
fn strip_location(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i)
            if msg[i + 9..]
                .split(" column ")
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            &msg[..i]
        }
        _ => msg,
    }
}

/// Decodes one field of a raw line alone, to name the field a decoding error is in.
fn probe(field: &str, v: &Value) -> Result<(), String> {
    fn try_as<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(v.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }
    match field {
        "stream" => try_as::<StreamId>(v),
        "expected_version" => try_as::<Option<u64>>(v),
        "event_id" | "correlation_id" | "causation_id" => try_as::<Option<Uuid>>(v),
        "type" => try_as::<String>(v),
        "schema_version" => try_as::<u32>(v),
        "effective_date" => try_as::<NaiveDate>(v),
        "recorded_at" => try_as::<Option<DateTime<Utc>>>(v),
        "actor" => try_as::<Actor>(v),
        "channel" => try_as::<Option<Channel>>(v),
        "idempotency_key" => try_as::<Option<String>>(v),
        _ => Ok(()),
    }
}

/// Groups consecutive lines into append requests (see the module comment).
fn group(lines: Vec<Line>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut correlation = Uuid::nil();
    for line in lines {
        let continues = groups.last().is_some_and(|g| {
            let r = &g.request;
            let follows = match (line.raw.expected_version, r.expected) {
                (None, _) => true,
                (Some(v), ExpectedVersion::Exact(x)) => v == x + r.events.len() as u64,
                (Some(_), ExpectedVersion::Any) => false,
            };
            r.stream == line.raw.stream
                && r.idempotency_key == line.raw.idempotency_key
                && r.recorded_at == line.raw.recorded_at
                && follows
        });
        if !continues {
            correlation = line.raw.correlation_id.unwrap_or_else(Uuid::now_v7);
        }
        let raw = line.raw;
        let event = NewEvent {
            event_id: raw.event_id.unwrap_or_else(Uuid::now_v7),
            effective_date: raw.effective_date,
            actor: raw.actor,
            channel: raw.channel,
            correlation_id: raw.correlation_id.unwrap_or(correlation),
            causation_id: raw.causation_id,
            event: line.event,
        };
        match groups.last_mut() {
            Some(g) if continues => {
                g.last_line = line.number;
                g.request.events.push(event);
            }
            _ => groups.push(Group {
                first_line: line.number,
                last_line: line.number,
                request: AppendRequest {
                    stream: raw.stream,
                    expected: raw
                        .expected_version
                        .map_or(ExpectedVersion::Any, ExpectedVersion::Exact),
                    events: vec![event],
                    idempotency_key: raw.idempotency_key,
                    recorded_at: raw.recorded_at,
                },
            }),
        }
    }
    groups
}
