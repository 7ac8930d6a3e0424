//! `navigo-ledger rebuild [--at DATE] [--json]`: replays the whole log, a
//! slice at a time, into new shadow projection trees and swaps them in
//! atomically; on PostgreSQL, the database's projection tables as well
//! (`app::sql_projections`), in one transaction.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use hyper::Method;
use navigo_events_schema::views::RebuildSummary;
use navigo_ledger_core::Ledger;
use navigo_replay::materialize::{Generation, Progress, ProjectionDb};
use navigo_rules::calendar::paris_date;
use navigo_store::Clock;
use navigo_store_postgres::projections::SqlProjections;
use navigo_store_postgres::PgConfig;

use super::as_of::parse_date;
use super::exit::CmdResult;
use super::output::print_json_line;
use super::remote::{self, RouteQuery};
use crate::app::admin::{rebuild_by_slices, rebuild_summary};
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_ledger;
use crate::app::place::Place;
use crate::app::sql_projections;
use crate::app::store::AnyStore;

/// Arguments of `rebuild`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The effective Europe/Paris date the views are read on; default: today.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// JSON summary, no progress bar.
    #[arg(long)]
    pub json: bool,
}

/// Parses `--at` or takes today.
pub fn at_or_today(at: &Option<String>) -> Result<NaiveDate, BadInput> {
    match at {
        Some(s) => parse_date("--at", s),
        None => Ok(paris_date(SystemClock.now())),
    }
}

/// A progress bar with events (or rows) per second and an ETA; hidden with
/// `--json`.
pub fn bar(json: bool) -> impl FnMut(Progress) {
    let pb = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
    ) {
        pb.set_style(style);
    }
    move |p: Progress| {
        pb.set_message(p.phase);
        pb.set_length(p.total);
        pb.set_position(p.done);
        if p.done >= p.total && p.phase == "writing" {
            pb.finish_and_clear();
        }
    }
}

/// Rebuilds.
///
/// # Errors
/// Bad input (exit 2), a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        // The service rebuilds on its own today; a date given is checked
        // here and sent for the service to refuse if it is another day.
        let query: RouteQuery = match &args.at {
            Some(s) => vec![("at", parse_date("--at", s)?.to_string())],
            None => vec![],
        };
        let s: RebuildSummary =
            remote::job(&svc, Method::POST, "/v1/projections/rebuild", &query).await?;
        return print(&s, args.json);
    }
    let at = at_or_today(&args.at)?;
    let started = Instant::now();
    // The log is read a slice at a time through the ledger's indexes, never
    // whole; the ledger is closed (and its lock released) whatever happened.
    let db = ProjectionDb::open(data)?;
    let mut ledger = open_ledger(data, 0).await?;
    let rebuilt = rebuild_by_slices(&mut ledger, &db, at, &mut bar(args.json)).await;
    // On PostgreSQL the database's projection tables are rebuilt too, from
    // the same slices of the same log, on the same date.
    let sql = match (&rebuilt, data.postgres()) {
        (Ok(_), Some(pg)) => Some(rebuild_sql(&mut ledger, pg, at, args.json).await),
        _ => None,
    };
    let closed = ledger.close().await;
    let g = rebuilt?;
    closed?.close().await?;
    db.close()?;
    // Positions are gapless from 1: the checkpoint counts the events replayed.
    let events = usize::try_from(g.checkpoint).unwrap_or(usize::MAX);
    let code = print(&rebuild_summary(&g, events, started.elapsed()), args.json)?;
    match sql.transpose()? {
        Some(s) => print_sql(&s, args.json),
        None => Ok(code),
    }
}

/// Rebuilds the SQL projection tables of the ledger in `pg` on `at`, timed
/// on their own.
async fn rebuild_sql(
    ledger: &mut Ledger<AnyStore>,
    pg: &PgConfig,
    at: NaiveDate,
    json: bool,
) -> anyhow::Result<RebuildSummary> {
    let started = Instant::now();
    // Tables of an older layout are replaced by this rebuild.
    let sql = SqlProjections::open_to_rebuild(pg).await?;
    let c = sql_projections::rebuild_by_slices(ledger, &sql, at, &mut bar(json)).await?;
    let g = Generation {
        number: c.generation,
        at,
        checkpoint: c.position,
    };
    let events = usize::try_from(c.position).unwrap_or(usize::MAX);
    Ok(rebuild_summary(&g, events, started.elapsed()))
}

/// Prints the SQL tables' rebuild: a second JSON line, or a line naming them.
///
/// # Errors
/// Stdout cannot be written.
fn print_sql(s: &RebuildSummary, json: bool) -> CmdResult {
    if json {
        print_json_line(s)?;
    } else {
        writeln!(
            std::io::stdout().lock(),
            "rebuilt the SQL projection tables, generation {} on {} through position {} \
             ({:.2} s, {:.0} events/s)",
            s.generation,
            s.at,
            s.checkpoint,
            s.seconds,
            s.events_per_second
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a rebuild's summary, as text or JSON.
///
/// # Errors
/// Stdout cannot be written.
pub fn print(s: &RebuildSummary, json: bool) -> CmdResult {
    if json {
        print_json_line(s)?;
    } else {
        writeln!(
            std::io::stdout().lock(),
            "rebuilt generation {} on {} through position {} ({} events, {:.2} s, {:.0} events/s)",
            s.generation,
            s.at,
            s.checkpoint,
            s.events,
            s.seconds,
            s.events_per_second
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
