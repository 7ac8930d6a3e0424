//! The command line beside a running service: when the ledger is served (its
//! address recorded in the data directory, `app::served`), a read goes to the
//! service's route answering the same view, with the API token of
//! [`TOKEN_ENV`], instead of opening the store (which admits one process). The
//! view decoded is printed by the same code as a local read's, so the output is
//! the same either way; the service's clock decides "now".

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use navigo_events_schema::views::ErrorBody;
use serde::de::DeserializeOwned;

use crate::app::error::BadInput;
use crate::app::served::{self, ServeRecord, Served};

/// The environment variable holding the API token the command line reads
/// through a running service with (`navigo-ledger token create`).
pub const TOKEN_ENV: &str = "NAVIGO_TOKEN";

/// The longest a read through the service may take, connection included: the
/// service bounds a request's time itself (408), this bounds a service that
/// stopped answering.
const REMOTE_READ_SECONDS_MAX: u64 = 120;

/// The service the ledger in `data` is served by, if a live one is; a stale
/// record is said on stderr and ignored (the store is then opened as usual).
pub fn service(data: &Path) -> Option<ServeRecord> {
    match served::find(data) {
        Served::No => None,
        Served::At(r) => Some(r),
        Served::Stale(why) => {
            eprintln!("note: ignoring a stale service record: {why}");
            None
        }
    }
}

/// A command the service has no route for, refused beside it before the store
/// is touched: the message says how to run it.
pub fn not_through_service(svc: &ServeRecord, what: &str, instead: &str) -> anyhow::Error {
    // Refused (exit 1), as the store's lock refused it before the record.
    anyhow!(
        "the ledger is served at {} (pid {}), which holds its store: {what} does not go \
         through the service; {instead}",
        svc.address,
        svc.pid
    )
}

/// The query parameters of a route, in the order they are sent.
pub type RouteQuery = Vec<(&'static str, String)>;

/// The longest an administrative job through the service may take (verify,
/// check-projections, rebuild, export): the service bounds these by one job
/// of a kind at a time and an hour of its own, not by a read's bound.
const REMOTE_ADMIN_SECONDS_MAX: u64 = 3600;

/// `GET path?query` on the service with the token of [`TOKEN_ENV`], decoded
/// as the view `T` the route answers.
///
/// # Errors
/// No token (bad input), a token the service refuses or a role that may not
/// read this (refused, naming the variable and the role), the service's 400,
/// 404 and 422 as bad input with its message, any other failure.
pub async fn get<T: DeserializeOwned>(
    svc: &ServeRecord,
    path: &str,
    query: &[(&str, String)],
) -> anyhow::Result<T> {
    let call = Call {
        method: Method::GET,
        path,
        query,
        seconds_max: REMOTE_READ_SECONDS_MAX,
    };
    decode(path, &call.run(svc, None).await?)
}

/// An administrative job on the service (`GET` or `POST` `path?query`),
/// decoded as the view `T` it answers; bounded as a job, not as a read.
///
/// # Errors
/// As [`get`], and 409 (a job of the kind already running) as refused.
pub async fn job<T: DeserializeOwned>(
    svc: &ServeRecord,
    method: Method,
    path: &str,
    query: &[(&str, String)],
) -> anyhow::Result<T> {
    let call = Call {
        method,
        path,
        query,
        seconds_max: REMOTE_ADMIN_SECONDS_MAX,
    };
    decode(path, &call.run(svc, None).await?)
}

/// `GET path?query` on the service, the body written to `out` as it arrives
/// (an export): a transfer cut before its end is an error, so that the
/// caller never keeps a short body.
///
/// # Errors
/// As [`job`], a transfer cut short, a write failure.
pub async fn get_into(
    svc: &ServeRecord,
    path: &str,
    query: &[(&str, String)],
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<()> {
    let call = Call {
        method: Method::GET,
        path,
        query,
        seconds_max: REMOTE_ADMIN_SECONDS_MAX,
    };
    call.run(svc, Some(out)).await.map(|_| ())
}

/// A command sent to the service (`POST /v1/commands`, the JSON of one
/// command envelope without actor or instant: the service records the
/// token's actor and judges it at its own instant), decoded as the view `T`
/// it answers.
///
/// # Errors
/// As [`get`]; a command the service refuses (422, 409) is refused (exit 1),
/// with the service's message naming the rule or field.
pub async fn command<T: DeserializeOwned>(svc: &ServeRecord, body: String) -> anyhow::Result<T> {
    let call = Call {
        method: Method::POST,
        path: "/v1/commands",
        query: &[],
        seconds_max: REMOTE_READ_SECONDS_MAX,
    };
    decode(call.path, &call.send(svc, Some(body), None).await?)
}

/// A command line of `apply` sent to the service: the status and the body it
/// answers (201 and the events, or the error naming the rule or field).
///
/// # Errors
/// No token, a token the service does not know (401) or whose role may not
/// submit commands at all (403 without a field), a failure to reach it.
pub async fn command_answer(
    svc: &ServeRecord,
    body: String,
) -> anyhow::Result<(StatusCode, ErrorOr)> {
    let call = Call {
        method: Method::POST,
        path: "/v1/commands",
        query: &[],
        seconds_max: REMOTE_READ_SECONDS_MAX,
    };
    let (status, answer) = call.answer(svc, Some(body), None).await?;
    if status.is_success() {
        return Ok((status, ErrorOr::Answer(answer)));
    }
    // An error naming the command's field or rule, or a conflict, is the
    // line's answer; any other (the token, the role) stops the run.
    match serde_json::from_slice::<ErrorBody>(&answer) {
        Ok(e)
            if status == StatusCode::CONFLICT
                || (status != StatusCode::UNAUTHORIZED
                    && (e.field.is_some() || e.rule.is_some())) =>
        {
            Ok((status, ErrorOr::Error(e)))
        }
        _ => Err(refusal(svc, status, &answer)),
    }
}

/// A service's answer to a command: its body, or its error.
pub enum ErrorOr {
    /// The body of a success.
    Answer(Bytes),
    /// The error of a refusal.
    Error(ErrorBody),
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> anyhow::Result<T> {
    serde_json::from_slice(body)
        .with_context(|| format!("the service's answer to {path} is not its view"))
}

/// One request to the service.
struct Call<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, String)],
    seconds_max: u64,
}

