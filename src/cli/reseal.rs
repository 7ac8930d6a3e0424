//! `navigo-ledger reseal --from DIR|URL --to DIR|URL [--operator ID] [--json]`:
//! a new ledger written from a verified old one, every personal field sealed
//! and the clear text of erased persons dropped, its first record tying it to
//! the old log (`app::reseal`).

use std::process::ExitCode;

use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::views::{LogRootsView, ResealView};
use navigo_store::Clock;

use super::exit::CmdResult;
use super::migrate::place_of;
use super::output::print_json_line;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::keystore::{carry, Carried};
use crate::app::ledger::{init_store, open_key_store, open_store};
use crate::app::migrate::TargetRefused;
use crate::app::place::Place;
use crate::app::reseal::{check_target_empty, reseal, ResealOptions};
use crate::app::verify::verify;

/// Arguments of `reseal`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old ledger: its data directory, or the `postgres://` URL of its
    /// database (its key store is the data directory's). It is only read.
    #[arg(long, value_name = "DIR|URL")]
    from: String,
    /// The new ledger: a data directory or a `postgres://` URL, created when
    /// absent. It must hold no record.
    #[arg(long, value_name = "DIR|URL")]
    to: String,
    /// The agent who reseals, recorded as the actor of the new ledger's first
    /// record.
    #[arg(long, default_value = "cli")]
    operator: String,
    /// One JSON object (the counts, the old and the new head and root)
    /// instead of text.
    #[arg(long)]
    json: bool,
}

/// Writes the new ledger `--to` from `--from`.
///
/// # Errors
/// Bad usage (the same store twice, a URL that does not parse); a source that
/// does not verify or is not a ledger, or a target holding records (nothing
/// written); a key store that cannot be carried; a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let from = place_of(data, &args.from)?;
    let to = place_of(data, &args.to)?;
    if from.shown() == to.shown() || from.data() == to.data() {
        return Err(BadInput(format!(
            "--from and --to are both {}: reseal writes a new ledger beside the old one",
            from.shown()
        ))
        .into());
    }
    let options = ResealOptions {
        from: from.shown(),
        to: to.shown(),
        now: SystemClock.now(),
        actor: Actor {
            role: ActorRole::Agent,
            id: args.operator,
        },
    };
    verify_source(&from).await?;
    check_target(&to, &options).await?;
    if carry(from.data(), to.data())? == Carried::Copied {
        eprintln!(
            "the key store of {} was copied into {}",
            from.data().display(),
            to.data().display()
        );
    }
    let keys = open_key_store(to.data())?;
    let source = open_store(&from).await?;
    let target = match open_store(&to).await {
        Ok(t) => t,
        Err(e) => {
            source.close().await?;
            return Err(e.into());
        }
    };
    let written = reseal(&source, &target, &keys, &options).await;
    let closed = (source.close().await, target.close().await);
    let view = written?;
    closed.0?;
    closed.1?;
    print(&view, args.json)
}

/// Refuses a source that does not verify (every record's hash, the chain,
/// the Merkle tree's nodes), before anything is written.
///
/// # Errors
/// [`TargetRefused`] naming the first bad position, or a source that is not
/// a ledger.
async fn verify_source(from: &Place) -> anyhow::Result<()> {
    let report = verify(from).await?;
    match &report.first_bad {
        None => Ok(()),
        Some(bad) => Err(TargetRefused(format!(
            "{} does not verify at position {}: {}; nothing was written (a damaged ledger \
             cannot be resealed: restore it, or `salvage` what verifies)",
            from.shown(),
            bad.position,
            bad.problem
        ))
        .into()),
    }
}

/// Creates the target when absent and refuses it when it holds records.
///
/// # Errors
/// [`TargetRefused`], or a target that is not a ledger.
async fn check_target(to: &Place, options: &ResealOptions) -> anyhow::Result<()> {
    init_store(to).await?;
    let target = open_store(to).await?;
    let checked = check_target_empty(&target, options).await;
    target.close().await?;
    checked
}

/// Prints what was written, as text or JSON.
///
/// # Errors
/// Stdout cannot be written.
fn print(view: &ResealView, json: bool) -> CmdResult {
    if json {
        print_json_line(view)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "resealed {} records from {} into {}: {} personal fields sealed, {} of erased persons \
         dropped, {} records written before at an older version upgraded, {} keys made",
        view.records_copied,
        view.from,
        view.to,
        view.fields_sealed,
        view.fields_dropped,
        view.legacy_records_upgraded,
        view.keys_made
    );
    let line = |name: &str, r: &LogRootsView| {
        format!(
            "{name}: {} records, head hash {}, Merkle root {}",
            r.head.position, r.head.hash, r.tree_root
        )
    };
    outln!("{}", line("old log", &view.old));
    outln!("{}", line("new log", &view.new));
    outln!(
        "the new log's first record (LedgerResealed) states the old log's head and root; the old \
         log's checkpoints stay valid for the old log only"
    );
    Ok(ExitCode::SUCCESS)
}
