//! `navigo-ledger migrate --from DIR|URL --to DIR|URL [--json]`: the log and
//! its kept checkpoints copied record for record between a data directory
//! and a PostgreSQL database, either way (`app::migrate`).

use std::process::ExitCode;

use super::exit::CmdResult;
use super::output::print_json_line;
use crate::app::error::BadInput;
use crate::app::keystore::{carry, Carried};
use crate::app::ledger::{init_store, open_store};
use crate::app::migrate::{migrate, MigrateOptions, TEST_STOP_AFTER_ENV};
use crate::app::place::Place;

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to copy: its data directory, or the `postgres://` URL of
    /// its database. It is only read.
    #[arg(long, value_name = "DIR|URL")]
    from: String,
    /// Where to copy it: a data directory or a `postgres://` URL, created
    /// when absent. It must be empty, or hold a prefix of the source's log
    /// (an interrupted copy, which is resumed).
    #[arg(long, value_name = "DIR|URL")]
    to: String,
    /// One JSON object (the records already there and copied, the
    /// checkpoints copied and kept, the head) instead of text.
    #[arg(long)]
    json: bool,
}

/// The ledger a `--from` or `--to` names.
pub(super) fn place_of(data: &Place, given: &str) -> Result<Place, BadInput> {
    if given.starts_with("postgres://") || given.starts_with("postgresql://") {
        Place::new(data.data().to_path_buf(), Some(given))
    } else {
        Ok(Place::dir(given))
    }
}

/// Copies the log of `--from` into `--to`.
///
/// # Errors
/// Bad usage (the same store twice, a URL that does not parse); a source that
/// is not a ledger; a target that holds another log (nothing written); a
/// source record that does not verify, named by position; a storage failure.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    let from = place_of(data, &args.from)?;
    let to = place_of(data, &args.to)?;
    if from.shown() == to.shown() {
        return Err(BadInput(format!("--from and --to are both {}", from.shown())).into());
    }
    let stop_after = match std::env::var(TEST_STOP_AFTER_ENV) {
        Ok(n) => Some(n.parse().map_err(|_| {
            BadInput(format!(
                "{TEST_STOP_AFTER_ENV}={n}: not a number of records"
            ))
        })?),
        Err(_) => None,
    };
    let options = MigrateOptions {
        from: from.shown(),
        to: to.shown(),
        stop_after,
    };
    let source = open_store(&from).await?;
    let target = match init_store(&to).await {
        Ok(_) => open_store(&to).await,
        Err(e) => Err(e),
    };
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            source.close().await?;
            return Err(e.into());
        }
    };
    let copied = migrate(&source, &target, &options).await;
    let closed = (source.close().await, target.close().await);
    let view = copied?;
    closed.0?;
    closed.1?;
    let keys = carry(from.data(), to.data())?;
    if keys == Carried::Copied {
        eprintln!(
            "the key store of {} was copied into {}",
            from.data().display(),
            to.data().display()
        );
    }
    if args.json {
        print_json_line(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    let first = view.records_already_there + 1;
    outln!(
        "copied {} records (positions {first} to {}) and {} checkpoints from {} to {}",
        view.records_copied,
        view.head.position,
        view.checkpoints_copied,
        view.from,
        view.to
    );
    if view.records_already_there > 0 {
        outln!(
            "resumed after the {} records the target held already",
            view.records_already_there
        );
    }
    outln!(
        "head: position {}, hash {}; checkpoints kept: {}",
        view.head.position,
        view.head.hash,
        view.checkpoints
    );
    Ok(ExitCode::SUCCESS)
}
