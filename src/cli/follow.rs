//! `navigo-ledger follow [--once] [--interval-ms N] [--json]`: catches the
//! materialized projections up from their checkpoint, then tails new events;
//! on PostgreSQL the database's projection tables too (`app::sql_projections`,
//! from their own checkpoint, a bounded batch of events per transaction).
//! A served ledger needs no follower: `serve` keeps its projections current
//! itself (the service's follower task), and holds their database meanwhile.

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::views::FollowProgress;
use navigo_replay::follow::FollowedLog;
use navigo_replay::materialize::ProjectionDb;
use navigo_store::EventStore;
use navigo_store_postgres::projections::SqlProjections;

use super::exit::CmdResult;
use super::output::print_json_line;
use super::rebuild::bar;
use crate::app::ledger::open_store;
use crate::app::place::Place;
use crate::app::sql_projections;

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
/// The first poll reads the whole log; each later one reads only the records
/// after the last it holds ([`FollowedLog`]) and catches up only when there
/// are any.
///
/// # Errors
/// No projection built yet, a storage failure, a log that no longer continues
/// what was read before.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let db = ProjectionDb::open(data)?;
    let mut progress = bar(args.json);
    let mut log = FollowedLog::new();
    let mut first = true;
    // On PostgreSQL the database's projection tables follow too, on the date
    // of the data directory's projections, from their own checkpoint.
    let sql = match data.postgres() {
        Some(pg) => Some(SqlProjections::open(pg).await?),
        None => None,
    };
    loop {
        let tail = match open_store(data).await {
            Ok(store) => {
                let tail = store.read_log(log.next_position()).await;
                store.close().await?;
                Some(tail?)
            }
            // Another process holds the ledger: try at the next poll.
            Err(_) if !args.once => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(tail) = tail {
            let added = log.extend(tail)?;
            if added > 0 || first {
                let before = db.current()?.map(|g| g.checkpoint);
                let g = db.catch_up(log.events(), &mut progress)?;
                if let Some(sql) = &sql {
                    sql_projections::follow_whole_log(sql, log.shared(), g.at).await?;
                }
                // A line on the first poll (where the follower starts) and at each
                // checkpoint it moves to.
                if before != Some(g.checkpoint) || args.once || first {
                    if args.json {
                        print_json_line(&FollowProgress {
                            generation: g.number,
                            checkpoint: g.checkpoint,
                        })?;
                    } else {
                        writeln!(
                            std::io::stdout().lock(),
                            "generation {} at checkpoint {}",
                            g.number,
                            g.checkpoint
                        )?;
                    }
                }
                first = false;
            }
        }
        if args.once {
            db.close()?;
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(std::time::Duration::from_millis(args.interval_ms)).await;
    }
}
