//! Administrative work on the running service: the materialized projections
//! checked against a fresh fold of the log (`GET /v1/projections/check`),
//! rebuilt (`POST /v1/projections/rebuild`), and the log exported as JSON
//! lines (`GET /v1/export`, streamed). Each reads the store detached from the
//! ledger's lock (sled reads are concurrent with the writer) on a blocking
//! thread, so that commands and reads are answered meanwhile; one job of a
//! kind runs at a time ([`crate::http::admin_jobs::AdminJobs`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use navigo_events_schema::Envelope;
use navigo_replay::materialize::check;
use navigo_rules::calendar::paris_date;
use navigo_store::StoreError;
use navigo_store_sled::SledStore;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::app::admin::{check_view, rebuild_summary};
use crate::app::auth::Role;
use crate::app::error::BadInput;
use crate::app::export::{export_detached, window};
use crate::app::keystore::KeyStore;
use crate::app::sealing;
use crate::app::store::AnyStore;
use crate::http::answer;
use crate::http::caller::{require, Caller};
use crate::http::error::ApiError;
use crate::http::follower;
use crate::http::state::AppState;

/// Bytes of an export gathered before they are sent as one chunk.
const EXPORT_CHUNK_BYTES: usize = 64 * 1024;
/// Chunks of an export produced ahead of the client: a slow reader holds up
/// the job's thread, never the service's memory.
const EXPORT_CHUNKS_AHEAD_MAX: usize = 8;
/// How often a job held by the test hook looks whether it may go on.
const HOLD_POLL_MS: u64 = 10;

/// The test hook of `serve --admin-hold-file`: a job, once started, says so
/// in a file beside it (`.held`) and waits while the file exists, so that a
/// test sees it running without timing it.
fn hold(file: Option<&PathBuf>) {
    let Some(file) = file.filter(|f| f.exists()) else {
        return;
    };
    let held = file.with_extension("held");
    let _ = std::fs::write(&held, "");
    while file.exists() {
        std::thread::sleep(Duration::from_millis(HOLD_POLL_MS));
    }
    let _ = std::fs::remove_file(held);
}

