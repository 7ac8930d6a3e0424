//! `POST /v1/commands`: the one write path of the service. The server decides
//! who acts and when: the actor is the authenticated principal, the request is
//! judged at the server's instant, and the authorization matrix of
//! [`crate::http::authz`] decides what the principal may submit.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use navigo_events_schema::types::Actor;

use navigo_events_schema::{from_json_str, CommandEnvelope, FieldError};
use navigo_ledger_core::ClockMode;
use serde_json::Value;

use crate::app::auth::Role;
use crate::app::commands::execute;
use crate::http::authz;
use crate::http::caller::{require, Caller, Principal};
use crate::http::error::ApiError;
use crate::http::judging::{answer_outcomes, at, check_owned};
use crate::http::state::{
    AppState, BATCH_COMMANDS_MAX, IDEMPOTENCY_KEYS_MAX, IDEMPOTENCY_KEY_CHARS_MAX,
    REQUEST_SKEW_SECONDS_MAX,
};

/// `If-Match: "<version>"` (an ETag of a contract's state; a weak `W/` prefix
/// is accepted, `*` is not: it would expect nothing).
fn parse_if_match(v: &axum::http::HeaderValue) -> Result<u64, ApiError> {
    let text = v.to_str().unwrap_or("");
    let tag = text.trim().trim_start_matches("W/");
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad(
                "If-Match",
                format!("{text:?} is not an ETag of a contract's state, e.g. \"12\""),
            )
        })
}

/// A number with no fractional part written as a float (`5.0`) made the integer
/// it is: JSON Schema counts it as an integer, so a client its schema accepts
/// may send it, where serde's integer fields would refuse it.
fn integral_floats_as_integers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Exact conversions only: whole, and well within the integers.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0 {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *v = Value::from(i);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(m) => m.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

pub fn parse_command(item: &Value, index: Option<usize>) -> Result<CommandEnvelope, ApiError> {
    let mut item = item.clone();
    integral_floats_as_integers(&mut item);
    let text = item.to_string();
    let at = |e: FieldError| {
        let field = e.field.unwrap_or_else(|| "body".to_owned());
        match index {
            Some(i) => format!("[{i}].{field}"),
            None => field,
        }
    };
    // A body that is not a command of the format is 400; a command of the
    // format that no request may carry (a bound, a contradiction) is judged
    // unacceptable, 422, as the schema cannot say it.
    let command: CommandEnvelope = from_json_str(&text).map_err(|e| ApiError::BadRequest {
        message: e.message.clone(),
        field: at(e),
    })?;
    command.check().map_err(|e| ApiError::Invalid {
        message: e.message.clone(),
        field: at(e),
    })?;
    Ok(command)
}

/// The roles that submit commands; auditors and partners submit none.
const SUBMITTERS: &[Role] = &[Role::Agent, Role::System, Role::Reference, Role::Customer];

/// The scope of a credential's header keys: 8 hex digits of its name's hash, so
/// that two credentials' keys never meet and the key keeps a fixed length
/// whatever the token's name.
fn key_scope(name: &str) -> String {
    blake3::hash(name.as_bytes()).to_hex()[..8].to_owned()
}

/// The `actor` of a body: absent (the credential's is used) or the credential's
/// own; any other actor is refused, naming the field, so that no one records
/// in another's name.
fn check_actor(
    item: &mut serde_json::Map<String, Value>,
    expected: &Actor,
    index: Option<usize>,
) -> Result<(), ApiError> {
    let want = serde_json::to_value(expected).map_err(|e| ApiError::Internal(e.to_string()))?;
    match item.get("actor") {
        None => {}
        Some(given) if *given == want => {}
        Some(_) => {
            return Err(ApiError::ForbiddenField {
                field: at(index, "actor"),
                message: format!(
                    "the actor of a command is the credential that sends it ({want}); leave \
                     actor out, or send that one"
                ),
            })
        }
    }
    item.insert("actor".into(), want);
    Ok(())
}

/// The `request_at` of a body: absent, or within [`REQUEST_SKEW_SECONDS_MAX`] of
/// the server's instant; the command is judged at the server's instant either
/// way, so a client cannot backdate nor post-date a request.
fn check_request_at(
    item: &mut serde_json::Map<String, Value>,
    now: DateTime<Utc>,
    index: Option<usize>,
) -> Result<(), ApiError> {
    if let Some(given) = item.get("request_at") {
        let field = at(index, "request_at");
        let t = given
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::bad(&field, "an RFC 3339 instant, or nothing"))?;
        let skew = (t - now).num_seconds().abs();
        if skew > REQUEST_SKEW_SECONDS_MAX {
            return Err(ApiError::bad(
                &field,
                format!(
                    "{} is {skew} s from the server's instant {}: every command is judged at the \
                     server's instant, and request_at may differ from it by at most \
                     request_skew_seconds_max ({REQUEST_SKEW_SECONDS_MAX} s); leave it out. \
                     History is backfilled with `navigo-ledger apply`, not over HTTP",
                    t.to_rfc3339(),
                    now.to_rfc3339()
                ),
            ));
        }
    }
    item.insert("request_at".into(), Value::String(now.to_rfc3339()));
    Ok(())
}

