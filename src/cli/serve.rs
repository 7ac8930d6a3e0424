//! `navigo-ledger serve --listen ADDR`: the HTTP service (see `http`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use navigo_ledger_core::Ledger;
use navigo_rules::Policy;
use navigo_store::{Clock, Limits, ManualClock};
use navigo_store_sled::SledStore;

use super::state::parse_instant;
use super::{BadInput, CmdResult, SystemClock};
use crate::http::{auth, router, AppState};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to listen on (port 0: any free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// A fixed "now" (RFC 3339) instead of the system clock: for tests only.
    #[arg(long, hide = true, value_name = "INSTANT")]
    fixed_now: Option<String>,
    /// The id generator's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Serves until interrupted.
///
/// # Errors
/// Bad arguments, not a ledger, the address in use.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    // Structured logs on stderr (RUST_LOG, default info): one line per request
    // with its id, route template, role, status and latency; never a header, a
    // body or a path id, so no secret and no personal data.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let clock: Arc<dyn Clock> = match &args.fixed_now {
        Some(s) => Arc::new(ManualClock::new(parse_instant("--fixed-now", s)?)),
        None => Arc::new(SystemClock),
    };
    let store = SledStore::open(data, Limits::default(), clock.clone())?;
    let ledger = Ledger::open(store, Policy::default(), args.seed).await?;
    let auth_path = auth::path_in(data);
    let db = auth::AuthDb::load(&auth_path)?;
    let state = Arc::new(AppState {
        ledger: tokio::sync::Mutex::new(ledger),
        auth: tokio::sync::RwLock::new((db, auth::mtime(&auth_path))),
        auth_path,
        clock,
        idempotency: Default::default(),
        sessions: Default::default(),
        attempts: Default::default(),
        appended: Default::default(),
        events: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| BadInput(format!("--listen {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    outln!("listening on {addr}");
    tracing::info!(%addr, "listening");
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Ok(state) = Arc::try_unwrap(state) {
        state.ledger.into_inner().into_store().close().await?;
    }
    Ok(ExitCode::SUCCESS)
}
