//! `navigo-ledger follow [--once] [--interval-ms N] [--json]`: catches the
//! materialized projections up from their checkpoint, then tails new events.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use navigo_projections::load;
use navigo_replay::materialize::ProjectionDb;

use super::rebuild::bar;
use super::{open_store, CmdResult};

/// Pause between two polls of the log while tailing.
pub const FOLLOW_INTERVAL_MS_DEFAULT: u64 = 1_000;

/// Arguments of `follow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catch up once and exit instead of tailing.
    #[arg(long)]
    pub once: bool,
    /// Milliseconds between polls while tailing.
    #[arg(long, default_value_t = FOLLOW_INTERVAL_MS_DEFAULT)]
    pub interval_ms: u64,
    /// JSON lines, no progress bar.
    #[arg(long)]
    pub json: bool,
}

/// Follows. Decision: the ledger directory is opened per poll (sled allows one
/// process at a time), so that `apply` and `advance` can append in between.
///
/// # Errors
/// No projection built yet, a storage failure.
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let db = ProjectionDb::open(data)?;
    let mut progress = bar(args.json);
    loop {
        let events = match open_store(data) {
            Ok(store) => {
                let events = load::read_everything(&store).await;
                store.close().await?;
                Some(events?)
            }
            // Another process holds the ledger: try at the next poll.
            Err(_) if !args.once => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(events) = events {
            let before = db.current()?.map(|g| g.checkpoint);
            let g = db.catch_up(&events, &mut progress)?;
            if before != Some(g.checkpoint) || args.once {
                let mut out = std::io::stdout().lock();
                if args.json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"generation": g.number, "checkpoint": g.checkpoint})
                    )?;
                } else {
                    writeln!(
                        out,
                        "generation {} at checkpoint {}",
                        g.number, g.checkpoint
                    )?;
                }
            }
        }
        if args.once {
            db.close()?;
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(std::time::Duration::from_millis(args.interval_ms)).await;
    }
}