/// The `channel` of a body: one the role submits through
/// ([`authz::channels_of`]); a customer's absent channel is `online`.
fn check_channel(
    item: &mut serde_json::Map<String, Value>,
    role: Role,
    index: Option<usize>,
) -> Result<(), ApiError> {
    let allowed = authz::channels_of(role);
    let names: Vec<Value> = allowed
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    match item.get("channel") {
        None | Some(Value::Null) if role == Role::Customer => {
            item.insert("channel".into(), names[0].clone());
        }
        None | Some(Value::Null) => {}
        Some(given) if names.contains(given) => {}
        Some(given) => {
            let channels: Vec<String> = names.iter().map(Value::to_string).collect();
            return Err(ApiError::ForbiddenField {
                field: at(index, "channel"),
                message: if channels.is_empty() {
                    format!(
                        "the role {} submits through no channel; leave channel out",
                        role.as_str()
                    )
                } else {
                    format!(
                        "the role {} may not submit through {given}; use {}",
                        role.as_str(),
                        channels.join(" or ")
                    )
                },
            });
        }
    }
    Ok(())
}

/// One command of a body, with the server's actor, instant and channel rules
/// applied, parsed, and allowed for the principal's role by the matrix.
fn prepare(
    item: &Value,
    p: &Principal,
    now: DateTime<Utc>,
    index: Option<usize>,
) -> Result<CommandEnvelope, ApiError> {
    let Value::Object(m) = item else {
        return Err(ApiError::bad(
            &at(index, "body"),
            "a command envelope (a JSON object)",
        ));
    };
    let mut m = m.clone();
    let actor = authz::actor_of(p.role, &p.name, p.person).ok_or_else(|| {
        ApiError::Forbidden(format!("the role {} submits nothing", p.role.as_str()))
    })?;
    check_actor(&mut m, &actor, index)?;
    check_request_at(&mut m, now, index)?;
    check_channel(&mut m, p.role, index)?;
    let cmd = parse_command(&Value::Object(m), index)?;
    if !authz::permit(p.role, &cmd.command) {
        return Err(ApiError::ForbiddenField {
            field: at(index, "command.type"),
            message: format!(
                "the role {} may not submit {} (see the authorization matrix in docs/roles.md)",
                p.role.as_str(),
                authz::command_type(&cmd.command)
            ),
        });
    }
    Ok(cmd)
}

/// The `Idempotency-Key` header, if any.
fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let bad = || {
        ApiError::bad(
            "Idempotency-Key",
            format!("1 to {IDEMPOTENCY_KEY_CHARS_MAX} visible ASCII characters"),
        )
    };
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    // Too long is refused whatever it holds, as the document's maxLength says;
    // an empty or blank header is no header (some clients send optional
    // headers empty), which the document allows by having no minLength.
    if v.len() > IDEMPOTENCY_KEY_CHARS_MAX {
        return Err(bad());
    }
    if v.as_bytes().trim_ascii().is_empty() {
        return Ok(None);
    }
    v.to_str().ok().map(|s| Some(s.to_owned())).ok_or_else(bad)
}

