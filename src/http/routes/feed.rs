//! `GET /v1/feed`: the log from a position, with a long-poll.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use navigo_events_schema::views::FeedPage;
use navigo_store::{next_envelope, EventStore};

use crate::app::auth::Role;
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::routes::feed_stream;
use crate::http::state::{AppState, FEED_PAGE_MAX, FEED_WAIT_MS_MAX};

/// A whole-number query parameter, at most `i64::MAX` (the `int64` of the
/// OpenAPI document).
fn query_u64(q: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::bad(
                    name,
                    format!("{s:?} is not a whole number from 0 to {}", i64::MAX),
                )
            }),
    }
}

/// GET /v1/feed?from=P&limit=N&wait_ms=W: the events from position P (at most
/// N, bounded by [`FEED_PAGE_MAX`]), with `next_from` to resume from. When there
/// is nothing yet, waits up to W ms (long-poll) for an append.
pub async fn feed(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Agent, Role::Auditor, Role::System],
        "read the feed",
    )?;
    // The same feed pushed (server-sent events), for the same roles.
    if feed_stream::wants_stream(&headers) {
        return feed_stream::stream(st, &headers, &q);
    }
    if let Some(k) = q
        .keys()
        .find(|k| !["from", "limit", "wait_ms"].contains(&k.as_str()))
    {
        return Err(ApiError::bad(
            k,
            "unknown query parameter; use from, limit, wait_ms",
        ));
    }
    let from = query_u64(&q, "from", 1)?.max(1);
    let limit = query_u64(&q, "limit", FEED_PAGE_MAX as u64)?;
    if limit == 0 || limit > FEED_PAGE_MAX as u64 {
        return Err(ApiError::bad(
            "limit",
            format!("1 to feed_page_max ({FEED_PAGE_MAX})"),
        ));
    }
    let wait = query_u64(&q, "wait_ms", 0)?;
    if wait > FEED_WAIT_MS_MAX {
        return Err(ApiError::bad(
            "wait_ms",
            format!("at most feed_wait_ms_max ({FEED_WAIT_MS_MAX})"),
        ));
    }
    let deadline = Instant::now() + Duration::from_millis(wait);
    loop {
        // Registered before reading so that an append in between still wakes us.
        let notified = st.appended.notified();
        let (events, head) = {
            let ledger = st.ledger.lock().await;
            let head = ledger.world().position;
            let mut out = Vec::new();
            if from <= head {
                let mut s = ledger.store().read_all(from);
                while out.len() < limit as usize {
                    match next_envelope(&mut s).await {
                        Some(e) => out.push(e?),
                        None => break,
                    }
                }
            }
            (out, head)
        };
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            let next_from = events.last().map_or(from, |e| e.position + 1);
            return Ok(answer::json(&FeedPage {
                events,
                next_from,
                head_position: head,
            })?
            .into_response());
        }
        let _ = tokio::time::timeout(deadline - now, notified).await;
    }
}
