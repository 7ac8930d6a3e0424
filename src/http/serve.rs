//! `navigo-ledger serve --listen ADDR`: the HTTP service (see `http`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use navigo_store::{Clock, ManualClock};

use super::router::router;
use super::state::{AppState, REQUEST_TIMEOUT, VERIFY_CONCURRENT_MAX};
use super::{metrics, sessions};
use crate::app::auth;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_clocked_ledger_with;

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
    /// The id generator's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Serves until interrupted.
///
/// # Errors
/// Bad arguments, not a ledger, the address in use.
pub async fn run(data: &Path, args: Args) -> anyhow::Result<ExitCode> {
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
    // The service's clock judges every command: nothing is recorded after it.
    let ledger =
        open_clocked_ledger_with(data, args.seed, clock.clone(), args.state_cache_entries_max)
            .await?;
    let auth_path = auth::path_in(data);
    let db = auth::AuthDb::load(&auth_path)?;
    let sessions = sessions::Sessions::load(&sessions::path_in(data), clock.now())?;
    let metrics = metrics::Metrics::new().map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    metrics
        .head_position
        .set(metrics::gauge(ledger.world().position));
    let state = Arc::new(AppState {
        metrics,
        partner_checks: Default::default(),
        verifying: tokio::sync::Semaphore::new(VERIFY_CONCURRENT_MAX),
        request_timeout: args
            .request_timeout_ms
            .map_or(REQUEST_TIMEOUT, Duration::from_millis),
        ledger: tokio::sync::Mutex::new(ledger),
        auth: tokio::sync::RwLock::new((db, auth::mtime(&auth_path))),
        auth_path,
        clock,
        idempotency: Default::default(),
        sessions: tokio::sync::RwLock::new(sessions),
        attempts: Default::default(),
        appended: Default::default(),
        events: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| BadInput(format!("--listen {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    // The address on stdout: with port 0, how the caller learns the port.
    writeln!(std::io::stdout(), "listening on {addr}")?;
    tracing::info!(%addr, "listening");
    // The peer's address keys the limits on failed sign-ins (crate::http::limits).
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
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