/// Refuses any query parameter but `allowed`.
fn only(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) if allowed.is_empty() => Err(ApiError::bad(k, "unknown query parameter")),
        Some(k) => Err(ApiError::bad(
            k,
            format!("unknown query parameter; use {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `GET /v1/projections/check` (auditor, system): the materialized
/// projections against the views computed afresh from the log, with one state
/// hash per projection, as `navigo-ledger check-projections --json` prints it.
///
/// Decision: the rows are first brought to the head (a step of the
/// follower), then compared with the log through the position they cover,
/// the follower held meanwhile; what is appended during the check is its
/// next step, not a difference. So `head` is the position compared through,
/// and a live service under load is not reported as lagging.
pub async fn check_projections(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::Auditor, Role::System], "check the projections")?;
    only(&q, &[])?;
    let turn = st.admin_jobs.start("projection check")?;
    let writing = st.projector.writer.clone().lock_owned().await;
    follower::once(&st).await?;
    let (read, keys) = detached_read(&st, "check-projections").await?;
    let db = st.projector.db();
    let hold_file = st.admin_hold_file.clone();
    let report = tokio::task::spawn_blocking(move || {
        let _kept = (turn, writing);
        hold(hold_file.as_ref());
        let through = db.current().map_err(internal)?.map_or(0, |g| g.checkpoint);
        let mut events = read().map_err(ApiError::from)?;
        sealing::open_all(keys.as_deref(), &mut events)?;
        events.retain(|e| e.position <= through);
        check(&db, &events).map_err(internal)
    })
    .await
    .map_err(internal)??;
    answer::json(&check_view(&report))
}

/// `POST /v1/projections/rebuild` (system): replays the whole log into new
/// projection trees on the service's today (Paris) and swaps them in, as
/// `navigo-ledger rebuild --json` prints it; the follower waits meanwhile and
/// then catches up from the new generation.
///
/// Decision: `at`, if given, must be the service's today. The service keeps
/// its projections on today and rolls them at midnight; a generation on
/// another date would be replaced by its next catch-up, so such a rebuild is
/// refused (400 naming `at`), saying to run it with the service stopped.
pub async fn rebuild(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require(&p, &[Role::System], "rebuild the projections")?;
    only(&q, &["at"])?;
    let today = paris_date(st.clock.now());
    if let Some(at) = q.get("at") {
        if at.trim() != today.to_string() {
            return Err(ApiError::bad(
                "at",
                format!(
                    "{at:?}: the service keeps its projections on its today ({today}) and would \
                     replace a generation on another date at its next catch-up; leave at out, \
                     or stop the service and run `navigo-ledger rebuild --at {at}`"
                ),
            ));
        }
    }
    let turn = st.admin_jobs.start("rebuild")?;
    let writing = st.projector.writer.clone().lock_owned().await;
    let (read, keys) = detached_read(&st, "rebuild").await?;
    let db = st.projector.db();
    let hold_file = st.admin_hold_file.clone();
    let (g, events, took) = tokio::task::spawn_blocking(move || {
        let _kept = (turn, writing);
        let started = Instant::now();
        hold(hold_file.as_ref());
        let mut events = read().map_err(ApiError::from)?;
        sealing::open_all(keys.as_deref(), &mut events)?;
        let g = db.rebuild(&events, today, &mut |_| {}).map_err(internal)?;
        Ok::<_, ApiError>((g, events.len(), started.elapsed()))
    })
    .await
    .map_err(internal)??;
    st.projector.reached(g.clone());
    answer::json(&rebuild_summary(&g, events, took))
}

/// The window of an export's query: `from` and `to`, positions.
fn export_window(q: &HashMap<String, String>) -> Result<(Option<u64>, Option<u64>), ApiError> {
    only(q, &["from", "to"])?;
    let position = |name: &str| {
        q.get(name)
            .map(|s| {
                s.trim().parse::<u64>().map_err(|e| {
                    ApiError::bad(name, format!("{s:?} is not a position (1, 2, …): {e}"))
                })
            })
            .transpose()
    };
    Ok((position("from")?, position("to")?))
}

/// `GET /v1/export?from=&to=` (auditor): the log, or a window of it, as the
/// JSON lines `navigo-ledger export` writes, byte for byte, streamed as each
/// record is read and checked. The window is fixed at the head when the
/// request arrives. A window outside the log is 400 before anything is sent;
/// a record that does not verify ends the stream without its last chunk
/// (the client sees a broken transfer, never a short export taken whole).
pub async fn export_log(
    State(st): State<Arc<AppState>>,
    Extension(p): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    require(&p, &[Role::Auditor], "export the log")?;
    let (from, to) = export_window(&q)?;
    let log = sled_of(st.ledger.lock().await.store(), "export")?.export_reader();
    window(from, to, log.head_position()).map_err(|e| match e.downcast::<BadInput>() {
        Ok(b) => ApiError::bad(
            if b.0.starts_with("--to") {
                "to"
            } else {
                "from"
            },
            b.0,
        ),
        Err(e) => internal(format!("{e:#}")),
    })?;
    let turn = st.admin_jobs.start("export")?;
    let hold_file = st.admin_hold_file.clone();
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_CHUNKS_AHEAD_MAX);
    tokio::task::spawn_blocking(move || {
        let _kept = turn;
        hold(hold_file.as_ref());
        let mut out = Chunks {
            tx: tx.clone(),
            buf: Vec::with_capacity(EXPORT_CHUNK_BYTES),
        };
        let done = export_detached(&log, from, to, &mut out).and_then(|_| Ok(out.flush()?));
        if let Err(e) = done {
            tracing::error!(error = %format!("{e:#}"), "export stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other(format!("{e:#}"))));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response())
}

/// What an export writes, sent to the response in chunks.
struct Chunks {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= EXPORT_CHUNK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        // The client went away: the export stops instead of reading on.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

/// The sled store a job reads detached from the ledger's lock.
///
/// Decision: these jobs read sled's log on a blocking thread while the
/// service keeps the store; a PostgreSQL ledger is read by the command line
/// itself (`--store`), which needs no lock of the service's, so the service
/// refuses the job (409) and says so.
/// The whole log's read off the ledger's lock, with the key store its
/// personal data is opened with once read (sled's detached read bypasses
/// the store's opening).
async fn detached_read(
    st: &AppState,
    job: &str,
) -> Result<(DetachedRead, Option<Arc<KeyStore>>), ApiError> {
    let ledger = st.ledger.lock().await;
    let read = sled_of(ledger.store(), job)?.detached_read_log(1);
    Ok((Box::new(read), ledger.store().keys().cloned()))
}

type DetachedRead = Box<dyn FnOnce() -> Result<Vec<Envelope>, StoreError> + Send>;

fn sled_of<'a>(store: &'a AnyStore, job: &str) -> Result<&'a SledStore, ApiError> {
    store.as_sled().ok_or_else(|| {
        ApiError::Conflict(format!(
            "the service runs {job} on a ledger in a data directory; this one is in PostgreSQL: \
             run `navigo-ledger {job} --store …` from another directory, which reads the \
             database beside the service"
        ))
    })
}
