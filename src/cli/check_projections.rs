//! `navigo-ledger check-projections [--json]`: compares every materialized
//! projection with the one computed on demand from the log; one state hash per
//! projection so that two rebuilds or two machines compare by one line. Beside
//! a running service, the service checks its own projections (caught up to the
//! head first) and the answer is printed the same way. On PostgreSQL, the
//! database's projection tables are compared too, after the data
//! directory's projections (when it has any), under a line naming them.

use std::io::Write;
use std::process::ExitCode;

use hyper::Method;
use navigo_events_schema::views::ProjectionCheck;
use navigo_replay::materialize::{check, ProjectionDb};
use navigo_store_postgres::projections::SqlProjections;

use super::exit::{CmdResult, EXIT_REFUSED};
use super::output::print_json_line;
use super::remote;
use crate::app::admin::check_view;
use crate::app::ledger::read_whole_log;
use crate::app::place::Place;
use crate::app::sql_projections;

/// Arguments of `check-projections`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Checks. Exit 1 when anything differs or the checkpoint lags the log.
///
/// # Errors
/// No projection built, a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if let Some(svc) = remote::service(data) {
        let r: ProjectionCheck =
            remote::job(&svc, Method::GET, "/v1/projections/check", &[]).await?;
        return print(&r, args.json);
    }
    let events = read_whole_log(data).await?;
    let db = ProjectionDb::open(data)?;
    let Some(pg) = data.postgres() else {
        let r = check_view(&check(&db, &events)?);
        db.close()?;
        return print(&r, args.json);
    };
    // On PostgreSQL: the data directory's projections when it has them (a
    // service's, or those of an earlier `rebuild` here), then the database's
    // projection tables, which every service and this command share.
    let local = match db.current()? {
        Some(_) => Some(check_view(&check(&db, &events)?)),
        None => None,
    };
    db.close()?;
    let sql = sql_projections::check(&SqlProjections::open(pg).await?, &events).await?;
    let mut code = ExitCode::SUCCESS;
    if let Some(r) = &local {
        code = print(r, args.json)?;
    }
    if !args.json {
        writeln!(std::io::stdout().lock(), "SQL projection tables:")?;
    }
    let sql_code = print(&sql, args.json)?;
    Ok(match local {
        Some(r) if !r.consistent => code,
        _ => sql_code,
    })
}

/// Prints a comparison, as text or JSON: exit 1 when anything differs or the
/// checkpoint lags the log.
///
/// # Errors
/// Stdout cannot be written.
pub fn print(r: &ProjectionCheck, json: bool) -> CmdResult {
    if json {
        print_json_line(r)?;
    } else {
        write_report(&mut std::io::stdout().lock(), r)?;
    }
    Ok(if r.consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}

/// The comparison as text: the generation, one line per projection, the rows
/// that differ.
fn write_report(out: &mut impl Write, r: &ProjectionCheck) -> std::io::Result<()> {
    writeln!(
        out,
        "generation {} on {} checkpoint {} head {}",
        r.generation, r.at, r.checkpoint, r.head
    )?;
    for p in &r.projections {
        let (k, n, s) = (&p.name, p.rows, &p.stored_hash);
        let ok = if p.stored_hash == p.recomputed_hash {
            "ok"
        } else {
            "DIFFERS"
        };
        writeln!(out, "{k:<9} {n:>8} rows  {s}  {ok}")?;
    }
    for m in &r.mismatches {
        writeln!(out, "  {} {} {}", m.projection, m.id, m.what)?;
    }
    if r.checkpoint != r.head {
        writeln!(
            out,
            "checkpoint lags the log: run `navigo-ledger follow --once`"
        )?;
    }
    Ok(())
}
