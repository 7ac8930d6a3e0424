//! `navigo-ledger serve --listen ADDR`: the HTTP service (see `http`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use navigo_store::{Clock, ManualClock};

use super::projector::Projector;
use super::router::router;
use super::state::{AppState, REQUEST_TIMEOUT, VERIFY_CONCURRENT_MAX};
use super::{follower, pipeline};
use super::{metrics, sessions};
use crate::app::auth;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_clocked_ledger_with;
use crate::app::place::Place;
use crate::app::served;
use navigo_store_postgres::projections::SqlProjections;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on (port 0: any free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// A fixed "now" (RFC 3339) instead of the system clock: for tests only.
    #[arg(long, hide = true, value_name = "INSTANT")]
    fixed_now: Option<String>,
    /// The bound of a request's time in milliseconds (408 beyond), instead of
    /// the service's: for tests only.
    #[arg(long, hide = true, value_name = "MS")]
    request_timeout_ms: Option<u64>,
    /// The most contract and person states the ledger holds between requests,
    /// instead of the ledger's bound: for tests only.
    #[arg(long, hide = true, value_name = "N")]
    state_cache_entries_max: Option<usize>,
    /// An administrative job, once started, waits while this file exists:
    /// for tests only (a job seen running, without timing it).
    #[arg(long, hide = true, value_name = "FILE")]
    admin_hold_file: Option<PathBuf>,
    /// The id generator's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The key that signs checkpoints (`key create`): with it the service
    /// signs and keeps one every --checkpoint-interval-seconds while the log
    /// moves, and the system role may ask for one (`POST /v1/checkpoints`).
    #[arg(long, value_name = "FILE")]
    checkpoint_key: Option<PathBuf>,
    /// Seconds between two periodic checkpoints.
    #[arg(long, default_value_t = CHECKPOINT_INTERVAL_SECONDS, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_interval_seconds: u64,
}

/// Seconds between two periodic checkpoints of `serve` when none is given: an
/// hour, so that a rewritten or cut tail is caught against a checkpoint at
/// most an hour old.
pub const CHECKPOINT_INTERVAL_SECONDS: u64 = 3600;

/// Serves until interrupted.
///
/// # Errors
/// Bad arguments, not a ledger, the address in use.
pub async fn run(data: &Place, args: Args) -> anyhow::Result<ExitCode> {
    // Structured logs on stderr (RUST_LOG, default info): one line per request
    // with its id, route template, role, token name, status and latency; never a
    // header, a body or a path id, so no secret and no personal data.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let clock: Arc<dyn Clock> = match &args.fixed_now {
        Some(s) => Arc::new(ManualClock::new(fixed_now(s)?)),
        None => Arc::new(SystemClock),
    };
    let checkpoint_signer = match &args.checkpoint_key {
        Some(f) => Some(Arc::new(crate::app::keys::signer(f)?)),
        None => None,
    };
    // The service's clock judges every command: nothing is recorded after it.
    let ledger =
        open_clocked_ledger_with(data, args.seed, clock.clone(), args.state_cache_entries_max)
            .await?;
    // The service keeps the materialized projections itself: a `follow` of the
    // same ledger would hold their database.
    let mut projector = Projector::open(data).map_err(|e| {
        BadInput(format!(
            "the projection database of {}: {e} (is `navigo-ledger follow` running? the \
             service keeps the projections current itself)",
            data.display()
        ))
    })?;
    if let Some(pg) = data.postgres() {
        projector.sql = Some(SqlProjections::open(pg).await?);
    }
    let auth_path = auth::path_in(data);
    let db = auth::AuthDb::load(&auth_path)?;
    let sessions = sessions::Sessions::load(&sessions::path_in(data), clock.now())?;
    let metrics = metrics::Metrics::new().map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    metrics
        .head_position
        .set(metrics::gauge(ledger.world().position));
    let (queue, queued) = match ledger.store().backend() {
        crate::app::store::Backend::Sled(_) => {
            let (tx, rx) = super::command_queue::queue();
            (Some(tx), Some(rx))
        }
        crate::app::store::Backend::Postgres(_) => (None, None),
    };
    let state = Arc::new(AppState {
        metrics,
        partner_checks: Default::default(),
        verifying: tokio::sync::Semaphore::new(VERIFY_CONCURRENT_MAX),
        request_timeout: args
            .request_timeout_ms
            .map_or(REQUEST_TIMEOUT, Duration::from_millis),
        ledger: tokio::sync::Mutex::new(ledger),
        pipeline: queue,
        auth: tokio::sync::RwLock::new((db, auth::mtime(&auth_path))),
        auth_path,
        clock,
        idempotency: Default::default(),
        sessions: tokio::sync::RwLock::new(sessions),
        attempts: Default::default(),
        appended: Default::default(),
        checkpoint_signer,
        projector,
        closing: tokio::sync::watch::channel(false).0,
        admin_jobs: Default::default(),
        admin_hold_file: args.admin_hold_file.clone(),
    });
    if state.checkpoint_signer.is_some() {
        let every = Duration::from_secs(args.checkpoint_interval_seconds);
        tokio::spawn(periodic_checkpoints(Arc::downgrade(&state), every));
    }
    let keeper = tokio::spawn(follower::follow(state.clone()));
    let pipelined = queued.map(|rx| tokio::spawn(pipeline::run(state.clone(), rx)));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| BadInput(format!("--listen {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    // Recorded before it is announced: whoever learns the address from stdout
    // finds the record too, and the command line beside the service reads
    // through it instead of failing on the store's lock.
    served::write(
        data,
        &served::ServeRecord {
            address: addr,
            pid: std::process::id(),
            started_at: state.clock.now(),
            data: served::absolute(data)?,
        },
    )?;
    // The address on stdout: with port 0, how the caller learns the port.
    writeln!(std::io::stdout(), "listening on {addr}")?;
    tracing::info!(%addr, "listening");
    // The peer's address keys the limits on failed sign-ins (crate::http::limits).
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown({
            let state = state.clone();
            async move {
                let _ = tokio::signal::ctrl_c().await;
                state.closing.send_replace(true);
            }
        })
        .await;
    // No longer answering: a reader must not take the record as a live service.
    served::remove(data)?;
    served?;
    keeper.abort();
    let _ = keeper.await;
    if let Some(task) = pipelined {
        task.abort();
        let _ = task.await;
    }
    if let Ok(state) = Arc::try_unwrap(state) {
        state.ledger.into_inner().close().await?.close().await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `--fixed-now`.
///
/// # Errors
/// [`BadInput`] when it is not an RFC 3339 instant.
fn fixed_now(s: &str) -> Result<DateTime<Utc>, BadInput> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            BadInput(format!(
                "--fixed-now {s:?} is not an RFC 3339 instant (e.g. 2026-11-20T10:00:00Z): {e}"
            ))
        })
}

/// Signs and keeps a checkpoint every `every` while the log moves (the first
/// at start), until the service stops. A failure is logged and retried at the
/// next tick: a missed checkpoint loses no record.
async fn periodic_checkpoints(state: std::sync::Weak<AppState>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(st) = state.upgrade() else {
            return;
        };
        let Some(signer) = st.checkpoint_signer.clone() else {
            return;
        };
        let ledger = st.ledger.lock().await;
        match crate::app::proofs::issue_if_moved(ledger.store(), &signer).await {
            Ok(Some(c)) => tracing::info!(number = c.number, size = c.size, "checkpoint kept"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %format!("{e:#}"), "checkpoint failed"),
        }
    }
}