/// A JSON body sent with a request (a command), if any.
type JsonBody = Option<String>;

impl Call<'_> {
    /// Sends the request with the token of [`TOKEN_ENV`]: the body of a 200
    /// (written to `out` when given, else returned), or the refusal.
    async fn run(
        &self,
        svc: &ServeRecord,
        out: Option<&mut (dyn std::io::Write + Send)>,
    ) -> anyhow::Result<Bytes> {
        self.send(svc, None, out).await
    }

    async fn send(
        &self,
        svc: &ServeRecord,
        body: JsonBody,
        out: Option<&mut (dyn std::io::Write + Send)>,
    ) -> anyhow::Result<Bytes> {
        let (status, body) = self.answer(svc, body, out).await?;
        if status.is_success() {
            return Ok(body);
        }
        // A command the rules refuse (422) or that conflicts (409) is refused,
        // as the local command's refusal is; a read's 422 is bad input.
        if self.method == Method::POST
            && self.path == "/v1/commands"
            && matches!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
            )
        {
            return Err(anyhow!(
                "the service at {} refused the command: {}",
                svc.address,
                said(&body)
            ));
        }
        Err(refusal(svc, status, &body))
    }

    /// Sends the request with the token of [`TOKEN_ENV`]: the status and the
    /// body, whatever the status.
    async fn answer(
        &self,
        svc: &ServeRecord,
        body: JsonBody,
        out: Option<&mut (dyn std::io::Write + Send)>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let token = std::env::var(TOKEN_ENV).unwrap_or_default();
        if token.trim().is_empty() {
            return Err(BadInput(format!(
                "the ledger is served at {} (pid {}), which holds its store: set {TOKEN_ENV} to \
                 an API token (`navigo-ledger token create --role agent`, or auditor; the role \
                 each command needs is in docs/roles.md) to work through the service",
                svc.address, svc.pid
            ))
            .into());
        }
        let target = if self.query.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}?{}", self.path, serde_urlencoded::to_string(self.query)?)
        };
        let bound = Duration::from_secs(self.seconds_max);
        let (method, path) = (&self.method, self.path);
        tokio::time::timeout(
            bound,
            exchange(svc, (method.clone(), &target, body), token.trim(), out),
        )
        .await
        .map_err(|_| {
            anyhow!(
                "the service at {} did not answer {method} {path} within {} s",
                svc.address,
                self.seconds_max
            )
        })?
    }
}

/// One request over a fresh connection: the status and the body (the body of
/// a 200 written to `out` when given, and then empty).
async fn exchange(
    svc: &ServeRecord,
    (method, target, body): (Method, &str, JsonBody),
    token: &str,
    out: Option<&mut (dyn std::io::Write + Send)>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let to = served::reachable(svc.address);
    let stream = tokio::net::TcpStream::connect(to)
        .await
        .with_context(|| format!("connecting to the service at {to}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("the HTTP handshake with the service")?;
    let driver = tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .header(HOST, to.to_string())
        .header(ACCEPT, "application/json")
        .header(AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        req = req.header(CONTENT_TYPE, "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let resp = sender
        .send_request(req)
        .await
        .context("the request to the service")?;
    let status = resp.status();
    let mut body = resp.into_body();
    let answer = match out {
        Some(out) if status == StatusCode::OK => {
            while let Some(frame) = body.frame().await {
                let frame = frame.context("the service's answer was cut short")?;
                if let Some(chunk) = frame.data_ref() {
                    out.write_all(chunk)?;
                }
            }
            Bytes::new()
        }
        _ => body
            .collect()
            .await
            .context("the service's answer")?
            .to_bytes(),
    };
    driver.abort();
    Ok((status, answer))
}

/// What an error body says: its field and message.
fn said(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body).map_or_else(
        |_| String::from_utf8_lossy(body).trim().to_owned(),
        |e| match e.field {
            Some(f) => format!("{f}: {}", e.message),
            None => e.message,
        },
    )
}

/// The error of an answer that is not the view: what the service said, with
/// the exit code the local read has for the same cause.
fn refusal(svc: &ServeRecord, status: StatusCode, body: &[u8]) -> anyhow::Error {
    let said = said(body);
    match status {
        StatusCode::UNAUTHORIZED => anyhow!(
            "the service at {} refused the token of {TOKEN_ENV} (unknown, revoked or ended): \
             {said}",
            svc.address
        ),
        StatusCode::FORBIDDEN => anyhow!(
            "the service at {} refused the token of {TOKEN_ENV}: {said}; use a token of a role \
             that may (docs/roles.md)",
            svc.address
        ),
        // An unknown id and a malformed or out-of-bounds argument are bad input
        // locally too, with the same message.
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            BadInput(said).into()
        }
        StatusCode::CONFLICT => anyhow!("the service at {} is busy: {said}", svc.address),
        other => anyhow!("the service at {} answered {other}: {said}", svc.address),
    }
}