/// The commands of a body: one envelope, or a batch of 1 to
/// [`BATCH_COMMANDS_MAX`]; whether it was a batch.
fn parse_body(
    body: &Bytes,
    p: &Principal,
    now: DateTime<Utc>,
) -> Result<(Vec<CommandEnvelope>, bool), ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad("body", e.to_string()))?;
    match &v {
        Value::Array(items) => {
            if items.is_empty() || items.len() > BATCH_COMMANDS_MAX {
                return Err(ApiError::bad(
                    "body",
                    format!(
                        "{} commands: a batch holds 1 to batch_commands_max ({BATCH_COMMANDS_MAX})",
                        items.len()
                    ),
                ));
            }
            let cmds = items
                .iter()
                .enumerate()
                .map(|(i, it)| prepare(it, p, now, Some(i)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((cmds, true))
        }
        other => Ok((vec![prepare(other, p, now, None)?], false)),
    }
}

/// Applies `If-Match` to the one command of a non-batch body.
fn apply_if_match(
    cmds: &mut [CommandEnvelope],
    batch: bool,
    if_match: Option<u64>,
) -> Result<(), ApiError> {
    let Some(v) = if_match else {
        return Ok(());
    };
    // If-Match names one stream version: it fits one command, not a batch (each
    // command of a batch carries its own expected_version). A batch cannot meet
    // it: a conflict of preconditions, like a disagreeing expected_version.
    if batch {
        return Err(ApiError::Conflict(
            "If-Match applies to a single command; give each command of a batch its own \
             expected_version"
                .into(),
        ));
    }
    match cmds[0].expected_version {
        // Two expectations of one stream that disagree cannot both hold: a
        // conflict of preconditions (409), not a malformed request.
        Some(e) if e != v => Err(ApiError::Conflict(format!(
            "If-Match expects version {v}, the body's expected_version {e}: send one, or \
             the same in both"
        ))),
        _ => {
            cmds[0].expected_version = Some(v);
            Ok(())
        }
    }
}

/// POST /v1/commands: one command envelope, or an array of at most
/// [`BATCH_COMMANDS_MAX`]. Every command of a batch is prepared and authorised
/// before any is judged (a malformed or forbidden one rejects the whole batch,
/// nothing appended); then each is judged on its own, like `navigo-ledger apply`,
/// and the answer lists each outcome. An `Idempotency-Key` header makes a retry
/// of the same body return the first answer without judging again, and the
/// same key with another body a 409 naming the key.
pub async fn commands(
    State(st): State<Arc<AppState>>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = require(&c, SUBMITTERS, "submit commands")?;
    let key = idempotency_header(&headers)?.map(|k| (format!("{}:{k}", key_scope(&p.name)), k));
    let if_match = match headers
        .get(axum::http::header::IF_MATCH)
        .filter(|v| !v.as_bytes().trim_ascii().is_empty())
    {
        Some(v) => Some(parse_if_match(v)?),
        None => None,
    };
    let body_hash = blake3::hash(&body);
    if let Some((scoped, k)) = &key {
        if let Some((h, status, answer)) = st.idempotency.lock().await.get(scoped) {
            if *h != body_hash {
                return Err(ApiError::Conflict(format!(
                    "Idempotency-Key {k:?} was used for a different request; use a new key"
                )));
            }
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            return Ok((status, Json(answer.clone())).into_response());
        }
    }
    let now = st.clock.now();
    let (mut cmds, batch) = parse_body(&body, &p, now)?;
    apply_if_match(&mut cmds, batch, if_match)?;
    for (i, c) in cmds.iter_mut().enumerate() {
        // The header's key, scoped by the credential so that two callers'
        // keys never meet; a body key is the ledger's own.
        if let (Some((scoped, _)), None) = (&key, &c.idempotency_key) {
            c.idempotency_key = Some(format!("http:{scoped}:{i}"));
        }
    }
    let (status, answer) = match &st.pipeline {
        Some(queue) => crate::http::command_queue::submit(queue, p.person, cmds, batch).await?,
        None => judge(&st, &p, &cmds, batch).await?,
    };
    st.appended.notify_waiters();
    if let Some((scoped, _)) = key {
        let mut map = st.idempotency.lock().await;
        if map.len() >= IDEMPOTENCY_KEYS_MAX {
            // Decision: the in-memory answers are bounded; accepted commands stay
            // idempotent beyond the bound through the ledger's own keys.
            map.clear();
        }
        map.insert(scoped, (body_hash, status.as_u16(), answer.clone()));
    }
    Ok((status, Json(answer)).into_response())
}

/// Judges the commands under the writer's lock, one at a time (the path of a
/// store other services share: PostgreSQL, under its command lock): a
/// customer's are first checked to be on their own contracts (under the same
/// lock, so that the check and the judgement read one state); then each is
/// executed at the server's instant.
async fn judge(
    st: &AppState,
    p: &Principal,
    cmds: &[CommandEnvelope],
    batch: bool,
) -> Result<(StatusCode, Value), ApiError> {
    let mut ledger = st.ledger.lock().await;
    check_owned(&mut ledger, p.person, cmds, batch).await?;
    let mut outcomes = Vec::with_capacity(cmds.len());
    for c in cmds {
        outcomes.push(execute(&mut ledger, c, ClockMode::Service).await);
    }
    let head = ledger.world().position;
    drop(ledger);
    st.forget_erased(
        outcomes
            .iter()
            .flatten()
            .flat_map(|a| &a.events)
            .filter(|e| e.event_type == "PersonalDataErased")
            .map(|e| e.stream.id)
            .collect(),
    )
    .await;
    st.metrics
        .head_position
        .set(crate::http::metrics::gauge(head));
    answer_outcomes(st, outcomes, batch)
}
