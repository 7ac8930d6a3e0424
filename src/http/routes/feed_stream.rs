//! `GET /v1/feed` with `Accept: text/event-stream`: the log pushed as
//! server-sent events (axum's `sse`), from a position, for as long as the
//! reader stays connected. Each event is one stored envelope (as `history
//! --json` prints it), its SSE id its position; a reader that reconnects with
//! `Last-Event-ID` resumes at the next position, so that no event is missed
//! or given twice across a disconnect.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use navigo_events_schema::Envelope;
use navigo_store::{next_envelope, EventStore};

use crate::http::error::ApiError;
use crate::http::state::{AppState, FEED_PAGE_MAX};

/// The header a reconnecting reader names the last event it received with.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// Whether the reader asks for the stream (`Accept: text/event-stream`).
pub fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// The first position streamed: after `Last-Event-ID` when the reader
/// reconnects, else `from` (1 by default).
///
/// # Errors
/// 400 naming `Last-Event-ID` or `from` when it is not a position, or a
/// parameter the stream does not take.
fn start(headers: &HeaderMap, q: &HashMap<String, String>) -> Result<u64, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "from") {
        return Err(ApiError::bad(
            k,
            "unknown parameter of the stream; use from (or the Last-Event-ID header)",
        ));
    }
    let position = |field: &str, s: &str| {
        s.trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::bad(
                    field,
                    format!(
                        "{s:?} is not a position (a whole number from 0 to {})",
                        i64::MAX
                    ),
                )
            })
    };
    if let Some(v) = headers.get(LAST_EVENT_ID) {
        let text = v.to_str().unwrap_or("");
        return Ok(position("Last-Event-ID", text)?.saturating_add(1));
    }
    match q.get("from") {
        Some(s) => Ok(position("from", s)?.max(1)),
        None => Ok(1),
    }
}

/// Where a stream stands: the next position to send, and events read but not
/// sent yet.
struct Cursor {
    st: Arc<AppState>,
    next: u64,
    pending: VecDeque<Envelope>,
}

/// Up to [`FEED_PAGE_MAX`] events from `from`, read under the writer's lock as
/// the pull feed reads them.
async fn read_from(st: &AppState, from: u64) -> Result<Vec<Envelope>, ApiError> {
    let ledger = st.ledger.lock().await;
    let mut out = Vec::new();
    if from > ledger.world().position {
        return Ok(out);
    }
    let mut s = ledger.store().read_all(from);
    while out.len() < FEED_PAGE_MAX {
        match next_envelope(&mut s).await {
            Some(e) => out.push(e?),
            None => break,
        }
    }
    Ok(out)
}

/// The SSE event of an envelope: its position as the id.
fn event_of(e: &Envelope) -> Event {
    let data = serde_json::to_string(e).unwrap_or_default();
    Event::default()
        .id(e.position.to_string())
        .event("envelope")
        .data(data)
}

/// The next event of the stream, waiting for an append when it has sent
/// everything; `None` (the stream ends, the reader resumes with
/// `Last-Event-ID`) on a read failure or when the service stops.
async fn next_event(mut c: Cursor) -> Option<(Result<Event, Infallible>, Cursor)> {
    loop {
        if let Some(e) = c.pending.pop_front() {
            return Some((Ok(event_of(&e)), c));
        }
        // Registered before reading, so that an append in between wakes it.
        let appended = c.st.appended.notified();
        match read_from(&c.st, c.next).await {
            Ok(events) if !events.is_empty() => {
                c.next = events.last().map_or(c.next, |e| e.position + 1);
                c.pending.extend(events);
            }
            Ok(_) => {
                let mut closing = c.st.closing.subscribe();
                tokio::select! {
                    () = appended => {}
                    _ = closing.wait_for(|c| *c) => return None,
                }
            }
            Err(e) => {
                tracing::error!(error = %e.body().message, "feed stream: read failed; ended");
                return None;
            }
        }
    }
}

/// The stream of the feed from the reader's position.
///
/// # Errors
/// 400 for a malformed position or parameter.
pub fn stream(
    st: Arc<AppState>,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let next = start(headers, q)?;
    let cursor = Cursor {
        st,
        next,
        pending: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(cursor, next_event);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
