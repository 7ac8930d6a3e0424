//! `navigo-ledger retention [--at DATE] [--json] [--apply]`: the persons whose
//! personal data `TERM-RETENTION` no longer keeps (5 years after the end of
//! their last contract, CGVU-2026 §16.1.4), a dry run that writes nothing.

use std::process::ExitCode;

use navigo_events_schema::views::RetentionView;
use navigo_rules::calendar::paris_date;
use navigo_rules::retention::RetentionPolicy;
use navigo_store::Clock;

use super::as_of::parse_date;
use super::exit::CmdResult;
use super::output::print_json;
use crate::app::clock::SystemClock;
use crate::app::ledger::open_ledger;
use crate::app::personal::retention;
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
    /// Erase the persons listed. Not available: this ledger has no erasure
    /// yet, and the run is refused before anything is read.
    #[arg(long)]
    apply: bool,
}

/// What `--apply` answers while the ledger cannot erase.
pub const APPLY_UNAVAILABLE: &str = "retention --apply is not available until erasure exists \
     (this ledger cannot erase personal data yet); nothing was read or written: run `retention` \
     without --apply for the list of persons due";

/// Prints the persons due on the date, with the policy's parameters.
///
/// # Errors
/// `--apply` (refused), a malformed date (bad input), a ledger that cannot be
/// opened or read.
pub async fn run(data: &Place, args: Args) -> CmdResult {
    if args.apply {
        anyhow::bail!(APPLY_UNAVAILABLE);
    }
    let on = match &args.at {
        Some(s) => parse_date("--at", s)?,
        None => paris_date(SystemClock.now()),
    };
    let mut ledger = open_ledger(data, 0).await?;
    let view = retention(&mut ledger, on, RetentionPolicy::TERM_RETENTION).await;
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
        "{} ({}): kept {} years after the end of the last contract; judged on {}; dry run, nothing erased",
        v.policy.rule,
        v.policy.article,
        v.policy.years_after_last_contract_end,
        v.on
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
