//! `navigo-ledger retention [--at DATE] [--json] [--apply]`: the persons whose
//! personal data `TERM-RETENTION` no longer keeps (5 years after the end of
//! their last contract, CGVU-2026 §16.1.4): a dry run that writes nothing, or
//! with `--apply` the erasure of each (`erase`, the policy as legal basis).

use std::process::ExitCode;

use std::sync::Arc;

use navigo_events_schema::types::{Actor, ActorRole};
use navigo_events_schema::views::RetentionView;
use navigo_rules::calendar::paris_date;
use navigo_rules::retention::RetentionPolicy;
use navigo_store::Clock;

use super::as_of::parse_date;
use super::exit::CmdResult;
use super::output::print_json;
use crate::app::admin::after_erasure;
use crate::app::clock::SystemClock;
use crate::app::error::BadInput;
use crate::app::ledger::open_clocked_ledger;
use crate::app::personal::{apply_retention, retention};
use crate::app::place::Place;

/// Arguments of `retention`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Europe/Paris date the retention is judged on (YYYY-MM-DD); default:
    /// today. A later date tells who will be due by then.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Erase the persons listed, each as `erase` does, with the policy as the
    /// legal basis; judged on today's date only (the binary's clock), never
    /// on an `--at` date.
    #[arg(long)]
    apply: bool,
    /// The agent who erases with `--apply` (recorded as each erasure's actor).
    #[arg(long, default_value = "cli", requires = "apply")]
    operator: String,
}

/// Why `--apply` refuses `--at`: an erasure cannot be undone, so it runs only
/// for the persons due today, by the binary's clock.
pub const APPLY_ON_TODAY_ONLY: &str = "retention --apply erases the persons due today by this \
     machine's clock and takes no --at (an erasure cannot be undone); nothing was read or \
     written: run without --apply and with --at to see who will be due on a date";

/// Prints the persons due on the date, with the policy's parameters.
///
/// # Errors
/// `--apply` (refused), a malformed date (bad input), a ledger that cannot be
/// opened or read.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if args.apply && args.at.is_some() {
        return Err(BadInput(APPLY_ON_TODAY_ONLY.to_owned()).into());
    }
    let now = SystemClock.now();
    let on = match &args.at {
        Some(s) => parse_date("--at", s)?,
        None => paris_date(now),
    };
    let mut ledger = open_clocked_ledger(data, 0, Arc::new(SystemClock)).await?;
    let policy = RetentionPolicy::TERM_RETENTION;
    let mut view = retention(&mut ledger, on, policy).await;
    if let (true, Ok(v)) = (args.apply, &mut view) {
        let actor = Actor {
            role: ActorRole::Agent,
            id: args.operator.clone(),
        };
        if let Err(e) = apply_retention(&mut ledger, v, actor, now).await {
            ledger.into_store().close().await?;
            return Err(e.into());
        }
        if !v.due.is_empty() {
            // Once for the run: every erased person leaves the projections.
            let persons: Vec<_> = v.due.iter().map(|d| d.person).collect();
            if let Err(e) = after_erasure(&mut ledger, data.data(), &persons).await {
                ledger.close().await?.close().await?;
                return Err(e);
            }
        }
    }
    ledger.close().await?.close().await?;
    let view = view?;
    if args.json {
        print_json(&view)?;
    } else {
        print_table(&view)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(v: &RetentionView) -> anyhow::Result<()> {
    outln!(
        "{} ({}): kept {} years after the end of the last contract; judged on {}; {}",
        v.policy.rule,
        v.policy.article,
        v.policy.years_after_last_contract_end,
        v.on,
        if v.applied {
            "the persons below were erased"
        } else {
            "dry run, nothing erased"
        }
    );
    outln!(
        "{:<36}  {:<20}  {:<36}  {:<17}  {:<16}  RAN OUT ON",
        "PERSON",
        "CLIENT NUMBER",
        "LAST CONTRACT",
        "LAST CONTRACT END",
        "RELATIONSHIP END"
    );
    for d in &v.due {
        let dash = || "-".to_owned();
        outln!(
            "{:<36}  {:<20}  {:<36}  {:<17}  {:<16}  {}",
            d.person,
            d.client_number,
            d.last_contract.map_or_else(dash, |c| c.to_string()),
            d.last_contract_end.map_or_else(dash, |e| e.to_string()),
            d.relationship_end,
            d.ran_out_on
        );
    }
    outln!("{} of {} persons due", v.due.len(), v.persons);
    Ok(())
}
