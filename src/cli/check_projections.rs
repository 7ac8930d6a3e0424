//! `navigo-ledger check-projections [--json]`: compares every materialized
//! projection with the one computed on demand from the log; one state hash per
//! projection so that two rebuilds or two machines compare by one line.

use std::io::Write;
use std::process::ExitCode;

use navigo_events_schema::views::{ProjectionCheck, ProjectionHashes, ProjectionMismatch};
use navigo_replay::materialize::{check, CheckReport, ProjectionDb};

use super::exit::{CmdResult, EXIT_REFUSED};
use super::output::print_json_line;
use crate::app::ledger::read_whole_log;
use crate::app::place::Place;

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
    let events = read_whole_log(data).await?;
    let db = ProjectionDb::open(data)?;
    let r = check(&db, &events)?;
    db.close()?;
    if args.json {
        print_json_line(&view(&r))?;
    } else {
        write_report(&mut std::io::stdout().lock(), &r)?;
    }
    Ok(if r.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}

/// The comparison as a view.
fn view(r: &CheckReport) -> ProjectionCheck {
    ProjectionCheck {
        generation: r.generation.number,
        at: r.generation.at,
        checkpoint: r.generation.checkpoint,
        head: r.head,
        consistent: r.consistent(),
        projections: r
            .hashes
            .iter()
            .map(|(k, n, s, f)| ProjectionHashes {
                name: (*k).to_owned(),
                rows: *n,
                stored_hash: s.clone(),
                recomputed_hash: f.clone(),
            })
            .collect(),
        mismatches: r
            .mismatches
            .iter()
            .map(|m| ProjectionMismatch {
                projection: m.kind.to_owned(),
                id: m.id,
                what: m.what.to_owned(),
            })
            .collect(),
    }
}

/// The comparison as text: the generation, one line per projection, the rows
/// that differ.
fn write_report(out: &mut impl Write, r: &CheckReport) -> std::io::Result<()> {
    writeln!(
        out,
        "generation {} on {} checkpoint {} head {}",
        r.generation.number, r.generation.at, r.generation.checkpoint, r.head
    )?;
    for (k, n, s, f) in &r.hashes {
        let ok = if s == f { "ok" } else { "DIFFERS" };
        writeln!(out, "{k:<9} {n:>8} rows  {s}  {ok}")?;
    }
    for m in &r.mismatches {
        writeln!(out, "  {} {} {}", m.kind, m.id, m.what)?;
    }
    if r.generation.checkpoint != r.head {
        writeln!(
            out,
            "checkpoint lags the log: run `navigo-ledger follow --once`"
        )?;
    }
    Ok(())
}
