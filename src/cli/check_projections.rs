//! `navigo-ledger check-projections [--json]`: compares every materialized
//! projection with the one computed on demand from the log; one state hash per
//! projection so that two rebuilds or two machines compare by one line.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use navigo_replay::materialize::{check, ProjectionDb};

use super::{CmdResult, EXIT_REFUSED};

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
pub async fn run(data: &Path, args: Args) -> CmdResult {
    let events = super::read_whole_log(data).await?;
    let db = ProjectionDb::open(data)?;
    let r = check(&db, &events)?;
    db.close()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "generation": r.generation.number, "at": r.generation.at,
            "checkpoint": r.generation.checkpoint, "head": r.head,
            "consistent": r.consistent(),
            "projections": r.hashes.iter().map(|(k, n, s, f)| serde_json::json!({
                "name": k, "rows": n, "stored_hash": s, "recomputed_hash": f})).collect::<Vec<_>>(),
            "mismatches": r.mismatches.iter().map(|m| serde_json::json!({
                "projection": m.kind, "id": m.id, "what": m.what})).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}")?;
    } else {
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
    }
    Ok(if r.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REFUSED)
    })
}
